import { GenerateServiceLastAccessedDetailsCommand, GetServiceLastAccessedDetailsCommand, type IAMClient } from '@aws-sdk/client-iam';
import { auditBatch, type AuditBatchEvent, type AuditBatchResult, type BatchOutcome, type BatchProgress } from '../../lambda/core/audit-batch';
import { keys, type BatchFile, type EntityRef, type EntityReport, type RunInfo } from '../../lambda/core/model';
import { getJson, putJson, type ReportStore } from '../../lambda/core/store';
import { generateSampleAccount, loadAccount, ScaledClock, startEmulator, type EmulatorOptions, type RunningEmulator } from '../../local/emulator';
import { auditDeps, pipelineIam, tempStore } from '../helpers/core';
import { edgeAccount } from '../helpers/iam';

const account = edgeAccount();
const ACCOUNT = '111122223333';
const run: RunInfo = { runId: 'r1', runDate: '2026-11-25', granularity: 'SERVICE_LEVEL', unusedAfterDays: 90, startedAt: '2026-11-25T03:00:00.000Z' };
const ref = (name: string): EntityRef => {
  const e = account.entities.find((x) => x.name === name)!;
  return { arn: e.arn, type: e.type, name: e.name, path: e.path, id: e.id };
};
const LAMBDA_TIME = 15 * 60_000;

async function batchOf(store: ReportStore, names: string[]): Promise<AuditBatchEvent> {
  await putJson(store, keys.batch(run.runId, 'b00001'), { batchId: 'b00001', accountId: ACCOUNT, peers: 1, entities: names.map(ref) });
  return { run, batch: { batchId: 'b00001' }, attempt: 1 };
}

/** The outcomes the batch's invocations wrote for one attempt (an attempt may have run twice). */
async function outcomesOf(store: ReportStore, attempt: number): Promise<BatchOutcome[]> {
  const found = await store.list(keys.outcomesOf('r1', 'b00001'));
  const all = await Promise.all(found.map((key) => getJson<BatchOutcome>(store, key)));
  return all.filter((o) => o.attempt === attempt);
}

async function outcomeOf(store: ReportStore, attempt: number): Promise<BatchOutcome> {
  const found = await outcomesOf(store, attempt);
  expect(found).toHaveLength(1);
  return found[0];
}

