/**
 * Simulated time for the emulator and everything that runs against it in-process. Simulated time starts
 * at the wall-clock time of creation and runs `timeScale` times faster, so a 3-second job with a time scale
 * of 100 completes after 30 ms of real time while its dates still read like a real run's.
 */
import { performance } from 'node:perf_hooks';

export interface Clock {
  /** Simulated epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` simulated milliseconds. */
  sleep(ms: number): Promise<void>;
  readonly timeScale: number;
}

export class ScaledClock implements Clock {
  private readonly realStart = performance.now();

  constructor(
    readonly timeScale = 1,
    private readonly simulatedStart = Date.now(),
  ) {
    if (!(timeScale > 0) || !Number.isFinite(timeScale)) {
      throw new RangeError(`timeScale must be a positive number, got ${timeScale}`);
    }
  }

  now(): number {
    return this.simulatedStart + (performance.now() - this.realStart) * this.timeScale;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms / this.timeScale)));
  }

  /** Simulated milliseconds since the clock was made. */
  elapsed(): number {
    return this.now() - this.simulatedStart;
  }
}
