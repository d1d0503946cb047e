/**
 * AuditBatch: the only code that calls GenerateServiceLastAccessedDetails and
 * GetServiceLastAccessedDetails. A batch is a stream of entities of one account that a chain of
 * invocations works through. Each invocation generates jobs and, side by side, looks at each job when it
 * is due, reads every page of each result and writes each report. When its time budget ends it hands
 * what is left (the position in the stream, the jobs still running, and the call rates it found) to the
 * next invocation, which the workflow starts at once, or after a Wait when only slow jobs remain.
 *
 * Nothing unknown is ever reported as unused: only a COMPLETED job with all pages read and well formed
 * becomes a report. A job that FAILED, stayed IN_PROGRESS through every hand-over, or could not be
 * reached for throttling or faults becomes a failure with its code; an entity deleted since listing is
 * skipped. A JobId IAM will not let us read (another session's, after a hand-over) is regenerated.
 */
import {
  GenerateServiceLastAccessedDetailsCommand,
  GetServiceLastAccessedDetailsCommand,
  type GetServiceLastAccessedDetailsCommandOutput,
} from '@aws-sdk/client-iam';
import type { IamSender } from './accounts';
import { randomUUID } from 'node:crypto';
import type { Clock } from './clock';
import { Throttled, Unreachable } from './errors';
import { faultCode, IamCaller, readAllPages, type CallRates, type PacingSettings } from './iam-calls';
import { keys, type BatchFile, type BatchRef, type EntityRef, type Failure, type IamCallCounts, type RunInfo, type Skip } from './model';
import { buildReport, MalformedAnswer } from './report';
import { getJson, putJson, putWorkJson, type ReportStore } from './store';

export interface AuditBatchSettings {
  /** Hand-overs a running job may take (each at the end of an invocation); after that it is JobTimedOut. */
  readonly maxAttempts: number;
  /** First look at a job this long after generating it, in ms; later looks back off by half again each time. */
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
  /** Wait before the first retry of leftovers, in seconds; doubles with each hand-over. */
  readonly leftoverWaitSeconds: number;
  readonly maxLeftoverWaitSeconds: number;
  /** Times one entity's job may be regenerated when IAM will not let its JobId be read. */
  readonly maxRegenerations: number;
}

export interface AuditBatchDeps {
  /** IAM in an account (the batch's file names it): the function's own client, or a member-role session that renews itself. */
  readonly iamIn: (accountId: string) => Promise<IamSender>;
  readonly store: ReportStore;
  readonly clock: Clock;
  readonly settings: AuditBatchSettings;
  /** The account's ceiling on calls per second of each kind (the batch takes its share of it). */
  readonly pacing: PacingSettings;
}

export interface AuditBatchEvent {
  readonly run: RunInfo;
  readonly batch: BatchRef;
  readonly attempt: number;
  readonly leftoverKey?: string | null;
}

/** The next state of the batch's loop: the workflow passes it back in unchanged when not done. */
export interface AuditBatchResult extends AuditBatchEvent {
  /** The batch, with the bound on its chain of invocations that the workflow's loop checks. */
  readonly batch: BatchRef & { readonly maxInvocations: number };
  readonly leftoverKey: string | null;
  readonly done: boolean;
  /** Wait before the next invocation: 0 while entities remain to start, a back-off when only slow jobs remain. */
  readonly waitSeconds: number;
  readonly counts: { readonly reported: number; readonly skipped: number; readonly failed: number; readonly leftover: number };
}

type Reason = 'in-progress' | 'throttled' | 'unreachable' | 'not-started';

/** An entity started but not settled, with the job it is waiting on, if any. */
export interface Leftover {
  readonly entity: EntityRef;
  readonly jobId: string | null;
  /** Why it is left over: its job was still running, IAM throttled us or could not be reached, or its job is to be made again. */
  readonly reason: Reason;
  /** Invocations it has been handed over by. */
  readonly handovers: number;
  /** Jobs made again for it because IAM would not let its JobId be read. */
  readonly regenerations: number;
  /**
   * Looks so far at its current job, so that the back-off goes on where the last invocation left it:
   * a job still running after a hand-over and the Wait after it is looked at once, and if it still
   * runs, handed back to the next Wait, rather than looked at again from 5 s for a minute. Absent:
   * none, or a hand-over by an earlier version.
   */
  readonly polls?: number;
  /** The fault met last, for an entity left over as unreachable. */
  readonly lastCode?: string;
  /**
   * Set once one of its jobs was seen IN_PROGRESS: when its jobs then become unreadable until the
   * regenerations run out, each outlived the session that made it, and it failed as JobTimedOut.
   */
  readonly seenRunning?: true;
  /**
   * Set when its job is handed over before any look at it was answered. If the next session may not read
   * it, that says nothing about the job: it is made again without counting against maxRegenerations
   * (the hand-overs still bound it).
   */
  readonly unread?: true;
}

