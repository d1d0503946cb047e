/** The emulator keeps simulated time with the same clock the pipeline's code uses. */
import { ScaledClock, sleepUntil, type Clock, type ClockAnchor } from '../../lambda/core/clock';

export { ScaledClock, type Clock } from '../../lambda/core/clock';

/**
 * A local run's clock: the wall clock's time while the run is set up (the emulator started, the
 * functions' code loaded), then `timeScale` times faster from `start()`. The run's simulated time so
 * begins where the wall clock is when the execution starts, which is where Step Functions stamps its
 * StartTime (the summary's `startedAt`): the run's name, its reports and its `completedAt` follow on
 * from it, not from a start-up that the time scale stretched.
 */
export class RunClock implements Clock {
  readonly timeScale: number;
  private clock = new ScaledClock(1);

  constructor(timeScale: number) {
    this.timeScale = new ScaledClock(timeScale).timeScale;
  }

  /** Simulated time runs `timeScale` times faster from now on, from the wall clock's time. */
  start(): void {
    this.clock = new ScaledClock(this.timeScale);
  }

  /** The clock's current anchor: what another thread needs to read the same time. */
  get anchor(): ClockAnchor {
    return this.clock.anchor;
  }

  now(): number {
    return this.clock.now();
  }

  /** Wakes by the scaled clock's timers even before `start()`: early and again, never late. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepUntil(() => this.now(), this.now() + Math.max(0, ms), this.timeScale, signal);
  }
}

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

/**
 * A discrete-event clock: time moves only when every user of the clock is asleep, and then straight to
 * the earliest wake-up. Time spent computing or in HTTP round trips costs nothing, as long as the round
 * trip is wrapped in `track`. The benchmark replays its baselines on it (one loop, or several workers side
 * by side), so they are measured without the overhead of the machine that replays them.
 */
export class VirtualClock implements Clock {
  readonly timeScale = Infinity;
  private time: number;
  private readonly timers: Timer[] = [];
  private seq = 0;
  private inFlight = 0;
  private scheduled = false;

  constructor(start = Date.now()) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer: Timer = { at: this.time + Math.max(0, ms), seq: this.seq++, resolve };
      this.timers.push(timer);
      // An aborted sleep leaves no timer behind: time never moves on to a wake-up nobody waits for.
      signal?.addEventListener('abort', () => {
        const at = this.timers.indexOf(timer);
        if (at >= 0) this.timers.splice(at, 1);
        resolve();
        this.schedule();
      }, { once: true });
      this.schedule();
    });
  }

  /** Holds time still until `work` settles (a request in flight takes no simulated time). */
  async track<T>(work: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await work();
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // After every continuation already queued has run: only then is everyone asleep or in flight.
    setImmediate(() => {
      this.scheduled = false;
      this.advance();
    });
  }

  private advance(): void {
    if (this.inFlight > 0 || this.timers.length === 0) return;
    this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const next = this.timers[0].at;
    this.time = Math.max(this.time, next);
    while (this.timers.length > 0 && this.timers[0].at <= this.time) this.timers.shift()!.resolve();
    this.schedule();
  }
}
