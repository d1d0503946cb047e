import { ScaledClock } from '../../lambda/core/clock';
import { Throttled } from '../../lambda/core/errors';
import { IamCaller, isThrottling, readAllPages, type Page } from '../../lambda/core/iam-calls';

const fastClock = () => new ScaledClock(100_000);
const throttling = () => Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });

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
    expect(caller.counts).toEqual({ list: 0, generate: 4, get: 0, throttled: 3 });
  });

  it('gives up with Throttled after its retries, so the entity is retried later rather than lost', async () => {
    const caller = new IamCaller(fastClock(), { callsPerSecond: 1000, maxThrottleRetries: 2 });
    await expect(caller.call('get', async () => Promise.reject(throttling()))).rejects.toBeInstanceOf(Throttled);
    expect(caller.counts).toEqual({ list: 0, generate: 0, get: 3, throttled: 3 });
  });

  it('retries transient server faults without calling them throttles, and passes other errors through at once', async () => {
    const caller = new IamCaller(fastClock(), { callsPerSecond: 1000 });
    let attempts = 0;
    await caller.call('list', async () => {
      if (++attempts === 1) throw Object.assign(new Error('oops'), { name: 'ServiceFailure', $metadata: { httpStatusCode: 500 } });
      return 1;
    });
    expect(caller.counts).toEqual({ list: 2, generate: 0, get: 0, throttled: 0 });
    const missing = Object.assign(new Error('gone'), { name: 'NoSuchEntityException', $metadata: { httpStatusCode: 404 } });
    await expect(caller.call('generate', async () => Promise.reject(missing))).rejects.toBe(missing);
    expect(caller.counts.generate).toBe(1);
  });

  it('paces calls of one kind at the configured rate', async () => {
    const clock = new ScaledClock(1000);
    const caller = new IamCaller(clock, { callsPerSecond: 2 });
    const start = clock.now();
    for (let i = 0; i < 5; i++) await caller.call('generate', async () => null);
    // Five calls at two a second: the fifth waits two simulated seconds after the first.
    expect(clock.now() - start).toBeGreaterThanOrEqual(2000);
  });

  it('recognizes IAM throttling in its SDK forms', () => {
    expect(isThrottling(throttling())).toBe(true);
    expect(isThrottling({ name: 'X', $retryable: { throttling: true } })).toBe(true);
    expect(isThrottling({ name: 'NoSuchEntityException' })).toBe(false);
  });
});
