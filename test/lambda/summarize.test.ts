import type { BatchOutcome, ReportedEntity } from '../../lambda/core/audit-batch';
import { ScaledClock } from '../../lambda/core/clock';
import { keys, noIamCalls, type AccountSummary, type BatchDescriptor, type DatasetRow, type EntityRef, type LatestPointer, type RunInfo, type RunSummary } from '../../lambda/core/model';
import type { PlanRecord } from '../../lambda/core/plan';
import type { LatestLongJobsPointer, LongJobs } from '../../lambda/core/long-jobs';
import { buildReport } from '../../lambda/core/report';
import { getJson, NotFound, putJson, type ReportStore } from '../../lambda/core/store';
import type { Changes } from '../../lambda/core/changes';
import type { ProposalIndex } from '../../lambda/core/propose';
import { FAILED_ACCOUNTS_NAMED, gather, statusOf, summarize } from '../../lambda/core/summarize';
import { storeWith, tempStore } from '../helpers/core';
import { pageDataOf } from '../helpers/report-page';

const ACCOUNT = '123456789012';
const run: RunInfo = { runId: 'r1', runDate: '2026-11-25', granularity: 'SERVICE_LEVEL', unusedAfterDays: 90, startedAt: '2026-11-25T03:00:00.000Z' };
const entity = (name: string, type: EntityRef['type'] = 'role'): EntityRef => ({ arn: `arn:aws:iam::${ACCOUNT}:${type}/${name}`, type, name, path: '/', id: `AROA${name.toUpperCase().padEnd(17, 'X')}` });
const deps = (store: ReportStore, maxFailedPercent = 5) => ({ store, clock: new ScaledClock(), settings: { maxFailedPercent, watchServices: ['iam'] } });

function outcome(batchId: string, attempt: number, parts: Partial<BatchOutcome>): BatchOutcome {
  return { batchId, accountId: ACCOUNT, attempt, invocationId: `i${attempt}`, done: false, reported: [], skipped: [], failed: [], leftover: 0, iamCalls: noIamCalls(), ...parts };
}

/** Writes the report an invocation would write for `e`, granted `services` (the first used yesterday). */
async function writeReport(store: ReportStore, e: EntityRef, services: string[]): Promise<string> {
  const created = new Date('2026-11-25T03:10:00Z');
  const report = buildReport(run, ACCOUNT, e, 'j'.repeat(36), [
    {
      $metadata: {},
      JobStatus: 'COMPLETED',
      JobCreationDate: created,
      JobCompletionDate: created,
      ServicesLastAccessed: services.map((ns, i) => ({ ServiceNamespace: ns, ServiceName: ns.toUpperCase(), LastAuthenticated: i === 0 ? new Date('2026-11-24T00:00:00Z') : undefined })),
    },
  ]);
  const key = keys.report(run.runId, ACCOUNT, e.type, e.name);
  await putJson(store, key, report);
  return key;
}

async function planRun(store: ReportStore, batches: EntityRef[][], missingArns: string[] = [], longJobsFrom: string | null = null): Promise<void> {
  const descriptors = batches.map((entities, i) => ({ batchId: `b0000${i + 1}`, accountId: ACCOUNT, key: keys.batch('r1', `b0000${i + 1}`), size: entities.length, peers: batches.length }));
  for (const [i, d] of descriptors.entries()) await putJson(store, d.key, { batchId: d.batchId, accountId: ACCOUNT, peers: d.peers, entities: batches[i] });
  const plan: PlanRecord = {
    run,
    accounts: [{ accountId: ACCOUNT, name: null, status: 'audited', missingArns, iamCalls: { ...noIamCalls(), list: 4 } }],
    batches: descriptors,
    longJobsFrom,
    narrowed: false,
  };
  await putJson(store, keys.plan('r1'), plan);
}

/** Plans one batch for each entity, each settled by one invocation that reported it, granted `services`. */
async function planOneBatchEach(store: ReportStore, entities: EntityRef[], services: string[]): Promise<void> {
  await planRun(store, entities.map((e) => [e]));
  for (const [i, e] of entities.entries()) {
    const batchId = `b0000${i + 1}`;
    await putJson(store, keys.outcome('r1', batchId, 1, 'x'), outcome(batchId, 1, { done: true, reported: [{ arn: e.arn, key: await writeReport(store, e, services) }] }));
  }
}

