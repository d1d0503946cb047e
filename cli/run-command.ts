/**
 * `iam-access-audit run --local`: a full audit on this machine, against the IAM emulator, executing the
 * synthesized workflow. Shows progress while it runs and ends with a summary and where the reports are.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { keys, type RunSummary } from '../lambda/core/model';
import { catalogLagOf, catalogLagText, type CatalogLag, type ProposalIndex } from '../lambda/core/propose';
import { runLocal, type LocalRunProgress, type LocalRunResult } from '../local/runner/run-local';
import { ACCOUNT_FLAGS, accountFromFlags, EMULATOR_BEHAVIOUR_FLAGS, emulatorBehaviourFromFlags } from './account-source';
import { numberFlag, parseFlags, UsageError } from './flags';
import { writableDirectoryFlag } from './files';
import { executionInputFromFlags, INPUT_FLAGS, INPUT_FLAGS_USAGE } from './input-flags';
import { exitNow, INTERRUPT_USAGE, interruptibly } from './interrupt';
import { runAwsCommand } from './run-aws-command';
import { counted, notAuditedLines } from './words';

export const RUN_USAGE = `iam-access-audit run --local (--account FILE | --sample N | --org FILE | --org-sample AxE) [--seed S] [--as-of YYYY-MM-DD]
    [--out DIR] [--input JSON] [--granularity G] [--arn ARN ...] [--account-ids ID,ID...] [--time-scale X]
    [--throttle-rps R] [--throttle-burst B] [--job-latency-ms MS] [--reset-connections P] [--lambda-concurrency N]

  Synthesizes the app, starts the IAM emulator on the account, and executes the synthesized state
  machine locally, running the bundled Lambda code. Reports go to DIR (default ./out) in the S3 layout.
  --org FILE          an organization file: the pipeline runs in its audit account and audits every
                      ACTIVE account through its member role (STS and Organizations are emulated too)
  --org-sample AxE    a generated organization of A accounts of E identities each
${INPUT_FLAGS_USAGE}
  --time-scale X      simulated seconds per real second (default 200, less beyond 1,000 identities:
                      200,000 / identities): IAM job latency, pacing and the workflow's waits run X
                      times faster than real time; this machine's CPU work does not
  --throttle-rps R    make the emulator throttle each IAM API at R calls per simulated second
  --reset-connections P  the emulator destroys the connection of that share of requests (0 to 0.5)
  --lambda-concurrency N  Lambda's concurrency quota of the account the pipeline runs in (new accounts
                      may have 10): invocations beyond it are refused and the workflow retries them

${INTERRUPT_USAGE}
  Exits 0 when the run is COMPLETED, 1 when it is INCOMPLETE or failed (the summary says why), 2 when a
  flag or the execution input is wrong (an --account-ids id the run is not set to audit, too).`;

export const DEFAULT_LOCAL_TIME_SCALE = 200;
/**
 * Identities times time scale that this machine's CPU keeps up with. The clock speeds up waiting, not
 * computing: at X times, a function's timeout leaves it 1/X of its real time, and a batch's invocations
 * 1/X of theirs for their IAM calls, while the local work per identity stays what it is (about 1 ms of
 * Summarize and Propose each, a few hundred calls a second through the emulator, here). 8 x 1,000
 * identities at 200x ran out of invocations and Summarize timed out; at 25x the same run completed.
 */
const IDENTITY_TIME_SCALE_BUDGET = 200_000;

/** The default time scale for a local run of this many identities: 200x, or what the machine keeps up with. */
export function defaultLocalTimeScale(identities: number): number {
  return roundedScale(Math.min(DEFAULT_LOCAL_TIME_SCALE, IDENTITY_TIME_SCALE_BUDGET / Math.max(1, identities)));
}

/** Down to a whole number from 10x up, to a tenth below, and never under 0.1x. */
function roundedScale(scale: number): number {
  return scale >= 10 ? Math.floor(scale) : Math.max(0.1, Math.floor(scale * 10) / 10);
}

