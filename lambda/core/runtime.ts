/**
 * What a handler needs from its environment at cold start: the report store, the clock, the account,
 * and settings read through checked environment lookups. Every default comes from `defaults.ts`.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { parseAccountsConfig, type AccountsConfig } from './accounts';
import { DEFAULT_WATCH_SERVICES } from './changes';
import type { AuditBatchSettings } from './audit-batch';
import { ScaledClock, systemClock, type Clock, type ClockAnchor } from './clock';
import { DEFAULTS, RANGES } from './defaults';
import { listEnv, numberEnv, requiredEnv } from './environment';
import { ConfigurationError } from './errors';
import type { PacingSettings } from './iam-calls';
import { accountOfArn, ENTITY_TYPES, GRANULARITIES, type EntityType, type Granularity } from './model';
import type { PlanSettings } from './plan';
import { DEFAULT_EXEMPT_TAG_KEY, type Exemptions } from './proposals';
import { DirectoryReportStore, S3ReportStore, type ReportStore } from './store';
import type { SummarizeSettings } from './summarize';

/** The part of Lambda's context object the handlers use. */
export interface LambdaContext {
  readonly invokedFunctionArn: string;
  getRemainingTimeInMillis(): number;
}

/**
 * The store in S3 (REPORT_BUCKET), or in a directory for local runs (REPORT_STORE_DIR). The S3 client
 * honours the SDK's standard endpoint settings, such as AWS_ENDPOINT_URL_S3.
 */
export function storeFromEnvironment(env: NodeJS.ProcessEnv = process.env): ReportStore {
  if (env.REPORT_STORE_DIR) return new DirectoryReportStore(env.REPORT_STORE_DIR);
  return new S3ReportStore(s3ClientFromEnvironment(env), requiredEnv('REPORT_BUCKET', env));
}

/** An S3 client with the SDK's standard settings; path-style addressing when an endpoint is set (local S3). */
export function s3ClientFromEnvironment(env: NodeJS.ProcessEnv = process.env): S3Client {
  return new S3Client({ forcePathStyle: Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL) });
}

/**
 * The system clock in Lambda. The local runner passes LOCAL_CLOCK to run simulated time faster, and
 * passes it again when the run begins (after the function's code loaded): the clock reads it each time.
 */
export function clockFromEnvironment(env: NodeJS.ProcessEnv = process.env): Clock {
  if (!env.LOCAL_CLOCK) return systemClock;
  let text = '';
  let clock: ScaledClock;
  const current = (): ScaledClock => {
    if (env.LOCAL_CLOCK !== text) {
      text = env.LOCAL_CLOCK ?? '';
      try {
        clock = ScaledClock.fromAnchor(JSON.parse(text) as ClockAnchor);
      } catch (err) {
        throw new ConfigurationError(`environment variable LOCAL_CLOCK is malformed: ${(err as Error).message}`);
      }
    }
    return clock;
  };
  current();
  return {
    now: () => current().now(),
    sleep: (ms, signal) => current().sleep(ms, signal),
    get timeScale() {
      return current().timeScale;
    },
  };
}

/** The dimension run metrics are published under: the stack's name. */
export function metricsDimensionFromEnvironment(env: NodeJS.ProcessEnv = process.env): string {
  return requiredEnv('METRICS_DIMENSION', env);
}

/** The partition of the function's ARN: aws, aws-cn or aws-us-gov. */
export function partitionOf(functionArn: string): string {
  const partition = functionArn.split(':')[1];
  if (!/^aws[\w-]*$/.test(partition ?? '')) throw new ConfigurationError(`cannot read the partition from function ARN ${functionArn}`);
  return partition;
}

/** The accounts a run audits (ACCOUNTS, the `accounts` setting as JSON; the pipeline's own account when unset). */
export function accountsFromEnvironment(env: NodeJS.ProcessEnv = process.env): AccountsConfig {
  return parseAccountsConfig(env.ACCOUNTS);
}

export function accountIdOf(functionArn: string): string {
  const accountId = accountOfArn(functionArn);
  if (!/^\d{12}$/.test(accountId ?? '')) throw new ConfigurationError(`cannot read the account id from function ARN ${functionArn}`);
  return accountId;
}

export function pacingFromEnvironment(env: NodeJS.ProcessEnv = process.env): PacingSettings {
  return { callsPerSecond: numberEnv('IAM_CALLS_PER_SECOND', DEFAULTS.iamCallsPerSecond, RANGES.iamCallsPerSecond, env) };
}

