/**
 * The fault matrix: each case runs the synthesized workflow locally under one fault and checks that
 * nothing that could be reported is lost and nothing unknown is called unused. The 10,000- and
 * 25,000-identity cases run in the benchmark (`npm run bench`), which takes minutes.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { keys, type EntityReport, type LatestPointer, type RunSummary } from '../../lambda/core/model';
import { S3ReportStore } from '../../lambda/core/store';
import { generateSampleAccount, loadAccount, prng, type Account, type Fault } from '../../local/emulator';
import { runLocal, type LocalRunOptions } from '../../local/runner/run-local';
import { expectNothingLostNothingInvented, interruptAfterReports, readJson, reportKey, reportsWritten } from '../helpers/expectations';
import { run as runProcess, runWatched } from '../helpers/processes';
import { edgeAccount, FAST_SETTINGS } from '../helpers/iam';
import { startFlakyProxy } from '../helpers/flaky-proxy';
import { startMoto } from '../helpers/moto';
import { pageDataOf } from '../helpers/report-page';
import { tempDir } from '../helpers/temp';

const RUN_TIMEOUT = 180_000;

const CLI = join(__dirname, '..', '..', 'bin', 'iam-access-audit.cjs');

/** A generated account file without service-linked roles, every `faultEvery`-th entity given `fault` (all when 1; none without a fault). */
function accountFile(entities: number, fault?: Fault, faultEvery = 1) {
  const file = generateSampleAccount({ entities, seed: 'faults', asOf: new Date() });
  const kept = file.entities.filter((e) => !e.path?.startsWith('/aws-service-role/'));
  return { ...file, entities: kept.map(({ fault: _, ...rest }, i) => (fault && i % faultEvery === 0 ? { ...rest, fault } : rest)) };
}

function account(entities: number, fault?: Fault, faultEvery = 1): Account {
  return loadAccount(accountFile(entities, fault, faultEvery));
}

async function audit(acct: Account, options: Partial<LocalRunOptions> = {}) {
  const dir = tempDir('faults-');
  const result = await runLocal({ account: acct, outDir: dir, timeScale: 200, ...options, settings: { ...FAST_SETTINGS, ...options.settings } });
  return { dir, result };
}