export async function runCommand(args: string[], out: NodeJS.WritableStream): Promise<number> {
  if (args.includes('--aws')) return runAwsCommand(args, out);
  const flags = parseFlags(args, {
    ...ACCOUNT_FLAGS,
    local: { type: 'boolean' },
    out: { type: 'string' },
    ...INPUT_FLAGS,
    'time-scale': { type: 'string' },
    'lambda-concurrency': { type: 'string' },
    ...EMULATOR_BEHAVIOUR_FLAGS,
  });
  if (!flags.local) throw new UsageError('say where to run: --local (against the emulator) or --aws (against your AWS account, from this machine; to run in AWS itself, deploy and use "start")');
  const input = executionInputFromFlags(flags);
  const givenScale = numberFlag('time-scale', flags['time-scale'], { min: 0, exclusiveMin: true, max: 100_000 });
  const lambdaConcurrency = numberFlag('lambda-concurrency', flags['lambda-concurrency'], { integer: true, min: 1, max: 100_000 });
  const emulator = emulatorBehaviourFromFlags(flags);
  const source = accountFromFlags(flags);
  const outDir = writableDirectoryFlag('out', flags.out ?? 'out');
  const identities = (source.organization?.accounts.map((a) => a.account) ?? [source.account!]).reduce((n, a) => n + a.entities.length, 0);
  const sizedScale = defaultLocalTimeScale(identities);
  const timeScale = givenScale ?? sizedScale;

  out.write(`Auditing ${source.description} locally (${source.organization ? 'from audit account' : 'account'} ${source.hubAccountId}, time scale ${timeScale}x)\n`);
  if (timeScale > sizedScale) {
    out.write(
      `  Warning: ${identities} identities at ${timeScale}x may be more than this machine keeps up with (${sizedScale}x is the default for them): ` +
        'the clock speeds up waiting, not computing, so functions may time out and batches run out of invocations.\n',
    );
  }
  const show = progressPrinter(out);
  const { result, interruptedExitCode } = await interruptibly(out, show, (signal, onProgress) =>
    runLocal({ account: source.account, organization: source.organization, outDir, input, timeScale, emulator, lambdaConcurrency, signal, onProgress }),
  );
  out.write(formatRunResult(result, `in ${duration(result.stats.simulatedSeconds)} simulated (${result.stats.realSeconds.toFixed(1)} s real)`));
  if (lambdaConcurrency !== undefined) {
    const refused = Object.values(result.stats.lambdaThrottles).reduce((a, b) => a + b, 0);
    out.write(`  Lambda's concurrency quota (${lambdaConcurrency}) refused ${counted(refused, 'invocation')}; the workflow retried each refusal.\n`);
  }
  const timeouts = result.stats.computeTimeouts;
  if (timeouts.length > 0) {
    for (const [fn, n] of countBy(timeouts, (t) => t.functionName)) {
      const longest = Math.max(...timeouts.filter((t) => t.functionName === fn).map((t) => t.busyRealSeconds));
      out.write(`  ${fn} timed out ${n === 1 ? 'once' : `${n} times`} while computing: ${longest} s of this machine's work count ${Math.round(longest * timeScale)} s at ${timeScale}x.\n`);
    }
    out.write(
      timeScale > sizedScale
        ? `  Run again with --time-scale ${sizedScale} (the default for ${identities} identities).\n`
        : `  Run again with a lower --time-scale (${roundedScale(timeScale / 4)}, say).\n`,
    );
  }
  if (interruptedExitCode !== null) return exitNow(out, interruptedExitCode);
  return exitCodeOf(result);
}

function progressPrinter(out: NodeJS.WritableStream): { update: (p: LocalRunProgress) => void; done: () => void } {
  const tty = (out as NodeJS.WriteStream).isTTY === true;
  let last = '';
  let lastBatchesDone = -1;
  return {
    update: (p) => {
      const settled = p.reported + p.skipped + p.failed;
      const line =
        p.listed === null
          ? `  listing entities... ${p.iamCalls} IAM calls`
          : `  ${settled}/${p.listed} entities settled (${p.reported} reported, ${p.skipped} skipped, ${p.failed} failed) · ` +
            `batches ${p.batchesDone}/${p.batches} · IAM calls ${p.iamCalls} (${p.throttled} throttled) · ${duration(p.simulatedSeconds)} simulated`;
      if (tty) {
        if (line !== last) out.write(`\r\x1b[2K${line}`);
      } else if (p.batchesDone !== lastBatchesDone && p.listed !== null) {
        out.write(`${line}\n`);
        lastBatchesDone = p.batchesDone;
      }
      last = line;
    },
    done: () => {
      if (tty) out.write('\n');
    },
  };
}

