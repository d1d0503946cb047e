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
 */
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

const CLI_MAX_ATTEMPTS = 5;

type CallKind = 'list' | 'generate' | 'get';

/** An IAM client whose every request holds the virtual clock still, counting calls and throttles. */
function trackedIam(endpoint: string, clock: VirtualClock, accessKeyId: string, calls: IamCallCounts) {
  const iam = new IAMClient({ endpoint, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId, secretAccessKey: 'x' } });
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

/** The identities of the account, listed as the CLI lists them (default page size). */
async function listAccount(send: <T>(kind: CallKind, command: unknown) => Promise<T>): Promise<string[]> {
  const arns: string[] = [];
  const pages: Array<(marker?: string) => Promise<{ arns: string[]; marker?: string }>> = [
    async (Marker) => send<{ Users: Array<{ Arn: string }>; IsTruncated?: boolean; Marker?: string }>('list', new ListUsersCommand({ Marker })).then((a) => ({ arns: a.Users.map((e) => e.Arn), marker: a.IsTruncated ? a.Marker : undefined })),
    async (Marker) => send<{ Groups: Array<{ Arn: string }>; IsTruncated?: boolean; Marker?: string }>('list', new ListGroupsCommand({ Marker })).then((a) => ({ arns: a.Groups.map((e) => e.Arn), marker: a.IsTruncated ? a.Marker : undefined })),
    async (Marker) => send<{ Roles: Array<{ Arn: string }>; IsTruncated?: boolean; Marker?: string }>('list', new ListRolesCommand({ Marker })).then((a) => ({ arns: a.Roles.map((e) => e.Arn), marker: a.IsTruncated ? a.Marker : undefined })),
    async (Marker) =>
      send<{ Policies: Array<{ Arn: string }>; IsTruncated?: boolean; Marker?: string }>('list', new ListPoliciesCommand({ Scope: 'Local', Marker })).then((a) => ({ arns: a.Policies.map((e) => e.Arn), marker: a.IsTruncated ? a.Marker : undefined })),
  ];
  for (const page of pages) {
    let marker: string | undefined;
    do {
      const answer = await page(marker);
      arns.push(...answer.arns);
      marker = answer.marker;
    } while (marker);
  }
  return arns;
}

export async function cliLoopBaseline(endpoint: string, clock: VirtualClock, options: BaselineOptions = {}): Promise<BaselineResult> {
  const calls = noIamCalls();
  const iam = trackedIam(endpoint, clock, 'AKIDBASELINE00000001', calls);
  const random = options.random ?? Math.random;
  const start = clock.now();
  const cli = async <T>(kind: CallKind, command: unknown): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      await clock.sleep(options.callOverheadMs ?? 0);
      try {
        return await iam.send<T>(kind, command);
      } catch (err) {
        if (!isThrottling(err) || attempt + 1 >= CLI_MAX_ATTEMPTS) throw err;
        await clock.sleep(random() * 2 ** attempt * 1000);
      }
    }
  };
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
