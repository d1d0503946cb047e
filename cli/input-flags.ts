/**
 * The execution input a command runs with: `--input JSON` and its shorthands, checked as Plan checks
 * it (the same `parseExecutionInput`), so that a bad input is a usage error naming the field, before
 * anything is synthesized, started or written.
 */
import { InvalidInput } from '../lambda/core/errors';
import { parseExecutionInput } from '../lambda/core/input';
import { ENTITY_TYPES, GRANULARITIES } from '../lambda/core/model';
import { UsageError } from './flags';

export const INPUT_FLAGS = {
  input: { type: 'string' },
  granularity: { type: 'string' },
  arn: { type: 'string', multiple: true },
  'account-ids': { type: 'string' },
} as const;

export const INPUT_FLAGS_USAGE = `  --input JSON        the execution input, as for a manual start (e.g. '{"entityTypes":["role"],"unusedAfterDays":30}')
  --granularity G     SERVICE_LEVEL or ACTION_LEVEL (the input's granularity)
  --arn ARN           audit only this identity (repeat for more; the input's arns)
  --account-ids IDS   audit only these of the configured accounts, comma-separated (the input's accountIds)`;

export interface InputFlags {
  readonly input?: string;
  readonly granularity?: string;
  readonly arn?: string[];
  readonly 'account-ids'?: string;
}

/** The execution input the flags give; a usage error when it is not one Plan would accept. */
export function executionInputFromFlags(flags: InputFlags): Record<string, unknown> {
  const input = parseInputFlag(flags.input);
  if (flags.granularity !== undefined) {
    if (!(GRANULARITIES as readonly string[]).includes(flags.granularity)) throw new UsageError(`--granularity must be SERVICE_LEVEL or ACTION_LEVEL, got "${flags.granularity}"`);
    input.granularity = flags.granularity;
  }
  if (flags.arn !== undefined) input.arns = flags.arn;
  if (flags['account-ids'] !== undefined) input.accountIds = flags['account-ids'].split(',').map((id) => id.trim());
  try {
    // The defaults do not matter here: only what the input gives is checked.
    parseExecutionInput(input, { granularity: 'SERVICE_LEVEL', entityTypes: ENTITY_TYPES, unusedAfterDays: 90 });
  } catch (err) {
    if (err instanceof InvalidInput) throw new UsageError(`bad execution input: ${err.message}`);
    throw err;
  }
  return input;
}

/** The --input flag: a JSON object, or a usage error. */
function parseInputFlag(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--input must be JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError('--input must be a JSON object');
  return value as Record<string, unknown>;
}