export function duration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}

/** How many of a run's proposals the run before made the same, and which run that was; null for a run from before they were counted. */
export interface MadeAgain {
  readonly previousRunId: string | null;
  readonly count: number;
}

export function madeAgainOf(index: Pick<ProposalIndex, 'previousRunId' | 'proposals'> | null): MadeAgain | null {
  if (index === null || index.previousRunId === undefined) return null;
  return { previousRunId: index.previousRunId, count: index.proposals.filter((e) => (e.sameSince?.runs ?? 1) >= 2).length };
}

/** The proposal index of a run in a local directory, or null when it has none (or it cannot be read: the line it feeds is a hint). */
function localProposalIndex(outDir: string, runId: string): ProposalIndex | null {
  try {
    return JSON.parse(readFileSync(join(outDir, keys.proposalsIndex(runId)), 'utf8')) as ProposalIndex;
  } catch {
    return null;
  }
}

/** The summary's lines, with what the run's proposal index adds to them (null: it has none, or it cannot be read). */
export function formatRunSummary(summary: RunSummary, index: ProposalIndex | null): string {
  return formatSummary(summary, madeAgainOf(index), index !== null, index && catalogLagOf(index, summary.runDate));
}

/**
 * `indexFound`: whether the run's proposal index was found. Propose writes one whenever it ends, and
 * Summarize counts the proposals from it: a run without one that counts none made none (Propose did not
 * run to its end); one that counts some made them (its index is then just not readable here).
 */