async function rowsOf(store: ReportStore): Promise<DatasetRow[]> {
  const parts = await store.list('datasets/');
  const text = (await Promise.all(parts.map((k) => store.get(k)))).join('');
  return text.trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l) as DatasetRow);
}

describe('Summarize', () => {
  it('names the error the workflow recorded for a batch whose invocations failed, cut to 300 characters', async () => {
    const store = tempStore();
    const [a, b] = ['a', 'b'].map((n) => entity(n));
    await planRun(store, [[a], [b]], []);
    const cause = `{"errorType":"Sandbox.Timedout","errorMessage":"${'x'.repeat(400)}"}`;
    await store.put(keys.batchFailure('r1', 'b00001'), `Lambda.TooManyRequestsException: Rate Exceeded.`);
    await store.put(keys.batchFailure('r1', 'b00002'), `Sandbox.Timedout: ${cause}`);
    await summarize(deps(store, 100), { run });
    const summary = await getJson<RunSummary>(store, keys.summary('r1'));
    const head = (batchId: string) => `the audit of batch ${batchId} failed before this entity was settled: `;
    expect(summary.failures).toEqual([
      { arn: a.arn, code: 'BatchFailed', message: `${head('b00001')}Lambda.TooManyRequestsException: Rate Exceeded.` },
      { arn: b.arn, code: 'BatchFailed', message: `${head('b00002')}${`Sandbox.Timedout: ${cause}`.slice(0, 300)}...` },
    ]);
  });

  it('reads the batches\' files several at a time, and settles every batch', async () => {
    // S3's latency adds up over an organization's thousands of batches: their reads overlap.
    const files = tempStore();
    let inFlight = 0;
    let most = 0;
    const store = storeWith(files, {
      get: async (key) => {
        most = Math.max(most, ++inFlight);
        try {
          await new Promise((resolve) => setTimeout(resolve, 5));
          return await files.get(key);
        } finally {
          inFlight--;
        }
      },
    });
    const entities = Array.from({ length: 9 }, (_, i) => entity(`r${i}`));
    await planOneBatchEach(store, entities, ['s3']);
    most = 0;
    await summarize(deps(store), { run });
    expect(most).toBeGreaterThan(1);
    const summary = await getJson<RunSummary>(store, keys.summary('r1'));
    expect(summary.entities).toMatchObject({ listed: 9, reported: 9, failed: 0 });
    expect((await rowsOf(store)).map((r) => r.entityArn).sort()).toEqual(entities.map((e) => e.arn).sort());
  });

  it('reads the reports ahead across batches and sends a batch\'s dataset part while the next batches are read, rows unchanged', async () => {
    // Thousands of small accounts: each batch would otherwise wait on S3 twice, once to read, once to send.
    const files = tempStore();
    const events: string[] = [];
    let readsInFlight = 0;
    let sending = 0;
    let readWhileSending = 0;
    let mostReportReads = 0;
    const later = () => new Promise((resolve) => setTimeout(resolve, 5));
    const store = storeWith(files, {
      get: async (key) => {
        const report = key.includes('/reports/');
        if (report) mostReportReads = Math.max(mostReportReads, ++readsInFlight);
        if (report && sending > 0) readWhileSending++;
        try {
          await later();
          return await files.get(key);
        } finally {
          if (report) readsInFlight--;
        }
      },
      putChunks: async (key, chunks) => {
        let body = '';
        for await (const chunk of chunks) body += chunk;
        // The part's last request goes once its rows are all read, as S3's upload sends it.
        sending++;
        events.push(`send ${key.split('part-')[1]}`);
        try {
          await later();
          await later();
          return await files.putChunks(key, (async function* () { yield body; })());
        } finally {
          sending--;
        }
      },
    });
    // More batches than the reports read ahead (32), so that some are read while parts are sent.
    const entities = Array.from({ length: 60 }, (_, i) => entity(`r${i}`));
    await planOneBatchEach(store, entities, ['s3', 'ec2']);
    await summarize(deps(store), { run });
    expect(mostReportReads).toBeGreaterThan(1);
    expect(readWhileSending).toBeGreaterThan(0);
    expect(events).toHaveLength(60);
    const rows = await rowsOf(store);
    expect(rows.map((r) => r.entityArn).sort()).toEqual(entities.flatMap((e) => [e.arn, e.arn]).sort());
    // Each batch's part holds its own identity's rows, whatever was read ahead.
    for (const [i, e] of entities.entries()) expect((await store.get(keys.datasetPart(run.runDate, run.runId, `b0000${i + 1}`))).split('\n').filter(Boolean).map((l) => JSON.parse(l).entityArn)).toEqual([e.arn, e.arn]);
    const summary = await getJson<RunSummary>(store, keys.summary('r1'));
    expect(summary.entities).toMatchObject({ listed: 60, reported: 60, failed: 0 });
    expect(summary.findings.unusedServiceGrants).toBe(60);
  });

  it('stops at a report that is not the run\'s, writing no summary', async () => {
    const store = tempStore();
    const [a, b, c] = ['a', 'b', 'c'].map((n) => entity(n));
    await planOneBatchEach(store, [a, b, c], ['s3']);
    const bKey = keys.report(run.runId, ACCOUNT, b.type, b.name);
    await putJson(store, bKey, { ...(await getJson<object>(store, bKey)), runId: 'r0' });
    await expect(summarize(deps(store), { run })).rejects.toThrow(`report ${b.arn} belongs to run r0, not r1`);
    await expect(store.get(keys.summary('r1'))).rejects.toBeInstanceOf(NotFound);
    await expect(store.get(keys.datasetPart(run.runDate, run.runId, 'b00002'))).rejects.toBeInstanceOf(NotFound);
  });

  it('settles every entity once, counts a report written by an invocation that died, and fails what nobody settled', async () => {
    const store = tempStore();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => entity(n));
    await planRun(store, [[a, b], [c, d]], [`arn:aws:iam::${ACCOUNT}:user/gone`]);
    // Batch 1: a reported at attempt 1, b at attempt 2. Batch 2: c's report written, then its invocation died.
    const aKey = await writeReport(store, a, ['s3', 'ec2']);
    const bKey = await writeReport(store, b, ['sts', 'kms', 'sqs']);
    await writeReport(store, c, ['s3']);
    await putJson(store, keys.outcome('r1', 'b00001', 1, 'x'), outcome('b00001', 1, { reported: [{ arn: a.arn, key: aKey }], leftover: 1, iamCalls: { ...noIamCalls(), generate: 2, get: 2 } }));
    await putJson(store, keys.outcome('r1', 'b00001', 2, 'y'), outcome('b00001', 2, { done: true, reported: [{ arn: b.arn, key: bKey }], iamCalls: { ...noIamCalls(), get: 1, throttled: 2, retried: 1 } }));

    const result = await summarize(deps(store, 25), { run });
    expect(result).toMatchObject({ status: 'COMPLETED', listed: 5, reported: 3, skipped: 1, failed: 1, failedShare: 0.2 });
    const summary = await getJson<RunSummary>(store, keys.summary('r1'));
    expect(summary).toMatchObject({ schemaVersion: 2, status: 'COMPLETED', changes: null, proposals: { count: 0, byAction: { trim: 0, remove: 0, replace: 0, review: 0 } } });
    expect(summary.entities).toEqual({ listed: 5, reported: 3, skipped: 1, failed: 1, byType: { user: 1, group: 0, role: 4, policy: 0 } });
    expect(summary.accounts).toEqual([{ accountId: ACCOUNT, name: null, status: 'audited', entities: { listed: 5, reported: 3, skipped: 1, failed: 1 } }]);
    // Batch 2's invocations died without recording why: the message says where to look.
    expect(summary.failures).toEqual([{ arn: d.arn, code: 'BatchFailed', message: 'the audit of batch b00002 failed before this entity was settled; the execution history has the error' }]);
    expect(summary.skipped).toEqual([{ arn: `arn:aws:iam::${ACCOUNT}:user/gone`, code: 'NoSuchEntity' }]);
    expect(summary.findings).toEqual({ entitiesWithUnusedServices: 2, unusedServiceGrants: 3, entitiesWithNoUseInWindow: 0 });
    expect(summary.iamCalls).toEqual({ list: 4, generate: 2, get: 3, throttled: 2, retried: 1 });
    // One row per entity and service, from the report files, the died invocation's report included.
    const rows = await rowsOf(store);
    expect(rows.map((r) => `${r.entityArn}|${r.serviceNamespace}`).sort()).toEqual(
      [`${a.arn}|ec2`, `${a.arn}|s3`, `${b.arn}|kms`, `${b.arn}|sqs`, `${b.arn}|sts`, `${c.arn}|s3`].sort(),
    );
    expect((await getJson<LatestPointer>(store, keys.latest())).runId).toBe('r1');
  });

  it('leaves only the reported entities\' reports under reports/: a report of an entity the run did not list is removed', async () => {
    const store = tempStore();
    const [a, b] = ['a', 'b'].map((n) => entity(n));
    await planRun(store, [[a, b]]);
    const aKey = await writeReport(store, a, ['s3']);
    // A report of an entity no longer in the run's listing (a stale file) must not be read as this run's.
    const stale = await writeReport(store, entity('not-listed'), ['s3']);
    await putJson(store, keys.outcome('r1', 'b00001', 1, 'x'), outcome('b00001', 1, { done: true, reported: [{ arn: a.arn, key: aKey }], failed: [{ arn: b.arn, code: 'JobFailed', message: 'm' }] }));
    await summarize(deps(store, 100), { run });
    expect(await store.list('runs/r1/reports/')).toEqual([aKey]);
    await expect(store.get(stale)).rejects.toBeInstanceOf(NotFound);
  });

  it('writes each row exactly once when an attempt ran twice (overlapping Lambda retries)', async () => {
    const store = tempStore();
    const a = entity('a');
    await planRun(store, [[a]]);
    const aKey = await writeReport(store, a, ['s3', 'ec2']);
    for (const id of ['first', 'second']) await putJson(store, keys.outcome('r1', 'b00001', 1, id), outcome('b00001', 1, { invocationId: id, done: true, reported: [{ arn: a.arn, key: aKey }] }));
    await summarize(deps(store), { run });
    expect(await rowsOf(store)).toHaveLength(2);
  });

  it('calls a run with more failures than maxFailedPercent INCOMPLETE, writes its summary and rows, and leaves latest.json', async () => {
    const store = tempStore();
    const entities = ['a', 'b', 'c'].map((n) => entity(n));
    await planRun(store, [entities]);
    await putJson(store, keys.latest(), { runId: 'r0', summaryKey: keys.summary('r0'), completedAt: '2026-11-24T03:00:00.000Z' } satisfies LatestPointer);
    const aKey = await writeReport(store, entities[0], ['s3']);
    await putJson(store, keys.outcome('r1', 'b00001', 1, 'x'), outcome('b00001', 1, { done: true, reported: [{ arn: entities[0].arn, key: aKey }], failed: [{ arn: entities[1].arn, code: 'JobFailed', message: 'm' }] }));
    const result = await summarize(deps(store, 5), { run });
    expect(result).toMatchObject({ status: 'INCOMPLETE', reported: 1, failed: 2 });
    // No Propose ran before this Summarize: its reason says so too.
    expect(result.reason).toBe('2 of 3 entities failed (66.7%, more than maxFailedPercent 5%); no proposals were made: Propose did not run to its end (its log says why)');
    expect((await getJson<RunSummary>(store, keys.summary('r1'))).status).toBe('INCOMPLETE');
    expect(await rowsOf(store)).toHaveLength(1);
    expect((await getJson<LatestPointer>(store, keys.latest())).runId).toBe('r0');
    // What the run learned still counts: the next Plan starts from its long jobs.
    expect(await getJson<LatestLongJobsPointer>(store, keys.latestLongJobs())).toMatchObject({ runId: 'r1', longJobsKey: keys.longJobs('r1') });
  });

  it("carries forward, in the run's long jobs, what the latest file knew and the run did not measure", async () => {
    const store = tempStore();
    const [a, b] = ['a', 'b'].map((n) => entity(n));
    await planRun(store, [[a, b]], [], 'r0');
    const known: LongJobs = { schemaVersion: 1, runId: 'r0', accounts: { [ACCOUNT]: [{ arn: b.arn, seconds: 40 }, { arn: a.arn, seconds: 30 }], '999999999999': [{ arn: 'arn:aws:iam::999999999999:role/x', seconds: 50 }] }, callRates: { '999999999999': { generate: 5 } } };
    await putJson(store, keys.longJobs('r0'), known);
    const aKey = await writeReport(store, a, ['s3']);
    // a's job is measured (quick this time); b's job FAILED, so nothing was measured of it.
    await putJson(store, keys.outcome('r1', 'b00001', 1, 'x'), outcome('b00001', 1, { done: true, reported: [{ arn: a.arn, key: aKey }], failed: [{ arn: b.arn, code: 'JobFailed', message: 'm' }] }));
    await summarize(deps(store, 100), { run });
    expect(await getJson<LongJobs>(store, keys.longJobs('r1'))).toMatchObject({
      carriedFrom: 'r0',
      accounts: { [ACCOUNT]: [{ arn: b.arn, seconds: 40 }], '999999999999': known.accounts['999999999999'] },
      callRates: known.callRates,
    });
    expect(await getJson<LatestLongJobsPointer>(store, keys.latestLongJobs())).toMatchObject({ runId: 'r1' });
    // Summarized again (a retry of the step): the latest file is the run's own, so its Plan's is carried from.
    await summarize(deps(store, 100), { run });
    expect((await getJson<LongJobs>(store, keys.longJobs('r1'))).carriedFrom).toBe('r0');

    // A run beside it (a manual one beside the nightly) wrote its file after this run's Plan began: it is the latest, and knows more.
    await putJson(store, keys.longJobs('r0b'), { ...known, runId: 'r0b', accounts: { ...known.accounts, '888888888888': [{ arn: 'arn:aws:iam::888888888888:role/y', seconds: 60 }] } } satisfies LongJobs);
    await putJson(store, keys.latestLongJobs(), { runId: 'r0b', longJobsKey: keys.longJobs('r0b'), writtenAt: '2026-11-25T03:20:00.000Z' } satisfies LatestLongJobsPointer);
    await summarize(deps(store, 100), { run });
    expect(await getJson<LongJobs>(store, keys.longJobs('r1'))).toMatchObject({ carriedFrom: 'r0b', accounts: { '888888888888': [{ seconds: 60 }] } });

    // One that wrote its file while this run was being summarized (after this one read the pointer): this
    // run's file is built again from it, and the pointer names this run.
    let beside = false;
    const busy = storeWith(store, {
      putChunks: async (key, chunks) => {
        if (!beside) {
          beside = true;
          await putJson(store, keys.longJobs('r0c'), { ...known, runId: 'r0c', accounts: { ...known.accounts, '777777777777': [{ arn: 'arn:aws:iam::777777777777:role/z', seconds: 70 }] } } satisfies LongJobs);
          await putJson(store, keys.latestLongJobs(), { runId: 'r0c', longJobsKey: keys.longJobs('r0c'), writtenAt: '2026-11-25T03:25:00.000Z' } satisfies LatestLongJobsPointer);
        }
        return store.putChunks(key, chunks);
      },
    });
    await summarize(deps(busy, 100), { run });
    expect(beside).toBe(true);
    expect(await getJson<LongJobs>(store, keys.longJobs('r1'))).toMatchObject({ carriedFrom: 'r0c', accounts: { '777777777777': [{ seconds: 70 }] } });
    expect(await getJson<LatestLongJobsPointer>(store, keys.latestLongJobs())).toMatchObject({ runId: 'r1' });
  });

  it('in two steps, a gather beside Propose and a finish after it, writes what one invocation writes, with the proposals made in between', async () => {
    const clock = { now: () => Date.parse('2026-11-25T03:30:00Z'), sleep: async () => {}, timeScale: 1 };
    const [a, b] = ['a', 'b'].map((n) => entity(n));
    const index: ProposalIndex = {
      schemaVersion: 1,
      runId: 'r1',
      catalogVersion: 'test',
      accountsWithoutDetails: [],
      exempt: [],
      proposals: [{ proposalId: 'p-1', accountId: ACCOUNT, action: 'trim', kind: 'inline-policy', policyName: 'app', policyArn: null, owner: a.arn, removedServices: 1, removedActions: 0, key: keys.proposal('r1', ACCOUNT, 'p-1') }],
    };
    const setUp = async () => {
      const store = tempStore();
      await planRun(store, [[a, b]]);
      const aKey = await writeReport(store, a, ['s3', 'ec2']);
      const bKey = await writeReport(store, b, ['sts']);
      await putJson(store, keys.outcome('r1', 'b00001', 1, 'x'), outcome('b00001', 1, { done: true, reported: [{ arn: a.arn, key: aKey }, { arn: b.arn, key: bKey }] }));
      return store;
    };
    const whole = await setUp();
    await putJson(whole, keys.proposalsIndex('r1'), index);
    const once = await summarize({ ...deps(whole), clock }, { run });

    const split = await setUp();
    expect(await gather({ ...deps(split), clock }, { run, phase: 'gather' })).toEqual({ gatheredKey: keys.gathered('r1'), status: 'COMPLETED' });
    // Nothing a reader follows is there before the finish; the rows, which nothing points to yet, are.
    for (const key of [keys.summary('r1'), keys.reportPage('r1'), keys.latest()]) await expect(split.get(key)).rejects.toBeInstanceOf(NotFound);
    expect(await rowsOf(split)).toEqual(await rowsOf(whole));
    // Propose ends after the gather: the finish counts its proposals.
    await putJson(split, keys.proposalsIndex('r1'), index);
    const twice = await summarize({ ...deps(split), clock }, { run, phase: 'finish' });

    expect(twice).toEqual({ ...once, location: split.location });
    expect((await getJson<RunSummary>(split, keys.summary('r1'))).proposals).toEqual({ count: 1, byAction: { trim: 1, remove: 0, replace: 0, review: 0 } });
    for (const key of [keys.summary('r1'), keys.reportPage('r1'), keys.latest(), keys.longJobs('r1')]) expect({ key, body: await split.get(key) }).toEqual({ key, body: await whole.get(key) });
  });

  it('finishes only from a gathered file of its own version, naming the field, and writes nothing', async () => {
    const store = tempStore();
    await planRun(store, []);
    await gather(deps(store), { run, phase: 'gather' });
    const gathered = await getJson<Record<string, unknown>>(store, keys.gathered('r1'));
    // Version 1 held each service of the page as an array of its own, which this finish would misread.
    await putJson(store, keys.gathered('r1'), { ...gathered, schemaVersion: 1 });
    await expect(summarize(deps(store), { run, phase: 'finish' })).rejects.toThrow('work/r1/gathered.json: field schemaVersion must be 2, got 1');
    for (const key of [keys.summary('r1'), keys.reportPage('r1'), keys.latest()]) await expect(store.get(key)).rejects.toBeInstanceOf(NotFound);
  });

  it('names the phase field when it is neither gather nor finish', async () => {
    const store = tempStore();
    await planRun(store, []);
    const event = { run, phase: 'all' } as unknown as Parameters<typeof summarize>[1];
    await expect(summarize(deps(store), event)).rejects.toThrow('field phase must be one of gather, finish or absent, got "all"');
    await expect(gather(deps(store), event)).rejects.toThrow('field phase');
    await expect(summarize(deps(store), { run, phase: 'gather' })).rejects.toThrow('call gather()');
    expect(await store.list('runs/')).toEqual([]);
  });

  it('summarizes an empty account as COMPLETED and points latest.json at it', async () => {
    const store = tempStore();
    await planRun(store, []);
    const result = await summarize(deps(store), { run });
    expect(result).toMatchObject({ status: 'COMPLETED', listed: 0, failedShare: 0 });
    expect((await getJson<LatestPointer>(store, keys.latest())).summaryKey).toBe(keys.summary('r1'));
  });
});

