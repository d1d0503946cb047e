/**
 * The jobs of a run that IAM took much longer on than on the rest of their account: Summarize writes
 * them (`runs/<runId>/long-jobs.json`), and the next run's Plan has their entities generated first,
 * longest first. An account's audit can end no sooner than its last job, so a job of minutes generated
 * at the end of the account's stream holds the whole run; generated at its start, it runs while the
 * rest are generated. The file also says how long each account's batches kept their places in the Map:
 * with more batches than the Map runs at once, the next Plan starts the accounts that took longest
 * first. And it says what rate of calls IAM admitted in each account, which the next run's batches start
 * from rather than find again through throttled calls.
 *
 * What a run learns is kept whatever its status: every run moves `latest-long-jobs.json` to its file
 * (`latest.json` moves only for a COMPLETED one), and its file carries forward, from the latest file
 * when it settles (its Plan's, or one a run beside it wrote since, even while it was being summarized:
 * the pointer moves by a conditional write), all it did not measure itself: the accounts it could not
 * enter or was not asked to audit, the entities it did not audit or got no job of, the kinds of calls
 * whose rate it did not find.
 * An organization with one account the audit cannot enter has every run INCOMPLETE, and still learns.
 * Nothing else depends on the files: a run without one (the first) keeps the listing order, starts the
 * largest accounts first, and finds each account's rates afresh.
 */
import type { BatchOutcome } from './audit-batch';
import { CALL_KINDS, type CallKind, type CallRates } from './iam-calls';
import { accountOfArn, keys, type EntityRef, type EntityReport, type Failure } from './model';
import { getJson, jsonText, NotFound, putJson, type ReportStore } from './store';

/** A job is long when it took more than this many times its account's median job... */
const LONG_FACTOR = 2;
/** ...and at least this much longer than the median: jobs a few seconds apart are not worth reordering. */
const LONG_MARGIN_MS = 5_000;
/** The longest jobs kept per account: the file stays small, and only the first ones matter. */
const MOST_PER_ACCOUNT = 1_000;

export interface LongJob {
  readonly arn: string;
  /** How long IAM took, or null when the job never finished in the run (JobTimedOut). */
  readonly seconds: number | null;
}

/** How long an account's batches kept their places in the Map, for how many entities. */
export interface AccountTime {
  /** The longest of its batches, from its first invocation's start to its last's end, waits included. */
  readonly seconds: number;
  /** The entities its batches held. */
  readonly entities: number;
}

export interface LongJobs {
  readonly schemaVersion: 1;
  readonly runId: string;
  /** Each account's long jobs, those that never finished first, then the longest first. */
  readonly accounts: Readonly<Record<string, readonly LongJob[]>>;
  /** Each account's time; absent from a file of an earlier version, and for a batch that said no times. */
  readonly accountTimes?: Readonly<Record<string, AccountTime>>;
  /**
   * Each account's call rates at the end of the run, the whole account's (all its batches together), for
   * the next run's batches to start from rather than find again; absent from a file of an earlier version,
   * and for an account none of whose rates the run measured.
   */
  readonly callRates?: Readonly<Record<string, CallRates>>;
  /**
   * The run whose file this one carries forward what the run did not measure itself, or null when there
   * was none; absent from a file of an earlier version.
   */
  readonly carriedFrom?: string | null;
}

/** `latest-long-jobs.json`: the file of the latest run that wrote one, whatever its status. */
export interface LatestLongJobsPointer {
  readonly runId: string;
  readonly longJobsKey: string;
  readonly writtenAt: string;
}

/** What a run's file says, as Plan orders by it and Summarize carries it forward; empty when there is none. */
export interface KnownLongJobs {
  /** The run that wrote the file, or null when none was read. */
  readonly runId: string | null;
  /** Each account's long jobs, in the order to generate them. */
  readonly jobs: ReadonlyMap<string, readonly LongJob[]>;
  readonly accountTimes: ReadonlyMap<string, AccountTime>;
  readonly callRates: ReadonlyMap<string, CallRates>;
}

