/**
 * AuditBatch: the only code that calls GenerateServiceLastAccessedDetails and
 * GetServiceLastAccessedDetails. For one batch it generates the jobs (paced), polls them within this
 * invocation until they are done or its time budget ends, reads every page of each result, writes each
 * report, and hands back what is left for the workflow to retry after a Wait.
 *
 * Nothing unknown is ever reported as unused: only a COMPLETED job with all pages read becomes a report.
 * A job that FAILED, stayed IN_PROGRESS through every attempt, or could not be reached for throttling
 * becomes a failure with its code; an entity deleted since listing is skipped.
 */
import {
  GenerateServiceLastAccessedDetailsCommand,
  GetServiceLastAccessedDetailsCommand,
  type GetServiceLastAccessedDetailsCommandOutput,
  type IAMClient,
  type ServiceLastAccessed,
} from '@aws-sdk/client-iam';
import type { Clock } from './clock';
import { Throttled } from './errors';
import { readAllPages, type IamCaller } from './iam-calls';
import { keys, type BatchDescriptor, type DatasetRow, type EntityRef, type EntityType, type Failure, type IamCallCounts, type RunInfo, type Skip } from './model';
import { buildReport, datasetRows } from './report';
import { getJson, putJson, type ReportStore } from './store';

export interface AuditBatchSettings {
  /** Invocations per batch, the first included; after the last, what is left becomes failures. */
  readonly maxAttempts: number;
  /** First look at a job this long after generating it, in ms; later looks back off, doubling. */
  readonly pollIntervalMs: number;
  /** Longest pause between two looks at the same job, in ms. */
  readonly maxPollIntervalMs: number;
  /** Longest an invocation spends generating and polling, in ms; the workflow's Wait takes longer waits. */
  readonly pollBudgetMs: number;
  /** Time kept back from the Lambda timeout for writing results, in ms. */
  readonly safetyMarginMs: number;
  /** Wait before the first retry of leftovers, in seconds; doubles with each attempt. */
  readonly leftoverWaitSeconds: number;
  readonly maxLeftoverWaitSeconds: number;
  /** Times one entity's job may be regenerated in one invocation when IAM no longer knows its JobId. */
  readonly maxRegenerations: number;
}

export interface AuditBatchDeps {
  readonly iam: IAMClient;
  readonly caller: IamCaller;
  readonly store: ReportStore;
  readonly clock: Clock;
  readonly settings: AuditBatchSettings;
}

export interface AuditBatchEvent {
  readonly run: RunInfo;
  readonly batch: BatchDescriptor;
  readonly attempt: number;
  readonly leftoverKey?: string | null;
}

/** The next state of the batch's loop: the workflow passes it back in unchanged when not done. */
export interface AuditBatchResult extends AuditBatchEvent {
  readonly leftoverKey: string | null;
  readonly done: boolean;
  readonly waitSeconds: number;
  readonly counts: { readonly reported: number; readonly skipped: number; readonly failed: number; readonly leftover: number };
}

/** An entity still to audit, with the job it is waiting on, if any. */
export interface Leftover {
  readonly entity: EntityRef;
  readonly jobId: string | null;
  /** Why it is left over: its job was still running, or IAM throttled us. */
  readonly reason: 'in-progress' | 'throttled' | 'not-started';
}

export interface ReportedEntity {
  readonly arn: string;
  readonly type: EntityType;
  readonly servicesGranted: number;
  readonly servicesUsed: number;
  readonly unusedServices: number;
}

/** What one invocation did for its batch; Summarize merges these. */
export interface BatchOutcome {
  readonly batchId: string;
  readonly attempt: number;
  readonly done: boolean;
  readonly reported: readonly ReportedEntity[];
  readonly skipped: readonly Skip[];
  readonly failed: readonly Failure[];
  readonly leftover: number;
  readonly iamCalls: IamCallCounts;
  readonly rows: readonly DatasetRow[];
}

interface Target {
  readonly entity: EntityRef;
  jobId: string | null;
  reason: Leftover['reason'];
  regenerations: number;
  /** Not worth calling IAM about before this time (ms). */
  notBefore: number;
  /** Looks at the current job so far. */
  polls: number;
}

