/**
 * Summarize: the truth of a run. It settles every listed entity from the report files and what every
 * batch invocation recorded, reconciles the report files with that (a complete report written by an
 * invocation that later died counts as reported; nothing else may stay under `reports/`), decides the
 * run's status, and only then writes the dataset rows (derived from the report files, one per entity and
 * service whatever retries did), the run's long jobs (which the next run generates first, whatever this
 * run's status: `latest-long-jobs.json` names them), the summary and, for a COMPLETED run, `latest.json`.
 */
import type { BatchOutcome } from './audit-batch';
import type { Clock } from './clock';
import {
  accountOfArn,
  addIamCalls,
  byAccount,
  keys,
  type AccountSummary,
  type BatchDescriptor,
  type BatchFile,
  type EntityRef,
  type EntityReport,
  type EntityType,
  type Failure,
  type LatestPointer,
  type RunInfo,
  type RunStatus,
  type RunSummary,
  type Skip,
  withRecordedError,
} from './model';
import { planIamCalls, typeOfArn, type PlannedAccount, type PlanRecord } from './plan';
import { datasetLines } from './report';
import { identityChanges, notComparedAccounts, serviceChanges, servicesOf, watchedSentence, type Changes, type NotCompared, type ServiceChange, type ServiceState } from './changes';
import { renderReportPage } from './html/report-page';
import { readProposalIndex, readTemplateProposals, trendOf } from './html/run-page';
import { countProposals } from './propose';
import { ReportDataBuilder, type ComparedWith, type ReportDataState } from './report-data';
import { readRunReports, readSummary, RunNotReadable } from './run-reader';
import { latestLongJobsPointer, LongJobCollector, readLongJobsOf, writeLongJobs } from './long-jobs';
import { getJson, getJsonOrNull, getOrNull, mapConcurrently, putJson, ReadAhead, WritesBehind, type ReportStore } from './store';

export interface SummarizeSettings {
  /** A run whose failed entities exceed this percentage of those listed is INCOMPLETE. */
  readonly maxFailedPercent: number;
  /** Services whose first use by an identity is named in the run's message. */
  readonly watchServices: readonly string[];
}

export interface SummarizeDeps {
  readonly store: ReportStore;
  readonly clock: Clock;
  readonly settings: SummarizeSettings;
}

export interface SummarizeEvent {
  readonly run: RunInfo;
  /** Set when the Map over batches failed as a whole: the summary is still written, the run is INCOMPLETE. */
  readonly auditError?: { readonly Error?: string; readonly Cause?: string } | null;
  /**
   * The run was stopped by hand (Ctrl-C in a run from a laptop): every entity no invocation settled
   * fails with code Interrupted, and the run is INCOMPLETE. @default false
   */
  readonly interrupted?: boolean;
  /**
   * The workflow runs Summarize in two steps so that the reading of every report goes on while Propose
   * runs: `gather` settles the run and writes all that comes from its reports (dataset rows, changes,
   * long jobs), keeping the rest in `work/<runId>/gathered.json`; `finish` adds the proposals and writes
   * the summary, the HTML report and latest.json. Without a phase, both in one invocation.
   */
  readonly phase?: SummarizePhase;
}

export const SUMMARIZE_PHASES = ['gather', 'finish'] as const;
export type SummarizePhase = (typeof SUMMARIZE_PHASES)[number];

export const GATHERED_VERSION = 2;

/** All of the summary that does not wait for the proposals, and the HTML report's data so far. */
export interface GatheredRun {
  readonly schemaVersion: typeof GATHERED_VERSION;
  readonly reason: string;
  readonly summary: Omit<RunSummary, 'completedAt' | 'proposals'>;
  readonly changes: Changes | null;
  /** The compared run's start and the accounts not compared; absent from a file of an earlier version. */
  readonly comparedWith?: ComparedWith | null;
  readonly page: ReportDataState;
}

export interface GatherResult {
  readonly gatheredKey: string;
  readonly status: RunStatus;
}

