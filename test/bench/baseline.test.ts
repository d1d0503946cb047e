/**
 * The Cloud Custodian replay the benchmark measures the pipeline against: it makes the calls Custodian's
 * `usage` filter makes, in its order, and lets time pass only as Custodian's sleeps and IAM's buckets do.
 */
import { custodianBaseline } from '../../bench/baseline';
import { accountOfArn } from '../../lambda/core/model';
import { loadAccount, loadOrganization, startEmulator, VirtualClock, type Account, type EmulatorOptions } from '../../local/emulator';

const entity = (type: string, name: string, extra: Record<string, unknown> = {}) => ({ type, name, path: '/', services: [{ namespace: 's3', name: 'Amazon S3' }], ...extra });
const JOBS = { jobLatencyMs: 3000, slowJobLatencyMs: 20_000 };
const STATIC_KEY = { accessKeyId: 'AKIDCUSTODIAN0000001' };

async function replay(where: Pick<EmulatorOptions, 'account' | 'organization' | 'throttle'>, accounts: Parameters<typeof custodianBaseline>[2]) {
  const clock = new VirtualClock();
  const emulator = await startEmulator({ ...where, ...JOBS, clock, recordCalls: true });
  try {
    const result = await custodianBaseline(emulator.url, clock, accounts, { random: () => 0.5 });
    return { result, calls: emulator.calls(), stats: emulator.stats() };
  } finally {
    await emulator.close();
  }
}

const arnsOf = (account: Account) => account.entities.map((e) => e.arn);

describe('the Cloud Custodian replay', () => {
  it('runs one identity type after another: every job generated, then looked at every 2 s until it leaves IN_PROGRESS, a FAILED one too', async () => {
    const account = loadAccount({
      accountId: '111122223333',
      entities: [entity('user', 'alice'), entity('user', 'bob'), entity('group', 'ops'), entity('role', 'app'), entity('role', 'flaky', { fault: 'job-fails' }), entity('role', 'slow', { fault: 'slow-job' })],
    });
    const { result, calls } = await replay({ account }, [{ arns: arnsOf(account), enter: STATIC_KEY }]);

    expect(result.audited).toBe(6);
    expect(result.iamCalls).toMatchObject({ generate: 6, throttled: 0 });
    const generated = calls.filter((c) => c.operation === 'GenerateServiceLastAccessedDetails');
    expect(generated.map((c) => c.arn!.split(':')[5])).toEqual(['user/alice', 'user/bob', 'group/ops', 'role/app', 'role/flaky', 'role/slow']);
    // The users' jobs take 3 s: looked at 0 s, 2 s and 4 s, then a 2 s sleep before the group's turn at 6 s.
    const start = calls[0].at;
    const at = (arn: string) => calls.filter((c) => c.operation === 'GenerateServiceLastAccessedDetails' && c.arn!.endsWith(arn)).map((c) => (c.at - start) / 1000);
    expect(at('group/ops')).toEqual([6]);
    expect(at('role/app')).toEqual([12]);
    // The slow role's job takes 20 s from 12 s: nothing of a type starts before the type before is done.
    expect(result.simulatedSeconds).toBeGreaterThanOrEqual(32);
    expect(result.simulatedSeconds).toBeLessThanOrEqual(36);
    const looks = calls.filter((c) => c.operation === 'GetServiceLastAccessedDetails');
    expect(looks.filter((c) => c.outcome === 'FAILED')).toHaveLength(1);
  });

  it('gets every identity\'s job through IAM\'s throttling, with botocore\'s retries and then Custodian\'s', async () => {
    // A call every 10 s: botocore's five attempts span 7.5 s here, so each Generate after the first needs Custodian's retry too.
    const account = loadAccount({ accountId: '111122223333', entities: Array.from({ length: 5 }, (_, i) => entity('user', `u${i}`)) });
    const { result, stats } = await replay({ account, throttle: { rps: 0.1, burst: 1 } }, [{ arns: arnsOf(account), enter: STATIC_KEY }]);

    const generate = stats.operations.GenerateServiceLastAccessedDetails;
    expect(generate.calls - generate.throttled - generate.errors).toBe(5);
    expect(result.iamCalls.throttled).toBeGreaterThan(0);
    expect(result.audited).toBe(5);
    expect(result.simulatedSeconds).toBeGreaterThanOrEqual(40);
  });

  it('audits an organization\'s accounts side by side, each through the role it assumes there', async () => {
    const members = ['333333333333', '444444444444', '555555555555'];
    const organization = loadOrganization({
      organizationId: 'o-abc123def4',
      managementAccountId: '111111111111',
      auditAccountId: '222222222222',
      accounts: members.map((accountId, i) => ({ accountId, name: `member-${i}`, entities: Array.from({ length: 10 }, (_, j) => entity('role', `r${j}`)) })),
    });
    const accounts = organization.accounts.map((m) => ({ arns: arnsOf(m.account), enter: { roleArn: `arn:aws:iam::${m.accountId}:role/${organization.memberRoleName}` } }));
    const { result, calls } = await replay({ organization, throttle: { rps: 2, burst: 2 } }, accounts);

    expect(result.audited).toBe(30);
    const generated = calls.filter((c) => c.operation === 'GenerateServiceLastAccessedDetails' && c.outcome !== 'Throttling');
    expect(generated).toHaveLength(30);
    expect(generated.every((c) => c.accountId === accountOfArn(c.arn!))).toBe(true);
    // Side by side: every account's first Generate comes before any account's last.
    const first = members.map((id) => Math.min(...generated.filter((c) => c.accountId === id).map((c) => c.at)));
    const last = members.map((id) => Math.max(...generated.filter((c) => c.accountId === id).map((c) => c.at)));
    expect(Math.max(...first)).toBeLessThan(Math.min(...last));
  });
});
