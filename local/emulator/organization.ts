/**
 * The emulator's multi-account input: an organization file (DESIGN.md "Organization file"). Each account
 * holds entities as an account file does. Parsing is strict, with the field's path in every error.
 *
 * Additions to the design's format, both optional: `organizationalUnits` (`[{ id, name, parentId }]`,
 * parents being the root or other OUs) and an account's `parentId` (default: the root), so that OU
 * filters can be tried; `rootId` (default `r-` and the organization id's letters).
 */
import { readFileSync } from 'node:fs';
import { AccountFileError, loadAccount, type Account } from './account';

export const ACCOUNT_STATUSES = ['ACTIVE', 'SUSPENDED'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

export interface OrganizationalUnit {
  readonly id: string;
  readonly name: string;
  readonly parentId: string;
}

export interface MemberAccount {
  readonly accountId: string;
  readonly name: string;
  readonly status: AccountStatus;
  /** Whether the member role exists: when missing, AssumeRole answers AccessDenied. */
  readonly memberRole: 'present' | 'missing';
  readonly parentId: string;
  readonly account: Account;
}

export interface Organization {
  /** Null for a lone account, which is not in an organization. */
  readonly organizationId: string | null;
  readonly managementAccountId: string;
  /** The hub: static keys act as one of its principals. */
  readonly auditAccountId: string;
  readonly memberRoleName: string;
  readonly rootId: string;
  readonly units: readonly OrganizationalUnit[];
  readonly accounts: readonly MemberAccount[];
  readonly byId: ReadonlyMap<string, MemberAccount>;
}

const ACCOUNT_ID = /^\d{12}$/;
const ORG_ID = /^o-[a-z0-9]{10,32}$/;
const OU_ID = /^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/;
const ROOT_ID = /^r-[0-9a-z]{4,32}$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

/** A lone account as an organization of one: its own hub, not in an organization. */
export function loneAccount(account: Account): Organization {
  const member: MemberAccount = { accountId: account.accountId, name: account.accountId, status: 'ACTIVE', memberRole: 'missing', parentId: 'r-none', account };
  return {
    organizationId: null,
    managementAccountId: account.accountId,
    auditAccountId: account.accountId,
    memberRoleName: 'IamAccessAuditMember',
    rootId: 'r-none',
    units: [],
    accounts: [member],
    byId: new Map([[account.accountId, member]]),
  };
}

export function readOrganizationFile(file: string): Organization {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AccountFileError(`organization file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'cannot be read' : 'is not valid JSON'} (${(err as Error).message})`);
  }
  return loadOrganization(json, file);
}

