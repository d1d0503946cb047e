import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { IAMClient, ListRolesCommand } from '@aws-sdk/client-iam';
import { MemberSessions, ORGANIZATIONS_MAX_ATTEMPTS, organizationAccounts, renewingSender } from '../../lambda/core/accounts';
import { generateSampleOrganization, loadOrganization, ScaledClock, startEmulator, type RunningEmulator } from '../../local/emulator';

const credentials = { accessKeyId: 'AKIDHUBPRINCIPAL0001', secretAccessKey: 'hub-secret' };
const client = <T>(Client: new (config: object) => T, url: string, maxAttempts = 1): T => new Client({ region: 'us-east-1', endpoint: url, credentials, maxAttempts });

describe('accounts of an organization', () => {
  let emulator: RunningEmulator;
  const file = generateSampleOrganization({ accounts: 45, entitiesPerAccount: 0, seed: 'paging' });
  const organization = loadOrganization(file);
  afterEach(() => emulator?.close());

  it('are all listed through pages of at most 20, past the empty pages Organizations may answer', async () => {
    emulator = await startEmulator({ organization, credentials: [credentials], recordCalls: true });
    const found = await organizationAccounts(client(OrganizationsClient, emulator.url), []);
    expect(found.map((a) => a.accountId).sort()).toEqual(organization.accounts.map((a) => a.accountId).sort());
    expect(found.every((a) => a.status === 'ACTIVE' && a.name)).toBe(true);
    // Each account's ARN names the organization's management account: Propose reads it in the roles' trust.
    expect(new Set(found.map((a) => a.managementAccountId))).toEqual(new Set([organization.managementAccountId]));
    const pages = emulator.calls().filter((c) => c.operation === 'ListAccounts');
    // 45 accounts, 20 a page, every other page empty: 3 full pages and 3 empty ones.
    expect(pages).toHaveLength(6);
  });

  it('are all listed while Organizations throttles, its refusals retried by a client configured as Plan\'s; one that does not retry fails', async () => {
    // Two calls a second, one at once: every other page is refused with TooManyRequestsException.
    const organizationsThrottle = { rps: 2, burst: 1 };
    emulator = await startEmulator({ organization, credentials: [credentials], recordCalls: true, organizationsThrottle });
    const patient = client(OrganizationsClient, emulator.url, ORGANIZATIONS_MAX_ATTEMPTS);
    const found = await organizationAccounts(patient, []).finally(() => patient.destroy());
    expect(found.map((a) => a.accountId).sort()).toEqual(organization.accounts.map((a) => a.accountId).sort());
    const outcomes = emulator.calls().filter((c) => c.operation === 'ListAccounts').map((c) => c.outcome);
    expect(outcomes.filter((o) => o === 'TooManyRequestsException').length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o === 'OK')).toHaveLength(6);
    await emulator.close();

    emulator = await startEmulator({ organization, credentials: [credentials], organizationsThrottle });
    await expect(organizationAccounts(client(OrganizationsClient, emulator.url), [])).rejects.toMatchObject({ name: 'TooManyRequestsException' });
  }, 60_000);

  it('are narrowed to the accounts under an OU, at any depth', async () => {
    const nested = JSON.parse(JSON.stringify(file));
    const workloads = nested.organizationalUnits[0].id;
    nested.organizationalUnits.push({ id: 'ou-abcd-nestedou1', name: 'Nested', parentId: workloads });
    nested.accounts[4].parentId = 'ou-abcd-nestedou1';
    const org = loadOrganization(nested);
    emulator = await startEmulator({ organization: org, credentials: [credentials] });
    const found = await organizationAccounts(client(OrganizationsClient, emulator.url), [workloads]);
    const expected = org.accounts.filter((a) => a.parentId === workloads || a.parentId === 'ou-abcd-nestedou1').map((a) => a.accountId);
    expect(found.map((a) => a.accountId).sort()).toEqual(expected.sort());
    expect(found.map((a) => a.accountId)).toContain(org.accounts[4].accountId);
    expect(found.every((a) => a.managementAccountId === org.managementAccountId)).toBe(true);
  });

  it('are refused to a principal of a member account, as Organizations refuses it', async () => {
    emulator = await startEmulator({ organization, credentials: [credentials] });
    const sessions = new MemberSessions({ sts: client(STSClient, emulator.url), clock: emulator.clock, memberRoleName: organization.memberRoleName, partition: 'aws', sessionName: 'test' });
    const member = organization.accounts[3].accountId;
    const session = await sessions.renew(member);
    expect(session.expiresAt).toBeGreaterThan(emulator.clock.now());
    const memberCredentials = await (session.iam.config.credentials as () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken: string }>)();
    const asMember = new OrganizationsClient({ region: 'us-east-1', endpoint: emulator.url, credentials: memberCredentials, maxAttempts: 1 });
    await expect(organizationAccounts(asMember, [])).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringMatching(/^listing the organization's accounts: .*the audit account must be the management account/),
    });
  });

  it('fail with Organizations\' code, naming the setting\'s parent that Organizations does not know', async () => {
    emulator = await startEmulator({ organization, credentials: [credentials] });
    const unknown = 'ou-zzzz-zzzzzzzz';
    await expect(organizationAccounts(client(OrganizationsClient, emulator.url), [organization.rootId, unknown])).rejects.toMatchObject({
      name: 'ParentNotFoundException',
      message: `listing the accounts of ${unknown} (accounts.organizationalUnitIds): We can't find a root or OU with the ParentId that you specified.`,
    });
  });
});

