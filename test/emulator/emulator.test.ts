import {
  GenerateServiceLastAccessedDetailsCommand,
  GetAccountAuthorizationDetailsCommand,
  GetServiceLastAccessedDetailsCommand,
  GetServiceLastAccessedDetailsWithEntitiesCommand,
  IAMServiceException,
  ListGroupsCommand,
  ListPoliciesCommand,
  ListPoliciesGrantingServiceAccessCommand,
  ListRolesCommand,
  ListUsersCommand,
  paginateListUsers,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { VirtualClock, type EmulatorStats, type RunningEmulator } from '../../local/emulator';
import { iamClient, startEdgeEmulator } from '../helpers/iam';

const ACCOUNT = 'arn:aws:iam::111122223333:';
const DEPLOYER = `${ACCOUNT}role/app-deployer`;

async function failure(promise: Promise<unknown>): Promise<IAMServiceException> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof IAMServiceException) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('IAM emulator through @aws-sdk/client-iam', () => {
  let emulator: RunningEmulator;
  let iam: IAMClient;

  beforeAll(async () => {
    // 3 simulated seconds of job latency pass in 3 ms of real time.
    emulator = await startEdgeEmulator({ timeScale: 1000, jobLatencyMs: 3000 });
    iam = iamClient(emulator.url);
  });
  afterAll(async () => {
    iam.destroy();
    await emulator.close();
  });

  async function completedJob(arn: string, granularity?: 'SERVICE_LEVEL' | 'ACTION_LEVEL', client = iam): Promise<string> {
    const { JobId } = await client.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: arn, Granularity: granularity }));
    await emulator.clock.sleep(3500);
    return JobId!;
  }

  describe('listing', () => {
    it('pages users with MaxItems and Marker until IsTruncated is false', async () => {
      const first = await iam.send(new ListUsersCommand({ MaxItems: 2 }));
      expect(first.Users!.map((u) => u.UserName)).toEqual(['alice', 'jane.doe@example.com']);
      expect(first.IsTruncated).toBe(true);
      const second = await iam.send(new ListUsersCommand({ MaxItems: 2, Marker: first.Marker }));
      expect(second.Users!.map((u) => u.UserName)).toEqual(['ops+oncall=1,x-y_z', 'deleted-user']);
      expect(second.IsTruncated).toBe(false);
      expect(second.Marker).toBeUndefined();
      expect(second.Users![0]).toMatchObject({ Path: '/', Arn: `${ACCOUNT}user/ops+oncall=1,x-y_z` });
      expect(second.Users![0].UserId).toMatch(/^AIDA[A-Z2-7]{17}$/);
      expect(first.Users![0].CreateDate).toEqual(new Date('2023-03-01T10:00:00Z'));
    });

    it('works with the SDK paginator and PathPrefix', async () => {
      const names: string[] = [];
      for await (const page of paginateListUsers({ client: iam, pageSize: 1 }, {})) names.push(...page.Users!.map((u) => u.UserName!));
      expect(names).toHaveLength(4);
      const engineering = await iam.send(new ListUsersCommand({ PathPrefix: '/engineering/' }));
      expect(engineering.Users!.map((u) => u.UserName)).toEqual(['jane.doe@example.com']);
    });

    it('lists groups, roles with their trust policy, and customer managed policies by scope', async () => {
      const groups = await iam.send(new ListGroupsCommand({}));
      expect(groups.Groups!.map((g) => g.GroupName)).toEqual(['Developers', 'Empty.Group']);
      expect(groups.Groups![0].GroupId).toBe('AGPAEXAMPLEDEVS00001');
      const roles = await iam.send(new ListRolesCommand({ PathPrefix: '/aws-service-role/' }));
      expect(roles.Roles!.map((r) => r.RoleName)).toEqual(['AWSServiceRoleForSupport']);
      expect(JSON.parse(decodeURIComponent(roles.Roles![0].AssumeRolePolicyDocument!)).Statement[0].Principal.Service).toBe('support.amazonaws.com');
      const local = await iam.send(new ListPoliciesCommand({ Scope: 'Local' }));
      expect(local.Policies!.map((p) => p.PolicyName)).toEqual(['s3-read-access', 'ci-deploy-policy']);
      const attached = await iam.send(new ListPoliciesCommand({ Scope: 'Local', OnlyAttached: true }));
      expect(attached.Policies!.map((p) => p.PolicyName)).toEqual(['ci-deploy-policy']);
      const aws = await iam.send(new ListPoliciesCommand({ Scope: 'AWS' }));
      expect(aws.Policies).toEqual([]);
      const bad = await failure(iam.send(new ListPoliciesCommand({ Scope: 'Everything' as never })));
      expect(bad.name).toBe('InvalidInputException');
    });

    it('answers GetAccountAuthorizationDetails with its Filter, paged across types', async () => {
      const all = await iam.send(new GetAccountAuthorizationDetailsCommand({}));
      expect(all.UserDetailList).toHaveLength(4);
      expect(all.GroupDetailList).toHaveLength(2);
      expect(all.RoleDetailList).toHaveLength(5);
      expect(all.Policies).toHaveLength(2);
      const policyDoc = JSON.parse(decodeURIComponent(all.Policies![1].PolicyVersionList![0].Document!));
      expect(policyDoc.Statement[0].Action).toEqual(['lambda:*', 'iam:*']);
      const filtered = await iam.send(new GetAccountAuthorizationDetailsCommand({ Filter: ['Role', 'LocalManagedPolicy'], MaxItems: 4 }));
      expect(filtered.UserDetailList).toEqual([]);
      expect(filtered.RoleDetailList).toHaveLength(4);
      expect(filtered.IsTruncated).toBe(true);
      const rest = await iam.send(new GetAccountAuthorizationDetailsCommand({ Filter: ['Role', 'LocalManagedPolicy'], MaxItems: 4, Marker: filtered.Marker }));
      expect(rest.RoleDetailList).toHaveLength(1);
      expect(rest.Policies).toHaveLength(2);
      expect(rest.IsTruncated).toBe(false);
      const bad = await failure(iam.send(new GetAccountAuthorizationDetailsCommand({ Filter: ['Robot' as never] })));
      expect(bad.name).toBe('InvalidInputException');
    });

    it('rejects MaxItems out of range and markers it did not issue', async () => {
      expect((await failure(iam.send(new ListRolesCommand({ MaxItems: 1001 })))).name).toBe('InvalidInputException');
      expect((await failure(iam.send(new ListRolesCommand({ Marker: 'not-a-marker' })))).name).toBe('InvalidInputException');
      const users = await iam.send(new ListUsersCommand({ MaxItems: 1 }));
      expect((await failure(iam.send(new ListRolesCommand({ Marker: users.Marker })))).name).toBe('InvalidInputException');
    });
  });

  describe('service last accessed jobs', () => {
    it('pages a 130-service report as 100 + 30 and keeps null fields out', async () => {
      const jobId = await completedJob(DEPLOYER);
      const first = await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: jobId }));
      expect(first).toMatchObject({ JobStatus: 'COMPLETED', JobType: 'SERVICE_LEVEL', IsTruncated: true });
      expect(first.ServicesLastAccessed).toHaveLength(100);
      expect(first.JobCompletionDate!.getTime()).toBeGreaterThanOrEqual(first.JobCreationDate!.getTime() + 3000);
      const second = await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: jobId, Marker: first.Marker }));
      expect(second.ServicesLastAccessed).toHaveLength(30);
      expect(second.IsTruncated).toBe(false);
      const all = [...first.ServicesLastAccessed!, ...second.ServicesLastAccessed!];
      expect(new Set(all.map((s) => s.ServiceNamespace)).size).toBe(130);
      const used = all.filter((s) => s.LastAuthenticated);
      expect(used).toHaveLength(65);
      expect(used[0]).toMatchObject({ LastAuthenticatedRegion: 'us-east-1', LastAuthenticatedEntity: DEPLOYER, TotalAuthenticatedEntities: 1 });
      const unused = all.find((s) => !s.LastAuthenticated)!;
      expect(unused.LastAuthenticatedEntity).toBeUndefined();
      expect(unused.TotalAuthenticatedEntities).toBe(0);
      expect(all.every((s) => s.TrackedActionsLastAccessed === undefined)).toBe(true);
      const big = await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: jobId, MaxItems: 1000 }));
      expect(big.ServicesLastAccessed).toHaveLength(130);
      expect(big.IsTruncated).toBe(false);
    });

    it('adds tracked actions at ACTION_LEVEL', async () => {
      const jobId = await completedJob(`${ACCOUNT}user/alice`, 'ACTION_LEVEL');
      const report = await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: jobId }));
      expect(report.JobType).toBe('ACTION_LEVEL');
      const s3 = report.ServicesLastAccessed!.find((s) => s.ServiceNamespace === 's3')!;
      expect(s3.TrackedActionsLastAccessed).toEqual([
        { ActionName: 'CreateBucket', LastAccessedTime: new Date('2026-11-20T09:15:00Z'), LastAccessedRegion: 'eu-west-1', LastAccessedEntity: `${ACCOUNT}user/alice` },
        { ActionName: 'PutBucketPolicy', LastAccessedTime: new Date('2025-12-01T00:00:00Z'), LastAccessedRegion: 'us-east-1', LastAccessedEntity: `${ACCOUNT}user/alice` },
      ]);
      // An untracked-but-listed action never used (DeleteBucket) is left out, as IAM leaves it out; and a
      // service with no used tracked action has no TrackedActionsLastAccessed at all.
      const ec2 = report.ServicesLastAccessed!.find((s) => s.ServiceNamespace === 'ec2')!;
      expect(ec2.TrackedActionsLastAccessed).toBeUndefined();
      const sts = report.ServicesLastAccessed!.find((s) => s.ServiceNamespace === 'sts')!;
      expect(sts.TrackedActionsLastAccessed).toBeUndefined();
    });

    it('reports IN_PROGRESS until the latency has passed', async () => {
      // Real time here: the job cannot complete between two calls.
      const realTime = await startEdgeEmulator({ jobLatencyMs: 60_000 });
      const client = iamClient(realTime.url);
      try {
        const { JobId } = await client.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: `${ACCOUNT}user/alice` }));
        expect(JobId).toHaveLength(36);
        const early = await client.send(new GetServiceLastAccessedDetailsCommand({ JobId }));
        expect(early.JobStatus).toBe('IN_PROGRESS');
        expect(early.ServicesLastAccessed).toEqual([]);
        expect(early.JobCompletionDate).toBeUndefined();
      } finally {
        client.destroy();
        await realTime.close();
      }
    });

    it('ends a job-fails entity FAILED with an error', async () => {
      const jobId = await completedJob(`${ACCOUNT}role/batch/failing-role`);
      const report = await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: jobId }));
      expect(report.JobStatus).toBe('FAILED');
      expect(report.ServicesLastAccessed).toEqual([]);
      expect(report.Error).toEqual({ Code: 'ServiceFailure', Message: expect.stringContaining('failing-role') });
    });

    it('keeps a slow-job entity IN_PROGRESS long after others complete', async () => {
      const jobId = await completedJob(`${ACCOUNT}role/slow-role`);
      const report = await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: jobId }));
      expect(report.JobStatus).toBe('IN_PROGRESS');
    });

    it('answers NoSuchEntity for a listed entity deleted before generate, and for unknown ARNs', async () => {
      const listed = await iam.send(new ListUsersCommand({}));
      expect(listed.Users!.map((u) => u.UserName)).toContain('deleted-user');
      const deleted = await failure(iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: `${ACCOUNT}user/deleted-user` })));
      expect(deleted.name).toBe('NoSuchEntityException');
      expect(deleted.$metadata.httpStatusCode).toBe(404);
      expect(deleted.message).toBe('The user with name deleted-user cannot be found.');
      const unknown = await failure(iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: `${ACCOUNT}role/nobody` })));
      expect(unknown.name).toBe('NoSuchEntityException');
      const path = await failure(iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: `${ACCOUNT}role/failing-role` })));
      expect(path.name).toBe('NoSuchEntityException');
    });

    it('rejects a bad granularity and a malformed ARN with InvalidInput', async () => {
      const granularity = await failure(iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: DEPLOYER, Granularity: 'RESOURCE_LEVEL' as never })));
      expect(granularity.name).toBe('InvalidInputException');
      expect(granularity.$metadata.httpStatusCode).toBe(400);
      expect(granularity.message).toContain('Granularity');
      const arn = await failure(iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: 'arn:aws:s3:::bucket' })));
      expect(arn.name).toBe('InvalidInputException');
    });

    it('binds a JobId to the credentials that generated it', async () => {
      const jobId = await completedJob(DEPLOYER);
      const other = iamClient(emulator.url, 'ASIAOTHERSESSION0001');
      try {
        const denied = await failure(other.send(new GetServiceLastAccessedDetailsCommand({ JobId: jobId })));
        expect(denied.name).toBe('NoSuchEntityException');
        const unknown = await failure(other.send(new GetServiceLastAccessedDetailsCommand({ JobId: '00000000-0000-0000-0000-000000000000' })));
        expect(unknown.message).toBe(denied.message.replace(jobId, '00000000-0000-0000-0000-000000000000'));
      } finally {
        other.destroy();
      }
      const owner = await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: jobId }));
      expect(owner.JobStatus).toBe('COMPLETED');
      const malformed = await failure(iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: 'short' })));
      expect(malformed.name).toBe('ValidationError');
    });

    it('answers GetServiceLastAccessedDetailsWithEntities for roles, groups and policies', async () => {
      const roleJob = await completedJob(`${ACCOUNT}role/lambda-action-role`);
      const role = await iam.send(new GetServiceLastAccessedDetailsWithEntitiesCommand({ JobId: roleJob, ServiceNamespace: 'lambda' }));
      expect(role.EntityDetailsList).toEqual([
        {
          EntityInfo: { Arn: `${ACCOUNT}role/lambda-action-role`, Name: 'lambda-action-role', Type: 'ROLE', Id: expect.stringMatching(/^AROA/), Path: '/' },
          LastAuthenticated: new Date('2026-11-22T03:00:00Z'),
        },
      ]);
      const groupJob = await completedJob(`${ACCOUNT}group/Developers`);
      const group = await iam.send(new GetServiceLastAccessedDetailsWithEntitiesCommand({ JobId: groupJob, ServiceNamespace: 's3' }));
      expect(group.EntityDetailsList!.map((e) => e.EntityInfo!.Name)).toEqual(['alice']);
      const unused = await iam.send(new GetServiceLastAccessedDetailsWithEntitiesCommand({ JobId: groupJob, ServiceNamespace: 'dynamodb' }));
      expect(unused.EntityDetailsList).toEqual([]);
      const policyJob = await completedJob(`${ACCOUNT}policy/managed/s3-read-access`);
      const policy = await iam.send(new GetServiceLastAccessedDetailsWithEntitiesCommand({ JobId: policyJob, ServiceNamespace: 's3' }));
      expect(policy.EntityDetailsList!.map((e) => e.EntityInfo!.Arn)).toEqual([DEPLOYER]);
    });

    it('answers ListPoliciesGrantingServiceAccess for each namespace asked', async () => {
      const answer = await iam.send(new ListPoliciesGrantingServiceAccessCommand({ Arn: `${ACCOUNT}user/alice`, ServiceNamespaces: ['s3', 'rds'] }));
      expect(answer.PoliciesGrantingServiceAccess).toEqual([
        { ServiceNamespace: 's3', Policies: [{ PolicyName: 'alice-permissions', PolicyType: 'INLINE', EntityType: 'USER', EntityName: 'alice' }] },
        { ServiceNamespace: 'rds', Policies: [] },
      ]);
      expect(answer.IsTruncated).toBe(false);
      const policy = await failure(iam.send(new ListPoliciesGrantingServiceAccessCommand({ Arn: `${ACCOUNT}policy/ci-deploy-policy`, ServiceNamespaces: ['s3'] })));
      expect(policy.name).toBe('InvalidInputException');
    });
  });

  describe('counters', () => {
    it('counts calls and errors per operation, in code and over HTTP', async () => {
      emulator.resetStats();
      await iam.send(new ListRolesCommand({}));
      await failure(iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: `${ACCOUNT}role/nobody` })));
      const stats = emulator.stats();
      expect(stats.operations.ListRoles).toEqual({ calls: 1, throttled: 0, errors: 0 });
      expect(stats.operations.GenerateServiceLastAccessedDetails).toEqual({ calls: 1, throttled: 0, errors: 1 });
      expect(stats.totals).toEqual({ calls: 2, throttled: 0, errors: 1 });
      const http = (await (await fetch(`${emulator.url}/_emulator/stats`)).json()) as EmulatorStats;
      expect(http.operations).toEqual(stats.operations);
      expect(http.timeScale).toBe(1000);
      await (await fetch(`${emulator.url}/_emulator/stats/reset`, { method: 'POST' })).arrayBuffer();
      expect(emulator.stats().totals.calls).toBe(0);
    });
  });
});

