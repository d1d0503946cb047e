/**
 * The jobs of a run that IAM took much longer on than on the rest of their account: Summarize writes
 * them (`runs/<runId>/long-jobs.json`), and the next run's Plan has their entities generated first,
 * longest first. An account's audit can end no sooner than its last job, so a job of minutes generated
 * at the end of the account's stream holds the whole run; generated at its start, it runs while the
 * rest are generated. Nothing else depends on the file: a run without one (the first, or one after an
 * INCOMPLETE run) only keeps the listing order.
 */
import { keys, type EntityRef, type EntityReport, type Failure, type LatestPointer } from './model';
import { getJson, NotFound, type ReportStore } from './store';

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

export interface LongJobs {
  readonly schemaVersion: 1;
  readonly runId: string;
  /** Each account's long jobs, those that never finished first, then the longest first. */
  readonly accounts: Readonly<Record<string, readonly LongJob[]>>;
}

/** Collects one account's job durations as Summarize reads its reports and failures. */
export class LongJobCollector {
  private readonly took = new Map<string, Array<{ arn: string; ms: number }>>();
  private readonly unfinished = new Map<string, string[]>();

  addReport(report: EntityReport): void {
    const ms = Date.parse(report.job.completedAt) - Date.parse(report.job.createdAt);
    if (!(ms >= 0)) return;
    this.listOf(this.took, report.accountId).push({ arn: report.entity.arn, ms });
  }

  addFailure(failure: Failure): void {
    if (failure.code === 'JobTimedOut') this.listOf(this.unfinished, failure.arn.split(':')[4]).push(failure.arn);
  }

  build(runId: string): LongJobs {
    const accounts: Record<string, LongJob[]> = {};
    for (const accountId of new Set([...this.took.keys(), ...this.unfinished.keys()])) {
      const took = this.took.get(accountId) ?? [];
      const median = medianOf(took.map((t) => t.ms));
      const threshold = Math.max(median * LONG_FACTOR, median + LONG_MARGIN_MS);
      const long = took.filter((t) => t.ms > threshold).sort((a, b) => b.ms - a.ms || (a.arn < b.arn ? -1 : 1));
      const jobs: LongJob[] = [
        ...(this.unfinished.get(accountId) ?? []).sort().map((arn) => ({ arn, seconds: null })),
        ...long.map((t) => ({ arn: t.arn, seconds: Math.round(t.ms / 100) / 10 })),
      ].slice(0, MOST_PER_ACCOUNT);
      if (jobs.length > 0) accounts[accountId] = jobs;
    }
    return { schemaVersion: 1, runId, accounts };
  }

  private listOf<T>(map: Map<string, T[]>, accountId: string): T[] {
    let list = map.get(accountId);
    if (!list) map.set(accountId, (list = []));
    return list;
  }
}

function medianOf(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The long jobs of the latest COMPLETED run, by account and ARN, in the order to generate them. A run
 * before this version wrote none, and a file that cannot be read only costs the ordering: both give an
 * empty map, never a failed run.
 */
export async function readLongJobs(store: ReportStore): Promise<ReadonlyMap<string, readonly string[]>> {
  let runId: string | undefined;
  try {
    runId = (await getJson<LatestPointer>(store, keys.latest())).runId;
    const file = await getJson<LongJobs>(store, keys.longJobs(runId));
    if (file?.schemaVersion !== 1 || typeof file.accounts !== 'object' || file.accounts === null) throw new Error(`schemaVersion ${String(file?.schemaVersion)}, not 1`);
    const byAccount = new Map<string, string[]>();
    for (const [accountId, jobs] of Object.entries(file.accounts)) {
      if (!Array.isArray(jobs)) throw new Error(`accounts.${accountId} is not a list`);
      byAccount.set(accountId, jobs.map((j: LongJob) => j?.arn).filter((arn): arn is string => typeof arn === 'string'));
    }
    return byAccount;
  } catch (err) {
    if (!(err instanceof NotFound)) {
      console.warn(JSON.stringify({ message: "the latest run's long jobs cannot be read: entities keep their listing order", runId: runId ?? null, reason: (err as Error).message }));
    }
    return new Map();
  }
}

/** The entities whose jobs were long last time, in that order, and the others in their listing order. */
export function longJobsFirst(entities: readonly EntityRef[], longArns: readonly string[] | undefined): { long: EntityRef[]; rest: EntityRef[] } {
  if (!longArns || longArns.length === 0) return { long: [], rest: [...entities] };
  const rank = new Map(longArns.map((arn, i) => [arn, i]));
  const long = entities.filter((e) => rank.has(e.arn)).sort((a, b) => rank.get(a.arn)! - rank.get(b.arn)!);
  return { long, rest: entities.filter((e) => !rank.has(e.arn)) };
}
