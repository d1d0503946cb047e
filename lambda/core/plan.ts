/**
 * Plan, in three steps the workflow runs in turn, so that no one invocation holds a whole organization
 * (Lambda's 15 minutes and one function's share of a vCPU bound what one invocation can list):
 * - start: validate the execution input, list the accounts to audit, and deal the active ones into
 *   groups (`ACCOUNTS_PER_LISTING` each), which the workflow's Map lists side by side;
 * - list: list each account of one group with complete paging and read its authorization details, into
 *   one listing file per account;
 * - batches: filter the listings, write them to the store in batches, and return only the batches' ids
 *   (state payloads are limited to 256 KiB; entity lists are not). Batches of different
 *   accounts are interleaved, so the Map audits accounts side by side: IAM throttles each account on its
 *   own. Within an account, the entities whose jobs were found long go first (long-jobs.ts).
 */
import { ListGroupsCommand, ListPoliciesCommand, ListRolesCommand, ListUsersCommand } from '@aws-sdk/client-iam';
import type { IamSender } from './accounts';
import type { Clock } from './clock';
import { readAuthorizationDetails } from './authorization';
import { InvalidInput, Throttled, Unreachable } from './errors';
import { faultCode, IamCaller, readAllPages, type CallRates, type PacingSettings } from './iam-calls';
import { ENTITY_ARN, parseExecutionInput, type AuditDefaults, type AuditRequest } from './input';
import { longestFirst, longJobsFirst, readLatestLongJobs, type KnownLongJobs } from './long-jobs';
import { accountOfArn, keys, noIamCalls, addIamCalls, withRecordedError, type BatchDescriptor, type BatchFile, type EntityRef, type EntityType, type IamCallCounts, type RunInfo } from './model';
import { getJson, getJsonOrNull, getOrNull, mapConcurrently, putWorkJson, type ReportStore } from './store';

export interface PlanSettings {
  readonly defaults: AuditDefaults;
  /** Entities whose path starts with one of these are not audited unless named in `arns`. */
  readonly excludePathPrefixes: readonly string[];
  readonly batchSize: number;
}

/** An account the run is asked to audit, as its source lists it. */
export interface AccountToAudit {
  readonly accountId: string;
  readonly name: string | null;
  /** Only ACTIVE accounts are audited; the others are skipped. */
  readonly status: string;
  /** The organization's management account, when Organizations listed the account (its ARN names it). */
  readonly managementAccountId?: string;
}

/** Where the run's accounts come from, and how to reach each one's IAM. */
export interface AccountSource {
  /** The accounts to audit (for the account the pipeline runs in, that one alone). */
  accounts(): Promise<AccountToAudit[]>;
  /** IAM in the account; throws with the error's code when the account cannot be entered. */
  iam(accountId: string): Promise<IamSender>;
}

/** The account the pipeline runs in, reached with the caller's own credentials. */
export function selfAccountSource(accountId: string, iam: IamSender): AccountSource {
  return { accounts: async () => [{ accountId, name: null, status: 'ACTIVE' }], iam: async () => iam };
}

export interface PlanDeps {
  readonly source: AccountSource;
  readonly store: ReportStore;
  readonly clock: Clock;
  readonly settings: PlanSettings;
  /** Each account's ceiling on list calls per second. */
  readonly pacing: PacingSettings;
}

export interface PlanEvent {
  readonly input: unknown;
  readonly execution: { readonly name: string; readonly startTime: string };
}

/** Plan's first step: the run, and the active accounts in groups, each listed by one invocation. */
export interface PlanStart {
  readonly run: RunInfo;
  readonly listings: readonly (readonly string[])[];
}

/** Plan's second step: list the accounts of one group (`group` is its index in `PlanStart.listings`). */
export interface ListEvent {
  readonly run: RunInfo;
  readonly group: number;
  readonly accountIds: readonly string[];
}

/** What the first step keeps for the others, in the run's working files. */
export interface AccountsRecord {
  readonly request: AuditRequest;
  readonly accounts: readonly AccountToAudit[];
  readonly listings: readonly (readonly string[])[];
}

/** One account as the second step left it, for the third. */
export interface AccountListing {
  readonly account: PlannedAccount;
  readonly selected: readonly EntityRef[];
}