describe('fault matrix', () => {
  it('sustained throttling on Generate: slows down, retries, counts every throttle, loses nothing', async () => {
    const acct = account(24);
    const { dir, result } = await audit(acct, { emulator: { throttle: { rps: 1000, operations: { GenerateServiceLastAccessedDetails: { rps: 0.3, burst: 1 } } } } });
    expect(result.status).toBe('SUCCEEDED');
    const summary = result.summary!;
    expect(summary.iamCalls.throttled).toBe(result.stats.emulator!.totals.throttled);
    expect(summary.iamCalls.throttled).toBeGreaterThan(0);
    expectNothingLostNothingInvented(dir, result, acct);
    for (const f of summary.failures) expect(['Throttled', 'NotStarted']).toContain(f.code);
    expect(summary.entities.reported).toBeGreaterThan(0);
  }, RUN_TIMEOUT);

  it('sustained throttling on Get: keeps the jobs, reads them later, loses nothing', async () => {
    const acct = account(24);
    const { dir, result } = await audit(acct, { emulator: { throttle: { rps: 1000, operations: { GetServiceLastAccessedDetails: { rps: 0.3, burst: 1 } } } } });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.summary!.iamCalls.throttled).toBeGreaterThan(0);
    expectNothingLostNothingInvented(dir, result, acct);
    for (const f of result.summary!.failures) expect(['JobTimedOut', 'Throttled', 'NotStarted']).toContain(f.code);
    expect(result.summary!.entities.reported).toBeGreaterThan(0);
  }, RUN_TIMEOUT);

  it('jobs that stay IN_PROGRESS past every budget: JobTimedOut, never a report, and the run is INCOMPLETE', async () => {
    const acct = account(12, 'slow-job');
    const { dir, result } = await audit(acct);
    expect(result.status).toBe('FAILED');
    expect(result.error!.Error).toBe('AuditIncomplete');
    expect(result.summary!.status).toBe('INCOMPLETE');
    expectNothingLostNothingInvented(dir, result, acct);
    expect(result.summary!.failures.map((f) => f.code)).toEqual(Array(acct.entities.length).fill('JobTimedOut'));
  }, RUN_TIMEOUT);

  it('FAILED jobs: failures with IAM\'s code, never a report', async () => {
    const acct = account(12, 'job-fails');
    const { dir, result } = await audit(acct);
    expect(result.summary!.status).toBe('INCOMPLETE');
    expectNothingLostNothingInvented(dir, result, acct);
    expect(result.summary!.failures.map((f) => f.code)).toEqual(Array(acct.entities.length).fill('JobFailed.ServiceFailure'));
  }, RUN_TIMEOUT);

  it('identities deleted after listing: skipped, not failed', async () => {
    const acct = account(12, 'deleted-before-generate');
    const { dir, result } = await audit(acct);
    expectNothingLostNothingInvented(dir, result, acct);
    expect(result.summary!.entities).toMatchObject({ reported: 0, failed: 0, skipped: acct.entities.length });
    expect(result.summary!.skipped.every((s) => s.code === 'NoSuchEntity')).toBe(true);
  }, RUN_TIMEOUT);

  it('credentials rotated between invocations: jobs IAM no longer knows are regenerated and reported', async () => {
    const acct = account(30);
    // 8 s jobs, a call a second per batch and 20 s invocations: the jobs started late in an invocation
    // are handed over, each time to a new environment. The default six hand-overs, not the fast three:
    // at this time scale a machine three times slower (a loaded CI runner) spends three invocations'
    // budgets on one job and rightly calls it JobTimedOut; six held at five times slower.
    const { dir, result } = await audit(acct, {
      timeScale: 20,
      freshEnvironments: true,
      emulator: { jobLatencyMs: 8_000 },
      settings: { maxAttempts: 6, iamCallsPerSecond: 5, pollBudgetSeconds: 20 },
    });
    expect(result.status).toBe('SUCCEEDED');
    expectNothingLostNothingInvented(dir, result, acct);
    expect(result.summary!.failures).toEqual([]);
    expect(result.summary!.entities.reported).toBe(acct.entities.length);
    const ops = result.stats.emulator!.operations;
    expect(ops.GetServiceLastAccessedDetails.errors).toBeGreaterThan(0);
    expect(ops.GenerateServiceLastAccessedDetails.calls).toBeGreaterThan(acct.entities.length);
  }, RUN_TIMEOUT);

  it('a Propose that fails every attempt leaves the audit standing: COMPLETED, no proposals, the report page written', async () => {
    const acct = account(12);
    const { dir, result } = await audit(acct, {
      beforeInvoke: (fn) => {
        if (fn.logicalId.startsWith('AuditPropose')) throw new Error('Propose is down');
      },
    });
    expect(result.status).toBe('SUCCEEDED');
    expectNothingLostNothingInvented(dir, result, acct);
    expect(result.summary!.status).toBe('COMPLETED');
    expect(result.summary!.proposals.count).toBe(0);
    expect(existsSync(join(dir, 'runs', result.runId, 'proposals', 'index.json'))).toBe(false);
    expect(existsSync(join(dir, 'runs', result.runId, 'report.html'))).toBe(true);
    expect(readJson<LatestPointer>(dir, 'latest.json').runId).toBe(result.runId);
    // Its count of 0 is not "nothing to propose": the run's message says none were made, and the page knows it.
    const notes = readFileSync(join(dir, '.logs', 'notifications.jsonl'), 'utf8');
    expect(notes).toContain('; no proposals were made: Propose did not run to its end (its log says why)');
    expect(pageDataOf(readFileSync(join(dir, 'runs', result.runId, 'report.html'), 'utf8')).proposalsMade).toBe(false);
  }, RUN_TIMEOUT);

  it('a Lambda invocation that dies mid-batch is retried: no report missing, none twice', async () => {
    const acct = account(40);
    const dir = tempDir('faults-');
    let writtenWhenKilled = 0;
    // One batch: its first invocation dies once it has written 5 reports.
    const result = await runLocal({
      account: acct,
      outDir: dir,
      timeScale: 50,
      settings: { ...FAST_SETTINGS, maxConcurrency: 1, iamCallsPerSecond: 5 },
      beforeInvoke: (fn, invocation) => {
        if (!fn.logicalId.startsWith('AuditAuditBatch') || invocation !== 1) return undefined;
        return {
          killWhen: () => {
            writtenWhenKilled = reportsWritten(dir);
            return writtenWhenKilled >= 5;
          },
        };
      },
    });
    expect(writtenWhenKilled).toBeGreaterThanOrEqual(5);
    expect(writtenWhenKilled).toBeLessThan(acct.entities.length);
    expect(result.status).toBe('SUCCEEDED');
    const auditBatch = Object.entries(result.stats.lambdaInvocations).find(([id]) => id.startsWith('AuditAuditBatch'))![1];
    expect(auditBatch).toBeGreaterThanOrEqual(2);
    // The retry started the batch again: the entities reported before the crash were generated twice.
    expect(result.stats.emulator!.operations.GenerateServiceLastAccessedDetails.calls).toBeGreaterThanOrEqual(acct.entities.length + 5);
    const { reported } = expectNothingLostNothingInvented(dir, result, acct);
    expect(reported).toHaveLength(acct.entities.length);
  }, RUN_TIMEOUT);

  it('an S3 write that fails once is retried: every report is in the bucket', async () => {
    const moto = await startMoto();
    const proxy = await startFlakyProxy(moto.url, (method, path) => method === 'PUT' && path.includes('/runs/') && path.includes('/reports/'));
    const s3 = new S3Client({ endpoint: moto.url, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'flaky' }));
      const acct = edgeAccount();
      const { result } = await audit(acct, { s3: { endpoint: proxy.url, bucket: 'flaky' } });
      expect(result.status).toBe('SUCCEEDED');
      expect(proxy.failed).toHaveLength(1);
      // Bring the bucket home and check it as a local run's directory.
      const copy = tempDir('flaky-copy-');
      const store = new S3ReportStore(s3, 'flaky');
      for (const key of await store.list('')) {
        mkdirSync(dirname(join(copy, key)), { recursive: true });
        writeFileSync(join(copy, key), await store.get(key));
      }
      const { reported } = expectNothingLostNothingInvented(copy, result, acct);
      expect(reported).toHaveLength(9);
    } finally {
      s3.destroy();
      await proxy.close();
      await moto.stop();
    }
  }, RUN_TIMEOUT);

  it('an account with no identities: a complete, empty run', async () => {
    const acct = loadAccount({ accountId: '123456789012', entities: [] });
    const { dir, result } = await audit(acct);
    expect(result.status).toBe('SUCCEEDED');
    expect(result.summary!.entities).toEqual({ listed: 0, reported: 0, skipped: 0, failed: 0, byType: { user: 0, group: 0, role: 0, policy: 0 } });
    expect(readJson<LatestPointer>(dir, keys.latest()).runId).toBe(result.runId);
    // Plan (its start, its one account's listing, its batches), Propose (nothing to propose) and Summarize
    // (its gather and its finish) ran; there was no batch to audit. The alarms' function is no part of the workflow.
    const invoked = Object.entries(result.stats.lambdaInvocations).map(([id, n]) => [id.replace(/(Function)?[0-9A-F]{8}$/, ''), n]);
    expect(Object.fromEntries(invoked)).toEqual({ AuditPlan: 3, AuditAuditBatch: 0, AuditPropose: 1, AuditSummarize: 2, AlarmsNotify: 0 });
    expect(result.summary!.proposals.count).toBe(0);
    expect(result.stats.emulator!.operations.GenerateServiceLastAccessedDetails.calls).toBe(0);
  }, RUN_TIMEOUT);

  it("a function's log that cannot be written (a full disk, a directory in its place) ends nothing: the run completes and says which log", async () => {
    const acct = account(8);
    const { dir, result: first } = await audit(acct);
    expect(first.logTrouble).toBeNull();
    const batchLog = join(dir, '.logs', `${Object.keys(first.stats.lambdaInvocations).find((id) => id.includes('AuditBatch'))}.log`);
    rmSync(batchLog);
    mkdirSync(batchLog);
    const result = await runLocal({ account: acct, outDir: dir, timeScale: 200, settings: FAST_SETTINGS });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.logTrouble).toMatch(new RegExp(`^\\.logs/${basename(batchLog).replace('.', '\\.')} could not be written \\(EISDIR: `));
    expectNothingLostNothingInvented(dir, result, acct);
  }, RUN_TIMEOUT);

  it('a batch whose every invocation dies after writing reports: the written reports count, the rest fail, the run is INCOMPLETE', async () => {
    const acct = account(30);
    const dir = tempDir('faults-');
    const result = await runLocal({
      account: acct,
      outDir: dir,
      timeScale: 50,
      settings: { ...FAST_SETTINGS, maxConcurrency: 1, iamCallsPerSecond: 5 },
      // Every AuditBatch invocation dies once 4 reports exist: the batch is abandoned after its retries.
      beforeInvoke: (fn) => (fn.logicalId.startsWith('AuditAuditBatch') ? { killWhen: () => reportsWritten(dir) >= 4 } : undefined),
    });
    expect(result.status).toBe('FAILED');
    expect(result.error!.Error).toBe('AuditIncomplete');
    const summary = result.summary!;
    expect(summary.status).toBe('INCOMPLETE');
    expect(summary.entities.reported).toBeGreaterThanOrEqual(4);
    expect(summary.failures.every((f) => f.code === 'BatchFailed')).toBe(true);
    // The workflow recorded the error that ended the batch, and each failure names it.
    expect(summary.failures.every((f) => f.message.startsWith('the audit of batch b00001 failed before this entity was settled: Runtime.ExitError: '))).toBe(true);
    // The reports the dead invocations wrote are the run's reported set, with one row per entity and service.
    const { reported, rows } = expectNothingLostNothingInvented(dir, result, acct);
    expect(rows).toHaveLength(reported.reduce((n, e) => n + e.services.length, 0));
  }, RUN_TIMEOUT);

  it('connections reset on 5% of requests: retried and counted, and the reports equal a clean run\'s', async () => {
    const acct = account(40);
    // At 50x, not 200x: a stall of the machine becomes simulated time, and at 200x a clean-clone CI once
    // found an entity without a report here (a job timed out by a stall, most likely; the failures were
    // not shown, which the check below now does).
    const clean = await audit(acct, { timeScale: 50 });
    // Seeded: its 5th, 8th and 11th draws reset a request, so some are always reset (Math.random once reset none).
    const flaky = await audit(acct, { timeScale: 50, emulator: { resetConnections: 0.05, random: prng('faults') } });
    for (const { dir, result } of [clean, flaky]) {
      expect(result.status).toBe('SUCCEEDED');
      expectNothingLostNothingInvented(dir, result, acct);
      // Every entity reported, each failure named if one is not.
      expect(result.summary!.failures).toEqual([]);
    }
    expect(flaky.result.stats.emulator!.resets).toBeGreaterThan(0);
    expect(flaky.result.summary!.iamCalls.retried).toBe(flaky.result.stats.emulator!.resets);
    expect(clean.result.summary!.iamCalls.retried).toBe(0);
    const content = (dir: string, runId: string) =>
      acct.entities.map((e) => {
        const r = readJson<EntityReport>(dir, reportKey(runId, e));
        return { entity: r.entity, services: r.services, granted: r.findings.servicesGranted };
      });
    expect(content(flaky.dir, flaky.result.runId)).toEqual(content(clean.dir, clean.result.runId));
  }, RUN_TIMEOUT);
});

