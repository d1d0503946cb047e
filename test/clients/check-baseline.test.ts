/**
 * `npm run bench:check-baseline` on a few identities: the real AWS CLI loop (preinstalled, v1) against the
 * emulator, and the benchmark's replay of it, make the same calls. Which identities' jobs get one Get more
 * depends on this machine's timing, so only the benchmark's 50 are held to 90% exactly alike.
 */
import { checkBaseline } from '../../bench/check-baseline';

jest.setTimeout(120_000);

it('the AWS CLI loop\'s replay makes the calls the real loop makes', async () => {
  const check = await checkBaseline(6);

  expect(check.generates).toEqual({ real: 6, replay: 6 });
  expect(check.sameShape).toBe(true);
  expect(check.gets.real).toBeGreaterThanOrEqual(6);
  expect(Math.abs(check.gets.real - check.gets.replay)).toBeLessThanOrEqual(3);
});
