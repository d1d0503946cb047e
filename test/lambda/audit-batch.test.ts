import { auditBatch, type AuditBatchEvent, type BatchOutcome, type Leftover } from '../../lambda/core/audit-batch';
import { keys, type EntityRef, type EntityReport, type RunInfo } from '../../lambda/core/model';
import { getJson, putJson, type ReportStore } from '../../lambda/core/store';
import { ScaledClock, startEmulator, type EmulatorOptions, type RunningEmulator } from '../../local/emulator';
import { auditDeps, pipelineIam, tempStore } from '../helpers/core';
import { edgeAccount } from '../helpers/iam';

const account = edgeAccount();
const run: RunInfo = { runId: 'r1', runDate: '2026-11-25', accountId: '111122223333', granularity: 'SERVICE_LEVEL', unusedAfterDays: 90, startedAt: '2026-11-25T03:00:00.000Z' };
const ref = (name: string): EntityRef => {
  const e = account.entities.find((x) => x.name === name)!;
  return { arn: e.arn, type: e.type, name: e.name, path: e.path, id: e.id };
};
const LAMBDA_TIME = 15 * 60_000;

async function batchOf(store: ReportStore, names: string[]): Promise<AuditBatchEvent> {
  const key = keys.batch(run.runId, 'b00001');
  await putJson(store, key, names.map(ref));
  return { run, batch: { batchId: 'b00001', key, size: names.length }, attempt: 1 };
}