export interface SummarizeResult {
  readonly summaryKey: string;
  /** Where the store is: `s3://bucket` in AWS, a directory locally. */
  readonly location: string;
  readonly runId: string;
  readonly status: RunStatus;
  /** Why the run has its status, in a phrase (the cause of an INCOMPLETE run's failed execution). */
  readonly reason: string;
  readonly listed: number;
  readonly reported: number;
  readonly skipped: number;
  readonly failed: number;
  /** Failed entities as a share of those listed, 0 to 1. */
  readonly failedShare: number;
  /** The first uses of watched services, as a sentence for the run's message (empty when none). */
  readonly watched: string;
  readonly watchedFirstUses: number;
  /** The run's HTML report. */
  readonly reportKey: string;
}

/** Reads of report files in flight at once. */
const READ_CONCURRENCY = 32;
/** Batches whose files are read ahead of the one being settled (each reads its outcomes READ_CONCURRENCY at a time). */
const BATCHES_READ_AHEAD = 8;
/** Reports whose rows are joined into one chunk of a dataset part, and let go once it is sent. */
const REPORTS_AT_ONCE = 500;
/**
 * Dataset parts still being written while the next batches' reports are read: a part's last request
 * goes once its rows are all read, and need not hold up the next part.
 */
const PARTS_WRITTEN_BEHIND = 2;

/** How every listed entity of one batch was settled. */
interface BatchSettlement {
  readonly batchId: string;
  readonly accountId: string;
  readonly entityArns: readonly string[];
  readonly reportKeys: string[];
  readonly skipped: Skip[];
  readonly failures: Failure[];
  readonly byType: EntityType[];
}

/** The whole of Summarize (no phase), or its finish once the gather is kept. */
export async function summarize(deps: SummarizeDeps, event: SummarizeEvent): Promise<SummarizeResult> {
  checkPhase(event);
  if (event.phase === 'gather') throw new Error('the gather phase answers with a GatherResult: call gather()');
  const gathered = event.phase === 'finish' ? await readGathered(deps.store, event.run.runId) : await gatherRun(deps, event);
  return finish(deps, gathered);
}

/** The gather's file, only of the version this code writes: a deploy between the two steps would change it. */
async function readGathered(store: ReportStore, runId: string): Promise<GatheredRun> {
  const key = keys.gathered(runId);
  const gathered = await getJson<GatheredRun>(store, key);
  if (gathered.schemaVersion !== GATHERED_VERSION) {
    throw new Error(`${key}: field schemaVersion must be ${GATHERED_VERSION}, got ${JSON.stringify(gathered.schemaVersion)}; run Summarize without a phase to gather the run again`);
  }
  return gathered;
}

/** Summarize's first step, beside Propose: all that comes from the reports, kept for the finish. */
export async function gather(deps: SummarizeDeps, event: SummarizeEvent): Promise<GatherResult> {
  checkPhase(event);
  const gathered = await gatherRun(deps, event);
  const gatheredKey = keys.gathered(event.run.runId);
  await putJson(deps.store, gatheredKey, gathered);
  return { gatheredKey, status: gathered.summary.status };
}

function checkPhase(event: SummarizeEvent): void {
  if (event.phase !== undefined && !SUMMARIZE_PHASES.includes(event.phase)) {
    throw new Error(`Summarize's event field phase must be one of ${SUMMARIZE_PHASES.join(', ')} or absent, got ${JSON.stringify(event.phase)}`);
  }
}