export const NOTHING_KNOWN: KnownLongJobs = { runId: null, jobs: new Map(), accountTimes: new Map(), callRates: new Map() };

/** How Summarize builds a run's file beyond what the run measured. */
export interface CarryForward {
  /** The latest file when the run settles: what the run did not measure comes from it. */
  readonly known: KnownLongJobs;
  /**
   * The execution input asked for fewer entities than a scheduled run audits (`arns`, or other
   * `entityTypes`): the times of such a run's batches say little of a night's, so the known ones stay.
   */
  readonly narrowed: boolean;
}

/**
 * Collects the accounts' job durations and batch times as Summarize reads their outcomes, reports and
 * failures, and builds the run's file: what the run measured, and from `carry.known` what it did not.
 */
export class LongJobCollector {
  private readonly took = new Map<string, Array<{ arn: string; ms: number }>>();
  private readonly unfinished = new Map<string, string[]>();
  private readonly times = new Map<string, { ms: number; entities: number }>();
  /** Per account and kind, each batch's last rate times its peers: what the whole account was admitting. */
  private readonly rates = new Map<string, Map<CallKind, number[]>>();
  /** The known long jobs' entities, and of them those the run's batches held (those still there). */
  private readonly knownArns: ReadonlySet<string>;
  private readonly batched = new Set<string>();
  /** The accounts the run had batches of. */
  private readonly batchedAccounts = new Set<string>();

  constructor(private readonly carry: CarryForward = { known: NOTHING_KNOWN, narrowed: false }) {
    this.knownArns = new Set([...carry.known.jobs.values()].flatMap((jobs) => jobs.map((j) => j.arn)));
  }

  /**
   * A batch's invocations: the time from the first's start to the last's end is how long it held its
   * place, and the rates its last invocations found are its share of its account's (`peers` shared it).
   */
  addBatch(accountId: string, entities: readonly Pick<EntityRef, 'arn'>[], outcomes: readonly Pick<BatchOutcome, 'startedAt' | 'endedAt' | 'callRates'>[], peers = 1): void {
    this.batchedAccounts.add(accountId);
    for (const e of entities) if (this.knownArns.has(e.arn)) this.batched.add(e.arn);
    this.addRates(accountId, outcomes, peers);
    const starts = outcomes.map((o) => Date.parse(o.startedAt ?? ''));
    const ends = outcomes.map((o) => Date.parse(o.endedAt ?? ''));
    if (outcomes.length === 0 || [...starts, ...ends].some((t) => Number.isNaN(t))) return;
    const ms = Math.max(...ends) - Math.min(...starts);
    const time = this.times.get(accountId) ?? { ms: 0, entities: 0 };
    this.times.set(accountId, { ms: Math.max(time.ms, ms), entities: time.entities + entities.length });
  }

  private addRates(accountId: string, outcomes: readonly Pick<BatchOutcome, 'endedAt' | 'callRates'>[], peers: number): void {
    const endOf = (o: Pick<BatchOutcome, 'endedAt'>) => Date.parse(o.endedAt ?? '') || 0;
    const latestFirst = [...outcomes].sort((a, b) => endOf(b) - endOf(a));
    for (const kind of CALL_KINDS) {
      const rate = latestFirst.map((o) => o.callRates?.[kind]).find((r): r is number => isRate(r));
      if (rate === undefined) continue;
      const byKind = this.rates.get(accountId) ?? new Map<CallKind, number[]>();
      this.rates.set(accountId, byKind);
      this.listOf(byKind, kind).push(rate * Math.max(1, peers));
    }
  }

  addReport(report: EntityReport): void {
    const ms = Date.parse(report.job.completedAt) - Date.parse(report.job.createdAt);
    if (!(ms >= 0)) return;
    this.listOf(this.took, report.accountId).push({ arn: report.entity.arn, ms });
  }

  addFailure(failure: Failure): void {
    if (failure.code !== 'JobTimedOut') return;
    this.listOf(this.unfinished, accountOfArn(failure.arn)).push(failure.arn);
  }

