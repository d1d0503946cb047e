/**
 * Proposals for a template: the policy one identity (one type, path and name) holds in several accounts,
 * as a StackSet gives every account the same role with the same policies. Each account's proposal cuts
 * what that account did not use; the template can lose only what no account used. So a template's
 * proposal is made from the accounts' own, and only when they agree on what the policy is:
 *
 * - every account the identity is in has a report of it (else what it used there is not known) and a
 *   proposal for the policy (an account without one used all the policy grants, or holds another
 *   policy, or the identity is exempt there: either way the template keeps it whole);
 * - every account's current document is the same;
 * - none of them is a review (what cannot be trimmed in one account cannot be in the template).
 *
 * Then the template's use is every service some account used and, with ACTION_LEVEL data, every tracked
 * action some account used of them: a tracked action of a kept service goes only when every account that
 * used the service removed it (an account that did not use the service used none of its actions). The
 * proposal is the one `changeOf` makes from that use, proven never broader than the document and never
 * narrower than the use, as each account's was. An account whose own proposal kept a service whole (its
 * data SERVICE_LEVEL, or its list of actions past IAM's size limit) keeps it whole in the template.
 */
import { createHash } from 'node:crypto';
import { accountOfArn, type Failure } from './model';
import { POLICY_SIZE_LIMITS, type ActionSpace, type PolicyDocument } from './policy';
import { gatherShared, identityOf, type SharedMember } from './shared-identities';
import { changeOf, INLINE_LIMITS, reviewReason, type Change, type Proposal, type TargetKind } from './proposals';
import { mapConcurrently } from './store';

/** An identity of a template, account aside: `role/ci/deployer`, `policy/team/read-only`. */
export type TemplateIdentity = string;

export interface TemplateTarget {
  readonly kind: TargetKind;
  readonly policyName: string;
  /** The AWS managed policy of an attachment (the same ARN in every account); null otherwise. */
  readonly policyArn: string | null;
  /** The identity that holds the policy in each account; for a customer managed policy, the policy itself. */
  readonly identity: TemplateIdentity;
}

export interface SharedProposal extends Change {
  readonly templateId: string;
  readonly target: TemplateTarget;
  /** Each account's own proposal it is made from. */
  readonly accounts: readonly { readonly accountId: string; readonly proposalId: string; readonly removedServices: readonly string[] }[];
  readonly current: PolicyDocument;
}

export interface NotProposed {
  readonly target: TemplateTarget;
  readonly why: string;
}

/** The accounts an identity of a template is in, and those of them where it has no report. */
export interface IdentityAccounts {
  readonly accountIds: readonly string[];
  readonly unknownIn: readonly string[];
}

/**
 * Where each identity in several accounts is, and where it has no report, from the reported identities
 * and the ARNs of those without a report; null for an identity of one account alone.
 */
export function identityAccounts(reported: readonly SharedMember[], unreported: readonly Pick<Failure, 'arn'>[]): (identity: TemplateIdentity) => IdentityAccounts | null {
  const where = new Map(
    gatherShared(reported, unreported, () => {}).map((g) => [identityOf(g), { accountIds: g.accountIds, unknownIn: g.failures.map((i) => accountOfArn(unreported[i].arn)).sort() }]),
  );
  return (identity) => where.get(identity) ?? null;
}

export interface TemplateProposals {
  readonly proposals: readonly SharedProposal[];
  readonly notProposed: readonly NotProposed[];
}

/** The resource part of an IAM ARN, its account left out: `role/ci/deployer`. */
const resourceOf = (arn: string): string => arn.split(':').slice(5).join(':');

/** The template a policy belongs to, from a proposal's target or its index entry: the same target in every account. */
export function templateOf(t: { readonly kind: TargetKind; readonly policyName: string; readonly policyArn: string | null; readonly owner: string | null }): TemplateTarget {
  if (t.kind === 'managed-policy') return { kind: t.kind, policyName: t.policyName, policyArn: null, identity: resourceOf(t.policyArn!) };
  return { kind: t.kind, policyName: t.policyName, policyArn: t.kind === 'aws-managed-attachment' ? t.policyArn : null, identity: resourceOf(t.owner!) };
}

export function templateId(t: TemplateTarget): string {
  return `t-${createHash('sha256').update([t.kind, t.identity, t.policyArn ?? '', t.policyName].join('|')).digest('hex').slice(0, 16)}`;
}

/**
 * What a template proposal needs of one account's proposal: all but its documents, of which it keeps a
 * hash of the current one, for the accounts' documents are compared by it. Propose keeps one for each
 * proposal it writes, and reads back a document only for a template the accounts agree on.
 */
export interface TemplateMember extends Pick<Proposal, 'accountId' | 'proposalId' | 'action' | 'removedServices' | 'removedActions' | 'keptServices'> {
  readonly templateId: string;
  readonly target: TemplateTarget;
  /** SHA-256 of the current document's JSON. */
  readonly currentHash: string;
  /** A review's reason (its first note); null for the other actions. */
  readonly review: string | null;
}

export function memberOf(p: Proposal): TemplateMember {
  const target = templateOf({ ...p.target, owner: p.target.owner?.arn ?? null });
  return {
    templateId: templateId(target),
    target,
    accountId: p.accountId,
    proposalId: p.proposalId,
    action: p.action,
    removedServices: p.removedServices,
    removedActions: p.removedActions,
    keptServices: p.keptServices,
    currentHash: createHash('sha256').update(JSON.stringify(p.current)).digest('hex'),
    review: reviewReason(p),
  };
}

