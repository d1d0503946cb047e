/**
 * `iam-access-audit run --aws`: the audit of a real account from a laptop, with nothing deployed. The
 * synthesized workflow and the bundled functions run here, as `run --local` runs them, but against the
 * AWS endpoints the SDK's standard configuration chooses (profiles, SSO, environment credentials,
 * `AWS_ENDPOINT_URL_<SERVICE>`), in real time, with the caller's credentials: resolved once, so every
 * environment is the same session and reads the JobIds the others made. It only reads IAM (and, with
 * --org, Organizations); everything it writes goes to the output directory.
 */
import {
  GenerateServiceLastAccessedDetailsCommand,
  GetAccountAuthorizationDetailsCommand,
  GetServiceLastAccessedDetailsCommand,
  IAMClient,
  ListGroupsCommand,
  ListPoliciesCommand,
  ListRolesCommand,
  ListUsersCommand,
} from '@aws-sdk/client-iam';
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DEFAULT_MEMBER_ROLE_NAME, type AuditSettings } from '../lib/settings';
import { runLocal, type AwsTarget, type LocalRunProgress } from '../local/runner/run-local';
import { awsErrorLine, noCredentials } from './aws-errors';
import { numberFlag, parseFlags, UsageError } from './flags';
import { writableDirectoryFlag } from './files';
import { executionInputFromFlags, INPUT_FLAGS, INPUT_FLAGS_USAGE } from './input-flags';
import { exitNow, INTERRUPT_USAGE, interruptibly } from './interrupt';
import { duration, exitCodeOf, formatRunResult } from './run-command';

export const RUN_AWS_USAGE = `iam-access-audit run --aws [--profile P] [--region R] [--out DIR] [--input JSON] [--granularity G]
    [--arn ARN ...] [--account-ids ID,ID...] [--calls-per-second N] [--org [--member-role NAME]]

  Audits the account of your AWS credentials from this machine, with nothing deployed: the same
  workflow and code as a deployed run, executed here in real time, reading IAM with your credentials
  (the SDK's standard configuration: --profile or AWS_PROFILE, SSO, environment variables). Reports,
  summary, proposals and report.html go to DIR (default ./out-aws) in the S3 layout; nothing is written
  to the account. Your identity is printed first.
${INPUT_FLAGS_USAGE}
  --calls-per-second N  ceiling on calls a second to each IAM API (default ${5}, at most 50): IAM's rate
                        limits are shared by everything in the account; the run slows down further
                        on its own when IAM throttles it
  --org                 from the organization's management (or delegated administrator) account: audit
                        every ACTIVE account through the role --member-role (default ${DEFAULT_MEMBER_ROLE_NAME};
                        it must trust your principal, as OrganizationAccountAccessRole trusts the
                        management account)

${INTERRUPT_USAGE}
  Exits 0 when the run is COMPLETED, 1 when it is INCOMPLETE, 2 when the credentials are missing,
  expired or may not do what the run needs (the message names the action), or when the execution input
  is refused (an --account-ids id the run is not set to audit, too).`;

/** A gentle ceiling for a run from a laptop: the account's IAM budget is shared with everyone else. */
export const DEFAULT_AWS_CALLS_PER_SECOND = 5;

/**
 * Every action a run from a laptop needs, as a policy to attach (the README shows it). The deployed
 * stack's roles get the same actions, split between its functions (test/cli/run-aws.test.ts checks).
 */
export const READ_ONLY_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'IamAccessAuditReadOnly',
      Effect: 'Allow',
      Action: [
        'iam:ListUsers',
        'iam:ListGroups',
        'iam:ListRoles',
        'iam:ListPolicies',
        'iam:GetAccountAuthorizationDetails',
        'iam:GenerateServiceLastAccessedDetails',
        'iam:GetServiceLastAccessedDetails',
      ],
      Resource: '*',
    },
  ],
};

/** What `--org` adds: listing the organization, and entering each account through its member role. */
export const ORGANIZATION_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'ListOrganizationAccounts',
      Effect: 'Allow',
      Action: ['organizations:ListAccounts', 'organizations:ListAccountsForParent', 'organizations:ListOrganizationalUnitsForParent'],
      Resource: '*',
    },
    { Sid: 'EnterMemberAccounts', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: 'arn:aws:iam::*:role/<member role name>' },
  ],
};

/** The credentials are missing, expired or lack a permission: said once, clearly, and the run exits 2. */
export class AwsAccessError extends Error {
  override name = 'AwsAccessError';
}

