/**
 * The data of a run's HTML report: one typed object, built from the run's summary, its reports (added
 * one at a time, so that Summarize can build it as it reads them), its proposals, its changes and the
 * trend of earlier runs. It is compact by design (services as indexes into one table, dates as days
 * before the report), so that a page of 10,000 identities stays a few megabytes.
 */
import type { Changes, NotCompared, ServiceChange } from './changes';
import type { AccountSummary, EntityReport, EntityType, RunSummary } from './model';
import { catalogLagOf, type CatalogLag, type ProposalIndex, type TemplateProposalsFile } from './propose';
import { gatherShared, identityOf } from './shared-identities';

export const TYPE_CODES: readonly EntityType[] = ['user', 'group', 'role', 'policy'];

/** One identity: [account index, type index, name, path, granted, used, unused, never used]. */
export type IdentityRow = [number, number, string, string, number, number, number, number];
/**
 * An identity's services, three numbers for each, one service after another: service index, days before
 * the report it was last used (-1: never), 1 when unused. One flat array an identity, not an array a
 * service: an organization's page holds millions of services, and a three-number array costs V8 some
 * 80 bytes where three numbers in a flat one cost 24.
 */
export type ServiceCells = number[];
/** Numbers per service in ServiceCells. */
export const CELL_WIDTH = 3;

/**
 * The same identity (type, path and name) in several accounts, as a template (a StackSet) makes a role
 * or a policy in each: [type index, path, name, its rows in `identities`, its entries in `failures`
 * (accounts where it has no report), the accounts it is in, services granted somewhere and used in no
 * account, services used in some account, unused grants in all]. The services used in no account mean
 * something only when it has no failure: what it used where it has no report is not known.
 */
export type SharedRow = [number, string, string, number[], number[], number, number, number, number];

export interface TrendPoint {
  readonly runId: string;
  readonly runDate: string;
  readonly startedAt: string;
  readonly status: string;
  readonly unusedServiceGrants: number;
  readonly failed: number;
  readonly listed: number;
}

/** A proposal as the page shows it (see `ReportData.proposals`). */
export type ProposalTuple = [id: string, action: string, kind: string, policyName: string, servicesRemoved: number, actionsRemoved: number, review: string | null, runs: number | null];

export interface ReportData {
  readonly schemaVersion: 1;
  readonly run: Pick<RunSummary, 'runId' | 'runDate' | 'status' | 'granularity' | 'startedAt' | 'completedAt'> & { readonly unusedAfterDays: number | null };
  readonly accounts: readonly AccountSummary[];
  /** The ARNs' partition (aws, aws-cn, aws-us-gov): the page makes each identity's ARN from its row. */
  readonly partition: string;
  readonly entities: RunSummary['entities'];
  readonly findings: RunSummary['findings'];
  readonly iamCalls: RunSummary['iamCalls'];
  readonly proposalCounts: RunSummary['proposals'];
  /** The service namespaces the identities' cells point into. */
  readonly services: readonly string[];
  readonly identities: readonly IdentityRow[];
  /** Per identity (same order), its services. */
  readonly identityServices: readonly ServiceCells[];
  /**
   * Per identity ARN, its proposals: [id, action, kind, policy name, services removed, actions removed, a
   * review's reason or null, how many runs in a row made it the same or null]. A review removes nothing:
   * its counts are what its policy grants unused.
   */
  readonly proposals: Readonly<Record<string, ReadonlyArray<ProposalTuple>>>;
  /**
   * The run before, whose proposals this run's were compared with; null when there was none, or the
   * run's proposals were made before they were compared.
   */
  readonly proposalsBefore: string | null;
  /** The bundled catalogue the run's cuts of single actions were made over, and how long before the run its data was taken; null when none was cut. */
  readonly catalogLag: CatalogLag | null;
  /** When the first of N runs that made a proposal (or template proposal) the same started, by N (every proposal of N runs has the same first run). */
  readonly sameSince: Readonly<Record<number, string>>;
  /** Per identity ARN exempt from proposals, why. */
  readonly exempt: Readonly<Record<string, string>>;
  /** False when the run made no proposals at all (Propose did not run to its end: no index); the page says so rather than "nothing to propose". */
  readonly proposalsMade: boolean;
  readonly failures: RunSummary['failures'];
  readonly failuresByCode: ReadonlyArray<[string, number]>;
  readonly skipped: number;
  /** The identities in more than one account, those with the most services used in no account first, those not known last. */
  readonly shared: readonly SharedRow[];
  /**
   * The template proposals of those identities (`templates.json`), each [its row in `shared`, template
   * id, action, kind, policy name, services removed, actions removed, how many runs in a row made it the
   * same or null]; empty when Propose wrote none.
   */
  readonly templates: ReadonlyArray<[number, string, string, string, string, number, number, number | null]>;
  /** Unused grants per account and entity type. */
  readonly unusedByAccount: ReadonlyArray<{ readonly accountId: string; readonly name: string | null; readonly byType: readonly number[] }>;
  readonly trend: readonly TrendPoint[];
  readonly changes: {
    readonly previousRunId: string;
    /** When the compared run started; null when the page was gathered without it. */
    readonly previousStartedAt: string | null;
    readonly notCompared: ComparedWith['notCompared'];
    readonly added: number;
    readonly removed: number;
    readonly counts: Readonly<Record<ServiceChange['change'], number>>;
    /** The service changes, at most CHANGES_SHOWN, watched first uses first. */
    readonly shown: readonly ServiceChange[];
    readonly watched: readonly ServiceChange[];
    readonly addedSample: readonly string[];
    readonly removedSample: readonly string[];
  } | null;
}

