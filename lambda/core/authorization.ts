/**
 * An account's authorization details (GetAccountAuthorizationDetails, every page), read once per run by
 * Plan and kept in the run's working files for Propose: who has which inline policies and managed
 * attachments, users' groups, tags, and every attached managed policy's default document.
 */
import { GetAccountAuthorizationDetailsCommand, type GetAccountAuthorizationDetailsCommandOutput } from '@aws-sdk/client-iam';
import type { IamSender } from './accounts';
import { readAllPages, type IamCaller } from './iam-calls';
import { accountOfArn } from './model';
import { globToRegExp, listOf, statementsOf, type PolicyDocument } from './policy';

export interface IdentityDetails {
  readonly arn: string;
  readonly type: 'user' | 'group' | 'role';
  readonly name: string;
  readonly path: string;
  readonly createDate: string | null;
  readonly inlinePolicies: ReadonlyArray<{ readonly name: string; readonly document: PolicyDocument }>;
  readonly attachedPolicies: readonly string[];
  /** Users: the groups they are in. */
  readonly groups: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
  /** Roles: the AWS services its trust policy lets assume it (`trustOf`); users and groups: none. */
  readonly trustedServices: readonly string[];
  /** Roles: the AWS principals (accounts, as IAM keeps them, and roles, by ARN) its trust policy lets assume it (`trustOf`); users and groups: none. */
  readonly trustedAwsPrincipals: readonly string[];
}

export interface ManagedPolicyDetails {
  readonly arn: string;
  readonly name: string;
  readonly path: string;
  readonly createDate: string | null;
  readonly awsManaged: boolean;
  /** The default version's document. */
  readonly document: PolicyDocument;
  /** The default version's id and when it was made (when the document took its present form); absent in older working files. */
  readonly version?: PolicyVersionRef;
  /** Customer managed policies: the other versions IAM keeps (up to four), each with its document. */
  readonly earlierVersions?: ReadonlyArray<PolicyVersionRef & { readonly document: PolicyDocument }>;
}

export interface PolicyVersionRef {
  readonly id: string;
  readonly createDate: string | null;
}

export interface AuthorizationDetails {
  readonly accountId: string;
  /**
   * The organization's management account, when Plan listed the account with Organizations (an account's
   * ARN names it); null when the run's accounts are the pipeline's own or a list.
   */
  readonly managementAccountId: string | null;
  readonly identities: readonly IdentityDetails[];
  readonly policies: readonly ManagedPolicyDetails[];
}

/** The versions of a customer managed policy other than its default one, each with its document (AWS managed policies: none kept). */
function earlierVersionsOf(
  versions: NonNullable<GetAccountAuthorizationDetailsCommandOutput['Policies']>[number]['PolicyVersionList'] & object,
  current: { VersionId?: string } | undefined,
  awsManaged: boolean,
): Pick<ManagedPolicyDetails, 'earlierVersions'> {
  const earlier = awsManaged ? [] : versions.filter((v) => v !== current && v.VersionId && v.Document);
  if (earlier.length === 0) return {};
  return { earlierVersions: earlier.map((v) => ({ id: v.VersionId!, createDate: iso(v.CreateDate), document: decodeDocument(v.Document) })) };
}

/** IAM sends policy documents URL-encoded. */
export function decodeDocument(text: string | undefined): PolicyDocument {
  if (!text) return { Statement: [] };
  return JSON.parse(decodeURIComponent(text)) as PolicyDocument;
}

const assumesRole = (pattern: string): boolean => globToRegExp(pattern).test('sts:assumerole');

/** Who a role's trust policy lets assume it, by kind of principal. */
export type RoleTrust = Pick<IdentityDetails, 'trustedServices' | 'trustedAwsPrincipals'>;

/** Users and groups: no one assumes them. */
const NO_TRUST: RoleTrust = { trustedServices: [], trustedAwsPrincipals: [] };

/**
 * Who a role's trust policy lets assume it: the `Principal.Service` (lower-cased) and `Principal.AWS`
 * (as written, but `*`) of each Allow statement whose Action (or NotAction) grants `sts:AssumeRole`. A
 * Deny or a Condition does not take a principal away: the rules that read this make a role a review,
 * the side that changes nothing.
 */