describe('Ctrl-C or SIGTERM during a local run', () => {
  it.each([
    ['SIGINT', 130, 'Interrupted: no job starts now; writing the summary of what was done (Ctrl-C again to leave at once)'],
    ['SIGTERM', 143, 'Interrupted (SIGTERM): no job starts now; writing the summary of what was done (a second signal to leave at once)'],
  ] as const)('%s stops it between jobs: exit %d, an INCOMPLETE summary with the unsettled identities Interrupted, every report made kept, latest.json unmoved', async (signal, code, said) => {
    const dir = tempDir('faults-interrupted-');
    const first = await runLocal({ account: account(12), outDir: dir, timeScale: 200, settings: FAST_SETTINGS });
    const latestBefore = readFileSync(join(dir, 'latest.json'), 'utf8');
    const file = join(dir, 'account.json');
    writeFileSync(file, JSON.stringify(accountFile(150)));
    const stop = interruptAfterReports(dir, new Set([first.runId]), 3, signal);
    // IAM at one call a second, 20 times faster: the third report comes some 10 s before the last (here),
    // so the run is stopped with reports written and many to come.
    const cli = await runWatched(process.execPath, [CLI, 'run', '--local', '--account', file, '--out', dir, '--time-scale', '20', '--throttle-rps', '1'], { env: process.env, watch: stop.watch });
    const runId = stop.runId();
    expect(runId).toBeDefined();
    expect({ code: cli.code, stderr: cli.stderr }).toEqual({ code, stderr: '' });
    expect(cli.stdout).toContain(said);
    expect(cli.stdout).toContain(`Run ${runId} INTERRUPTED`);
    const summary = readJson<RunSummary>(dir, keys.summary(runId!));
    expect(summary.status).toBe('INCOMPLETE');
    expect(summary.failures.filter((f) => f.code === 'Interrupted').length).toBeGreaterThan(0);
    expect(summary.entities.reported).toBeGreaterThanOrEqual(3);
    expectNothingLostNothingInvented(dir, { runId: runId!, summary }, loadAccount(JSON.parse(readFileSync(file, 'utf8'))));
    expect(readFileSync(join(dir, 'latest.json'), 'utf8')).toBe(latestBefore);
    expect(readdirSync(join(dir, '.partial'))).toEqual([]);
  }, RUN_TIMEOUT);
});

