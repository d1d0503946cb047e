import { ScaledClock, VirtualClock } from '../../local/emulator';
import { Throttle } from '../../local/emulator/throttle';

describe('token buckets', () => {
  it('admit a burst, then refill at the rate per simulated second', () => {
    const throttle = new Throttle({ rps: 2, burst: 3 });
    const t0 = 1_000_000;
    expect([1, 2, 3, 4].map(() => throttle.admit('ListRoles', t0))).toEqual([true, true, true, false]);
    expect(throttle.admit('ListRoles', t0 + 400)).toBe(false);
    expect(throttle.admit('ListRoles', t0 + 500)).toBe(true);
    expect(throttle.admit('ListRoles', t0 + 10_000)).toBe(true);
    expect(throttle.admit('ListUsers', t0)).toBe(true);
  });

  it('take settings per operation, and admit everything when off', () => {
    const throttle = new Throttle({ rps: 100, operations: { GenerateServiceLastAccessedDetails: { rps: 1, burst: 1 } } });
    expect(throttle.admit('GenerateServiceLastAccessedDetails', 0)).toBe(true);
    expect(throttle.admit('GenerateServiceLastAccessedDetails', 0)).toBe(false);
    // Other operations keep the account-wide rate.
    expect(Array.from({ length: 100 }, () => throttle.admit('ListRoles', 0)).every(Boolean)).toBe(true);
    expect(throttle.admit('ListRoles', 0)).toBe(false);
    const off = new Throttle(undefined);
    expect(Array.from({ length: 1000 }, () => off.admit('ListRoles', 0)).every(Boolean)).toBe(true);
  });
});

describe('scaled clock', () => {
  it('runs simulated time faster by the time scale', async () => {
    const clock = new ScaledClock(1000);
    const start = clock.now();
    await clock.sleep(5_000);
    expect(clock.now() - start).toBeGreaterThanOrEqual(5_000);
    expect(() => new ScaledClock(0)).toThrow(/timeScale/);
  });

  it('never wakes a sleeper before the simulated time it asked for', async () => {
    // A millisecond of real time is 1,000 simulated ones here: a timer that fires a millisecond early
    // (Node's may, against Date.now()) would wake its sleeper a simulated second early.
    const clock = new ScaledClock(1000);
    const early: number[] = [];
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const ms = 1_000 + (i % 17) * 250;
        const until = clock.now() + ms;
        await clock.sleep(ms);
        if (clock.now() < until) early.push(until - clock.now());
      }),
    );
    expect(early).toEqual([]);
  });

  it('ends a sleep at once when its signal aborts, leaving no timer to hold the process', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const clock = new ScaledClock(1);
    const before = timers();
    const woken = new AbortController();
    const sleeping = clock.sleep(60_000, woken.signal);
    expect(timers()).toBe(before + 1);
    const start = Date.now();
    woken.abort();
    await sleeping;
    expect(Date.now() - start).toBeLessThan(1_000);
    expect(timers()).toBe(before);
    // A signal already aborted does not sleep at all.
    await clock.sleep(60_000, woken.signal);
    expect(timers()).toBe(before);
  });
});

describe('virtual clock', () => {
  it('moves time only to wake-ups someone still waits for: an aborted sleep leaves none', async () => {
    const clock = new VirtualClock(0);
    const woken = new AbortController();
    const long = clock.sleep(60_000, woken.signal);
    await clock.sleep(10);
    woken.abort();
    await long;
    expect(clock.now()).toBe(10);
    // With the aborted sleep's wake-up gone, nothing is left to wait for: time stays where it is.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(clock.now()).toBe(10);
    await clock.sleep(5);
    expect(clock.now()).toBe(15);
  });
});
