/**
 * The peer approaches the benchmark measures the pipeline against, replayed in-process on a VirtualClock
 * (time moves only while every worker sleeps; HTTP round trips cost nothing, which only flatters them):
 *
 * - `sequentialCli`: the loop a user writes by hand. List the account with the AWS CLI's default page
 *   size, then for each identity `generate-service-last-accessed-details` and poll
 *   `get-service-last-accessed-details` every second until the job is no longer IN_PROGRESS, as the AWS
 *   CLI documentation shows. Throttling is retried as the AWS CLI does by default (legacy mode: 5
 *   attempts, random exponential backoff). `npm run bench:check-baseline` confirms it replays the real loop.
 * - `workerPool5`: how Aardvark and AirIAM work. Five workers take identities from one queue; each
 *   generates a job, polls it every second, reads every page, and backs off (exponential, jittered,
 *   without giving up) whenever IAM throttles.
 * - `custodian`: Cloud Custodian's `usage` filter (ServiceUsage in c7n/resources/iam.py), one policy per
 *   identity type: list the type, generate every identity's job one after another, then look at each job
 *   still running, one after another, and sleep `poll-delay` (2 s) after every round, until none is left.
 *   It generates at whatever rate IAM admits, so of the peers it is the strongest. For an organization,
 *   c7n-org runs the accounts side by side, each through a role it assumes there.
 */
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import {
  GenerateServiceLastAccessedDetailsCommand,
  GetServiceLastAccessedDetailsCommand,
  IAMClient,
  ListGroupsCommand,
  ListPoliciesCommand,
  ListRolesCommand,
  ListUsersCommand,
} from '@aws-sdk/client-iam';
import { isThrottling } from '../lambda/core/iam-calls';
import { noIamCalls, type IamCallCounts } from '../lambda/core/model';
import type { VirtualClock } from '../local/emulator';

export interface BaselineOptions {
  /** Time each CLI call costs beyond IAM's answer (the CLI's process start). @default 0: generous to the baseline */
  readonly callOverheadMs?: number;
  /** Pause between two polls of one job, as in the documented loop. @default 1000 */
  readonly pollIntervalMs?: number;
  /** Identities to audit, in order; when absent, every listed identity. */
  readonly arns?: readonly string[];
  readonly random?: () => number;
}

export interface BaselineResult {
  readonly simulatedSeconds: number;
  readonly iamCalls: IamCallCounts;
  readonly audited: number;
}

/** botocore's legacy retry mode, the AWS CLI v1's and boto3's default: 5 attempts in all. */
const LEGACY_MAX_ATTEMPTS = 5;
/** Cloud Custodian's own retry of a call botocore gave up on (c7n.utils.get_retry): 8 attempts. */
const C7N_MAX_ATTEMPTS = 8;
/** Custodian's `poll-delay`: the sleep after each round of looks at the jobs still running. */
const C7N_POLL_DELAY_MS = 2000;

type CallKind = 'list' | 'generate' | 'get';

/** A session's keys to call with; a static key of the emulator's hub is given by its id alone (any secret will do). */
type Keys = { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };

/** An IAM client whose every request holds the virtual clock still, counting calls and throttles. */
function trackedIam(endpoint: string, clock: VirtualClock, keys: string | Keys, calls: IamCallCounts) {
  const credentials = typeof keys === 'string' ? { accessKeyId: keys, secretAccessKey: 'x' } : keys;
  const iam = new IAMClient({ endpoint, region: 'us-east-1', maxAttempts: 1, credentials });
  const send = async <T>(kind: CallKind, command: unknown): Promise<T> => {
    calls[kind]++;
    try {
      return await clock.track(() => iam.send(command as never) as Promise<T>);
    } catch (err) {
      if (isThrottling(err)) calls.throttled++;
      throw err;
    }
  };
  return { send, destroy: () => iam.destroy() };
}

type Send = <T>(kind: CallKind, command: unknown) => Promise<T>;
type Page = (marker?: string) => Promise<{ arns: string[]; marker?: string }>;
const IDENTITY_TYPES = ['user', 'group', 'role', 'policy'] as const;
type IdentityType = (typeof IDENTITY_TYPES)[number];

