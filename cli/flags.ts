/**
 * Command-line flag parsing shared by every command: strict (an unknown or misspelt flag is an error),
 * with checked conversions whose errors name the flag.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseFlags<T extends Options>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

export interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
  /** The lower bound is excluded (for "more than 0"). */
  readonly exclusiveMin?: boolean;
}

export function numberFlag(flag: string, text: string | undefined, rule: NumberRule): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  const ok =
    text.trim() !== '' &&
    Number.isFinite(value) &&
    (!rule.integer || Number.isInteger(value)) &&
    (rule.min === undefined || (rule.exclusiveMin ? value > rule.min : value >= rule.min)) &&
    (rule.max === undefined || value <= rule.max);
  if (!ok) {
    const kind = rule.integer ? 'a whole number' : 'a number';
    const lower = rule.min === undefined ? '' : rule.exclusiveMin ? ` greater than ${rule.min}` : ` of at least ${rule.min}`;
    const upper = rule.max === undefined ? '' : ` and at most ${rule.max}`;
    throw new UsageError(`--${flag} must be ${kind}${lower}${upper}, got "${text}"`);
  }
  return value;
}

export function requireFlag<T>(flag: string, value: T | undefined): T {
  if (value === undefined) throw new UsageError(`--${flag} is required`);
  return value;
}