/** Validates an organization file and loads every account's entities. Throws AccountFileError naming the field. */
export function loadOrganization(json: unknown, source = 'organization file'): Organization {
  const fail = (field: string, problem: string): never => {
    throw new AccountFileError(`${source}: ${field} ${problem}`);
  };
  const root = objectAt(json, 'the file', fail);
  known(root, ['organizationId', 'managementAccountId', 'auditAccountId', 'memberRoleName', 'rootId', 'organizationalUnits', 'accounts'], '', fail);
  const organizationId = root.organizationId;
  if (typeof organizationId !== 'string' || !ORG_ID.test(organizationId)) fail('organizationId', 'must be an organization id such as "o-abc123def4"');
  for (const field of ['managementAccountId', 'auditAccountId']) {
    if (typeof root[field] !== 'string' || !ACCOUNT_ID.test(root[field] as string)) fail(field, 'must be a string of 12 digits');
  }
  const memberRoleName = root.memberRoleName ?? 'IamAccessAuditMember';
  if (typeof memberRoleName !== 'string' || !ROLE_NAME.test(memberRoleName)) fail('memberRoleName', 'must be an IAM role name');
  const rootId = root.rootId ?? `r-${(organizationId as string).slice(2, 6)}`;
  if (typeof rootId !== 'string' || !ROOT_ID.test(rootId)) fail('rootId', 'must be a root id such as "r-ab12"');

  const units: OrganizationalUnit[] = [];
  const unitsRaw = root.organizationalUnits ?? [];
  if (!Array.isArray(unitsRaw)) fail('organizationalUnits', 'must be an array');
  (unitsRaw as unknown[]).forEach((raw, i) => {
    const at = `organizationalUnits[${i}]`;
    const u = objectAt(raw, at, fail);
    known(u, ['id', 'name', 'parentId'], at, fail);
    if (typeof u.id !== 'string' || !OU_ID.test(u.id)) fail(`${at}.id`, 'must be an OU id such as "ou-ab12-cd34ef56"');
    if (units.some((p) => p.id === u.id)) fail(`${at}.id`, `repeats OU ${u.id}`);
    if (typeof u.name !== 'string' || u.name.length === 0) fail(`${at}.name`, 'must be a non-empty string');
    const parentId = u.parentId ?? rootId;
    if (parentId !== rootId && !units.some((p) => p.id === parentId)) fail(`${at}.parentId`, `must be the root (${rootId}) or an OU listed before it`);
    units.push({ id: u.id as string, name: u.name as string, parentId: parentId as string });
  });

  if (!Array.isArray(root.accounts) || root.accounts.length === 0) fail('accounts', 'must be a non-empty array');
  const accounts: MemberAccount[] = [];
  const byId = new Map<string, MemberAccount>();
  (root.accounts as unknown[]).forEach((raw, i) => {
    const at = `accounts[${i}]`;
    const a = objectAt(raw, at, fail);
    known(a, ['accountId', 'name', 'status', 'memberRole', 'parentId', 'awsManagedPolicies', 'entities'], at, fail);
    if (typeof a.accountId !== 'string' || !ACCOUNT_ID.test(a.accountId)) fail(`${at}.accountId`, 'must be a string of 12 digits');
    if (byId.has(a.accountId as string)) fail(`${at}.accountId`, `repeats account ${a.accountId}`);
    if (typeof a.name !== 'string' || a.name.length === 0) fail(`${at}.name`, 'must be a non-empty string');
    const status = a.status ?? 'ACTIVE';
    if (!(ACCOUNT_STATUSES as readonly unknown[]).includes(status)) fail(`${at}.status`, `must be one of ${ACCOUNT_STATUSES.join(', ')}`);
    const memberRole = a.memberRole ?? 'present';
    if (memberRole !== 'present' && memberRole !== 'missing') fail(`${at}.memberRole`, 'must be "present" or "missing"');
    const parentId = a.parentId ?? rootId;
    if (parentId !== rootId && !units.some((u) => u.id === parentId)) fail(`${at}.parentId`, `must be the root (${rootId}) or an OU of organizationalUnits`);
    const account = loadAccount({ accountId: a.accountId, ...(a.awsManagedPolicies ? { awsManagedPolicies: a.awsManagedPolicies } : {}), entities: a.entities ?? [] }, source, at);
    const member: MemberAccount = { accountId: a.accountId as string, name: a.name as string, status: status as AccountStatus, memberRole: memberRole as 'present' | 'missing', parentId: parentId as string, account };
    accounts.push(member);
    byId.set(member.accountId, member);
  });
  return {
    organizationId: organizationId as string,
    managementAccountId: root.managementAccountId as string,
    auditAccountId: root.auditAccountId as string,
    memberRoleName: memberRoleName as string,
    rootId: rootId as string,
    units,
    accounts,
    byId,
  };
}

type Fail = (field: string, problem: string) => never;

function objectAt(raw: unknown, at: string, fail: Fail): Record<string, unknown> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(at, 'must be a JSON object');
  return raw as Record<string, unknown>;
}

function known(o: Record<string, unknown>, allowed: readonly string[], at: string, fail: Fail): void {
  for (const key of Object.keys(o)) if (!allowed.includes(key)) fail(at ? `${at}.${key}` : key, `is not a known field (allowed: ${allowed.join(', ')})`);
}