describe('AuditBatch', () => {
  let emulator: RunningEmulator;
  // Fast enough to wait out job latencies, slow enough that real HTTP round trips stay small in simulated time.
  const clock = new ScaledClock(100);
  const start = (options: Partial<EmulatorOptions> = {}) => startEmulator({ account, clock, ...options }).then((e) => (emulator = e));
  afterEach(() => emulator?.close());

  it('generates, polls and reports a batch in one invocation, reading a 130-service result whole', async () => {
    await start();
    const store = tempStore();
    const event = await batchOf(store, ['alice', 'app-deployer', 'Developers']);
    const result = await auditBatch(auditDeps(pipelineIam(emulator.url), store, clock), event, LAMBDA_TIME);
    expect(result).toMatchObject({ done: true, leftoverKey: null, attempt: 1, counts: { reported: 3, skipped: 0, failed: 0, leftover: 0 } });
    const deployer = await getJson<EntityReport>(store, keys.report('r1', 'role', 'app-deployer'));
    expect(deployer.services).toHaveLength(130);
    const outcome = await getJson<BatchOutcome>(store, keys.outcome('r1', 'b00001', 1));
    expect(outcome.reported.map((r) => r.arn)).toEqual([ref('alice').arn, ref('app-deployer').arn, ref('Developers').arn]);
    expect(outcome.rows).toHaveLength(3 + 130 + 2);
    // One Generate and one Get per entity: the jobs had finished by the time they were looked at.
    expect(outcome.iamCalls).toEqual({ list: 0, generate: 3, get: 3, throttled: 0 });
  });

  it('hands a still-running job back as a leftover, then fails it as JobTimedOut on the last attempt', async () => {
    await start();
    const store = tempStore();
    const deps = auditDeps(pipelineIam(emulator.url), store, clock, { pollBudgetMs: 20_000, maxAttempts: 3 });
    let event: AuditBatchEvent = await batchOf(store, ['slow-role', 'alice']);
    const first = await auditBatch(deps, event, LAMBDA_TIME);
    expect(first).toMatchObject({ done: false, attempt: 2, waitSeconds: 10, counts: { reported: 1, leftover: 1 } });
    const leftovers = await getJson<Leftover[]>(store, first.leftoverKey!);
    expect(leftovers).toEqual([{ entity: ref('slow-role'), jobId: expect.any(String), reason: 'in-progress' }]);
    event = first;
    const second = await auditBatch(deps, event, LAMBDA_TIME);
    expect(second).toMatchObject({ done: false, attempt: 3, waitSeconds: 20 });
    // The same credentials read the same job: no new Generate for the leftover.
    expect(emulator.stats().operations.GenerateServiceLastAccessedDetails.calls).toBe(2);
    const last = await auditBatch(deps, second, LAMBDA_TIME);
    expect(last).toMatchObject({ done: true, leftoverKey: null, attempt: 3, counts: { reported: 0, failed: 1, leftover: 0 } });
    const outcome = await getJson<BatchOutcome>(store, keys.outcome('r1', 'b00001', 3));
    expect(outcome.failed).toEqual([{ arn: ref('slow-role').arn, code: 'JobTimedOut', message: expect.stringContaining('still IN_PROGRESS') }]);
    expect(await store.list('runs/r1/reports/role/')).toEqual([]);
  });

  it('regenerates a job that IAM does not know under the next invocation\'s credentials', async () => {
    await start({ jobLatencyMs: 30_000 });
    const store = tempStore();
    const first = await auditBatch(
      auditDeps(pipelineIam(emulator.url, 'ASIAENVIRONMENTONE01'), store, clock, { pollBudgetMs: 5_000 }),
      await batchOf(store, ['alice']),
      LAMBDA_TIME,
    );
    expect(first.counts.leftover).toBe(1);
    // The next invocation runs in another execution environment, with other session credentials.
    const second = await auditBatch(auditDeps(pipelineIam(emulator.url, 'ASIAENVIRONMENTTWO01'), store, clock), first, LAMBDA_TIME);
    expect(second).toMatchObject({ done: true, counts: { reported: 1, failed: 0 } });
    const ops = emulator.stats().operations;
    expect(ops.GenerateServiceLastAccessedDetails.calls).toBe(2);
    expect(ops.GetServiceLastAccessedDetails.errors).toBe(1);
    const report = await getJson<EntityReport>(store, keys.report('r1', 'user', 'alice'));
    expect(report.services.map((s) => s.serviceNamespace)).toEqual(['ec2', 's3', 'sts']);
  });

  it('skips a deleted entity and fails a FAILED job with its code, reporting neither', async () => {
    await start();
    const store = tempStore();
    const result = await auditBatch(auditDeps(pipelineIam(emulator.url), store, clock), await batchOf(store, ['deleted-user', 'failing-role']), LAMBDA_TIME);
    expect(result.counts).toEqual({ reported: 0, skipped: 1, failed: 1, leftover: 0 });
    const outcome = await getJson<BatchOutcome>(store, keys.outcome('r1', 'b00001', 1));
    expect(outcome.skipped).toEqual([{ arn: ref('deleted-user').arn, code: 'NoSuchEntity' }]);
    expect(outcome.failed).toEqual([{ arn: ref('failing-role').arn, code: 'JobFailed.ServiceFailure', message: expect.stringContaining('ServiceFailure') }]);
    expect(outcome.rows).toEqual([]);
    expect(await store.list('runs/')).toEqual([]);
  });

  it('keeps an entity IAM throttled out as a leftover, and fails it as Throttled, never unused, on the last attempt', async () => {
    await start({ throttle: { rps: 1000, operations: { GenerateServiceLastAccessedDetails: { rps: 0.0001, burst: 1 } } } });
    const store = tempStore();
    const deps = auditDeps(pipelineIam(emulator.url), store, clock, { maxAttempts: 2, pollBudgetMs: 40_000 });
    const first = await auditBatch(deps, await batchOf(store, ['alice', 'jane.doe@example.com']), LAMBDA_TIME);
    expect(first).toMatchObject({ done: false, counts: { reported: 1, leftover: 1 } });
    expect(await getJson<Leftover[]>(store, first.leftoverKey!)).toEqual([{ entity: ref('jane.doe@example.com'), jobId: null, reason: 'throttled' }]);
    const last = await auditBatch(deps, first, LAMBDA_TIME);
    expect(last).toMatchObject({ done: true, counts: { reported: 0, failed: 1 } });
    const outcome = await getJson<BatchOutcome>(store, keys.outcome('r1', 'b00001', 2));
    expect(outcome.failed).toEqual([{ arn: ref('jane.doe@example.com').arn, code: 'Throttled', message: expect.any(String) }]);
    expect(outcome.iamCalls.throttled).toBeGreaterThan(0);
    expect(await store.list('runs/r1/reports/user/')).toEqual(['runs/r1/reports/user/alice.json']);
  });

  it('stops before the Lambda timeout and hands back everything not yet settled', async () => {
    await start();
    const store = tempStore();
    // 10 simulated seconds left, 5 kept back for writing: only part of the batch can be generated.
    const result = await auditBatch(auditDeps(pipelineIam(emulator.url), store, clock, {}, 0.5), await batchOf(store, ['alice', 'app-deployer', 'Developers', 'lambda-action-role']), 10_000);
    expect(result.done).toBe(false);
    expect(result.counts.leftover).toBeGreaterThan(0);
    const leftovers = await getJson<Leftover[]>(store, result.leftoverKey!);
    expect(leftovers.length + result.counts.reported).toBe(4);
  });
});