  /**
   * The run's file. A known long job stays unless the run measured that entity's job (it finished, or it
   * never did: then the run's measure stands, long or not) or audited its account in full without it (it
   * is gone). A known time stays for an account the run did not time, or for every account when the run
   * was narrowed; a known rate stays for a kind the run did not find.
   *
   * What is known is the carry's, or `known`: a newer file that a run beside this one wrote while it was
   * being summarized. Whether the run's batches held an entity is kept only for those the carry named
   * (not a set of every identity an organization listed), so a long job of an entity only the newer file
   * names stays unless the run measured it: if the entity is gone, the next run that audits its account
   * in full drops it.
   */
  build(runId: string, known: KnownLongJobs = this.carry.known): LongJobs {
    const { narrowed } = this.carry;
    const accounts: Record<string, LongJob[]> = {};
    for (const accountId of sortedKeys(this.took, this.unfinished, known.jobs)) {
      const took = this.took.get(accountId) ?? [];
      const unfinished = this.unfinished.get(accountId) ?? [];
      const median = medianOf(took.map((t) => t.ms));
      const threshold = Math.max(median * LONG_FACTOR, median + LONG_MARGIN_MS);
      const measured = measuredOf(known.jobs.get(accountId) ?? [], took, unfinished);
      const stillThere = (arn: string) => this.batched.has(arn) || !this.knownArns.has(arn);
      const stays = (job: LongJob) => !measured.has(job.arn) && (narrowed || !this.batchedAccounts.has(accountId) || stillThere(job.arn));
      const jobs: LongJob[] = [
        ...unfinished.map((arn) => ({ arn, seconds: null })),
        ...took.filter((t) => t.ms > threshold).map((t) => ({ arn: t.arn, seconds: Math.round(t.ms / 100) / 10 })),
        ...(known.jobs.get(accountId) ?? []).filter(stays),
      ]
        .sort(longestFirstOrder)
        .slice(0, MOST_PER_ACCOUNT);
      if (jobs.length > 0) accounts[accountId] = jobs;
    }
    const accountTimes: Record<string, AccountTime> = {};
    const timed = narrowed ? new Map<string, { ms: number; entities: number }>() : this.times;
    for (const accountId of sortedKeys(timed, known.accountTimes)) {
      const t = timed.get(accountId);
      accountTimes[accountId] = t ? { seconds: Math.round(t.ms / 100) / 10, entities: t.entities } : known.accountTimes.get(accountId)!;
    }
    // The batches of an account did not all run for the same span, nor always side by side: one that ran
    // on alone grew into its peers' shares. Not the sum of their shares, then, but the median of their
    // estimates, the lower of the middle two: a rate too low costs less than one too high.
    const callRates: Record<string, CallRates> = {};
    for (const accountId of sortedKeys(this.rates, known.callRates)) {
      const lowerMedian = (rates: number[]) => [...rates].sort((a, b) => a - b)[(rates.length - 1) >> 1];
      const found = [...(this.rates.get(accountId) ?? [])].map(([kind, rates]) => [kind, Math.round(lowerMedian(rates) * 100) / 100]);
      callRates[accountId] = { ...known.callRates.get(accountId), ...Object.fromEntries(found) };
    }
    return { schemaVersion: 1, runId, accounts, accountTimes, callRates, carriedFrom: known.runId };
  }

  private listOf<K, T>(map: Map<K, T[]>, key: K): T[] {
    let list = map.get(key);
    if (!list) map.set(key, (list = []));
    return list;
  }
}

/** Of the known long jobs, the entities whose job the run measured: it finished, or it never did. */
function measuredOf(knownJobs: readonly LongJob[], took: ReadonlyArray<{ arn: string }>, unfinished: readonly string[]): Set<string> {
  const knownArns = new Set(knownJobs.map((j) => j.arn));
  const measured = new Set<string>();
  if (knownArns.size === 0) return measured;
  for (const { arn } of took) if (knownArns.has(arn)) measured.add(arn);
  for (const arn of unfinished) if (knownArns.has(arn)) measured.add(arn);
  return measured;
}

