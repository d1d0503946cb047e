import { ScaledClock } from '../../lambda/core/clock';
import { Throttled, Unreachable } from '../../lambda/core/errors';
import { faultCode, IamCaller, isThrottling, isTransient, Pacer, readAllPages, type Page } from '../../lambda/core/iam-calls';
import { VirtualClock } from '../../local/emulator';
import { Throttle } from '../../local/emulator/throttle';

const fastClock = () => new ScaledClock(100_000);
const throttling = () => Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });
/** What Node's HTTP client throws when the server drops the connection: name `Error`, cause in `code`. */
const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

describe('readAllPages', () => {
  it('keeps reading after a truncated page that holds fewer than MaxItems', async () => {
    const pages: Array<Page<number>> = [
      { items: [1, 2], isTruncated: true, marker: 'm1' },
      { items: [], isTruncated: true, marker: 'm2' },
      { items: [3], isTruncated: false, marker: undefined },
    ];
    const markers: Array<string | undefined> = [];
    const all = await readAllPages(async (marker) => {
      markers.push(marker);
      return pages[markers.length - 1];
    }, 'test');
    expect(all).toEqual([1, 2, 3]);
    expect(markers).toEqual([undefined, 'm1', 'm2']);
  });

  it('refuses a truncated page without a marker, or the same marker twice, instead of looping or stopping short', async () => {
    await expect(readAllPages(async () => ({ items: [1], isTruncated: true, marker: undefined }), 'listing roles')).rejects.toThrow(/listing roles: .*no Marker/);
    await expect(readAllPages(async () => ({ items: [1], isTruncated: true, marker: 'same' }), 'x')).rejects.toThrow(/same Marker twice/);
  });
});

describe('IamCaller', () => {
  it('retries throttling with backoff, counting every call and every throttle', async () => {
    const caller = new IamCaller(fastClock(), { callsPerSecond: 1000, random: () => 0.5 });
    let attempts = 0;
    const answer = await caller.call('generate', async () => {
      attempts++;
      if (attempts <= 3) throw throttling();
      return 'job';
    });
    expect(answer).toBe('job');
    expect(caller.counts).toEqual({ list: 0, generate: 4, get: 0, throttled: 3, retried: 0 });
  });

  it('gives up with Throttled after its retries, or at once when asked to, so the entity is retried later rather than lost', async () => {
    const caller = new IamCaller(fastClock(), { callsPerSecond: 1000, maxThrottleRetries: 2 });
    await expect(caller.call('get', async () => Promise.reject(throttling()))).rejects.toBeInstanceOf(Throttled);
    expect(caller.counts).toEqual({ list: 0, generate: 0, get: 3, throttled: 3, retried: 0 });
    await expect(caller.call('get', async () => Promise.reject(throttling()), { retryThrottles: false })).rejects.toBeInstanceOf(Throttled);
    expect(caller.counts.get).toBe(4);
  });

  it('retries server faults and network errors, counts them as retried, and passes other errors through at once', async () => {
    const caller = new IamCaller(fastClock(), { callsPerSecond: 1000 });
    let attempts = 0;
    await caller.call('list', async () => {
      attempts++;
      if (attempts === 1) throw Object.assign(new Error('oops'), { name: 'ServiceFailure', $metadata: { httpStatusCode: 500 } });
      if (attempts === 2) throw reset();
      if (attempts === 3) throw Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
      return 1;
    });
    expect(caller.counts).toEqual({ list: 4, generate: 0, get: 0, throttled: 0, retried: 3 });
    const missing = Object.assign(new Error('gone'), { name: 'NoSuchEntityException', $metadata: { httpStatusCode: 404 } });
    await expect(caller.call('generate', async () => Promise.reject(missing))).rejects.toBe(missing);
    expect(caller.counts.generate).toBe(1);
  });

  it('gives up with Unreachable, naming the fault, when a network fault outlasts the retries', async () => {
    const caller = new IamCaller(fastClock(), { callsPerSecond: 1000, maxTransientRetries: 2 });
    const err = await caller.call('get', async () => Promise.reject(reset())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Unreachable);
    expect((err as Unreachable).code).toBe('ECONNRESET');
    expect(caller.counts).toMatchObject({ get: 3, retried: 2 });
  });

  it('paces calls of one kind at the rate it has learned', async () => {
    const clock = new ScaledClock(1000);
    const caller = new IamCaller(clock, { callsPerSecond: 2, learned: { generate: 2 } });
    const start = clock.now();
    for (let i = 0; i < 5; i++) await caller.call('generate', async () => null);
    // Five calls at two a second: the fifth waits two simulated seconds after the first.
    expect(clock.now() - start).toBeGreaterThanOrEqual(2000);
  });

  it('says for the next run only the rates found, by it or an earlier caller: not one a single throttle halved, nor one merely handed over', async () => {
    const clock = new ScaledClock(1000);
    // The get rate was found by an earlier caller; the list rate was only handed over.
    const caller = new IamCaller(clock, { callsPerSecond: 10, learned: { get: 4, list: 6 }, found: { get: 4 }, maxThrottleRetries: 0 });
    for (let i = 0; i < 3; i++) await caller.call('list', async () => null);
    await caller.call('generate', async () => null);
    await expect(caller.call('generate', async () => Promise.reject(throttling()))).rejects.toBeInstanceOf(Throttled);
    // The list rate, handed over, grew without a throttle, and the generate rate was halved by one: neither says what IAM admits.
    expect(caller.foundRates()).toEqual({ get: 4 });
  });

  it('recognizes IAM throttling and transient faults in their SDK and Node forms', () => {
    expect(isThrottling(throttling())).toBe(true);
    expect(isThrottling({ name: 'X', $retryable: { throttling: true } })).toBe(true);
    expect(isThrottling({ name: 'NoSuchEntityException' })).toBe(false);
    expect(isTransient(reset())).toBe(true);
    expect(isTransient(Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }))).toBe(true);
    expect(isTransient({ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(isTransient({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } })).toBe(false);
    expect(faultCode(reset())).toBe('ECONNRESET');
    expect(faultCode({ name: 'NoSuchEntityException' })).toBe('NoSuchEntity');
  });
});

