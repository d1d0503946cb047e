/**
 * Every IAM call of the pipeline goes through an IamCaller: it paces calls per API, finds the account's
 * rate from IAM's Throttling answers, retries transient faults (5xx answers, network errors) with
 * jittered backoff, and counts calls, throttles and retries. The SDK's own retries are off for IAM
 * (maxAttempts 1) so that these counts are true.
 */
import type { Clock } from './clock';
import { Throttled, Unreachable } from './errors';
import { noIamCalls, type IamCallCounts } from './model';

export type CallKind = 'list' | 'generate' | 'get';
export const CALL_KINDS: readonly CallKind[] = ['list', 'generate', 'get'];

/** Calls per second of each kind, where known. */
export type CallRates = Partial<Record<CallKind, number>>;

export interface PacingSettings {
  /** Ceiling on calls per second of each kind for this caller; the pacer finds the real rate below it. */
  readonly callsPerSecond: number;
  /** Rates learned by an earlier caller (an earlier invocation of the chain, or the last run), to start from. */
  readonly learned?: CallRates;
  /** Of those, the rates an earlier caller had found IAM's bucket to admit (see Pacer.foundRate). */
  readonly found?: CallRates;
  /** Throttled retries of one call inside `call` before it throws Throttled. @default 6 */
  readonly maxThrottleRetries?: number;
  /** Retries of one call after a transient fault before it throws Unreachable. @default 4 */
  readonly maxTransientRetries?: number;
  /** First backoff after a fault, in ms; doubles each time, with full jitter. @default 500 */
  readonly baseBackoffMs?: number;
  /** Longest backoff, in ms. @default 20000 */
  readonly maxBackoffMs?: number;
  /** Source of jitter; tests pass a fixed one. @default Math.random */
  readonly random?: () => number;
}

/**
 * The rate IAM admits is measured over at least this window, and over at least the last
 * MEASURE_MIN_CALLS successes (a slow pacer needs a longer look to measure its share), up to the longest.
 */
const MEASURE_WINDOW_MS = 8_000;
const MEASURE_MIN_CALLS = 20;
const MEASURE_LONGEST_MS = 60_000;
/** After a throttle, the rate goes to this share of what IAM was admitting. */
const BACK_OFF_TO = 0.85;
/** Successes a pacer must have seen before what it measured says more than the rate it was given. */
const MEASURE_FIRST_CALLS = 5;
/** Throttles within this time of a decrease do not decrease again: they answer calls already paced. */
const DECREASE_COOLDOWN_MS = 2_000;
/**
 * A throttle at least this long after a decrease, while calls waited for their slots all along, measures
 * the bucket's rate well: the bucket was empty at both throttles, so what IAM admitted between them is
 * what it refilled, give or take a call. After a first guess's decrease the rate is often still over the
 * bucket's, and until this measure a call of every three or four is throttled. Half a second (and at
 * least MEASURE_FIRST_CALLS successes) ends that sooner than a second did: against a bucket of 10 a
 * second, 3 throttled Generates and 3 Gets in each account instead of 5 and 4, for a measure a little
 * less exact.
 */
const REFINE_AFTER_MS = 500;
/** A rate so measured is taken at this share. */
const REFINE_TO = 0.95;
/**
 * Before the first throttle the rate grows this much a second. After a throttle it grows gently, and the
 * longer IAM goes without throttling the faster it grows again (doubling every GROWTH_DOUBLES_MS), so
 * capacity that frees up (another batch done, another caller gone) is found within a minute or so.
 */
const PROBE_GROWTH_PER_SECOND = 0.5;
const STEADY_GROWTH_PER_SECOND = 0.005;
const GROWTH_DOUBLES_MS = 20_000;
/** The first rate, as a share of the ceiling, when nothing has been learned yet. */
const START_SHARE = 0.1;

/**
 * Spaces calls evenly at a rate it adapts to IAM's token bucket. It starts below the ceiling and grows
 * until IAM throttles; then it drops to a little under the rate IAM was admitting (measured, not guessed)
 * and grows again slowly, so that it spends little time above the bucket's rate and little below. Calls
 * already given slots at the rate before a decrease are spaced anew at the lower one. One pacer per API
 * per account does best: an account is one batch unless it is very large.
 */
