/**
 * Every IAM call of the pipeline goes through an IamCaller: it paces calls per API under a ceiling,
 * retries IAM's Throttling with jittered exponential backoff (and slows down), and counts calls and
 * throttles. The SDK's own retries are off for IAM (maxAttempts 1) so that these counts are true.
 */
import type { Clock } from './clock';
import { Throttled } from './errors';
import type { IamCallCounts } from './model';

export type CallKind = 'list' | 'generate' | 'get';

export interface PacingSettings {
  /** Calls per second allowed for each kind of call in this invocation. */
  readonly callsPerSecond: number;
  /** Throttled retries of one call before giving up with Throttled. @default 6 */
  readonly maxThrottleRetries?: number;
  /** First backoff after a throttle, in ms; doubles each time, with full jitter. @default 500 */
  readonly baseBackoffMs?: number;
  /** Longest backoff, in ms. @default 20000 */
  readonly maxBackoffMs?: number;
  /** Source of jitter; tests pass a fixed one. @default Math.random */
  readonly random?: () => number;
}

/**
 * Spaces calls evenly at a rate that halves on a throttle and recovers slowly after successes
 * (additive increase, multiplicative decrease), never above the configured ceiling.
 */
class Pacer {
  private rate: number;
  private nextFree = 0;

  constructor(
    private readonly ceiling: number,
    private readonly clock: Clock,
  ) {
    this.rate = ceiling;
  }

  async take(): Promise<void> {
    const now = this.clock.now();
    const slot = Math.max(now, this.nextFree);
    this.nextFree = slot + 1000 / this.rate;
    if (slot > now) await this.clock.sleep(slot - now);
  }

  throttled(): void {
    this.rate = Math.max(this.ceiling / 16, this.rate / 2);
  }

  succeeded(): void {
    this.rate = Math.min(this.ceiling, this.rate + this.ceiling / 20);
  }
}

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

/** Errors worth another try that are not throttling: IAM's 5xx answers and network faults. */
export function isTransient(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const status = e?.$metadata?.httpStatusCode;
  return (
    (status !== undefined && status >= 500) ||
    e?.$retryable !== undefined ||
    ['TimeoutError', 'RequestTimeout', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(e?.name ?? e?.code ?? '')
  );
}

const TRANSIENT_RETRIES = 3;

export class IamCaller {
  readonly counts: IamCallCounts = { list: 0, generate: 0, get: 0, throttled: 0 };
  private readonly pacers: Record<CallKind, Pacer>;
  private readonly maxThrottleRetries: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly random: () => number;
  /** The ceiling on calls per second of each kind. */
  readonly callsPerSecond: number;

  constructor(
    private readonly clock: Clock,
    settings: PacingSettings,
  ) {
    this.callsPerSecond = settings.callsPerSecond;
    if (!(settings.callsPerSecond > 0)) throw new RangeError(`callsPerSecond must be positive, got ${settings.callsPerSecond}`);
    this.pacers = {
      list: new Pacer(settings.callsPerSecond, clock),
      generate: new Pacer(settings.callsPerSecond, clock),
      get: new Pacer(settings.callsPerSecond, clock),
    };
    this.maxThrottleRetries = settings.maxThrottleRetries ?? 6;
    this.baseBackoffMs = settings.baseBackoffMs ?? 500;
    this.maxBackoffMs = settings.maxBackoffMs ?? 20_000;
    this.random = settings.random ?? Math.random;
  }

  /** Makes one paced call, retrying throttles; throws Throttled when IAM keeps throttling. */
  async call<T>(kind: CallKind, send: () => Promise<T>): Promise<T> {
    let transient = 0;
    for (let retry = 0; ; retry++) {
      await this.pacers[kind].take();
      this.counts[kind]++;
      try {
        const answer = await send();
        this.pacers[kind].succeeded();
        return answer;
      } catch (err) {
        if (!isThrottling(err)) {
          if (!isTransient(err) || transient >= TRANSIENT_RETRIES) throw err;
          transient++;
          await this.clock.sleep(this.random() * this.baseBackoffMs * 2 ** transient);
          continue;
        }
        this.counts.throttled++;
        this.pacers[kind].throttled();
        if (retry >= this.maxThrottleRetries) {
          throw new Throttled(`IAM throttled ${kind} calls ${retry + 1} times in a row`);
        }
        const ceiling = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** retry);
        await this.clock.sleep(this.random() * ceiling);
      }
    }
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
