/**
 * Long jobs, end to end: two consecutive local runs into one store. The first run generates in listing
 * order and writes the jobs IAM was slow on to its long-jobs.json; the second generates those first.
 */
import type { LongJobs } from '../../lambda/core/long-jobs';
import { loadAccount, loadOrganization } from '../../local/emulator';
import { runLocal, type LocalRunResult } from '../../local/runner/run-local';
import { readJson } from '../helpers/expectations';
import { FAST_SETTINGS } from '../helpers/iam';
import { tempDir } from '../helpers/temp';

const ACCOUNT_ID = '111122223333';
const arn = (name: string) => `arn:aws:iam::${ACCOUNT_ID}:role/${name}`;
const SLOW = ['slow-reports', 'slow-exports'];

/** 40 roles; the two IAM is slow on are listed last. */
function account() {
  const names = [...Array.from({ length: 38 }, (_, i) => `app-${String(i).padStart(2, '0')}`), ...SLOW];
  return loadAccount({
    accountId: ACCOUNT_ID,
    entities: names.map((name) => ({ type: 'role', name, path: '/', services: [{ namespace: 's3', name: 'Amazon S3' }], ...(SLOW.includes(name) ? { fault: 'slow-job' } : {}) })),
  });
}

type RunOptions = Parameters<typeof runLocal>[0];

/** Two consecutive local runs of the account into one store, as on two nights. */
async function twoNights(account: () => RunOptions['account'], outDir: string, timeScale: number, emulator: RunOptions['emulator']): Promise<[LocalRunResult, LocalRunResult]> {
  const night = () => runLocal({ account: account(), outDir, timeScale, settings: FAST_SETTINGS, emulator });
  const first = await night();
  return [first, await night()];
}

/**
 * The entities in the order their first job was made. A stall of the machine at 100x (a tenth of a second
 * is 10 simulated seconds) may end an invocation before it read a job; the job is then handed over
 * unread, and made again if the next invocation runs in another execution environment, whose session
 * may not read it (by design, not counted against maxRegenerations). Such a job is generated twice; the
 * order is its entity's first.
 */
const generatedOrder = (run: LocalRunResult) => [...new Set(run.stats.iamCallLog.filter((c) => c.operation === 'GenerateServiceLastAccessedDetails' && c.outcome !== 'Throttling').map((c) => c.arn))];

/** Entities whose job was made again by the session that had made the one before: never, as that job could be read. */
function remadeInOneSession(run: LocalRunResult): string[] {
  const madeBy = new Map<string, string>();
  const remade: string[] = [];
  for (const c of run.stats.iamCallLog) {
    if (c.operation !== 'GenerateServiceLastAccessedDetails' || c.outcome !== 'OK') continue;
    if (madeBy.get(c.arn!) === c.caller) remade.push(c.arn!);
    madeBy.set(c.arn!, c.caller);
  }
  return remade;
}

describe('long jobs between two consecutive local runs', () => {
  const dir = tempDir('long-jobs-');
  const emulator = { jobLatencyMs: 1000, slowJobLatencyMs: 20_000, throttle: { rps: 5, burst: 5 }, recordCalls: true };
  let first: LocalRunResult;
  let second: LocalRunResult;

  beforeAll(async () => {
    [first, second] = await twoNights(account, dir, 100, emulator);
  }, 240_000);

  it('writes the jobs that took far longer than the account\'s others, longest first', () => {
    expect(first.summary!.status).toBe('COMPLETED');
    const long = readJson<LongJobs>(dir, `runs/${first.runId}/long-jobs.json`);
    expect(long).toMatchObject({ schemaVersion: 1, runId: first.runId });
    expect(Object.keys(long.accounts)).toEqual([ACCOUNT_ID]);
    expect(new Set(long.accounts[ACCOUNT_ID].map((j) => j.arn))).toEqual(new Set(SLOW.map(arn)));
    for (const job of long.accounts[ACCOUNT_ID]) expect(job.seconds).toBeGreaterThanOrEqual(20);
    // How long the account's one batch kept its place: through its slow jobs, within the run.
    expect(long.accountTimes![ACCOUNT_ID].entities).toBe(40);
    expect(long.accountTimes![ACCOUNT_ID].seconds).toBeGreaterThanOrEqual(20);
    expect(long.accountTimes![ACCOUNT_ID].seconds).toBeLessThanOrEqual(first.stats.simulatedSeconds);
  });

  it('generates in listing order on the first run, and the long jobs first on the next', () => {
    const before = generatedOrder(first);
    const after = generatedOrder(second);
    expect(before).toHaveLength(40);
    // Workers share the stream, and a throttled call goes again later: positions move by a few.
    for (const name of SLOW) {
      expect(before.indexOf(arn(name))).toBeGreaterThanOrEqual(30);
      expect(after.indexOf(arn(name))).toBeLessThan(4);
    }
    expect(new Set(after)).toEqual(new Set(before));
    expect([...remadeInOneSession(first), ...remadeInOneSession(second)]).toEqual([]);
    // What is generated first is reported the same.
    expect(second.summary).toMatchObject({ status: 'COMPLETED', entities: first.summary!.entities });
    expect(readJson<LongJobs>(dir, `runs/${second.runId}/long-jobs.json`).accounts[ACCOUNT_ID].map((j) => j.arn).sort()).toEqual(SLOW.map(arn).sort());
  });
});