describe('the state of an account', () => {
  it('is read from its State, which replaced the retired Status, and from its Status where an answer has no State', async () => {
    const accounts = [
      { Id: '111111111111', State: 'ACTIVE' },
      { Id: '222222222222', State: 'PENDING_CLOSURE', Status: 'ACTIVE' },
      { Id: '333333333333', State: 'CLOSED' },
      { Id: '444444444444', Status: 'SUSPENDED' },
      { Id: '555555555555' },
    ];
    const organizations = { send: async () => ({ Accounts: accounts }) } as unknown as OrganizationsClient;
    const found = await organizationAccounts(organizations, []);
    expect(found.map((a) => [a.accountId, a.status])).toEqual([
      ['111111111111', 'ACTIVE'],
      ['222222222222', 'PENDING_CLOSURE'],
      ['333333333333', 'CLOSED'],
      ['444444444444', 'SUSPENDED'],
      ['555555555555', 'UNKNOWN'],
    ]);
  });
});

describe("the organization's management account", () => {
  it("is the account an account's ARN names, in any partition; none without an ARN of that form", async () => {
    const accounts = [
      { Id: '222222222222', Arn: 'arn:aws:organizations::111111111111:account/o-exampleorg1/222222222222' },
      { Id: '333333333333', Arn: 'arn:aws-us-gov:organizations::444444444444:account/o-exampleorg2/333333333333' },
      { Id: '555555555555', Arn: 'arn:aws:organizations::111111111111:ou/o-exampleorg1/ou-ab12-cd34ef56' },
      { Id: '666666666666' },
    ];
    const organizations = { send: async () => ({ Accounts: accounts }) } as unknown as OrganizationsClient;
    const found = await organizationAccounts(organizations, []);
    expect(found.map((a) => [a.accountId, a.managementAccountId])).toEqual([
      ['222222222222', '111111111111'],
      ['333333333333', '444444444444'],
      ['555555555555', undefined],
      ['666666666666', undefined],
    ]);
  });
});

