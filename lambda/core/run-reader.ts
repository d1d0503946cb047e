/**
 * Reading a finished run back, the one way every reader does it (the `report` command, proposals, the
 * HTML report, the changes between runs): the summary is the truth, and the report files are read only
 * for the entities it counts as reported.
 */
import { keys, type EntityReport, type LatestPointer, type RunSummary } from './model';
import { getJson, mapConcurrently, NotFound, type ReportStore } from './store';

/** The run asked for does not exist, or its files do not agree with its summary. */
export class RunNotReadable extends Error {
  override name = 'RunNotReadable';
}

const READ_CONCURRENCY = 32;

/** The run id of `latest` (the last COMPLETED run) or the id given. */
export async function resolveRunId(store: ReportStore, run: string): Promise<string> {
  if (run !== 'latest') return run;
  try {
    return (await getJson<LatestPointer>(store, keys.latest())).runId;
  } catch (err) {
    if (err instanceof NotFound) throw new RunNotReadable(`no completed run in ${store.location} (latest.json is missing); name one with --run ID`);
    throw err;
  }
}

export async function readSummary(store: ReportStore, runId: string): Promise<RunSummary> {
  let summary: RunSummary;
  try {
    summary = await getJson<RunSummary>(store, keys.summary(runId));
  } catch (err) {
    if (err instanceof NotFound) throw new RunNotReadable(`run ${runId} has no summary in ${store.location}: is the run id right, and has the run finished?`);
    throw err;
  }
  if (summary.schemaVersion !== 2) throw new RunNotReadable(`run ${runId} has a summary of schema version ${summary.schemaVersion}; this version reads 2`);
  return summary;
}

/** The run's accounts, or the one asked for: an account the run did not audit is refused, by its id. */
export function accountsOfRun(summary: RunSummary, accountId?: string): RunSummary['accounts'] {
  const accounts = summary.accounts.filter((a) => accountId === undefined || a.accountId === accountId);
  if (accountId !== undefined && accounts.length === 0) {
    throw new RunNotReadable(`run ${summary.runId} did not audit account ${accountId} (its accounts: ${summary.accounts.map((a) => a.accountId).join(', ') || 'none'})`);
  }
  return accounts;
}

/**
 * The reports of the entities the summary counts as reported (of one account, when given). A report of
 * an entity the summary calls failed or skipped is never read; a run whose files do not match its
 * summary is refused rather than shown.
 */
export async function readRunReports(store: ReportStore, summary: RunSummary, accountId?: string): Promise<EntityReport[]> {
  const accounts = accountsOfRun(summary, accountId);
  const unreported = new Set([...summary.failures.map((f) => f.arn), ...summary.skipped.map((s) => s.arn)]);
  const reports: EntityReport[] = [];
  for (const account of accounts) {
    const reportKeys = (await store.list(keys.reportsOf(summary.runId, account.accountId))).filter((k) => k.endsWith('.json'));
    const read = await mapConcurrently(reportKeys, READ_CONCURRENCY, (key) => getJson<EntityReport>(store, key));
    const mine = read.filter((r) => !unreported.has(r.entity.arn) && r.runId === summary.runId);
    if (mine.length !== account.entities.reported) {
      throw new RunNotReadable(
        `run ${summary.runId}, account ${account.accountId}: the summary counts ${account.entities.reported} reported entities but ${store.location} holds ${mine.length} of their reports`,
      );
    }
    reports.push(...mine);
  }
  return reports;
}