/** Variables the environments take from this process: where the SDK sends requests, and how. */
const PASSED_VARIABLES = /^(AWS_ENDPOINT_URL(_\w+)?|AWS_CA_BUNDLE|AWS_USE_FIPS_ENDPOINT|AWS_USE_DUALSTACK_ENDPOINT|AWS_STS_REGIONAL_ENDPOINTS|NODE_EXTRA_CA_CERTS|HTTPS?_PROXY|NO_PROXY|https?_proxy|no_proxy)$/;

export async function runAwsCommand(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags(args, {
    aws: { type: 'boolean' },
    profile: { type: 'string' },
    region: { type: 'string' },
    out: { type: 'string' },
    ...INPUT_FLAGS,
    'calls-per-second': { type: 'string' },
    org: { type: 'boolean' },
    'member-role': { type: 'string' },
  });
  const input = executionInputFromFlags(flags);
  const callsPerSecond = numberFlag('calls-per-second', flags['calls-per-second'], { min: 0.1, max: 50 }) ?? DEFAULT_AWS_CALLS_PER_SECOND;
  if (flags.profile !== undefined && !/^[\w.@+=,-]{1,128}$/.test(flags.profile)) throw new UsageError(`--profile must be a profile name, got "${flags.profile}"`);
  if (flags.region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(flags.region)) throw new UsageError(`--region must be an AWS region such as us-east-1, got "${flags.region}"`);
  if (flags['member-role'] !== undefined && !flags.org) throw new UsageError('--member-role applies only with --org');
  const memberRoleName = flags['member-role'] ?? DEFAULT_MEMBER_ROLE_NAME;
  if (!/^[\w+=,.@-]{1,64}$/.test(memberRoleName)) throw new UsageError(`--member-role must be an IAM role name, got "${memberRoleName}"`);
  const outDir = writableDirectoryFlag('out', flags.out ?? 'out-aws');

  const target = await connect(flags.profile, flags.region);
  out.write(`Auditing AWS account ${target.accountId} as ${target.callerArn}${flags.profile ? ` (profile ${flags.profile})` : ''}, region ${target.region}\n`);
  out.write(
    `  Read-only, nothing deployed; results go to ${outDir}. IAM's rate limits are shared by everything in the account:\n` +
      `  this run makes at most ${callsPerSecond} calls a second to each IAM API, and fewer when IAM throttles it.\n`,
  );
  await checkPermissions(target, flags.org === true);

  const settings: Partial<AuditSettings> = {
    iamCallsPerSecond: callsPerSecond,
    ...(flags.org ? { accounts: { source: 'organization', memberRoleName, organizationalUnitIds: [], excludeAccountIds: [] } } : {}),
  };
  const show = progressPrinter(out);
  const { result, interruptedExitCode } = await interruptibly(out, show, (signal, onProgress) => runLocal({ aws: target.aws, outDir, input, settings, signal, onProgress }));
  out.write(formatRunResult(result, `in ${duration(result.stats.realSeconds)}`));
  if (interruptedExitCode !== null) return exitNow(out, interruptedExitCode);
  const denied = result.summary?.failures.filter((f) => f.code === 'AccessDenied') ?? [];
  if (result.summary && denied.length > 0 && denied.length === result.summary.entities.listed) {
    throw new AwsAccessError(`every identity's audit was denied (AccessDenied), e.g. ${denied[0].message}\n${grantAdvice(['iam:GenerateServiceLastAccessedDetails', 'iam:GetServiceLastAccessedDetails'])}`);
  }
  return exitCodeOf(result);
}

interface Connection {
  readonly accountId: string;
  readonly callerArn: string;
  readonly region: string;
  readonly aws: AwsTarget;
}

/** Resolves the caller's credentials once and asks STS who they are. */
async function connect(profile: string | undefined, regionFlag: string | undefined): Promise<Connection> {
  const sts = new STSClient({ ...(profile ? { profile } : {}), ...(regionFlag ? { region: regionFlag } : {}) });
  try {
    let region: string;
    try {
      region = regionFlag ?? (await sts.config.region());
    } catch {
      // IAM is global: without a configured region, its home region does.
      region = 'us-east-1';
    }
    const client = regionFlag ? sts : new STSClient({ ...(profile ? { profile } : {}), region });
    let credentials: Awaited<ReturnType<typeof sts.config.credentials>>;
    try {
      credentials = await client.config.credentials();
    } catch (err) {
      // An expired sign-in says so; any other failure to find credentials is that there are none to use.
      const said = awsErrorLine(err, profile);
      throw new AwsAccessError(said?.exitCode === 2 ? said.line : noCredentials(err as Error, profile));
    }
    let identity;
    try {
      identity = await client.send(new GetCallerIdentityCommand({}));
    } catch (err) {
      const said = awsErrorLine(err, profile);
      if (said?.exitCode === 2) throw new AwsAccessError(said.line);
      throw new AwsAccessError(`sts:GetCallerIdentity failed (${(err as Error).name}: ${(err as Error).message}): the run cannot tell whose account it would audit`);
    }
    const environment = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => PASSED_VARIABLES.test(e[0]) && e[1] !== undefined));
    if (client !== sts) client.destroy();
    return {
      accountId: identity.Account!,
      callerArn: identity.Arn!,
      region,
      aws: {
        accountId: identity.Account!,
        region,
        credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}) },
        environment,
      },
    };
  } finally {
    sts.destroy();
  }
}

