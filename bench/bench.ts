/**
 * `npm run bench -- --entities N [--seed S] [--throttle-rps R] [--ceiling C] [--job-latency-ms MS] [--nights 1|2] [--json]`
 *
 * Runs the synthesized workflow locally on a generated account, against the emulator throttling each IAM
 * API at R calls a second (IAM's rate, which the pipeline is not told), with the pipeline's call ceiling at
 * its deployed default unless --ceiling says otherwise: the pipeline must find IAM's rate itself. In the same
 * run, on the same account and emulator settings, it measures two peer approaches (bench/baseline.ts): the
 * AWS CLI loop, and five workers polling every second as Aardvark and AirIAM do. It prints the run's figures
 * next to the lower bound IAM's buckets allow and next to both, with the run's cost at published AWS prices.
 * Unless `--nights 1`, it then runs the pipeline a second time into the same store, as the next night
 * would, and prints that run's time too: the first run is the one compared with the peers.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS } from '../lambda/core/defaults';
import type { LongJobs } from '../lambda/core/long-jobs';
import { accountOfArn, keys, type RunSummary } from '../lambda/core/model';
import { parseFlags, numberFlag, UsageError } from '../cli/flags';
import { generateSampleAccount, generateSampleOrganization, loadAccount, loadOrganization, startEmulator, VirtualClock, type Account, type Organization } from '../local/emulator';
import { runLocal, type LocalRunResult } from '../local/runner/run-local';
import { cliLoopBaseline, custodianBaseline, workerPoolBaseline, type BaselineResult, type CustodianAccount } from './baseline';

/**
 * Published AWS prices, us-east-1, as on AWS's pricing pages on 2026-11-25: Step Functions Standard
 * $0.025 per 1,000 state transitions; Lambda on arm64 $0.20 per million requests and $0.0000133334 per
 * GB-second; S3 Standard $0.005 per 1,000 PUT and LIST requests and $0.0004 per 1,000 GET requests.
 * Free tiers are left out; storage is estimated apart in the README.
 */
export const PRICES = {
  stateTransition: 0.025 / 1000,
  lambdaRequest: 0.2 / 1_000_000,
  lambdaGbSecond: 0.0000133334,
  s3PutOrList: 0.005 / 1000,
  s3Get: 0.0004 / 1000,
};
export const RUNS_PER_MONTH = 30;
/** The run's time the benchmark holds it to, over the lower bound at IAM's rate. */
export const TARGET_BOUND_RATIO = 1.3;

export interface BenchOptions {
  /** Identities in all (accounts x entities per account for an organization). */
  readonly entities: number;
  /** Audit an organization of this many accounts, side by side. @default one account, no organization */
  readonly accounts?: number;
  readonly entitiesPerAccount?: number;
  readonly seed: string;
  /** IAM's rate: the emulator's token bucket per API, in calls per simulated second. */
  readonly throttleRps: number;
  readonly throttleBurst: number;
  /** The pipeline's ceiling (iamCallsPerSecond): the deployed default unless given. */
  readonly ceiling: number;
  readonly jobLatencyMs: number;
  readonly slowJobLatencyMs: number;
  readonly timeScale: number;
  readonly baselines: boolean;
  /** Runs of the pipeline into one store, a night apart: the second generates the first's long jobs first. */
  readonly nights: 1 | 2;
}

export interface BaselineFigures {
  readonly simulatedSeconds: number;
  readonly iamCalls: BaselineResult['iamCalls'];
  /** How many times longer than the pipeline it took. */
  readonly slowerBy: number;
}

