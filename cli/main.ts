/**
 * The command-line tool's entry: picks the command, reports usage errors and bad input plainly, and sets
 * the exit code (2 for usage, 1 for a failure).
 */
import { SettingsError } from '../lib/settings';
import { AccountFileError } from '../local/emulator';
import { SynthesisError } from '../local/runner/run-local';
import { awsErrorLine } from './aws-errors';
import { CHANGES_USAGE, changesCommand } from './changes-command';
import { EMULATOR_USAGE, emulatorCommand } from './emulator-command';
import { WriteFailure } from './files';
import { UsageError } from './flags';
import { PROPOSALS_USAGE, proposalsCommand } from './proposals-command';
import { REPORT_USAGE, reportCommand } from './report-command';
import { AwsAccessError, RUN_AWS_USAGE } from './run-aws-command';
import { RUN_USAGE, runCommand } from './run-command';
import { SAMPLE_USAGE, sampleCommand } from './sample-command';
import { START_USAGE, startCommand } from './start-command';

/** A command returns its exit code, or nothing for success. */
type Command = (args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream) => Promise<number | void> | number | void;

const COMMANDS: Record<string, { run: Command; usage: string }> = {
  run: { run: runCommand, usage: `${RUN_USAGE}\n\n${RUN_AWS_USAGE}` },
  start: { run: startCommand, usage: START_USAGE },
  report: { run: reportCommand, usage: REPORT_USAGE },
  changes: { run: changesCommand, usage: CHANGES_USAGE },
  proposals: { run: proposalsCommand, usage: PROPOSALS_USAGE },
  emulator: { run: emulatorCommand, usage: EMULATOR_USAGE },
  sample: { run: sampleCommand, usage: SAMPLE_USAGE },
};

const USAGE = `iam-access-audit: which AWS services every IAM identity really uses.

Commands:
${Object.values(COMMANDS)
  .flatMap((c) => c.usage.split('\n').filter((line) => line.startsWith('iam-access-audit ')))
  .map((line) => `  ${line}`)
  .join('\n')}

Run "iam-access-audit <command> --help" for a command's details.`;

export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out.write(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    err.write(`iam-access-audit: unknown command "${name}"\n\n${USAGE}\n`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    out.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return (await command.run(args, out, err)) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err.write(`iam-access-audit ${name}: ${e.message}\n\n${command.usage}\n`);
      return 2;
    }
    if (e instanceof AccountFileError || e instanceof SettingsError || e instanceof SynthesisError || e instanceof AwsAccessError) {
      err.write(`iam-access-audit ${name}: ${e.message}\n`);
      return 2;
    }
    if (e instanceof WriteFailure) {
      err.write(`iam-access-audit ${name}: ${e.message}\n`);
      return 1;
    }
    const aws = awsErrorLine(e);
    if (aws) {
      err.write(`iam-access-audit ${name}: ${aws.line}\n`);
      return aws.exitCode;
    }
    err.write(`iam-access-audit ${name}: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}
