/**
 * The accounts a run audits and how to reach each one's IAM: the account the pipeline runs in, a list
 * of accounts, or the organization's accounts (listed with Organizations, as it pages: 1 to 20 a page,
 * pages that may be empty but still carry a NextToken). Another account is entered through its member
 * role with STS, one session per account per execution environment, renewed before it expires.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import {
  ListAccountsCommand,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  type Account as OrgAccount,
  type OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { Clock } from './clock';
import { ConfigurationError } from './errors';
import { selfAccountSource, type AccountSource, type AccountToAudit } from './plan';

/** The `accounts` setting, as the functions receive it (ACCOUNTS, JSON). */
export type AccountsConfig =
  | { readonly source: 'self' }
  | { readonly source: 'organization'; readonly memberRoleName: string; readonly organizationalUnitIds: readonly string[]; readonly excludeAccountIds: readonly string[] }
  | { readonly source: 'list'; readonly accountIds: readonly string[]; readonly memberRoleName: string };

export function parseAccountsConfig(text: string | undefined): AccountsConfig {
  if (text === undefined || text === '') return { source: 'self' };
  let config: AccountsConfig;
  try {
    config = JSON.parse(text) as AccountsConfig;
  } catch (err) {
    throw new ConfigurationError(`environment variable ACCOUNTS must be JSON: ${(err as Error).message}`);
  }
  if (!['self', 'organization', 'list'].includes(config?.source)) throw new ConfigurationError(`environment variable ACCOUNTS has an unknown source: ${text}`);
  return config;
}

/**
 * Attempts the Organizations client makes of each call. Organizations publishes no rates and throttles
 * the whole organization's callers together (TooManyRequestsException), and Plan lists every page in
 * one invocation: the SDK's default of 3 would fail the listing on a busy organization. The SDK's
 * standard retries back off exponentially (up to 20 s between attempts), some 45 s in all at worst.
 */
export const ORGANIZATIONS_MAX_ATTEMPTS = 10;

/** Organizations answers at most 20 items a page. */
const ORG_PAGE = 20;

/**
 * Organizations' refusal, its name kept (the workflow and the summary show it as the error's code), its
 * message saying what was being listed: "We can't find a root or OU with the ParentId that you specified"
 * does not say which one.
 */
function listingError(err: unknown, what: string): unknown {
  if (!(err instanceof Error)) return err;
  const advice =
    err.name === 'AccessDeniedException' || err.name === 'AWSOrganizationsNotInUseException'
      ? ' (the audit account must be the management account of an organization, or be allowed to read it: README, "A whole organization")'
      : '';
  const named = new Error(`${what}: ${err.message}${advice}`, { cause: err });
  named.name = err.name;
  return named;
}

/** Every item of an Organizations list, following NextToken through empty pages. */
async function allPages<T>(fetch: (token: string | undefined) => Promise<{ items?: T[]; NextToken?: string }>, what: string): Promise<T[]> {
  const all: T[] = [];
  let token: string | undefined;
  for (let pages = 1; ; pages++) {
    const page = await fetch(token).catch((err: unknown) => {
      throw listingError(err, what);
    });
    all.push(...(page.items ?? []));
    if (!page.NextToken) return all;
    if (page.NextToken === token) throw new Error(`${what}: Organizations returned the same NextToken twice (page ${pages})`);
    token = page.NextToken;
  }
}

/**
 * The organization's management account, as an account's ARN names it:
 * arn:<partition>:organizations::<management account>:account/o-<organization>/<account>.
 */
export function managementAccountOf(accountArn: string | undefined): string | undefined {
  return /^arn:[^:]+:organizations::(\d{12}):account\//.exec(accountArn ?? '')?.[1];
}

/** The organization's accounts, or those under the given OUs or roots at any depth. */
export async function organizationAccounts(organizations: OrganizationsClient, parentIds: readonly string[]): Promise<AccountToAudit[]> {
  // State replaced Status, which Organizations retired on 2026-09-09; Status serves answers without State.
  const toAudit = (a: OrgAccount): AccountToAudit => {
    const managementAccountId = managementAccountOf(a.Arn);
    return { accountId: a.Id!, name: a.Name ?? null, status: String(a.State ?? a.Status ?? 'UNKNOWN'), ...(managementAccountId ? { managementAccountId } : {}) };
  };
  if (parentIds.length === 0) {
    const accounts = await allPages(async (NextToken) => {
      const answer = await organizations.send(new ListAccountsCommand({ NextToken, MaxResults: ORG_PAGE }));
      return { items: answer.Accounts, NextToken: answer.NextToken };
    }, "listing the organization's accounts");
    return accounts.map(toAudit);
  }
  const found = new Map<string, AccountToAudit>();
  const queue = [...parentIds];
  const asked = new Set(parentIds);
  while (queue.length > 0) {
    const ParentId = queue.shift()!;
    // A parent the setting names may not exist: say where it was named.
    const parent = asked.has(ParentId) ? `${ParentId} (accounts.organizationalUnitIds)` : ParentId;
    const accounts = await allPages(async (NextToken) => {
      const answer = await organizations.send(new ListAccountsForParentCommand({ ParentId, NextToken, MaxResults: ORG_PAGE }));
      return { items: answer.Accounts, NextToken: answer.NextToken };
    }, `listing the accounts of ${parent}`);
    for (const a of accounts) found.set(a.Id!, toAudit(a));
    const children = await allPages(async (NextToken) => {
      const answer = await organizations.send(new ListOrganizationalUnitsForParentCommand({ ParentId, NextToken, MaxResults: ORG_PAGE }));
      return { items: answer.OrganizationalUnits, NextToken: answer.NextToken };
    }, `listing the OUs of ${parent}`);
    queue.push(...children.map((ou) => ou.Id!));
  }
  return [...found.values()];
}

