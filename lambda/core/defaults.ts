/**
 * The one source of every default and every allowed range: the CDK settings (cdk.json), the environment
 * the functions read at cold start, and the command-line flags all take them from here, so a default can
 * never mean one thing at synth and another in Lambda.
 */

/** An allowed range: whole numbers when `integer`. */
export interface Range {
  readonly min: number;
  readonly max: number;
  readonly integer?: boolean;
}

export const DEFAULTS = {
  unusedAfterDays: 90,
  excludePathPrefixes: ['/aws-service-role/'] as readonly string[],
  /**
   * Most entities in one batch. An account is one batch (one stream, one pacer per IAM API) up to this
   * size; a larger one is split into equal batches that share its ceiling.
   */
  batchSize: 10_000,
  /** Batches audited at once: the Map's MaxConcurrency (accounts side by side). */
  maxConcurrency: 20,
  /**
   * Ceiling on the pipeline's calls per second to each IAM API in one account. It is a ceiling, not a
   * target: the pacers start well below it and find the account's own rate from IAM's Throttling answers.
   */
  iamCallsPerSecond: 50,
  /** Hand-overs a still-running job may take before it fails as JobTimedOut. */
  maxAttempts: 6,
  /** First Wait before looking again at slow jobs, in seconds; doubles up to maxLeftoverWaitSeconds. */
  leftoverWaitSeconds: 60,
  maxLeftoverWaitSeconds: 900,
  /** Longest one AuditBatch invocation works. */
  pollBudgetSeconds: 300,
  /** Time an AuditBatch invocation keeps back from its timeout to write what it found. */
  safetyMarginSeconds: 45,
  /** Only slow jobs left, none due within this: the invocation ends and the workflow's Wait waits. */
  handBackAfterSeconds: 30,
  /** First look at a job this long after generating it; later looks back off by half again each time. */
  pollIntervalMs: 5000,
  maxPollIntervalMs: 60_000,
  /** Times one entity's job may be regenerated when IAM will not let its JobId be read. */
  maxRegenerations: 2,
  /** A run whose failed entities are more than this percentage of those listed is INCOMPLETE. */
  maxFailedPercent: 5,
} as const;

export const RANGES = {
  unusedAfterDays: { min: 1, max: 400, integer: true },
  batchSize: { min: 50, max: 20_000, integer: true },
  maxConcurrency: { min: 1, max: 1000, integer: true },
  iamCallsPerSecond: { min: 0.1, max: 1000 },
  maxAttempts: { min: 1, max: 50, integer: true },
  leftoverWaitSeconds: { min: 0, max: 3600, integer: true },
  maxLeftoverWaitSeconds: { min: 0, max: 86_400, integer: true },
  pollBudgetSeconds: { min: 10, max: 840, integer: true },
  safetyMarginSeconds: { min: 0, max: 300 },
  handBackAfterSeconds: { min: 0, max: 900 },
  pollIntervalMs: { min: 0, max: 60_000 },
  maxPollIntervalMs: { min: 0, max: 600_000 },
  maxRegenerations: { min: 0, max: 10, integer: true },
  maxFailedPercent: { min: 0, max: 100 },
} as const satisfies Record<string, Range>;

export function inRange(value: unknown, range: Range): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= range.min && value <= range.max && (!range.integer || Number.isInteger(value));
}

export function describeRange(range: Range): string {
  return `${range.integer ? 'a whole number' : 'a number'} from ${range.min} to ${range.max}`;
}
