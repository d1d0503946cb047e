/**
 * What a handler needs from its environment at cold start: the report store, the clock, the account,
 * and settings read through checked environment lookups.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { AuditBatchSettings } from './audit-batch';
import { ScaledClock, systemClock, type Clock, type ClockAnchor } from './clock';
import { listEnv, numberEnv, requiredEnv } from './environment';
import { ConfigurationError } from './errors';
import type { PacingSettings } from './iam-calls';
import { ENTITY_TYPES, GRANULARITIES, type EntityType, type Granularity } from './model';
import type { PlanSettings } from './plan';
import { DirectoryReportStore, S3ReportStore, type ReportStore } from './store';

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

/** The system clock in Lambda; the local runner passes LOCAL_CLOCK to run simulated time faster. */
export function clockFromEnvironment(env: NodeJS.ProcessEnv = process.env): Clock {
  if (!env.LOCAL_CLOCK) return systemClock;
  try {
    return ScaledClock.fromAnchor(JSON.parse(env.LOCAL_CLOCK) as ClockAnchor);
  } catch (err) {
    throw new ConfigurationError(`environment variable LOCAL_CLOCK is malformed: ${(err as Error).message}`);
  }
}

/** The dimension run metrics are published under: the stack's name. */
export function metricsDimensionFromEnvironment(env: NodeJS.ProcessEnv = process.env): string {
  return requiredEnv('METRICS_DIMENSION', env);
}

export function accountIdOf(functionArn: string): string {
  const accountId = functionArn.split(':')[4];
  if (!/^\d{12}$/.test(accountId ?? '')) throw new ConfigurationError(`cannot read the account id from function ARN ${functionArn}`);
  return accountId;
}

export function pacingFromEnvironment(env: NodeJS.ProcessEnv = process.env): PacingSettings {
  return { callsPerSecond: numberEnv('IAM_CALLS_PER_SECOND', 2, { min: 0.01, max: 1000 }, env) };
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
      unusedAfterDays: numberEnv('UNUSED_AFTER_DAYS', 90, { min: 1, max: 400, integer: true }, env),
    },
    excludePathPrefixes: listEnv('EXCLUDE_PATH_PREFIXES', [], env),
    batchSize: numberEnv('BATCH_SIZE', 2000, { min: 1, max: 10_000, integer: true }, env),
    concurrency: numberEnv('MAX_CONCURRENCY', 5, { min: 1, max: 1000, integer: true }, env),
  };
}

export function auditBatchSettingsFromEnvironment(env: NodeJS.ProcessEnv = process.env): AuditBatchSettings {
  return {
    maxAttempts: numberEnv('MAX_ATTEMPTS', 6, { min: 1, max: 50, integer: true }, env),
    pollIntervalMs: numberEnv('POLL_INTERVAL_MS', 5000, { min: 0, max: 60_000 }, env),
    maxPollIntervalMs: numberEnv('MAX_POLL_INTERVAL_MS', 60_000, { min: 0, max: 600_000 }, env),
    pollBudgetMs: numberEnv('POLL_BUDGET_SECONDS', 300, { min: 1, max: 900 }, env) * 1000,
    handBackAfterMs: numberEnv('HAND_BACK_AFTER_SECONDS', 30, { min: 0, max: 900 }, env) * 1000,
    safetyMarginMs: numberEnv('SAFETY_MARGIN_SECONDS', 30, { min: 0, max: 300 }, env) * 1000,
    leftoverWaitSeconds: numberEnv('LEFTOVER_WAIT_SECONDS', 60, { min: 0, max: 3600, integer: true }, env),
    maxLeftoverWaitSeconds: numberEnv('MAX_LEFTOVER_WAIT_SECONDS', 900, { min: 0, max: 86_400, integer: true }, env),
    maxRegenerations: numberEnv('MAX_REGENERATIONS', 2, { min: 0, max: 10, integer: true }, env),
  };
}