async function gatherRun(deps: SummarizeDeps, event: SummarizeEvent): Promise<GatheredRun> {
  const { store } = deps;
  const plan = await getJson<PlanRecord>(store, keys.plan(event.run.runId));
  const run = plan.run;
  const iamCalls = planIamCalls(plan);

  // Settle every listed entity: reported (its report file exists), skipped or failed. What the run learns
  // of long jobs counts whatever its status, with what it does not measure carried forward from the latest
  // file: one a run beside it wrote since its Plan began knows more than its Plan's (and on a retry of this
  // step, the latest may be this run's own: then its Plan's).
  const seen = await latestLongJobsPointer(store);
  const carryFrom = (latest: string | null) => (latest !== null && latest !== run.runId ? latest : plan.longJobsFrom);
  const longJobs = new LongJobCollector({ known: await readLongJobsOf(store, carryFrom(seen.runId)), narrowed: plan.narrowed });
  const settlements: BatchSettlement[] = [];
  const keep = new Set<string>();
  // An organization has thousands of accounts and batches, each some S3 round trips: their files are
  // read several at a time, and the batches are settled in the plan's order.
  const reportFiles = new Map(
    await mapConcurrently(plan.accounts, READ_CONCURRENCY, async (a) => [a.accountId, new Set(await store.list(keys.reportsOf(run.runId, a.accountId)))] as const),
  );
  const batchFiles = new ReadAhead(plan.batches, (batch) => readBatchFiles(store, run.runId, batch), BATCHES_READ_AHEAD);
  for (let i = 0; i < plan.batches.length; i++) {
    const { batch, entities, outcomes, failure } = await batchFiles.take();
    for (const outcome of outcomes) addIamCalls(iamCalls, outcome.iamCalls);
    longJobs.addBatch(batch.accountId, entities, outcomes, batch.peers);
    const settlement = settleBatch(batch.batchId, batch.accountId, entities, outcomes, reportFiles.get(batch.accountId) ?? new Set(), (key) => keep.add(key), run.runId, event.interrupted === true, failure);
    settlements.push(settlement);
  }

  // Nothing but the reported entities' reports may stay under reports/: readers follow the summary.
  for (const files of reportFiles.values()) for (const key of files) if (!keep.has(key)) await store.delete(key);

  const missing = plan.accounts.flatMap((a) => a.missingArns.map((arn) => ({ arn, code: 'NoSuchEntity' })));
  const skipped: Skip[] = [...missing, ...settlements.flatMap((s) => s.skipped)];
  const failures: Failure[] = settlements.flatMap((s) => s.failures);
  const reportedCount = settlements.reduce((n, s) => n + s.reportKeys.length, 0);
  const byType: Record<EntityType, number> = { user: 0, group: 0, role: 0, policy: 0 };
  for (const s of settlements) for (const type of s.byType) byType[type]++;
  for (const m of missing) byType[typeOfArn(m.arn)]++;
  const listed = byType.user + byType.group + byType.role + byType.policy;
  if (listed !== reportedCount + skipped.length + failures.length) {
    throw new Error(`summary does not add up: listed ${listed} != reported ${reportedCount} + skipped ${skipped.length} + failed ${failures.length}`);
  }
  const accounts = plan.accounts.map((a) => accountSummary(a, settlements));
  const judged = statusOf(accounts, listed, failures.length, deps.settings.maxFailedPercent, event.interrupted ? null : event.auditError);
  // An interrupted run is never COMPLETED, however much of it was done.
  const { status, reason } = event.interrupted
    ? { status: 'INCOMPLETE' as const, reason: `the run was interrupted: ${failures.filter((f) => f.code === 'Interrupted').length} of ${listed} entities were not settled${judged.status === 'INCOMPLETE' ? `; ${judged.reason}` : ''}` }
    : judged;

  // Now that the run adds up: the dataset rows, from the report files themselves, one part per batch;
  // the changes since the previous complete run; and the HTML report's data, all in one read of the reports.
  const previous = await previousRun(store, run.runId, accounts);
  const serviceChangesFound: ServiceChange[] = [];
  const page = new ReportDataBuilder(accounts.map((a) => a.accountId));
  const findings = { entitiesWithUnusedServices: 0, unusedServiceGrants: 0, entitiesWithNoUseInWindow: 0 };
  for (const failure of failures) longJobs.addFailure(failure);
  // The batch's dataset part is written as its reports are read, a few hundred at a time: a batch of
  // 10,000 identities has some 400,000 rows (195 MB in the sample), too many to hold, join and send whole.
  // The store pulls the rows, and reading them also gathers the findings, the changes, the page's data
  // and the long jobs: every report is read once, and all of it is gathered before the part is written.
  async function* rowsOf(settlement: BatchSettlement, before: PreviousReports | null): AsyncGenerator<string> {
    for (let i = 0; i < settlement.reportKeys.length; i += REPORTS_AT_ONCE) {
      const rows: string[] = [];
      for (let n = Math.min(REPORTS_AT_ONCE, settlement.reportKeys.length - i); n > 0; n--) {
        const report = await reports.take();
        if (report.runId !== run.runId) throw new Error(`report ${report.entity.arn} belongs to run ${report.runId}, not ${run.runId}`);
        const unused = report.findings.unusedServices.length;
        if (unused > 0) findings.entitiesWithUnusedServices++;
        findings.unusedServiceGrants += unused;
        if (report.findings.servicesUsed === 0) findings.entitiesWithNoUseInWindow++;
        rows.push(datasetLines(report));
        const was = before?.get(report.entity.arn);
        if (was) serviceChangesFound.push(...serviceChanges(report.entity.arn, was, servicesOf(report)));
        page.add(report);
        longJobs.addReport(report);
      }
      if (rows.length > 0) yield rows.join('');
    }
  }
  // Account by account, so that only one account's reports of the previous run are held at once; a
  // compared account with nothing listed tonight is still read, for the identities it lost. The reports
  // are read ahead across batches and accounts, in the order the rows take them, and a batch's part is
  // still being sent while the next batches' reports are read: with thousands of small accounts, each
  // would otherwise wait on S3 twice.
  const settlementsOf = byAccount(settlements);
  for (const accountId of previous?.pending ?? []) if (!settlementsOf.has(accountId)) settlementsOf.set(accountId, []);
  const reports = new ReadAhead([...settlementsOf.values()].flatMap((mine) => mine.flatMap((s) => s.reportKeys)), (key) => getJson<EntityReport>(store, key), READ_CONCURRENCY);
  const sending = new WritesBehind(PARTS_WRITTEN_BEHIND);
  for (const [accountId, mine] of settlementsOf) {
    const before = previous ? await previous.reportedIn(accountId) : null;
    for (const s of mine) {
      // The rows are gathered one part after another (the findings, changes and page data are added in
      // this order); only the sending overlaps.
      let allRead!: () => void;
      const read = new Promise<void>((resolve) => (allRead = resolve));
      const sent = store.putChunks(keys.datasetPart(run.runDate, run.runId, s.batchId), untilDone(rowsOf(s, before), allRead), 'application/x-ndjson');
      sent.catch(() => undefined); // awaited by `sending`; a failure meanwhile is not an unhandled one
      await Promise.race([read, sent]);
      await sending.add(sent);
    }
  }
  await sending.finish();
  const changes = previous ? await writeChanges(store, run, previous, settlements, missing, serviceChangesFound, deps.settings.watchServices) : null;

  await writeLongJobs(store, run.runId, longJobs, seen, carryFrom, new Date(deps.clock.now()).toISOString());

  return {
    schemaVersion: GATHERED_VERSION,
    reason,
    summary: {
      schemaVersion: 2,
      runId: run.runId,
      runDate: run.runDate,
      status,
      granularity: run.granularity,
      startedAt: run.startedAt,
      accounts,
      entities: { listed, reported: reportedCount, skipped: skipped.length, failed: failures.length, byType },
      failures,
      skipped,
      findings,
      changes: changes && {
        firstUse: changes.services.filter((c) => c.change === 'first-use').length,
        newlyUnused: changes.services.filter((c) => c.change === 'newly-unused').length,
        added: changes.identities.added.length,
        removed: changes.identities.removed.length,
      },
      iamCalls,
    },
    changes,
    comparedWith: previous && { startedAt: previous.startedAt, notCompared: previous.notCompared(accounts) },
    page: page.state(),
  };
}

