/**
 * `npm run bench -- --entities N [--seed S] [--throttle-rps R] [--job-latency-ms MS] [--json]`
 *
 * Runs the synthesized workflow locally on a generated account, under the emulator's throttling and job
 * latency on a scaled clock, and the same account through the hand-written CLI loop (replayed in-process
 * on a virtual clock). Prints the run's figures next to the limit IAM's buckets allow and next to the
 * baseline, with the cost of the run at published AWS prices.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlags, numberFlag, UsageError } from '../local/cli/flags';
import { generateSampleAccount, loadAccount, startEmulator, VirtualClock, type Account } from '../local/emulator';
import { runLocal, type LocalRunResult } from '../local/runner/run-local';
import { DEFAULT_SETTINGS } from '../lib/settings';
import { cliLoopBaseline } from './baseline';

/**
 * Published AWS prices, us-east-1, as on AWS's pricing pages on 2026-11-25: Step Functions Standard
 * $0.025 per 1,000 state transitions; Lambda on arm64 $0.20 per million requests and $0.0000133334 per
 * GB-second; S3 Standard $0.005 per 1,000 PUT requests. Free tiers are left out.
 */
export const PRICES = {
  stateTransition: 0.025 / 1000,
  lambdaRequest: 0.2 / 1_000_000,
  lambdaGbSecond: 0.0000133334,
  s3Put: 0.005 / 1000,
};
export const RUNS_PER_MONTH = 30;

export interface BenchOptions {
  readonly entities: number;
  readonly seed: string;
  readonly throttleRps: number;
  readonly throttleBurst: number;
  readonly jobLatencyMs: number;
  readonly slowJobLatencyMs: number;
  readonly timeScale: number;
  readonly baseline: boolean;
}

export interface BenchResult {
  readonly entities: number;
  readonly simulatedSeconds: number;
  readonly lowerBoundSeconds: number;
  readonly iamCalls: { list: number; generate: number; get: number; throttled: number };
  readonly lambdaInvocations: number;
  readonly stateTransitions: number;
  readonly s3Puts: number;
  readonly costPerRunUsd: number;
  readonly costPerMonthUsd: number;
  readonly baseline: { simulatedSeconds: number | null };
  readonly speedupVsBaseline: number | null;
  readonly peakRssMb: number;
  readonly perIdentity: { generateAndGetCalls: number; stateTransitions: number; costPerMonthPer1000Usd: number };
  readonly run: { status: string; listed: number; reported: number; skipped: number; failed: number; realSeconds: number; maxStatePayloadBytes: number; lambdaGbSeconds: number };
  readonly settings: BenchOptions & { batchSize: number; maxConcurrency: number; iamCallsPerSecond: number };
}

/**
 * What IAM's buckets allow for the calls a run must make: every type listed (pages of 1000), one
 * Generate per audited entity, and one Get per job generated. Generate and Get have their own buckets
 * and run side by side, and the last Get must wait for the last job to finish.
 */
export function lowerBoundSeconds(account: Account, run: LocalRunResult, rps: number, burst: number, jobLatencyMs: number): number {
  const bucket = (calls: number) => Math.max(0, calls - burst) / rps;
  const perType = ['user', 'group', 'role', 'policy'].map((t) => account.entities.filter((e) => e.type === t).length);
  const list = perType.reduce((sum, n) => sum + bucket(Math.max(1, Math.ceil(n / 1000))), 0);
  const summary = run.summary!;
  const generates = summary.entities.listed;
  const gets = generates - summary.skipped.filter((s) => s.code === 'NoSuchEntity').length;
  return list + Math.max(bucket(generates) + jobLatencyMs / 1000, bucket(gets));
}

