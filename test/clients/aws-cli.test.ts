/**
 * The AWS CLI (preinstalled, v1) drives every emulated operation and parses every answer.
 */
import type { RunningEmulator } from '../../local/emulator';
import { startEdgeEmulator } from '../helpers/iam';
import { awsEnv, run } from '../helpers/processes';

const ACCOUNT = 'arn:aws:iam::111122223333:';

describe('IAM emulator through the AWS CLI', () => {
  let emulator: RunningEmulator;

  beforeAll(async () => {
    emulator = await startEdgeEmulator({ timeScale: 1000 });
  });
  afterAll(() => emulator.close());

  async function aws(args: string[], accessKeyId?: string): Promise<{ code: number | null; json: any; stderr: string }> {
    const result = await run('aws', ['iam', ...args, '--endpoint-url', emulator.url, '--output', 'json'], awsEnv(accessKeyId));
    return { code: result.code, json: result.stdout.trim() ? JSON.parse(result.stdout) : undefined, stderr: result.stderr };
  }

  it('lists every entity type, paging as the CLI does', async () => {
    const [users, firstTwo, groups, roles, policies, gaad] = await Promise.all([
      aws(['list-users', '--page-size', '1']),
      aws(['list-users', '--max-items', '2']),
      aws(['list-groups']),
      aws(['list-roles', '--path-prefix', '/aws-service-role/']),
      aws(['list-policies', '--scope', 'Local', '--only-attached']),
      aws(['get-account-authorization-details', '--filter', 'Role', 'LocalManagedPolicy', '--page-size', '2']),
    ]);
    expect(users.json.Users.map((u: any) => u.UserName)).toEqual(['alice', 'jane.doe@example.com', 'ops+oncall=1,x-y_z', 'deleted-user']);
    expect(firstTwo.json.Users).toHaveLength(2);
    expect(firstTwo.json.NextToken).toBeDefined();
    expect(groups.json.Groups.map((g: any) => g.GroupName)).toEqual(['Developers', 'Empty.Group']);
    expect(roles.json.Roles[0].RoleName).toBe('AWSServiceRoleForSupport');
    expect(policies.json.Policies.map((p: any) => p.PolicyName)).toEqual(['ci-deploy-policy']);
    expect(gaad.json.RoleDetailList).toHaveLength(5);
    expect(gaad.json.Policies).toHaveLength(2);
    expect(gaad.json.UserDetailList).toEqual([]);
  });

  it('generates and reads a 130-service report in pages of 100 and 30', async () => {
    const generated = await aws(['generate-service-last-accessed-details', '--arn', `${ACCOUNT}role/app-deployer`]);
    expect(generated.code).toBe(0);
    const jobId = generated.json.JobId;
    await emulator.clock.sleep(4000);
    const first = await aws(['get-service-last-accessed-details', '--job-id', jobId]);
    expect(first.json).toMatchObject({ JobStatus: 'COMPLETED', JobType: 'SERVICE_LEVEL', IsTruncated: true });
    expect(first.json.ServicesLastAccessed).toHaveLength(100);
    const second = await aws(['get-service-last-accessed-details', '--job-id', jobId, '--marker', first.json.Marker]);
    expect(second.json.ServicesLastAccessed).toHaveLength(30);
    expect(second.json.IsTruncated).toBe(false);
    const entities = await aws(['get-service-last-accessed-details-with-entities', '--job-id', jobId, '--service-namespace', first.json.ServicesLastAccessed[0].ServiceNamespace]);
    expect(entities.json.EntityDetailsList[0].EntityInfo).toMatchObject({ Name: 'app-deployer', Type: 'ROLE' });
  });

  it('returns tracked actions at ACTION_LEVEL, FAILED jobs with their error, and policies granting access', async () => {
    const [actionJob, failedJob, granting] = await Promise.all([
      aws(['generate-service-last-accessed-details', '--arn', `${ACCOUNT}user/alice`, '--granularity', 'ACTION_LEVEL']),
      aws(['generate-service-last-accessed-details', '--arn', `${ACCOUNT}role/batch/failing-role`]),
      aws(['list-policies-granting-service-access', '--arn', `${ACCOUNT}user/alice`, '--service-namespaces', 's3', 'rds']),
    ]);
    await emulator.clock.sleep(4000);
    const [actions, failed] = await Promise.all([
      aws(['get-service-last-accessed-details', '--job-id', actionJob.json.JobId]),
      aws(['get-service-last-accessed-details', '--job-id', failedJob.json.JobId]),
    ]);
    const s3 = actions.json.ServicesLastAccessed.find((s: any) => s.ServiceNamespace === 's3');
    expect(s3.TrackedActionsLastAccessed.map((a: any) => a.ActionName)).toEqual(['CreateBucket', 'PutBucketPolicy']);
    expect(failed.json.JobStatus).toBe('FAILED');
    expect(failed.json.Error.Code).toBe('ServiceFailure');
    expect(granting.json.PoliciesGrantingServiceAccess[0].Policies[0].PolicyType).toBe('INLINE');
    expect(granting.json.PoliciesGrantingServiceAccess[1].Policies).toEqual([]);
  });

  it('reports NoSuchEntity, InvalidInput and foreign JobIds as IAM errors', async () => {
    const generated = await aws(['generate-service-last-accessed-details', '--arn', `${ACCOUNT}user/alice`]);
    const [deleted, badGranularity, foreign] = await Promise.all([
      aws(['generate-service-last-accessed-details', '--arn', `${ACCOUNT}user/deleted-user`]),
      aws(['generate-service-last-accessed-details', '--arn', `${ACCOUNT}user/alice`, '--granularity', 'EVERYTHING']),
      aws(['get-service-last-accessed-details', '--job-id', generated.json.JobId], 'ASIAANOTHERSESSION01'),
    ]);
    expect(deleted.code).not.toBe(0);
    expect(deleted.stderr).toContain('(NoSuchEntity)');
    expect(deleted.stderr).toContain('The user with name deleted-user cannot be found.');
    expect(badGranularity.stderr).toContain('(InvalidInput)');
    expect(foreign.stderr).toContain('(NoSuchEntity)');
  });

  it('refuses an unsigned request with 403 MissingAuthenticationToken, as IAM does, and serves the same request signed', async () => {
    const [unsigned, signed] = await Promise.all([
      run('aws', ['iam', 'list-users', '--no-sign-request', '--endpoint-url', emulator.url, '--output', 'json', '--debug'], awsEnv()),
      aws(['list-users']),
    ]);
    expect(unsigned.code).not.toBe(0);
    expect(unsigned.stderr).toContain('(MissingAuthenticationToken)');
    expect(unsigned.stderr).toMatch(/"POST \/ HTTP\/1\.1" 403 /);
    expect(signed.code).toBe(0);
    expect(signed.json.Users).toHaveLength(4);
  });
});