const MAX_ITEMS = 1000;

/** IAM's error code from an SDK error (NoSuchEntityException becomes NoSuchEntity). */
export function iamErrorCode(err: unknown): string {
  const e = err as { Code?: string; name?: string };
  return e.Code ?? (e.name ?? 'Error').replace(/Exception$/, '');
}

export async function auditBatch(deps: AuditBatchDeps, event: AuditBatchEvent, remainingMs: number): Promise<AuditBatchResult> {
  const { clock, settings, store } = deps;
  const run = event.run;
  const started = clock.now();
  const deadline = started + Math.max(0, Math.min(settings.pollBudgetMs, remainingMs - settings.safetyMarginMs));
  const final = event.attempt >= settings.maxAttempts;

  const targets: Target[] = event.leftoverKey
    ? (await getJson<Leftover[]>(store, event.leftoverKey)).map((l) => ({ ...l, regenerations: 0, notBefore: 0, polls: 0 }))
    : (await getJson<EntityRef[]>(store, event.batch.key)).map((entity) => ({ entity, jobId: null, reason: 'not-started', regenerations: 0, notBefore: 0, polls: 0 }));
  // Back off from a job that is still running: the first look after pollIntervalMs, then doubling.
  const lookAgainLater = (t: Target): void => {
    t.notBefore = clock.now() + Math.min(settings.maxPollIntervalMs, settings.pollIntervalMs * 2 ** t.polls);
    t.polls++;
  };

  const reported: ReportedEntity[] = [];
  const skipped: Skip[] = [];
  const failed: Failure[] = [];
  const rows: DatasetRow[] = [];
  let pending = targets;

  const generate = async (t: Target): Promise<'pending' | 'settled'> => {
    try {
      const answer = await deps.caller.call('generate', () =>
        deps.iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: t.entity.arn, Granularity: run.granularity })),
      );
      t.jobId = answer.JobId!;
      t.reason = 'in-progress';
      t.polls = 0;
      lookAgainLater(t);
      return 'pending';
    } catch (err) {
      if (err instanceof Throttled) {
        t.reason = 'throttled';
        lookAgainLater(t);
        return 'pending';
      }
      const code = iamErrorCode(err);
      // Deleted between listing and now: nothing to report, and nothing wrong.
      if (code === 'NoSuchEntity') skipped.push({ arn: t.entity.arn, code });
      else failed.push({ arn: t.entity.arn, code, message: (err as Error).message });
      return 'settled';
    }
  };

  const poll = async (t: Target): Promise<'pending' | 'settled'> => {
    let pages: GetServiceLastAccessedDetailsCommandOutput[];
    try {
      pages = await readJob(deps, t.jobId!);
    } catch (err) {
      if (err instanceof Throttled) {
        lookAgainLater(t);
        return 'pending';
      }
      const code = iamErrorCode(err);
      if (code === 'NoSuchEntity') {
        // IAM does not know this JobId for our credentials (another session generated it): regenerate.
        if (t.regenerations >= settings.maxRegenerations) {
          failed.push({ arn: t.entity.arn, code: 'JobUnreadable', message: `IAM kept answering NoSuchEntity for its jobs (last ${t.jobId})` });
          return 'settled';
        }
        t.regenerations++;
        t.jobId = null;
        t.reason = 'not-started';
        return 'pending';
      }
      failed.push({ arn: t.entity.arn, code, message: (err as Error).message });
      return 'settled';
    }
    const first = pages[0];
    if (first.JobStatus === 'IN_PROGRESS') {
      lookAgainLater(t);
      return 'pending';
    }
    if (first.JobStatus === 'FAILED') {
      const error = first.Error;
      failed.push({
        arn: t.entity.arn,
        code: error?.Code ? `JobFailed.${error.Code}` : 'JobFailed',
        message: `IAM job ${t.jobId} FAILED${error ? `: ${error.Code}: ${error.Message}` : ''}`,
      });
      return 'settled';
    }
    if (first.JobStatus !== 'COMPLETED' || pages.some((p) => p.JobStatus !== 'COMPLETED')) {
      failed.push({ arn: t.entity.arn, code: 'UnexpectedJobStatus', message: `IAM job ${t.jobId} answered status ${pages.map((p) => p.JobStatus).join(', ')}` });
      return 'settled';
    }
    const services: ServiceLastAccessed[] = pages.flatMap((p) => p.ServicesLastAccessed ?? []);
    const report = buildReport(run, t.entity, {
      jobId: t.jobId!,
      createdAt: first.JobCreationDate!,
      completedAt: first.JobCompletionDate ?? first.JobCreationDate!,
      services,
    });
    await putJson(store, keys.report(run.runId, t.entity.type, t.entity.name), report);
    rows.push(...datasetRows(report));
    reported.push({
      arn: t.entity.arn,
      type: t.entity.type,
      servicesGranted: report.findings.servicesGranted,
      servicesUsed: report.findings.servicesUsed,
      unusedServices: report.findings.unusedServices.length,
    });
    return 'settled';
  };

  // Generate every job first, then look at each when it is due: by the time the last job of a batch is
  // generated, the first are usually complete, so most entities cost one Generate and one Get.
  while (pending.length > 0 && clock.now() < deadline) {
    const next: Target[] = [];
    let acted = false;
    for (const t of pending) {
      if (clock.now() >= deadline || t.notBefore > clock.now()) {
        next.push(t);
        continue;
      }
      acted = true;
      const state = t.jobId === null ? await generate(t) : await poll(t);
      if (state === 'pending') next.push(t);
    }
    pending = next;
    if (pending.length > 0 && !acted) {
      const due = Math.min(deadline, ...pending.map((t) => t.notBefore));
      await clock.sleep(Math.max(0, due - clock.now()));
    }
  }

  if (final) {
    for (const t of pending) {
      failed.push(
        t.reason === 'throttled'
          ? { arn: t.entity.arn, code: 'Throttled', message: `IAM throttled every attempt to audit it (${event.attempt} attempts)` }
          : { arn: t.entity.arn, code: 'JobTimedOut', message: `no COMPLETED report after ${event.attempt} attempts${t.jobId ? ` (job ${t.jobId} still IN_PROGRESS)` : ''}` },
      );
    }
    pending = [];
  }

  let leftoverKey: string | null = null;
  if (pending.length > 0) {
    leftoverKey = keys.leftovers(run.runId, event.batch.batchId, event.attempt);
    const leftovers: Leftover[] = pending.map((t) => ({ entity: t.entity, jobId: t.jobId, reason: t.reason }));
    await putJson(store, leftoverKey, leftovers);
  }
  const done = pending.length === 0;
  const outcome: BatchOutcome = {
    batchId: event.batch.batchId,
    attempt: event.attempt,
    done,
    reported,
    skipped,
    failed,
    leftover: pending.length,
    iamCalls: { ...deps.caller.counts },
    rows,
  };
  await putJson(store, keys.outcome(run.runId, event.batch.batchId, event.attempt), outcome);

  return {
    run,
    batch: event.batch,
    attempt: done ? event.attempt : event.attempt + 1,
    leftoverKey,
    done,
    waitSeconds: Math.min(settings.maxLeftoverWaitSeconds, settings.leftoverWaitSeconds * 2 ** (event.attempt - 1)),
    counts: { reported: reported.length, skipped: skipped.length, failed: failed.length, leftover: pending.length },
  };
}

/** Every page of one job's result, or just the first while the job is not COMPLETED. */
async function readJob(deps: AuditBatchDeps, jobId: string): Promise<GetServiceLastAccessedDetailsCommandOutput[]> {
  const pages: GetServiceLastAccessedDetailsCommandOutput[] = [];
  await readAllPages(async (marker) => {
    const page = await deps.caller.call('get', () => deps.iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: jobId, MaxItems: MAX_ITEMS, Marker: marker })));
    pages.push(page);
    const complete = page.JobStatus === 'COMPLETED';
    return { items: [], isTruncated: complete && page.IsTruncated === true, marker: page.Marker };
  }, `reading job ${jobId}`);
  return pages;
}
