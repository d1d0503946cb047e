/**
 * Time, passed to the logic as a parameter so tests and the local runner can drive it.
 * In Lambda the clock is the system clock. Locally, a ScaledClock runs simulated time `timeScale` times
 * faster than real time; it is anchored on the wall clock so every worker thread of a local run computes
 * the same simulated time as the emulator does.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` milliseconds of this clock's time. */
  sleep(ms: number): Promise<void>;
  readonly timeScale: number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
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

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms / this.timeScale)));
  }

  /** Simulated milliseconds since the clock's anchor. */
  elapsed(): number {
    return this.now() - this.simulatedStart;
  }
}
