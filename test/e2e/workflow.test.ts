/**
 * The synthesized state machine, executed end to end on the edge account: every fault kind, a
 * 130-service identity, names with +=,.@- and both granularities. Every report and the summary are
 * checked against the account file, field by field.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DirectoryReportStore } from '../../lambda/core/store';
import type { DatasetRow, EntityReport, Granularity, LatestPointer, RunSummary } from '../../lambda/core/model';
import { runLocal, type LocalRunResult } from '../../local/runner/run-local';
import { edgeAccount, FAST_SETTINGS } from '../helpers/iam';
import { expectReportMatches, expectRowsMatch, expectSummaryConsistent, readJson, readJsonLines, reportExists, reportFiles, reportKey, reportsWritten } from '../helpers/expectations';
import { tempDir } from '../helpers/temp';

const RUN_TIMEOUT = 120_000;

describe.each<Granularity>(['SERVICE_LEVEL', 'ACTION_LEVEL'])('a local run of the edge account at %s', (granularity) => {
  const account = edgeAccount();
  const dir = tempDir(`e2e-${granularity}-`);
  let result: LocalRunResult;
  let summary: RunSummary;
  const byName = (name: string) => account.entities.find((e) => e.name === name)!;

  beforeAll(async () => {
    result = await runLocal({ account, outDir: dir, input: { granularity }, timeScale: 500, settings: FAST_SETTINGS });
    summary = result.summary!;
  }, RUN_TIMEOUT);

  it('succeeds, and the summary accounts for every listed entity', () => {
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
    expectSummaryConsistent(summary);
    // Service-linked roles are excluded by default configuration; everything else is listed.
    expect(summary.entities).toEqual({ listed: 12, reported: 9, skipped: 1, failed: 2, byType: { user: 4, group: 2, role: 4, policy: 2 } });
    expect(summary).toMatchObject({ schemaVersion: 2, runId: result.runId, status: 'COMPLETED', granularity, changes: null });
    expect(summary.accounts).toEqual([{ accountId: '111122223333', name: null, status: 'audited', entities: { listed: 12, reported: 9, skipped: 1, failed: 2 } }]);
    expect(summary.runDate).toBe(summary.startedAt.slice(0, 10));
  });

  it('reports each audited entity exactly as the account file says', () => {
    const reported = account.entities.filter((e) => !e.fault && !e.path.startsWith('/aws-service-role/'));
    expect(reported.map((e) => e.name).sort()).toEqual(
      ['alice', 'jane.doe@example.com', 'ops+oncall=1,x-y_z', 'Developers', 'Empty.Group', 'app-deployer', 'lambda-action-role', 's3-read-access', 'ci-deploy-policy'].sort(),
    );
    for (const e of reported) {
      const report = readJson<EntityReport>(dir, reportKey(result.runId, e));
      expectReportMatches(report, e, { runId: result.runId, granularity, unusedAfterDays: 90, accountId: '111122223333' });
    }
    // The report files are exactly the reported set.
    expect(reportFiles(dir, result.runId)).toEqual(reported.map((e) => reportKey(result.runId, e)).sort());
    const deployer = readJson<EntityReport>(dir, reportKey(result.runId, byName('app-deployer')));
    expect(deployer.services).toHaveLength(130);
    if (granularity === 'ACTION_LEVEL') {
      // As IAM sends it: the tracked actions used in the tracking period, never the unused ones.
      const s3 = readJson<EntityReport>(dir, reportKey(result.runId, byName('alice'))).services.find((x) => x.serviceNamespace === 's3')!;
      expect(s3.trackedActions.map((a) => a.actionName)).toEqual(['CreateBucket', 'PutBucketPolicy']);
    }
    const empty = readJson<EntityReport>(dir, reportKey(result.runId, byName('Empty.Group')));
    expect(empty.services).toEqual([]);
    expect(empty.findings.servicesUsed).toBe(0);
  });

  it('never turns a failed, timed-out or deleted entity into a report, and says why', () => {
    for (const name of ['slow-role', 'failing-role', 'deleted-user', 'AWSServiceRoleForSupport']) {
      expect(reportExists(dir, result.runId, byName(name))).toBe(false);
    }
    expect(summary.failures).toEqual(
      expect.arrayContaining([
        { arn: byName('slow-role').arn, code: 'JobTimedOut', message: expect.stringMatching(/^no COMPLETED report after 4 invocations \(job .* still IN_PROGRESS\)$/) },
        { arn: byName('failing-role').arn, code: 'JobFailed.ServiceFailure', message: expect.stringContaining('FAILED') },
      ]),
    );
    expect(summary.skipped).toEqual([{ arn: byName('deleted-user').arn, code: 'NoSuchEntity' }]);
  });

  it('writes one dataset row per reported entity and service, and none for the others', () => {
    const partDir = join(dir, 'datasets', 'service_last_accessed', `run_date=${summary.runDate}`, `run_id=${result.runId}`);
    const parts = readdirSync(partDir);
    expect(parts.every((p) => /^part-b\d{5}\.jsonl$/.test(p))).toBe(true);
    const rows = parts.flatMap((p) => readJsonLines<DatasetRow>(partDir, p));
    const reports = account.entities.filter((e) => reportExists(dir, result.runId, e)).map((e) => readJson<EntityReport>(dir, reportKey(result.runId, e)));
    expect(rows).toHaveLength(reports.reduce((n, r) => n + r.services.length, 0));
    for (const report of reports) expectRowsMatch(rows, report);
    expect(rows.some((r) => r.entityArn === byName('slow-role').arn || r.entityArn === byName('failing-role').arn)).toBe(false);
  });

  it('summarizes the findings and the IAM calls the emulator saw', () => {
    const reports = account.entities.filter((e) => reportExists(dir, result.runId, e)).map((e) => readJson<EntityReport>(dir, reportKey(result.runId, e)));
    expect(summary.findings).toEqual({
      entitiesWithUnusedServices: reports.filter((r) => r.findings.unusedServices.length > 0).length,
      unusedServiceGrants: reports.reduce((n, r) => n + r.findings.unusedServices.length, 0),
      entitiesWithNoUseInWindow: reports.filter((r) => r.findings.servicesUsed === 0).length,
    });
    const ops = result.stats.emulator!.operations;
    expect(summary.iamCalls).toEqual({
      // Listing, and reading the authorization details once for the proposals.
      list: ops.ListUsers.calls + ops.ListGroups.calls + ops.ListRoles.calls + ops.ListPolicies.calls + ops.GetAccountAuthorizationDetails.calls,
      generate: ops.GenerateServiceLastAccessedDetails.calls,
      get: ops.GetServiceLastAccessedDetails.calls,
      throttled: result.stats.emulator!.totals.throttled,
      retried: 0,
    });
  });

  it('points latest.json at the summary', () => {
    const latest = readJson<LatestPointer>(dir, 'latest.json');
    expect(latest).toEqual({ runId: result.runId, summaryKey: `runs/${result.runId}/summary.json`, completedAt: summary.completedAt });
  });

  it("keeps one clock: the run's name, startedAt and completedAt agree with its simulated time", () => {
    // startedAt is Step Functions' StartTime, on the wall clock; the name and completedAt are on the
    // run's simulated clock, which must start there rather than run ahead while the run is set up
    // (at 500x, a fraction of a second of loading would put them minutes later).
    const named = /^local-(\d{4}-\d\d-\d\d)T(\d\d)-(\d\d)-(\d\d)-(\d{3})Z-[0-9a-f]{6}$/.exec(result.runId)!;
    const namedAt = Date.parse(`${named[1]}T${named[2]}:${named[3]}:${named[4]}.${named[5]}Z`);
    const startedAt = Date.parse(summary.startedAt);
    expect(Math.abs(startedAt - namedAt)).toBeLessThan(1000);
    expect(result.stats.simulatedStart).toBe(new Date(namedAt).toISOString());
    const runMs = Date.parse(summary.completedAt) - startedAt;
    expect(runMs).toBeGreaterThan(0);
    expect(runMs).toBeLessThanOrEqual(result.stats.simulatedSeconds * 1000 + 1000);
  });

  it('publishes the run summary to the topic and ends with the summary as output', () => {
    const notes = readJsonLines<{ state: string; subject: string; message: string }>(dir, '.logs/notifications.jsonl');
    expect(notes).toEqual([
      expect.objectContaining({
        state: 'Notify the run summary',
        subject: 'iam-access-audit run summary',
        message: `iam-access-audit run ${result.runId} COMPLETED (2 of 12 entities failed, within maxFailedPercent 25%): 12 listed, 9 reported, 1 skipped, 2 failed. Summary: ${dir}/runs/${result.runId}/summary.json Report: ${dir}/runs/${result.runId}/report.html`,
      }),
    ]);
    expect(result.output).toEqual({
      summaryKey: `runs/${result.runId}/summary.json`,
      location: dir,
      status: 'COMPLETED',
      reason: '2 of 12 entities failed, within maxFailedPercent 25%',
      listed: 12,
      reported: 9,
      skipped: 1,
      failed: 2,
      failedShare: 2 / 12,
      // The first run has no previous one: no first use of a watched service to name.
      watched: '',
      reportKey: `runs/${result.runId}/report.html`,
    });
  });

  it('keeps every state payload far below the 256 KiB limit', () => {
    expect(result.stats.maxStatePayloadBytes).toBeGreaterThan(0);
    expect(result.stats.maxStatePayloadBytes).toBeLessThan(16 * 1024);
  });
});

describe('execution input', () => {
  const account = edgeAccount();

  it('audits only the ARNs asked for, an excluded service-linked role included, and skips ARNs that do not exist', async () => {
    const dir = tempDir('e2e-arns-');
    const slr = account.entities.find((e) => e.name === 'AWSServiceRoleForSupport')!;
    const missing = 'arn:aws:iam::111122223333:role/never-existed';
    const result = await runLocal({ account, outDir: dir, input: { arns: [slr.arn, missing], entityTypes: ['role'] }, timeScale: 500, settings: FAST_SETTINGS });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.summary!.entities).toEqual({ listed: 2, reported: 1, skipped: 1, failed: 0, byType: { user: 0, group: 0, role: 2, policy: 0 } });
    expect(result.summary!.skipped).toEqual([{ arn: missing, code: 'NoSuchEntity' }]);
    expectReportMatches(readJson<EntityReport>(dir, reportKey(result.runId, slr)), slr, {
      runId: result.runId,
      granularity: 'SERVICE_LEVEL',
      unusedAfterDays: 90,
      accountId: '111122223333',
    });
  }, RUN_TIMEOUT);

  it('fails the execution in Plan with InvalidInput naming the field, and writes nothing', async () => {
    const dir = tempDir('e2e-invalid-');
    const result = await runLocal({ account, outDir: dir, input: { granularity: 'EVERYTHING' }, timeScale: 500, settings: FAST_SETTINGS });
    expect(result.status).toBe('FAILED');
    expect(result.error!.Error).toBe('InvalidInput');
    expect(JSON.parse(result.error!.Cause).errorMessage).toMatch(/^granularity must be/);
    const written = (await new DirectoryReportStore(dir).list('')).filter((key) => !key.startsWith('.logs/'));
    expect(written).toEqual([]);
    expect(result.stats.emulator!.totals.calls).toBe(0);
    const notes = readJsonLines<{ state: string; message: string }>(dir, '.logs/notifications.jsonl');
    expect(notes).toEqual([expect.objectContaining({ state: 'Notify the failure', message: expect.stringMatching(/failed: InvalidInput: .*granularity must be/) })]);
  }, RUN_TIMEOUT);
});

describe("a local run's progress", () => {
  it('counts reports as they are written, not only when the invocation that writes them returns', async () => {
    const dir = tempDir('e2e-progress-');
    const seen: Array<{ at: number; reported: number; written: number }> = [];
    // At one IAM call a second the edge account's reports are written over a minute (6 real seconds),
    // and the invocations of its one batch return their counts only as they hand over, once a minute.
    const result = await runLocal({
      account: edgeAccount(),
      outDir: dir,
      timeScale: 10,
      settings: { ...FAST_SETTINGS, iamCallsPerSecond: 1 },
      onProgress: (p) => seen.push({ at: Date.now(), reported: p.reported, written: reportsWritten(dir) }),
    });
    expect(result.summary!.entities.reported).toBe(9);
    expect(Math.max(...seen.map((p) => p.reported))).toBe(9);
    // Reports written while the batch ran, each shown within the next 2.5 seconds, never taken back.
    expect(seen.some((p) => p.written > 0 && p.written < 9)).toBe(true);
    for (const p of seen) {
      const writtenBefore = seen.filter((q) => p.at - q.at > 2_500).map((q) => q.written);
      expect(p.reported).toBeGreaterThanOrEqual(Math.max(0, ...writtenBefore));
    }
    expect(seen.map((p) => p.reported)).toEqual([...seen.map((p) => p.reported)].sort((a, b) => a - b));
  }, RUN_TIMEOUT);
});
