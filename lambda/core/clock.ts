/**
 * Time, passed to the logic as a parameter so tests and the local runner can drive it.
 * In Lambda the clock is the system clock. Locally, a ScaledClock runs simulated time `timeScale` times
 * faster than real time; it is anchored on the wall clock so every worker thread of a local run computes
 * the same simulated time as the emulator does.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` milliseconds of this clock's time, or at once when `signal` aborts (its timer cleared). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  readonly timeScale: number;
}

/**
 * Sleeps until `now()` reaches `until`. A timer may fire a millisecond before Date.now() says its delay
 * has passed, and a millisecond of real time is `timeScale` of a scaled clock's: so it looks again, and
 * sleeps the rest, rather than wake its caller before the time it asked for.
 */
export function sleepUntil(now: () => number, until: number, timeScale: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    let timer: NodeJS.Timeout;
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const wake = (): void => {
      const left = until - now();
      if (left <= 0) done();
      else timer = setTimeout(wake, Math.max(1, left / timeScale));
    };
    signal?.addEventListener('abort', done, { once: true });
    timer = setTimeout(wake, Math.max(0, (until - now()) / timeScale));
  });
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleepUntil(Date.now, Date.now() + Math.max(0, ms), 1, signal),
  timeScale: 1,
};

export interface ClockAnchor {
  readonly timeScale: number;
  readonly realStart: number;
  readonly simulatedStart: number;
}

export class ScaledClock implements Clock {
  readonly timeScale: number;
  private readonly realStart: number;
  private readonly simulatedStart: number;

  constructor(timeScale = 1, simulatedStart?: number, realStart = Date.now()) {
    if (!(timeScale > 0) || !Number.isFinite(timeScale)) {
      throw new RangeError(`timeScale must be a positive number, got ${timeScale}`);
    }
    this.timeScale = timeScale;
    this.realStart = realStart;
    this.simulatedStart = simulatedStart ?? realStart;
  }

  static fromAnchor(anchor: ClockAnchor): ScaledClock {
    return new ScaledClock(anchor.timeScale, anchor.simulatedStart, anchor.realStart);
  }

  get anchor(): ClockAnchor {
    return { timeScale: this.timeScale, realStart: this.realStart, simulatedStart: this.simulatedStart };
  }

  now(): number {
    return this.simulatedStart + (Date.now() - this.realStart) * this.timeScale;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepUntil(() => this.now(), this.now() + Math.max(0, ms), this.timeScale, signal);
  }

  /** Simulated milliseconds since the clock's anchor. */
  elapsed(): number {
    return this.now() - this.simulatedStart;
  }
}