export interface BenchResult {
  readonly entities: number;
  readonly simulatedSeconds: number;
  readonly lowerBoundSeconds: number;
  /** Simulated time over the lower bound. */
  readonly boundRatio: number;
  readonly lastJob: LastJob | null;
  /**
   * The chance that a first run meets `ratio` times the bound even at IAM's full rate with nothing after
   * the last job, given the sample's `slowJobs` (blindOrderChance): what the first run's ratio is up against.
   */
  readonly blindOrder: { readonly ratio: number; readonly chance: number; readonly slowJobs: number };
  readonly iamCalls: { list: number; generate: number; get: number; throttled: number; retried: number };
  /** Throttled calls as a share of all IAM calls. */
  readonly throttledShare: number;
  readonly lambdaInvocations: number;
  readonly stateTransitions: number;
  /** S3 requests the run made, counted at the store. */
  readonly s3Requests: { put: number; get: number; list: number };
  readonly costPerRunUsd: number;
  readonly costPerMonthUsd: number;
  readonly baselines: {
    readonly sequentialCli: BaselineFigures | null;
    readonly workerPool5: BaselineFigures | null;
    /** Cloud Custodian's `usage` filter, and for an organization c7n-org with the accounts side by side: the strongest peer. */
    readonly custodian: BaselineFigures | null;
    /** An organization audited by the same pipeline one account after another (maxConcurrency 1). */
    readonly accountByAccount: BaselineFigures | null;
  };
  /** Accounts of an organization run; 1 for one account. */
  readonly accounts: number;
  /** The Propose step: its real time, as a share of the run's, and its heap against its memory setting. */
  readonly proposals: { readonly count: number; readonly realSeconds: number; readonly shareOfRealTime: number; readonly peakHeapMb: number; readonly memoryMb: number };
  /**
   * Summarize's real time, its gather (which runs beside Propose) and its finish together. Propose and
   * Summarize do work of this machine's CPU, not waits on IAM: the simulated clock counts their real
   * seconds times the time scale, more than Lambda would take.
   */
  readonly summarize: { readonly realSeconds: number };
  readonly peakRssMb: number;
  /**
   * The same audit the next night, into the same store: Plan has the entities whose jobs the first run
   * found long generated first. Null with `--nights 1`. Every other figure is the first night's, and so
   * is every comparison with a peer: the peers keep nothing from one run to the next.
   */
  readonly nextNight: NightFigures | null;
  readonly perIdentity: { generateAndGetCalls: number; stateTransitions: number; costPerMonthPer1000Usd: number };
  readonly run: { status: string; listed: number; reported: number; skipped: number; failed: number; realSeconds: number; maxStatePayloadBytes: number; lambdaGbSeconds: number };
  readonly settings: BenchOptions & { batchSize: number; maxConcurrency: number };
}

/**
 * The job IAM finished last of those the run read, in seconds from the run's start: the run could not end
 * sooner, whatever it did after. How long the job took, and when it was generated, say why it came so late.
 */
export interface LastJob {
  readonly generatedSeconds: number;
  readonly finishedSeconds: number;
  /** Its finish over the lower bound: the ratio of a run that read it the moment it finished and stopped. */
  readonly boundRatio: number;
}

export interface NightFigures {
  readonly simulatedSeconds: number;
  readonly lowerBoundSeconds: number;
  readonly boundRatio: number;
  readonly lastJob: LastJob | null;
  readonly throttledShare: number;
  readonly generateAndGetCalls: number;
  /** Entities Plan put first because the night before found their jobs long. */
  readonly longJobsFirst: number;
  readonly realSeconds: number;
  readonly peakRssMb: number;
}

/** An entity the pipeline audits with its default settings (service-linked roles are left out). */
const auditedByDefault = (e: { readonly path: string }) => !DEFAULTS.excludePathPrefixes.some((p) => e.path.startsWith(p));
/** The ARNs of an account's identities the pipeline audits with its default settings. */
const auditedArns = (account: Account) => account.entities.filter(auditedByDefault).map((e) => e.arn);

/** What an audited account's audit must ask of IAM, whatever order it goes in. */
export interface AccountWork {
  /** List calls of each entity type (pages of 1000). */
  readonly listCalls: readonly number[];
  /** One Generate per audited entity. */
  readonly generates: number;
  /** One Get per job generated (an entity deleted before its Generate has none). */
  readonly gets: number;
  /** Audited entities whose jobs the emulator makes slow: nothing in a listing marks them. */
  readonly slowJobs: number;
}