export class Pacer {
  private rate: number;
  private nextFree = -Infinity;
  private lastChange: number;
  private lastDecrease = -Infinity;
  /** Since when no throttle has lowered the rate (or since a learned rate was taken up): growth speeds up with it. */
  private calmSince: number;
  private probing: boolean;
  /** Started from an earlier caller's rate (handed over, or found), rather than a guess. */
  private readonly learned: boolean;
  private readonly successes: number[] = [];
  /** Slots reserved and not yet taken, and those of them a decrease has made stale. */
  private readonly pending = new Set<number>();
  private readonly stale = new Set<number>();
  /** The rate the last decrease set, and successes since. */
  private decreasedTo = Infinity;
  private sinceDecrease = 0;
  /** Since when calls have waited for their slots without a gap: what IAM admitted since then is all it would. */
  private busySince = Infinity;
  /** The bucket's rate has been measured between two throttles, or an earlier caller found it. */
  private measured = false;
  /** The rate the last throttle set, or the one an earlier caller found, before any. */
  private lastSet = Infinity;
  private readonly floor: number;

  constructor(
    private readonly ceiling: number,
    private readonly clock: Clock,
    learned?: number,
    found?: number,
  ) {
    this.floor = Math.min(ceiling, 0.05);
    this.learned = learned !== undefined;
    this.probing = !this.learned;
    this.rate = learned === undefined ? Math.max(this.floor, ceiling * START_SHARE) : Math.min(ceiling, Math.max(this.floor, learned));
    if (found !== undefined) {
      this.measured = true;
      this.lastSet = Math.min(ceiling, found);
    }
    this.lastChange = clock.now();
    // A learned rate was what IAM admitted moments ago: it grows from there as after a decrease, gently at
    // first, not at a first guess's pace, which would probe its way into throttles within seconds.
    this.calmSince = this.learned ? clock.now() : -Infinity;
  }

  /**
   * The rate IAM's bucket was found to admit, for a later caller to start from, or undefined when it has
   * not been found. It is found by two throttles far enough apart (see refine), or an earlier caller
   * found it; one throttle alone only halves a rate grown through the bucket's burst, and a rate merely
   * handed over may never have met IAM's limit. It is the rate the last throttle set (or the one found
   * before), or the current one if lower: growth since then is a probe, which the bucket's burst may
   * have admitted for a while.
   */
  get foundRate(): number | undefined {
    return this.measured ? Math.min(this.callsPerSecond, this.lastSet) : undefined;
  }

  /** The current rate, in calls per second. */
  get callsPerSecond(): number {
    this.grow(this.clock.now());
    return this.rate;
  }

  /** When the next call could go, at the earliest (ms). */
  nextSlot(): number {
    return Math.max(this.clock.now(), this.nextFree);
  }

  /** Reserves the next slot and says when it is (ms): slots are reserved in order, so concurrent callers share the rate. */
  reserve(): number {
    const now = this.clock.now();
    this.grow(now);
    if (this.nextFree < now - 1000 / this.rate) this.busySince = now;
    const slot = Math.max(now, this.nextFree);
    this.nextFree = slot + 1000 / this.rate;
    this.pending.add(slot);
    return slot;
  }

  /**
   * Waits for a call's slot: one reserved before, or the next one. A slot that was spaced at a rate a
   * throttle has since lowered is given up for one at the new rate, which IAM is likelier to admit,
   * unless that would come after `notAfter`.
   */
  async take(reserved?: number, notAfter = Infinity): Promise<void> {
    let slot = reserved ?? this.reserve();
    for (;;) {
      const now = this.clock.now();
      if (slot > now) await this.clock.sleep(slot - now);
      this.pending.delete(slot);
      if (!this.stale.delete(slot) || this.nextSlot() > notAfter) return;
      slot = this.reserve();
    }
  }

  succeeded(): void {
    const now = this.clock.now();
    this.successes.push(now);
    this.sinceDecrease++;
    while (this.successes.length > MEASURE_MIN_CALLS && this.successes[0] < now - MEASURE_WINDOW_MS) this.successes.shift();
    while (this.successes.length > 0 && this.successes[0] < now - MEASURE_LONGEST_MS) this.successes.shift();
  }

  throttled(): void {
    const now = this.clock.now();
    if (now - this.lastDecrease < DECREASE_COOLDOWN_MS) {
      this.refine(now);
      return;
    }
    this.grow(now);
    if (this.successes.length < MEASURE_FIRST_CALLS) {
      // Nothing measured yet. A learned rate was measured over an earlier caller's calls, and a throttle
      // at once more likely answers that caller's last calls than says the rate was wrong: back off a
      // little. A guessed rate is halved.
      this.rate = Math.max(this.floor, this.learned ? this.rate * BACK_OFF_TO : this.rate / 2);
    } else {
      const window = Math.max(1000, now - this.successes[0]);
      const admitted = (this.successes.length * 1000) / window;
      // What IAM admitted is a measure of the bucket's rate only while we were asking for more than that.
      // Never more than halved at once: a pacer that has only just started measures too little.
      this.rate = Math.max(this.floor, this.rate / 2, Math.min(this.rate, admitted) * BACK_OFF_TO);
    }
    this.probing = false;
    this.lastDecrease = now;
    this.decreasedTo = this.lastSet = this.rate;
    this.sinceDecrease = 0;
    this.settle(now);
  }

