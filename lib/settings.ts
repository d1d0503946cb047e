/**
 * The app's settings, read once from the `iamAccessAudit` object in cdk.json's context and validated at
 * synth, so a bad value stops `cdk synth` with a message naming the field rather than deploying it.
 */
import { DEFAULTS, describeRange, inRange, RANGES, type Range } from '../lambda/core/defaults';
import { DEFAULT_WATCH_SERVICES } from '../lambda/core/changes';
import { cronProblem } from './cron';
import { ENTITY_TYPES, GRANULARITIES, type EntityType, type Granularity } from '../lambda/core/model';

export interface ScheduleSettings {
  /** Start the audit on a schedule. @default true */
  readonly enabled: boolean;
  /** An EventBridge Scheduler cron expression. @default "cron(0 3 * * ? *)" (03:00 every day) */
  readonly cron: string;
  /** IANA time zone the cron expression is read in. @default "UTC" */
  readonly timeZone: string;
}

/** Which accounts a run audits. */
export type AccountsSetting =
  /** The account the stack is in, with the pipeline's own roles. */
  | { readonly source: 'self' }
  /** The organization's ACTIVE accounts (the hub is its management account or a delegated administrator), through each one's member role. */
  | {
      readonly source: 'organization';
      readonly memberRoleName: string;
      /** Only the accounts under these OUs (or roots), at any depth. @default the whole organization */
      readonly organizationalUnitIds: readonly string[];
      readonly excludeAccountIds: readonly string[];
    }
  /** These accounts, through each one's member role. */
  | { readonly source: 'list'; readonly accountIds: readonly string[]; readonly memberRoleName: string };

export const DEFAULT_MEMBER_ROLE_NAME = 'IamAccessAuditMember';

/** Identities whose policies are never proposed (they are still reported). */
export interface ExemptionSettings {
  /** Path prefixes, e.g. "/break-glass/". @default none */
  readonly pathPrefixes: readonly string[];
  /** ARN globs, `*` for any run of characters. @default none */
  readonly arnPatterns: readonly string[];
  /** A tag key on users and roles. @default "iam-access-audit:exempt" */
  readonly tagKey: string;
}

export interface AuditSettings {
  readonly schedule: ScheduleSettings;
  /** Identities exempt from proposals. */
  readonly exemptions: ExemptionSettings;
  /** The accounts audited. @default { "source": "self" } */
  readonly accounts: AccountsSetting;
  /** Report detail when the execution input does not say. @default SERVICE_LEVEL */
  readonly granularity: Granularity;
  /** Entity types audited when the execution input does not say. @default all four */
  readonly entityTypes: readonly EntityType[];
  /** A service not used in this many days before the report is "unused". @default 90 */
  readonly unusedAfterDays: number;
  /** Entities under these paths are not audited unless named in an execution's `arns`. @default ["/aws-service-role/"] */
  readonly excludePathPrefixes: readonly string[];
  /**
   * Most entities in one batch. A batch is a stream that a chain of AuditBatch invocations works through;
   * an account is one batch up to this size (one pacer per IAM API against the account's buckets), and a
   * larger account is split into equal batches that share its ceiling. @default 10000
   */
  readonly batchSize: number;
  /** Batches audited at once (the Map's MaxConcurrency): accounts side by side. @default 20 */
  readonly maxConcurrency: number;
  /**
   * Reserved concurrency of the AuditBatch function: at most this many AuditBatch invocations run at
   * once, whatever maxConcurrency lets wait for slow jobs, and the account keeps them for it. An
   * invocation beyond it waits its turn. Lambda keeps 100 of the account's concurrency unreserved, so an
   * account whose quota is below 100 plus this cannot deploy it. @default null (none)
   */
  readonly auditBatchReservedConcurrency: number | null;
  /**
   * Ceiling on this pipeline's calls per second to each IAM API (list, generate, get), shared by the
   * concurrent batches: each gets an equal share. IAM's buckets are shared with every other caller in
   * the account. It is a ceiling, not a target: the pacers find the account's rate below it from IAM's
   * Throttling answers. @default 50
   */
  readonly iamCallsPerSecond: number;
  /** Hand-overs between invocations a still-running job may take before it fails as JobTimedOut. @default 6 */
  readonly maxAttempts: number;
  /** Wait before looking again at slow jobs; doubles each time, up to 15 minutes. @default 60 */
  readonly leftoverWaitSeconds: number;
  /** Longest one AuditBatch invocation works before the next of its chain goes on. @default 300 */
  readonly pollBudgetSeconds: number;
  /**
   * A run whose failed entities are more than this percentage of those listed is INCOMPLETE: its
   * execution fails with AuditIncomplete and latest.json stays where it was. @default 5
   */
  readonly maxFailedPercent: number;
  /**
   * Services whose first use by an identity since the previous complete run is named in the run's
   * message on the topic and counted in the WatchedFirstUses metric. @default ["iam", "organizations", "sts", "kms", "account"]
   */
  readonly watchServices: readonly string[];
  /** The whole execution's timeout. @default 12 */
  readonly executionTimeoutHours: number;
  /** Reports, summaries and datasets are deleted after this many days. @default 730 */
  readonly reportRetentionDays: number;
  /** CloudWatch Logs retention of the functions and the state machine. @default 90 */
  readonly logRetentionDays: number;
  /** Alarm when a run fails to report more than this percentage of the entities it listed. @default 5 */
  readonly failureAlarmPercent: number;
  /** Subscribe this address to the alarm and run-summary topic. @default none */
  readonly notificationEmail: string | null;
  /** Encrypt the bucket, topic, logs and query results with a customer managed KMS key (rotated yearly). @default false */
  readonly customerManagedKey: boolean;
  /** Keep S3 server access logs of the report bucket, in a bucket of their own. @default true */
  readonly accessLogs: boolean;
}