/** Each account the run audited, with what its audit had to ask of IAM. */
export function accountWork(accounts: readonly Account[], run: LocalRunResult): AccountWork[] {
  const summary = run.summary!;
  return accounts.flatMap((account) => {
    const audited = summary.accounts.find((a) => a.accountId === account.accountId);
    if (!audited || audited.status !== 'audited') return [];
    const generates = audited.entities.listed;
    return [
      {
        listCalls: ['user', 'group', 'role', 'policy'].map((t) => Math.max(1, Math.ceil(account.entities.filter((e) => e.type === t).length / 1000))),
        generates,
        gets: generates - summary.skipped.filter((s) => s.code === 'NoSuchEntity' && accountOfArn(s.arn) === account.accountId).length,
        slowJobs: account.entities.filter((e) => e.fault === 'slow-job' && auditedByDefault(e)).length,
      },
    ];
  });
}

/** IAM's token bucket: the seconds `calls` calls take at `rps` after a full burst. */
const bucketSeconds = (calls: number, rps: number, burst: number) => Math.max(0, calls - burst) / rps;

function listSeconds(work: AccountWork, rps: number, burst: number): number {
  return work.listCalls.reduce((sum, calls) => sum + bucketSeconds(calls, rps, burst), 0);
}

/**
 * What IAM's buckets allow for the calls an account's audit must make: every type listed, one Generate
 * per audited entity, and one Get per job generated. Generate and Get have their own buckets and run side
 * by side, and the last Get must wait for the last job to finish. IAM throttles each account on its own,
 * so an organization's bound is its slowest account's.
 */
export function lowerBoundSeconds(work: readonly AccountWork[], rps: number, burst: number, jobLatencyMs: number): number {
  const bucket = (calls: number) => bucketSeconds(calls, rps, burst);
  return Math.max(0, ...work.map((w) => listSeconds(w, rps, burst) + Math.max(bucket(w.generates) + jobLatencyMs / 1000, bucket(w.gets))));
}

/**
 * The chance that an order blind to which jobs are slow, as a first run's must be, ends within `ratio`
 * times the bound, even if every Generate went at the earliest moment IAM's bucket allows and nothing
 * were left to do after IAM's last job: a chance the pipeline cannot beat. A slow job generated so late
 * that it ends after `ratio` times the bound makes the run miss whatever else it does; a blind order puts
 * each account's slow jobs at random places, so the chance is that none of them falls in its account's
 * late places.
 */
export function blindOrderChance(work: readonly AccountWork[], bound: number, options: { rps: number; burst: number; slowJobLatencyMs: number; ratio: number }): number {
  const { rps, burst, slowJobLatencyMs, ratio } = options;
  let chance = 1;
  for (const w of work) {
    const list = listSeconds(w, rps, burst);
    let late = 0;
    for (let i = 1; i <= w.generates; i++) if (list + bucketSeconds(i, rps, burst) + slowJobLatencyMs / 1000 > ratio * bound) late++;
    for (let j = 0; j < w.slowJobs; j++) chance *= Math.max(0, w.generates - late - j) / (w.generates - j);
  }
  return chance;
}

/**
 * The accounts a Custodian replay audits, with the identities the pipeline audited in each: a lone account
 * with a static key, an organization's through its member role, as c7n-org enters them.
 */
export function custodianAccounts(organization: Organization | undefined, account: Account | undefined, summary: RunSummary): CustodianAccount[] {
  if (!organization) return [{ arns: auditedArns(account!), enter: { accessKeyId: 'AKIDCUSTODIAN0000001' } }];
  return organization.accounts
    .filter((m) => summary.accounts.some((a) => a.accountId === m.accountId && a.status === 'audited'))
    .map((m) => ({ arns: auditedArns(m.account), enter: { roleArn: `arn:aws:iam::${m.accountId}:role/${organization.memberRoleName}` } }));
}

