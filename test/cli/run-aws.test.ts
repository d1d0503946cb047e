/**
 * `run --aws` end to end, with the emulator standing in for AWS and reached only through the SDK's
 * standard configuration: a temporary HOME with ~/.aws/config and ~/.aws/credentials, a named profile,
 * and AWS_ENDPOINT_URL_IAM / _STS. The run's reports equal those of `run --local` on the same account;
 * every call is signed with the profile's key; nothing is written but the output directory. Missing,
 * expired and denied credentials each say so once; Ctrl-C leaves an INCOMPLETE summary.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { EntityReport, LatestPointer, RunSummary } from '../../lambda/core/model';
import { App, Stack } from 'aws-cdk-lib';
import { generateReportsStatement, listEntitiesStatement, readAuthorizationStatement, readReportsStatement } from '../../lib/audit-permissions';
import { ORGANIZATION_POLICY, READ_ONLY_POLICY } from '../../cli/run-aws-command';
import { generateSampleAccount, generateSampleOrganization, loadAccount, loadOrganization, startEmulator, type Account, type Credentials, type RunningEmulator } from '../../local/emulator';
import { runLocal } from '../../local/runner/run-local';
import { interruptAfterReports, reportFiles } from '../helpers/expectations';
import { notInPolicies } from '../helpers/grants';
import { runWatched, type ProcessResult } from '../helpers/processes';
import { tempDir } from '../helpers/temp';

const BIN = join(__dirname, '..', '..', 'bin', 'iam-access-audit.cjs');
const PROFILE_KEY: Credentials = { accessKeyId: 'AKIAPROFILEKEY000001', secretAccessKey: 'profile-secret-key' };
const RUN_TIMEOUT = 180_000;

/**
 * The command line in a fresh working directory and HOME, with only the SDK's standard configuration to
 * go on. `watch` sees the output so far on every line and every 200 ms, and may interrupt the run.
 */
function cli(home: string, cwd: string, args: string[], extraEnv: NodeJS.ProcessEnv, watch?: Parameters<typeof runWatched>[2]['watch']): Promise<ProcessResult> {
  return runWatched(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', ...extraEnv }, cwd, watch });
}

/** A HOME whose ~/.aws holds one profile, "audit", with the given key. */
function homeWith(key: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): string {
  const home = tempDir('aws-home-');
  mkdirSync(join(home, '.aws'));
  writeFileSync(join(home, '.aws', 'config'), '[profile audit]\nregion = eu-west-1\n');
  writeFileSync(
    join(home, '.aws', 'credentials'),
    `[audit]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\n${key.sessionToken ? `aws_session_token = ${key.sessionToken}\n` : ''}`,
  );
  return home;
}

function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).map((f) => relative(dir, join(dir, f))).sort();
}

/** What a report says that does not depend on when or under which run id it was made. */
function essence(report: EntityReport) {
  return { entity: report.entity, services: report.services, unused: report.findings.unusedServices, neverUsed: report.findings.neverUsedServices };
}