describe('member-role sessions', () => {
  let emulator: RunningEmulator;
  afterEach(() => emulator?.close());

  it('reach IAM in the account entered, renew before they end, and renew again when IAM says ExpiredToken', async () => {
    const organization = loadOrganization(generateSampleOrganization({ accounts: 3, entitiesPerAccount: 12, seed: 'sessions' }));
    const clock = new ScaledClock(1000);
    emulator = await startEmulator({ organization, clock, credentials: [credentials], maxSessionSeconds: 900 });
    const sessions = new MemberSessions({
      sts: client(STSClient, emulator.url),
      clock,
      memberRoleName: organization.memberRoleName,
      partition: 'aws',
      sessionName: 'test',
      iamClient: (c) => new IAMClient({ region: 'us-east-1', endpoint: emulator.url, credentials: c, maxAttempts: 1 }),
    });
    const target = organization.accounts[2];
    const iam = renewingSender(sessions, target.accountId);
    const roles = await iam.send(new ListRolesCommand({ MaxItems: 1000 }));
    expect(roles.Roles!.map((r) => r.Arn).sort()).toEqual(target.account.entities.filter((e) => e.type === 'role').map((e) => e.arn).sort());
    expect(emulator.stats().iamCallsByAccount).toEqual({ [target.accountId]: 1 });
    // 14 simulated minutes later (a quarter of the session left is 225 s): the next call renews first.
    await clock.sleep(14 * 60_000);
    await iam.send(new ListRolesCommand({}));
    expect(emulator.stats().sessions).toBe(2);
    // A session pinned for a job is used as is: once it has ended, IAM answers ExpiredToken.
    const pinned = await iam.pin!();
    await clock.sleep(16 * 60_000);
    await expect(pinned.send(new ListRolesCommand({}))).rejects.toMatchObject({ name: 'ExpiredToken' });
    // The renewing sender gets a new session and goes on.
    await expect(iam.send(new ListRolesCommand({}))).resolves.toBeDefined();
    expect(emulator.stats().sessions).toBe(3);
    // Workers that find the session old at once share one AssumeRole, and all go on.
    await clock.sleep(14 * 60_000);
    await Promise.all(Array.from({ length: 6 }, () => iam.send(new ListRolesCommand({}))));
    expect(emulator.stats().sessions).toBe(4);
  });
});

describe('who STS says the caller is', () => {
  let emulator: RunningEmulator;
  afterEach(() => emulator?.close());

  it('a static key: a user of the audit account; a member-role session: the role\'s id and the session\'s name, in the account entered', async () => {
    const organization = loadOrganization(generateSampleOrganization({ accounts: 2, entitiesPerAccount: 0, seed: 'identity' }));
    emulator = await startEmulator({ organization, credentials: [credentials] });
    const sts = client(STSClient, emulator.url);
    const hub = await sts.send(new GetCallerIdentityCommand({}));
    expect(hub).toMatchObject({ Account: organization.auditAccountId, Arn: `arn:aws:iam::${organization.auditAccountId}:user/${credentials.accessKeyId}` });
    expect(hub.UserId).toMatch(/^AIDA[A-Z2-7]{17}$/);

    const member = organization.accounts.find((a) => a.accountId !== organization.auditAccountId)!.accountId;
    const RoleArn = `arn:aws:iam::${member}:role/${organization.memberRoleName}`;
    const [first, second] = await Promise.all(['night-1', 'night-2'].map((RoleSessionName) => sts.send(new AssumeRoleCommand({ RoleArn, RoleSessionName }))));
    expect(first.AssumedRoleUser).toEqual({ AssumedRoleId: expect.stringMatching(/^AROA[A-Z2-7]{17}:night-1$/), Arn: `arn:aws:sts::${member}:assumed-role/${organization.memberRoleName}/night-1` });
    // The role's id is the role's, whichever the session.
    expect(second.AssumedRoleUser!.AssumedRoleId!.split(':')[0]).toBe(first.AssumedRoleUser!.AssumedRoleId!.split(':')[0]);
    const c = first.Credentials!;
    const asMember = new STSClient({ region: 'us-east-1', endpoint: emulator.url, maxAttempts: 1, credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! } });
    expect(await asMember.send(new GetCallerIdentityCommand({}))).toMatchObject({ Account: member, Arn: first.AssumedRoleUser!.Arn, UserId: first.AssumedRoleUser!.AssumedRoleId });
  });
});