export const DEFAULT_SETTINGS: AuditSettings = {
  schedule: { enabled: true, cron: 'cron(0 3 * * ? *)', timeZone: 'UTC' },
  accounts: { source: 'self' },
  exemptions: { pathPrefixes: [], arnPatterns: [], tagKey: 'iam-access-audit:exempt' },
  granularity: 'SERVICE_LEVEL',
  entityTypes: ENTITY_TYPES,
  unusedAfterDays: DEFAULTS.unusedAfterDays,
  excludePathPrefixes: DEFAULTS.excludePathPrefixes,
  batchSize: DEFAULTS.batchSize,
  maxConcurrency: DEFAULTS.maxConcurrency,
  auditBatchReservedConcurrency: null,
  iamCallsPerSecond: DEFAULTS.iamCallsPerSecond,
  maxAttempts: DEFAULTS.maxAttempts,
  leftoverWaitSeconds: DEFAULTS.leftoverWaitSeconds,
  pollBudgetSeconds: DEFAULTS.pollBudgetSeconds,
  maxFailedPercent: DEFAULTS.maxFailedPercent,
  watchServices: DEFAULT_WATCH_SERVICES,
  executionTimeoutHours: 12,
  reportRetentionDays: 730,
  logRetentionDays: 90,
  failureAlarmPercent: 5,
  notificationEmail: null,
  customerManagedKey: false,
  accessLogs: true,
};

export const CONTEXT_KEY = 'iamAccessAudit';

export class SettingsError extends Error {
  override name = 'SettingsError';
}

