/**
 * The account a local command works on: an account file, or a generated sample (`--sample N --seed S`).
 */
import { generateSampleAccount, loadAccount, readAccountFile, type Account, type EmulatorOptions } from '../emulator';
import { numberFlag, UsageError } from './flags';

export const ACCOUNT_FLAGS = {
  account: { type: 'string' },
  sample: { type: 'string' },
  seed: { type: 'string' },
  'as-of': { type: 'string' },
} as const;

export interface AccountFlags {
  readonly account?: string;
  readonly sample?: string;
  readonly seed?: string;
  readonly 'as-of'?: string;
}

export interface AccountSource {
  readonly account: Account;
  readonly description: string;
}

export function accountFromFlags(flags: AccountFlags): AccountSource {
  if (flags.account !== undefined && flags.sample !== undefined) throw new UsageError('give either --account FILE or --sample N, not both');
  if (flags.account !== undefined) {
    if (flags.seed !== undefined || flags['as-of'] !== undefined) throw new UsageError('--seed and --as-of go with --sample, not --account');
    const account = readAccountFile(flags.account);
    return { account, description: `${flags.account} (${account.entities.length} entities)` };
  }
  if (flags.sample !== undefined) {
    const entities = numberFlag('sample', flags.sample, { integer: true, min: 0, max: 1_000_000 })!;
    const seed = flags.seed ?? '1';
    const asOf = asOfFlag(flags['as-of']);
    const account = loadAccount(generateSampleAccount({ entities, seed, asOf }), 'generated sample');
    return { account, description: `sample of ${entities} entities, seed ${seed}` };
  }
  throw new UsageError('give the account to use: --account FILE or --sample N [--seed S]');
}

/** Flags that set how the emulator behaves, shared by the commands that start one. */
export const EMULATOR_BEHAVIOUR_FLAGS = {
  'throttle-rps': { type: 'string' },
  'throttle-burst': { type: 'string' },
  'job-latency-ms': { type: 'string' },
  'reset-connections': { type: 'string' },
} as const;

export interface EmulatorBehaviourFlags {
  readonly 'throttle-rps'?: string;
  readonly 'throttle-burst'?: string;
  readonly 'job-latency-ms'?: string;
  readonly 'reset-connections'?: string;
}

export function emulatorBehaviourFromFlags(flags: EmulatorBehaviourFlags): Pick<EmulatorOptions, 'throttle' | 'jobLatencyMs' | 'resetConnections'> {
  const rps = numberFlag('throttle-rps', flags['throttle-rps'], { min: 0, exclusiveMin: true });
  const burst = numberFlag('throttle-burst', flags['throttle-burst'], { min: 1 });
  if (burst !== undefined && rps === undefined) throw new UsageError('--throttle-burst needs --throttle-rps');
  return {
    throttle: rps === undefined ? undefined : { rps, burst },
    jobLatencyMs: numberFlag('job-latency-ms', flags['job-latency-ms'], { min: 0 }),
    // At most half: beyond that no request would get through its retries.
    resetConnections: numberFlag('reset-connections', flags['reset-connections'], { min: 0, max: 0.5 }),
  };
}

export function asOfFlag(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(Date.parse(`${text}T00:00:00Z`))) {
    throw new UsageError(`--as-of must be a date such as 2026-01-31, got "${text}"`);
  }
  return new Date(`${text}T00:00:00Z`);
}