describe('IAM emulator: the last job it finished', () => {
  it('names the job that finished last of those a Get found finished, and when it was made', async () => {
    const clock = new VirtualClock();
    const emulator = await startEdgeEmulator({ clock, jobLatencyMs: 3000, slowJobLatencyMs: 20_000 });
    const iam = iamClient(emulator.url);
    try {
      const start = clock.now();
      const generate = async (arn: string) => (await iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: arn }))).JobId!;
      const slow = await generate(`${ACCOUNT}role/slow-role`);
      const failing = await generate(`${ACCOUNT}role/batch/failing-role`);
      await clock.sleep(1000);
      const quick = await generate(DEPLOYER);
      expect(emulator.stats().lastJobFinished).toBeNull();

      await clock.sleep(5000);
      // A job still running says nothing; one that failed is finished too.
      expect((await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: slow }))).JobStatus).toBe('IN_PROGRESS');
      expect(emulator.stats().lastJobFinished).toBeNull();
      expect((await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: failing }))).JobStatus).toBe('FAILED');
      expect((await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: quick }))).JobStatus).toBe('COMPLETED');
      expect(emulator.stats().lastJobFinished).toEqual({ arn: DEPLOYER, generatedAt: new Date(start + 1000).toISOString(), finishedAt: new Date(start + 4000).toISOString() });

      await clock.sleep(30_000);
      expect((await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: slow }))).JobStatus).toBe('COMPLETED');
      // Read again later, an earlier job does not move it back.
      await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId: quick }));
      const last = emulator.stats().lastJobFinished;
      expect(last).toEqual({ arn: `${ACCOUNT}role/slow-role`, generatedAt: new Date(start).toISOString(), finishedAt: new Date(start + 20_000).toISOString() });
      const http = (await (await fetch(`${emulator.url}/_emulator/stats`)).json()) as EmulatorStats;
      expect(http.lastJobFinished).toEqual(last);
    } finally {
      iam.destroy();
      await emulator.close();
    }
  });
});