/** What one invocation hands to the next: where it stopped, what is still running, the rates it found. */
export interface BatchProgress {
  /** Index in the batch of the first entity not started yet. */
  readonly next: number;
  readonly inFlight: readonly Leftover[];
  readonly learned?: CallRates;
  /** Of those, the rates found to be what IAM admits (IamCaller.foundRates): the only ones the next run keeps. */
  readonly callRates?: CallRates;
  /** How long IAM's jobs were taking (ms, the 90th percentile of those read), when known. */
  readonly jobLatencyMs?: number;
}

/** An entity whose report this invocation wrote. */
export interface ReportedEntity {
  readonly arn: string;
  readonly key: string;
}

/** What one invocation did for its batch; Summarize merges these with the report files. */
export interface BatchOutcome {
  readonly batchId: string;
  readonly accountId: string;
  readonly attempt: number;
  readonly invocationId: string;
  readonly done: boolean;
  readonly reported: readonly ReportedEntity[];
  readonly skipped: readonly Skip[];
  readonly failed: readonly Failure[];
  readonly leftover: number;
  readonly iamCalls: IamCallCounts;
  /**
   * When the invocation started and ended its work, on the clock IAM keeps: from the first to the last,
   * how long the batch kept its place in the Map, waits included (long-jobs.ts). Absent from an outcome
   * written by an earlier version.
   */
  readonly startedAt?: string;
  readonly endedAt?: string;
  /**
   * The rates whose IAM buckets the invocation had measured by its end (IamCaller.foundRates), for the next
   * run to start from. Absent from an outcome written by an earlier version.
   */
  readonly callRates?: CallRates;
}

interface Target {
  readonly entity: EntityRef;
  jobId: string | null;
  /** The session the job was generated in, when IAM is reached through a member role: its Get goes there too. */
  session?: Pick<IamSender, 'send'>;
  reason: Reason;
  handovers: number;
  regenerations: number;
  lastCode?: string;
  seenRunning?: true;
  /** A look at the current job was answered (IN_PROGRESS), in this invocation or one before. */
  looked: boolean;
  /** Not worth calling IAM about before this time (ms). */
  notBefore: number;
  /** The pacer slot reserved for its next call (a Generate, or the first page of a Get). */
  slot?: number;
  /** Looks scheduled at the current job so far (the back-off doubles with each). */
  polls: number;
  /** Looks that found the current job still IN_PROGRESS. */
  inProgressLooks: number;
  /** When the current job was generated (ms), if by this invocation. */
  generatedAt?: number;
}

type Verdict = 'pending' | 'settled';

const MAX_ITEMS = 1000;
/** Each look at a still-running job waits this many times longer than the one before. */
const POLL_BACKOFF = 1.5;
/**
 * Once every entity of the batch has its job, the batch ends when its last job is read: a job that outlived
 * its first look is looked at again every TAIL_LOOK_MS (the Get bucket has room by then), while it is
 * younger than TAIL_LOOK_MAX_AGE_MS; an older one backs off as usual, so a job of minutes is left to the
 * workflow's Wait.
 */
const TAIL_LOOK_MS = 1_000;
const TAIL_LOOK_MAX_AGE_MS = 60_000;
/**
 * The first look at a job goes when nine in ten of the jobs read so far were done, and a little after
 * (IAM's own creation and completion dates say how long they took), once JOB_LATENCY_SAMPLES were read;
 * never sooner than MIN_FIRST_LOOK_MS, never later than pollIntervalMs.
 */
const JOB_LATENCY_SAMPLES = 10;
const JOB_LATENCY_KEPT = 200;
const FIRST_LOOK_MARGIN_MS = 250;
const MIN_FIRST_LOOK_MS = 1_000;
/** The shortest an idle worker sleeps, in ms of the clock's time. */
const IDLE_TICK_MS = 50;
/**
 * Calls of one kind an invocation keeps in flight at once: enough for IAM's rate at its latency (a tenth
 * to a third of a second a call); the pacer spaces them.
 */
