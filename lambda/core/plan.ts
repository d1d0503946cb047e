/**
 * Plan: validate the execution input, list the account's entities with complete paging, filter them,
 * write them to the store in batches, and return only small batch descriptors (state payloads are
 * limited to 256 KiB; entity lists are not).
 */
import { ListGroupsCommand, ListPoliciesCommand, ListRolesCommand, ListUsersCommand, type IAMClient } from '@aws-sdk/client-iam';
import type { Clock } from './clock';
import { InvalidInput } from './errors';
import { readAllPages, type IamCaller } from './iam-calls';
import { parseExecutionInput, type AuditDefaults } from './input';
import { keys, type BatchDescriptor, type EntityRef, type EntityType, type IamCallCounts, type RunInfo } from './model';
import { putWorkJson, type ReportStore } from './store';

export interface PlanSettings {
  readonly defaults: AuditDefaults;
  /** Entities whose path starts with one of these are not audited unless named in `arns`. */
  readonly excludePathPrefixes: readonly string[];
  readonly batchSize: number;
  /** Batches audited at once (the Map's MaxConcurrency), which the batch sizes are planned for. */
  readonly concurrency: number;
}

export interface PlanDeps {
  readonly iam: IAMClient;
  readonly caller: IamCaller;
  readonly store: ReportStore;
  readonly clock: Clock;
  readonly settings: PlanSettings;
}

export interface PlanEvent {
  readonly input: unknown;
  readonly execution: { readonly name: string; readonly startTime: string };
}

export interface PlanResult {
  readonly run: RunInfo;
  readonly batches: readonly BatchDescriptor[];
  readonly listed: number;
}

/** What Summarize needs from Plan beyond the batches: written to the store, not passed in the state. */
export interface PlanRecord {
  readonly run: RunInfo;
  readonly batches: readonly BatchDescriptor[];
  /** ARNs asked for in the input that the account does not hold (reported as skipped). */
  readonly missingArns: readonly string[];
  /** Entities left out by the path prefixes excluded in configuration. */
  readonly excluded: number;
  readonly iamCalls: IamCallCounts;
}

export const MAX_RUN_ID_LENGTH = 80;

export async function plan(deps: PlanDeps, event: PlanEvent, accountId: string): Promise<PlanResult> {
  const request = parseExecutionInput(event.input, deps.settings.defaults);
  const run: RunInfo = {
    runId: runIdOf(event.execution?.name),
    runDate: runDateOf(event.execution?.startTime),
    accountId,
    granularity: request.granularity,
    unusedAfterDays: request.unusedAfterDays,
    startedAt: new Date(Date.parse(event.execution.startTime)).toISOString(),
  };

  const listed: EntityRef[] = [];
  for (const type of request.entityTypes) listed.push(...(await listEntities(deps, type)));

  let selected: EntityRef[];
  let missingArns: string[] = [];
  let excluded = 0;
  if (request.arns) {
    const wanted = new Set(request.arns);
    selected = listed.filter((e) => wanted.has(e.arn));
    const found = new Set(selected.map((e) => e.arn));
    missingArns = request.arns.filter((arn) => !found.has(arn));
  } else {
    selected = listed.filter((e) => !deps.settings.excludePathPrefixes.some((prefix) => e.path.startsWith(prefix)));
    excluded = listed.length - selected.length;
  }

  const batches: BatchDescriptor[] = [];
  let start = 0;
  for (const size of batchSizes(selected.length, deps.settings.batchSize, deps.settings.concurrency)) {
    const entities = selected.slice(start, start + size);
    start += size;
    const batchId = `b${String(batches.length + 1).padStart(5, '0')}`;
    const key = keys.batch(run.runId, batchId);
    await putWorkJson(deps.store, key, entities);
    batches.push({ batchId, key, size: entities.length });
  }
  const record: PlanRecord = { run, batches, missingArns, excluded, iamCalls: { ...deps.caller.counts } };
  await putWorkJson(deps.store, keys.plan(run.runId), record);
  return { run, batches, listed: selected.length + missingArns.length };
}

/**
 * Batch sizes for `total` entities: as many batches as run at once (or a multiple, so that none is
 * larger than `batchSize`), all of one size. Each batch is a stream worked through at an equal share of
 * the ceiling, so equal batches finish together and IAM's capacity is never left to a straggler batch.
 */
export function batchSizes(total: number, batchSize: number, concurrency: number): number[] {
  if (total === 0) return [];
  const waves = Math.ceil(total / (batchSize * concurrency));
  const count = Math.min(total, waves * concurrency);
  return Array.from({ length: count }, (_, i) => Math.floor(total / count) + (i < total % count ? 1 : 0));
}

/** The run id is the execution's name, kept to characters that are safe in S3 keys and file names. */
export function runIdOf(executionName: unknown): string {
  if (typeof executionName !== 'string' || executionName.length === 0) {
    throw new InvalidInput('execution.name is missing: Plan must be given $$.Execution.Name');
  }
  return executionName.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, MAX_RUN_ID_LENGTH);
}

function runDateOf(startTime: unknown): string {
  const time = typeof startTime === 'string' ? Date.parse(startTime) : NaN;
  if (Number.isNaN(time)) throw new InvalidInput('execution.startTime is missing: Plan must be given $$.Execution.StartTime');
  return new Date(time).toISOString().slice(0, 10);
}

const MAX_ITEMS = 1000;

async function listEntities(deps: PlanDeps, type: EntityType): Promise<EntityRef[]> {
  const { iam, caller } = deps;
  const list = <T>(fetch: (marker: string | undefined) => Promise<{ items?: T[]; IsTruncated?: boolean; Marker?: string }>) =>
    readAllPages<T>(async (marker) => {
      const answer = await caller.call('list', () => fetch(marker));
      return { items: answer.items ?? [], isTruncated: answer.IsTruncated === true, marker: answer.Marker };
    }, `listing ${type}s`);

  switch (type) {
    case 'user':
      return (
        await list(async (Marker) => {
          const a = await iam.send(new ListUsersCommand({ MaxItems: MAX_ITEMS, Marker }));
          return { ...a, items: a.Users };
        })
      ).map((u) => ({ arn: u.Arn!, type, name: u.UserName!, path: u.Path ?? '/', id: u.UserId! }));
    case 'group':
      return (
        await list(async (Marker) => {
          const a = await iam.send(new ListGroupsCommand({ MaxItems: MAX_ITEMS, Marker }));
          return { ...a, items: a.Groups };
        })
      ).map((g) => ({ arn: g.Arn!, type, name: g.GroupName!, path: g.Path ?? '/', id: g.GroupId! }));
    case 'role':
      return (
        await list(async (Marker) => {
          const a = await iam.send(new ListRolesCommand({ MaxItems: MAX_ITEMS, Marker }));
          return { ...a, items: a.Roles };
        })
      ).map((r) => ({ arn: r.Arn!, type, name: r.RoleName!, path: r.Path ?? '/', id: r.RoleId! }));
    case 'policy':
      return (
        await list(async (Marker) => {
          const a = await iam.send(new ListPoliciesCommand({ Scope: 'Local', MaxItems: MAX_ITEMS, Marker }));
          return { ...a, items: a.Policies };
        })
      ).map((p) => ({ arn: p.Arn!, type, name: p.PolicyName!, path: p.Path ?? '/', id: p.PolicyId! }));
  }
}
