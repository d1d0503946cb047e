/**
 * What a run must have written for an account file, derived from the file alone: the independent
 * oracle the end-to-end tests check every report and the summary against.
 */
import { existsSync, readdirSync, readFileSync, type Dirent } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Account, Entity } from '../../local/emulator';
import { totalAuthenticatedEntities } from '../../local/emulator';
import { accountOfArn, type DatasetRow, type EntityReport, type Granularity, type RunSummary } from '../../lambda/core/model';

const DAY = 86_400_000;
const iso = (s: string | undefined) => (s === undefined ? null : new Date(s).toISOString());

export function readJson<T>(dir: string, key: string): T {
  return JSON.parse(readFileSync(join(dir, ...key.split('/')), 'utf8')) as T;
}

export function readJsonLines<T>(dir: string, key: string): T[] {
  const text = readFileSync(join(dir, ...key.split('/')), 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as T);
}

/** Where a run's report of the entity is, as DESIGN.md's S3 layout v2 says. */
export function reportKey(runId: string, e: Entity): string {
  return `runs/${runId}/reports/${accountOfArn(e.arn)}/${e.type}/${e.name}.json`;
}

export function reportExists(dir: string, runId: string, e: Entity): boolean {
  return existsSync(join(dir, ...reportKey(runId, e).split('/')));
}

/** How many report files the runs in `dir` have written so far, all runs together. */
export function reportsWritten(dir: string): number {
  return existsSync(join(dir, 'runs')) ? readdirSync(join(dir, 'runs')).reduce((n, run) => n + reportFiles(dir, run).length, 0) : 0;
}

/**
 * A `watch` for runWatched (./processes) that interrupts the run writing to `dir` once it has written
 * `reports` report files: the run is the one not among `runsBefore`. `runId()` names it once it did.
 */
export function interruptAfterReports(dir: string, runsBefore: ReadonlySet<string>, reports: number, signal?: NodeJS.Signals) {
  let interrupted: string | undefined;
  return {
    watch: (_stdout: string, interrupt: (signal?: NodeJS.Signals) => void): void => {
      if (interrupted || !existsSync(join(dir, 'runs'))) return;
      const run = readdirSync(join(dir, 'runs')).find((r) => !runsBefore.has(r));
      if (run && reportFiles(dir, run).length >= reports) {
        interrupted = run;
        interrupt(signal);
      }
    },
    runId: (): string | undefined => interrupted,
  };
}

/** Every report file a run left, as keys. */
export function reportFiles(dir: string, runId: string): string[] {
  const root = join(dir, 'runs', runId, 'reports');
  if (!existsSync(root)) return [];
  return (readdirSync(root, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath ?? (d as unknown as { path: string }).path, d.name)).split(sep).join('/'))
    .sort();
}

/** Checks one report against the account file, field by field. */
export function expectReportMatches(report: EntityReport, e: Entity, run: { runId: string; granularity: Granularity; unusedAfterDays: number; accountId: string }): void {
  expect(report.schemaVersion).toBe(1);
  expect(report.runId).toBe(run.runId);
  expect(report.accountId).toBe(run.accountId);
  expect(report.granularity).toBe(run.granularity);
  expect(report.entity).toEqual({ arn: e.arn, type: e.type, name: e.name, path: e.path, id: e.id });
  expect(report.job.status).toBe('COMPLETED');
  expect(report.job.jobId).toHaveLength(36);
  const created = Date.parse(report.job.createdAt);
  expect(Date.parse(report.job.completedAt)).toBeGreaterThanOrEqual(created);

  const expected = [...e.services]
    .sort((a, b) => (a.namespace < b.namespace ? -1 : 1))
    .map((s) => ({
      serviceNamespace: s.namespace,
      serviceName: s.name,
      lastAuthenticated: iso(s.lastAuthenticated),
      lastAuthenticatedEntity: s.lastAuthenticatedEntity ?? null,
      lastAuthenticatedRegion: s.lastAuthenticatedRegion ?? null,
      totalAuthenticatedEntities: totalAuthenticatedEntities(s),
      // IAM sends only the tracked actions used in the tracking period.
      trackedActions:
        run.granularity === 'ACTION_LEVEL'
          ? (s.actions ?? []).filter((a) => a.lastAccessedTime).map((a) => ({
              actionName: a.name,
              lastAccessedTime: iso(a.lastAccessedTime),
              lastAccessedRegion: a.region ?? null,
              lastAccessedEntity: a.entity ?? null,
            }))
          : [],
    }));
  expect(report.services).toEqual(expected);

  const windowStart = created - run.unusedAfterDays * DAY;
  const unused = expected.filter((s) => s.lastAuthenticated === null || Date.parse(s.lastAuthenticated) < windowStart).map((s) => s.serviceNamespace);
  expect(report.findings).toEqual({
    unusedAfterDays: run.unusedAfterDays,
    servicesGranted: expected.length,
    servicesUsed: expected.length - unused.length,
    unusedServices: unused,
    neverUsedServices: expected.filter((s) => s.lastAuthenticated === null).map((s) => s.serviceNamespace),
  });
}