export function costOf(run: LocalRunResult): { perRun: number; gbSeconds: number; invocations: number } {
  const invocations = Object.values(run.stats.lambdaInvocations).reduce((a, b) => a + b, 0);
  const gbSeconds = Object.values(run.stats.lambdaGbSeconds).reduce((a, b) => a + b, 0);
  const s3 = run.stats.storeRequests;
  const perRun =
    run.stats.stateTransitions * PRICES.stateTransition +
    invocations * PRICES.lambdaRequest +
    gbSeconds * PRICES.lambdaGbSecond +
    (s3.put + s3.list) * PRICES.s3PutOrList +
    s3.get * PRICES.s3Get;
  return { perRun, gbSeconds, invocations };
}

export async function bench(options: BenchOptions): Promise<BenchResult> {
  const organization = options.accounts
    ? loadOrganization(generateSampleOrganization({ accounts: options.accounts, entitiesPerAccount: options.entitiesPerAccount ?? 1000, seed: options.seed }), 'bench organization')
    : undefined;
  const account = organization ? undefined : loadAccount(generateSampleAccount({ entities: options.entities, seed: options.seed }), 'bench account');
  const accounts = organization ? organization.accounts.map((a) => a.account) : [account!];
  // Every run's store sits under one temporary directory, removed however the benchmark ends.
  const root = mkdtempSync(join(tmpdir(), 'bench-'));
  const outDir = join(root, 'nights');
  const throttle = { rps: options.throttleRps, burst: options.throttleBurst };
  const emulatorSettings = { throttle, jobLatencyMs: options.jobLatencyMs, slowJobLatencyMs: options.slowJobLatencyMs };
  try {
    // Every run synthesizes afresh: its peak RSS then always counts the synthesis process, as it always has.
    const night = async () => {
      const result = await runLocal({ account, organization, outDir, timeScale: options.timeScale, emulator: emulatorSettings, settings: { iamCallsPerSecond: options.ceiling }, synthesisCache: null });
      if (!result.summary) throw new Error(`the benchmark run failed: ${result.error?.Error}: ${result.error?.Cause}`);
      const work = accountWork(accounts, result);
      return { result, work, lowerBound: lowerBoundSeconds(work, options.throttleRps, options.throttleBurst, options.jobLatencyMs) };
    };
    const { result: run, work, lowerBound } = await night();
    const summary = run.summary!;
    const first = timeFigures(run, lowerBound);
    const blindOrder = {
      ratio: TARGET_BOUND_RATIO,
      chance: round(blindOrderChance(work, lowerBound, { rps: options.throttleRps, burst: options.throttleBurst, slowJobLatencyMs: options.slowJobLatencyMs, ratio: TARGET_BOUND_RATIO }), 4),
      slowJobs: work.reduce((n, w) => n + w.slowJobs, 0),
    };
    let nextNight: NightFigures | null = null;
    if (options.nights === 2) {
      const longJobsFirst = readLongJobCount(outDir, run.runId);
      const next = await night();
      nextNight = { ...timeFigures(next.result, next.lowerBound), longJobsFirst };
    }

    // An organization, the same pipeline one account after another: what side by side saves.
    let accountByAccount: BaselineFigures | null = null;
    if (organization && options.baselines) {
      const sequential = await runLocal({
        organization,
        outDir: join(root, 'one-account-after-another'),
        timeScale: options.timeScale * Math.min(accounts.length, 10),
        emulator: emulatorSettings,
        settings: { iamCallsPerSecond: options.ceiling, maxConcurrency: 1 },
        synthesisCache: null,
      });
      accountByAccount = { simulatedSeconds: round(sequential.stats.simulatedSeconds, 1), iamCalls: sequential.summary!.iamCalls, slowerBy: round(sequential.stats.simulatedSeconds / run.stats.simulatedSeconds, 2) };
    }

    // The peers, on the same account or organization, under the same buckets and latency, on a clock only their sleeps move.
    const audited = account ? auditedArns(account) : [];
    const baseline = async (measure: (url: string, clock: VirtualClock) => Promise<BaselineResult>, where: 'account' | 'any' = 'account'): Promise<BaselineFigures | null> => {
      if (!options.baselines || (where === 'account' && !account)) return null;
      const clock = new VirtualClock();
      const emulator = await startEmulator({ account, organization, clock, ...emulatorSettings });
      try {
        const result = await measure(emulator.url, clock);
        return { simulatedSeconds: round(result.simulatedSeconds, 1), iamCalls: result.iamCalls, slowerBy: round(result.simulatedSeconds / run.stats.simulatedSeconds, 2) };
      } finally {
        await emulator.close();
      }
    };
    const sequentialCli = await baseline((url, clock) => cliLoopBaseline(url, clock, { arns: audited }));
    const workerPool5 = await baseline((url, clock) => workerPoolBaseline(url, clock, 5, { arns: audited }));
    const custodian = await baseline((url, clock) => custodianBaseline(url, clock, custodianAccounts(organization, account, summary)), 'any');

    const cost = costOf(run);
    const iamCalls = summary.iamCalls;
    const listed = Math.max(1, summary.entities.listed);
    return {
      entities: options.entities,
      simulatedSeconds: first.simulatedSeconds,
      lowerBoundSeconds: first.lowerBoundSeconds,
      boundRatio: first.boundRatio,
      lastJob: first.lastJob,
      blindOrder,
      iamCalls,
      throttledShare: first.throttledShare,
      lambdaInvocations: cost.invocations,
      stateTransitions: run.stats.stateTransitions,
      s3Requests: run.stats.storeRequests,
      costPerRunUsd: round(cost.perRun, 5),
      costPerMonthUsd: round(cost.perRun * RUNS_PER_MONTH, 4),
      baselines: { sequentialCli, workerPool5, custodian, accountByAccount },
      accounts: accounts.length,
      proposals: proposeFigures(run),
      summarize: { realSeconds: realSecondsOf(run, 'AuditSummarize') },
      peakRssMb: first.peakRssMb,
      nextNight,
      perIdentity: {
        generateAndGetCalls: first.generateAndGetCalls,
        stateTransitions: round(run.stats.stateTransitions / listed, 3),
        costPerMonthPer1000Usd: round((cost.perRun * RUNS_PER_MONTH) / (listed / 1000), 4),
      },
      run: {
        status: summary.status,
        listed: summary.entities.listed,
        reported: summary.entities.reported,
        skipped: summary.entities.skipped,
        failed: summary.entities.failed,
        realSeconds: first.realSeconds,
        maxStatePayloadBytes: run.stats.maxStatePayloadBytes,
        lambdaGbSeconds: round(cost.gbSeconds, 1),
      },
      settings: { ...options, batchSize: DEFAULTS.batchSize, maxConcurrency: DEFAULTS.maxConcurrency },
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** A run's time against its bound, and what its calls and memory came to. */
function timeFigures(run: LocalRunResult, lowerBound: number): Omit<NightFigures, 'longJobsFirst'> {
  const calls = run.summary!.iamCalls;
  return {
    simulatedSeconds: round(run.stats.simulatedSeconds, 1),
    lowerBoundSeconds: round(lowerBound, 1),
    boundRatio: round(run.stats.simulatedSeconds / lowerBound, 3),
    lastJob: lastJobOf(run, lowerBound),
    throttledShare: round(calls.throttled / Math.max(1, calls.list + calls.generate + calls.get), 4),
    generateAndGetCalls: round((calls.generate + calls.get) / Math.max(1, run.summary!.entities.listed), 3),
    realSeconds: round(run.stats.realSeconds, 1),
    peakRssMb: run.stats.peakRssMb,
  };
}

function lastJobOf(run: LocalRunResult, lowerBound: number): LastJob | null {
  const job = run.stats.emulator?.lastJobFinished;
  if (!job) return null;
  const since = (iso: string) => (Date.parse(iso) - Date.parse(run.stats.simulatedStart)) / 1000;
  const finishedSeconds = since(job.finishedAt);
  return { generatedSeconds: round(since(job.generatedAt), 1), finishedSeconds: round(finishedSeconds, 1), boundRatio: round(finishedSeconds / lowerBound, 3) };
}

/** How many long jobs a run wrote for the next one. */
function readLongJobCount(outDir: string, runId: string): number {
  const file = JSON.parse(readFileSync(join(outDir, keys.longJobs(runId)), 'utf8')) as LongJobs;
  return Object.values(file.accounts).reduce((n, jobs) => n + jobs.length, 0);
}

/** A function's logical id in the run's stats, by how it starts (AuditPropose, AuditSummarize). */
function functionId(run: LocalRunResult, logicalIdStart: string): string {
  return Object.keys(run.stats.lambdaRealSeconds).find((k) => k.startsWith(logicalIdStart)) ?? '';
}

function realSecondsOf(run: LocalRunResult, logicalIdStart: string): number {
  return run.stats.lambdaRealSeconds[functionId(run, logicalIdStart)] ?? 0;
}

/** The Propose function's figures from a run. */
function proposeFigures(run: LocalRunResult): BenchResult['proposals'] {
  const id = functionId(run, 'AuditPropose');
  const realSeconds = run.stats.lambdaRealSeconds[id] ?? 0;
  return {
    count: run.summary?.proposals.count ?? 0,
    realSeconds,
    shareOfRealTime: round(realSeconds / Math.max(0.001, run.stats.realSeconds), 3),
    peakHeapMb: run.stats.lambdaPeakHeapMb[id] ?? 0,
    memoryMb: run.stats.lambdaMemoryMb[id] ?? 0,
  };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A run's ratio to its bound, and what IAM's last job alone came to: the part no pacing could save. */
function ratioWithLastJob(night: Pick<NightFigures, 'boundRatio' | 'lastJob'>): string {
  return night.lastJob === null ? `${night.boundRatio}x` : `${night.boundRatio}x (IAM's last job done at ${night.lastJob.boundRatio}x)`;
}

/** The targets of the benchmark, checked against a result. */
export function targets(r: BenchResult): Array<{ target: string; value: string; met: boolean }> {
  const pool = r.baselines.workerPool5;
  return [
    { target: `time within ${TARGET_BOUND_RATIO}x of the lower bound at IAM's rate`, value: ratioWithLastJob(r), met: r.boundRatio <= TARGET_BOUND_RATIO },
    ...(r.nextNight
      ? [{ target: 'the next night too (long jobs first)', value: ratioWithLastJob(r.nextNight), met: r.nextNight.boundRatio <= TARGET_BOUND_RATIO }]
      : []),
    { target: 'at most 5% of IAM calls throttled', value: `${round(r.throttledShare * 100, 2)}%`, met: r.throttledShare <= 0.05 },
    r.accounts > 1
      ? { target: 'faster than the same pipeline one account after another', value: r.baselines.accountByAccount === null ? 'not run' : `${r.baselines.accountByAccount.slowerBy}x`, met: (r.baselines.accountByAccount?.slowerBy ?? 0) > 1 }
      : { target: 'at least 2x faster than five polling workers', value: pool === null ? 'not run' : `${pool.slowerBy}x`, met: pool !== null && pool.slowerBy >= 2 },
    {
      target: 'faster than Cloud Custodian, the strongest peer',
      value: r.baselines.custodian === null ? 'not run' : `${r.baselines.custodian.slowerBy}x`,
      met: (r.baselines.custodian?.slowerBy ?? 0) > 1,
    },
    { target: 'at most 2.2 Generate+Get calls per identity', value: String(r.perIdentity.generateAndGetCalls), met: r.perIdentity.generateAndGetCalls <= 2.2 },
    { target: 'at most $0.50 a month per 1,000 identities, nightly', value: `$${r.perIdentity.costPerMonthPer1000Usd}`, met: r.perIdentity.costPerMonthPer1000Usd <= 0.5 },
    { target: 'no state payload over 256 KiB', value: `${r.run.maxStatePayloadBytes} bytes max`, met: r.run.maxStatePayloadBytes <= 256 * 1024 },
    { target: 'peak memory under 1.5 GiB', value: `${r.peakRssMb} MB`, met: r.peakRssMb < 1536 },
    { target: 'proposals add at most 15% to the real time', value: `${round(r.proposals.shareOfRealTime * 100, 1)}%`, met: r.proposals.shareOfRealTime <= 0.15 },
    { target: 'proposals fit the Propose function\'s memory', value: `${r.proposals.peakHeapMb} of ${r.proposals.memoryMb} MB`, met: r.proposals.peakHeapMb < r.proposals.memoryMb },
  ];
}

function lastJobLine(job: LastJob | null): string {
  if (job === null) return 'none read';
  return `finished at ${job.finishedSeconds} s (${job.boundRatio}x the bound), ${round(job.finishedSeconds - job.generatedSeconds, 1)} s after its Generate at ${job.generatedSeconds} s`;
}

function table(r: BenchResult): string {
  const slower = (b: BaselineFigures | null) => (b === null ? 'not run' : `${b.simulatedSeconds} s (${b.slowerBy}x the pipeline's time), ${b.iamCalls.throttled} throttled`);
  const rows: Array<[string, string]> = [
    ['entities', `${r.entities} (listed ${r.run.listed}: ${r.run.reported} reported, ${r.run.skipped} skipped, ${r.run.failed} failed; ${r.run.status})`],
    ['simulated time', `${r.simulatedSeconds} s (${r.run.realSeconds} s real)`],
    ['lower bound', `${r.lowerBoundSeconds} s at IAM's rate (${r.boundRatio}x)`],
    ['IAM\'s last job', lastJobLine(r.lastJob)],
    ['blind order', `${r.blindOrder.slowJobs} slow jobs at random places: an order that does not know them meets ${r.blindOrder.ratio}x with a chance of ${round(r.blindOrder.chance * 100, 1)}%, even at IAM's full rate with nothing after the last job`],
    [
      'the next night',
      r.nextNight === null
        ? 'not run'
        : `${r.nextNight.simulatedSeconds} s against a bound of ${r.nextNight.lowerBoundSeconds} s (${r.nextNight.boundRatio}x), the night before's ${r.nextNight.longJobsFirst} long jobs first, IAM's last job ${lastJobLine(r.nextNight.lastJob)}; ${round(r.nextNight.throttledShare * 100, 2)}% throttled, ${r.nextNight.generateAndGetCalls} Generate+Get per identity, ${r.nextNight.realSeconds} s real, peak RSS ${r.nextNight.peakRssMb} MB`,
    ],
    ['IAM calls', `list ${r.iamCalls.list}, generate ${r.iamCalls.generate}, get ${r.iamCalls.get}, throttled ${r.iamCalls.throttled} (${round(r.throttledShare * 100, 2)}%), retried ${r.iamCalls.retried}`],
    ['Lambda', `${r.lambdaInvocations} invocations, ${r.run.lambdaGbSeconds} GB-s`],
    ['state transitions', String(r.stateTransitions)],
    ['S3 requests', `${r.s3Requests.put} PUT, ${r.s3Requests.get} GET, ${r.s3Requests.list} LIST`],
    ['cost', `$${r.costPerRunUsd} a run, $${r.costPerMonthUsd} a month nightly, $${r.perIdentity.costPerMonthPer1000Usd} a month per 1,000 listed identities`],
    ['AWS CLI loop', slower(r.baselines.sequentialCli)],
    ['5 polling workers', slower(r.baselines.workerPool5)],
    ['Cloud Custodian', slower(r.baselines.custodian)],
    ['account by account', slower(r.baselines.accountByAccount)],
    ['proposals', `${r.proposals.count}, in ${r.proposals.realSeconds} s real (${round(r.proposals.shareOfRealTime * 100, 1)}% of the run's), heap ${r.proposals.peakHeapMb} MB of ${r.proposals.memoryMb} MB`],
    [
      'after last job',
      r.lastJob === null
        ? 'not known'
        : `${round(r.simulatedSeconds - r.lastJob.finishedSeconds, 1)} s simulated: the last reads and writes of the audit, then Propose (${r.proposals.realSeconds} s real) beside Summarize's gather, and its finish (${r.summarize.realSeconds} s real for both steps), which the clock counts ${r.settings.timeScale}x`,
    ],
    ['peak RSS', `${r.peakRssMb} MB`],
  ];
  const lines = rows.map(([k, v]) => `  ${k.padEnd(18)} ${v}`);
  lines.push('', '  targets:');
  for (const t of targets(r)) lines.push(`    ${t.met ? 'met   ' : 'MISSED'} ${t.target.padEnd(52)} ${t.value}`);
  const s = r.settings;
  return (
    `Benchmark: ${s.accounts ? `${s.accounts} accounts x ${s.entitiesPerAccount} entities` : `${s.entities} entities`}, seed ${s.seed}; IAM (the emulator) throttles each API at ${s.throttleRps}/s (burst ${s.throttleBurst}); ` +
    `the pipeline's ceiling is ${s.ceiling}/s per API${s.ceiling === DEFAULTS.iamCallsPerSecond ? ' (its default)' : ''}; job latency ${s.jobLatencyMs} ms (slow jobs ${s.slowJobLatencyMs} ms); time scale ${s.timeScale}x\n` +
    `${lines.join('\n')}\n`
  );
}

/**
 * The time scale that keeps this machine's real request rate near 120 a second (two APIs at IAM's rate in
 * every account at once, times the scale), at most 10x: faster, the machine's CPU and not IAM's buckets
 * would set the pace.
 */
export function defaultTimeScale(rps: number): number {
  return Math.min(10, Math.round((60 / rps) * 100) / 100);
}

export async function main(args: string[]): Promise<number> {
  const flags = parseFlags(args, {
    entities: { type: 'string' },
    seed: { type: 'string' },
    'throttle-rps': { type: 'string' },
    'throttle-burst': { type: 'string' },
    accounts: { type: 'string' },
    'entities-per-account': { type: 'string' },
    ceiling: { type: 'string' },
    'job-latency-ms': { type: 'string' },
    'slow-job-latency-ms': { type: 'string' },
    'time-scale': { type: 'string' },
    'no-baseline': { type: 'boolean' },
    nights: { type: 'string' },
    json: { type: 'boolean' },
  });
  const throttleRps = numberFlag('throttle-rps', flags['throttle-rps'], { min: 0.1, max: 1000 }) ?? 10;
  const accounts = numberFlag('accounts', flags.accounts, { integer: true, min: 1, max: 500 });
  const entitiesPerAccount = numberFlag('entities-per-account', flags['entities-per-account'], { integer: true, min: 1, max: 100_000 });
  if ((accounts === undefined) !== (entitiesPerAccount === undefined)) throw new UsageError('--accounts and --entities-per-account go together');
  if (accounts !== undefined && flags.entities !== undefined) throw new UsageError('give --entities N, or --accounts A --entities-per-account E, not both');
  const options: BenchOptions = {
    accounts,
    entitiesPerAccount,
    entities: accounts !== undefined ? accounts * entitiesPerAccount! : (numberFlag('entities', flags.entities, { integer: true, min: 1, max: 200_000 }) ?? 10_000),
    seed: flags.seed ?? '1',
    throttleRps,
    throttleBurst: numberFlag('throttle-burst', flags['throttle-burst'], { min: 1, max: 10_000 }) ?? throttleRps,
    ceiling: numberFlag('ceiling', flags.ceiling, { min: 0.1, max: 1000 }) ?? DEFAULTS.iamCallsPerSecond,
    jobLatencyMs: numberFlag('job-latency-ms', flags['job-latency-ms'], { min: 0, max: 3_600_000 }) ?? 3000,
    slowJobLatencyMs: numberFlag('slow-job-latency-ms', flags['slow-job-latency-ms'], { min: 0, max: 86_400_000 }) ?? 20_000,
    timeScale: numberFlag('time-scale', flags['time-scale'], { min: 0.01, max: 10_000 }) ?? defaultTimeScale(throttleRps * (accounts ?? 1)),
    baselines: !flags['no-baseline'],
    nights: (numberFlag('nights', flags.nights, { integer: true, min: 1, max: 2 }) ?? 2) as 1 | 2,
  };
  const result = await bench(options);
  process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : table(result));
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(err instanceof UsageError ? `bench: ${err.message}\n` : `bench: ${(err as Error).stack ?? err}\n`);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    },
  );
}