/** Each identity type's list call, one page at a time, as the CLI and boto3's paginators list (default page size). */
function listPages(send: Send): Record<IdentityType, Page> {
  return {
    user: async (Marker) => send<{ Users: Array<{ Arn: string }>; IsTruncated?: boolean; Marker?: string }>('list', new ListUsersCommand({ Marker })).then((a) => ({ arns: a.Users.map((e) => e.Arn), marker: a.IsTruncated ? a.Marker : undefined })),
    group: async (Marker) => send<{ Groups: Array<{ Arn: string }>; IsTruncated?: boolean; Marker?: string }>('list', new ListGroupsCommand({ Marker })).then((a) => ({ arns: a.Groups.map((e) => e.Arn), marker: a.IsTruncated ? a.Marker : undefined })),
    role: async (Marker) => send<{ Roles: Array<{ Arn: string }>; IsTruncated?: boolean; Marker?: string }>('list', new ListRolesCommand({ Marker })).then((a) => ({ arns: a.Roles.map((e) => e.Arn), marker: a.IsTruncated ? a.Marker : undefined })),
    policy: async (Marker) =>
      send<{ Policies: Array<{ Arn: string }>; IsTruncated?: boolean; Marker?: string }>('list', new ListPoliciesCommand({ Scope: 'Local', Marker })).then((a) => ({ arns: a.Policies.map((e) => e.Arn), marker: a.IsTruncated ? a.Marker : undefined })),
  };
}

/** Every ARN of one identity type, page after page. */
async function listType(send: Send, type: IdentityType): Promise<string[]> {
  const page = listPages(send)[type];
  const arns: string[] = [];
  let marker: string | undefined;
  do {
    const answer = await page(marker);
    arns.push(...answer.arns);
    marker = answer.marker;
  } while (marker);
  return arns;
}

/** The identities of the account, every type listed in turn. */
async function listAccount(send: Send): Promise<string[]> {
  const arns: string[] = [];
  for (const type of IDENTITY_TYPES) arns.push(...(await listType(send, type)));
  return arns;
}

/**
 * `send` retried on Throttling as botocore's legacy mode does: up to 5 attempts, the n-th retry after a
 * random wait of up to 2^(n-1) s. `overheadMs` is spent before every attempt (a CLI process's start).
 */
function legacyRetries(send: Send, clock: VirtualClock, random: () => number, overheadMs = 0): Send {
  return async <T>(kind: CallKind, command: unknown): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      await clock.sleep(overheadMs);
      try {
        return await send<T>(kind, command);
      } catch (err) {
        if (!isThrottling(err) || attempt + 1 >= LEGACY_MAX_ATTEMPTS) throw err;
        await clock.sleep(random() * 2 ** attempt * 1000);
      }
    }
  };
}

export async function cliLoopBaseline(endpoint: string, clock: VirtualClock, options: BaselineOptions = {}): Promise<BaselineResult> {
  const calls = noIamCalls();
  const iam = trackedIam(endpoint, clock, 'AKIDBASELINE00000001', calls);
  const random = options.random ?? Math.random;
  const start = clock.now();
  const cli = legacyRetries(iam.send, clock, random, options.callOverheadMs ?? 0);
  try {
    const listed = await listAccount(cli);
    const arns = options.arns ?? listed;
    for (const arn of arns) {
      let jobId: string;
      try {
        jobId = (await cli<{ JobId: string }>('generate', new GenerateServiceLastAccessedDetailsCommand({ Arn: arn }))).JobId;
      } catch {
        continue; // the shell loop prints the error and goes on
      }
      for (;;) {
        const answer = await cli<{ JobStatus: string }>('get', new GetServiceLastAccessedDetailsCommand({ JobId: jobId }));
        if (answer.JobStatus !== 'IN_PROGRESS') break;
        await clock.sleep(options.pollIntervalMs ?? 1000);
      }
    }
    return { simulatedSeconds: (clock.now() - start) / 1000, iamCalls: calls, audited: arns.length };
  } finally {
    iam.destroy();
  }
}