describe('run status', () => {
  const account = (status: AccountSummary['status'], code?: string): AccountSummary => ({ accountId: ACCOUNT, name: null, status, ...(code ? { code } : {}), entities: { listed: 0, reported: 0, skipped: 0, failed: 0 } });

  it('is COMPLETED up to maxFailedPercent and INCOMPLETE past it', () => {
    expect(statusOf([account('audited')], 100, 5, 5).status).toBe('COMPLETED');
    expect(statusOf([account('audited')], 100, 6, 5).status).toBe('INCOMPLETE');
    expect(statusOf([account('audited')], 0, 0, 0).status).toBe('COMPLETED');
  });

  it('is INCOMPLETE when an account could not be audited or the Map failed, whatever the entities did', () => {
    expect(statusOf([account('audited'), account('failed', 'AccessDenied')], 10, 0, 5)).toEqual({ status: 'INCOMPLETE', reason: expect.stringContaining('AccessDenied') });
    expect(statusOf([account('skipped')], 0, 0, 5).status).toBe('COMPLETED');
    expect(statusOf([account('audited')], 10, 0, 5, { Error: 'States.Runtime' }).reason).toContain('States.Runtime');
  });

  it('names each failed account while they are few, and how many of each code with some ids past that', () => {
    const failed = (n: number, code: string, from: number) =>
      Array.from({ length: n }, (_, i) => ({ ...account('failed', code), accountId: String(from + i).padStart(12, '0') }));
    const few = [account('audited'), ...failed(FAILED_ACCOUNTS_NAMED, 'AccessDenied', 1)];
    expect(statusOf(few, 10, 0, 5).reason).toBe(
      `${FAILED_ACCOUNTS_NAMED} of ${FAILED_ACCOUNTS_NAMED + 1} accounts could not be audited (` +
        few.slice(1).map((a) => `${a.accountId}: AccessDenied`).join(', ') + ')',
    );

    // A member StackSet that has not reached the organization: every account refused, and one throttled.
    const many = [...failed(1_500, 'AccessDenied', 100), ...failed(1, 'Throttling', 5_000), ...failed(2, 'ExpiredToken', 6_000)];
    const { status, reason } = statusOf(many, 0, 0, 5);
    expect(status).toBe('INCOMPLETE');
    expect(reason).toBe(
      '1503 of 1503 accounts could not be audited (AccessDenied: 1500 (000000000100, 000000000101, 000000000102 and 1497 more); ' +
        "ExpiredToken: 2 (000000006000, 000000006001); Throttling: 1 (000000005000); the summary's accounts name each)",
    );
    // Step Functions caps an execution's cause at 32,768 characters; the old list passed it at some 1,200 accounts.
    expect(reason.length).toBeLessThan(300);
  });
});

