/**
 * Propose: after the batches, before Summarize. For each audited account it reads the authorization
 * details Plan kept and the run's reports, applies the proposal rules, and writes each proposal and
 * their index. The project never applies a proposal: it makes no IAM call at all.
 */
import type { AuthorizationDetails } from './authorization';
import type { Catalog } from './catalog';
import { keys, PROPOSAL_ACTIONS, type EntityRef, type EntityReport, type ProposalAction, type RunInfo } from './model';
import type { PlanRecord } from './plan';
import type { ActionSpace } from './policy';
import { exemptionOf, proposeForAccount, type Exemptions, type Proposal } from './proposals';
import { getJson, mapConcurrently, NotFound, putJson, type ReportStore } from './store';

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
  for (const account of plan.accounts.filter((a) => a.status === 'audited')) {
    let details: AuthorizationDetails;
    try {
      details = await getJson<AuthorizationDetails>(store, keys.authorization(run.runId, account.accountId));
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
      accountsWithoutDetails.push(account.accountId);
      continue;
    }
    for (const identity of details.identities) {
      const reason = exemptionOf(identity, deps.exemptions);
      if (reason) exempt.push({ arn: identity.arn, reason });
    }
    const reports = await reportsOf(store, plan, account.accountId);
    const proposals = proposeForAccount({ runId: run.runId, accountId: account.accountId, space: deps.space, catalog: deps.catalog }, details, reports, deps.exemptions);
    await mapConcurrently(proposals, READ_CONCURRENCY, async (p) => {
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
  }
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

/** The reports of the account's listed entities that exist: a report Summarize would count. */
async function reportsOf(store: ReportStore, plan: PlanRecord, accountId: string): Promise<Map<string, EntityReport>> {
  const files = new Set(await store.list(keys.reportsOf(plan.run.runId, accountId)));
  const wanted: string[] = [];
  for (const batch of plan.batches.filter((b) => b.accountId === accountId)) {
    for (const e of await getJson<EntityRef[]>(store, batch.key)) {
      const key = keys.report(plan.run.runId, accountId, e.type, e.name);
      if (files.has(key)) wanted.push(key);
    }
  }
  const reports = await mapConcurrently(wanted, READ_CONCURRENCY, (key) => getJson<EntityReport>(store, key));
  return new Map(reports.map((r) => [r.entity.arn, r]));
}
