/**
 * Propose: after the batches, before Summarize. For each audited account it reads the authorization
 * details Plan kept and the run's reports, applies the proposal rules, and writes each proposal and
 * their index. The project never applies a proposal: it makes no IAM call at all.
 */
import type { AuthorizationDetails } from './authorization';
import type { Catalog } from './catalog';
import { byAccount, keys, PROPOSAL_ACTIONS, type BatchDescriptor, type BatchFile, type EntityReport, type ProposalAction, type RunInfo } from './model';
import type { PlanRecord } from './plan';
import type { ActionSpace } from './policy';
import { exemptionOf, proposeForAccount, type Exemptions, type Proposal } from './proposals';
import { getJson, getJsonOrNull, mapConcurrently, putJson, type ReportStore } from './store';

export interface ProposeDeps {
  readonly store: ReportStore;
  readonly catalog: Catalog;
  readonly space: ActionSpace;
  readonly exemptions: Exemptions;
}

export interface ProposeEvent {
  readonly run: RunInfo;
}

export interface ProposalIndexEntry {
  readonly proposalId: string;
  readonly accountId: string;
  readonly action: ProposalAction;
  readonly kind: Proposal['target']['kind'];
  readonly policyName: string;
  readonly policyArn: string | null;
  readonly owner: string | null;
  readonly removedServices: number;
  readonly removedActions: number;
  readonly key: string;
}

export interface ProposalIndex {
  readonly schemaVersion: 1;
  readonly runId: string;
  /** The catalogue version the proofs were made over. */
  readonly catalogVersion: string;
  /** Accounts whose authorization details could not be read: no proposals for them. */
  readonly accountsWithoutDetails: readonly string[];
  /** Identities whose own policies get no proposal, and why (the exemptions setting). */
  readonly exempt: ReadonlyArray<{ readonly arn: string; readonly reason: string }>;
  readonly proposals: readonly ProposalIndexEntry[];
}

export interface ProposeResult {
  readonly count: number;
  readonly byAction: Record<ProposalAction, number>;
}

const READ_CONCURRENCY = 32;

export async function propose(deps: ProposeDeps, event: ProposeEvent): Promise<ProposeResult> {
  const { store } = deps;
  const plan = await getJson<PlanRecord>(store, keys.plan(event.run.runId));
  const run = plan.run;
  const entries: ProposalIndexEntry[] = [];
  const accountsWithoutDetails: string[] = [];
  const exempt: Array<{ arn: string; reason: string }> = [];
  // One account is read, and the one before it written, while an account is proposed for: the reads and
  // writes wait on the store, the proposals on the CPU. At most two accounts' reports are held at once,
  // and one account's proposals are being written.
  const audited = plan.accounts.filter((a) => a.status === 'audited');
  let writing: Promise<unknown> = Promise.resolve();
  // Each account's batches, found once: an organization has thousands of both.
  const batchesOf = byAccount(plan.batches);
  const readOf = (accountId: string) => quiet(readAccount(store, run.runId, accountId, batchesOf.get(accountId) ?? []));
  let next = audited.length > 0 ? readOf(audited[0].accountId) : null;
  for (const [i, account] of audited.entries()) {
    const read = await next!;
    next = i + 1 < audited.length ? readOf(audited[i + 1].accountId) : null;
    if (read === null) {
      accountsWithoutDetails.push(account.accountId);
      continue;
    }
    const { details, reports } = read;
    for (const identity of details.identities) {
      const reason = exemptionOf(identity, deps.exemptions);
      if (reason) exempt.push({ arn: identity.arn, reason });
    }
    const proposals = proposeForAccount({ runId: run.runId, accountId: account.accountId, space: deps.space, catalog: deps.catalog }, details, reports, deps.exemptions);
    const write = () => mapConcurrently(proposals, READ_CONCURRENCY, async (p) => {
      const key = keys.proposal(run.runId, account.accountId, p.proposalId);
      await putJson(store, key, p);
      entries.push({
        proposalId: p.proposalId,
        accountId: p.accountId,
        action: p.action,
        kind: p.target.kind,
        policyName: p.target.policyName,
        policyArn: p.target.policyArn,
        owner: p.target.owner?.arn ?? null,
        removedServices: p.removedServices.length,
        removedActions: p.removedActions.length,
        key,
      });
    });
    await writing;
    writing = quiet(write());
  }
  // The index is written only once every proposal it names is.
  await writing;
  entries.sort((a, b) => (a.key < b.key ? -1 : 1));
  const index: ProposalIndex = { schemaVersion: 1, runId: run.runId, catalogVersion: deps.catalog.version, accountsWithoutDetails, exempt, proposals: entries };
  await putJson(store, keys.proposalsIndex(run.runId), index);
  return countProposals(index);
}

export function countProposals(index: Pick<ProposalIndex, 'proposals'> | null): ProposeResult {
  const byAction = Object.fromEntries(PROPOSAL_ACTIONS.map((a) => [a, 0])) as Record<ProposalAction, number>;
  for (const p of index?.proposals ?? []) byAction[p.action]++;
  return { count: index?.proposals.length ?? 0, byAction };
}

/** The same promise, marked handled: it is awaited later, and may settle before that. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** An account's authorization details and reports; null when Plan kept no details for it. */
async function readAccount(store: ReportStore, runId: string, accountId: string, batches: readonly BatchDescriptor[]): Promise<{ details: AuthorizationDetails; reports: Map<string, EntityReport> } | null> {
  const details = await getJsonOrNull<AuthorizationDetails>(store, keys.authorization(runId, accountId));
  if (details === null) return null;
  return { details, reports: await reportsOf(store, runId, accountId, batches) };
}

/** The reports of the account's listed entities (in its batches) that exist: a report Summarize would count. */
async function reportsOf(store: ReportStore, runId: string, accountId: string, batches: readonly BatchDescriptor[]): Promise<Map<string, EntityReport>> {
  const files = new Set(await store.list(keys.reportsOf(runId, accountId)));
  const wanted: string[] = [];
  for (const batch of batches) {
    for (const e of (await getJson<BatchFile>(store, batch.key)).entities) {
      const key = keys.report(runId, accountId, e.type, e.name);
      if (files.has(key)) wanted.push(key);
    }
  }
  const reports = await mapConcurrently(wanted, READ_CONCURRENCY, (key) => getJson<EntityReport>(store, key));
  return new Map(reports.map((r) => [r.entity.arn, r]));
}