export interface PlanResult {
  readonly run: RunInfo;
  /** The batches' ids, accounts interleaved: the Map's items (each batch's file says the rest). */
  readonly batches: readonly string[];
  readonly listed: number;
}

/** An account as Plan left it: audited (listed and batched), failed (not entered or not listed), or skipped. */
export interface PlannedAccount {
  readonly accountId: string;
  readonly name: string | null;
  readonly status: 'audited' | 'failed' | 'skipped';
  readonly code?: string;
  readonly message?: string;
  /** ARNs asked for in the input that the account does not hold (reported as skipped). */
  readonly missingArns: readonly string[];
  readonly iamCalls: IamCallCounts;
  /** Why its authorization details could not be read (no proposals for it), when they could not. */
  readonly authorization?: string;
}

/** What Summarize needs from Plan beyond the batches: written to the store, not passed in the state. */
export interface PlanRecord {
  readonly run: RunInfo;
  readonly accounts: readonly PlannedAccount[];
  readonly batches: readonly BatchDescriptor[];
  /** The run whose long jobs, times and rates Plan started from (null: none): Summarize carries forward from it unless a later one wrote since. */
  readonly longJobsFrom: string | null;
  /** The input asked for fewer entities than a scheduled run audits: `arns`, or other `entityTypes`. */
  readonly narrowed: boolean;
}

/** All of Plan in one call, step after step, as the workflow runs it. */
export async function plan(deps: PlanDeps, event: PlanEvent): Promise<PlanResult> {
  const start = await startPlan(deps, event);
  for (const [group, accountIds] of start.listings.entries()) await listAccounts(deps, { run: start.run, group, accountIds });
  return writePlan(deps, start.run);
}

/** Plan's first step: the run's accounts, in groups for the listing steps. */
export async function startPlan(deps: PlanDeps, event: PlanEvent): Promise<PlanStart> {
  const request = parseExecutionInput(event.input, deps.settings.defaults);
  const run: RunInfo = {
    runId: runIdOf(event.execution?.name),
    runDate: runDateOf(event.execution?.startTime),
    granularity: request.granularity,
    unusedAfterDays: request.unusedAfterDays,
    startedAt: new Date(Date.parse(event.execution.startTime)).toISOString(),
  };
  const accounts = await accountsToAudit(deps.source, request);
  const active = accounts.filter((a) => a.status === 'ACTIVE').map((a) => a.accountId);
  const listings: string[][] = [];
  for (let i = 0; i < active.length; i += ACCOUNTS_PER_LISTING) listings.push(active.slice(i, i + ACCOUNTS_PER_LISTING));
  const record: AccountsRecord = { request, accounts, listings };
  await putWorkJson(deps.store, keys.accounts(run.runId), record);
  return { run, listings };
}

/**
 * Plan's second step: lists one group's accounts, `ACCOUNTS_LISTED_AT_ONCE` side by side (IAM throttles
 * each account on its own), each into its listing file.
 */
export async function listAccounts(deps: PlanDeps, event: ListEvent): Promise<null> {
  const { request, accounts, listings } = await getJson<AccountsRecord>(deps.store, keys.accounts(event.run.runId));
  const group = listings[event.group];
  if (!group || group.length !== event.accountIds.length || group.some((id, i) => id !== event.accountIds[i])) {
    throw new InvalidInput(`accountIds: listing group ${event.group} of run ${event.run.runId} is not the one its start dealt`);
  }
  const byId = new Map(accounts.map((a) => [a.accountId, a]));
  await mapConcurrently(group, ACCOUNTS_LISTED_AT_ONCE, async (accountId) => {
    const listing = await planAccount(deps, byId.get(accountId)!, request, event.run.runId);
    await putWorkJson(deps.store, keys.listing(event.run.runId, accountId), listing);
  });
  return null;
}

/**
 * Plan's third step: every account's listing, batched. An active account without a listing is one whose
 * listing invocation failed after its retries: it fails alone, with the error the workflow wrote down.
 */
