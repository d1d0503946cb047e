/**
 * What a run's HTML report is made of, read back from the store: its summary and reports, its
 * proposal index, its changes and the trend of the runs up to it. Summarize builds the page as it
 * reads the reports; `report --format html` builds the same page for any finished run.
 */
import type { Changes } from '../changes';
import { keys, type RunSummary } from '../model';
import type { ProposalIndex, TemplateProposalsFile } from '../propose';
import { ReportDataBuilder, type TrendPoint } from '../report-data';
import { readRunReports, readSummary, RunNotReadable } from '../run-reader';
import { getJsonOrNull, mapConcurrently, type ReportStore } from '../store';
import { renderReportPage } from './report-page';

/** Runs the trend shows: the run itself and those before it. */
export const TREND_RUNS = 30;

/** The report page of a finished run. */
export async function renderRunPage(store: ReportStore, summary: RunSummary): Promise<string> {
  const builder = new ReportDataBuilder(summary.accounts.map((a) => a.accountId));
  for (const report of await readRunReports(store, summary)) builder.add(report);
  const [proposals, templates, changes, trend] = await Promise.all([
    readProposalIndex(store, summary.runId),
    readTemplateProposals(store, summary.runId),
    getJsonOrNull<Changes>(store, keys.changes(summary.runId)),
    trendOf(store, summary),
  ]);
  return renderReportPage(builder.build({ summary, proposals, templates, changes, trend }));
}

/** The run's template proposals, when Propose wrote them. */
export function readTemplateProposals(store: ReportStore, runId: string): Promise<TemplateProposalsFile | null> {
  return getJsonOrNull<TemplateProposalsFile>(store, keys.templateProposals(runId));
}

/** The run's proposal index, when Propose wrote one. */
export function readProposalIndex(store: ReportStore, runId: string): Promise<ProposalIndex | null> {
  return getJsonOrNull<ProposalIndex>(store, keys.proposalsIndex(runId));
}

/**
 * Unused grants and failures of the last TREND_RUNS runs up to this one, oldest first. The runs are
 * found from the dataset's partitions (one listing, no index to keep), their numbers in their summaries.
 */
export async function trendOf(store: ReportStore, current: RunSummary): Promise<TrendPoint[]> {
  const runs = new Map<string, string>();
  for (const key of await store.list(keys.datasetPrefix())) {
    const match = /run_date=(\d{4}-\d{2}-\d{2})\/run_id=([^/]+)\//.exec(key);
    if (match && match[1] <= current.runDate) runs.set(match[2], match[1]);
  }
  runs.set(current.runId, current.runDate);
  // A few more than shown: runs of the same day are ordered by their start, known only from their summaries.
  const candidates = [...runs.entries()].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)).slice(-(TREND_RUNS + 10));
  const summaries = await mapConcurrently(candidates, 8, async ([runId]) => {
    if (runId === current.runId) return current;
    try {
      return await readSummary(store, runId);
    } catch (err) {
      // A run without a readable summary (removed, or of an older schema) has no point in the trend.
      if (err instanceof RunNotReadable) return null;
      throw err;
    }
  });
  return summaries
    .filter((s): s is RunSummary => s !== null && s.startedAt <= current.startedAt)
    .sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : 0))
    .slice(-TREND_RUNS)
    .map((s) => ({ runId: s.runId, runDate: s.runDate, startedAt: s.startedAt, status: s.status, unusedServiceGrants: s.findings.unusedServiceGrants, failed: s.entities.failed, listed: s.entities.listed }));
}