/** Log retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

type Field<T> = (value: unknown, at: string) => T;

const fail = (at: string, problem: string, value: unknown): never => {
  throw new SettingsError(`${CONTEXT_KEY}.${at} ${problem}, got ${JSON.stringify(value)}`);
};

const ranged =
  (range: Range): Field<number> =>
  (value, at) =>
    inRange(value, range) ? value : fail(at, `must be ${describeRange(range)}`, value);

const integer = (min: number, max: number): Field<number> => ranged({ min, max, integer: true });

const oneOf =
  <T extends string>(allowed: readonly T[]): Field<T> =>
  (value, at) =>
    (allowed as readonly unknown[]).includes(value) ? (value as T) : fail(at, `must be one of ${allowed.join(', ')}`, value);

const boolean: Field<boolean> = (value, at) => (typeof value === 'boolean' ? value : fail(at, 'must be true or false', value));

const cron: Field<string> = (value, at) => {
  const example = 'an EventBridge Scheduler cron expression such as "cron(0 3 * * ? *)"';
  if (typeof value !== 'string') return fail(at, `must be ${example}`, value);
  const problem = cronProblem(value);
  return problem ? fail(at, `must be ${example}: it ${problem}`, value) : value;
};

const timeZone: Field<string> = (value, at) => {
  if (typeof value !== 'string') return fail(at, 'must be an IANA time zone such as "UTC" or "Europe/Paris"', value);
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en', { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    return fail(at, 'must be an IANA time zone such as "UTC" or "Europe/Paris"', value);
  }
  // Node takes a zone in any case; the time zone database, and so Scheduler, spells each one way.
  if (resolved !== value && resolved.toLowerCase() === value.toLowerCase()) return fail(at, `must be spelled as the time zone database spells it, "${resolved}"`, value);
  return value;
};

const entityTypes: Field<EntityType[]> = (value, at) => {
  if (!Array.isArray(value) || value.length === 0) return fail(at, `must be a non-empty array of ${ENTITY_TYPES.join(', ')}`, value);
  value.forEach((t, i) => {
    oneOf(ENTITY_TYPES)(t, `${at}[${i}]`);
    if (value.indexOf(t) !== i) fail(`${at}[${i}]`, 'repeats an entity type', t);
  });
  return value as EntityType[];
};

const pathPrefixes: Field<string[]> = (value, at) => {
  if (!Array.isArray(value)) return fail(at, 'must be an array of IAM paths such as "/aws-service-role/"', value);
  value.forEach((p, i) => {
    if (typeof p !== 'string' || !/^\/[\u0021-\u007E]*$/.test(p) || p.includes(',')) fail(`${at}[${i}]`, 'must be an IAM path prefix starting with "/"', p);
  });
  return value as string[];
};

const email: Field<string | null> = (value, at) =>
  value === null || (typeof value === 'string' && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) ? value : fail(at, 'must be an e-mail address or null', value);

const logRetention: Field<number> = (value, at) =>
  LOG_RETENTION_DAYS.includes(value as number) ? (value as number) : fail(at, `must be one of the retention periods CloudWatch Logs accepts (${LOG_RETENTION_DAYS.join(', ')})`, value);

const arnPatterns: Field<string[]> = (value, at) => {
  if (!Array.isArray(value)) return fail(at, 'must be an array of ARN globs such as "arn:aws:iam::*:role/breakglass-*"', value);
  value.forEach((p, i) => {
    if (typeof p !== 'string' || !/^arn:[\w*-]+:iam::[\d*]*:[\w*+=,.@/-]+$/.test(p)) fail(`${at}[${i}]`, 'must be an IAM ARN glob such as "arn:aws:iam::*:role/breakglass-*"', p);
  });
  return value as string[];
};

/** IAM service prefixes as the access advisor names them: lower-case letters, digits and hyphens. */
const serviceNamespaces: Field<string[]> = (value, at) => {
  if (!Array.isArray(value)) return fail(at, 'must be an array of service namespaces such as "iam" or "kms"', value);
  value.forEach((ns, i) => {
    if (typeof ns !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(ns)) fail(`${at}[${i}]`, 'must be a service namespace such as "iam" or "kms" (lower-case letters, digits and hyphens)', ns);
    if (value.indexOf(ns) !== i) fail(`${at}[${i}]`, 'repeats a service namespace', ns);
  });
  return value as string[];
};

const tagKey: Field<string> = (value, at) =>
  typeof value === 'string' && /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u.test(value) ? value : fail(at, 'must be a tag key (1 to 128 characters)', value);

const ACCOUNT_ID = /^\d{12}$/;
const OU_OR_ROOT_ID = /^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$/;

const accountIds: Field<string[]> = (value, at) => {
  if (!Array.isArray(value)) return fail(at, 'must be an array of 12-digit account ids', value);
  value.forEach((id, i) => {
    if (typeof id !== 'string' || !ACCOUNT_ID.test(id)) fail(`${at}[${i}]`, 'must be a 12-digit account id (a string)', id);
    if (value.indexOf(id) !== i) fail(`${at}[${i}]`, 'repeats an account id', id);
  });
  return value as string[];
};

const roleName: Field<string> = (value, at) =>
  typeof value === 'string' && /^[\w+=,.@-]{1,64}$/.test(value) ? value : fail(at, 'must be an IAM role name (1 to 64 letters, digits and +=,.@_-)', value);

const organizationalUnitIds: Field<string[]> = (value, at) => {
  if (!Array.isArray(value)) return fail(at, 'must be an array of OU or root ids such as "ou-ab12-cd34ef56" or "r-ab12"', value);
  value.forEach((id, i) => {
    if (typeof id !== 'string' || !OU_OR_ROOT_ID.test(id)) fail(`${at}[${i}]`, 'must be an OU id such as "ou-ab12-cd34ef56" or a root id such as "r-ab12"', id);
  });
  return value as string[];
};

