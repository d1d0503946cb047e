/**
 * The account a local command works on: an account file, or a generated sample (`--sample N --seed S`).
 */
import {
  generateSampleAccount,
  generateSampleOrganization,
  loadAccount,
  loadOrganization,
  readAccountFile,
  readOrganizationFile,
  type Account,
  type EmulatorOptions,
  type Organization,
} from '../local/emulator';
import { numberFlag, UsageError } from './flags';
import { counted } from './words';

export const ACCOUNT_FLAGS = {
  account: { type: 'string' },
  sample: { type: 'string' },
  org: { type: 'string' },
  'org-sample': { type: 'string' },
  seed: { type: 'string' },
  'as-of': { type: 'string' },
} as const;

export interface AccountFlags {
  readonly account?: string;
  readonly sample?: string;
  readonly org?: string;
  readonly 'org-sample'?: string;
  readonly seed?: string;
  readonly 'as-of'?: string;
}

export interface AccountSource {
  /** One account... */
  readonly account?: Account;
  /** ...or an organization. */
  readonly organization?: Organization;
  /** The account the pipeline runs in: the one account, or the organization's audit account. */
  readonly hubAccountId: string;
  readonly description: string;
}

/** `--org-sample 8x1000`: accounts and identities per account. */
export function orgSampleFlag(text: string): { accounts: number; entitiesPerAccount: number } {
  const match = /^(\d{1,3})x(\d{1,6})$/.exec(text);
  const accounts = Number(match?.[1]);
  const entitiesPerAccount = Number(match?.[2]);
  if (!match || accounts < 1 || accounts > 500 || entitiesPerAccount > 100_000) {
    throw new UsageError(`--org-sample must be ACCOUNTSxENTITIES, such as 8x1000 (1 to 500 accounts, at most 100000 entities each), got "${text}"`);
  }
  return { accounts, entitiesPerAccount };
}

export function accountFromFlags(flags: AccountFlags): AccountSource {
  const given = (['account', 'sample', 'org', 'org-sample'] as const).filter((f) => flags[f] !== undefined);
  if (given.length > 1) throw new UsageError(`give one of --account FILE, --sample N, --org FILE or --org-sample AxE, not ${given.map((f) => `--${f}`).join(' and ')}`);
  if (flags.org !== undefined) {
    if (flags.seed !== undefined || flags['as-of'] !== undefined) throw new UsageError('--seed and --as-of go with --sample or --org-sample, not --org');
    const organization = readOrganizationFile(flags.org);
    return { organization, hubAccountId: organization.auditAccountId, description: `${flags.org} (${counted(organization.accounts.length, 'account')})` };
  }
  if (flags['org-sample'] !== undefined) {
    const { accounts, entitiesPerAccount } = orgSampleFlag(flags['org-sample']);
    const seed = flags.seed ?? '1';
    const organization = loadOrganization(generateSampleOrganization({ accounts, entitiesPerAccount, seed, asOf: asOfFlag(flags['as-of']) }), 'generated sample organization');
    return { organization, hubAccountId: organization.auditAccountId, description: `sample organization of ${counted(accounts, 'account')} x ${counted(entitiesPerAccount, 'entity', 'entities')}, seed ${seed}` };
  }
  if (flags.account !== undefined) {
    if (flags.seed !== undefined || flags['as-of'] !== undefined) throw new UsageError('--seed and --as-of go with --sample, not --account');
    const account = readAccountFile(flags.account);
    return { account, hubAccountId: account.accountId, description: `${flags.account} (${counted(account.entities.length, 'entity', 'entities')})` };
  }
  if (flags.sample !== undefined) {
    const entities = numberFlag('sample', flags.sample, { integer: true, min: 0, max: 1_000_000 })!;
    const seed = flags.seed ?? '1';
    const asOf = asOfFlag(flags['as-of']);
    const account = loadAccount(generateSampleAccount({ entities, seed, asOf }), 'generated sample');
    return { account, hubAccountId: account.accountId, description: `sample of ${counted(entities, 'entity', 'entities')}, seed ${seed}` };
  }
  throw new UsageError('give what to audit: --account FILE, --sample N [--seed S], --org FILE or --org-sample AxE [--seed S]');
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
