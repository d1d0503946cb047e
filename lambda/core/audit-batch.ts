/**
 * AuditBatch: the only code that calls GenerateServiceLastAccessedDetails and
 * GetServiceLastAccessedDetails. A batch is a stream of entities that a chain of invocations works
 * through. Each invocation generates jobs (paced at its share of the pipeline's ceiling) and, side by
 * side, looks at each job when it is due, reads every page of each result and writes each report. When
 * its time budget ends it hands what is left (the position in the stream and the jobs still running) to
 * the next invocation, which the workflow starts at once, or after a Wait when only slow jobs remain.
 *
 * Nothing unknown is ever reported as unused: only a COMPLETED job with all pages read becomes a report.
 * A job that FAILED, stayed IN_PROGRESS through every hand-over, or could not be reached for throttling
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
import { getJson, putJson, putWorkJson, type ReportStore } from './store';

export interface AuditBatchSettings {
  /** Hand-overs a running job may take (each at the end of an invocation); after that it is JobTimedOut. */
  readonly maxAttempts: number;
  /** First look at a job this long after generating it, in ms; later looks back off, doubling. */
  readonly pollIntervalMs: number;
  /** Longest pause between two looks at the same job, in ms. */
  readonly maxPollIntervalMs: number;
  /** Longest an invocation works, in ms; the next invocation of the chain goes on from there. */
  readonly pollBudgetMs: number;
  /**
   * When only slow jobs remain and the next look at any of them is further off than this, in ms, the
   * invocation ends and the workflow's Wait (which costs nothing) does the waiting.
   */
  readonly handBackAfterMs: number;
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
  /** Invocations that share the pipeline's IAM call ceiling with this one (the Map's concurrency). @default 1 */
  readonly concurrency?: number;
}

/** The next state of the batch's loop: the workflow passes it back in unchanged when not done. */
export interface AuditBatchResult extends AuditBatchEvent {
  /** The batch, with the bound on its chain of invocations that the workflow's loop checks. */
  readonly batch: BatchDescriptor & { readonly maxInvocations: number };
  readonly leftoverKey: string | null;
  readonly done: boolean;
  /** Wait before the next invocation: 0 while entities remain to start, a back-off when only slow jobs remain. */
  readonly waitSeconds: number;
  readonly counts: { readonly reported: number; readonly skipped: number; readonly failed: number; readonly leftover: number };
}

/** An entity started but not settled, with the job it is waiting on, if any. */
export interface Leftover {
  readonly entity: EntityRef;
  readonly jobId: string | null;
  /** Why it is left over: its job was still running, or IAM throttled us. */
  readonly reason: 'in-progress' | 'throttled' | 'not-started';
  /** Invocations it has been handed over by. */
  readonly handovers: number;
}

/** What one invocation hands to the next: where it stopped in the batch, and what is still running. */
export interface BatchProgress {
  /** Index in the batch of the first entity not started yet. */
  readonly next: number;
  readonly inFlight: readonly Leftover[];
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
  handovers: number;
  regenerations: number;
  /** Not worth calling IAM about before this time (ms). */
  notBefore: number;
  /** Looks scheduled at the current job so far (the back-off doubles with each). */
  polls: number;
  /** Looks that found the current job still IN_PROGRESS. */
  inProgressLooks: number;
}

const MAX_ITEMS = 1000;
/** How long an idle worker sleeps before looking again, in ms of the clock's time. */
const IDLE_TICK_MS = 250;

/**
 * The bound on a batch's chain of invocations, set by its first invocation: twice what the batch needs at
 * its share of the ceiling, plus the hand-overs a slow job may take. The workflow's loop stops there.
 */
export function maxInvocations(size: number, callsPerSecond: number, settings: AuditBatchSettings): number {
  const perInvocation = Math.max(1, Math.floor((callsPerSecond * Math.max(1000, settings.pollBudgetMs - drainMs(settings))) / 1000));
  return 2 * Math.ceil(size / perInvocation) + settings.maxAttempts;
}

