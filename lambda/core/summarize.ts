/**
 * Summarize: merges what every batch invocation recorded into the run summary, writes the dataset rows
 * (one part per batch, for Athena) and, for a run whose audit completed, `latest.json`.
 *
 * Every listed entity ends up reported, skipped or failed: an entity that no invocation settled (its
 * batch's Lambda failed, or the loop stopped early) is a failure, never a silent gap.
 */
import type { BatchOutcome } from './audit-batch';
import type { Clock } from './clock';
import { ENTITY_ARN } from './input';
import { keys, type EntityRef, type EntityType, type Failure, type IamCallCounts, type LatestPointer, type RunInfo, type RunSummary, type Skip } from './model';
import type { PlanRecord } from './plan';
import { getJson, putJson, type ReportStore } from './store';

export interface SummarizeDeps {
  readonly store: ReportStore;
  readonly clock: Clock;
}

export interface SummarizeEvent {
  readonly run: RunInfo;
  /** Set when the Map over batches failed as a whole: the summary is still written, latest.json is not. */
  readonly auditError?: { readonly Error?: string; readonly Cause?: string } | null;
}

export interface SummarizeResult {
  readonly summaryKey: string;
  /** Where the store is: `s3://bucket` in AWS, a directory locally. */
  readonly location: string;
  readonly runId: string;
  /** COMPLETED when every batch ran to its end; INCOMPLETE when the audit stopped early. */
  readonly status: 'COMPLETED' | 'INCOMPLETE';
  readonly listed: number;
  readonly reported: number;
  readonly skipped: number;
  readonly failed: number;
  /** Failed entities as a share of those listed, 0 to 1. */
  readonly failedShare: number;
}

export async function summarize(deps: SummarizeDeps, event: SummarizeEvent): Promise<SummarizeResult> {
  const { store } = deps;
  const plan = await getJson<PlanRecord>(store, keys.plan(event.run.runId));
  const run = plan.run;
  const byType: Record<EntityType, number> = { user: 0, group: 0, role: 0, policy: 0 };
  const failures: Failure[] = [];
  const skipped: Skip[] = plan.missingArns.map((arn) => ({ arn, code: 'NoSuchEntity' }));
  const iamCalls: IamCallCounts = { ...plan.iamCalls };
  const findings = { entitiesWithUnusedServices: 0, unusedServiceGrants: 0, entitiesWithNoUseInWindow: 0 };
  let reportedCount = 0;
  let listed = plan.missingArns.length;
  for (const arn of plan.missingArns) {
    const type = ENTITY_ARN.exec(arn)![1] as EntityType;
    byType[type]++;
  }

  for (const batch of plan.batches) {
    const entities = await getJson<EntityRef[]>(store, batch.key);
    listed += entities.length;
    for (const e of entities) byType[e.type]++;

    const outcomeKeys = await store.list(keys.outcomesOf(run.runId, batch.batchId));
    const outcomes: BatchOutcome[] = [];
    for (const key of outcomeKeys) outcomes.push(await getJson<BatchOutcome>(store, key));
    outcomes.sort((a, b) => a.attempt - b.attempt);

    const settled = new Set<string>();
    const rows: string[] = [];
    for (const outcome of outcomes) {
      for (const r of outcome.reported) {
        if (settled.has(r.arn)) continue;
        settled.add(r.arn);
        reportedCount++;
        if (r.unusedServices > 0) findings.entitiesWithUnusedServices++;
        findings.unusedServiceGrants += r.unusedServices;
        if (r.servicesUsed === 0) findings.entitiesWithNoUseInWindow++;
      }
      for (const s of outcome.skipped) if (!settled.has(s.arn)) (settled.add(s.arn), skipped.push(s));
      for (const f of outcome.failed) if (!settled.has(f.arn)) (settled.add(f.arn), failures.push(f));
      for (const row of outcome.rows) rows.push(JSON.stringify(row));
      for (const kind of ['list', 'generate', 'get', 'throttled'] as const) iamCalls[kind] += outcome.iamCalls[kind];
    }
    const finished = outcomes.some((o) => o.done);
    for (const e of entities) {
      if (settled.has(e.arn)) continue;
      failures.push(
        finished
          ? { arn: e.arn, code: 'NotAudited', message: `batch ${batch.batchId} finished without settling this entity` }
          : { arn: e.arn, code: 'BatchFailed', message: `the audit of batch ${batch.batchId} failed before this entity was settled; the execution history has the error` },
      );
    }
    if (rows.length > 0) await store.put(keys.datasetPart(run.runDate, run.runId, batch.batchId), `${rows.join('\n')}\n`, 'application/x-ndjson');
  }

  const completedAt = new Date(deps.clock.now()).toISOString();
  const summary: RunSummary = {
    schemaVersion: 1,
    runId: run.runId,
    runDate: run.runDate,
    accountId: run.accountId,
    granularity: run.granularity,
    startedAt: run.startedAt,
    completedAt,
    entities: { listed, reported: reportedCount, skipped: skipped.length, failed: failures.length, byType },
    failures,
    skipped,
    findings,
    iamCalls,
  };
  if (summary.entities.listed !== reportedCount + skipped.length + failures.length) {
    throw new Error(`summary does not add up: listed ${listed} != reported ${reportedCount} + skipped ${skipped.length} + failed ${failures.length}`);
  }
  const summaryKey = keys.summary(run.runId);
  await putJson(store, summaryKey, summary);
  const completed = !event.auditError;
  if (completed) {
    const latest: LatestPointer = { runId: run.runId, summaryKey, completedAt };
    await putJson(store, keys.latest(), latest);
  }
  return {
    summaryKey,
    location: store.location,
    runId: run.runId,
    status: completed ? 'COMPLETED' : 'INCOMPLETE',
    listed,
    reported: reportedCount,
    skipped: skipped.length,
    failed: failures.length,
    failedShare: listed === 0 ? 0 : failures.length / listed,
  };
}