describe('IAM emulator latency', () => {
  it('answers each operation after its assumed latency on the emulator\'s clock, any other after the default', async () => {
    const emulator = await startEdgeEmulator({ timeScale: 10, requestLatencyMs: { GetAccountAuthorizationDetails: 5000, '*': 300 } });
    const iam = iamClient(emulator.url);
    const timed = async (send: () => Promise<unknown>): Promise<number> => {
      const started = emulator.clock.now();
      await send();
      return emulator.clock.now() - started;
    };
    try {
      const details = await timed(() => iam.send(new GetAccountAuthorizationDetailsCommand({})));
      const users = await timed(() => iam.send(new ListUsersCommand({})));
      expect(details).toBeGreaterThanOrEqual(5000);
      // The default, not the other operation's latency (real time adds a little at this scale, never seconds).
      expect(users).toBeGreaterThanOrEqual(300);
      expect(users).toBeLessThan(5000);
      // An error is as slow as an answer.
      const refused = await timed(() => iam.send(new ListUsersCommand({ MaxItems: 0 })).catch(() => undefined));
      expect(refused).toBeGreaterThanOrEqual(300);
    } finally {
      iam.destroy();
      await emulator.close();
    }
  });

  it('refuses a latency that is not a number of milliseconds, naming the operation, and a virtual clock', async () => {
    await expect(startEdgeEmulator({ requestLatencyMs: { ListUsers: -1 } })).rejects.toThrow('requestLatencyMs.ListUsers must be a number of milliseconds from 0, got -1');
    await expect(startEdgeEmulator({ clock: new VirtualClock(), requestLatencyMs: { '*': 10 } })).rejects.toThrow(/needs a scaled clock/);
  });
});