export function planSettingsFromEnvironment(env: NodeJS.ProcessEnv = process.env): PlanSettings {
  const granularity = env.DEFAULT_GRANULARITY ?? 'SERVICE_LEVEL';
  if (!(GRANULARITIES as readonly string[]).includes(granularity)) {
    throw new ConfigurationError(`environment variable DEFAULT_GRANULARITY must be SERVICE_LEVEL or ACTION_LEVEL, got "${granularity}"`);
  }
  const entityTypes = listEnv('DEFAULT_ENTITY_TYPES', ENTITY_TYPES, env);
  for (const type of entityTypes) {
    if (!(ENTITY_TYPES as readonly string[]).includes(type)) {
      throw new ConfigurationError(`environment variable DEFAULT_ENTITY_TYPES holds "${type}"; allowed: ${ENTITY_TYPES.join(', ')}`);
    }
  }
  return {
    defaults: {
      granularity: granularity as Granularity,
      entityTypes: entityTypes as EntityType[],
      unusedAfterDays: numberEnv('UNUSED_AFTER_DAYS', DEFAULTS.unusedAfterDays, RANGES.unusedAfterDays, env),
    },
    excludePathPrefixes: listEnv('EXCLUDE_PATH_PREFIXES', DEFAULTS.excludePathPrefixes, env),
    batchSize: numberEnv('BATCH_SIZE', DEFAULTS.batchSize, RANGES.batchSize, env),
  };
}

export function auditBatchSettingsFromEnvironment(env: NodeJS.ProcessEnv = process.env): AuditBatchSettings {
  return {
    maxAttempts: numberEnv('MAX_ATTEMPTS', DEFAULTS.maxAttempts, RANGES.maxAttempts, env),
    pollIntervalMs: numberEnv('POLL_INTERVAL_MS', DEFAULTS.pollIntervalMs, RANGES.pollIntervalMs, env),
    maxPollIntervalMs: numberEnv('MAX_POLL_INTERVAL_MS', DEFAULTS.maxPollIntervalMs, RANGES.maxPollIntervalMs, env),
    pollBudgetMs: numberEnv('POLL_BUDGET_SECONDS', DEFAULTS.pollBudgetSeconds, RANGES.pollBudgetSeconds, env) * 1000,
    handBackAfterMs: numberEnv('HAND_BACK_AFTER_SECONDS', DEFAULTS.handBackAfterSeconds, RANGES.handBackAfterSeconds, env) * 1000,
    safetyMarginMs: numberEnv('SAFETY_MARGIN_SECONDS', DEFAULTS.safetyMarginSeconds, RANGES.safetyMarginSeconds, env) * 1000,
    leftoverWaitSeconds: numberEnv('LEFTOVER_WAIT_SECONDS', DEFAULTS.leftoverWaitSeconds, RANGES.leftoverWaitSeconds, env),
    maxLeftoverWaitSeconds: numberEnv('MAX_LEFTOVER_WAIT_SECONDS', DEFAULTS.maxLeftoverWaitSeconds, RANGES.maxLeftoverWaitSeconds, env),
    maxRegenerations: numberEnv('MAX_REGENERATIONS', DEFAULTS.maxRegenerations, RANGES.maxRegenerations, env),
  };
}

/** Who is exempt from proposals (EXEMPTIONS, JSON; the default tag key alone when unset). */
export function exemptionsFromEnvironment(env: NodeJS.ProcessEnv = process.env): Exemptions {
  const fallback: Exemptions = { pathPrefixes: [], arnPatterns: [], tagKey: DEFAULT_EXEMPT_TAG_KEY };
  if (!env.EXEMPTIONS) return fallback;
  try {
    return { ...fallback, ...(JSON.parse(env.EXEMPTIONS) as Partial<Exemptions>) };
  } catch (err) {
    throw new ConfigurationError(`environment variable EXEMPTIONS must be JSON: ${(err as Error).message}`);
  }
}

export function summarizeSettingsFromEnvironment(env: NodeJS.ProcessEnv = process.env): SummarizeSettings {
  return {
    maxFailedPercent: numberEnv('MAX_FAILED_PERCENT', DEFAULTS.maxFailedPercent, RANGES.maxFailedPercent, env),
    watchServices: listEnv('WATCH_SERVICES', DEFAULT_WATCH_SERVICES, env),
  };
}