export async function writePlan(deps: PlanDeps, run: RunInfo): Promise<PlanResult> {
  const { request, accounts, listings } = await getJson<AccountsRecord>(deps.store, keys.accounts(run.runId));
  const groupOf = new Map<string, number>();
  listings.forEach((ids, group) => ids.forEach((id) => groupOf.set(id, group)));
  const planned = await mapConcurrently(accounts, ACCOUNTS_LISTED_AT_ONCE, async (account): Promise<AccountListing> => {
    if (account.status !== 'ACTIVE') return { account: skippedAccount(account), selected: [] };
    const listing = await getJsonOrNull<AccountListing>(deps.store, keys.listing(run.runId, account.accountId));
    if (listing) return listing;
    const group = groupOf.get(account.accountId) ?? -1;
    const error = await getOrNull(deps.store, keys.listingFailure(run.runId, group));
    const message = withRecordedError('the invocation that listed it failed', error);
    return { account: { ...accountBase(account), status: 'failed', code: 'ListingFailed', message, iamCalls: noIamCalls() }, selected: [] };
  });
  const selectedByAccount = new Map<string, readonly EntityRef[]>();
  for (const p of planned) if (p.selected.length > 0) selectedByAccount.set(p.account.accountId, p.selected);

  const known = await readLatestLongJobs(deps.store);
  const batches = await writeBatches(deps, run, selectedByAccount, known);
  const { entityTypes } = deps.settings.defaults;
  const narrowed = request.arns !== null || request.entityTypes.length !== entityTypes.length || request.entityTypes.some((t) => !entityTypes.includes(t));
  const record: PlanRecord = { run, accounts: planned.map((p) => p.account), batches, longJobsFrom: known.runId, narrowed };
  await putWorkJson(deps.store, keys.plan(run.runId), record);
  const listed = batches.reduce((n, b) => n + b.size, 0) + planned.reduce((n, p) => n + p.account.missingArns.length, 0);
  return { run, batches: batches.map((b) => b.batchId), listed };
}

/**
 * Reads the account's authorization details once for the run's proposals, into the working files. An
 * account whose details cannot be read is still audited; it just gets no proposals: the fault's code is
 * returned.
 */
async function keepAuthorizationDetails(deps: PlanDeps, iam: IamSender, caller: IamCaller, account: AccountToAudit, runId: string): Promise<string | undefined> {
  try {
    const details = await readAuthorizationDetails(iam, caller, account.accountId, account.managementAccountId ?? null);
    await putWorkJson(deps.store, keys.authorization(runId, account.accountId), details);
    return undefined;
  } catch (err) {
    if (err instanceof Unreachable) return err.code;
    if ((err as { $metadata?: unknown }).$metadata === undefined && !(err instanceof Throttled)) throw err;
    return faultCode(err);
  }
}

/**
 * The configured accounts, narrowed to the execution input's `accountIds` when it names some. An account
 * the input names (in `accountIds`, or as the account of an ARN in `arns`) that is not among them is bad
 * input: the run fails before it writes anything, rather than complete without it (a mistyped id would
 * otherwise make a complete run, and the latest, of nothing).
 */
async function accountsToAudit(source: AccountSource, request: AuditRequest): Promise<AccountToAudit[]> {
  const all = await source.accounts();
  const known = new Map(all.map((a) => [a.accountId, a]));
  const notAudited = (what: string): InvalidInput =>
    new InvalidInput(
      `${what}, not among the ${all.length} account${all.length === 1 ? '' : 's'} the pipeline is set to audit (by its setting accounts: for an organization, its accounts under organizationalUnitIds, less excludeAccountIds)`,
    );
  const unknown = request.accountIds?.filter((accountId) => !known.has(accountId)) ?? [];
  if (unknown.length > 0) throw notAudited(`accountIds names ${unknown.join(', ')}`);
  const foreign = request.arns?.find((arn) => !known.has(accountOfArn(arn)));
  if (foreign !== undefined) throw notAudited(`arns[${request.arns!.indexOf(foreign)}] is in account ${accountOfArn(foreign)}`);
  return request.accountIds ? request.accountIds.map((accountId) => known.get(accountId)!) : all;
}

function accountBase(account: AccountToAudit): Pick<PlannedAccount, 'accountId' | 'name' | 'missingArns'> {
  return { accountId: account.accountId, name: account.name, missingArns: [] };
}

