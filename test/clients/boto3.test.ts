/**
 * boto3 (preinstalled) drives every emulated operation; the script prints what it saw.
 */
import { join } from 'node:path';
import { startEdgeEmulator } from '../helpers/iam';
import { awsEnv, run } from '../helpers/processes';

it('serves every operation to boto3, which parses every answer and retries throttling', async () => {
  const emulator = await startEdgeEmulator({ timeScale: 1000 });
  const throttled = await startEdgeEmulator({ throttle: { rps: 2, burst: 3 }, timeScale: 5 });
  try {
    const result = await run('python3', [join(__dirname, 'boto3_drive.py'), emulator.url, throttled.url], awsEnv());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const seen = JSON.parse(result.stdout);
    expect(seen).toEqual({
      users: ['alice', 'jane.doe@example.com', 'ops+oncall=1,x-y_z', 'deleted-user'],
      groups: ['Developers', 'Empty.Group'],
      roles: ['app-deployer', 'AWSServiceRoleForSupport', 'slow-role', 'failing-role', 'lambda-action-role'],
      localPolicies: ['s3-read-access', 'ci-deploy-policy'],
      gaadUsers: 4,
      gaadGroups: 2,
      gaadPages: 2,
      reportPages: [100, 30],
      reportUsed: 65,
      lastAuthenticatedType: 'datetime',
      jobType: 'ACTION_LEVEL',
      // Only the tracked actions used in the tracking period, as IAM sends them.
      s3Actions: ['CreateBucket', 'PutBucketPolicy'],
      failed: { status: 'FAILED', code: 'ServiceFailure' },
      slowStatus: 'IN_PROGRESS',
      withEntities: ['alice'],
      granting: { s3: ['Developers-permissions'], ec2: [] },
      errors: {
        deleted: { code: 'NoSuchEntity', status: 404 },
        unknown: { code: 'NoSuchEntity', status: 404 },
        granularity: { code: 'InvalidInput', status: 400 },
        foreignJob: { code: 'NoSuchEntity', status: 404 },
      },
      burstAnswers: Array(12).fill(5),
    });
    expect(throttled.stats().operations.ListRoles.throttled).toBeGreaterThan(0);
  } finally {
    await emulator.close();
    await throttled.close();
  }
});