export function trustOf(trust: PolicyDocument): RoleTrust {
  const services = new Set<string>();
  const aws = new Set<string>();
  for (const s of statementsOf(trust)) {
    if (s.Effect !== 'Allow' || typeof s.Principal !== 'object' || s.Principal === null) continue;
    const grants = s.Action !== undefined ? listOf(s.Action).some(assumesRole) : !listOf(s.NotAction).some(assumesRole);
    if (!grants) continue;
    const principal = s.Principal as { Service?: string | string[]; AWS?: string | string[] };
    for (const name of listOf(principal.Service)) if (typeof name === 'string') services.add(name.toLowerCase());
    for (const name of listOf(principal.AWS)) if (typeof name === 'string' && name !== '*') aws.add(name);
  }
  return { trustedServices: [...services].sort(), trustedAwsPrincipals: [...aws].sort() };
}

const iso = (d: Date | undefined): string | null => (d instanceof Date ? d.toISOString() : null);
const tagsOf = (tags: Array<{ Key?: string; Value?: string }> | undefined): Record<string, string> => Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));

/** The account's authorization details; `managementAccountId` is the organization's, when Plan knows it. */
export async function readAuthorizationDetails(iam: IamSender, caller: IamCaller, accountId: string, managementAccountId: string | null): Promise<AuthorizationDetails> {
  const pages: GetAccountAuthorizationDetailsCommandOutput[] = [];
  await readAllPages(async (Marker) => {
    const page = await caller.call('list', () => iam.send(new GetAccountAuthorizationDetailsCommand({ MaxItems: 1000, Marker })));
    pages.push(page);
    return { items: [], isTruncated: page.IsTruncated === true, marker: page.Marker };
  }, `reading the authorization details of ${accountId}`);
  const identities: IdentityDetails[] = [];
  const policies: ManagedPolicyDetails[] = [];
  for (const page of pages) {
    for (const u of page.UserDetailList ?? []) {
      identities.push({
        arn: u.Arn!,
        type: 'user',
        name: u.UserName!,
        path: u.Path ?? '/',
        createDate: iso(u.CreateDate),
        inlinePolicies: (u.UserPolicyList ?? []).map((p) => ({ name: p.PolicyName!, document: decodeDocument(p.PolicyDocument) })),
        attachedPolicies: (u.AttachedManagedPolicies ?? []).map((p) => p.PolicyArn!),
        groups: u.GroupList ?? [],
        tags: tagsOf(u.Tags),
        ...NO_TRUST,
      });
    }
    for (const g of page.GroupDetailList ?? []) {
      identities.push({
        arn: g.Arn!,
        type: 'group',
        name: g.GroupName!,
        path: g.Path ?? '/',
        createDate: iso(g.CreateDate),
        inlinePolicies: (g.GroupPolicyList ?? []).map((p) => ({ name: p.PolicyName!, document: decodeDocument(p.PolicyDocument) })),
        attachedPolicies: (g.AttachedManagedPolicies ?? []).map((p) => p.PolicyArn!),
        groups: [],
        tags: {},
        ...NO_TRUST,
      });
    }
    for (const r of page.RoleDetailList ?? []) {
      identities.push({
        arn: r.Arn!,
        type: 'role',
        name: r.RoleName!,
        path: r.Path ?? '/',
        createDate: iso(r.CreateDate),
        inlinePolicies: (r.RolePolicyList ?? []).map((p) => ({ name: p.PolicyName!, document: decodeDocument(p.PolicyDocument) })),
        attachedPolicies: (r.AttachedManagedPolicies ?? []).map((p) => p.PolicyArn!),
        groups: [],
        tags: tagsOf(r.Tags),
        ...trustOf(decodeDocument(r.AssumeRolePolicyDocument)),
      });
    }
    for (const p of page.Policies ?? []) {
      const version = (p.PolicyVersionList ?? []).find((v) => v.IsDefaultVersion) ?? p.PolicyVersionList?.[0];
      policies.push({
        arn: p.Arn!,
        name: p.PolicyName!,
        path: p.Path ?? '/',
        createDate: iso(p.CreateDate),
        awsManaged: accountOfArn(p.Arn!) === 'aws',
        document: decodeDocument(version?.Document),
        ...(version?.VersionId ? { version: { id: version.VersionId, createDate: iso(version.CreateDate) } } : {}),
        ...earlierVersionsOf(p.PolicyVersionList ?? [], version, accountOfArn(p.Arn!) === 'aws'),
      });
    }
  }
  return { accountId, managementAccountId, identities, policies };
}