export async function workerPoolBaseline(endpoint: string, clock: VirtualClock, workers: number, options: BaselineOptions = {}): Promise<BaselineResult> {
  const calls = noIamCalls();
  const iam = trackedIam(endpoint, clock, 'AKIDWORKERPOOL000001', calls);
  const random = options.random ?? Math.random;
  const start = clock.now();
  // Retried until it goes through: throttling never loses an identity for this baseline.
  const withBackoff = async <T>(kind: CallKind, command: unknown): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await iam.send<T>(kind, command);
      } catch (err) {
        if (!isThrottling(err)) throw err;
        await clock.sleep(random() * Math.min(20_000, 2 ** attempt * 500));
      }
    }
  };
  try {
    const queue = [...(options.arns ?? (await listAccount(withBackoff)))];
    let audited = 0;
    const worker = async (): Promise<void> => {
      for (let arn = queue.shift(); arn !== undefined; arn = queue.shift()) {
        let jobId: string;
        try {
          jobId = (await withBackoff<{ JobId: string }>('generate', new GenerateServiceLastAccessedDetailsCommand({ Arn: arn }))).JobId;
        } catch {
          continue;
        }
        let marker: string | undefined;
        for (;;) {
          const answer = await withBackoff<{ JobStatus: string; IsTruncated?: boolean; Marker?: string }>('get', new GetServiceLastAccessedDetailsCommand({ JobId: jobId, Marker: marker }));
          if (answer.JobStatus === 'IN_PROGRESS') {
            await clock.sleep(options.pollIntervalMs ?? 1000);
            continue;
          }
          if (answer.JobStatus === 'COMPLETED' && answer.IsTruncated) {
            marker = answer.Marker;
            continue;
          }
          break;
        }
        audited++;
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
    return { simulatedSeconds: (clock.now() - start) / 1000, iamCalls: calls, audited };
  } finally {
    iam.destroy();
  }
}

/** One account for `custodianBaseline`: the identities to audit, and the keys c7n-org works with there. */
export interface CustodianAccount {
  readonly arns: readonly string[];
  /** A static key of the emulator's hub (a lone account's own), or the member role to assume from it. */
  readonly enter: { readonly accessKeyId: string } | { readonly roleArn: string };
}

/**
 * Cloud Custodian's `usage` filter on every account at once, as c7n-org runs accounts side by side (its
 * default is four workers per CPU; this gives it one per account, which only helps it). In each account
 * one policy per identity type runs after another: it lists the type, generates every identity's job one
 * after another, then looks at each job still running, one after another, sleeping 2 s after every round,
 * until none is left. A call IAM throttles is retried by botocore (legacy mode: boto3's default, which
 * Custodian's sessions keep, as they set no retry configuration), and then by Custodian's
 * own retry (8 attempts, 1 s doubling, less up to a fifth at random). Where the replay differs, it
 * flatters Custodian: a FAILED job leaves the loop (Custodian's looks at it again for ever, since only a
 * COMPLETED job leaves its map), the calls with which Custodian describes each identity (its tags) are
 * not made, and no time passes between calls. As Custodian does, it reads only a result's first page.
 */
export async function custodianBaseline(endpoint: string, clock: VirtualClock, accounts: readonly CustodianAccount[], options: Pick<BaselineOptions, 'random'> = {}): Promise<BaselineResult> {
  const calls = noIamCalls();
  const random = options.random ?? Math.random;
  const start = clock.now();
  let audited = 0;
  const sts = new STSClient({ endpoint, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'AKIDCUSTODIAN0000001', secretAccessKey: 'x' } });
  const account = async ({ arns, enter }: CustodianAccount): Promise<void> => {
    const keys: string | Keys =
      'roleArn' in enter
        ? await clock.track(async () => {
            const { Credentials: c } = await sts.send(new AssumeRoleCommand({ RoleArn: enter.roleArn, RoleSessionName: 'c7n-org' }));
            return { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken };
          })
        : enter.accessKeyId;
    const iam = trackedIam(endpoint, clock, keys, calls);
    const botocore = legacyRetries(iam.send, clock, random);
    const retry = async <T>(kind: CallKind, command: unknown): Promise<T> => {
      for (let attempt = 0, delay = 1000; ; attempt++, delay *= 2) {
        try {
          return await botocore<T>(kind, command);
        } catch (err) {
          if (!isThrottling(err) || attempt + 1 >= C7N_MAX_ATTEMPTS) throw err;
          await clock.sleep(delay - (delay * random()) / 5);
        }
      }
    };
    const wanted = new Set(arns);
    try {
      for (const type of IDENTITY_TYPES) {
        const jobs: string[] = [];
        for (const arn of (await listType(retry, type)).filter((a) => wanted.has(a))) {
          try {
            jobs.push((await retry<{ JobId: string }>('generate', new GenerateServiceLastAccessedDetailsCommand({ Arn: arn }))).JobId);
          } catch {
            continue; // NoSuchEntity: deleted since the listing; a call throttled past every retry is let go too
          }
        }
        let running = jobs;
        while (running.length > 0) {
          const still: string[] = [];
          for (const jobId of running) {
            const answer = await retry<{ JobStatus: string }>('get', new GetServiceLastAccessedDetailsCommand({ JobId: jobId }));
            if (answer.JobStatus === 'IN_PROGRESS') still.push(jobId);
            else audited++;
          }
          running = still;
          await clock.sleep(C7N_POLL_DELAY_MS);
        }
      }
    } finally {
      iam.destroy();
    }
  };
  try {
    await Promise.all(accounts.map(account));
    return { simulatedSeconds: (clock.now() - start) / 1000, iamCalls: calls, audited };
  } finally {
    sts.destroy();
  }
}