/** Jobs that never finished first, then the longest first; equal ones by ARN. */
const longestFirstOrder = (a: LongJob, b: LongJob) => (b.seconds ?? Infinity) - (a.seconds ?? Infinity) || (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0);

/** The keys of all the maps, once each, in order. */
const sortedKeys = (...maps: ReadonlyMap<string, unknown>[]) => [...new Set(maps.flatMap((m) => [...m.keys()]))].sort();

const isRate = (rate: unknown): rate is number => typeof rate === 'number' && Number.isFinite(rate) && rate > 0;

function medianOf(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** What the latest run that wrote a long-jobs file learned, whatever its status: where Plan starts from. */
export async function readLatestLongJobs(store: ReportStore): Promise<KnownLongJobs> {
  return readLongJobsOf(store, (await latestLongJobsPointer(store)).runId);
}

/**
 * `latest-long-jobs.json` as read: the run it names (null when there is none or it cannot be read, said
 * why), and its tag (null when there is none).
 */
export interface PointerRead {
  readonly runId: string | null;
  readonly tag: string | null;
}

export async function latestLongJobsPointer(store: ReportStore): Promise<PointerRead> {
  let tag: string | null = null;
  try {
    const read = await store.getTagged(keys.latestLongJobs());
    if (read === null) return { runId: null, tag: null };
    tag = read.tag;
    const pointer = JSON.parse(read.text) as Partial<LatestLongJobsPointer> | null;
    if (typeof pointer?.runId !== 'string' || pointer.runId.length === 0) throw new Error(`runId ${JSON.stringify(pointer?.runId)} is not a run id`);
    return { runId: pointer.runId, tag };
  } catch (err) {
    warnUnreadable(err, null);
    return { runId: null, tag };
  }
}

/** How often a run builds its file again from a newer one before it moves the pointer regardless. */
const POINTER_ATTEMPTS = 5;

/**
 * Writes the run's file and moves `latest-long-jobs.json` to it, unless a run beside this one moved the
 * pointer since it was read (`seen`): then the file is built again, carrying forward from the file the
 * pointer names now (`carryFrom` says which, given the run it names), and the pointer is tried again.
 * Without this, two runs summarized at once would both carry from the same older file, and the one that
 * wrote last would drop what the other measured. After POINTER_ATTEMPTS tries, the pointer is moved
 * regardless, as the last writer would. Answers the file written.
 */
export async function writeLongJobs(
  store: ReportStore,
  runId: string,
  collector: LongJobCollector,
  seen: PointerRead,
  carryFrom: (latest: string | null) => string | null,
  writtenAt: string,
): Promise<LongJobs> {
  const pointer = jsonText({ runId, longJobsKey: keys.longJobs(runId), writtenAt } satisfies LatestLongJobsPointer);
  let file = collector.build(runId);
  let tag = seen.tag;
  for (let attempt = 1; ; attempt++) {
    await putJson(store, keys.longJobs(runId), file);
    if (await store.putIfUnchanged(keys.latestLongJobs(), pointer, tag)) return file;
    const now = await latestLongJobsPointer(store);
    if (attempt === POINTER_ATTEMPTS) {
      console.warn(JSON.stringify({ message: 'latest-long-jobs.json kept moving while this run wrote its long jobs: it names this run regardless', runId, attempts: attempt, latest: now.runId }));
      await store.put(keys.latestLongJobs(), pointer, 'application/json');
      return file;
    }
    tag = now.tag;
    file = collector.build(runId, await readLongJobsOf(store, carryFrom(now.runId)));
  }
}

/**
 * One run's long-jobs file: its accounts' long jobs in the order to generate them, their times and call
 * rates. A missing or unreadable file only costs the ordering and the rates: it reads as nothing known,
 * never as a failed run.
 */
export async function readLongJobsOf(store: ReportStore, runId: string | null): Promise<KnownLongJobs> {
  if (runId === null) return NOTHING_KNOWN;
  try {
    const file = await getJson<LongJobs>(store, keys.longJobs(runId));
    if (file?.schemaVersion !== 1 || typeof file.accounts !== 'object' || file.accounts === null) throw new Error(`schemaVersion ${String(file?.schemaVersion)}, not 1`);
    const jobs = new Map<string, LongJob[]>();
    for (const [accountId, list] of Object.entries(file.accounts)) {
      if (!Array.isArray(list)) throw new Error(`accounts.${accountId} is not a list`);
      list.forEach((job: Partial<LongJob>, i) => {
        if (!(typeof job?.arn === 'string' && (job.seconds === null || (typeof job.seconds === 'number' && job.seconds >= 0)))) {
          throw new Error(`accounts.${accountId}[${i}] is not { arn, seconds }`);
        }
      });
      jobs.set(accountId, list.map(({ arn, seconds }: LongJob) => ({ arn, seconds })));
    }
    const accountTimes = new Map<string, AccountTime>();
    for (const [accountId, time] of Object.entries(file.accountTimes ?? {})) {
      const { seconds, entities } = (time ?? {}) as Partial<AccountTime>;
      if (!(typeof seconds === 'number' && seconds >= 0 && typeof entities === 'number' && entities > 0)) throw new Error(`accountTimes.${accountId} is not { seconds, entities }`);
      accountTimes.set(accountId, { seconds, entities });
    }
    const callRates = new Map<string, CallRates>();
    for (const [accountId, rates] of Object.entries(file.callRates ?? {})) {
      const entries = Object.entries((rates ?? {}) as Record<string, unknown>);
      const bad = entries.find(([kind, rate]) => !(CALL_KINDS as readonly string[]).includes(kind) || !isRate(rate));
      if (bad) throw new Error(`callRates.${accountId}.${bad[0]} is not a positive rate of list, generate or get calls`);
      callRates.set(accountId, Object.fromEntries(entries) as CallRates);
    }
    return { runId, jobs, accountTimes, callRates };
  } catch (err) {
    warnUnreadable(err, runId);
    return NOTHING_KNOWN;
  }
}

/** Says why a pointer or file that exists cannot be read; one that is not there (a first run) is no news. */
function warnUnreadable(err: unknown, runId: string | null): void {
  if (!(err instanceof NotFound)) {
    console.warn(JSON.stringify({ message: "the latest run's long jobs cannot be read: entities keep their listing order, accounts go largest first, call rates are found afresh", runId, reason: (err as Error).message }));
  }
}

/**
 * The accounts in the order to start them: the longest first (longest processing time first), so that
 * with more batches than the Map runs at once no long one starts when the others are done. An account's
 * time is the one its batches took when last timed (see LongJobCollector.build), scaled up if it has grown; an account
 * that run did not time gets the median time per entity of those it did, and with no times at all,
 * accounts are ordered by size. Equal estimates keep the given order.
 */
export function longestFirst(entitiesByAccount: ReadonlyArray<readonly [string, number]>, times: ReadonlyMap<string, AccountTime>): string[] {
  const timed = entitiesByAccount.map(([accountId]) => times.get(accountId)).filter((t): t is AccountTime => t !== undefined);
  const perEntity = timed.length === 0 ? 1 : medianOf(timed.map((t) => t.seconds / t.entities));
  const estimate = new Map(
    entitiesByAccount.map(([accountId, entities]) => {
      const time = times.get(accountId);
      return [accountId, time ? time.seconds * Math.max(1, entities / time.entities) : entities * perEntity] as const;
    }),
  );
  return entitiesByAccount.map(([accountId]) => accountId).sort((a, b) => estimate.get(b)! - estimate.get(a)!);
}

/** The entities whose jobs were long last time, in that order, and the others in their listing order. */
export function longJobsFirst(entities: readonly EntityRef[], longJobs: readonly LongJob[] | undefined): { long: EntityRef[]; rest: EntityRef[] } {
  if (!longJobs || longJobs.length === 0) return { long: [], rest: [...entities] };
  const rank = new Map(longJobs.map((job, i) => [job.arn, i]));
  const long = entities.filter((e) => rank.has(e.arn)).sort((a, b) => rank.get(a.arn)! - rank.get(b.arn)!);
  return { long, rest: entities.filter((e) => !rank.has(e.arn)) };
}
