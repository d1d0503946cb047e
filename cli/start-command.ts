/**
 * `iam-access-audit start`: starts an execution of the deployed workflow and, with --wait, follows it,
 * prints the run summary, and exits non-zero when the run failed. Uses the standard AWS credential and
 * endpoint settings (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ...).
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand, type DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { randomBytes } from 'node:crypto';
import { keys, type RunSummary } from '../lambda/core/model';
import { runIdOf } from '../lambda/core/plan';
import { s3ClientFromEnvironment } from '../lambda/core/runtime';
import type { ProposalIndex } from '../lambda/core/propose';
import { getJson, getJsonOrNull, S3ReportStore } from '../lambda/core/store';
import { numberFlag, parseFlags, UsageError } from './flags';
import { presignedPageUrl } from './report-command';
import { executionInputFromFlags, INPUT_FLAGS, INPUT_FLAGS_USAGE } from './input-flags';
import { duration, failureLine, formatRunSummary, sharedLine } from './run-command';

/** How long the link `start --wait` prints stays valid. */
const PRESIGNED_SECONDS = 3600;

export const START_USAGE = `iam-access-audit start (--state-machine ARN | --stack NAME) [--input JSON] [--granularity G]
    [--arn ARN ...] [--account-ids ID,ID...] [--name NAME] [--wait] [--poll-seconds S]

  Starts an audit in AWS. The input narrows or changes the run, as the execution input does; a bad
  one starts nothing:
${INPUT_FLAGS_USAGE}
  --name NAME         the execution name, which becomes the run id (default manual-<time>-<random>)
  --wait              follow the run, print its summary, and exit 1 if it failed
  --stack NAME        read the state machine and bucket from the stack's outputs`;

export interface ResolvedTarget {
  readonly stateMachineArn: string;
  readonly bucket?: string;
}

export async function startCommand(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags(args, {
    'state-machine': { type: 'string' },
    stack: { type: 'string' },
    ...INPUT_FLAGS,
    name: { type: 'string' },
    wait: { type: 'boolean' },
    'poll-seconds': { type: 'string' },
  });
  if ((flags['state-machine'] === undefined) === (flags.stack === undefined)) {
    throw new UsageError('give the workflow to start: --state-machine ARN or --stack NAME (one of them)');
  }
  if (flags['state-machine'] !== undefined && !/^arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:[\w-]+$/.test(flags['state-machine'])) {
    throw new UsageError(`--state-machine must be a Step Functions state machine ARN, got "${flags['state-machine']}"`);
  }
  const input = executionInputFromFlags(flags);
  const name = flags.name ?? `manual-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) throw new UsageError(`--name must be 1 to 80 letters, digits, hyphens or underscores, got "${name}"`);
  const pollSeconds = numberFlag('poll-seconds', flags['poll-seconds'], { min: 0.05, max: 300 }) ?? 5;

  const target = flags.stack !== undefined ? await fromStack(flags.stack) : { stateMachineArn: flags['state-machine']! };
  const sfn = new SFNClient({});
  try {
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: target.stateMachineArn, name, input: JSON.stringify(input) }));
    out.write(`Started run ${runIdOf(name)}\n  execution ${started.executionArn}\n`);
    if (!flags.wait) return 0;
    const final = await follow(sfn, started.executionArn!, pollSeconds, out);
    return await finish(final, target, runIdOf(name), out);
  } finally {
    sfn.destroy();
  }
}

async function fromStack(stackName: string): Promise<ResolvedTarget> {
  const cloudformation = new CloudFormationClient({});
  try {
    const answer = await cloudformation.send(new DescribeStacksCommand({ StackName: stackName })).catch(async (err: Error) => {
      // CloudFormation's answer for a stack it does not hold, in this region.
      if (err.name === 'ValidationError' && /does not exist/.test(err.message)) {
        throw new UsageError(`stack ${stackName} does not exist in ${await cloudformation.config.region()}: give the hub stack's name (--stack) and set AWS_REGION to its region`);
      }
      throw err;
    });
    const outputs = new Map((answer.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
    const stateMachineArn = outputs.get('StateMachineArn');
    if (!stateMachineArn) throw new UsageError(`stack ${stackName} has no StateMachineArn output: is it an iam-access-audit stack?`);
    return { stateMachineArn, bucket: outputs.get('ReportBucketName') };
  } finally {
    cloudformation.destroy();
  }
}

async function follow(sfn: SFNClient, executionArn: string, pollSeconds: number, out: NodeJS.WritableStream): Promise<DescribeExecutionCommandOutput> {
  const tty = (out as NodeJS.WriteStream).isTTY === true;
  let lastLine = '';
  for (;;) {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const elapsed = (Date.now() - (execution.startDate?.getTime() ?? Date.now())) / 1000;
    let state = '';
    try {
      const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 20 }));
      const entered = history.events?.find((e) => e.stateEnteredEventDetails?.name);
      if (entered) state = ` · ${entered.stateEnteredEventDetails!.name}`;
    } catch {
      // Progress is a courtesy: the execution's status is what matters.
    }
    const line = `  ${execution.status}${state} · ${duration(elapsed)}`;
    if (line !== lastLine) out.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    lastLine = line;
    if (execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE') {
      if (tty) out.write('\n');
      return execution;
    }
    await new Promise((resolve) => setTimeout(resolve, pollSeconds * 1000));
  }
}

async function finish(execution: DescribeExecutionCommandOutput, target: ResolvedTarget, runId: string, out: NodeJS.WritableStream): Promise<number> {
  let summaryKey = keys.summary(runId);
  let bucket = target.bucket;
  if (execution.status === 'SUCCEEDED' && execution.output) {
    const output = JSON.parse(execution.output) as { summaryKey?: string; location?: string };
    if (output.summaryKey) summaryKey = output.summaryKey;
    if (output.location?.startsWith('s3://')) bucket = output.location.slice('s3://'.length);
  }
  if (execution.status === 'SUCCEEDED') out.write(`Run ${runId} completed\n`);
  else out.write(`Run ${runId} ${execution.status}${execution.error || execution.cause ? `: ${failureLine(execution.error, execution.cause)}` : ''}\n`);
  if (bucket) {
    const s3 = s3ClientFromEnvironment();
    try {
      const store = new S3ReportStore(s3, bucket);
      const summary = await getJson<RunSummary>(store, summaryKey);
      const index = await getJsonOrNull<ProposalIndex>(store, keys.proposalsIndex(summary.runId));
      out.write(formatRunSummary(summary, index));
      out.write(`Summary:  s3://${bucket}/${summaryKey}\n`);
      try {
        out.write(`Report:   ${await presignedPageUrl(s3, bucket, summary.runId, PRESIGNED_SECONDS)}\n          (a link to the run's report.html, valid for ${PRESIGNED_SECONDS / 3600} hour)\n`);
      } catch (err) {
        out.write(`  (no link to the HTML report: ${(err as Error).message})\n`);
      }
      if (summary.changes) out.write(`Changes:  s3://${bucket}/${keys.changes(summary.runId)}  (iam-access-audit changes --bucket ${bucket} --run ${summary.runId} lists them)\n`);
      out.write(sharedLine(summary, `--bucket ${bucket}`));
    } catch (err) {
      out.write(`  (no summary at s3://${bucket}/${summaryKey}: ${(err as Error).message})\n`);
    } finally {
      s3.destroy();
    }
  }
  return execution.status === 'SUCCEEDED' ? 0 : 1;
}