/** The dataset row DESIGN gives for one service of a report, in its field order, written apart from the code. */
export function expectedRow(report: EntityReport, s: EntityReport['services'][number]): DatasetRow {
  return {
    runId: report.runId,
    runDate: report.runDate,
    accountId: report.accountId,
    granularity: report.granularity,
    entityArn: report.entity.arn,
    entityType: report.entity.type,
    entityName: report.entity.name,
    serviceNamespace: s.serviceNamespace,
    serviceName: s.serviceName,
    lastAuthenticated: s.lastAuthenticated,
    lastAuthenticatedEntity: s.lastAuthenticatedEntity,
    lastAuthenticatedRegion: s.lastAuthenticatedRegion,
    totalAuthenticatedEntities: s.totalAuthenticatedEntities,
    unused: report.findings.unusedServices.includes(s.serviceNamespace),
    neverUsed: s.lastAuthenticated === null,
  };
}

export function expectRowsMatch(rows: DatasetRow[], report: EntityReport): void {
  const mine = rows.filter((r) => r.entityArn === report.entity.arn);
  expect(mine).toHaveLength(report.services.length);
  for (const s of report.services) expect(mine.find((r) => r.serviceNamespace === s.serviceNamespace)!).toEqual(expectedRow(report, s));
}

/** The summary's arithmetic, which must hold for every run. */
export function expectSummaryConsistent(summary: RunSummary): void {
  expect(summary.schemaVersion).toBe(2);
  const e = summary.entities;
  expect(e.listed).toBe(e.reported + e.skipped + e.failed);
  expect(e.failed).toBe(summary.failures.length);
  expect(e.skipped).toBe(summary.skipped.length);
  expect(e.byType.user + e.byType.group + e.byType.role + e.byType.policy).toBe(e.listed);
  for (const kind of ['listed', 'reported', 'skipped', 'failed'] as const) {
    expect(summary.accounts.reduce((n, a) => n + a.entities[kind], 0)).toBe(e[kind]);
  }
}

export function entitiesOf(account: Account, predicate: (e: Entity) => boolean = () => true): Entity[] {
  return account.entities.filter(predicate);
}

/**
 * The fault matrix's invariant: every listed entity is reported, skipped or failed; every report matches
 * the account file; nothing skipped or failed has a report or a dataset row; no row is written twice.
 */
export function expectNothingLostNothingInvented(
  dir: string,
  result: { runId: string; summary?: RunSummary },
  account: Account,
  options: { granularity?: Granularity; unusedAfterDays?: number } = {},
): { reported: Entity[]; rows: DatasetRow[] } {
  const summary = result.summary!;
  expectSummaryConsistent(summary);
  const failed = new Set(summary.failures.map((f) => f.arn));
  const skipped = new Set(summary.skipped.map((s) => s.arn));
  const listed = account.entities.filter((e) => !e.path.startsWith('/aws-service-role/'));
  expect(summary.entities.listed).toBe(listed.length);
  const reported: Entity[] = [];
  for (const e of listed) {
    const has = reportExists(dir, result.runId, e);
    if (failed.has(e.arn) || skipped.has(e.arn)) {
      expect({ arn: e.arn, report: has }).toEqual({ arn: e.arn, report: false });
    } else {
      expect({ arn: e.arn, report: has }).toEqual({ arn: e.arn, report: true });
      const report = readJson<EntityReport>(dir, reportKey(result.runId, e));
      expectReportMatches(report, e, { runId: result.runId, granularity: options.granularity ?? 'SERVICE_LEVEL', unusedAfterDays: options.unusedAfterDays ?? 90, accountId: account.accountId });
      reported.push(e);
    }
  }
  expect(reported).toHaveLength(summary.entities.reported);
  // The report files are exactly the reported set: nothing of a failed or skipped entity, nothing else.
  expect(reportFiles(dir, result.runId)).toEqual(reported.map((e) => reportKey(result.runId, e)).sort());
  const partDir = join(dir, 'datasets', 'service_last_accessed', `run_date=${summary.runDate}`, `run_id=${result.runId}`);
  const rows = existsSync(partDir) ? readdirSync(partDir).flatMap((p) => readJsonLines<DatasetRow>(partDir, p)) : [];
  const keysSeen = new Set(rows.map((r) => `${r.entityArn}|${r.serviceNamespace}`));
  expect(keysSeen.size).toBe(rows.length);
  expect(rows.length).toBe(reported.reduce((n, e) => n + e.services.length, 0));
  for (const row of rows) expect(failed.has(row.entityArn) || skipped.has(row.entityArn)).toBe(false);
  return { reported, rows };
}