/** With the proposals in: the summary, the HTML report and, for a COMPLETED run, latest.json. */
async function finish(deps: SummarizeDeps, gathered: GatheredRun): Promise<SummarizeResult> {
  const { store } = deps;
  const { summary: soFar, changes, reason } = gathered;
  const { runId, status, entities } = soFar;
  const [proposals, templates] = await Promise.all([readProposalIndex(store, runId), readTemplateProposals(store, runId)]);
  // Propose writes its index whenever it ends, even with nothing to propose: without one, none were made,
  // which the summary's count of 0 alone would not tell from nothing to propose.
  const said = proposals === null ? `${reason}; no proposals were made: Propose did not run to its end (its log says why)` : reason;
  const completedAt = new Date(deps.clock.now()).toISOString();
  // The summary's fields in their order, the proposals and the time it completed among them.
  const summary: RunSummary = {
    schemaVersion: 2,
    runId,
    runDate: soFar.runDate,
    status,
    granularity: soFar.granularity,
    startedAt: soFar.startedAt,
    completedAt,
    accounts: soFar.accounts,
    entities,
    failures: soFar.failures,
    skipped: soFar.skipped,
    findings: soFar.findings,
    proposals: countProposals(proposals),
    changes: soFar.changes,
    iamCalls: soFar.iamCalls,
  };
  const summaryKey = keys.summary(runId);
  await putJson(store, summaryKey, summary);
  const reportKey = keys.reportPage(runId);
  const page = ReportDataBuilder.from(gathered.page).build({ summary, proposals, templates, changes, comparedWith: gathered.comparedWith, trend: await trendOf(store, summary) });
  await store.put(reportKey, renderReportPage(page), 'text/html; charset=utf-8');
  if (status === 'COMPLETED') {
    const latest: LatestPointer = { runId, summaryKey, completedAt };
    await putJson(store, keys.latest(), latest);
  }
  return {
    watched: watchedSentence(changes?.watched ?? []),
    watchedFirstUses: changes?.watched.length ?? 0,
    reportKey,
    summaryKey,
    location: store.location,
    runId,
    status,
    reason: said,
    listed: entities.listed,
    reported: entities.reported,
    skipped: entities.skipped,
    failed: entities.failed,
    failedShare: entities.listed === 0 ? 0 : entities.failed / entities.listed,
  };
}