function accountsSetting(value: unknown): AccountsSetting {
  const at = `${CONTEXT_KEY}.accounts`;
  const raw = object(value, at);
  const source = oneOf(['self', 'organization', 'list'] as const)(raw.source, 'accounts.source');
  const rest = { ...raw };
  delete rest.source;
  switch (source) {
    case 'self':
      fields(rest, {}, {}, '.accounts');
      return { source };
    case 'organization': {
      const parsed = fields(
        rest,
        { memberRoleName: DEFAULT_MEMBER_ROLE_NAME, organizationalUnitIds: [] as string[], excludeAccountIds: [] as string[] },
        { memberRoleName: roleName, organizationalUnitIds, excludeAccountIds: accountIds },
        '.accounts',
      );
      return { source, ...parsed };
    }
    case 'list': {
      if (raw.accountIds === undefined) fail('accounts.accountIds', 'is required when accounts.source is "list"', undefined);
      const parsed = fields(rest, { accountIds: [] as string[], memberRoleName: DEFAULT_MEMBER_ROLE_NAME }, { accountIds, memberRoleName: roleName }, '.accounts');
      if (parsed.accountIds.length === 0) fail('accounts.accountIds', 'must name at least one account', parsed.accountIds);
      return { source, ...parsed };
    }
  }
}

/** Context given on the command line (`cdk synth -c iamAccessAudit='{...}'`) arrives as a string: it is JSON. */
function fromContext(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new SettingsError(`${CONTEXT_KEY} given as a string must be JSON: ${(err as Error).message}`);
  }
}

function object(value: unknown, at: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SettingsError(`${at} must be a JSON object, got ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

function fields<T>(raw: Record<string, unknown>, defaults: T, parsers: { [K in keyof T]: Field<T[K]> }, at: string): T {
  for (const key of Object.keys(raw)) {
    if (!(key in parsers)) {
      throw new SettingsError(`${CONTEXT_KEY}${at}.${key} is not a known setting (known: ${Object.keys(parsers).join(', ')})`);
    }
  }
  const result = { ...defaults };
  for (const key of Object.keys(parsers) as Array<keyof T>) {
    if (raw[key as string] !== undefined) result[key] = parsers[key](raw[key as string], `${at.slice(1)}${at ? '.' : ''}${String(key)}`);
  }
  return result;
}

/** Reads the `iamAccessAudit` context value (undefined: every default). */
export function parseSettings(raw: unknown): AuditSettings {
  const given = raw === undefined ? {} : object(fromContext(raw), CONTEXT_KEY);
  const { schedule, accounts, exemptions, ...rest } = given;
  const settings = fields(
    rest,
    DEFAULT_SETTINGS,
    {
      schedule: (v) => v as ScheduleSettings,
      accounts: (v) => v as AccountsSetting,
      exemptions: (v) => v as ExemptionSettings,
      granularity: oneOf(GRANULARITIES),
      entityTypes,
      unusedAfterDays: ranged(RANGES.unusedAfterDays),
      excludePathPrefixes: pathPrefixes,
      batchSize: ranged(RANGES.batchSize),
      maxConcurrency: ranged(RANGES.maxConcurrency),
      auditBatchReservedConcurrency: (v, at) => (v === null ? null : ranged(RANGES.maxConcurrency)(v, at)),
      iamCallsPerSecond: ranged(RANGES.iamCallsPerSecond),
      maxAttempts: ranged(RANGES.maxAttempts),
      leftoverWaitSeconds: ranged(RANGES.leftoverWaitSeconds),
      pollBudgetSeconds: ranged(RANGES.pollBudgetSeconds),
      maxFailedPercent: ranged(RANGES.maxFailedPercent),
      watchServices: serviceNamespaces,
      executionTimeoutHours: integer(1, 24 * 365),
      reportRetentionDays: integer(1, 3650),
      logRetentionDays: logRetention,
      failureAlarmPercent: ranged({ min: 0, max: 100 }),
      notificationEmail: email,
      customerManagedKey: boolean,
      accessLogs: boolean,
    },
    '',
  );
  const parsedSchedule =
    schedule === undefined
      ? DEFAULT_SETTINGS.schedule
      : fields(object(schedule, `${CONTEXT_KEY}.schedule`), DEFAULT_SETTINGS.schedule, { enabled: boolean, cron, timeZone }, '.schedule');
  const parsedExemptions =
    exemptions === undefined
      ? DEFAULT_SETTINGS.exemptions
      : fields(object(exemptions, `${CONTEXT_KEY}.exemptions`), DEFAULT_SETTINGS.exemptions, { pathPrefixes, arnPatterns, tagKey }, '.exemptions');
  return { ...settings, schedule: parsedSchedule, exemptions: parsedExemptions, accounts: accounts === undefined ? DEFAULT_SETTINGS.accounts : accountsSetting(accounts) };
}