/** Documents read at once for the templates the accounts agree on. */
const DOCUMENT_READS = 32;

/**
 * The proposals for the templates of identities in several accounts, from the accounts' proposals
 * (`memberOf` each). `accountsOf` gives, for an identity of a template, every account it is in and
 * whether each has a report of it (`null` for an identity in one account alone: it is no template).
 * Those the accounts do not agree on are returned apart, with why; for each of the others `currentOf`
 * gives the document, once (it is the same in every account).
 */
export async function proposeShared(
  members: readonly TemplateMember[],
  accountsOf: (identity: TemplateIdentity) => IdentityAccounts | null,
  space: ActionSpace,
  currentOf: (member: TemplateMember) => Promise<PolicyDocument>,
): Promise<TemplateProposals> {
  const byTemplate = new Map<string, TemplateMember[]>();
  for (const m of members) {
    const same = byTemplate.get(m.templateId);
    if (same) same.push(m);
    else byTemplate.set(m.templateId, [m]);
  }
  const agreed: TemplateMember[][] = [];
  const notProposed: NotProposed[] = [];
  for (const same of byTemplate.values()) {
    const { target } = same[0];
    const where = accountsOf(target.identity);
    if (!where || where.accountIds.length < 2) continue;
    const apart = (why: string) => notProposed.push({ target, why });
    if (where.unknownIn.length > 0) {
      apart(`${target.identity} has no report in ${where.unknownIn.join(', ')}: what it used there is not known`);
      continue;
    }
    const proposed = new Set(same.map((m) => m.accountId));
    const without = where.accountIds.filter((a) => !proposed.has(a));
    if (without.length > 0) {
      apart(`no proposal in ${without.join(', ')}: there its use leaves nothing to cut (or too little of an AWS managed policy to replace it), it holds another policy, or it is exempt`);
      continue;
    }
    const documents = new Set(same.map((m) => m.currentHash));
    if (documents.size > 1) {
      apart(`its document is not the same in every account (${documents.size} different ones)`);
      continue;
    }
    const review = same.find((m) => m.review !== null);
    if (review) {
      apart(`a review in ${review.accountId}: ${review.review}`);
      continue;
    }
    agreed.push([...same].sort((a, b) => (a.accountId < b.accountId ? -1 : 1)));
  }
  const currents = await mapConcurrently(agreed, DOCUMENT_READS, (sorted) => currentOf(sorted[0]));
  const made: SharedProposal[] = [];
  agreed.forEach((sorted, i) => {
    const { target, templateId: id } = sorted[0];
    const current = currents[i];
    const usedServices = new Set(sorted.flatMap((m) => m.keptServices));
    const usage = { usedServices, unusedTrackedActions: unusedInEveryAccount(sorted, usedServices) };
    const ownerType = target.identity.slice(0, target.identity.indexOf('/')) as keyof typeof INLINE_LIMITS;
    const sizeLimit = target.kind === 'inline-policy' ? INLINE_LIMITS[ownerType] : POLICY_SIZE_LIMITS.managed;
    const owner = target.kind === 'managed-policy' ? null : { arn: target.identity, type: ownerType };
    const change = changeOf({ kind: target.kind, policyArn: target.policyArn, owner, sizeLimit }, current, usage, space);
    if (!change) {
      notProposed.push({ target, why: 'every service it grants was used in some account' });
      return;
    }
    made.push({
      templateId: id,
      target,
      accounts: sorted.map((m) => ({ accountId: m.accountId, proposalId: m.proposalId, removedServices: m.removedServices })),
      current,
      ...change,
    });
  });
  const removes = (p: SharedProposal) => p.removedServices.length + p.removedActions.length;
  made.sort((a, b) => (a.action === 'review' ? 1 : 0) - (b.action === 'review' ? 1 : 0) || removes(b) - removes(a) || (a.templateId < b.templateId ? -1 : 1));
  notProposed.sort((a, b) => (a.target.identity < b.target.identity ? -1 : a.target.identity > b.target.identity ? 1 : a.target.policyName < b.target.policyName ? -1 : 1));
  return { proposals: made, notProposed };
}

/**
 * For each service some account used, its tracked actions that no account used: those every account
 * that kept the service removed. Null when there are none (then whole services only are cut).
 */
function unusedInEveryAccount(members: readonly TemplateMember[], usedServices: ReadonlySet<string>): Map<string, Set<string>> | null {
  const unused = new Map<string, Set<string>>();
  for (const service of usedServices) {
    let inAll: Set<string> | null = null;
    for (const m of members) {
      if (!m.keptServices.includes(service)) continue;
      const removed = m.removedActions.map((a) => a.toLowerCase()).filter((a) => a.startsWith(`${service}:`));
      inAll = inAll === null ? new Set(removed) : new Set(removed.filter((a) => inAll!.has(a)));
    }
    if (inAll && inAll.size > 0) unused.set(service, inAll);
  }
  return unused.size > 0 ? unused : null;
}

/** The same, from the accounts' proposals read whole (`proposals --shared` for a run without the file, and tests). */
export function proposeSharedFrom(proposals: readonly Proposal[], accountsOf: (identity: TemplateIdentity) => IdentityAccounts | null, space: ActionSpace): Promise<TemplateProposals> {
  const currents = new Map(proposals.map((p) => [p.proposalId, p.current]));
  return proposeShared(proposals.map(memberOf), accountsOf, space, async (m) => currents.get(m.proposalId)!);
}