export interface MemberSessionOptions {
  readonly sts: STSClient;
  readonly clock: Clock;
  readonly memberRoleName: string;
  /** From the function's own ARN: aws, aws-cn, aws-us-gov. */
  readonly partition: string;
  /** Names the session in the member account's CloudTrail. */
  readonly sessionName: string;
  /** Seconds a session lasts (role chaining from Lambda allows at most 3600). @default 3600 */
  readonly durationSeconds?: number;
  /** How the IAM client of a session is made (tests wrap it). */
  readonly iamClient?: (credentials: SessionCredentials) => IAMClient;
}

export interface SessionCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

interface Session {
  readonly iam: IAMClient;
  readonly expiresAt: number;
  readonly lifetime: number;
}

/**
 * One member-role session per account, kept for this execution environment: a job's Generate and Get go
 * through the same session. A session is renewed once less than a quarter of its life (or less than the
 * time asked for) is left; a job of the session before is then unknown to IAM, and is regenerated.
 */
export class MemberSessions {
  private readonly sessions = new Map<string, Session>();
  /** AssumeRole calls under way, one per account: workers that find the session old at once share one. */
  private readonly renewing = new Map<string, Promise<Session>>();

  constructor(private readonly options: MemberSessionOptions) {}

  /** An IAM client in the account, good for at least `validForMs` more (when a session can last that long). */
  async iam(accountId: string, validForMs = 0): Promise<IAMClient> {
    const { clock } = this.options;
    const session = this.sessions.get(accountId);
    const left = session ? session.expiresAt - clock.now() : 0;
    if (session && left > session.lifetime / 4 && left > Math.min(validForMs, session.lifetime / 2)) return session.iam;
    // The old session's client is not destroyed: jobs it generated may still be read through it.
    return (await this.renew(accountId)).iam;
  }

  /** The session of the account, made anew (after IAM answered ExpiredToken). */
  renew(accountId: string): Promise<Session> {
    const pending = this.renewing.get(accountId);
    if (pending) return pending;
    const assumed = this.assume(accountId).finally(() => this.renewing.delete(accountId));
    this.renewing.set(accountId, assumed);
    return assumed;
  }

  private async assume(accountId: string): Promise<Session> {
    const { sts, clock, memberRoleName, partition, sessionName } = this.options;
    const answer = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:${partition}:iam::${accountId}:role/${memberRoleName}`,
        RoleSessionName: sessionName.slice(0, 64),
        DurationSeconds: this.options.durationSeconds ?? 3600,
      }),
    );
    const c = answer.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) throw new Error(`AssumeRole into ${accountId} answered without credentials`);
    const credentials: SessionCredentials = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
    const iam = this.options.iamClient?.(credentials) ?? new IAMClient({ credentials, maxAttempts: 1 });
    const now = clock.now();
    const session: Session = { iam, expiresAt: c.Expiration.getTime(), lifetime: Math.max(1000, c.Expiration.getTime() - now) };
    this.sessions.set(accountId, session);
    return session;
  }
}

/**
 * The part of an IAM client the pipeline uses: something that sends commands; and, for a member-role
 * session that renews itself, `pin` gives the session of the moment (renewed first when it would not last
 * `validForMs` more), so that a job's Get goes through the session its Generate went through.
 */
export type IamSender = Pick<IAMClient, 'send'> & { pin?(validForMs?: number): Promise<Pick<IAMClient, 'send'>> };

/**
 * An IAM sender into the account that renews its member-role session before it runs out, and once more
 * when IAM answers ExpiredToken: calls never fail for an old session. A job of the session before is then
 * unknown to IAM, and AuditBatch regenerates it.
 */
export function renewingSender(sessions: MemberSessions, accountId: string): IamSender {
  const send = async (command: unknown): Promise<unknown> => {
    const iam = await sessions.iam(accountId);
    try {
      return await iam.send(command as never);
    } catch (err) {
      if ((err as { name?: string }).name !== 'ExpiredToken' && (err as { Code?: string }).Code !== 'ExpiredToken') throw err;
      const fresh = await sessions.renew(accountId);
      return fresh.iam.send(command as never);
    }
  };
  return { send, pin: (validForMs?: number) => sessions.iam(accountId, validForMs) } as IamSender;
}

/** Accounts to audit from the setting, narrowed by the execution input's `accountIds`. */
export function accountSource(config: AccountsConfig, self: { accountId: string; iam: IamSender }, reach: { organizations: OrganizationsClient; sessions: MemberSessions }): AccountSource {
  if (config.source === 'self') return selfAccountSource(self.accountId, self.iam);
  const accounts = async (): Promise<AccountToAudit[]> => {
    if (config.source === 'list') return config.accountIds.map((accountId) => ({ accountId, name: null, status: 'ACTIVE' }));
    const excluded = new Set(config.excludeAccountIds);
    return (await organizationAccounts(reach.organizations, config.organizationalUnitIds)).filter((a) => !excluded.has(a.accountId));
  };
  return { accounts, iam: async (accountId) => renewingSender(reach.sessions, accountId) };
}
