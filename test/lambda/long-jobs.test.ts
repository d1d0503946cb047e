import { LongJobCollector, longestFirst, longJobsFirst } from '../../lambda/core/long-jobs';
import type { EntityRef, EntityReport } from '../../lambda/core/model';

const START = Date.parse('2026-11-25T03:00:00.000Z');
const arnOf = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;

/** Only what the collector reads of a report: its account, its entity's ARN and its job's times. */
function reportOf(account: string, name: string, jobSeconds: number): EntityReport {
  return {
    accountId: account,
    entity: { arn: arnOf(account, name) },
    job: { jobId: `job-${name}`, status: 'COMPLETED', createdAt: new Date(START).toISOString(), completedAt: new Date(START + jobSeconds * 1000).toISOString() },
  } as unknown as EntityReport;
}

describe('long jobs', () => {
  it('are the jobs of an account well over its median, those that never finished first, then the longest', () => {
    const collector = new LongJobCollector();
    // Account A: jobs of about 3 s; one of 7.9 s (under the median + 5 s), one of 20 s, one of 45 s.
    for (let i = 0; i < 20; i++) collector.addReport(reportOf('111111111111', `usual-${i}`, 3 + (i % 3) * 0.1));
    collector.addReport(reportOf('111111111111', 'a-bit-slow', 7.9));
    collector.addReport(reportOf('111111111111', 'slow', 20));
    collector.addReport(reportOf('111111111111', 'slower', 45.04));
    collector.addFailure({ arn: arnOf('111111111111', 'timed-out'), code: 'JobTimedOut', message: 'no COMPLETED report after 3 invocations' });
    collector.addFailure({ arn: arnOf('111111111111', 'failed-job'), code: 'JobFailed', message: 'IAM failed the job' });
    // Account B: every job took a minute, so none is long there; its one timed-out job still is.
    for (let i = 0; i < 5; i++) collector.addReport(reportOf('222222222222', `steady-${i}`, 60));
    collector.addFailure({ arn: arnOf('222222222222', 'stuck'), code: 'JobTimedOut', message: 'no COMPLETED report after 3 invocations' });
    // Account C: nothing long.
    for (let i = 0; i < 5; i++) collector.addReport(reportOf('333333333333', `quick-${i}`, 2));

    expect(collector.build('night-1')).toEqual({
      schemaVersion: 1,
      runId: 'night-1',
      accounts: {
        '111111111111': [
          { arn: arnOf('111111111111', 'timed-out'), seconds: null },
          { arn: arnOf('111111111111', 'slower'), seconds: 45 },
          { arn: arnOf('111111111111', 'slow'), seconds: 20 },
        ],
        '222222222222': [{ arn: arnOf('222222222222', 'stuck'), seconds: null }],
      },
      accountTimes: {},
      callRates: {},
    });
  });

  it('time each account by its longest batch, from its first invocation\'s start to its last\'s end', () => {
    const collector = new LongJobCollector();
    const at = (seconds: number) => new Date(START + seconds * 1000).toISOString();
    // Two batches of A side by side: one took 95 s over three invocations (waits between them), one 40 s.
    collector.addBatch('111111111111', 300, [
      { startedAt: at(65), endedAt: at(100) },
      { startedAt: at(5), endedAt: at(20) },
      { startedAt: at(30), endedAt: at(50) },
    ]);
    collector.addBatch('111111111111', 250, [{ startedAt: at(0), endedAt: at(40.04) }]);
    collector.addBatch('222222222222', 80, [{ startedAt: at(10), endedAt: at(12) }]);
    // Outcomes of an earlier version say no times: that batch is not timed, nor is one with no outcome.
    collector.addBatch('333333333333', 80, [{ startedAt: at(10), endedAt: at(12) }, {}]);
    collector.addBatch('444444444444', 80, []);
    expect(collector.build('night-1').accountTimes).toEqual({
      '111111111111': { seconds: 95, entities: 550 },
      '222222222222': { seconds: 2, entities: 80 },
    });
  });

  it('keep each account\'s call rates: of each batch its last invocation\'s, times its peers, the median of its batches', () => {
    const collector = new LongJobCollector();
    const at = (seconds: number) => new Date(START + seconds * 1000).toISOString();
    // A's three batches ran side by side. The first's later invocation (listed first) found the later rates.
    collector.addBatch('111111111111', 300, [{ endedAt: at(90), callRates: { generate: 3.2, get: 3.1 } }, { endedAt: at(30), callRates: { generate: 5, get: 1 } }], 3);
    // Its second's last invocation had no throttle to bound its Gets: its earlier one still says the rate.
    collector.addBatch('111111111111', 300, [{ endedAt: at(20), callRates: { generate: 3, get: 3 } }, { endedAt: at(80), callRates: { generate: 3.4 } }], 3);
    // Its third ran on alone after the others were done, and grew into the whole bucket: the median keeps it out.
    collector.addBatch('111111111111', 300, [{ endedAt: at(200), callRates: { generate: 9.9, get: 9.6 } }], 3);
    // B was never throttled, and C's outcomes were written by an earlier version: no rates.
    collector.addBatch('222222222222', 40, [{ endedAt: at(10), callRates: {} }]);
    collector.addBatch('333333333333', 40, [{ endedAt: at(10) }]);
    // D's two batches: the lower of the two estimates.
    collector.addBatch('444444444444', 300, [{ endedAt: at(60), callRates: { generate: 4 } }], 2);
    collector.addBatch('444444444444', 300, [{ endedAt: at(90), callRates: { generate: 9 } }], 2);
    expect(collector.build('night-1').callRates).toEqual({ '111111111111': { generate: 10.2, get: 9.3 }, '444444444444': { generate: 8 } });
  });

  it('start the accounts that took longest first, estimating those not timed, and by size with no times at all', () => {
    const sizes = [['small', 50], ['large', 400], ['held', 40], ['new', 200], ['grown', 300]] as const;
    const times = new Map([
      // 40 identities, but a job that never finished held its place through every wait.
      ['held', { seconds: 2700, entities: 40 }],
      ['small', { seconds: 10, entities: 50 }],
      ['large', { seconds: 80, entities: 400 }],
      // 100 identities took 30 s; with 300 now, some 90.
      ['grown', { seconds: 30, entities: 100 }],
    ]);
    // 'new' was not timed: 200 at the median 0.25 s an identity (of 0.2, 0.2, 0.3 and 67.5) is 50 s.
    expect(longestFirst(sizes, times)).toEqual(['held', 'grown', 'large', 'new', 'small']);
    expect(longestFirst(sizes, new Map())).toEqual(['large', 'grown', 'new', 'small', 'held']);
    // Equal estimates keep the order given.
    expect(longestFirst([['b', 10], ['a', 10], ['c', 10]], new Map())).toEqual(['b', 'a', 'c']);
  });

  it('order the entities to generate: the long ones in their order, then the rest in listing order', () => {
    const e = (name: string): EntityRef => ({ arn: arnOf('111111111111', name), type: 'role', name, path: '/', id: `AROA${name.toUpperCase()}` });
    const listed = ['a', 'b', 'c', 'd', 'e'].map(e);
    expect(longJobsFirst(listed, [arnOf('111111111111', 'd'), arnOf('111111111111', 'gone'), arnOf('111111111111', 'b')])).toEqual({ long: [e('d'), e('b')], rest: [e('a'), e('c'), e('e')] });
    expect(longJobsFirst(listed, undefined)).toEqual({ long: [], rest: listed });
  });
});
