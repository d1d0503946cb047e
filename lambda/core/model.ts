/**
 * The shapes that cross boundaries: between states of the workflow, and in the report store.
 * The report, summary, dataset row and latest pointer are public contracts (DESIGN.md "Contracts").
 */
import type { CallRates } from './iam-calls';

export const ENTITY_TYPES = ['user', 'group', 'role', 'policy'] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

export const GRANULARITIES = ['SERVICE_LEVEL', 'ACTION_LEVEL'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

/**
 * The account field of an ARN (`arn:partition:service:region:account:resource`): a 12-digit id, or `aws`
 * for an AWS managed policy; '' when the text has no such field.
 */
export function accountOfArn(arn: string): string {
  return arn.split(':')[4] ?? '';
}

/** An IAM entity as listed: enough to generate its report and to name it. */
export interface EntityRef {
  readonly arn: string;
  readonly type: EntityType;
  readonly name: string;
  readonly path: string;
  readonly id: string;
}

/** What every state after Plan needs to know about the run. */
export interface RunInfo {
  readonly runId: string;
  readonly runDate: string;
  readonly granularity: Granularity;
  readonly unusedAfterDays: number;
  readonly startedAt: string;
}

/** A batch of entities of one account, as the plan (`keys.plan`) lists it. */
export interface BatchDescriptor {
  readonly batchId: string;
  readonly accountId: string;
  /** Its file (`BatchFile`, at `keys.batch`). */
  readonly key: string;
  readonly size: number;
  /** Batches of the same account that may run at once: they share the account's call ceiling equally. */
  readonly peers: number;
}

/**
 * A batch's file: what AuditBatch needs to audit it. The Map passes only the batch's id (`BatchRef`), so
 * that the state, which Step Functions limits to 256 KiB, holds some 9 bytes a batch.
 */
export interface BatchFile {
  readonly batchId: string;
  readonly accountId: string;
  readonly peers: number;
  readonly entities: readonly EntityRef[];
  /**
   * The rates to start from, per kind of call: the batch's share of what IAM admitted in its account in
   * the last complete run. Absent when that run found none (or there was no such run).
   */
  readonly learned?: CallRates;
}

/** A batch as the Map passes it from one AuditBatch invocation to the next. */
export interface BatchRef {
  readonly batchId: string;
  /** The bound on the batch's chain of AuditBatch invocations, set by the first of them. */
  readonly maxInvocations?: number;
}

export interface IamCallCounts {
  list: number;
  generate: number;
  get: number;
  /** Calls IAM answered with Throttling. */
  throttled: number;
  /** Calls sent again after a transient fault (a 5xx answer or a network error). */
  retried: number;
}

/** Items by their account, each account's in their order, the accounts in the order first met. */
export function byAccount<T extends { readonly accountId: string }>(items: readonly T[]): Map<string, T[]> {
  const grouped = new Map<string, T[]>();
  for (const item of items) {
    const mine = grouped.get(item.accountId);
    if (mine) mine.push(item);
    else grouped.set(item.accountId, [item]);
  }
  return grouped;
}

export const noIamCalls = (): IamCallCounts => ({ list: 0, generate: 0, get: 0, throttled: 0, retried: 0 });

export function addIamCalls(into: IamCallCounts, more: IamCallCounts): void {
  for (const kind of Object.keys(into) as Array<keyof IamCallCounts>) into[kind] += more[kind] ?? 0;
}

export interface TrackedActionReport {
  readonly actionName: string;
  readonly lastAccessedTime: string | null;
  readonly lastAccessedRegion: string | null;
  readonly lastAccessedEntity: string | null;
}

export interface ServiceReport {
  readonly serviceNamespace: string;
  readonly serviceName: string;
  readonly lastAuthenticated: string | null;
  readonly lastAuthenticatedEntity: string | null;
  readonly lastAuthenticatedRegion: string | null;
  readonly totalAuthenticatedEntities: number;
  readonly trackedActions: readonly TrackedActionReport[];
}

export interface EntityReport {
  readonly schemaVersion: 1;
  readonly runId: string;
  readonly runDate: string;
  readonly accountId: string;
  readonly entity: EntityRef;
  readonly granularity: Granularity;
  readonly job: { readonly jobId: string; readonly status: 'COMPLETED'; readonly createdAt: string; readonly completedAt: string };
  readonly services: readonly ServiceReport[];
  readonly findings: {
    readonly unusedAfterDays: number;
    readonly servicesGranted: number;
    readonly servicesUsed: number;
    readonly unusedServices: readonly string[];
    readonly neverUsedServices: readonly string[];
  };
}

export interface DatasetRow {
  readonly runId: string;
  readonly runDate: string;
  readonly accountId: string;
  readonly granularity: Granularity;
  readonly entityArn: string;
  readonly entityType: EntityType;
  readonly entityName: string;
  readonly serviceNamespace: string;
  readonly serviceName: string;
  readonly lastAuthenticated: string | null;
  readonly lastAuthenticatedEntity: string | null;
  readonly lastAuthenticatedRegion: string | null;
  readonly totalAuthenticatedEntities: number;
  readonly unused: boolean;
  readonly neverUsed: boolean;
}

export interface Failure {
  readonly arn: string;
  readonly code: string;
  readonly message: string;
}

export interface Skip {
  readonly arn: string;
  readonly code: string;
}

export const RUN_STATUSES = ['COMPLETED', 'INCOMPLETE'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export interface EntityCounts {
  readonly listed: number;
  readonly reported: number;
  readonly skipped: number;
  readonly failed: number;
}

/** One account of a run: audited, failed (it could not be entered or listed), or skipped (not ACTIVE). */
export interface AccountSummary {
  readonly accountId: string;
  readonly name: string | null;
  readonly status: 'audited' | 'failed' | 'skipped';
  readonly code?: string;
  readonly message?: string;
  readonly entities: EntityCounts;
}

export const PROPOSAL_ACTIONS = ['trim', 'remove', 'replace', 'review'] as const;
export type ProposalAction = (typeof PROPOSAL_ACTIONS)[number];

/** The run summary, schema version 2 (DESIGN.md "Summary v2"). */
export interface RunSummary {
  readonly schemaVersion: 2;
  readonly runId: string;
  readonly runDate: string;
  readonly status: RunStatus;
  readonly granularity: Granularity;
  readonly startedAt: string;
  readonly completedAt: string;
  readonly accounts: readonly AccountSummary[];
  readonly entities: EntityCounts & { readonly byType: Record<EntityType, number> };
  readonly failures: readonly Failure[];
  readonly skipped: readonly Skip[];
  readonly findings: {
    readonly entitiesWithUnusedServices: number;
    readonly unusedServiceGrants: number;
    readonly entitiesWithNoUseInWindow: number;
  };
  readonly proposals: { readonly count: number; readonly byAction: Record<ProposalAction, number> };
  readonly changes: { readonly firstUse: number; readonly newlyUnused: number; readonly added: number; readonly removed: number } | null;
  readonly iamCalls: IamCallCounts;
}

export interface LatestPointer {
  readonly runId: string;
  readonly summaryKey: string;
  readonly completedAt: string;
}

/** Longest part of an error the workflow recorded (`keys.batchFailure`, `keys.listingFailure`) that a message carries. */
const RECORDED_ERROR_CHARACTERS = 300;

/**
 * A failure's message: `head`, then the error the workflow recorded for it (`<error>: <cause>`), cut to
 * its first 300 characters, or where to look when the workflow could not record one.
 */
export function withRecordedError(head: string, recorded: string | null): string {
  if (!recorded) return `${head}; the execution history has the error`;
  return `${head}: ${recorded.length > RECORDED_ERROR_CHARACTERS ? `${recorded.slice(0, RECORDED_ERROR_CHARACTERS)}...` : recorded}`;
}

/** Keys in the report store (the S3 layout of DESIGN.md, and working files under `work/`). */
export const keys = {
  report: (runId: string, accountId: string, type: EntityType, name: string) => `runs/${runId}/reports/${accountId}/${type}/${name}.json`,
  reportsOf: (runId: string, accountId: string) => `runs/${runId}/reports/${accountId}/`,
  summary: (runId: string) => `runs/${runId}/summary.json`,
  datasetPart: (runDate: string, runId: string, batchId: string) =>
    `datasets/service_last_accessed/run_date=${runDate}/run_id=${runId}/part-${batchId}.jsonl`,
  latest: () => 'latest.json',
  plan: (runId: string) => `work/${runId}/plan.json`,
  /** Plan's first step: the run's request, its accounts, and their listing groups (plan.ts). */
  accounts: (runId: string) => `work/${runId}/accounts.json`,
  /** One account's entities as Plan's listing step found them. */
  listing: (runId: string, accountId: string) => `work/${runId}/listings/${accountId}.json`,
  /**
   * The error that ended a listing group's invocations, as text (`<error>: <cause>`), written by the
   * workflow itself, as for a batch.
   */
  listingFailure: (runId: string, group: number | string) => `work/${runId}/listing-failures/${group}.txt`,
  /** What Summarize gathered beside Propose, for its finish (summarize.ts). */
  gathered: (runId: string) => `work/${runId}/gathered.json`,
  authorization: (runId: string, accountId: string) => `work/${runId}/authorization/${accountId}.json`,
  proposal: (runId: string, accountId: string, proposalId: string) => `runs/${runId}/proposals/${accountId}/${proposalId}.json`,
  proposalsIndex: (runId: string) => `runs/${runId}/proposals/index.json`,
  templateProposals: (runId: string) => `runs/${runId}/proposals/templates.json`,
  changes: (runId: string) => `runs/${runId}/changes.json`,
  /** The run's long jobs, which the next run generates first (long-jobs.ts). */
  longJobs: (runId: string) => `runs/${runId}/long-jobs.json`,
  /** Which run's long jobs are the latest, whatever its status (long-jobs.ts). */
  latestLongJobs: () => 'latest-long-jobs.json',
  reportPage: (runId: string) => `runs/${runId}/report.html`,
  datasetPrefix: () => 'datasets/service_last_accessed/',
  changesPart: (runDate: string, runId: string) => `datasets/changes/run_date=${runDate}/run_id=${runId}/part-changes.jsonl`,
  batch: (runId: string, batchId: string) => `work/${runId}/batches/${batchId}.json`,
  outcomesOf: (runId: string, batchId: string) => `work/${runId}/outcomes/${batchId}/`,
  /**
   * The error that ended a batch's audit, as text (`<error>: <cause>`), written by the workflow itself
   * (the state machine's S3 PutObject: lib/audit-workflow.ts builds the same key) when the batch's
   * invocations fail.
   */
  batchFailure: (runId: string, batchId: string) => `work/${runId}/batch-failures/${batchId}.txt`,
  /** One invocation's outcome; `invocationId` tells apart invocations of one attempt that ran twice. */
  outcome: (runId: string, batchId: string, attempt: number, invocationId: string) =>
    `work/${runId}/outcomes/${batchId}/${String(attempt).padStart(3, '0')}-${invocationId}.json`,
  leftovers: (runId: string, batchId: string, attempt: number, invocationId: string) =>
    `work/${runId}/leftovers/${batchId}/${String(attempt).padStart(3, '0')}-${invocationId}.json`,
};