/** Time before its deadline when an invocation stops starting jobs, so it can still look at them. */
function drainMs(settings: AuditBatchSettings): number {
  return 2 * settings.pollIntervalMs;
}

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
  const stopStarting = deadline - drainMs(settings);
  const entities = await getJson<EntityRef[]>(store, event.batch.key);
  const batch = { ...event.batch, maxInvocations: event.batch.maxInvocations ?? maxInvocations(entities.length, deps.caller.callsPerSecond, settings) };
  const final = event.attempt >= batch.maxInvocations;

  const progress: BatchProgress = event.leftoverKey ? await getJson<BatchProgress>(store, event.leftoverKey) : { next: 0, inFlight: [] };
  let next = progress.next;
  const pending: Target[] = progress.inFlight.map((l) => ({ ...l, regenerations: 0, notBefore: 0, polls: 0, inProgressLooks: 0 }));
  /** Starts the next entity of the batch, while this invocation has time to see it through. */
  const startNext = (): Target | undefined => {
    if (next >= entities.length || clock.now() >= stopStarting) return undefined;
    const t: Target = { entity: entities[next++], jobId: null, reason: 'not-started', handovers: 0, regenerations: 0, notBefore: 0, polls: 0, inProgressLooks: 0 };
    pending.push(t);
    return t;
  };
  // Back off from a job that is still running: the first look after pollIntervalMs, then doubling.
  const lookAgainLater = (t: Target): void => {
    t.notBefore = clock.now() + Math.min(settings.maxPollIntervalMs, settings.pollIntervalMs * 2 ** t.polls);
    t.polls++;
  };

  const reported: ReportedEntity[] = [];
  const skipped: Skip[] = [];
  const failed: Failure[] = [];
  const rows: DatasetRow[] = [];

  const generate = async (t: Target): Promise<'pending' | 'settled'> => {
    try {
      const answer = await deps.caller.call('generate', () =>
        deps.iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: t.entity.arn, Granularity: run.granularity })),
      );
      t.jobId = answer.JobId!;
      t.reason = 'in-progress';
      t.polls = 0;
      t.inProgressLooks = 0;
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
      t.inProgressLooks++;
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

  // Two workers share the invocation: one generates jobs, one looks at each job when it is due. Generate
  // and Get have separate IAM buckets and separate pacers, so both run at this invocation's share of the
  // ceiling; by the time a job is looked at it has usually finished, so most entities cost one Generate
  // and one Get.
  const settled = new Set<Target>();
  const busy = new Set<Target>();
  const unsettled = () => pending.filter((t) => !settled.has(t));
  const canStart = () => next < entities.length && clock.now() < stopStarting;
  // Only slow jobs left, none due soon: end the invocation and let the workflow's Wait do the waiting.
  const handBack = () => {
    const waiting = unsettled();
    return !canStart() && waiting.length > 0 && waiting.every((t) => !busy.has(t) && t.jobId !== null && t.inProgressLooks > 0 && t.notBefore - clock.now() > settings.handBackAfterMs);
  };
  const work = async (kind: 'generate' | 'poll'): Promise<void> => {
    const mine = (t: Target) => !settled.has(t) && !busy.has(t) && (kind === 'generate' ? t.jobId === null : t.jobId !== null);
    while ((unsettled().length > 0 || canStart()) && clock.now() < deadline && !handBack()) {
      const now = clock.now();
      const target = pending.find((t) => mine(t) && t.notBefore <= now) ?? (kind === 'generate' ? startNext() : undefined);
      if (!target) {
        // Nothing due for this worker: sleep until something may be (a job handed over by the other
        // worker shows up within a tick).
        const waiting = unsettled().map((t) => t.notBefore);
        const due = Math.min(deadline, Math.max(now + IDLE_TICK_MS, Math.min(...waiting)));
        await clock.sleep(due - now);
        continue;
      }
      busy.add(target);
      const state = kind === 'generate' ? await generate(target) : await poll(target);
      busy.delete(target);
      if (state === 'settled') settled.add(target);
    }
  };
  await Promise.all([work('generate'), work('poll')]);

  // Hand over what is still running, unless it has been handed over too often or this is the last invocation.
  const inFlight: Leftover[] = [];
  for (const t of unsettled()) {
    const handovers = t.handovers + 1;
    if (final || handovers > settings.maxAttempts) {
      failed.push(
        t.reason === 'throttled'
          ? { arn: t.entity.arn, code: 'Throttled', message: `IAM throttled every attempt to audit it (${handovers} invocations)` }
          : { arn: t.entity.arn, code: 'JobTimedOut', message: `no COMPLETED report after ${handovers} invocations${t.jobId ? ` (job ${t.jobId} still IN_PROGRESS)` : ''}` },
      );
    } else {
      inFlight.push({ entity: t.entity, jobId: t.jobId, reason: t.reason, handovers });
    }
  }
  if (final) {
    for (const entity of entities.slice(next)) {
      failed.push({ arn: entity.arn, code: 'NotStarted', message: `the batch used its ${batch.maxInvocations} invocations before reaching it (IAM throttling or slow jobs)` });
    }
    next = entities.length;
  }

  const done = next >= entities.length && inFlight.length === 0;
  let leftoverKey: string | null = null;
  if (!done) {
    leftoverKey = keys.leftovers(run.runId, batch.batchId, event.attempt);
    const handOver: BatchProgress = { next, inFlight };
    await putWorkJson(store, leftoverKey, handOver);
  }
  const leftover = entities.length - next + inFlight.length;
  const outcome: BatchOutcome = {
    batchId: batch.batchId,
    attempt: event.attempt,
    done,
    reported,
    skipped,
    failed,
    leftover,
    iamCalls: { ...deps.caller.counts },
    rows,
  };
  await putWorkJson(store, keys.outcome(run.runId, batch.batchId, event.attempt), outcome);

  // Go on at once while entities remain to start; back off while only slow jobs remain.
  const slowest = Math.max(0, ...inFlight.map((l) => l.handovers));
  const waitSeconds = next < entities.length ? 0 : Math.min(settings.maxLeftoverWaitSeconds, settings.leftoverWaitSeconds * 2 ** Math.max(0, slowest - 1));
  return {
    run,
    batch,
    attempt: done ? event.attempt : event.attempt + 1,
    leftoverKey,
    done,
    waitSeconds,
    counts: { reported: reported.length, skipped: skipped.length, failed: failed.length, leftover },
    concurrency: event.concurrency,
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