describe('Pacer', () => {
  /** One call through `pacer` against `bucket`, now: counted, and told to the pacer. */
  function call(pacer: Pacer, bucket: Throttle, clock: VirtualClock, tally: { admitted: number; throttled: number }): void {
    if (bucket.admit('op', clock.now())) {
      tally.admitted++;
      pacer.succeeded();
    } else {
      tally.throttled++;
      pacer.throttled();
    }
  }

  /**
   * Senders that each call as fast as their pacer lets them, against one token bucket of `rps`, for
   * `seconds` of simulated time: what share of the bucket's rate they got, and what share of their calls
   * were throttled.
   */
  async function share(rps: number, senders: number, ceiling: number, seconds: number, learned?: number) {
    const clock = new VirtualClock(0);
    const bucket = new Throttle({ rps });
    const tally = { admitted: 0, throttled: 0 };
    const sender = async () => {
      const pacer = new Pacer(ceiling / senders, clock, learned);
      while (clock.now() < seconds * 1000) {
        await pacer.take();
        call(pacer, bucket, clock, tally);
      }
    };
    await Promise.all(Array.from({ length: senders }, sender));
    return { used: tally.admitted / (rps * seconds), throttledShare: tally.throttled / (tally.admitted + tally.throttled) };
  }

  it.each([
    [4, 1],
    [10, 1],
    [30, 1],
    [10, 2],
  ])('finds a bucket of %d calls a second below a ceiling of 50, shared by %d senders: most of its rate, few throttles', async (rps, senders) => {
    const { used, throttledShare } = await share(rps, senders, 50, 600);
    expect(used).toBeGreaterThan(0.9);
    expect(used).toBeLessThanOrEqual(1.01);
    expect(throttledShare).toBeLessThan(0.05);
  });

  it('goes on from a learned rate gently, as after a decrease: the next invocation of a chain does not probe its way into throttles', async () => {
    // A hand-over passes on the rate found, a little under the bucket's: the next invocation starts there.
    // Growing from it as fast as from a first guess went over the bucket within seconds (9 throttles in 20 s).
    const { used, throttledShare } = await share(10, 1, 50, 20, 9.5);
    expect(throttledShare).toBe(0);
    expect(used).toBeGreaterThan(0.9);
    // Over a longer run it still finds what the bucket allows.
    const long = await share(10, 1, 50, 600, 9.5);
    expect(long.used).toBeGreaterThan(0.95);
    expect(long.throttledShare).toBeLessThan(0.01);
  });

  it('does not grow while nobody calls, so calls after a quiet spell go at the rate last found', async () => {
    const clock = new VirtualClock(0);
    const pacer = new Pacer(50, clock, 2);
    for (let i = 0; i < 3; i++) await pacer.take();
    // A minute in which the Gets, say, wait for the first jobs: the rate stays where it was.
    await clock.sleep(60_000);
    expect(pacer.callsPerSecond).toBeLessThan(2 * 1.5 ** 2);
    // While calls are made it grows as before.
    for (let i = 0; i < 20; i++) await pacer.take();
    expect(pacer.callsPerSecond).toBeGreaterThan(3);
  });

  it('has measured the bucket once two throttles half a second or more apart bound what it admitted between them', async () => {
    const clock = new VirtualClock(0);
    const bucket = new Throttle({ rps: 10, burst: 10 });
    const tally = { admitted: 0, throttled: 0 };
    const pacer = new Pacer(50, clock);
    const measuredAfter: number[] = [];
    while (clock.now() < 30_000) {
      await pacer.take();
      const before = tally.throttled;
      call(pacer, bucket, clock, tally);
      if (tally.throttled > before) measuredAfter.push(pacer.foundRate === undefined ? 0 : 1);
    }
    // The first throttle only halved a rate grown through the burst; a later one measured the bucket.
    expect(measuredAfter[0]).toBe(0);
    expect(measuredAfter).toContain(1);
    expect(pacer.foundRate).toBeGreaterThan(8.5);
    expect(pacer.foundRate).toBeLessThanOrEqual(10);
    // Not what it grew to since, which the bucket's burst admits for a while: 10 more calls at once.
    await clock.sleep(5_000);
    for (let i = 0; i < 10; i++) {
      await pacer.take();
      call(pacer, bucket, clock, tally);
    }
    expect(pacer.callsPerSecond).toBeGreaterThan(pacer.foundRate!);
    expect(pacer.foundRate).toBeLessThanOrEqual(10);
    // A rate an earlier caller found counts as found; one merely handed over, or a first guess, does not.
    expect(new Pacer(50, clock, 9, 9).foundRate).toBe(9);
    expect(new Pacer(50, clock, 9).foundRate).toBeUndefined();
    expect(new Pacer(50, clock).foundRate).toBeUndefined();
  });

  it('backs off a learned rate a little, not by half, when throttled before it has measured anything', () => {
    const clock = new VirtualClock(0);
    const learned = new Pacer(50, clock, 4);
    learned.throttled();
    expect(learned.callsPerSecond).toBeCloseTo(4 * 0.85, 5);
    // A first guess knows nothing, and is halved.
    const guessed = new Pacer(50, clock);
    guessed.throttled();
    expect(guessed.callsPerSecond).toBeCloseTo(2.5, 5);
  });

  /**
   * One pacer from a first guess, with `workers` calls each holding a slot reserved ahead (as AuditBatch's
   * workers do), 50 ms to IAM and 50 ms back, against a bucket of 10 a second with a burst of 10.
   */
  async function reservedAhead(workers: number, seconds: number) {
    const clock = new VirtualClock(0);
    const bucket = new Throttle({ rps: 10, burst: 10 });
    const pacer = new Pacer(50, clock);
    const tally = { admitted: 0, throttled: 0 };
    const throttledAt: number[] = [];
    let measuredAt = Infinity;
    const worker = async () => {
      while (clock.now() < seconds * 1000) {
        await pacer.take(pacer.reserve());
        await clock.sleep(50);
        const before = tally.throttled;
        call(pacer, bucket, clock, tally);
        if (tally.throttled > before) throttledAt.push(clock.now());
        if (measuredAt === Infinity && pacer.foundRate !== undefined) measuredAt = clock.now();
        await clock.sleep(50);
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
    return {
      used: tally.admitted / (10 * seconds + 10),
      throttled: tally.throttled,
      rate: pacer.callsPerSecond,
      foundRate: pacer.foundRate,
      /** How long after the first throttle the bucket was measured (ms). */
      measuredAfter: measuredAt - throttledAt[0],
    };
  }

  it('finds the rate from a first guess with few throttles: slots spaced at a rate since lowered are spaced anew, and the rate IAM refilled between two throttles is taken', async () => {
    // The first throttle comes when the first guess has grown past the bucket's rate. Calls whose slots
    // were spaced at that rate were all throttled (15 in 20 s with 8 workers), and the rate stayed over
    // the bucket's until a measure over 8 s took it under (88% of the bucket in 20 s).
    for (const workers of [4, 8]) {
      const { used, throttled, rate } = await reservedAhead(workers, 20);
      expect(throttled).toBeLessThanOrEqual(6);
      expect(used).toBeGreaterThan(0.93);
      expect(rate).toBeGreaterThan(9);
      expect(rate).toBeLessThan(11);
    }
    // And over ten minutes it keeps most of the bucket with few throttles.
    const long = await reservedAhead(8, 600);
    expect(long.used).toBeGreaterThan(0.97);
    expect(long.throttled).toBeLessThan(0.01 * 6000);
  });

  it('measures the bucket half a second after its first decrease, which ends the throttles of a rate still over the bucket sooner', async () => {
    // A first guess grows through the bucket's burst, and its first decrease lands over the bucket's
    // rate: calls are throttled until a later throttle measures what IAM refilled. With 4 and 8 workers,
    // measured a second or more after the decrease, that took 1.4 s and 1.2 s, and 4 and 6 throttles.
    for (const [workers, most] of [[4, 3], [8, 4]]) {
      const { throttled, foundRate, measuredAfter } = await reservedAhead(workers, 20);
      expect(measuredAfter).toBeGreaterThanOrEqual(500);
      expect(measuredAfter).toBeLessThan(1000);
      expect(throttled).toBeLessThanOrEqual(most);
      expect(foundRate).toBeGreaterThan(8.5);
      expect(foundRate).toBeLessThanOrEqual(10);
    }
  });

  it('spaces anew, at the lowered rate, slots reserved before a throttle, unless a call would then go after its latest time', async () => {
    const takes = async (notAfter: number) => {
      const clock = new VirtualClock(0);
      const pacer = new Pacer(50, clock, 10);
      const slots = Array.from({ length: 5 }, () => pacer.reserve());
      expect(slots).toEqual([0, 100, 200, 300, 400]);
      // Throttled before anything was measured: a learned 10 a second becomes 8.5, a slot every 117.6 ms.
      pacer.throttled();
      return Promise.all(slots.slice(1).map(async (slot) => {
        await pacer.take(slot, notAfter);
        return clock.now();
      }));
    };
    // The clock sleeps whole milliseconds.
    const near = (times: number[], expected: number[]) => expect(times.map((t, i) => Math.abs(t - expected[i]) <= 1)).toEqual(expected.map(() => true));
    near(await takes(Infinity), [117.6, 235.3, 352.9, 470.6]);
    near(await takes(400), [117.6, 235.3, 352.9, 400]);
  });

  it('never goes above its ceiling when the bucket allows more', async () => {
    const { used, throttledShare } = await share(100, 5, 20, 120);
    expect(used).toBeLessThanOrEqual(0.2);
    expect(used).toBeGreaterThan(0.15);
    expect(throttledShare).toBe(0);
  });
});