describe('IAM emulator with known keys, through the AWS CLI', () => {
  let emulator: RunningEmulator;
  const key = { accessKeyId: 'AKIDKNOWNTOEMULATOR1', secretAccessKey: 'the-real-secret' };

  beforeAll(async () => {
    emulator = await startEdgeEmulator({ credentials: [key], strictAuth: true });
  });
  afterAll(() => emulator.close());

  const aws = (env: NodeJS.ProcessEnv) => run('aws', ['iam', 'list-roles', '--endpoint-url', emulator.url, '--output', 'json'], env);

  it('checks signatures with the key\'s secret: the right one works, a wrong one is SignatureDoesNotMatch, an unknown key InvalidClientTokenId', async () => {
    const [right, wrong, unknown] = await Promise.all([
      aws({ ...awsEnv(key.accessKeyId), AWS_SECRET_ACCESS_KEY: key.secretAccessKey }),
      aws({ ...awsEnv(key.accessKeyId), AWS_SECRET_ACCESS_KEY: 'a-guess' }),
      aws(awsEnv('AKIDNOBODYKNOWS00001')),
    ]);
    expect(right.code).toBe(0);
    expect(JSON.parse(right.stdout).Roles).toHaveLength(5);
    expect(wrong.stderr).toContain('(SignatureDoesNotMatch)');
    expect(unknown.stderr).toContain('(InvalidClientTokenId)');
    expect(emulator.stats()).toMatchObject({ refused: 2, callsByKey: { [key.accessKeyId]: 1 } });
  });
});