/** An account the run does not enter: not ACTIVE. */
function skippedAccount(account: AccountToAudit): PlannedAccount {
  return { ...accountBase(account), status: 'skipped', code: `Account${pascal(account.status)}`, message: `the account is ${account.status}`, iamCalls: noIamCalls() };
}

/** Lists one active account; an account that cannot be entered or listed fails alone. */
async function planAccount(deps: PlanDeps, account: AccountToAudit, request: AuditRequest, runId: string): Promise<AccountListing> {
  const base = accountBase(account);
  const caller = new IamCaller(deps.clock, deps.pacing);
  try {
    const iam = await deps.source.iam(account.accountId);
    // The authorization details (for the proposals) are read while the entities are listed: another API, another bucket.
    const [listing, details] = await Promise.allSettled([listAllEntities(iam, caller, request.entityTypes), keepAuthorizationDetails(deps, iam, caller, account, runId)]);
    if (listing.status === 'rejected') throw listing.reason;
    if (details.status === 'rejected') throw details.reason;
    const listed = listing.value;
    const authorization = details.value;
    let selected: EntityRef[];
    let missingArns: string[] = [];
    if (request.arns) {
      const wanted = new Set(request.arns.filter((arn) => accountOfArn(arn) === account.accountId));
      selected = listed.filter((e) => wanted.has(e.arn));
      const found = new Set(selected.map((e) => e.arn));
      missingArns = [...wanted].filter((arn) => !found.has(arn));
    } else {
      selected = listed.filter((e) => !deps.settings.excludePathPrefixes.some((prefix) => e.path.startsWith(prefix)));
    }
    return { account: { ...base, status: 'audited', missingArns, iamCalls: { ...caller.counts }, ...(authorization ? { authorization } : {}) }, selected };
  } catch (err) {
    if (err instanceof InvalidInput) throw err;
    // The account could not be entered or listed: it fails alone; its entities are unknown, not failed.
    const code = err instanceof Unreachable ? err.code : faultCode(err);
    return { account: { ...base, status: 'failed', code, message: (err as Error).message, iamCalls: { ...caller.counts } }, selected: [] };
  }
}