/** The statement to attach, for an action the credentials may not call. */
function grantAdvice(actions: readonly string[]): string {
  return (
    `  Attach a policy with this statement to the principal (README, "Try it on your account", has the whole read-only policy):\n` +
    `  ${JSON.stringify({ Effect: 'Allow', Action: actions, Resource: '*' })}`
  );
}

/**
 * Before anything runs, one call of each kind the run makes, so that a missing permission is one clear
 * message naming the action rather than every identity failing: list each type, read the authorization
 * details (one page), generate a report on one identity
 * (a read: IAM only prepares a report), read it, and list the organization with --org. A denial limited
 * to some identities still shows, per identity, in the summary.
 */
async function checkPermissions(target: Connection, organization: boolean): Promise<void> {
  const config = { region: target.region, credentials: target.aws.credentials, maxAttempts: 5 };
  const iam = new IAMClient(config);
  const denied = (err: unknown) => ['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation'].includes((err as { name?: string }).name ?? '');
  const attempt = async <T>(action: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      if (denied(err)) throw new AwsAccessError(`${target.callerArn} may not call ${action} (${(err as Error).message})\n${grantAdvice([action])}`);
      throw err;
    }
  };
  try {
    if (organization) {
      const orgs = new OrganizationsClient(config);
      try {
        await attempt('organizations:ListAccounts', () => orgs.send(new ListAccountsCommand({ MaxResults: 1 })));
      } finally {
        orgs.destroy();
      }
      return;
    }
    const roles = await attempt('iam:ListRoles', () => iam.send(new ListRolesCommand({ MaxItems: 1 })));
    const users = await attempt('iam:ListUsers', () => iam.send(new ListUsersCommand({ MaxItems: 1 })));
    await attempt('iam:ListGroups', () => iam.send(new ListGroupsCommand({ MaxItems: 1 })));
    await attempt('iam:ListPolicies', () => iam.send(new ListPoliciesCommand({ Scope: 'Local', MaxItems: 1 })));
    await attempt('iam:GetAccountAuthorizationDetails', () => iam.send(new GetAccountAuthorizationDetailsCommand({ MaxItems: 1 })));
    const sample = roles.Roles?.[0]?.Arn ?? users.Users?.[0]?.Arn;
    if (!sample) return;
    const job = await attempt('iam:GenerateServiceLastAccessedDetails', () => iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: sample })));
    await attempt('iam:GetServiceLastAccessedDetails', () => iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: job.JobId!, MaxItems: 1 })));
  } finally {
    iam.destroy();
  }
}

/** One line of progress, with the time left once the rate of settling is known. */
function progressPrinter(out: NodeJS.WritableStream): { update: (p: LocalRunProgress) => void; done: () => void } {
  const tty = (out as NodeJS.WriteStream).isTTY === true;
  const started = Date.now();
  let firstSettledAt: number | null = null;
  let last = '';
  let lastPrinted = 0;
  return {
    update: (p) => {
      // Reports are counted as they are written; skips and failures as invocations return.
      const settled = p.reported + p.skipped + p.failed;
      const elapsed = (Date.now() - started) / 1000;
      if (settled > 0 && firstSettledAt === null) firstSettledAt = Date.now();
      let line: string;
      if (p.listed === null) {
        line = `  listing identities... ${duration(elapsed)}`;
      } else {
        const since = firstSettledAt === null ? 0 : (Date.now() - firstSettledAt) / 1000;
        const left = settled >= 5 && since > 5 ? ((p.listed - settled) * since) / settled : null;
        line = `  ${settled}/${p.listed} identities settled (${p.reported} reported, ${p.skipped} skipped, ${p.failed} failed) · ${duration(elapsed)}` + (left === null ? '' : ` · about ${duration(left)} left`);
      }
      if (line === last) return;
      // On a terminal the line is redrawn; in a log, one line every 30 seconds.
      if (tty) out.write(`\r\x1b[2K${line}`);
      else if (Date.now() - lastPrinted >= 30_000 || last === '') {
        out.write(`${line}\n`);
        lastPrinted = Date.now();
      }
      last = line;
    },
    done: () => {
      if (tty) out.write('\n');
    },
  };
}
