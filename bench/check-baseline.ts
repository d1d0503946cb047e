/**
 * `npm run bench:check-baseline`: runs the real AWS CLI loop (the baseline of `npm run bench`) on 50
 * identities against the emulator, then replays it in-process, and confirms the replay makes the same
 * calls: the same Generate for each identity, then Gets until the job is no longer IN_PROGRESS. The real
 * loop's cost per CLI call (a Python process start) is measured and given to the replay here; the
 * benchmark's replay leaves it out, which only flatters the baseline.
 */
import { spawn } from 'node:child_process';
import { generateSampleAccount, loadAccount, startEmulator, VirtualClock, type RecordedCall } from '../local/emulator';
import { cliLoopBaseline } from './baseline';

const IDENTITIES = 50;
const JOB_LATENCY_MS = 1200;

const LOOP = `
set -u
for arn in $ARNS; do
  job=$(aws iam generate-service-last-accessed-details --arn "$arn" --endpoint-url "$URL" --query JobId --output text 2>/dev/null) || continue
  while true; do
    status=$(aws iam get-service-last-accessed-details --job-id "$job" --endpoint-url "$URL" --query JobStatus --output text)
    [ "$status" != "IN_PROGRESS" ] && break
    sleep 1
  done
done
`;

/** Each identity's calls, in order: "Generate:<outcome>" then "Get:<status>"... */
function sequences(calls: readonly RecordedCall[]): Map<string, string[]> {
  const byJob = new Map<string, string>();
  const result = new Map<string, string[]>();
  let lastArn: string | undefined;
  for (const call of calls) {
    if (call.operation === 'GenerateServiceLastAccessedDetails' && call.arn) {
      lastArn = call.arn;
      result.set(call.arn, [`Generate:${call.outcome}`]);
    } else if (call.operation === 'GetServiceLastAccessedDetails' && call.jobId) {
      const arn = byJob.get(call.jobId) ?? lastArn!;
      byJob.set(call.jobId, arn);
      result.get(arn)!.push(`Get:${call.outcome}`);
    }
  }
  return result;
}

/** Runs both loops on `identities` identities: whether the replay made the real loop's calls, and the lines that say so. */
export interface BaselineCheck {
  /** The replay made the real loop's calls: the same Generates, every identity's calls of the same shape, Gets within 10%, and 90% of identities exactly alike. */
  readonly ok: boolean;
  readonly report: string;
  readonly generates: { readonly real: number; readonly replay: number };
  readonly gets: { readonly real: number; readonly replay: number };
  /** Every identity: Generate, then Get until not IN_PROGRESS, with the same first and last answer in both. */
  readonly sameShape: boolean;
}

export async function checkBaseline(identities = IDENTITIES): Promise<BaselineCheck> {
  // The whole sample account (its identities name its policies), of which the loops audit the first ones.
  const account = loadAccount(generateSampleAccount({ entities: 70, seed: 'baseline-check' }));
  const arns = account.entities
    .filter((e) => e.fault !== 'slow-job' && !e.path.startsWith('/aws-service-role/'))
    .slice(0, identities)
    .map((e) => e.arn);

  // The real loop, in bash with the AWS CLI, against the emulator in real time.
  const real = await startEmulator({ account, jobLatencyMs: JOB_LATENCY_MS, recordCalls: true });
  const started = Date.now();
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('bash', ['-c', LOOP], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, ARNS: arns.join(' '), URL: real.url, AWS_ACCESS_KEY_ID: 'AKIDREALCLILOOP00001', AWS_SECRET_ACCESS_KEY: 'x', AWS_DEFAULT_REGION: 'us-east-1', AWS_PAGER: '' },
      });
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (code !== 0) throw new Error(`the AWS CLI loop exited with ${code}`);
  } finally {
    await real.close();
  }
  const realSeconds = (Date.now() - started) / 1000;
  const realCalls = real.calls();
  const sleeps = realCalls.filter((c) => c.operation === 'GetServiceLastAccessedDetails' && c.outcome === 'IN_PROGRESS').length;
  const overheadMs = ((realSeconds - sleeps) * 1000) / realCalls.length;

  // The in-process replay, on a virtual clock, with the measured cost of a CLI call.
  const clock = new VirtualClock();
  const replayEmulator = await startEmulator({ account, clock, jobLatencyMs: JOB_LATENCY_MS, recordCalls: true });
  let replay;
  try {
    replay = await cliLoopBaseline(replayEmulator.url, clock, { arns, callOverheadMs: overheadMs });
  } finally {
    await replayEmulator.close();
  }
  const replayCalls = replayEmulator.calls().filter((c) => !c.operation.startsWith('List'));

  const realSeq = sequences(realCalls);
  const replaySeq = sequences(replayCalls);
  const identical = arns.filter((arn) => JSON.stringify(realSeq.get(arn)) === JSON.stringify(replaySeq.get(arn))).length;
  const count = (calls: readonly RecordedCall[], op: string) => calls.filter((c) => c.operation === op).length;
  const realGenerate = count(realCalls, 'GenerateServiceLastAccessedDetails');
  const replayGenerate = count(replayCalls, 'GenerateServiceLastAccessedDetails');
  const realGet = count(realCalls, 'GetServiceLastAccessedDetails');
  const replayGet = count(replayCalls, 'GetServiceLastAccessedDetails');
  const sameShape = arns.every((arn) => {
    const seq = replaySeq.get(arn) ?? [];
    const realOne = realSeq.get(arn) ?? [];
    const shape = (s: string[]) => s.map((x) => x.replace(/:.*/, '')).filter((x, i, all) => i === 0 || x !== all[i - 1]).join('>');
    return shape(seq) === shape(realOne) && seq[0] === realOne[0] && seq.at(-1) === realOne.at(-1);
  });
  const getsClose = Math.abs(realGet - replayGet) <= Math.max(2, 0.1 * realGet);
  const ok = realGenerate === replayGenerate && sameShape && getsClose && identical >= 0.9 * arns.length;

  const report = [
    `AWS CLI loop on ${arns.length} identities, jobs taking ${JOB_LATENCY_MS} ms:`,
    `  real loop      ${realSeconds.toFixed(1)} s, ${realGenerate} Generate, ${realGet} Get; ${overheadMs.toFixed(0)} ms per CLI call beyond IAM`,
    `  replay         ${replay.simulatedSeconds.toFixed(1)} s simulated, ${replayGenerate} Generate, ${replayGet} Get`,
    `  same calls     ${identical}/${arns.length} identities made exactly the same calls with the same answers`,
    `  every identity: Generate, then Get until not IN_PROGRESS, same first and last answer: ${sameShape ? 'yes' : 'NO'}`,
    `  verdict        ${ok ? 'the replay makes the calls the CLI loop makes' : 'MISMATCH'}`,
    '',
  ].join('\n');
  return { ok, report, generates: { real: realGenerate, replay: replayGenerate }, gets: { real: realGet, replay: replayGet }, sameShape };
}

if (require.main === module) {
  checkBaseline().then(
    ({ ok, report }) => {
      process.stdout.write(report);
      process.exitCode = ok ? 0 : 1;
    },
    (err: unknown) => {
      process.stderr.write(`check-baseline: ${(err as Error).stack ?? err}\n`);
      process.exitCode = 1;
    },
  );
}