/** The run the changes compare with, beyond its id: when it started, and which of this run's accounts were not compared. */
export interface ComparedWith {
  readonly startedAt: string;
  readonly notCompared: readonly NotCompared[];
}

const DAY_MS = 86_400_000;
const CHANGES_SHOWN = 500;

/**
 * What a builder has gathered, as JSON: Summarize gathers it beside Propose and builds the page after.
 * Its rows are the builder's own, handed over, not copied: `build` only reads them.
 */
export interface ReportDataState {
  readonly services: readonly string[];
  readonly accounts: readonly string[];
  readonly identities: IdentityRow[];
  readonly identityServices: ServiceCells[];
  readonly arns: readonly string[];
  readonly unusedAfterDays: number | null;
}

export class ReportDataBuilder {
  private readonly services = new Map<string, number>();
  private readonly accounts = new Map<string, number>();
  private readonly identities: IdentityRow[] = [];
  private readonly identityServices: ServiceCells[] = [];
  private readonly arns: string[] = [];
  private unusedAfterDays: number | null = null;

  constructor(accountIds: readonly string[]) {
    accountIds.forEach((id, i) => this.accounts.set(id, i));
  }

  /** A builder that goes on from a state another one kept. */
  static from(state: ReportDataState): ReportDataBuilder {
    const builder = new ReportDataBuilder(state.accounts);
    state.services.forEach((name, i) => builder.services.set(name, i));
    for (const row of state.identities) builder.identities.push(row);
    for (const cells of state.identityServices) builder.identityServices.push(cells);
    for (const arn of state.arns) builder.arns.push(arn);
    builder.unusedAfterDays = state.unusedAfterDays;
    return builder;
  }

  state(): ReportDataState {
    return {
      services: [...this.services.keys()],
      accounts: [...this.accounts.keys()],
      identities: this.identities,
      identityServices: this.identityServices,
      arns: this.arns,
      unusedAfterDays: this.unusedAfterDays,
    };
  }