/** Each identity one account's previous report showed, by ARN, with its services. */
type PreviousReports = ReadonlyMap<string, ReadonlyMap<string, ServiceState>>;

/**
 * The latest COMPLETED run before this one, read one compared account at a time: an organization's
 * reports of the night before do not fit in Summarize's memory at once (some 200 MB for 24,000 identities).
 */
class PreviousRun {
  private readonly compared: Set<string>;
  private readonly unread: Set<string>;
  private readonly listedArns: Set<string>;
  /** Compared accounts whose reports in this run could not be read, and so were not compared after all. */
  private readonly unreadable = new Set<string>();

  constructor(
    private readonly store: ReportStore,
    private readonly summary: RunSummary,
    /** The accounts to compare: audited in both runs. */
    compared: ReadonlySet<string>,
  ) {
    this.compared = new Set(compared);
    this.unread = new Set(compared);
    const inCompared = (arn: string) => compared.has(accountOfArn(arn));
    this.listedArns = new Set([...summary.failures.map((f) => f.arn).filter(inCompared), ...summary.skipped.map((s) => s.arn).filter(inCompared)]);
  }

  get runId(): string {
    return this.summary.runId;
  }

  get startedAt(): string {
    return this.summary.startedAt;
  }

  /** This run's accounts that were not compared, and why (those whose reports here proved unreadable among them). */
  notCompared(accounts: readonly AccountSummary[]): NotCompared[] {
    return notComparedAccounts(accounts, this.summary.accounts, this.unreadable);
  }

  /** The accounts compared: audited in both runs, and readable in the previous one. */
  get accounts(): ReadonlySet<string> {
    return this.compared;
  }

  /** The compared accounts not read yet. */
  get pending(): readonly string[] {
    return [...this.unread];
  }