/** SUSPENDED as Suspended, PENDING_CLOSURE as PendingClosure. */
function pascal(word: string): string {
  return word
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/**
 * Writes each account's batches and returns their descriptors, accounts interleaved, the longest first.
 * An account is one stream (one batch, one pacer per API against IAM's buckets of that account) unless
 * it holds more than `batchSize` entities; then its equal batches run side by side and share its
 * ceiling as peers, and the rates IAM admitted in it in the last run, which they start from.
 */
async function writeBatches(deps: PlanDeps, run: RunInfo, selectedByAccount: ReadonlyMap<string, readonly EntityRef[]>, previous: KnownLongJobs): Promise<BatchDescriptor[]> {
  const { batchSize } = deps.settings;
  const perAccount: BatchDescriptor[][] = [];
  let counter = 0;
  // With more batches than the Map runs at once, each keeps its place until its account's last job is
  // settled: the accounts that took longest last time go first (with no times, the largest), so that
  // none starts when the short ones are done. Equal estimates keep the listing order.
  const order = longestFirst([...selectedByAccount].map(([accountId, selected]) => [accountId, selected.length] as const), previous.accountTimes);
  for (const accountId of order) {
    const selected = selectedByAccount.get(accountId)!;
    const sizes = batchSizes(selected.length, batchSize);
    const descriptors: BatchDescriptor[] = [];
    const contents = fillBatches(sizes, longJobsFirst(selected, previous.jobs.get(accountId)));
    for (const [i, size] of sizes.entries()) {
      const batchId = `b${String(++counter).padStart(5, '0')}`;
      const key = keys.batch(run.runId, batchId);
      const file: BatchFile = { batchId, accountId, peers: sizes.length, entities: contents[i], ...shareOf(previous.callRates.get(accountId), sizes.length) };
      await putWorkJson(deps.store, key, file);
      descriptors.push({ batchId, accountId, key, size, peers: sizes.length });
    }
    perAccount.push(descriptors);
  }
  const interleaved: BatchDescriptor[] = [];
  for (let i = 0; perAccount.some((list) => i < list.length); i++) {
    for (const list of perAccount) if (i < list.length) interleaved.push(list[i]);
  }
  return interleaved;
}

/** A batch's share of its account's rates of the last run, to start from: none when that run found none. */
function shareOf(rates: CallRates | undefined, peers: number): { learned?: CallRates } {
  if (!rates || Object.keys(rates).length === 0) return {};
  return { learned: Object.fromEntries(Object.entries(rates).map(([kind, rate]) => [kind, rate / peers])) };
}

/**
 * An account's batches: the entities whose jobs were long last time at the heads of its batches, dealt
 * one to each in turn (batches run side by side, so each starts its long jobs at once), then the others
 * in their listing order, each batch filled to its size before the next.
 */
export function fillBatches(sizes: readonly number[], { long, rest }: { long: readonly EntityRef[]; rest: readonly EntityRef[] }): EntityRef[][] {
  const batches: EntityRef[][] = sizes.map(() => []);
  long.forEach((entity, i) => batches[i % sizes.length].push(entity));
  let b = 0;
  for (const entity of rest) {
    while (batches[b].length >= sizes[b]) b++;
    batches[b].push(entity);
  }
  return batches;
}

/** The IAM calls Plan made in every account. */
export function planIamCalls(record: PlanRecord): IamCallCounts {
  const total = noIamCalls();
  for (const account of record.accounts) addIamCalls(total, account.iamCalls);
  return total;
}

/**
 * Batch sizes for `total` entities of one account: as few batches as keep each within `batchSize`, all
 * of one size, so that batches sharing the account's ceiling finish together.
 */
export function batchSizes(total: number, batchSize: number): number[] {
  if (total === 0) return [];
  const count = Math.ceil(total / batchSize);
  return Array.from({ length: count }, (_, i) => Math.floor(total / count) + (i < total % count ? 1 : 0));
}

/**
 * The run id of an execution name: the name itself when it holds only letters, digits, `_` and `-`;
 * otherwise every other character is written as `.` and its UTF-8 bytes in hex, so two names never
 * share a run id (`run+1` is `run.2b1`, `run=1` is `run.3d1`) and the id is safe in S3 keys and file names.
 */
export function runIdOf(executionName: unknown): string {
  if (typeof executionName !== 'string' || executionName.length === 0) {
    throw new InvalidInput('execution.name is missing: Plan must be given $$.Execution.Name');
  }
  let id = '';
  for (const ch of executionName) {
    id += /[A-Za-z0-9_-]/.test(ch) ? ch : [...Buffer.from(ch, 'utf8')].map((b) => `.${b.toString(16).padStart(2, '0')}`).join('');
  }
  return id;
}

/** Run ids as `runIdOf` makes them. */
export const RUN_ID_PATTERN = /^(?:[A-Za-z0-9_-]|\.[0-9a-f]{2}){1,1000}$/;

function runDateOf(startTime: unknown): string {
  const time = typeof startTime === 'string' ? Date.parse(startTime) : NaN;
  if (Number.isNaN(time)) throw new InvalidInput('execution.startTime is missing: Plan must be given $$.Execution.StartTime');
  return new Date(time).toISOString().slice(0, 10);
}

const MAX_ITEMS = 1000;

/** Accounts one listing invocation lists at once. */
const ACCOUNTS_LISTED_AT_ONCE = 10;

/**
 * Accounts one listing invocation takes. At most a few minutes of work in AWS for accounts of 1,000
 * identities, far from Lambda's 15; an organization of up to this many accounts is listed by one
 * invocation, as before groups.
 */
export const ACCOUNTS_PER_LISTING = 20;

async function listAllEntities(iam: IamSender, caller: IamCaller, types: readonly EntityType[]): Promise<EntityRef[]> {
  const listed: EntityRef[] = [];
  for (const type of types) listed.push(...(await listEntities(iam, caller, type)));
  return listed;
}

async function listEntities(iam: IamSender, caller: IamCaller, type: EntityType): Promise<EntityRef[]> {
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

/** The entity type an ARN of the execution input names. */
export function typeOfArn(arn: string): EntityType {
  return ENTITY_ARN.exec(arn)![1] as EntityType;
}