export function formatSummary(summary: RunSummary, again: MadeAgain | null = null, indexFound = true, lag: CatalogLag | null = null): string {
  const e = summary.entities;
  const f = summary.findings;
  const c = summary.iamCalls;
  const lines = [`  status     ${summary.status}`];
  if (summary.accounts.length > 1 || summary.accounts.some((a) => a.status !== 'audited')) {
    const byStatus = countBy(summary.accounts, (a) => a.status).map(([status, n]) => `${n} ${status}`);
    lines.push(`  accounts   ${summary.accounts.length} (${byStatus.join(' · ')})`);
    for (const a of summary.accounts.filter((x) => x.status !== 'audited')) lines.push(...notAuditedLines(a, '    '));
  }
  lines.push(
    `  entities   listed ${e.listed} · reported ${e.reported} · skipped ${e.skipped} · failed ${e.failed}`,
    `  by type    ${counted(e.byType.user, 'user')} · ${counted(e.byType.group, 'group')} · ${counted(e.byType.role, 'role')} · ${counted(e.byType.policy, 'policy', 'policies')}`,
    `  findings   ${counted(f.entitiesWithUnusedServices, 'identity holds', 'identities hold')} unused services (${counted(f.unusedServiceGrants, 'unused grant')}); ${f.entitiesWithNoUseInWindow} used nothing in the window`,
    `  IAM calls  list ${c.list} · generate ${c.generate} · get ${c.get} · throttled ${c.throttled} · retried ${c.retried}${
      // An invocation counts its calls when it ends; one the interrupt stopped could not.
      summary.failures.some((x) => x.code === 'Interrupted') ? ' (without the calls of the invocations the interrupt stopped)' : ''
    }`,
  );
  const p = summary.proposals;
  if (!indexFound && p.count === 0) lines.push("  proposals  none made: Propose did not run to its end in this run (its log says why); the audit above stands");
  else if (p.count > 0) {
    // IAM shows a use some hours late: the proposals the next run makes the same are the safer to apply.
    const same = again === null ? '' : again.previousRunId === null ? '; the next run says which it makes the same' : `; ${again.count} made the same by the run before (--again)`;
    lines.push(`  proposals  ${p.count} (${Object.entries(p.byAction).map(([action, n]) => `${n} ${action}`).join(' · ')})${same}`);
    if (lag) lines.push(`             ${catalogLagText(lag)}`);
  }
  const ch = summary.changes;
  lines.push(
    ch
      ? `  changes    since the previous complete run: ${ch.added} added · ${ch.removed} removed · ${counted(ch.firstUse, 'first use')} · ${ch.newlyUnused} newly unused`
      : '  changes    none computed: no earlier complete run in this store',
  );
  if (summary.failures.length > 0) {
    lines.push('  failures (no report; never read as "unused"):');
    for (const [code, n] of countBy(summary.failures, (x) => x.code)) {
      const example = summary.failures.find((x) => x.code === code)!;
      lines.push(`    ${String(n).padStart(5)}  ${code.padEnd(26)} e.g. ${example.arn}`);
    }
  }
  if (summary.skipped.length > 0) {
    lines.push('  skipped (gone since listing):');
    for (const [code, n] of countBy(summary.skipped, (x) => x.code)) lines.push(`    ${String(n).padStart(5)}  ${code}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Why an execution failed, in one line: a function's error reaches the execution's cause as the whole
 * error payload Lambda returned (`{"errorType", "errorMessage", "trace"}`), of which the message is what
 * a reader needs; any other cause is said as it is. A bad input is named as the flags' check names it.
 */
export function failureLine(error: string | undefined, cause: string | undefined): string {
  let message = cause ?? '';
  try {
    const payload = JSON.parse(message) as { errorMessage?: unknown };
    if (typeof payload?.errorMessage === 'string') message = payload.errorMessage;
  } catch {
    // Not a function's error payload: the cause as it is.
  }
  if (error === 'InvalidInput') return `bad execution input: ${message}`;
  return message ? `${error ?? 'error'}: ${message}` : (error ?? 'no error given');
}

/** A run's exit code: 0 COMPLETED, 2 when its input was refused (nothing was written), 1 otherwise. */
export function exitCodeOf(result: Pick<LocalRunResult, 'status' | 'error'>): number {
  if (result.status === 'SUCCEEDED') return 0;
  return result.error?.Error === 'InvalidInput' ? 2 : 1;
}

/** How a run ended, its summary and where its files are; `timing` says how long it took. */
export function formatRunResult(result: LocalRunResult, timing: string): string {
  const where = relative(process.cwd(), result.outDir) || '.';
  const head =
    result.error?.Error === 'Interrupted'
      ? `Run ${result.runId} INTERRUPTED`
      : result.status === 'SUCCEEDED'
        ? `Run ${result.runId} completed`
        : result.error?.Error === 'AuditIncomplete'
          ? `Run ${result.runId} INCOMPLETE: ${result.error.Cause}`
          : `Run ${result.runId} FAILED: ${failureLine(result.error?.Error, result.error?.Cause)}`;
  let text = `${head} ${timing}\n`;
  if (result.logTrouble) text += `  The functions' logs are incomplete: ${result.logTrouble}\n`;
  if (!result.summary) {
    return result.listed === null
      ? `${text}  (no summary: the run stopped before it had listed the identities)\n`
      : `${text}  (no summary: the run stopped after listing ${result.listed} identities, before Summarize wrote one; the reports it made are under ${where}/runs/${result.runId}/reports/)\n`;
  }
  const index = localProposalIndex(result.outDir, result.runId);
  text += formatRunSummary(result.summary, index);
  text += `Reports:  ${where}/runs/${result.runId}/reports/\nSummary:  ${where}/${keys.summary(result.runId)}\n`;
  text += `Report:   ${where}/${keys.reportPage(result.runId)}  (open it in a browser)\n`;
  if (result.summary.changes) text += `Changes:  ${where}/${keys.changes(result.runId)}  (iam-access-audit changes --out ${where} --run ${result.runId} lists them)\n`;
  text += sharedLine(result.summary, `--out ${where}`);
  return text;
}

/**
 * Where to see the identities in several accounts, for a run that audited more than one: the command,
 * not their count, which only the reports hold (the page has the same table).
 */
export function sharedLine(summary: RunSummary, location: string): string {
  if (summary.accounts.filter((a) => a.status === 'audited').length < 2) return '';
  return `Shared:   iam-access-audit report --shared ${location} --run ${summary.runId}  (the same identity in several accounts)\n`;
}