describe('a run where a third of the entities fail', () => {
  it('exits non-zero, is INCOMPLETE, fails its execution with AuditIncomplete, leaves latest.json, and writes no report for a failed entity', async () => {
    const dir = tempDir('faults-third-');
    // A good run first: latest.json points at it.
    const good = accountFile(36);
    const first = await runLocal({ account: loadAccount(good), outDir: dir, timeScale: 200, settings: FAST_SETTINGS });
    expect(first.summary!.status).toBe('COMPLETED');
    expect(readJson<LatestPointer>(dir, keys.latest()).runId).toBe(first.runId);

    // Then, from the command line as a user runs it, the same account with every third entity's job failing.
    const file = join(dir, 'third-fails.json');
    const bad = accountFile(36, 'job-fails', 3);
    writeFileSync(file, JSON.stringify(bad));
    const listed = bad.entities.length;
    const failing = bad.entities.filter((e) => 'fault' in e).length;
    expect(failing).toBe(Math.ceil(listed / 3));
    const cli = await runProcess(process.execPath, [CLI, 'run', '--local', '--account', file, '--out', dir]);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(1);
    const percent = Math.round((1000 * failing) / listed) / 10;
    const runId = new RegExp(`Run (\\S+) INCOMPLETE: ${failing} of ${listed} entities failed \\(${percent}%, more than maxFailedPercent 5%\\)`).exec(cli.stdout)?.[1];
    expect({ runId, stdout: cli.stdout }).toEqual({ runId: expect.any(String), stdout: expect.any(String) });
    const summary = readJson<RunSummary>(dir, keys.summary(runId!));
    expect(summary).toMatchObject({ status: 'INCOMPLETE', entities: { listed, reported: listed - failing, failed: failing } });
    expect(readJson<LatestPointer>(dir, keys.latest()).runId).toBe(first.runId);
    const acct = loadAccount(JSON.parse(readFileSync(file, 'utf8')));
    expectNothingLostNothingInvented(dir, { runId: runId!, summary }, acct);
    for (const f of summary.failures) expect(existsSync(join(dir, ...reportKey(runId!, acct.byArn.get(f.arn)!).split('/')))).toBe(false);
    const notes = readFileSync(join(dir, '.logs', 'notifications.jsonl'), 'utf8');
    expect(notes).toContain(`iam-access-audit run ${runId} INCOMPLETE (${failing} of ${listed} entities failed`);
  }, RUN_TIMEOUT);
});
