/**
 * Propose: the least-privilege proposals of a run, made where the reports are. Each batch is proposed
 * as soon as the Map has audited it (`batch` in the event): from the authorization details Plan kept
 * for its account and the reports of its own entities, it writes each proposal and a partial index under
 * `work/`. Every proposal depends on one report alone (a customer managed policy's own, an inline
 * policy's or AWS managed attachment's owner's), so the batches' proposals together are the run's.
 * After the Map, Propose without `batch` writes the run's index from the partial ones, proposing first
 * any batch that has none (its chain was caught, or its Propose failed). A run's Propose work is thus
 * spread over its batches and mostly done while slower batches still wait on IAM. The project never
 * applies a proposal: it makes no IAM call at all.
 */
import type { AuthorizationDetails } from './authorization';
import type { Catalog } from './catalog';
import { keys, PROPOSAL_ACTIONS, type BatchDescriptor, type EntityRef, type EntityReport, type ProposalAction, type RunInfo } from './model';
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

/** The batch fields Propose reads, as the Map hands the batch on. */
export type BatchToPropose = Pick<BatchDescriptor, 'batchId' | 'accountId' | 'key'>;

export interface ProposeEvent {
  readonly run: RunInfo;
  /** One audited batch: propose from its reports alone. Without it: the run's index, from every batch's. */
  readonly batch?: BatchToPropose | null;
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
  /** Audited identities whose own policies get no proposal, and why (the exemptions setting). */
  readonly exempt: ReadonlyArray<{ readonly arn: string; readonly reason: string }>;
  readonly proposals: readonly ProposalIndexEntry[];
}

/** One batch's part of the index (`work/<runId>/proposals/<batchId>.json`). */
export interface BatchProposals {
  readonly schemaVersion: 1;
  readonly runId: string;
  readonly batchId: string;
  readonly accountId: string;
  readonly catalogVersion: string;
  /** The account's authorization details could not be read: no proposals. */
  readonly withoutDetails: boolean;
  readonly exempt: ProposalIndex['exempt'];
  readonly proposals: readonly ProposalIndexEntry[];
}

export interface ProposeResult {
  readonly count: number;
  readonly byAction: Record<ProposalAction, number>;
}

const READ_CONCURRENCY = 32;
/** Reports read and proposed from at once. */
const REPORTS_AT_ONCE = 200;

export async function propose(deps: ProposeDeps, event: ProposeEvent): Promise<ProposeResult> {
  if (event.batch) return countProposals(await proposeBatch(deps, event.run, event.batch, authorizationReader(deps.store, event.run.runId)));
  return countProposals(await indexRun(deps, event.run));
}

/** The run's index, from each batch's part; a batch without one is proposed now. */
async function indexRun(deps: ProposeDeps, eventRun: RunInfo): Promise<ProposalIndex> {
  const { store } = deps;
  const plan = await getJson<PlanRecord>(store, keys.plan(eventRun.runId));
  const run = plan.run;
  const audited = new Set(plan.accounts.filter((a) => a.status === 'audited').map((a) => a.accountId));
  const details = authorizationReader(store, run.runId);
  const parts: BatchProposals[] = [];
  for (const batch of plan.batches.filter((b) => audited.has(b.accountId))) {
    let part: BatchProposals | undefined;
    try {
      part = await getJson<BatchProposals>(store, keys.batchProposals(run.runId, batch.batchId));
    } catch (err) {
      if (!(err instanceof NotFound)) throw err;
    }
    // A part made over another catalogue (a deployment between the batch and now) is made again.
    parts.push(part && part.catalogVersion === deps.catalog.version ? part : await proposeBatch(deps, run, batch, details));
  }
  const index: ProposalIndex = {
    schemaVersion: 1,
    runId: run.runId,
    catalogVersion: deps.catalog.version,
    accountsWithoutDetails: [...new Set(parts.filter((p) => p.withoutDetails).map((p) => p.accountId))],
    exempt: parts.flatMap((p) => p.exempt).sort((a, b) => (a.arn < b.arn ? -1 : 1)),
    proposals: parts.flatMap((p) => p.proposals).sort((a, b) => (a.key < b.key ? -1 : 1)),
  };
  await putJson(store, keys.proposalsIndex(run.runId), index);
  return index;
}

/** Reads an account's authorization details once (null when Plan could not read them). */
function authorizationReader(store: ReportStore, runId: string): (accountId: string) => Promise<AuthorizationDetails | null> {
  const read = new Map<string, Promise<AuthorizationDetails | null>>();
  return (accountId) => {
    let details = read.get(accountId);
    if (!details) {
      details = getJson<AuthorizationDetails>(store, keys.authorization(runId, accountId)).catch((err: unknown) => {
        if (err instanceof NotFound) return null;
        throw err;
      });
      read.set(accountId, details);
    }
    return details;
  };
}

/** One batch's proposals, written with the batch's part of the index. */
async function proposeBatch(deps: ProposeDeps, run: RunInfo, batch: BatchToPropose, detailsOf: (accountId: string) => Promise<AuthorizationDetails | null>): Promise<BatchProposals> {
  const { store } = deps;
  const { accountId } = batch;
  const details = await detailsOf(accountId);
  const entities = await getJson<EntityRef[]>(store, batch.key);
  const entries: ProposalIndexEntry[] = [];
  const exempt: Array<{ arn: string; reason: string }> = [];
  if (details) {
    const inBatch = new Set(entities.map((e) => e.arn));
    for (const identity of details.identities) {
      if (!inBatch.has(identity.arn)) continue;
      const reason = exemptionOf(identity, deps.exemptions);
      if (reason) exempt.push({ arn: identity.arn, reason });
    }
    const files = new Set(await store.list(keys.reportsOf(run.runId, accountId)));
    const wanted = entities.map((e) => keys.report(run.runId, accountId, e.type, e.name)).filter((key) => files.has(key));
    // A few hundred reports at a time: a proposing environment holds one slice, not the batch.
    for (let i = 0; i < wanted.length; i += REPORTS_AT_ONCE) {
      const reports = await mapConcurrently(wanted.slice(i, i + REPORTS_AT_ONCE), READ_CONCURRENCY, (key) => getJson<EntityReport>(store, key));
      const proposals = proposeForAccount({ runId: run.runId, accountId, space: deps.space, catalog: deps.catalog }, details, new Map(reports.map((r) => [r.entity.arn, r])), deps.exemptions);
      await mapConcurrently(proposals, READ_CONCURRENCY, async (p) => {
        const key = keys.proposal(run.runId, accountId, p.proposalId);
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
  }
  const part: BatchProposals = { schemaVersion: 1, runId: run.runId, batchId: batch.batchId, accountId, catalogVersion: deps.catalog.version, withoutDetails: !details, exempt, proposals: entries };
  await putJson(store, keys.batchProposals(run.runId, batch.batchId), part);
  return part;
}

export function countProposals(index: Pick<ProposalIndex, 'proposals'> | null): ProposeResult {
  const byAction = Object.fromEntries(PROPOSAL_ACTIONS.map((a) => [a, 0])) as Record<ProposalAction, number>;
  for (const p of index?.proposals ?? []) byAction[p.action]++;
  return { count: index?.proposals.length ?? 0, byAction };
}