  add(report: EntityReport): void {
    let account = this.accounts.get(report.accountId);
    if (account === undefined) this.accounts.set(report.accountId, (account = this.accounts.size));
    this.unusedAfterDays ??= report.findings.unusedAfterDays;
    const created = Date.parse(report.job.createdAt);
    const unused = new Set(report.findings.unusedServices);
    const cells: ServiceCells = [];
    for (const s of report.services) {
      let index = this.services.get(s.serviceNamespace);
      if (index === undefined) this.services.set(s.serviceNamespace, (index = this.services.size));
      const days = s.lastAuthenticated === null ? -1 : Math.max(0, Math.floor((created - Date.parse(s.lastAuthenticated)) / DAY_MS));
      cells.push(index, days, unused.has(s.serviceNamespace) ? 1 : 0);
    }
    const e = report.entity;
    this.identities.push([account, TYPE_CODES.indexOf(e.type), e.name, e.path, report.findings.servicesGranted, report.findings.servicesUsed, report.findings.unusedServices.length, report.findings.neverUsedServices.length]);
    this.identityServices.push(cells);
    this.arns.push(e.arn);
  }

  build(inputs: { summary: RunSummary; proposals: ProposalIndex | null; templates?: DatedTemplates | null; changes: Changes | null; comparedWith?: ComparedWith | null; trend: readonly TrendPoint[] }): ReportData {
    const { summary, proposals, changes } = inputs;
    // One page for one run, whatever order the reports were read in: identities by ARN, services by name.
    const serviceNames = [...this.services.keys()];
    const sortedServices = [...serviceNames].sort();
    const newIndex = new Map(sortedServices.map((name, i) => [name, i]));
    const remap = serviceNames.map((name) => newIndex.get(name)!);
    const order = this.arns.map((_, i) => i).sort((a, b) => (this.arns[a] < this.arns[b] ? -1 : this.arns[a] > this.arns[b] ? 1 : 0));
    // Rows name their account by its place in the page's accounts, the summary's: the builder's own
    // order (the accounts it was made with) need not be the same. A report of an account the summary does
    // not hold (none is read so) would show as '?', never under another account.
    const place = new Map(summary.accounts.map((a, i) => [a.accountId, i]));
    const builderAccounts = [...this.accounts.keys()];
    const identities = order.map((i) => {
      const row = this.identities[i];
      const at = place.get(builderAccounts[row[0]]) ?? -1;
      return (at === row[0] ? row : [at, ...row.slice(1)]) as IdentityRow;
    });
    const identityServices = order.map((i) => this.identityServices[i].map((n, k) => (k % CELL_WIDTH === 0 ? remap[n] : n)));
    const shared = sharedIdentities(identities, identityServices, summary.failures, summary.accounts.map((a) => a.accountId));
    const arns = order.map((i) => this.arns[i]);
    const byCode = new Map<string, number>();
    for (const f of summary.failures) byCode.set(f.code, (byCode.get(f.code) ?? 0) + 1);
    const unusedByAccount = summary.accounts.map((a) => ({ accountId: a.accountId, name: a.name, byType: [0, 0, 0, 0] }));
    identities.forEach((row) => {
      if (row[0] >= 0) unusedByAccount[row[0]].byType[row[1]] += row[6];
    });
    const perIdentity: Record<string, ProposalTuple[]> = {};
    const sameSince: Record<number, string> = {};
    for (const p of proposals?.proposals ?? []) {
      (perIdentity[p.owner ?? p.policyArn ?? ''] ??= []).push([p.proposalId, p.action, p.kind, p.policyName, p.removedServices, p.removedActions, p.review ?? null, p.sameSince?.runs ?? null]);
      if (p.sameSince) sameSince[p.sameSince.runs] = p.sameSince.startedAt;
    }
    for (const t of inputs.templates?.proposals ?? []) if (t.sameSince) sameSince[t.sameSince.runs] = t.sameSince.startedAt;
    const counts = { 'first-use': 0, 'newly-unused': 0, granted: 0, revoked: 0 };
    for (const c of changes?.services ?? []) counts[c.change]++;
    const watchedKeys = new Set((changes?.watched ?? []).map((w) => `${w.arn}|${w.serviceNamespace}`));
    return {
      schemaVersion: 1,
      run: {
        runId: summary.runId,
        runDate: summary.runDate,
        status: summary.status,
        granularity: summary.granularity,
        startedAt: summary.startedAt,
        completedAt: summary.completedAt,
        unusedAfterDays: this.unusedAfterDays,
      },
      accounts: summary.accounts,
      // One run is in one partition: its roles cannot enter accounts of another.
      partition: arns[0]?.split(':')[1] ?? 'aws',
      entities: summary.entities,
      findings: summary.findings,
      iamCalls: summary.iamCalls,
      proposalCounts: summary.proposals,
      services: sortedServices,
      identities,
      identityServices,
      proposals: Object.fromEntries(arns.map((arn) => [arn, perIdentity[arn]]).filter(([, p]) => p)),
      exempt: Object.fromEntries((proposals?.exempt ?? []).map((e) => [e.arn, e.reason])),
      proposalsMade: proposals !== null,
      proposalsBefore: proposals?.previousRunId ?? null,
      catalogLag: proposals && catalogLagOf(proposals, summary.runDate),
      sameSince,
      failures: summary.failures,
      failuresByCode: [...byCode.entries()].sort((a, b) => b[1] - a[1]),
      skipped: summary.entities.skipped,
      unusedByAccount,
      shared,
      templates: templateRows(shared, inputs.templates ?? null),
      trend: inputs.trend,
      changes: changes && {
        previousRunId: changes.previousRunId,
        previousStartedAt: inputs.comparedWith?.startedAt ?? null,
        notCompared: inputs.comparedWith?.notCompared ?? [],
        added: changes.identities.added.length,
        removed: changes.identities.removed.length,
        counts,
        shown: [...changes.watched, ...changes.services.filter((c) => !watchedKeys.has(`${c.arn}|${c.serviceNamespace}`) && (c.change === 'first-use' || c.change === 'newly-unused'))].slice(0, CHANGES_SHOWN),
        watched: changes.watched,
        addedSample: changes.identities.added.slice(0, 50),
        removedSample: changes.identities.removed.slice(0, 50),
      },
    };
  }
}

