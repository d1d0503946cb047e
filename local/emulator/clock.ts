/** The emulator keeps simulated time with the same clock the pipeline's code uses. */
import type { Clock } from '../../lambda/core/clock';

export { ScaledClock, type Clock } from '../../lambda/core/clock';

/**
 * A clock that moves only when its user sleeps: time spent computing or in HTTP round trips costs
 * nothing. The benchmark replays sequential call patterns on it, so they are measured without the
 * overhead of the machine that replays them.
 */
export class VirtualClock implements Clock {
  readonly timeScale = Infinity;
  private time: number;

  constructor(start = Date.now()) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  async sleep(ms: number): Promise<void> {
    this.time += Math.max(0, ms);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