export async function bench(options: BenchOptions): Promise<BenchResult> {
  const account = loadAccount(generateSampleAccount({ entities: options.entities, seed: options.seed }), 'bench account');
  const outDir = mkdtempSync(join(tmpdir(), 'bench-'));
  const throttle = { rps: options.throttleRps, burst: options.throttleBurst };
  // The pipeline's ceiling is the emulator's rate: the bench measures how close to IAM's limit it runs.
  const settings = { iamCallsPerSecond: options.throttleRps };
  try {
    const run = await runLocal({
      account,
      outDir,
      timeScale: options.timeScale,
      emulator: { throttle, jobLatencyMs: options.jobLatencyMs, slowJobLatencyMs: options.slowJobLatencyMs },
      settings,
    });
    if (run.status !== 'SUCCEEDED' || !run.summary) throw new Error(`the benchmark run failed: ${run.error?.Error}: ${run.error?.Cause}`);
    const summary = run.summary;
    const lowerBound = lowerBoundSeconds(account, run, options.throttleRps, options.throttleBurst, options.jobLatencyMs);

    let baselineSeconds: number | null = null;
    if (options.baseline) {
      // The same account, under the same buckets and latency, on a clock that only the loop's sleeps move.
      const clock = new VirtualClock();
      const emulator = await startEmulator({ account, clock, throttle, jobLatencyMs: options.jobLatencyMs, slowJobLatencyMs: options.slowJobLatencyMs });
      try {
        const audited = account.entities.filter((e) => !DEFAULT_SETTINGS.excludePathPrefixes.some((p) => e.path.startsWith(p))).map((e) => e.arn);
        baselineSeconds = (await cliLoopBaseline(emulator.url, clock, { arns: audited })).simulatedSeconds;
      } finally {
        await emulator.close();
      }
    }

    const lambdaInvocations = Object.values(run.stats.lambdaInvocations).reduce((a, b) => a + b, 0);
    const gbSeconds = Object.values(run.stats.lambdaGbSeconds).reduce((a, b) => a + b, 0);
    const costPerRun =
      run.stats.stateTransitions * PRICES.stateTransition + lambdaInvocations * PRICES.lambdaRequest + gbSeconds * PRICES.lambdaGbSecond + run.stats.objectsWritten * PRICES.s3Put;
    const iamCalls = summary.iamCalls;
    return {
      entities: options.entities,
      simulatedSeconds: round(run.stats.simulatedSeconds, 1),
      lowerBoundSeconds: round(lowerBound, 1),
      iamCalls,
      lambdaInvocations,
      stateTransitions: run.stats.stateTransitions,
      s3Puts: run.stats.objectsWritten,
      costPerRunUsd: round(costPerRun, 5),
      costPerMonthUsd: round(costPerRun * RUNS_PER_MONTH, 4),
      baseline: { simulatedSeconds: baselineSeconds === null ? null : round(baselineSeconds, 1) },
      speedupVsBaseline: baselineSeconds === null ? null : round(baselineSeconds / run.stats.simulatedSeconds, 2),
      peakRssMb: run.stats.peakRssMb,
      perIdentity: {
        generateAndGetCalls: round((iamCalls.generate + iamCalls.get) / Math.max(1, summary.entities.listed), 3),
        stateTransitions: round(run.stats.stateTransitions / Math.max(1, summary.entities.listed), 3),
        costPerMonthPer1000Usd: round((costPerRun * RUNS_PER_MONTH) / Math.max(0.001, options.entities / 1000), 4),
      },
      run: {
        status: run.status,
        listed: summary.entities.listed,
        reported: summary.entities.reported,
        skipped: summary.entities.skipped,
        failed: summary.entities.failed,
        realSeconds: round(run.stats.realSeconds, 1),
        maxStatePayloadBytes: run.stats.maxStatePayloadBytes,
        lambdaGbSeconds: round(gbSeconds, 1),
      },
      settings: { ...options, batchSize: DEFAULT_SETTINGS.batchSize, maxConcurrency: DEFAULT_SETTINGS.maxConcurrency, iamCallsPerSecond: settings.iamCallsPerSecond },
    };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The targets of the benchmark, checked against a result. */
export function targets(r: BenchResult): Array<{ target: string; value: string; met: boolean }> {
  return [
    { target: 'simulated time within 1.25x of the lower bound', value: `${round(r.simulatedSeconds / r.lowerBoundSeconds, 3)}x`, met: r.simulatedSeconds <= 1.25 * r.lowerBoundSeconds },
    { target: 'at most 2.2 Generate+Get calls per identity', value: String(r.perIdentity.generateAndGetCalls), met: r.perIdentity.generateAndGetCalls <= 2.2 },
    { target: 'at most 0.5 state transitions per identity', value: String(r.perIdentity.stateTransitions), met: r.perIdentity.stateTransitions <= 0.5 },
    { target: 'at most $0.50 a month per 1,000 identities, nightly', value: `$${r.perIdentity.costPerMonthPer1000Usd}`, met: r.perIdentity.costPerMonthPer1000Usd <= 0.5 },
    { target: 'at least 5x faster than the CLI loop', value: r.speedupVsBaseline === null ? 'not run' : `${r.speedupVsBaseline}x`, met: r.speedupVsBaseline !== null && r.speedupVsBaseline >= 5 },
    { target: 'no state payload over 256 KiB', value: `${r.run.maxStatePayloadBytes} bytes max`, met: r.run.maxStatePayloadBytes <= 256 * 1024 },
    { target: 'peak memory under 1 GiB', value: `${r.peakRssMb} MB`, met: r.peakRssMb < 1024 },
  ];
}

function table(r: BenchResult): string {
  const rows: Array<[string, string]> = [
    ['entities', `${r.entities} (listed ${r.run.listed}: ${r.run.reported} reported, ${r.run.skipped} skipped, ${r.run.failed} failed)`],
    ['simulated time', `${r.simulatedSeconds} s (${r.run.realSeconds} s real)`],
    ['lower bound', `${r.lowerBoundSeconds} s`],
    ['IAM calls', `list ${r.iamCalls.list}, generate ${r.iamCalls.generate}, get ${r.iamCalls.get}, throttled ${r.iamCalls.throttled}`],
    ['Lambda', `${r.lambdaInvocations} invocations, ${r.run.lambdaGbSeconds} GB-s`],
    ['state transitions', String(r.stateTransitions)],
    ['S3 PUTs', String(r.s3Puts)],
    ['cost', `$${r.costPerRunUsd} a run, $${r.costPerMonthUsd} a month nightly`],
    ['CLI loop', r.baseline.simulatedSeconds === null ? 'not run' : `${r.baseline.simulatedSeconds} s (${r.speedupVsBaseline}x slower)`],
    ['peak RSS', `${r.peakRssMb} MB`],
  ];
  const lines = rows.map(([k, v]) => `  ${k.padEnd(18)} ${v}`);
  lines.push('', '  targets:');
  for (const t of targets(r)) lines.push(`    ${t.met ? 'met   ' : 'MISSED'} ${t.target.padEnd(52)} ${t.value}`);
  const s = r.settings;
  return `Benchmark: ${s.entities} entities, seed ${s.seed}, IAM throttled at ${s.throttleRps}/s (burst ${s.throttleBurst}) per API, job latency ${s.jobLatencyMs} ms (slow jobs ${s.slowJobLatencyMs} ms), time scale ${s.timeScale}x\n${lines.join('\n')}\n`;
}

export async function main(args: string[]): Promise<number> {
  const flags = parseFlags(args, {
    entities: { type: 'string' },
    seed: { type: 'string' },
    'throttle-rps': { type: 'string' },
    'throttle-burst': { type: 'string' },
    'job-latency-ms': { type: 'string' },
    'slow-job-latency-ms': { type: 'string' },
    'time-scale': { type: 'string' },
    'no-baseline': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const throttleRps = numberFlag('throttle-rps', flags['throttle-rps'], { min: 0.1, max: 1000 }) ?? 10;
  const options: BenchOptions = {
    entities: numberFlag('entities', flags.entities, { integer: true, min: 0, max: 200_000 }) ?? 10_000,
    seed: flags.seed ?? '1',
    throttleRps,
    throttleBurst: numberFlag('throttle-burst', flags['throttle-burst'], { min: 1, max: 10_000 }) ?? throttleRps,
    jobLatencyMs: numberFlag('job-latency-ms', flags['job-latency-ms'], { min: 0, max: 3_600_000 }) ?? 3000,
    slowJobLatencyMs: numberFlag('slow-job-latency-ms', flags['slow-job-latency-ms'], { min: 0, max: 86_400_000 }) ?? 20_000,
    timeScale: numberFlag('time-scale', flags['time-scale'], { min: 0.1, max: 10_000 }) ?? 10,
    baseline: !flags['no-baseline'],
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