  /**
   * An account's previous reports (null when it is not compared). An account whose previous files do
   * not agree with that run's summary is left out of the comparison, as an account absent from either
   * run is, rather than failing tonight's run over last night's files.
   */
  async reportedIn(accountId: string): Promise<PreviousReports | null> {
    if (!this.unread.delete(accountId)) return null;
    let reports: EntityReport[];
    try {
      reports = await readRunReports(this.store, this.summary, accountId);
    } catch (err) {
      if (!(err instanceof RunNotReadable)) throw err;
      console.warn(JSON.stringify({ message: 'account not compared: its previous reports cannot be read', previousRunId: this.runId, accountId, reason: err.message }));
      this.compared.delete(accountId);
      this.unreadable.add(accountId);
      for (const arn of this.listedArns) if (accountOfArn(arn) === accountId) this.listedArns.delete(arn);
      return null;
    }
    const byArn = new Map<string, ReadonlyMap<string, ServiceState>>();
    for (const r of reports) {
      byArn.set(r.entity.arn, servicesOf(r));
      this.listedArns.add(r.entity.arn);
    }
    return byArn;
  }

  /** Every identity the previous run listed in the compared accounts, once each has been read. */
  listed(): ReadonlySet<string> {
    if (this.unread.size > 0) throw new Error(`the previous run's accounts ${[...this.unread].join(', ')} were not read before its identities were compared`);
    return this.listedArns;
  }
}

/** The latest COMPLETED run before this one (latest.json, not yet moved), to compare the accounts both audited. */
async function previousRun(store: ReportStore, runId: string, accounts: readonly AccountSummary[]): Promise<PreviousRun | null> {
  const latest = await getJsonOrNull<LatestPointer>(store, keys.latest());
  if (latest === null || latest.runId === runId) return null;
  let summary: RunSummary;
  try {
    summary = await readSummary(store, latest.runId);
  } catch (err) {
    // A previous run this version cannot read (removed, or of schema 1) leaves nothing to compare with.
    if (err instanceof RunNotReadable) {
      console.warn(JSON.stringify({ message: 'no changes computed: the previous run cannot be read', previousRunId: latest.runId, reason: err.message }));
      return null;
    }
    throw err;
  }
  // Compared: every account the rule of notComparedAccounts does not leave out (audited in both runs).
  const left = new Set(notComparedAccounts(accounts, summary.accounts).map((n) => n.accountId));
  return new PreviousRun(store, summary, new Set(accounts.map((a) => a.accountId).filter((id) => !left.has(id))));
}

/** Writes changes.json and the `changes` dataset partition, and returns the changes. */
async function writeChanges(
  store: ReportStore,
  run: RunInfo,
  previous: PreviousRun,
  settlements: readonly BatchSettlement[],
  missing: readonly Skip[],
  services: readonly ServiceChange[],
  watchServices: readonly string[],
): Promise<Changes> {
  const listedNow = new Set([
    ...settlements.filter((s) => previous.accounts.has(s.accountId)).flatMap((s) => s.entityArns),
    ...missing.map((m) => m.arn).filter((arn) => previous.accounts.has(accountOfArn(arn))),
  ]);
  const watch = new Set(watchServices);
  const changes: Changes = {
    schemaVersion: 1,
    runId: run.runId,
    previousRunId: previous.runId,
    identities: identityChanges(previous.listed(), listedNow),
    services,
    watched: services.filter((c) => c.change === 'first-use' && watch.has(c.serviceNamespace)),
  };
  await putJson(store, keys.changes(run.runId), changes);
  const row = (accountId: string, entityArn: string, serviceNamespace: string | null, change: string, lastAuthenticated: string | null, previousLastAuthenticated: string | null) =>
    JSON.stringify({ runId: run.runId, runDate: run.runDate, previousRunId: previous.runId, accountId, entityArn, serviceNamespace, change, lastAuthenticated, previousLastAuthenticated, watched: serviceNamespace !== null && change === 'first-use' && watch.has(serviceNamespace) });
  const rows = [
    ...changes.identities.added.map((arn) => row(accountOfArn(arn), arn, null, 'added', null, null)),
    ...changes.identities.removed.map((arn) => row(accountOfArn(arn), arn, null, 'removed', null, null)),
    ...services.map((c) => row(accountOfArn(c.arn), c.arn, c.serviceNamespace, c.change, c.lastAuthenticated, c.previousLastAuthenticated)),
  ];
  if (rows.length > 0) await store.put(keys.changesPart(run.runDate, run.runId), `${rows.join('\n')}\n`, 'application/x-ndjson');
  return changes;
}

