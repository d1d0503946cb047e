import { ScaledClock } from '../../local/emulator';
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
});