  /**
   * A throttle soon after a decrease (see REFINE_AFTER_MS) gives a truer measure than the decrease's own,
   * whose window may hold the bucket's burst or a pacer still below the bucket's rate. Each such throttle
   * measures over a longer time than the one before it, so the latest measure stands, never above the
   * rate the decrease set.
   */
  private refine(now: number): void {
    const elapsed = now - this.lastDecrease;
    if (elapsed < REFINE_AFTER_MS || this.busySince > this.lastDecrease || this.sinceDecrease < MEASURE_FIRST_CALLS) return;
    this.grow(now);
    this.rate = this.lastSet = Math.max(this.floor, Math.min(this.decreasedTo, ((this.sinceDecrease * 1000) / elapsed) * REFINE_TO));
    this.measured = true;
    this.settle(now);
  }

  private settle(now: number): void {
    this.calmSince = now;
    this.lastChange = now;
    // Calls already given later slots take new ones when they come (see take); the next slot follows
    // the new rate. Slots never taken (their calls were given up) are forgotten after a while.
    for (const slot of this.stale) if (slot < now - MEASURE_LONGEST_MS) this.stale.delete(slot);
    for (const slot of this.pending) if (slot > now) this.stale.add(slot);
    this.pending.clear();
    this.nextFree = now + 1000 / this.rate;
  }

  private grow(now: number): void {
    // Time in which nobody asked for a slot says nothing about IAM's bucket: the rate grows only while
    // calls are being made, not while, say, the Gets wait for the first jobs.
    const inUseUntil = Math.min(now, Math.max(this.lastChange, this.nextFree));
    const seconds = (inUseUntil - this.lastChange) / 1000;
    this.lastChange = Math.max(this.lastChange, now);
    if (seconds <= 0) return;
    const calm = Math.max(0, now - this.calmSince);
    const growth = this.probing ? PROBE_GROWTH_PER_SECOND : Math.min(PROBE_GROWTH_PER_SECOND, STEADY_GROWTH_PER_SECOND * 2 ** (calm / GROWTH_DOUBLES_MS));
    this.rate = Math.min(this.ceiling, this.rate * (1 + growth) ** seconds);
  }
}

/** Node's network error codes worth another try (a reset connection, a timeout, a closed pipe). */
const NETWORK_ERRORS = ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'UND_ERR_SOCKET'];

export function isThrottling(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: { throttling?: boolean } };
  return (
    e?.name === 'Throttling' ||
    e?.name === 'ThrottlingException' ||
    e?.name === 'TooManyRequestsException' ||
    e?.Code === 'Throttling' ||
    e?.$retryable?.throttling === true ||
    e?.$metadata?.httpStatusCode === 429
  );
}

/**
 * Errors worth another try that are not throttling: IAM's 5xx answers, the SDK's timeouts, and network
 * faults. Node names its system errors `Error` and puts the cause in `code`, so both are looked at.
 */
export function isTransient(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (!e || typeof e !== 'object') return false;
  const status = e.$metadata?.httpStatusCode;
  return (
    (status !== undefined && status >= 500) ||
    e.$retryable !== undefined ||
    ['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ServiceFailure', 'ServiceUnavailable', 'InternalFailure'].includes(e.name ?? '') ||
    NETWORK_ERRORS.includes(e.code ?? '') ||
    NETWORK_ERRORS.includes(e.name ?? '') ||
    /socket hang up/i.test(e.message ?? '')
  );
}

/** The code to report for a fault: IAM's error code, or Node's network error code. */
export function faultCode(err: unknown): string {
  const e = err as { Code?: string; code?: string; name?: string };
  if (e?.Code) return e.Code;
  if (e?.code && NETWORK_ERRORS.includes(e.code)) return e.code;
  return (e?.name ?? 'Error').replace(/Exception$/, '');
}

export interface CallOptions {
  /** A slot reserved with `reserve` for this call's first attempt. */
  readonly slot?: number;
  /** The latest time the first attempt may be put off to, when a throttle lowers the rate meanwhile. @default no limit */
  readonly notAfter?: number;
  /**
   * Retry throttled calls inside `call` (listing, which has nothing else to do meanwhile). When false,
   * the first throttle throws Throttled at once and the caller comes back to the call later, so that
   * its other work goes on while the pacer slows down. @default true
   */
  readonly retryThrottles?: boolean;
}