describe('AuditBatch', () => {
  let emulator: RunningEmulator;
  // Fast enough to wait out job latencies, slow enough that real HTTP round trips stay small in simulated time.
  const clock = new ScaledClock(20);
  const start = (options: Partial<EmulatorOptions> = {}) => startEmulator({ account, clock, ...options }).then((e) => (emulator = e));
  afterEach(() => emulator?.close());

  it('generates, polls and reports a batch in one invocation, reading a 130-service result whole', async () => {
    await start();
    const store = tempStore();
    const event = await batchOf(store, ['alice', 'app-deployer', 'Developers']);
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const timersBefore = timers();
    const result = await auditBatch(auditDeps(pipelineIam(emulator.url), store, clock), event, LAMBDA_TIME);
    expect(result).toMatchObject({ done: true, leftoverKey: null, attempt: 1, counts: { reported: 3, skipped: 0, failed: 0, leftover: 0 } });
    // Its idle workers were woken when it ended, and cleared their timers: none lingers (they were set
    // for the deadline, minutes of simulated time away) to keep a process or a test worker alive.
    expect(timers()).toBeLessThanOrEqual(timersBefore);
    const deployer = await getJson<EntityReport>(store, keys.report('r1', ACCOUNT, 'role', 'app-deployer'));
    expect(deployer.services).toHaveLength(130);
    const outcome = await outcomeOf(store, 1);
    expect(outcome.reported.map((r) => r.arn).sort()).toEqual([ref('alice').arn, ref('app-deployer').arn, ref('Developers').arn].sort());
    expect(outcome.reported.find((r) => r.arn === ref('app-deployer').arn)!.key).toBe(keys.report('r1', ACCOUNT, 'role', 'app-deployer'));
    // One Generate and one Get per entity: the jobs had finished by the time they were looked at.
    expect(outcome.iamCalls).toEqual({ list: 0, generate: 3, get: 3, throttled: 0, retried: 0 });
    // When it worked, on IAM's clock: the next Plan orders accounts by how long their batches took.
    const [began, ended] = [Date.parse(outcome.startedAt!), Date.parse(outcome.endedAt!)];
    expect(ended).toBeGreaterThan(began);
    expect(ended).toBeLessThanOrEqual(clock.now());
  });

  /** Runs a batch's chain of invocations as the workflow does, until it is done; returns each result. */
  async function chain(deps: ReturnType<typeof auditDeps> | ((n: number) => ReturnType<typeof auditDeps>), first: AuditBatchEvent, remaining = LAMBDA_TIME) {
    const results: AuditBatchResult[] = [];
    let event: AuditBatchEvent = first;
    for (let n = 1; n <= 20; n++) {
      const result = await auditBatch(typeof deps === 'function' ? deps(n) : deps, event, remaining);
      results.push(result);
      if (result.done || result.attempt > result.batch.maxInvocations) return results;
      event = result;
    }
    throw new Error('the chain did not end');
  }

  it('hands a still-running job on from invocation to invocation, then fails it as JobTimedOut', async () => {
    await start();
    const store = tempStore();
    const deps = auditDeps(pipelineIam(emulator.url), store, clock, { pollBudgetMs: 20_000, maxAttempts: 3 });
    const results = await chain(deps, await batchOf(store, ['slow-role', 'alice']));
    const first = results[0];
    expect(first).toMatchObject({ done: false, attempt: 2, waitSeconds: 10, counts: { reported: 1, leftover: 1 } });
    expect(first.batch.maxInvocations).toBeGreaterThanOrEqual(5);
    expect(await getJson<BatchProgress>(store, first.leftoverKey!)).toEqual({
      next: 2,
      inFlight: [{ entity: ref('slow-role'), jobId: expect.any(String), reason: 'in-progress', handovers: 1, regenerations: 0, seenRunning: true, polls: expect.any(Number) }],
      learned: { list: expect.any(Number), generate: expect.any(Number), get: expect.any(Number) },
      // IAM throttled nothing: the rates handed over were never found to be what it admits.
      callRates: {},
    });
    // Handed over 3 times (maxAttempts), failed at the fourth: the wait doubles each time.
    expect(results.map((r) => r.waitSeconds)).toEqual([10, 20, 40, 10]);
    // After the Wait, the job is looked at once and, still running, left to the next Wait: its back-off
    // goes on from the first invocation's looks instead of starting again from 5 s.
    for (const attempt of [2, 3, 4]) expect((await outcomeOf(store, attempt)).iamCalls.get).toBe(1);
    expect(results).toHaveLength(4);
    expect(results[3]).toMatchObject({ done: true, leftoverKey: null, counts: { reported: 0, failed: 1, leftover: 0 } });
    const outcome = await outcomeOf(store, 4);
    expect(outcome.failed).toEqual([{ arn: ref('slow-role').arn, code: 'JobTimedOut', message: expect.stringContaining('after 4 invocations') }]);
    // The same credentials read the same job throughout: one Generate each.
    expect(emulator.stats().operations.GenerateServiceLastAccessedDetails.calls).toBe(2);
    expect(await store.list(`runs/r1/reports/${ACCOUNT}/role/`)).toEqual([]);
  });

  it('works through a batch larger than one invocation can, going on at once without a wait', async () => {
    await start();
    const store = tempStore();
    // Half a call a second and 20 s of work (10 s of it to start jobs): about 5 entities an invocation.
    const deps = auditDeps(pipelineIam(emulator.url), store, clock, { pollBudgetMs: 20_000 }, 0.5);
    const names = ['alice', 'jane.doe@example.com', 'ops+oncall=1,x-y_z', 'Developers', 'Empty.Group', 'app-deployer', 'lambda-action-role', 's3-read-access', 'ci-deploy-policy'];
    const results = await chain(deps, await batchOf(store, names));
    expect(results.length).toBeGreaterThan(1);
    expect(results.slice(0, -1).every((r) => r.waitSeconds === 0 && !r.done)).toBe(true);
    expect(results.at(-1)!.done).toBe(true);
    expect(results.reduce((n, r) => n + r.counts.reported, 0)).toBe(9);
    expect(emulator.stats().operations.GenerateServiceLastAccessedDetails.calls).toBe(9);
  });

  it('regenerates a job that IAM does not know under the next invocation\'s credentials', async () => {
    await start({ jobLatencyMs: 30_000 });
    const store = tempStore();
    const first = await auditBatch(
      auditDeps(pipelineIam(emulator.url, 'ASIAENVIRONMENTONE01'), store, clock, { pollBudgetMs: 15_000 }),
      await batchOf(store, ['alice']),
      LAMBDA_TIME,
    );
    expect(first.counts.leftover).toBe(1);
    expect((await getJson<BatchProgress>(store, first.leftoverKey!)).inFlight[0].jobId).toHaveLength(36);
    // The next invocation runs in another execution environment, with other session credentials.
    const second = await auditBatch(auditDeps(pipelineIam(emulator.url, 'ASIAENVIRONMENTTWO01'), store, clock), first, LAMBDA_TIME);
    expect(second).toMatchObject({ done: true, counts: { reported: 1, failed: 0 } });
    const ops = emulator.stats().operations;
    expect(ops.GenerateServiceLastAccessedDetails.calls).toBe(2);
    expect(ops.GetServiceLastAccessedDetails.errors).toBe(1);
    const report = await getJson<EntityReport>(store, keys.report('r1', ACCOUNT, 'user', 'alice'));
    expect(report.services.map((s) => s.serviceNamespace)).toEqual(['ec2', 's3', 'sts']);
  });

  it('regenerates a handed-over job whatever client error IAM answers for it, and never reads it as empty', async () => {
    await start({ jobLatencyMs: 30_000 });
    const store = tempStore();
    const first = await auditBatch(auditDeps(pipelineIam(emulator.url, 'ASIAENVIRONMENTONE01'), store, clock, { pollBudgetMs: 15_000 }), await batchOf(store, ['alice']), LAMBDA_TIME);
    expect(first.counts.leftover).toBe(1);
    // IAM's answer for another session's JobId is undocumented: here, AccessDenied.
    const real = pipelineIam(emulator.url, 'ASIAENVIRONMENTTWO01');
    let denied = 0;
    const iam = {
      send: (command: unknown) => {
        if (command instanceof GetServiceLastAccessedDetailsCommand && denied === 0) {
          denied++;
          return Promise.reject(Object.assign(new Error('not yours'), { name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } }));
        }
        return real.send(command as never);
      },
    } as unknown as IAMClient;
    const rest = await chain(auditDeps(iam, store, clock), first);
    expect(rest.at(-1)).toMatchObject({ done: true });
    expect(rest.reduce((n, r) => n + r.counts.reported, 0)).toBe(1);
    expect(denied).toBe(1);
    expect(emulator.stats().operations.GenerateServiceLastAccessedDetails.calls).toBe(2);
  });

  it('fails a job that outlives every session it is made in as JobTimedOut, not as unreadable', async () => {
    await start();
    const store = tempStore();
    // Every invocation runs in another execution environment, with other credentials: each hand-over
    // leaves the slow job's JobId unreadable, and the regenerated job starts IAM's work again.
    const deps = (n: number) => auditDeps(pipelineIam(emulator.url, `ASIAENVIRONMENT${String(n).padStart(5, '0')}`), store, clock, { pollBudgetMs: 20_000, maxAttempts: 6 });
    const results = await chain(deps, await batchOf(store, ['slow-role', 'alice']));
    expect(results.at(-1)).toMatchObject({ done: true, counts: { failed: 1 } });
    const failed = (await Promise.all(results.map((_, i) => outcomesOf(store, i + 1)))).flat().flatMap((o) => o.failed);
    expect(failed).toEqual([{ arn: ref('slow-role').arn, code: 'JobTimedOut', message: expect.stringContaining('2 regenerations') }]);
    // One job for alice; the first and two regenerated for the slow role.
    expect(emulator.stats().operations.GenerateServiceLastAccessedDetails.calls).toBe(4);
    expect(results.reduce((n, r) => n + r.counts.reported, 0)).toBe(1);
  });

  it('fails an entity as JobUnreadable when no session ever could read its jobs, running or not', async () => {
    await start({ jobLatencyMs: 30_000 });
    const store = tempStore();
    const real = pipelineIam(emulator.url);
    const iam = {
      send: (command: unknown) =>
        command instanceof GetServiceLastAccessedDetailsCommand
          ? Promise.reject(Object.assign(new Error('not yours'), { name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } }))
          : real.send(command as never),
    } as unknown as IAMClient;
    // A budget that the three jobs and their looks (some 15 s of simulated time) fit in many times over:
    // with a shorter one, a machine that stalls for a quarter of a second could push the last look past
    // the deadline, and a job handed over unread is rightly made again without counting, so the count
    // of Generates this test checks would be the machine's, not the bound's.
    const results = await chain(auditDeps(iam, store, clock, { pollBudgetMs: 120_000 }), await batchOf(store, ['alice']));
    expect(results).toHaveLength(1);
    const failed = (await Promise.all(results.map((_, i) => outcomesOf(store, i + 1)))).flat().flatMap((o) => o.failed);
    expect(failed).toEqual([{ arn: ref('alice').arn, code: 'JobUnreadable', message: expect.stringContaining('answered AccessDenied') }]);
    // The first job and maxRegenerations (2) more.
    expect(emulator.stats().operations.GenerateServiceLastAccessedDetails.calls).toBe(3);
  });

  it('makes a job handed over unread again without counting it against maxRegenerations, and counts one that was looked at', async () => {
    await start();
    // A job made in another session (another execution environment's credentials): this one may not read it.
    const { JobId } = await pipelineIam(emulator.url, 'ASIAENVIRONMENTONE01').send(new GenerateServiceLastAccessedDetailsCommand({ Arn: ref('alice').arn }));
    const handedOver = async (unread: boolean) => {
      const store = tempStore();
      const first = await batchOf(store, ['alice']);
      const leftoverKey = keys.leftovers(run.runId, 'b00001', 1, 'earlier');
      // Its regenerations already at maxRegenerations (2): a counted one more would fail it.
      const progress: BatchProgress = { next: 1, inFlight: [{ entity: ref('alice'), jobId: JobId!, reason: 'in-progress', handovers: 1, regenerations: 2, ...(unread ? { unread: true as const } : {}) }] };
      await putJson(store, leftoverKey, progress);
      const result = await auditBatch(auditDeps(pipelineIam(emulator.url, 'ASIAENVIRONMENTTWO01'), store, clock), { ...first, attempt: 2, leftoverKey }, LAMBDA_TIME);
      return { result, outcome: await outcomeOf(store, 2) };
    };
    const generatesBefore = emulator.stats().operations.GenerateServiceLastAccessedDetails.calls;
    // Unread: the refusal says nothing of the job; it is made again in this session, and reported.
    const unread = await handedOver(true);
    expect(unread.result).toMatchObject({ done: true, counts: { reported: 1, failed: 0 } });
    expect(emulator.stats().operations.GenerateServiceLastAccessedDetails.calls).toBe(generatesBefore + 1);
    // Looked at before the hand-over: the refusal counts, and the regenerations have run out.
    const looked = await handedOver(false);
    expect(looked.result).toMatchObject({ done: true, counts: { reported: 0, failed: 1 } });
    expect(looked.outcome.failed).toEqual([{ arn: ref('alice').arn, code: 'JobUnreadable', message: expect.stringContaining('after 2 regenerations') }]);
    expect(emulator.stats().operations.GenerateServiceLastAccessedDetails.calls).toBe(generatesBefore + 1);
  });

  it('fails only the entity whose COMPLETED answer is malformed (no JobCreationDate), and reports the others', async () => {
    await start();
    const store = tempStore();
    const real = pipelineIam(emulator.url);
    const malformed = ref('alice').arn;
    const jobs = new Map<string, string>();
    const iam = {
      send: async (command: { input: { Arn?: string; JobId?: string } }) => {
        const answer = (await real.send(command as never)) as unknown as Record<string, unknown>;
        if (command.input.Arn) jobs.set(answer.JobId as string, command.input.Arn);
        if (command instanceof GetServiceLastAccessedDetailsCommand && jobs.get(command.input.JobId!) === malformed && answer.JobStatus === 'COMPLETED') {
          return { ...answer, JobCreationDate: undefined };
        }
        return answer;
      },
    } as unknown as IAMClient;
    const result = await auditBatch(auditDeps(iam, store, clock), await batchOf(store, ['alice', 'Developers']), LAMBDA_TIME);
    expect(result).toMatchObject({ done: true, counts: { reported: 1, failed: 1 } });
    const outcome = await outcomeOf(store, 1);
    expect(outcome.failed).toEqual([{ arn: malformed, code: 'MalformedAnswer', message: expect.stringContaining('JobCreationDate') }]);
    expect(await store.list(`runs/r1/reports/${ACCOUNT}/user/`)).toEqual([]);
  });

  it('retries requests whose connection was reset, counts the retries, and loses no report', async () => {
    let n = 0;
    // Every third request loses its connection.
    await start({ resetConnections: 0.34, random: () => [0.9, 0.9, 0.1][n++ % 3] });
    const store = tempStore();
    const result = await auditBatch(auditDeps(pipelineIam(emulator.url), store, clock), await batchOf(store, ['alice', 'app-deployer', 'Developers', 'lambda-action-role']), LAMBDA_TIME);
    expect(result).toMatchObject({ done: true, counts: { reported: 4, failed: 0 } });
    const outcome = await outcomeOf(store, 1);
    expect(emulator.stats().resets).toBeGreaterThan(0);
    expect(outcome.iamCalls.retried).toBe(emulator.stats().resets);
  });

  it('skips a deleted entity and fails a FAILED job with its code, reporting neither', async () => {
    await start();
    const store = tempStore();
    const result = await auditBatch(auditDeps(pipelineIam(emulator.url), store, clock), await batchOf(store, ['deleted-user', 'failing-role']), LAMBDA_TIME);
    expect(result.counts).toEqual({ reported: 0, skipped: 1, failed: 1, leftover: 0 });
    const outcome = await outcomeOf(store, 1);
    expect(outcome.skipped).toEqual([{ arn: ref('deleted-user').arn, code: 'NoSuchEntity' }]);
    expect(outcome.failed).toEqual([{ arn: ref('failing-role').arn, code: 'JobFailed.ServiceFailure', message: expect.stringContaining('ServiceFailure') }]);
    expect(outcome.reported).toEqual([]);
    expect(await store.list('runs/')).toEqual([]);
  });

  it('keeps an entity IAM throttled out as a leftover, and fails it as Throttled, never unused', async () => {
    await start({ throttle: { rps: 1000, operations: { GenerateServiceLastAccessedDetails: { rps: 0.0001, burst: 1 } } } });
    const store = tempStore();
    const deps = auditDeps(pipelineIam(emulator.url), store, clock, { maxAttempts: 2, pollBudgetMs: 40_000 });
    const results = await chain(deps, await batchOf(store, ['alice', 'jane.doe@example.com']));
    expect(results[0]).toMatchObject({ done: false, counts: { reported: 1, leftover: 1 } });
    expect(await getJson<BatchProgress>(store, results[0].leftoverKey!)).toMatchObject({
      next: 2,
      inFlight: [{ entity: ref('jane.doe@example.com'), jobId: null, reason: 'throttled', handovers: 1, regenerations: 0 }],
    });
    const last = results.at(-1)!;
    expect(last).toMatchObject({ done: true, counts: { reported: 0, failed: 1 } });
    const outcome = await outcomeOf(store, last.attempt);
    expect(outcome.failed).toEqual([{ arn: ref('jane.doe@example.com').arn, code: 'Throttled', message: expect.any(String) }]);
    expect(outcome.iamCalls.throttled).toBeGreaterThan(0);
    expect(await store.list(`runs/r1/reports/${ACCOUNT}/user/`)).toEqual([keys.report('r1', ACCOUNT, 'user', 'alice')]);
  });

  it('stops starting jobs before its deadline, sees the started ones through, and hands on the rest', async () => {
    // At 5x: at 20x a stall of this machine of 0.25 s was 5 s of its 13, and a third job started.
    const slower = new ScaledClock(5);
    await start({ clock: slower });
    const store = tempStore();
    // 18 s left, 5 kept back: it works 13 s and starts jobs in the first 3 (10 s before the end, to
    // see them through); at half a call a second its Generates go at 0 and 2 s, and the third would be too late.
    const result = await auditBatch(auditDeps(pipelineIam(emulator.url), store, slower, {}, 0.5), await batchOf(store, ['alice', 'app-deployer', 'Developers', 'lambda-action-role']), 18_000);
    expect(result).toMatchObject({ done: false, waitSeconds: 0, counts: { reported: 2, failed: 0, leftover: 2 } });
    expect(await getJson<BatchProgress>(store, result.leftoverKey!)).toMatchObject({ next: 2, inFlight: [] });
  });

  /** A batch of every entity of a generated account, without faults but the first entity's slow job if asked, and the emulator serving it. */
  async function plainBatch(store: ReportStore, entities: number, options: Partial<EmulatorOptions>, firstIsSlow = false) {
    const file = generateSampleAccount({ entities, seed: 'looks', asOf: new Date('2026-11-25T00:00:00Z') });
    for (const e of file.entities) delete (e as { fault?: string }).fault;
    if (firstIsSlow) (file.entities[0] as { fault?: string }).fault = 'slow-job';
    const sample = loadAccount(file);
    emulator = await startEmulator({ account: sample, clock, recordCalls: true, ...options });
    const refs: EntityRef[] = sample.entities.map((e) => ({ arn: e.arn, type: e.type, name: e.name, path: e.path, id: e.id }));
    await putJson(store, keys.batch(run.runId, 'b00001'), { batchId: 'b00001', accountId: sample.accountId, peers: 1, entities: refs });
    const event: AuditBatchEvent = { run, batch: { batchId: 'b00001' }, attempt: 1 };
    return { first: sample.entities[0], event };
  }

  /** For each job, when it was generated and when each look at it went (ms of the emulator's clock), in the order generated. */
  function looksByJob(): Array<{ generatedAt: number; arn: string; looks: number[] }> {
    const jobs = new Map<string, { generatedAt: number; arn: string; looks: number[] }>();
    for (const c of emulator.calls()) {
      if (c.operation === 'GenerateServiceLastAccessedDetails' && c.jobId) jobs.set(c.jobId, { generatedAt: c.at, arn: c.arn!, looks: [] });
      if (c.operation === 'GetServiceLastAccessedDetails' && c.jobId && c.outcome !== 'Throttling') jobs.get(c.jobId)?.looks.push(c.at);
    }
    return [...jobs.values()].sort((a, b) => a.generatedAt - b.generatedAt);
  }

  it('starts no more jobs than its Gets can read when IAM admits fewer Gets than Generates, so a new session each invocation loses none', async () => {
    const store = tempStore();
    // IAM admits 4 Generates a second and 1 Get; every invocation runs in another execution environment
    // (another session), so a job handed over unread is unreadable and must be made again.
    // What the Gets can read is foreseen from the rate IAM answers them at: a stall of this machine is
    // simulated time in which nothing is read, so this test runs at 10x, where a stall of 0.25 s is 2.5 s.
    const slower = new ScaledClock(10);
    const { event } = await plainBatch(store, 60, {
      clock: slower,
      jobLatencyMs: 1_000,
      throttle: { rps: 1000, operations: { GenerateServiceLastAccessedDetails: { rps: 4, burst: 1 }, GetServiceLastAccessedDetails: { rps: 1, burst: 1 } } },
    });
    const deps = (n: number) => ({
      ...auditDeps(pipelineIam(emulator.url, `ASIAENVIRONMENT${String(n).padStart(5, '0')}`), store, slower, { pollBudgetMs: 20_000, safetyMarginMs: 20_000 }),
      pacing: { callsPerSecond: 20, learned: { list: 20, generate: 4, get: 1 } },
    });
    const results = await chain(deps, event);
    expect(results.at(-1)).toMatchObject({ done: true });
    // Summed over the chain, with the failures' codes: a miss says what became of the identities.
    const outcomes = await Promise.all((await store.list(keys.outcomesOf(run.runId, 'b00001'))).map((key) => getJson<BatchOutcome>(store, key)));
    expect({ reported: results.reduce((n, r) => n + r.counts.reported, 0), failed: outcomes.flatMap((o) => o.failed.map((f) => `${f.code}: ${f.message}`)) }).toEqual({ reported: 60, failed: [] });
    // A job left unread at a hand-over is made again: few are, because no job is started that the Gets
    // could not read before the deadline (a Get may still wait on its slot while IAM throttles).
    const generates = emulator.stats().operations.GenerateServiceLastAccessedDetails;
    expect(generates.calls - generates.throttled).toBeLessThanOrEqual(60 + results.length);
  });

  it('starts from the rates its batch file carries from the last run, not a guess to probe up from, and says the rates it found', async () => {
    const store = tempStore();
    // IAM admits 5 Generates a second. The last run found 4.5 in this account; a first guess would be
    // 2 a second (a tenth of the ceiling), growing by half each second until IAM throttled it.
    // A clock ten times slower than the others': the calls whose slots a stall of this machine passes
    // go together when it ends, and IAM's burst of 5 admits them only if the stall was short in
    // simulated time (at 20x one of 50 ms bunched a second's calls; at 5x one of 0.25 s throttled).
    const slower = new ScaledClock(2);
    const { event } = await plainBatch(store, 40, { clock: slower, jobLatencyMs: 500, throttle: { rps: 1000, operations: { GenerateServiceLastAccessedDetails: { rps: 5, burst: 5 } } } });
    const key = keys.batch(run.runId, 'b00001');
    await putJson(store, key, { ...(await getJson<BatchFile>(store, key)), learned: { generate: 4.5, get: 20 } } satisfies BatchFile);
    const deps = { ...auditDeps(pipelineIam(emulator.url), store, slower), pacing: { callsPerSecond: 20 } };
    const result = await auditBatch(deps, event, LAMBDA_TIME);
    expect(result).toMatchObject({ done: true, counts: { reported: 40, failed: 0 } });
    expect(emulator.stats().operations.GenerateServiceLastAccessedDetails).toMatchObject({ calls: 40, throttled: 0 });
    const [outcomeKey] = await store.list(keys.outcomesOf(run.runId, 'b00001'));
    const { callRates } = await getJson<BatchOutcome>(store, outcomeKey);
    expect(Object.keys(callRates!).sort()).toEqual(['generate', 'get']);
    expect(callRates!.generate).toBeGreaterThanOrEqual(4.5);
    expect(callRates!.generate).toBeLessThan(5.5);
  });

  it('makes no Get whose pacer slot falls after half its safety margin, so an invocation ends on time however hard IAM throttles', async () => {
    const store = tempStore();
    // IAM admits a Get every 4 s, and the pacer starts at 1 a second: it is throttled down to slots seconds apart.
    // The last Get's slot may be at 25 s, so the bound below leaves 900 ms for it to reach IAM: at 20x 300
    // ms were 15 ms of this machine's time, and under a clean-clone run's load Gets came 40 ms (simulated)
    // after a slot at 25 s. At 2x it is 450 ms, a stall of this machine it survives (it failed with 300 ms
    // and stalls of 0.4 s, scripts/with-stalls.sh); with the limit taken out the last Get came at 26.7 s.
    const slower = new ScaledClock(2);
    const { event } = await plainBatch(store, 30, {
      clock: slower,
      jobLatencyMs: 500,
      throttle: { rps: 1000, operations: { GetServiceLastAccessedDetails: { rps: 0.25, burst: 1 } } },
    });
    const settings = { pollBudgetMs: 20_000, safetyMarginMs: 10_000 };
    const deps = { ...auditDeps(pipelineIam(emulator.url), store, slower, settings), pacing: { callsPerSecond: 20, learned: { list: 20, generate: 20, get: 1 } } };
    const started = slower.now();
    const result = await auditBatch(deps, event, LAMBDA_TIME);
    const ended = slower.now();
    expect(result.done).toBe(false);
    // The deadline is 20 s after the start, and looks queued before it may go until 25 s (half the margin).
    // Without that limit, looks queued seconds apart held this invocation until 27 s (26.7 s, 7361a02).
    const lastGet = Math.max(...emulator.calls().filter((c) => c.operation === 'GetServiceLastAccessedDetails').map((c) => c.at));
    expect(lastGet - started).toBeLessThanOrEqual(25_900);
    expect(ended - started).toBeLessThan(26_500);
    // What was not read is handed over with its JobId, for the next invocation to read.
    const progress = await getJson<BatchProgress>(store, result.leftoverKey!);
    expect(progress.inFlight.length).toBeGreaterThan(0);
    expect(result.counts.reported + result.counts.leftover).toBe(30);
  });

  it('looks at a job first when most jobs read so far were done, not after the whole poll interval', async () => {
    const store = tempStore();
    // Jobs of 1.5 s, a poll interval of 5 s; IAM admits two Generates a second and many more Gets, so
    // that Gets do not queue behind one another.
    // A clock ten times slower than the others': the bound below is 0.85 s of simulated time over the
    // expected wait, which at 20x is 42 ms of real time, and at 5x was 170 ms, less than a loaded machine
    // stalled once in a clean-clone run (a look 2,665 ms after its Generate); at 2x it is 425 ms.
    const slower = new ScaledClock(2);
    const { event } = await plainBatch(store, 30, { clock: slower, jobLatencyMs: 1_500, throttle: { rps: 1000, operations: { GenerateServiceLastAccessedDetails: { rps: 2, burst: 1 } } } });
    const deps = { ...auditDeps(pipelineIam(emulator.url), store, slower), pacing: { callsPerSecond: 20, learned: { list: 20, generate: 2, get: 20 } } };
    const result = await auditBatch(deps, event, LAMBDA_TIME);
    expect(result).toMatchObject({ done: true, counts: { failed: 0 } });
    const jobs = looksByJob();
    expect(jobs.length).toBeGreaterThanOrEqual(25);
    // Every job read with one look: none was looked at before it was done.
    expect(jobs.every((j) => j.looks.length === 1)).toBe(true);
    const waited = jobs.map((j) => j.looks[0] - j.generatedAt);
    // Before ten jobs were read, the first look waits the poll interval; once they were, about 1.75 s.
    expect(waited[0]).toBeGreaterThanOrEqual(5_000);
    for (const w of waited.slice(-10)) expect(w).toBeLessThan(2_600);
  });

  it('reads a slow job within a second or so of its end once every entity has its job', async () => {
    const store = tempStore();
    // 12 entities at ten Generates a second; the first one's job takes 13 s, the others' 1 s. At 20x its
    // looks went 1.1 to 1.7 s apart under a clean-clone run's load, read as late as 14,180 ms: 21 ms of this
    // machine's time within the bound. At 4x that is five times as much, and each look's round trip counts less.
    const slower = new ScaledClock(4);
    const { first, event } = await plainBatch(store, 12, { clock: slower, jobLatencyMs: 1_000, slowJobLatencyMs: 13_000 }, true);
    const result = await auditBatch(auditDeps(pipelineIam(emulator.url), store, slower, {}, 10), event, LAMBDA_TIME);
    expect(result).toMatchObject({ done: true, counts: { failed: 0 } });
    const slow = looksByJob().find((j) => j.arn === first.arn)!;
    // Backing off as before, its looks would go at 5, 12.5 and 23.75 s; the last came soon after 13 s.
    const read = slow.looks.at(-1)! - slow.generatedAt;
    expect(read).toBeGreaterThanOrEqual(13_000);
    expect(read).toBeLessThan(14_600);
  });

  it('backs off from a job of minutes in the tail as before, and leaves it to the workflow\'s Wait', async () => {
    const store = tempStore();
    const { first, event } = await plainBatch(store, 12, { jobLatencyMs: 1_000, slowJobLatencyMs: 400_000 }, true);
    const result = await auditBatch(auditDeps(pipelineIam(emulator.url), store, clock, { pollBudgetMs: 200_000 }, 10), event, LAMBDA_TIME);
    const slow = looksByJob().find((j) => j.arn === first.arn)!;
    // Looked at every second only while younger than a minute; then the invocation handed it back.
    expect(slow.looks.length).toBeGreaterThan(20);
    expect(slow.looks.length).toBeLessThanOrEqual(64);
    expect(result).toMatchObject({ done: false, counts: { reported: 11, leftover: 1 } });
    expect(result.waitSeconds).toBeGreaterThan(0);
  });

  it('fails what is left on the last invocation of the chain, started or not', async () => {
    await start();
    const store = tempStore();
    const event = await batchOf(store, ['slow-role', 'alice', 'Developers']);
    // One call every 10 s and 25 s of work, starting jobs in the first 15: Generates at 0 and 10 s, and the third never.
    const result = await auditBatch(auditDeps(pipelineIam(emulator.url), store, clock, { pollBudgetMs: 25_000 }, 0.1), { ...event, attempt: 7, batch: { ...event.batch, maxInvocations: 7 } }, LAMBDA_TIME);
    expect(result.done).toBe(true);
    const outcome = await outcomeOf(store, 7);
    expect(outcome.failed.map((f) => f.code).sort()).toEqual(['JobTimedOut', 'NotStarted']);
    expect(outcome.reported.map((r) => r.arn)).toEqual([ref('alice').arn]);
  });
});
