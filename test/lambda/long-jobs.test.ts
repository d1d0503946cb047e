import { LongJobCollector, longJobsFirst } from '../../lambda/core/long-jobs';
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
    });
  });

  it('order the entities to generate: the long ones in their order, then the rest in listing order', () => {
    const e = (name: string): EntityRef => ({ arn: arnOf('111111111111', name), type: 'role', name, path: '/', id: `AROA${name.toUpperCase()}` });
    const listed = ['a', 'b', 'c', 'd', 'e'].map(e);
    expect(longJobsFirst(listed, [arnOf('111111111111', 'd'), arnOf('111111111111', 'gone'), arnOf('111111111111', 'b')])).toEqual({ long: [e('d'), e('b')], rest: [e('a'), e('c'), e('e')] });
    expect(longJobsFirst(listed, undefined)).toEqual({ long: [], rest: listed });
  });
});