/** The chunks of `source`, calling `done` once they are all read (not when reading them fails). */
async function* untilDone<T>(source: AsyncIterable<T>, done: () => void): AsyncGenerator<T> {
  yield* source;
  done();
}

/** A batch's entities, its invocations' outcomes, and the error the workflow recorded if none finished it. */
async function readBatchFiles(store: ReportStore, runId: string, batch: BatchDescriptor) {
  const [{ entities }, outcomes] = await Promise.all([getJson<BatchFile>(store, batch.key), readOutcomes(store, runId, batch.batchId)]);
  const failure = outcomes.some((o) => o.done) ? null : await getOrNull(store, keys.batchFailure(runId, batch.batchId));
  return { batch, entities, outcomes, failure };
}

/** Every outcome recorded for a batch, oldest attempt first (an attempt may have run twice). */
async function readOutcomes(store: ReportStore, runId: string, batchId: string): Promise<BatchOutcome[]> {
  const outcomes = await mapConcurrently(await store.list(keys.outcomesOf(runId, batchId)), READ_CONCURRENCY, (key) => getJson<BatchOutcome>(store, key));
  return outcomes.sort((a, b) => a.attempt - b.attempt);
}

/**
 * One batch's entities, each settled once: a report file makes it reported (whatever an invocation that
 * ran twice said); otherwise the skip or, failing that, the latest failure an invocation recorded; an
 * entity nobody settled is failed as BatchFailed (its batch's invocations died, with the error the
 * workflow recorded) or NotAudited.
 */
function settleBatch(
  batchId: string,
  accountId: string,
  entities: readonly EntityRef[],
  outcomes: readonly BatchOutcome[],
  reportFiles: ReadonlySet<string>,
  keep: (key: string) => void,
  runId: string,
  interrupted: boolean,
  failure: string | null,
): BatchSettlement {
  const skips = new Map<string, Skip>();
  const failures = new Map<string, Failure>();
  const claimedReports = new Set<string>();
  for (const outcome of outcomes) {
    for (const s of outcome.skipped) if (!skips.has(s.arn)) skips.set(s.arn, s);
    for (const f of outcome.failed) failures.set(f.arn, f);
    for (const r of outcome.reported) claimedReports.add(r.arn);
  }
  const finished = outcomes.some((o) => o.done);
  const settlement: BatchSettlement = { batchId, accountId, entityArns: entities.map((e) => e.arn), reportKeys: [], skipped: [], failures: [], byType: [] };
  for (const e of entities) {
    settlement.byType.push(e.type);
    const key = keys.report(runId, accountId, e.type, e.name);
    if (reportFiles.has(key)) {
      keep(key);
      settlement.reportKeys.push(key);
    } else if (skips.has(e.arn)) {
      settlement.skipped.push(skips.get(e.arn)!);
    } else if (failures.has(e.arn)) {
      settlement.failures.push(failures.get(e.arn)!);
    } else if (claimedReports.has(e.arn)) {
      settlement.failures.push({ arn: e.arn, code: 'ReportMissing', message: `an invocation of batch ${batchId} recorded a report at ${key}, but the file is not there` });
    } else if (interrupted) {
      settlement.failures.push({ arn: e.arn, code: 'Interrupted', message: 'the run was interrupted (Ctrl-C) before this entity was settled' });
    } else {
      settlement.failures.push(
        finished
          ? { arn: e.arn, code: 'NotAudited', message: `batch ${batchId} finished without settling this entity` }
          : { arn: e.arn, code: 'BatchFailed', message: withRecordedError(`the audit of batch ${batchId} failed before this entity was settled`, failure) },
      );
    }
  }
  return settlement;
}

