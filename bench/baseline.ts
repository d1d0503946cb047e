/**
 * The baseline a user would write by hand, replayed in-process: list the account with the AWS CLI's
 * default page size, then for each identity run `generate-service-last-accessed-details` and poll
 * `get-service-last-accessed-details` every second until the job is no longer IN_PROGRESS, as the AWS
 * CLI documentation shows. Throttling is retried as the AWS CLI does by default (legacy mode: 5
 * attempts, random exponential backoff). Time is the clock's: each sleep and each call's overhead.
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
import type { Clock } from '../lambda/core/clock';
import { isThrottling } from '../lambda/core/iam-calls';
import { noIamCalls, type IamCallCounts } from '../lambda/core/model';

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

export async function cliLoopBaseline(endpoint: string, clock: Clock, options: BaselineOptions = {}): Promise<BaselineResult> {
  const iam = new IAMClient({ endpoint, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'AKIDBASELINE00000001', secretAccessKey: 'x' } });
  const random = options.random ?? Math.random;
  const calls: IamCallCounts = noIamCalls();
  const start = clock.now();

  const cli = async <T>(kind: keyof Omit<IamCallCounts, 'throttled'>, send: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      await clock.sleep(options.callOverheadMs ?? 0);
      calls[kind]++;
      try {
        return await send();
      } catch (err) {
        if (!isThrottling(err) || attempt + 1 >= CLI_MAX_ATTEMPTS) throw err;
        calls.throttled++;
        await clock.sleep(random() * 2 ** attempt * 1000);
      }
    }
  };
  const list = async (fetch: (marker?: string) => Promise<{ arns: string[]; truncated?: boolean; marker?: string }>): Promise<string[]> => {
    const arns: string[] = [];
    let marker: string | undefined;
    do {
      const page = await cli('list', () => fetch(marker));
      arns.push(...page.arns);
      marker = page.truncated ? page.marker : undefined;
    } while (marker);
    return arns;
  };

  try {
    const listed = [
      ...(await list(async (Marker) => { const a = await iam.send(new ListUsersCommand({ Marker })); return { arns: a.Users!.map((e) => e.Arn!), truncated: a.IsTruncated, marker: a.Marker }; })),
      ...(await list(async (Marker) => { const a = await iam.send(new ListGroupsCommand({ Marker })); return { arns: a.Groups!.map((e) => e.Arn!), truncated: a.IsTruncated, marker: a.Marker }; })),
      ...(await list(async (Marker) => { const a = await iam.send(new ListRolesCommand({ Marker })); return { arns: a.Roles!.map((e) => e.Arn!), truncated: a.IsTruncated, marker: a.Marker }; })),
      ...(await list(async (Marker) => { const a = await iam.send(new ListPoliciesCommand({ Scope: 'Local', Marker })); return { arns: a.Policies!.map((e) => e.Arn!), truncated: a.IsTruncated, marker: a.Marker }; })),
    ];
    const arns = options.arns ?? listed;
    for (const arn of arns) {
      let jobId: string;
      try {
        jobId = (await cli('generate', () => iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: arn })))).JobId!;
      } catch {
        continue; // the shell loop prints the error and goes on
      }
      for (;;) {
        const answer = await cli('get', () => iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: jobId })));
        if (answer.JobStatus !== 'IN_PROGRESS') break;
        await clock.sleep(options.pollIntervalMs ?? 1000);
      }
    }
    return { simulatedSeconds: (clock.now() - start) / 1000, iamCalls: calls, audited: arns.length };
  } finally {
    iam.destroy();
  }
}
