import { latestLongJobsPointer, LongJobCollector, longestFirst, longJobsFirst, readLatestLongJobs, writeLongJobs, type KnownLongJobs, type LatestLongJobsPointer, type LongJob, type LongJobs } from '../../lambda/core/long-jobs';
import { keys } from '../../lambda/core/model';
import { getJson, putJson, type ReportStore } from '../../lambda/core/store';
import { memoryStore, storeWith, tempStore } from '../helpers/core';
import type { EntityRef, EntityReport } from '../../lambda/core/model';

const START = Date.parse('2026-11-25T03:00:00.000Z');
const arnOf = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;
/** A batch's entities, as far as the collector reads them. */
const refs = (account: string, count: number, prefix = 'app') => Array.from({ length: count }, (_, i) => ({ arn: arnOf(account, `${prefix}-${i}`) }));

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
      carriedFrom: null,
    });
  });

  it('time each account by its longest batch, from its first invocation\'s start to its last\'s end', () => {
    const collector = new LongJobCollector();
    const at = (seconds: number) => new Date(START + seconds * 1000).toISOString();
    // Two batches of A side by side: one took 95 s over three invocations (waits between them), one 40 s.
    collector.addBatch('111111111111', refs('111111111111', 300), [
      { startedAt: at(65), endedAt: at(100) },
      { startedAt: at(5), endedAt: at(20) },
      { startedAt: at(30), endedAt: at(50) },
    ]);
    collector.addBatch('111111111111', refs('111111111111', 250), [{ startedAt: at(0), endedAt: at(40.04) }]);
    collector.addBatch('222222222222', refs('222222222222', 80), [{ startedAt: at(10), endedAt: at(12) }]);
    // Outcomes of an earlier version say no times: that batch is not timed, nor is one with no outcome.
    collector.addBatch('333333333333', refs('333333333333', 80), [{ startedAt: at(10), endedAt: at(12) }, {}]);
    collector.addBatch('444444444444', refs('444444444444', 80), []);
    expect(collector.build('night-1').accountTimes).toEqual({
      '111111111111': { seconds: 95, entities: 550 },
      '222222222222': { seconds: 2, entities: 80 },
    });
  });

  it('keep each account\'s call rates: of each batch its last invocation\'s, times its peers, the median of its batches', () => {
    const collector = new LongJobCollector();
    const at = (seconds: number) => new Date(START + seconds * 1000).toISOString();
    // A's three batches ran side by side. The first's later invocation (listed first) found the later rates.
    collector.addBatch('111111111111', refs('111111111111', 300), [{ endedAt: at(90), callRates: { generate: 3.2, get: 3.1 } }, { endedAt: at(30), callRates: { generate: 5, get: 1 } }], 3);
    // Its second's last invocation had no throttle to bound its Gets: its earlier one still says the rate.
    collector.addBatch('111111111111', refs('111111111111', 300), [{ endedAt: at(20), callRates: { generate: 3, get: 3 } }, { endedAt: at(80), callRates: { generate: 3.4 } }], 3);
    // Its third ran on alone after the others were done, and grew into the whole bucket: the median keeps it out.
    collector.addBatch('111111111111', refs('111111111111', 300), [{ endedAt: at(200), callRates: { generate: 9.9, get: 9.6 } }], 3);
    // B was never throttled, and C's outcomes were written by an earlier version: no rates.
    collector.addBatch('222222222222', refs('222222222222', 40), [{ endedAt: at(10), callRates: {} }]);
    collector.addBatch('333333333333', refs('333333333333', 40), [{ endedAt: at(10) }]);
    // D's two batches: the lower of the two estimates.
    collector.addBatch('444444444444', refs('444444444444', 300), [{ endedAt: at(60), callRates: { generate: 4 } }], 2);
    collector.addBatch('444444444444', refs('444444444444', 300), [{ endedAt: at(90), callRates: { generate: 9 } }], 2);
    expect(collector.build('night-1').callRates).toEqual({ '111111111111': { generate: 10.2, get: 9.3 }, '444444444444': { generate: 8 } });
  });

  describe('carried forward', () => {
    const [A, B, C] = ['111111111111', '222222222222', '333333333333'];
    const job = (account: string, name: string, seconds: number | null): LongJob => ({ arn: arnOf(account, name), seconds });
    // What the run's Plan started from: A's and B's long jobs, three accounts' times, A's and B's rates.
    const known: KnownLongJobs = {
      runId: 'night-1',
      jobs: new Map([
        [A, [job(A, 'stuck', null), job(A, 'was-slow', 50), job(A, 'still-slow', 30), job(A, 'deleted', 25)]],
        [B, [job(B, 'slow', 40)]],
      ]),
      accountTimes: new Map([
        [A, { seconds: 120, entities: 300 }],
        [B, { seconds: 60, entities: 100 }],
        [C, { seconds: 10, entities: 20 }],
      ]),
      callRates: new Map([
        [A, { generate: 9, get: 8 }],
        [B, { generate: 4 }],
      ]),
    };
    const at = (seconds: number) => new Date(START + seconds * 1000).toISOString();
    /** A run that audited A alone (B could not be entered), and measured some of its jobs. */
    function auditOfA(names: readonly string[], narrowed = false): LongJobCollector {
      const collector = new LongJobCollector({ known, narrowed });
      collector.addBatch(A, names.map((name) => ({ arn: arnOf(A, name) })), [{ startedAt: at(0), endedAt: at(75), callRates: { generate: 9.5 } }]);
      for (let i = 0; i < 20; i++) if (names.includes(`usual-${i}`)) collector.addReport(reportOf(A, `usual-${i}`, 3));
      // Its job was quick this time; another's was long; 'still-slow's job FAILED, so it was not measured.
      if (names.includes('was-slow')) collector.addReport(reportOf(A, 'was-slow', 3));
      if (names.includes('new-slow')) collector.addReport(reportOf(A, 'new-slow', 35));
      return collector;
    }

    it('keeps what the run did not measure and lets what it measured stand', () => {
      const names = ['stuck', 'was-slow', 'still-slow', 'new-slow', ...Array.from({ length: 20 }, (_, i) => `usual-${i}`)];
      expect(auditOfA(names).build('night-2')).toEqual({
        schemaVersion: 1,
        runId: 'night-2',
        accounts: {
          // 'stuck' and 'still-slow' were batched but not measured: kept. 'was-slow' was measured quick:
          // gone. 'deleted' is no longer in the account, audited in full: gone.
          [A]: [job(A, 'stuck', null), job(A, 'new-slow', 35), job(A, 'still-slow', 30)],
          // B was not audited: all it knew stays.
          [B]: [job(B, 'slow', 40)],
        },
        accountTimes: { [A]: { seconds: 75, entities: 24 }, [B]: { seconds: 60, entities: 100 }, [C]: { seconds: 10, entities: 20 } },
        callRates: { [A]: { generate: 9.5, get: 8 }, [B]: { generate: 4 } },
        carriedFrom: 'night-1',
      });
    });

    it('keeps the known times and the long jobs of entities a narrowed run did not look at', () => {
      const built = auditOfA(['was-slow', 'new-slow', 'usual-0', 'usual-1', 'usual-2'], true).build('by-hand');
      expect(built.accounts[A]).toEqual([job(A, 'stuck', null), job(A, 'new-slow', 35), job(A, 'still-slow', 30), job(A, 'deleted', 25)]);
      expect(built.accountTimes).toEqual({ [A]: { seconds: 120, entities: 300 }, [B]: { seconds: 60, entities: 100 }, [C]: { seconds: 10, entities: 20 } });
      expect(built.callRates![A]).toEqual({ generate: 9.5, get: 8 });
    });

    it('are read from the file latest-long-jobs.json names, and nothing is known without one', async () => {
      const store = tempStore();
      expect(await readLatestLongJobs(store)).toEqual({ runId: null, jobs: new Map(), accountTimes: new Map(), callRates: new Map() });
      const file = auditOfA(['was-slow', 'new-slow', 'usual-0', 'usual-1', 'usual-2']).build('night-2');
      await putJson(store, keys.longJobs('night-2'), file);
      await putJson(store, keys.latestLongJobs(), { runId: 'night-2', longJobsKey: keys.longJobs('night-2'), writtenAt: at(0) });
      const read = await readLatestLongJobs(store);
      expect(read.runId).toBe('night-2');
      expect(Object.fromEntries(read.jobs)).toEqual(file.accounts);
      expect(Object.fromEntries(read.accountTimes)).toEqual(file.accountTimes);
      expect(Object.fromEntries(read.callRates)).toEqual(file.callRates);
      // A pointer or a file that is not what it should be reads as nothing known, and says why.
      const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
      try {
        await putJson(store, keys.longJobs('night-2'), { ...file, accounts: { [A]: [{ arn: arnOf(A, 'x'), seconds: 'long' }] } });
        expect((await readLatestLongJobs(store)).runId).toBeNull();
        expect(warn).toHaveBeenLastCalledWith(expect.stringContaining(`accounts.${A}[0] is not { arn, seconds }`));
        await putJson(store, keys.latestLongJobs(), { runId: 7 });
        expect((await readLatestLongJobs(store)).runId).toBeNull();
        expect(warn).toHaveBeenLastCalledWith(expect.stringContaining('runId 7 is not a run id'));
      } finally {
        warn.mockRestore();
      }
    });
    describe('written by two runs summarized at once', () => {
      /** night-1's file and the pointer to it, as both runs found them when their Summarize began. */
      async function storeAtNight1() {
        const store = memoryStore();
        const file: LongJobs = { schemaVersion: 1, runId: 'night-1', accounts: Object.fromEntries(known.jobs), accountTimes: Object.fromEntries(known.accountTimes), callRates: Object.fromEntries(known.callRates), carriedFrom: null };
        await putJson(store, keys.longJobs('night-1'), file);
        await putJson(store, keys.latestLongJobs(), { runId: 'night-1', longJobsKey: keys.longJobs('night-1'), writtenAt: at(0) } satisfies LatestLongJobsPointer);
        return store;
      }
      /** A run by hand beside the nightly one, that audited B alone: its long job was quick, another was long. */
      function auditOfB(): LongJobCollector {
        const collector = new LongJobCollector({ known, narrowed: false });
        const names = ['slow', 'now-slow', ...Array.from({ length: 10 }, (_, i) => `usual-${i}`)];
        collector.addBatch(B, names.map((name) => ({ arn: arnOf(B, name) })), [{ startedAt: at(0), endedAt: at(50), callRates: { generate: 6 } }]);
        for (const name of names) collector.addReport(reportOf(B, name, name === 'now-slow' ? 40 : 3));
        return collector;
      }
      const names = ['stuck', 'was-slow', 'still-slow', 'new-slow', ...Array.from({ length: 20 }, (_, i) => `usual-${i}`)];
      const pointerOf = async (store: ReportStore) => (await getJson<LatestLongJobsPointer>(store, keys.latestLongJobs())).runId;

      it('the one that writes last carries forward from the other\'s file, not the one both began from', async () => {
        const store = await storeAtNight1();
        const [nightly, byHand] = [await latestLongJobsPointer(store), await latestLongJobsPointer(store)];
        expect(nightly.runId).toBe('night-1');
        await writeLongJobs(store, 'by-hand', auditOfB(), byHand, (latest) => latest, at(60));
        expect(await pointerOf(store)).toBe('by-hand');
        const written = await writeLongJobs(store, 'night-2', auditOfA(names), nightly, (latest) => latest, at(80));
        // B's long job as the run by hand found it, not as night-1 knew it; A's as night-2 measured it.
        expect(written).toMatchObject({ runId: 'night-2', carriedFrom: 'by-hand', accounts: { [A]: [job(A, 'stuck', null), job(A, 'new-slow', 35), job(A, 'still-slow', 30)], [B]: [job(B, 'now-slow', 40)] } });
        expect(written.callRates![B]).toEqual({ generate: 6 });
        expect(await getJson<LongJobs>(store, keys.longJobs('night-2'))).toEqual(written);
        expect(await pointerOf(store)).toBe('night-2');
      });

      it('built again from the newer file, lets what the run measured stand, and keeps what it cannot tell is gone', () => {
        // The run knew nothing of A's long jobs when it started, and audited A in full: x quick, y failed.
        const collector = new LongJobCollector();
        collector.addBatch(A, ['x', 'y', ...Array.from({ length: 5 }, (_, i) => `usual-${i}`)].map((name) => ({ arn: arnOf(A, name) })), []);
        for (const name of ['x', 'usual-0', 'usual-1', 'usual-2', 'usual-3', 'usual-4']) collector.addReport(reportOf(A, name, 3));
        const newer: KnownLongJobs = { ...known, runId: 'by-hand', jobs: new Map([[A, [job(A, 'x', 50), job(A, 'y', 30), job(A, 'z', 20)]]]) };
        // x was measured quick: gone. y was batched and not measured: stays. z was not batched, but whether
        // the run's batches held it was kept only for the entities known at its start: it stays too.
        expect(collector.build('night-2', newer)).toMatchObject({ carriedFrom: 'by-hand', accounts: { [A]: [job(A, 'y', 30), job(A, 'z', 20)] } });
        // Built from what it knew at its start, nothing of A is carried.
        expect(collector.build('night-2').accounts).toEqual({});
      });

      it('moves the pointer regardless after five tries, saying so', async () => {
        const store = await storeAtNight1();
        // Another run moves the pointer just before each of this run's conditional writes.
        let tries = 0;
        const busy = storeWith(store, {
          putIfUnchanged: async (key, body, tag) => {
            tries++;
            await putJson(store, keys.latestLongJobs(), { runId: `other-${tries}`, longJobsKey: keys.longJobs(`other-${tries}`), writtenAt: at(tries) } satisfies LatestLongJobsPointer);
            return store.putIfUnchanged(key, body, tag);
          },
        });
        const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
        try {
          await writeLongJobs(busy, 'night-2', auditOfA(names), await latestLongJobsPointer(store), (latest) => latest, at(80));
          expect(tries).toBe(5);
          expect(await pointerOf(store)).toBe('night-2');
          expect(warn).toHaveBeenCalledWith(expect.stringContaining('kept moving'));
        } finally {
          warn.mockRestore();
        }
      });
    });
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
    expect(longJobsFirst(listed, ['d', 'gone', 'b'].map((name) => ({ arn: arnOf('111111111111', name), seconds: 30 })))).toEqual({ long: [e('d'), e('b')], rest: [e('a'), e('c'), e('e')] });
    expect(longJobsFirst(listed, undefined)).toEqual({ long: [], rest: listed });
  });
});