function accountSummary(account: PlannedAccount, settlements: readonly BatchSettlement[]): AccountSummary {
  const mine = settlements.filter((s) => s.accountId === account.accountId);
  const reported = mine.reduce((n, s) => n + s.reportKeys.length, 0);
  const skipped = mine.reduce((n, s) => n + s.skipped.length, 0) + account.missingArns.length;
  const failed = mine.reduce((n, s) => n + s.failures.length, 0);
  return {
    accountId: account.accountId,
    name: account.name,
    status: account.status,
    ...(account.code ? { code: account.code } : {}),
    ...(account.message ? { message: account.message } : {}),
    entities: { listed: reported + skipped + failed, reported, skipped, failed },
  };
}

/**
 * COMPLETED when every account was audited or skipped, the Map did not fail, and the failed entities are
 * at most `maxFailedPercent` of those listed; otherwise INCOMPLETE. The reason says which.
 */
export function statusOf(
  accounts: readonly AccountSummary[],
  listed: number,
  failed: number,
  maxFailedPercent: number,
  auditError?: SummarizeEvent['auditError'],
): { status: RunStatus; reason: string } {
  const reasons: string[] = [];
  const failedAccounts = accounts.filter((a) => a.status === 'failed');
  if (failedAccounts.length > 0) {
    reasons.push(`${failedAccounts.length} of ${accounts.length} accounts could not be audited (${failedAccountsText(failedAccounts)})`);
  }
  const percent = listed === 0 ? 0 : (100 * failed) / listed;
  if (percent > maxFailedPercent) {
    reasons.push(`${failed} of ${listed} entities failed (${round(percent)}%, more than maxFailedPercent ${maxFailedPercent}%)`);
  }
  if (auditError) reasons.push(`the audit of the batches failed: ${auditError.Error ?? 'unknown error'}`);
  if (reasons.length > 0) return { status: 'INCOMPLETE', reason: reasons.join('; ') };
  return { status: 'COMPLETED', reason: `${failed} of ${listed} entities failed, within maxFailedPercent ${maxFailedPercent}%` };
}

/** Up to this many failed accounts, the reason names each; past it, some of each code. */
export const FAILED_ACCOUNTS_NAMED = 10;
/** Account ids named for each code when the failed accounts are too many to name all. */
const IDS_PER_CODE = 3;

/**
 * The failed accounts as the reason names them: each with its code while they are few; past
 * `FAILED_ACCOUNTS_NAMED` (an organization whose member StackSet has not reached its accounts fails them
 * all), how many of each code, most first, with some ids of each. The reason goes into the summary, the
 * topic's message and the execution's cause, which Step Functions caps at 32,768 characters: a list of
 * every id would pass that at some 1,200 accounts, and be unread long before. The summary's `accounts`
 * names each one.
 */
export function failedAccountsText(failed: readonly AccountSummary[]): string {
  const codeOf = (a: AccountSummary) => a.code ?? 'unknown';
  if (failed.length <= FAILED_ACCOUNTS_NAMED) return failed.map((a) => `${a.accountId}: ${codeOf(a)}`).join(', ');
  const byCode = new Map<string, string[]>();
  for (const a of failed) {
    const ids = byCode.get(codeOf(a)) ?? [];
    ids.push(a.accountId);
    byCode.set(codeOf(a), ids);
  }
  const groups = [...byCode].sort(([c1, a1], [c2, a2]) => a2.length - a1.length || c1.localeCompare(c2));
  const named = groups.map(([code, ids]) => {
    const some = ids.slice(0, IDS_PER_CODE).join(', ');
    return `${code}: ${ids.length} (${ids.length > IDS_PER_CODE ? `${some} and ${ids.length - IDS_PER_CODE} more` : some})`;
  });
  return `${named.join('; ')}; the summary's accounts name each`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