const WORKERS_PER_KIND = 6;
/** Looks answered before their rate, not the pacer's, says how fast the Gets read. */
const READ_RATE_LOOKS = 10;
/**
 * The slowest rate, in calls per second, the bound on a chain of invocations allows for: the pacers find
 * the account's rate below the ceiling, so the ceiling says little about how many invocations a batch needs.
 */
const SLOWEST_EXPECTED_RATE = 1;

/**
 * The bound on a batch's chain of invocations, set by its first invocation: twice what the batch needs at
 * the slowest rate expected (or its share of the ceiling, when lower), plus the hand-overs a slow job may
 * take. The workflow's loop stops there.
 */
export function maxInvocations(size: number, callsPerSecond: number, settings: AuditBatchSettings): number {
  const rate = Math.min(callsPerSecond, SLOWEST_EXPECTED_RATE);
  const perInvocation = Math.max(1, Math.floor((rate * Math.max(1000, settings.pollBudgetMs - drainMs(settings))) / 1000));
  return 2 * Math.ceil(size / perInvocation) + settings.maxAttempts;
}

/** Time before its deadline when an invocation stops starting jobs, so it can still look at them. */
function drainMs(settings: AuditBatchSettings): number {
  return 2 * settings.pollIntervalMs;
}

/** A 4xx answer other than throttling: the request, not IAM, is at fault. */
function isClientError(err: unknown): boolean {
  const e = err as { $fault?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  return e?.$fault === 'client' || (status !== undefined && status >= 400 && status < 500);
}

export async function auditBatch(deps: AuditBatchDeps, event: AuditBatchEvent, remainingMs: number): Promise<AuditBatchResult> {
  const file = await getJson<BatchFile>(deps.store, keys.batch(event.run.runId, event.batch.batchId));
  const progress: BatchProgress = event.leftoverKey ? await getJson<BatchProgress>(deps.store, event.leftoverKey) : { next: 0, inFlight: [] };
  const { iamIn, ...rest } = deps;
  const invocation = new BatchInvocation({ ...rest, iam: await iamIn(file.accountId) }, event, file, progress, remainingMs);
  await invocation.work();
  return invocation.finish();
}

/** AuditBatch's dependencies once the batch's account is known. */
type InvocationDeps = Omit<AuditBatchDeps, 'iamIn'> & { readonly iam: IamSender };

/** One invocation's work on its batch: the state every step reads and changes. */
class BatchInvocation {
  private readonly caller: IamCaller;
  private readonly batch: AuditBatchResult['batch'];
  private readonly invocationId = randomUUID().slice(0, 8);
  /** When this invocation began, on the clock IAM keeps. */
  private readonly started: number;
  private readonly deadline: number;
  private readonly stopStarting: number;
  private readonly final: boolean;
  private next: number;
  /** Unsettled targets waiting for a Generate, and those whose job is waiting for a Get. */
  private readonly queues: Record<'generate' | 'poll', Target[]> = { generate: [], poll: [] };
  /** Targets being worked on, by kind. */
  private readonly busy: Record<'generate' | 'poll', number> = { generate: 0, poll: 0 };
  /** Set once a Generate slot fell after the time to stop starting jobs: no entity is started after that. */
  private startsClosed = false;
  /** Set while no entity may start because the Gets could not read its job in time. */
  private heldForReading = false;
  /** The last moment a look may go: the deadline and half the safety margin, the other half kept for writing. */
  private readonly looksEnd: number;
  /** Set once a Get slot fell after looksEnd: nothing more can be read, so the invocation ends. */
  private readsClosed = false;
  /** Idle workers of each kind, woken when a target of their kind arrives or the invocation stops. */
  private readonly sleepers: Record<'generate' | 'poll', Array<() => void>> = { generate: [], poll: [] };
  private readonly reported: ReportedEntity[] = [];
  private readonly skipped: Skip[] = [];
  private readonly failed: Failure[] = [];
  /** How long the latest jobs read took, in ms (IAM's completion date less its creation date). */
  private readonly jobLatencies: number[] = [];
  private jobLatencyMs: number | undefined;
  /** Set once every entity has its job: from then on young running jobs are looked at every second. */
  private inTail = false;
  /** Gets IAM answered (not throttled), since when, and the Get pacer's rate at the start. */
  private readonly looks: { answered: number; firstAt: number; readonly startRate: number };

  private readonly entities: readonly EntityRef[];

  constructor(
    private readonly deps: InvocationDeps,
    private readonly event: AuditBatchEvent,
    private readonly file: BatchFile,
    progress: BatchProgress,
    remainingMs: number,
  ) {
    const { clock, settings } = deps;
    this.entities = file.entities;
    // The ceiling is the account's; the batches of the account that run at once share it equally.
    const share = deps.pacing.callsPerSecond / Math.max(1, file.peers);
    // A hand-over passes on every rate, found or not; the batch file, only rates the last run found.
    const start = progress.learned ? { learned: progress.learned, found: progress.callRates } : file.learned ? { learned: file.learned, found: file.learned } : {};
    this.caller = new IamCaller(clock, { ...deps.pacing, callsPerSecond: share, ...start });
    this.batch = { batchId: event.batch.batchId, maxInvocations: event.batch.maxInvocations ?? maxInvocations(file.entities.length, share, settings) };
    this.looks = { answered: 0, firstAt: 0, startRate: this.caller.rate('get') };
    this.final = event.attempt >= this.batch.maxInvocations;
    this.started = clock.now();
    this.deadline = this.started + Math.max(0, Math.min(settings.pollBudgetMs, remainingMs - settings.safetyMarginMs));
    this.stopStarting = this.deadline - drainMs(settings);
    this.looksEnd = this.deadline + settings.safetyMarginMs / 2;
    this.next = progress.next;
    this.jobLatencyMs = progress.jobLatencyMs;
    for (const l of progress.inFlight) {
      const { unread, polls, ...left } = l;
      // A hand-over by an earlier version does not say; its job then counts as looked at.
      const target: Target = { ...left, looked: l.jobId !== null && !unread, notBefore: 0, polls: polls ?? 0, inProgressLooks: 0 };
      this.queues[l.jobId === null ? 'generate' : 'poll'].push(target);
    }
  }

  /** Generate and Get workers side by side, until the batch is done, the budget ends, or only slow jobs remain. */
  async work(): Promise<void> {
    const workers: Array<Promise<void>> = [];
    for (let i = 0; i < WORKERS_PER_KIND; i++) workers.push(this.worker('generate'), this.worker('poll'));
    await Promise.all(workers);
  }

  private async worker(kind: 'generate' | 'poll'): Promise<void> {
    while (!this.stopped()) {
      const target = this.claim(kind);
      if (!target) {
        await this.idle(kind);
        continue;
      }
      this.busy[kind]++;
      const verdict = kind === 'generate' ? await this.generate(target) : await this.poll(target);
      this.busy[kind]--;
      if (verdict === 'pending') this.enqueue(target);
      if (kind === 'generate') this.noticeTail();
      // A job read may let the Generates, held back while too many were unread, go on.
      else if (this.heldForReading && this.readableInTime()) this.wake('generate');
      if (this.stopped()) this.wake('generate', 'poll');
    }
  }

  private enqueue(t: Target): void {
    const kind = t.jobId === null ? 'generate' : 'poll';
    this.queues[kind].push(t);
    this.wake(kind);
  }

  private wake(...kinds: Array<'generate' | 'poll'>): void {
    for (const kind of kinds) for (const wake of this.sleepers[kind].splice(0)) wake();
  }

  /** Sleeps until a target of this kind is due, one arrives, or the invocation stops. */
  private idle(kind: 'generate' | 'poll'): Promise<void> {
    const now = this.deps.clock.now();
    const due = Math.min(this.deadline, ...this.queues[kind].map((t) => t.notBefore));
    // A worker woken early clears its timer: none is left behind to hold the process when the invocation ends.
    const woken = new AbortController();
    this.sleepers[kind].push(() => woken.abort());
    return this.deps.clock.sleep(Math.max(IDLE_TICK_MS, due - now), woken.signal);
  }

  /** An entity not started yet remains, and its Generate could go before the invocation stops starting jobs. */
  private canStart(): boolean {
    return this.next < this.entities.length && !this.startsClosed && this.caller.nextSlot('generate') <= this.stopStarting;
  }

  /**
   * The Gets, at the rate IAM has been answering them, could read every job not looked at yet and one
   * more, a poll interval before the deadline. When IAM admits fewer Gets than Generates, a job started
   * past that point would be handed over unread, and in another session (a member role's, or another
   * execution environment's) it must be made again.
   */
  private readableInTime(): boolean {
    const now = this.deps.clock.now();
    const queue = this.queues.poll;
    let unread = this.busy.generate;
    for (let i = 0; i < queue.length; i++) if (queue[i].inProgressLooks === 0) unread++;
    this.heldForReading = now + ((unread + 1) * 1000) / this.readRate(now) > this.deadline - this.deps.settings.pollIntervalMs;
    return !this.heldForReading;
  }

  /**
   * Looks a second IAM has answered since the first answer of this invocation; until READ_RATE_LOOKS
   * were answered, the rate the Get pacer started from (the last invocation's, or its first guess). The
   * pacer's own rate is no measure: it grows while no Get is asked for.
   */
  private readRate(now: number): number {
    if (this.looks.answered < READ_RATE_LOOKS) return this.looks.startRate;
    return (this.looks.answered * 1000) / Math.max(1000, now - this.looks.firstAt);
  }

  private stopped(): boolean {
    const { clock, settings } = this.deps;
    const now = clock.now();
    if (now >= this.deadline || this.readsClosed) return true;
    const busy = this.busy.generate + this.busy.poll;
    const waiting = this.queues.generate.length + this.queues.poll.length + busy;
    if (waiting === 0 && !this.canStart()) return true;
    // Only slow jobs left, none due soon: end the invocation and let the workflow's Wait do the waiting.
    return (
      !this.canStart() &&
      busy === 0 &&
      this.queues.generate.length === 0 &&
      this.queues.poll.every((t) => t.inProgressLooks > 0 && t.notBefore - now > settings.handBackAfterMs)
    );
  }

  /** The due target of this kind that has waited longest, or (for Generate) the next entity of the batch. */
  private claim(kind: 'generate' | 'poll'): Target | undefined {
    const queue = this.queues[kind];
    const now = this.deps.clock.now();
    let best = -1;
    for (let i = 0; i < queue.length; i++) {
      if (queue[i].notBefore <= now && (best < 0 || queue[i].notBefore < queue[best].notBefore)) best = i;
    }
    // A job made again, or one IAM throttled, waits like a new one while the Gets could not read it in time.
    if (best >= 0 && kind === 'generate' && !this.readableInTime()) return undefined;
    if (best >= 0 && kind === 'poll') {
      // Under throttling the Get pacer's slots can be many seconds apart. Looks already queued at the
      // deadline may use half the safety margin; one whose slot comes later would hold the invocation
      // past its timeout, so the job is handed over unread instead.
      const slot = this.caller.reserve('get');
      if (slot > this.looksEnd) {
        this.readsClosed = true;
        this.wake('generate', 'poll');
        return undefined;
      }
      queue[best].slot = slot;
    }
    if (best >= 0) return queue.splice(best, 1)[0];
    if (kind === 'generate' && this.canStart() && this.readableInTime()) {
      // The entity starts only if its Generate's slot, reserved now, comes before the time to stop starting.
      const slot = this.caller.reserve('generate');
      if (slot > this.stopStarting) {
        this.startsClosed = true;
        return undefined;
      }
      return { entity: this.entities[this.next++], jobId: null, reason: 'not-started', handovers: 0, regenerations: 0, looked: false, notBefore: 0, polls: 0, inProgressLooks: 0, slot };
    }
    return undefined;
  }

  /**
   * Back off from a job that is still running: the first look when most jobs are done (at most after
   * pollIntervalMs), then pollIntervalMs times 1.5, 1.5 squared... (7.5, 11, 17 s): a gentler back-off
   * than doubling finds a slow job done sooner, for a look or two more. In the batch's tail, a young job
   * is looked at every second.
   */
  private lookAgainLater(t: Target): void {
    const { clock, settings } = this.deps;
    const now = clock.now();
    let wait =
      t.polls === 0 && t.reason === 'in-progress'
        ? Math.min(settings.pollIntervalMs, Math.max(MIN_FIRST_LOOK_MS, (this.jobLatencyMs ?? Infinity) + FIRST_LOOK_MARGIN_MS))
        : Math.min(settings.maxPollIntervalMs, settings.pollIntervalMs * POLL_BACKOFF ** t.polls);
    if (this.inTail && this.lookedAtYoung(t, now)) wait = Math.min(wait, TAIL_LOOK_MS);
    t.notBefore = now + wait;
    t.polls++;
  }

  /** A job that outlived its first look, but is not old yet. */
  private lookedAtYoung(t: Target, now: number): boolean {
    return t.inProgressLooks > 0 && t.generatedAt !== undefined && now - t.generatedAt < TAIL_LOOK_MAX_AGE_MS;
  }

  /** Once every entity of the batch has its job: the young running jobs' next looks come within a second. */
  private noticeTail(): void {
    if (this.inTail || this.next < this.entities.length || this.queues.generate.length > 0 || this.busy.generate > 0) return;
    this.inTail = true;
    const now = this.deps.clock.now();
    for (const t of this.queues.poll) if (this.lookedAtYoung(t, now)) t.notBefore = Math.min(t.notBefore, now + TAIL_LOOK_MS);
    this.wake('poll');
  }

  /** Learns how long IAM's jobs take from a job it read to the end. */
  private jobTook(page: GetServiceLastAccessedDetailsCommandOutput): void {
    const took = (page.JobCompletionDate?.getTime() ?? NaN) - (page.JobCreationDate?.getTime() ?? NaN);
    if (!(took >= 0)) return;
    this.jobLatencies.push(took);
    if (this.jobLatencies.length > JOB_LATENCY_KEPT) this.jobLatencies.shift();
    if (this.jobLatencies.length >= JOB_LATENCY_SAMPLES) {
      const sorted = [...this.jobLatencies].sort((a, b) => a - b);
      this.jobLatencyMs = sorted[Math.floor(0.9 * (sorted.length - 1))];
    }
  }

  private fail(t: Target, code: string, message: string): Verdict {
    this.failed.push({ arn: t.entity.arn, code, message });
    return 'settled';
  }

  private async generate(t: Target): Promise<Verdict> {
    const { iam, clock } = this.deps;
    let jobId: string | undefined;
    try {
      const slot = t.slot;
      t.slot = undefined;
      // The session is pinned when the pacer lets the call go, not before: a slot may be seconds away,
      // and the job's Get must go through a session that is still good then.
      let session: Pick<IamSender, 'send'> = iam;
      const answer = await this.caller.call(
        'generate',
        async () => {
          session = (await iam.pin?.(this.readWithinMs())) ?? iam;
          return session.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: t.entity.arn, Granularity: this.event.run.granularity }));
        },
        { retryThrottles: false, slot, notAfter: this.stopStarting },
      );
      jobId = answer.JobId;
      t.session = session;
    } catch (err) {
      if (err instanceof Throttled) {
        // The pacer has slowed down; the target waits its turn behind the others.
        t.reason = 'throttled';
        t.notBefore = clock.now();
        return 'pending';
      }
      if (err instanceof Unreachable) return this.unreachable(t, err);
      const code = faultCode(err);
      // Deleted between listing and now: nothing to report, and nothing wrong.
      if (code === 'NoSuchEntity') {
        this.skipped.push({ arn: t.entity.arn, code });
        return 'settled';
      }
      // A member-role session that ran out while the call was on its way: the next pin renews it.
      if (code === 'ExpiredToken' && iam.pin) return this.regenerate(t, code);
      return this.fail(t, code, (err as Error).message);
    }
    if (typeof jobId !== 'string' || jobId.length === 0) return this.fail(t, 'MalformedAnswer', 'GenerateServiceLastAccessedDetails answered without a JobId');
    t.jobId = jobId;
    t.looked = false;
    t.reason = 'in-progress';
    t.polls = 0;
    t.inProgressLooks = 0;
    t.generatedAt = clock.now();
    this.lookAgainLater(t);
    return 'pending';
  }

  private unreachable(t: Target, err: Unreachable): Verdict {
    t.reason = 'unreachable';
    t.lastCode = err.code;
    this.lookAgainLater(t);
    return 'pending';
  }

  private async poll(t: Target): Promise<Verdict> {
    const jobId = t.jobId!;
    const slot = t.slot;
    t.slot = undefined;
    let pages: GetServiceLastAccessedDetailsCommandOutput[];
    try {
      pages = await this.readJob(jobId, t.session ?? this.deps.iam, slot);
      this.answered();
    } catch (err) {
      if (err instanceof Throttled) {
        t.reason = 'throttled';
        t.notBefore = this.deps.clock.now();
        return 'pending';
      }
      this.answered();
      if (err instanceof Unreachable) return this.unreachable(t, err);
      if (isClientError(err)) return this.regenerate(t, faultCode(err));
      return this.fail(t, faultCode(err), (err as Error).message);
    }
    const first = pages[0];
    if (first.JobStatus === 'IN_PROGRESS') {
      t.reason = 'in-progress';
      t.inProgressLooks++;
      t.looked = true;
      t.seenRunning = true;
      this.lookAgainLater(t);
      return 'pending';
    }
    if (first.JobStatus === 'COMPLETED' || first.JobStatus === 'FAILED') this.jobTook(first);
    if (first.JobStatus === 'FAILED') {
      const error = first.Error;
      return this.fail(t, error?.Code ? `JobFailed.${error.Code}` : 'JobFailed', `IAM job ${jobId} FAILED${error ? `: ${error.Code}: ${error.Message}` : ''}`);
    }
    if (first.JobStatus !== 'COMPLETED' || pages.some((p) => p.JobStatus !== 'COMPLETED')) {
      return this.fail(t, 'UnexpectedJobStatus', `IAM job ${jobId} answered status ${pages.map((p) => p.JobStatus).join(', ')}`);
    }
    return this.writeReport(t, jobId, pages);
  }

  /**
   * IAM will not let this JobId be read: after a hand-over it may be another session's, and IAM does not
   * document the answer for that. The job is made again (bounded), never read as empty. When they run
   * out, an entity whose jobs were seen running failed because each outlived its session (a member-role
   * session lasts an hour at most): it timed out. One never seen running is unreadable.
   * A job handed over before any look at it was answered is made again without counting: the session
   * changed under it, and IAM has refused nothing it was asked about in the session that made it.
   */
  private regenerate(t: Target, code: string): Verdict {
    const handedOverUnread = t.jobId !== null && t.generatedAt === undefined && !t.looked;
    if (!handedOverUnread && t.regenerations >= this.deps.settings.maxRegenerations) {
      const last = `the last, ${t.jobId}, answered ${code}`;
      return t.seenRunning
        ? this.fail(t, 'JobTimedOut', `its jobs were still IN_PROGRESS when their sessions ended, and ${t.regenerations} regenerations did not finish in one session (${last})`)
        : this.fail(t, 'JobUnreadable', `IAM kept refusing to read its jobs after ${t.regenerations} regenerations (${last})`);
    }
    if (!handedOverUnread) t.regenerations++;
    t.jobId = null;
    t.looked = false;
    t.session = undefined;
    t.reason = 'not-started';
    t.notBefore = this.deps.clock.now();
    return 'pending';
  }

  private async writeReport(t: Target, jobId: string, pages: GetServiceLastAccessedDetailsCommandOutput[]): Promise<Verdict> {
    const { run } = this.event;
    const { accountId } = this.file;
    let report;
    try {
      report = buildReport(run, accountId, t.entity, jobId, pages);
    } catch (err) {
      if (err instanceof MalformedAnswer) return this.fail(t, 'MalformedAnswer', `IAM job ${jobId}: ${err.message}`);
      throw err;
    }
    const key = keys.report(run.runId, accountId, t.entity.type, t.entity.name);
    await putJson(this.deps.store, key, report);
    this.reported.push({ arn: t.entity.arn, key });
    return 'settled';
  }

  /**
   * How long a job generated now needs its session to last: twice IAM's time for a job (the 90th
   * percentile of those read, or the poll interval while unknown), for the looks that back off while it
   * runs, and a poll interval more. A session that would not last that long (up to half its life) is
   * renewed before the Generate, rather than the job lost with it.
   */
  private readWithinMs(): number {
    const { pollIntervalMs } = this.deps.settings;
    return 2 * (this.jobLatencyMs ?? pollIntervalMs) + pollIntervalMs;
  }

  /** Counts a look IAM answered, for the rate the Gets read at. */
  private answered(): void {
    if (this.looks.answered++ === 0) this.looks.firstAt = this.deps.clock.now();
  }

  /**
   * Every page of one job's result (through the session that generated it), or just the first while the
   * job is not COMPLETED. The first page goes in the slot reserved for it.
   */
  private async readJob(jobId: string, session: Pick<IamSender, 'send'>, slot: number | undefined): Promise<GetServiceLastAccessedDetailsCommandOutput[]> {
    const pages: GetServiceLastAccessedDetailsCommandOutput[] = [];
    await readAllPages(async (marker) => {
      const page = await this.caller.call('get', () => session.send(new GetServiceLastAccessedDetailsCommand({ JobId: jobId, MaxItems: MAX_ITEMS, Marker: marker })), {
        retryThrottles: false,
        slot: pages.length === 0 ? slot : undefined,
        notAfter: this.looksEnd,
      });
      pages.push(page);
      const complete = page.JobStatus === 'COMPLETED';
      return { items: [], isTruncated: complete && page.IsTruncated === true, marker: page.Marker };
    }, `reading job ${jobId}`);
    return pages;
  }

  /** Hands over what is still unsettled, writes the outcome, and tells the workflow what comes next. */
  async finish(): Promise<AuditBatchResult> {
    const { settings, store } = this.deps;
    const { run, attempt } = this.event;
    const inFlight: Leftover[] = [];
    for (const t of [...this.queues.generate, ...this.queues.poll]) {
      const handovers = t.handovers + 1;
      if (this.final || handovers > settings.maxAttempts) {
        this.giveUp(t, handovers);
      } else {
        inFlight.push({
          entity: t.entity,
          jobId: t.jobId,
          reason: t.reason,
          handovers,
          regenerations: t.regenerations,
          ...(t.jobId !== null && t.polls > 0 ? { polls: t.polls } : {}),
          ...(t.lastCode ? { lastCode: t.lastCode } : {}),
          ...(t.seenRunning ? { seenRunning: true as const } : {}),
          ...(t.jobId !== null && !t.looked ? { unread: true as const } : {}),
        });
      }
    }
    if (this.final) {
      for (const entity of this.entities.slice(this.next)) {
        this.failed.push({ arn: entity.arn, code: 'NotStarted', message: `the batch used its ${this.batch.maxInvocations} invocations before reaching it (IAM throttling or slow jobs)` });
      }
      this.next = this.entities.length;
    }

    const done = this.next >= this.entities.length && inFlight.length === 0;
    let leftoverKey: string | null = null;
    if (!done) {
      leftoverKey = keys.leftovers(run.runId, this.batch.batchId, attempt, this.invocationId);
      const handOver: BatchProgress = { next: this.next, inFlight, learned: this.caller.learned(), callRates: this.caller.foundRates(), ...(this.jobLatencyMs === undefined ? {} : { jobLatencyMs: this.jobLatencyMs }) };
      await putWorkJson(store, leftoverKey, handOver);
    }
    const leftover = this.entities.length - this.next + inFlight.length;
    const outcome: BatchOutcome = {
      batchId: this.batch.batchId,
      accountId: this.file.accountId,
      attempt,
      invocationId: this.invocationId,
      done,
      reported: this.reported,
      skipped: this.skipped,
      failed: this.failed,
      leftover,
      iamCalls: { ...this.caller.counts },
      startedAt: new Date(this.started).toISOString(),
      endedAt: new Date(this.deps.clock.now()).toISOString(),
      callRates: this.caller.foundRates(),
    };
    await putWorkJson(store, keys.outcome(run.runId, this.batch.batchId, attempt, this.invocationId), outcome);

    // Go on at once while entities remain to start; back off while only slow jobs remain.
    const slowest = Math.max(0, ...inFlight.map((l) => l.handovers));
    const waitSeconds = this.next < this.entities.length ? 0 : Math.min(settings.maxLeftoverWaitSeconds, settings.leftoverWaitSeconds * 2 ** Math.max(0, slowest - 1));
    return {
      run,
      batch: this.batch,
      attempt: done ? attempt : attempt + 1,
      leftoverKey,
      done,
      waitSeconds,
      counts: { reported: this.reported.length, skipped: this.skipped.length, failed: this.failed.length, leftover },
    };
  }

  /** An entity out of hand-overs or out of invocations: a failure that says why, never a report. */
  private giveUp(t: Target, handovers: number): void {
    switch (t.reason) {
      case 'throttled':
        this.fail(t, 'Throttled', `IAM throttled every attempt to audit it (${handovers} invocations)`);
        break;
      case 'unreachable':
        this.fail(t, t.lastCode ?? 'Unreachable', `IAM could not be reached for it through ${handovers} invocations (last fault ${t.lastCode})`);
        break;
      case 'in-progress':
        this.fail(t, 'JobTimedOut', `no COMPLETED report after ${handovers} invocations (job ${t.jobId} ${t.looked ? 'still IN_PROGRESS' : 'not looked at yet'})`);
        break;
      case 'not-started':
        // A job seen running, then unreadable in a later session, and not made again in time: it timed out.
        if (t.seenRunning) this.fail(t, 'JobTimedOut', `its jobs were still IN_PROGRESS when their sessions ended, and the next was not made within ${handovers} invocations`);
        else this.fail(t, 'NotStarted', `its job was still to be made again after ${handovers} invocations`);
        break;
    }
  }
}