/**
 * The page's table of identities in several accounts (`gatherShared`), as compact rows. Counted once a
 * run, not in each page that opens: at 60 accounts of 1,000 a page would spend some 300 ms on it.
 */
export function sharedIdentities(identities: readonly IdentityRow[], identityServices: readonly ServiceCells[], failures: RunSummary['failures'], accountIds: readonly string[]): SharedRow[] {
  const members = identities.map((row) => (row[0] >= 0 ? { type: TYPE_CODES[row[1]], path: row[3], name: row[2], accountId: accountIds[row[0]] } : null));
  const groups = gatherShared<number>(members, failures, (i, visit) => {
    const cells = identityServices[i];
    for (let k = 0; k < cells.length; k += CELL_WIDTH) visit(cells[k], cells[k + 2] === 0);
  });
  return groups.map((g) => [TYPE_CODES.indexOf(g.type), g.path, g.name, [...g.members], [...g.failures], g.accountIds.length, g.usedInNone, g.usedInSome, g.unusedGrants]);
}

/** Template proposals, with the runs in a row that made each the same where Propose counted them (as in its file). */
export type DatedTemplates = Pick<TemplateProposalsFile, 'proposals' | 'notProposed'>;

/** The template proposals, each by the row of `shared` its identity is. One whose identity has no row (none in the page) is left out. */
export function templateRows(shared: readonly SharedRow[], templates: DatedTemplates | null): ReportData['templates'] {
  if (!templates) return [];
  const rowOf = new Map(shared.map((row, i) => [identityOf({ type: TYPE_CODES[row[0]], path: row[1], name: row[2] }), i]));
  return templates.proposals.flatMap((p): ReportData['templates'] => {
    const row = rowOf.get(p.target.identity);
    return row === undefined ? [] : [[row, p.templateId, p.action, p.target.kind, p.target.policyName, p.removedServices.length, p.removedActions.length, p.sameSince?.runs ?? null]];
  });
}