describe('Summarize, comparing an organization with its previous run account by account', () => {
  const [A, B] = ['111111111111', '222222222222'];
  const role = (accountId: string, name: string): EntityRef => ({ arn: `arn:aws:iam::${accountId}:role/${name}`, type: 'role', name, path: '/', id: `AROA${name.toUpperCase().padEnd(17, 'X')}` });

  /** A run in which every entity of every account was reported, granted `services` (the first used the day before). */
  async function summarizedRun(store: ReportStore, runId: string, day: string, entities: Record<string, Array<[EntityRef, string[]]>>, failedAccounts: readonly string[] = []): Promise<void> {
    const info: RunInfo = { ...run, runId, runDate: day, startedAt: `${day}T03:00:00.000Z` };
    const created = new Date(`${day}T03:10:00Z`);
    const batches: BatchDescriptor[] = [];
    for (const [i, [accountId, reports]] of Object.entries(entities).entries()) {
      if (reports.length === 0) continue;
      const batchId = `b0000${i + 1}`;
      batches.push({ batchId, accountId, key: keys.batch(runId, batchId), size: reports.length, peers: 1 });
      await putJson(store, keys.batch(runId, batchId), { batchId, accountId, peers: 1, entities: reports.map(([e]) => e) });
      const reported: ReportedEntity[] = [];
      for (const [e, services] of reports) {
        const key = keys.report(runId, accountId, e.type, e.name);
        const lastUsed = new Date(created.getTime() - 86_400_000);
        const page = { $metadata: {}, JobStatus: 'COMPLETED' as const, JobCreationDate: created, JobCompletionDate: created, ServicesLastAccessed: services.map((ns, k) => ({ ServiceNamespace: ns, ServiceName: ns, LastAuthenticated: k === 0 ? lastUsed : undefined })) };
        await putJson(store, key, buildReport(info, accountId, e, 'j'.repeat(36), [page]));
        reported.push({ arn: e.arn, key });
      }
      await putJson(store, keys.outcome(runId, batchId, 1, 'x'), { ...outcome(batchId, 1, { done: true, reported }), accountId });
    }
    const accounts = [
      ...Object.keys(entities).map((accountId) => ({ accountId, name: null, status: 'audited' as const, missingArns: [], iamCalls: noIamCalls() })),
      ...failedAccounts.map((accountId) => ({ accountId, name: null, status: 'failed' as const, code: 'AccessDenied', missingArns: [], iamCalls: noIamCalls() })),
    ];
    await putJson(store, keys.plan(runId), { run: info, accounts, batches, longJobsFrom: null, narrowed: false } satisfies PlanRecord);
    await summarize(deps(store), { run: info });
  }

  const lastNight = (store: ReportStore) =>
    summarizedRun(store, 'r1', '2026-11-24', { [A]: [[role(A, 'x'), ['s3', 'ec2']], [role(A, 'y'), ['s3']]], [B]: [[role(B, 'z'), ['sqs']]] });
  // Tonight x first uses ec2, y is gone and w is new in A, and B lists nothing at all.
  const tonight = (store: ReportStore) => summarizedRun(store, 'r2', '2026-11-25', { [A]: [[role(A, 'x'), ['ec2', 's3']], [role(A, 'w'), ['s3']]], [B]: [] });

  it('compares every account, one with nothing listed tonight included', async () => {
    const store = tempStore();
    await lastNight(store);
    await tonight(store);
    const changes = await getJson<Changes>(store, keys.changes('r2'));
    expect(changes.identities).toEqual({ added: [role(A, 'w').arn], removed: [role(A, 'y').arn, role(B, 'z').arn] });
    expect(changes.services.map((c) => `${c.arn.split(':')[5]} ${c.serviceNamespace} ${c.change}`)).toContain('role/x ec2 first-use');
    expect(pageDataOf(await store.get(keys.reportPage('r2'))).changes!.notCompared).toEqual([]);
  });

  it('names an account this run could not enter as not compared: its identities are not removed', async () => {
    const store = tempStore();
    await lastNight(store);
    await summarizedRun(store, 'r2', '2026-11-25', { [A]: [[role(A, 'x'), ['ec2', 's3']], [role(A, 'y'), ['s3']]] }, [B]);
    const changes = await getJson<Changes>(store, keys.changes('r2'));
    expect(changes.identities).toEqual({ added: [], removed: [] });
    expect(pageDataOf(await store.get(keys.reportPage('r2'))).changes!.notCompared).toEqual([{ accountId: B, reason: 'not-audited-now' }]);
  });

  it('leaves out an account whose previous reports disagree with its summary, and compares the others', async () => {
    const store = tempStore();
    await lastNight(store);
    await store.delete(keys.report('r1', B, 'role', 'z'));
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      await tonight(store);
      const changes = await getJson<Changes>(store, keys.changes('r2'));
      expect(changes.identities).toEqual({ added: [role(A, 'w').arn], removed: [role(A, 'y').arn] });
      expect(warn).toHaveBeenCalledWith(expect.stringContaining(`"accountId":"${B}"`));
      expect((await getJson<RunSummary>(store, keys.summary('r2'))).status).toBe('COMPLETED');
      // The page says so: B's identities are not taken for unchanged.
      const page = pageDataOf(await store.get(keys.reportPage('r2')));
      expect(page.changes).toMatchObject({ previousStartedAt: (await getJson<RunSummary>(store, keys.summary('r1'))).startedAt, notCompared: [{ accountId: B, reason: 'unreadable' }] });
    } finally {
      warn.mockRestore();
    }
  });
});