describe('IAM emulator throttling', () => {
  it('throttles a burst with IAM Throttling errors, which the SDK retries to success', async () => {
    // 2 calls per simulated second, burst 3; the SDK backs off in real time, so a slow clock keeps buckets tight.
    const emulator = await startEdgeEmulator({ throttle: { rps: 2, burst: 3 }, timeScale: 5 });
    const iam = iamClient(emulator.url, 'AKIDTHROTTLED0000001', 10);
    try {
      const answers = await Promise.all(Array.from({ length: 12 }, () => iam.send(new ListRolesCommand({}))));
      expect(answers.every((a) => a.Roles!.length === 5)).toBe(true);
      const stats = emulator.stats().operations.ListRoles;
      expect(stats.throttled).toBeGreaterThan(0);
      expect(stats.calls).toBe(12 + stats.throttled);
      expect(stats.errors).toBe(0);
      // Buckets are per operation: another API is unaffected by the ListRoles burst.
      await iam.send(new ListUsersCommand({}));
      expect(emulator.stats().operations.ListUsers.throttled).toBe(0);
    } finally {
      iam.destroy();
      await emulator.close();
    }
  });

  it('answers Throttling with the status and code IAM uses', async () => {
    const emulator = await startEdgeEmulator({ throttle: { rps: 0.001, burst: 1 } });
    const iam = iamClient(emulator.url, 'AKIDTHROTTLED0000002', 1);
    try {
      await iam.send(new ListRolesCommand({}));
      const throttled = await failure(iam.send(new ListRolesCommand({})));
      expect(throttled.name).toBe('Throttling');
      expect(throttled.$metadata.httpStatusCode).toBe(400);
      expect(throttled.message).toBe('Rate exceeded');
    } finally {
      iam.destroy();
      await emulator.close();
    }
  });
});

describe('IAM emulator short pages', () => {
  it('holds fewer than MaxItems on truncated pages when asked, and still returns everything', async () => {
    const emulator = await startEdgeEmulator({ shortPages: true, timeScale: 1000 });
    const iam = iamClient(emulator.url);
    try {
      const first = await iam.send(new ListRolesCommand({ MaxItems: 3 }));
      expect(first.Roles).toHaveLength(2);
      expect(first.IsTruncated).toBe(true);
      const rest = await iam.send(new ListRolesCommand({ MaxItems: 3, Marker: first.Marker }));
      expect(rest.Roles).toHaveLength(3);
      expect(rest.IsTruncated).toBe(false);
    } finally {
      iam.destroy();
      await emulator.close();
    }
  });
});