describe('run --aws, against the emulator through the SDK\'s standard configuration', () => {
  let account: Account;
  let emulator: RunningEmulator;
  let endpoints: NodeJS.ProcessEnv;

  beforeAll(async () => {
    const file = generateSampleAccount({ entities: 40, seed: 'run-aws', asOf: new Date() });
    for (const e of file.entities) delete (e as { fault?: string }).fault;
    account = loadAccount(file);
    emulator = await startEmulator({
      account,
      strictAuth: true,
      jobLatencyMs: 300,
      recordCalls: true,
      credentials: [
        PROFILE_KEY,
        { accessKeyId: 'ASIAEXPIREDKEY000001', secretAccessKey: 'expired-secret', expired: true },
        { accessKeyId: 'AKIANOGENERATE000001', secretAccessKey: 'no-generate', deny: { actions: ['iam:GenerateServiceLastAccessedDetails'] } },
        { accessKeyId: 'AKIANOUSERJOBS000001', secretAccessKey: 'no-user-jobs', deny: { actions: ['iam:GenerateServiceLastAccessedDetails'], arnPrefixes: [`arn:aws:iam::${account.accountId}:user/`] } },
      ],
    });
    endpoints = { AWS_ENDPOINT_URL_IAM: emulator.url, AWS_ENDPOINT_URL_STS: emulator.url };
  });

  afterAll(async () => {
    await emulator?.close();
  });

  describe('a whole run, then an interrupted one', () => {
    const home = homeWith(PROFILE_KEY);
    const cwd = tempDir('run-aws-');
    let first: ProcessResult;

    beforeAll(async () => {
      emulator.resetStats();
      first = await cli(home, cwd, ['run', '--aws', '--profile', 'audit', '--out', 'results', '--calls-per-second', '20'], endpoints);
    }, RUN_TIMEOUT);

    it('prints the caller first, runs to COMPLETED, and ends with the report page', () => {
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      const lines = first.stdout.split('\n');
      expect(lines[0]).toBe(`Auditing AWS account ${account.accountId} as arn:aws:iam::${account.accountId}:user/${PROFILE_KEY.accessKeyId} (profile audit), region eu-west-1`);
      expect(first.stdout).toContain("IAM's rate limits are shared by everything in the account");
      expect(first.stdout).toMatch(/Run local-\S+ completed in/);
      expect(first.stdout).toMatch(/Report: {3}results\/runs\/local-\S+\/report\.html/);
    });

    it('writes the same reports as run --local on the same account', async () => {
      const latest = JSON.parse(readFileSync(join(cwd, 'results', 'latest.json'), 'utf8')) as LatestPointer;
      const local = tempDir('run-aws-local-');
      const reference = await runLocal({ account, outDir: local, timeScale: 200, emulator: { jobLatencyMs: 300 } });
      const mine = reportFiles(join(cwd, 'results'), latest.runId).map((k) => relative(`runs/${latest.runId}`, k));
      const theirs = reportFiles(local, reference.runId).map((k) => relative(`runs/${reference.runId}`, k));
      expect(mine.length).toBeGreaterThan(30);
      expect(mine).toEqual(theirs);
      for (const key of mine) {
        const a = JSON.parse(readFileSync(join(cwd, 'results', 'runs', latest.runId, key), 'utf8')) as EntityReport;
        const b = JSON.parse(readFileSync(join(local, 'runs', reference.runId, key), 'utf8')) as EntityReport;
        expect(essence(a)).toEqual(essence(b));
      }
      const summary = JSON.parse(readFileSync(join(cwd, 'results', 'runs', latest.runId, 'summary.json'), 'utf8')) as RunSummary;
      expect(summary.entities).toEqual(reference.summary!.entities);
      expect(summary.proposals).toEqual(reference.summary!.proposals);
    }, RUN_TIMEOUT);

    it("signs every call with the profile's key, and writes nothing but the output directory", () => {
      // The run --local reference above used the emulator of its own: these counters are this run's.
      expect(Object.keys(emulator.stats().callsByKey)).toEqual([PROFILE_KEY.accessKeyId]);
      expect(emulator.calls().every((c) => c.caller === PROFILE_KEY.accessKeyId)).toBe(true);
      // Every action is one the read-only policy the README asks to attach allows.
      expect(notInPolicies(emulator.calls(), [READ_ONLY_POLICY])).toEqual([]);
      expect(filesUnder(home)).toEqual(['.aws', '.aws/config', '.aws/credentials']);
      expect(readdirSync(cwd)).toEqual(['results']);
    });

    it('stops on Ctrl-C: exit 130, an INCOMPLETE summary with the unsettled identities Interrupted, latest.json unmoved', async () => {
      const latestBefore = readFileSync(join(cwd, 'results', 'latest.json'), 'utf8');
      const runsBefore = new Set(readdirSync(join(cwd, 'results', 'runs')));
      const stop = interruptAfterReports(join(cwd, 'results'), runsBefore, 3);
      // The settings of the whole run above (its synth is kept): the third report comes some 6 s before
      // the last, so the run is stopped in the middle. The progress line comes every 30 s in a log: the
      // watcher also looks every 200 ms.
      const interrupted = await cli(home, cwd, ['run', '--aws', '--profile', 'audit', '--out', 'results', '--calls-per-second', '20'], endpoints, stop.watch);
      const runId = stop.runId()!;
      expect(runId).toBeDefined();
      expect(interrupted.code).toBe(130);
      expect(interrupted.stdout).toContain('Interrupted: no job starts now');
      expect(interrupted.stdout).toMatch(/Run local-\S+ INTERRUPTED/);
      expect(interrupted.stdout).toMatch(/IAM calls .* \(without the calls of the invocations the interrupt stopped\)/);
      expect(first.stdout).not.toContain('the interrupt stopped');
      const summary = JSON.parse(readFileSync(join(cwd, 'results', 'runs', runId, 'summary.json'), 'utf8')) as RunSummary;
      expect(summary.status).toBe('INCOMPLETE');
      const stopped = summary.failures.filter((f) => f.code === 'Interrupted');
      expect(stopped.length).toBeGreaterThan(0);
      expect(summary.entities.listed).toBe(summary.entities.reported + summary.entities.skipped + summary.entities.failed);
      const files = new Set(reportFiles(join(cwd, 'results'), runId));
      expect(files.size).toBe(summary.entities.reported);
      for (const f of stopped) expect([...files].some((k) => k.endsWith(`/${f.arn.split('/').pop()}.json`) && k.includes(`/${f.arn.split(':')[5].split('/')[0]}/`))).toBe(false);
      expect(readFileSync(join(cwd, 'results', 'latest.json'), 'utf8')).toBe(latestBefore);
    }, RUN_TIMEOUT);
  });

  it('says when there are no credentials at all, and exits 2', async () => {
    const home = tempDir('aws-home-empty-');
    const result = await cli(home, home, ['run', '--aws', '--out', 'x'], endpoints);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no AWS credentials found');
    expect(result.stderr).toContain('aws sso login');
    expect(existsSync(join(home, 'x'))).toBe(false);
  }, 60_000);

  it('says when the session has expired, and exits 2', async () => {
    const home = homeWith({ accessKeyId: 'ASIAEXPIREDKEY000001', secretAccessKey: 'expired-secret', sessionToken: 'an-old-session' });
    const result = await cli(home, home, ['run', '--aws', '--profile', 'audit', '--out', 'x'], endpoints);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the session of these credentials has expired (ExpiredToken): sign in again (aws sso login --profile audit)');
    expect(existsSync(join(home, 'x'))).toBe(false);
  }, 60_000);

  it('names the action and the statement to attach when Generate is denied for every identity, and exits 2', async () => {
    const home = homeWith({ accessKeyId: 'AKIANOGENERATE000001', secretAccessKey: 'no-generate' });
    const result = await cli(home, home, ['run', '--aws', '--profile', 'audit', '--out', 'x'], endpoints);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`arn:aws:iam::${account.accountId}:user/AKIANOGENERATE000001 may not call iam:GenerateServiceLastAccessedDetails`);
    expect(result.stderr).toContain('{"Effect":"Allow","Action":["iam:GenerateServiceLastAccessedDetails"],"Resource":"*"}');
    expect(result.stderr.trim().split('\n')).toHaveLength(3);
    expect(existsSync(join(home, 'x'))).toBe(false);
  }, 60_000);

  it('fails only the identities Generate is denied for, each with AccessDenied', async () => {
    const home = homeWith({ accessKeyId: 'AKIANOUSERJOBS000001', secretAccessKey: 'no-user-jobs' });
    const result = await cli(home, home, ['run', '--aws', '--profile', 'audit', '--out', 'x', '--calls-per-second', '20'], endpoints);
    const latestRun = readdirSync(join(home, 'x', 'runs'))[0];
    const summary = JSON.parse(readFileSync(join(home, 'x', 'runs', latestRun, 'summary.json'), 'utf8')) as RunSummary;
    const users = account.entities.filter((e) => e.type === 'user').map((e) => e.arn).sort();
    expect(summary.failures.map((f) => f.arn).sort()).toEqual(users);
    expect(new Set(summary.failures.map((f) => f.code))).toEqual(new Set(['AccessDenied']));
    expect(summary.entities.reported).toBe(summary.entities.listed - users.length - summary.entities.skipped);
    // More than maxFailedPercent failed: INCOMPLETE, exit 1, but the run went on for everyone else.
    expect(result.code).toBe(1);
  }, RUN_TIMEOUT);

  it('audits an organization from its management account with --org, through the member role', async () => {
    const file = generateSampleOrganization({ accounts: 3, entitiesPerAccount: 8, seed: 'run-aws-org', asOf: new Date() });
    for (const a of file.accounts) for (const e of a.entities) delete (e as { fault?: string }).fault;
    const organization = loadOrganization(file);
    const org = await startEmulator({ organization, strictAuth: true, jobLatencyMs: 300, credentials: [PROFILE_KEY], recordCalls: true });
    try {
      const home = homeWith(PROFILE_KEY);
      const result = await cli(home, home, ['run', '--aws', '--org', '--member-role', organization.memberRoleName, '--profile', 'audit', '--out', 'x', '--calls-per-second', '20'], {
        AWS_ENDPOINT_URL_IAM: org.url,
        AWS_ENDPOINT_URL_STS: org.url,
        AWS_ENDPOINT_URL_ORGANIZATIONS: org.url,
      });
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain(`Auditing AWS account ${organization.auditAccountId}`);
      const latest = JSON.parse(readFileSync(join(home, 'x', 'latest.json'), 'utf8')) as LatestPointer;
      const summary = JSON.parse(readFileSync(join(home, 'x', 'runs', latest.runId, 'summary.json'), 'utf8')) as RunSummary;
      expect(summary.accounts.map((a) => [a.accountId, a.status])).toEqual(organization.accounts.filter((a) => a.status === 'ACTIVE').map((a) => [a.accountId, 'audited']));
      expect(summary.entities.failed).toBe(0);
      expect(result.code).toBe(0);
      // Every account entered with the profile's key, through sessions AssumeRole issued to it.
      expect(org.stats().sessions).toBeGreaterThanOrEqual(summary.accounts.length);
      expect(Object.keys(org.stats().callsByKey).filter((k) => k.startsWith('AKIA'))).toEqual([PROFILE_KEY.accessKeyId]);
      // The profile's own calls are all the two policies the README asks to attach allow (the member role's, made with its sessions, are that role's).
      const own = org.calls().filter((c) => c.caller === PROFILE_KEY.accessKeyId);
      expect(new Set(own.map((c) => c.operation))).toEqual(new Set(['GetCallerIdentity', 'ListAccounts', 'AssumeRole']));
      expect(notInPolicies(own, [READ_ONLY_POLICY, ORGANIZATION_POLICY], { '<member role name>': organization.memberRoleName })).toEqual([]);
    } finally {
      await org.close();
    }
  }, RUN_TIMEOUT);

  it('documents, in its read-only policy, exactly the IAM actions the deployed functions are granted', () => {
    const stack = new Stack(new App({ outdir: tempDir('stack-') }));
    const deployed = [listEntitiesStatement(), readAuthorizationStatement(), generateReportsStatement(stack), readReportsStatement()].flatMap((s) => s.actions);
    expect([...READ_ONLY_POLICY.Statement[0].Action].sort()).toEqual([...deployed].sort());
    expect(ORGANIZATION_POLICY.Statement[0].Action).toEqual(['organizations:ListAccounts', 'organizations:ListAccountsForParent', 'organizations:ListOrganizationalUnitsForParent']);
  });
});
