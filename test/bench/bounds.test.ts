import { blindOrderChance, lowerBoundSeconds, main, type AccountWork } from '../../bench/bench';

const work = (generates: number, slowJobs = 0, gets = generates): AccountWork => ({ listCalls: [1, 1, 1, 1], generates, gets, slowJobs });

describe('the benchmark\'s lower bound', () => {
  it('is the slowest account\'s Generates at IAM\'s rate after a full burst, then one job\'s latency', () => {
    // 473 Generates at 10/s after a burst of 10: 46.3 s, then 3 s for the last job; one page of each type fits the burst.
    expect(lowerBoundSeconds([work(473), work(400)], 10, 10, 3000)).toBeCloseTo(49.3, 6);
  });

  it('is the Gets\' when they take longer than the Generates and the last job', () => {
    expect(lowerBoundSeconds([work(100, 0, 200)], 10, 10, 3000)).toBeCloseTo(19, 6);
  });
});

describe('the chance of an order blind to slow jobs', () => {
  // At 10/s with no burst, the four list calls take 0.4 s and the i-th Generate goes at 0.4 + i/10 s: a
  // 2 s slow job ends after a 10 s bound when i > 76.
  const options = { rps: 10, burst: 0, slowJobLatencyMs: 2000, ratio: 1 };

  it('is the chance that no slow job of an account falls in its late places', () => {
    expect(blindOrderChance([work(100, 1)], 10, options)).toBeCloseTo(76 / 100, 10);
    expect(blindOrderChance([work(100, 2)], 10, options)).toBeCloseTo((76 / 100) * (75 / 99), 10);
  });

  it('multiplies over the accounts, and is certain with no slow jobs or no late places', () => {
    expect(blindOrderChance([work(100, 1), work(100, 1)], 10, options)).toBeCloseTo(0.76 * 0.76, 10);
    expect(blindOrderChance([work(100, 0)], 10, options)).toBe(1);
    expect(blindOrderChance([work(100, 3)], 10, { ...options, ratio: 2 })).toBe(1);
  });

  it('is nil when an account has more slow jobs than early places', () => {
    expect(blindOrderChance([work(100, 77)], 10, options)).toBe(0);
  });
});

describe('the benchmark\'s flags', () => {
  it.each([
    [['--entities', '0'], '--entities must be a whole number of at least 1'],
    [['--accounts', '2', '--entities-per-account', '0'], '--entities-per-account must be a whole number of at least 1'],
    [['--accounts', '2'], '--accounts and --entities-per-account go together'],
    [['--entities', '10', '--accounts', '2', '--entities-per-account', '5'], 'give --entities N, or --accounts A --entities-per-account E, not both'],
    [['--nights', '3'], '--nights must be a whole number of at least 1 and at most 2'],
  ])('refuse %j before any work, naming the flag', async (args, message) => {
    await expect(main(args)).rejects.toThrow(message);
  });
});