describe('call rates between two consecutive local runs', () => {
  const dir = tempDir('call-rates-');
  // IAM admits 5 calls a second of each operation, with a burst of 5; no job is slow. At 2x: a stall of
  // the machine counts as simulated time in which IAM admitted nothing, so the faster the clock, the
  // lower the rate measured. Under a full test run's load, 20x once bunched calls so that the first run
  // measured no rate, and 5x once measured 3.24 a second; 2x costs some 10 s more than 5x.
  const emulator = { jobLatencyMs: 1000, throttle: { rps: 5, burst: 5 }, recordCalls: true };
  const sample = () => loadAccount({ accountId: ACCOUNT_ID, entities: Array.from({ length: 150 }, (_, i) => ({ type: 'role', name: `app-${i}`, path: '/', services: [] })) });
  const throttled = (run: LocalRunResult) => run.stats.iamCallLog.filter((c) => c.operation === 'GenerateServiceLastAccessedDetails' && c.outcome === 'Throttling').length;
  let first: LocalRunResult;
  let second: LocalRunResult;

  beforeAll(async () => {
    [first, second] = await twoNights(sample, dir, 2, emulator);
  }, 240_000);

  it('keeps the rate the first run measured, and starts the next run there rather than finding it again through throttles', () => {
    expect([first.summary!.status, second.summary!.status]).toEqual(['COMPLETED', 'COMPLETED']);
    const rates = readJson<LongJobs>(dir, `runs/${first.runId}/long-jobs.json`).callRates![ACCOUNT_ID];
    expect(rates.generate).toBeGreaterThan(4);
    expect(rates.generate).toBeLessThanOrEqual(5.5);
    expect(throttled(first)).toBeGreaterThanOrEqual(2);
    expect(throttled(second)).toBeLessThan(throttled(first));
  });
});

describe('long jobs through nights that do not audit everything', () => {
  const dir = tempDir('long-jobs-org-');
  const emulator = { jobLatencyMs: 1000, slowJobLatencyMs: 20_000, throttle: { rps: 5, burst: 5 }, recordCalls: true };
  const [AUDIT, SLOW_ACCOUNT, NO_ROLE] = ['111111111111', '222222222222', '333333333333'];
  const roles = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => ({ type: 'role', name: `${prefix}-${String(i).padStart(2, '0')}`, path: '/', services: [] }));
  const organization = () =>
    loadOrganization({
      organizationId: 'o-longjobs01',
      managementAccountId: AUDIT,
      auditAccountId: AUDIT,
      accounts: [
        { accountId: AUDIT, name: 'audit', entities: roles('hub', 6) },
        // The account IAM is slow in: its two slow jobs are listed last.
        { accountId: SLOW_ACCOUNT, name: 'workloads', entities: [...roles('app', 38), ...SLOW.map((name) => ({ type: 'role', name, path: '/', services: [], fault: 'slow-job' }))] },
        // An account the audit cannot enter: every full run is INCOMPLETE.
        { accountId: NO_ROLE, name: 'sandbox', memberRole: 'missing', entities: roles('dev', 4) },
      ],
    });
  const slowArn = (name: string) => `arn:aws:iam::${SLOW_ACCOUNT}:role/${name}`;
  const generatedIn = (run: LocalRunResult, accountId: string) =>
    generatedOrder({ ...run, stats: { ...run.stats, iamCallLog: run.stats.iamCallLog.filter((c) => c.accountId === accountId) } });
  const night = (input?: object) => runLocal({ organization: organization(), outDir: dir, timeScale: 100, settings: FAST_SETTINGS, emulator, input });
  const nights: LocalRunResult[] = [];

  beforeAll(async () => {
    nights.push(await night());
    nights.push(await night());
    // A run by hand for the audit account alone: COMPLETED, so latest.json moves to it.
    nights.push(await night({ accountIds: [AUDIT] }));
    nights.push(await night());
  }, 240_000);

  it('learns from an INCOMPLETE run: the next night generates its long jobs first', () => {
    expect(nights.map((n) => n.summary!.status)).toEqual(['INCOMPLETE', 'INCOMPLETE', 'COMPLETED', 'INCOMPLETE']);
    const [first, second] = nights.map((n) => generatedIn(n, SLOW_ACCOUNT));
    for (const name of SLOW) {
      expect(first.indexOf(slowArn(name))).toBeGreaterThanOrEqual(30);
      expect(second.indexOf(slowArn(name))).toBeLessThan(4);
    }
  });

  it('keeps what it learned of the accounts a narrowed run did not audit', () => {
    const narrowed = readJson<LongJobs>(dir, `runs/${nights[2].runId}/long-jobs.json`);
    expect(narrowed.accounts[SLOW_ACCOUNT].map((j) => j.arn).sort()).toEqual(SLOW.map(slowArn).sort());
    const fourth = generatedIn(nights[3], SLOW_ACCOUNT);
    expect(fourth).toHaveLength(40);
    for (const name of SLOW) expect(fourth.indexOf(slowArn(name))).toBeLessThan(4);
    expect(nights.flatMap(remadeInOneSession)).toEqual([]);
  });
});
