import { systemClock } from '../../lambda/core/clock';
import { clockFromEnvironment } from '../../lambda/core/runtime';
import { RunClock } from '../../local/emulator/clock';

describe("a local run's clock", () => {
  it('keeps the wall clock until the run starts, then runs faster from where the wall clock is', async () => {
    const clock = new RunClock(1000);
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(5);
    // Its anchor, not a reading: at 1000x, one millisecond of the wall clock between two readings is a
    // simulated second.
    const before = Date.now();
    clock.start();
    const after = Date.now();
    const { realStart, simulatedStart } = clock.anchor;
    expect(simulatedStart).toBe(realStart);
    expect(realStart).toBeGreaterThanOrEqual(before);
    expect(realStart).toBeLessThanOrEqual(after);
    const started = clock.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(clock.now() - started).toBeGreaterThanOrEqual(10_000);
    expect(clock.anchor).toMatchObject({ timeScale: 1000 });
  });

  it('wakes a sleep begun before the start no later than the faster clock says', async () => {
    const clock = new RunClock(1000);
    const asleep = clock.sleep(60_000);
    clock.start();
    const realStart = Date.now();
    await asleep;
    // 60 simulated seconds are 60 real milliseconds at 1000x; at the wall clock's pace it would be a minute.
    expect(Date.now() - realStart).toBeLessThan(1000);
  });
});

describe('clockFromEnvironment', () => {
  it('is the system clock without LOCAL_CLOCK', () => {
    expect(clockFromEnvironment({})).toBe(systemClock);
  });

  it('follows LOCAL_CLOCK when the runner sets it again, as a run that began after the code loaded does', () => {
    const env: NodeJS.ProcessEnv = { LOCAL_CLOCK: JSON.stringify({ timeScale: 1, realStart: Date.now(), simulatedStart: Date.now() }) };
    const clock = clockFromEnvironment(env);
    expect(clock.timeScale).toBe(1);
    const later = Date.now() + 3_600_000;
    env.LOCAL_CLOCK = JSON.stringify({ timeScale: 50, realStart: Date.now(), simulatedStart: later });
    expect(clock.timeScale).toBe(50);
    expect(clock.now()).toBeGreaterThanOrEqual(later);
  });

  it('names LOCAL_CLOCK when it cannot be read', () => {
    expect(() => clockFromEnvironment({ LOCAL_CLOCK: 'soon' })).toThrow(/LOCAL_CLOCK is malformed/);
  });
});