export class IamCaller {
  readonly counts: IamCallCounts = noIamCalls();
  private readonly pacers: Record<CallKind, Pacer>;
  private readonly maxThrottleRetries: number;
  private readonly maxTransientRetries: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly random: () => number;
  /** The ceiling on calls per second of each kind. */
  readonly callsPerSecond: number;

  constructor(
    private readonly clock: Clock,
    settings: PacingSettings,
  ) {
    if (!(settings.callsPerSecond > 0)) throw new RangeError(`callsPerSecond must be positive, got ${settings.callsPerSecond}`);
    this.callsPerSecond = settings.callsPerSecond;
    const pacer = (kind: CallKind) => new Pacer(settings.callsPerSecond, clock, settings.learned?.[kind] ?? settings.found?.[kind], settings.found?.[kind]);
    this.pacers = { list: pacer('list'), generate: pacer('generate'), get: pacer('get') };
    this.maxThrottleRetries = settings.maxThrottleRetries ?? 6;
    this.maxTransientRetries = settings.maxTransientRetries ?? 4;
    this.baseBackoffMs = settings.baseBackoffMs ?? 500;
    this.maxBackoffMs = settings.maxBackoffMs ?? 20_000;
    this.random = settings.random ?? Math.random;
  }

  /** When the next call of this kind could go, at the earliest (ms of the clock). */
  nextSlot(kind: CallKind): number {
    return this.pacers[kind].nextSlot();
  }

  /** Reserves the next slot of this kind, for a call made later with `{ slot }`. */
  reserve(kind: CallKind): number {
    return this.pacers[kind].reserve();
  }

  /** The rate the pacer of this kind goes at now, in calls per second. */
  rate(kind: CallKind): number {
    return this.pacers[kind].callsPerSecond;
  }

  /** The rates the pacers have found, for the next invocation to start from. */
  learned(): Record<CallKind, number> {
    return { list: this.rate('list'), generate: this.rate('generate'), get: this.rate('get') };
  }

  /**
   * The rates of the kinds whose pacers have found what IAM's bucket admits (see Pacer.foundRate), for
   * the next run to start from. Any other rate says only how far it grew, not what IAM admits.
   */
  foundRates(): CallRates {
    const found = CALL_KINDS.map((kind) => [kind, this.pacers[kind].foundRate] as const);
    return Object.fromEntries(found.filter(([, rate]) => rate !== undefined));
  }

  /**
   * Makes one paced call. Throws Throttled when IAM keeps throttling, Unreachable when a transient fault
   * outlasts the retries, and any other error at once.
   */
  async call<T>(kind: CallKind, send: () => Promise<T>, options: CallOptions = {}): Promise<T> {
    const retryThrottles = options.retryThrottles ?? true;
    let throttles = 0;
    let faults = 0;
    for (let attempt = 0; ; attempt++) {
      await this.pacers[kind].take(attempt === 0 ? options.slot : undefined, attempt === 0 ? options.notAfter : undefined);
      this.counts[kind]++;
      try {
        const answer = await send();
        this.pacers[kind].succeeded();
        return answer;
      } catch (err) {
        if (isThrottling(err)) {
          this.counts.throttled++;
          this.pacers[kind].throttled();
          if (!retryThrottles || throttles >= this.maxThrottleRetries) {
            throw new Throttled(`IAM throttled ${kind} calls ${throttles + 1} times in a row`);
          }
          await this.backOff(throttles++);
        } else if (isTransient(err)) {
          if (faults >= this.maxTransientRetries) {
            throw new Unreachable(faultCode(err), `IAM ${kind} call failed ${faults + 1} times in a row: ${faultCode(err)}: ${(err as Error).message}`);
          }
          this.counts.retried++;
          await this.backOff(faults++);
        } else {
          // IAM answered (a client error, such as an unknown JobId): the call passed its bucket.
          this.pacers[kind].succeeded();
          throw err;
        }
      }
    }
  }

  private backOff(attempt: number): Promise<void> {
    return this.clock.sleep(this.random() * Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** attempt));
  }
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly isTruncated: boolean;
  readonly marker: string | undefined;
}

/** Reads every page: IAM may truncate a page at fewer than MaxItems, so only IsTruncated ends the loop. */
export async function readAllPages<T>(fetch: (marker: string | undefined) => Promise<Page<T>>, what: string): Promise<T[]> {
  const all: T[] = [];
  let marker: string | undefined;
  for (let pages = 1; ; pages++) {
    const page = await fetch(marker);
    all.push(...page.items);
    if (!page.isTruncated) return all;
    if (!page.marker) throw new Error(`${what}: IAM said the result is truncated but gave no Marker (page ${pages})`);
    if (page.marker === marker) throw new Error(`${what}: IAM returned the same Marker twice (page ${pages})`);
    marker = page.marker;
  }
}
