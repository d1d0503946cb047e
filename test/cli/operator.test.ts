/**
 * The operator commands as users run them (the bin entry, in a child process), against moto_server's
 * Step Functions (executing state machines), CloudFormation and S3, and against a local run's directory.
 */
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateStateMachineCommand, DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EntityReport, RunSummary } from '../../lambda/core/model';
import { DirectoryReportStore, S3ReportStore } from '../../lambda/core/store';
import { runLocal, type LocalRunResult } from '../../local/runner/run-local';
import { edgeAccount, FAST_SETTINGS } from '../helpers/iam';
import { startMoto, type MotoServer } from '../helpers/moto';
import { awsEnv, run } from '../helpers/processes';
import { tempDir } from '../helpers/temp';

const BIN = join(__dirname, '..', '..', 'bin', 'iam-access-audit.cjs');
const BUCKET = 'audit-reports';
const ROLE = 'arn:aws:iam::123456789012:role/states';

describe('operator commands', () => {
  let moto: MotoServer;
  let sfn: SFNClient;
  let local: LocalRunResult;
  let dir: string;
  let succeeding: string;
  let failing: string;
  const cli = (...args: string[]) => run(process.execPath, [BIN, ...args], { ...awsEnv(), AWS_ENDPOINT_URL: moto.url });

  /**
   * Puts the stored run in the bucket and creates stand-ins for the deployed workflow. moto cannot start
   * a second execution once one has finished (a deepcopy of a lock fails), so each test that starts one
   * resets moto and sets this up again.
   */
  async function setUpAws(): Promise<void> {
    await (await fetch(`${moto.url}/moto-api/reset`, { method: 'POST' })).arrayBuffer();
    await (await fetch(`${moto.url}/moto-api/config`, { method: 'POST', body: JSON.stringify({ stepfunctions: { execute_state_machine: true } }) })).arrayBuffer();
    const config = { endpoint: moto.url, region: 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } };
    const s3 = new S3Client({ ...config, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const source = new DirectoryReportStore(dir);
    const target = new S3ReportStore(s3, BUCKET);
    const types: Record<string, string> = { html: 'text/html; charset=utf-8', jsonl: 'application/x-ndjson' };
    for (const key of await source.list('')) if (!key.startsWith('.logs/')) await target.put(key, await source.get(key), types[key.split('.').pop()!]);
    s3.destroy();

    // Stand-ins that end as the deployed workflow does: with the summary's key and location, or failing.
    const output = { summaryKey: `runs/${local.runId}/summary.json`, location: `s3://${BUCKET}`, status: 'COMPLETED' };
    succeeding = (await sfn.send(new CreateStateMachineCommand({
      name: 'audit-ok',
      roleArn: ROLE,
      definition: JSON.stringify({ StartAt: 'Audit', States: { Audit: { Type: 'Wait', Seconds: 1, Next: 'Done' }, Done: { Type: 'Pass', Result: output, End: true } } }),
    }))).stateMachineArn!;
    failing = (await sfn.send(new CreateStateMachineCommand({
      name: 'audit-fails',
      roleArn: ROLE,
      definition: JSON.stringify({ StartAt: 'Plan', States: { Plan: { Type: 'Pass', Next: 'Audit failed' }, 'Audit failed': { Type: 'Fail', Error: 'AuditIncomplete', Cause: 'Some batches could not be audited' } } }),
    }))).stateMachineArn!;
    const cloudformation = new CloudFormationClient(config);
    await cloudformation.send(new CreateStackCommand({
      StackName: 'IamAccessAudit',
      TemplateBody: JSON.stringify({ Resources: { Topic: { Type: 'AWS::SNS::Topic' } }, Outputs: { StateMachineArn: { Value: succeeding }, ReportBucketName: { Value: BUCKET } } }),
    }));
    cloudformation.destroy();
  }

  beforeAll(async () => {
    moto = await startMoto();
    sfn = new SFNClient({ endpoint: moto.url, region: 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
    // A real run's output, to be found in the bucket as a deployed run leaves it.
    dir = tempDir('operator-');
    local = await runLocal({ account: edgeAccount(), outDir: dir, timeScale: 500, settings: FAST_SETTINGS, executionName: 'nightly-2026-11-25' });
    await setUpAws();
  }, 180_000);

  afterAll(async () => {
    sfn?.destroy();
    await moto?.stop();
  });

  describe('start', () => {
    beforeEach(setUpAws);
    it('starts a run with the input asked for, follows it with --wait, and prints the summary', async () => {
      const result = await cli('start', '--state-machine', succeeding, '--name', local.runId, '--granularity', 'ACTION_LEVEL', '--arn', 'arn:aws:iam::111122223333:user/alice', '--wait', '--poll-seconds', '0.2');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Started run ${local.runId}`);
      expect(result.stdout).toMatch(/RUNNING/);
      expect(result.stdout).toContain(`Run ${local.runId} completed`);
      expect(result.stdout).toContain('entities   listed 12 · reported 9 · skipped 1 · failed 2');
      expect(result.stdout).toContain('JobTimedOut');
      expect(result.stdout).toContain(`Summary:  s3://${BUCKET}/runs/${local.runId}/summary.json`);
      // The bucket's only run compared with none: no changes to point at.
      expect(result.stdout).not.toContain('Changes:');
      // A presigned link to the page the run wrote, which opens without credentials.
      const link = /Report: {3}(\S+)/.exec(result.stdout)![1];
      expect(link).toContain(`/${BUCKET}/runs/${local.runId}/report.html?`);
      expect(link).toContain('X-Amz-Signature=');
      const page = await fetch(link);
      expect(page.status).toBe(200);
      expect(await page.text()).toBe(readFileSync(join(dir, 'runs', local.runId, 'report.html'), 'utf8'));
      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: `${succeeding.replace(':stateMachine:', ':execution:')}:${local.runId}` }));
      expect(JSON.parse(execution.input!)).toEqual({ granularity: 'ACTION_LEVEL', arns: ['arn:aws:iam::111122223333:user/alice'] });
    }, 60_000);

    it('finds the state machine and bucket from the stack outputs', async () => {
      const result = await cli('start', '--stack', 'IamAccessAudit', '--name', 'from-stack', '--wait', '--poll-seconds', '0.2');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      // The stand-in always answers with the stored run's summary.
      expect(result.stdout).toContain('entities   listed 12');
    }, 60_000);

    it('exits non-zero, with the error, when the run fails', async () => {
      const result = await cli('start', '--state-machine', failing, '--wait', '--poll-seconds', '0.2');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/Run manual-\d{8}T\d{6}Z-[0-9a-f]{6} FAILED: AuditIncomplete: Some batches could not be audited/);
    }, 60_000);

    it.each([
      [[], 'give the workflow to start: --state-machine ARN or --stack NAME'],
      [['--state-machine', 'arn:aws:states:us-east-1:123456789012:stateMachine:audit-ok', '--stack', 'S'], 'one of them'],
      [['--state-machine', 'not-an-arn'], '--state-machine must be a Step Functions state machine ARN'],
      [['--state-machine', 'arn:aws:states:us-east-1:123456789012:stateMachine:audit-ok', '--input', '{"granularity":"FULL"}'], 'bad execution input: granularity must be'],
      [['--state-machine', 'arn:aws:states:us-east-1:123456789012:stateMachine:audit-ok', '--input', '{"colour":1}'], 'unknown field "colour"'],
      [['--state-machine', 'arn:aws:states:us-east-1:123456789012:stateMachine:audit-ok', '--input', '[1]'], '--input must be a JSON object'],
      [['--state-machine', 'arn:aws:states:us-east-1:123456789012:stateMachine:audit-ok', '--arn', 'arn:aws:s3:::bucket'], 'arns[0] must be the ARN'],
      [['--state-machine', 'arn:aws:states:us-east-1:123456789012:stateMachine:audit-ok', '--name', 'has space'], '--name must be'],
      [['--state-machine', 'arn:aws:states:us-east-1:123456789012:stateMachine:audit-ok', '--account-ids', '1234,5678'], 'accountIds[0] must be a 12-digit account id'],
      [['--state-machine', 'arn:aws:states:us-east-1:123456789012:stateMachine:audit-ok', '--poll-seconds', 'often'], '--poll-seconds must be a number'],
    ])('rejects %j before starting anything', async (args, message) => {
      const before = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: succeeding }))).executions!.length;
      const result = await cli('start', ...args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
      expect((await sfn.send(new ListExecutionsCommand({ stateMachineArn: succeeding }))).executions!.length).toBe(before);
    }, 30_000);
  });

  describe('report', () => {
    const reportsOf = () => new DirectoryReportStore(dir).list(`runs/${local.runId}/reports/`).then((keys) => keys.map((k) => JSON.parse(readFileSync(join(dir, k), 'utf8')) as EntityReport));

    it('shows the latest run in the bucket as JSON, worst first, with unreported identities apart', async () => {
      const result = await cli('report', '--bucket', BUCKET, '--format', 'json');
      expect(result.code).toBe(0);
      const shown = JSON.parse(result.stdout);
      const reports = await reportsOf();
      expect(shown).toMatchObject({ runId: local.runId, status: 'COMPLETED', accounts: [{ accountId: '111122223333', status: 'audited' }], unusedAfterDays: 90 });
      expect(shown.identities).toHaveLength(9);
      for (const identity of shown.identities) {
        const report = reports.find((r) => r.entity.arn === identity.arn)!;
        expect(identity).toEqual({
          accountId: '111122223333',
          arn: report.entity.arn,
          type: report.entity.type,
          name: report.entity.name,
          granted: report.findings.servicesGranted,
          used: report.findings.servicesUsed,
          unusedServices: report.findings.unusedServices,
          neverUsedServices: report.findings.neverUsedServices,
        });
      }
      const unusedCounts = shown.identities.map((i: { unusedServices: string[] }) => i.unusedServices.length);
      expect(unusedCounts).toEqual([...unusedCounts].sort((a, b) => b - a));
      expect(shown.identities[0].name).toBe('app-deployer');
      expect(shown.notReported).toEqual((local.summary as RunSummary).failures);
    }, 30_000);

    it('says from the bucket that the run compared with none, for it is the bucket\'s only run', async () => {
      const result = await cli('changes', '--bucket', BUCKET);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(`Run ${local.runId} (COMPLETED) compares with no run: no run had COMPLETED before it. Changes compare with the latest COMPLETED run.\n`);
      expect((await cli('changes', '--bucket', BUCKET, '--format', 'json')).stdout).toBe('null\n');
    }, 30_000);

    it('reads a local run\'s directory, as CSV and as a table, and judges another window when asked', async () => {
      const csv = await cli('report', '--out', dir, '--run', local.runId, '--format', 'csv', '--unused-after-days', '400');
      expect(csv.code).toBe(0);
      const lines = csv.stdout.trim().split('\n');
      expect(lines[0]).toBe('account_id,arn,type,name,granted,used,unused,unused_services');
      expect(lines).toHaveLength(10);
      // What the CSV cannot hold is said beside it, not in it: the file stays a table.
      expect(csv.stderr).toBe(
        'iam-access-audit report: not in this CSV: 2 identities without a report (JobTimedOut, JobFailed.ServiceFailure). They are unknown, not unused: --format json lists them (notReported, accounts).\n',
      );
      expect(lines.some((l) => l.startsWith('111122223333,"arn:aws:iam::111122223333:user/ops+oncall=1,x-y_z",user,"ops+oncall=1,x-y_z",2,'))).toBe(true);
      // Over 400 days alice's PutObject-era S3 use still counts; her STS use too.
      const alice = lines.find((l) => l.startsWith('111122223333,arn:aws:iam::111122223333:user/alice,'))!;
      expect(alice).toBe('111122223333,arn:aws:iam::111122223333:user/alice,user,alice,3,2,1,ec2');
      const table = await cli('report', '--out', dir);
      expect(table.stdout).toMatch(/^Run nightly-2026-11-25 \(\d{4}-\d{2}-\d{2}, SERVICE_LEVEL\) COMPLETED: 9 identities reported in account 111122223333/);
      expect(table.stdout).toMatch(/role\s+app-deployer\s+130\s+\d+\s+\d+/);
      expect(table.stdout).toContain('2 identities have no report (JobTimedOut, JobFailed.ServiceFailure); they are not counted as unused');
    }, 30_000);

    it('renders any run\'s HTML report to a file, from the bucket or a directory', async () => {
      const file = join(dir, 'rendered.html');
      const result = await cli('report', '--bucket', BUCKET, '--format', 'html', '--output', file);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Report of run ${local.runId} (COMPLETED): ${file}`);
      const fromBucket = readFileSync(file, 'utf8');
      // The same page Summarize wrote: one renderer, the same data.
      expect(fromBucket).toBe(readFileSync(join(dir, 'runs', local.runId, 'report.html'), 'utf8'));
      const toStdout = await cli('report', '--out', dir, '--format', 'html', '--output', '-');
      expect(toStdout.stdout).toBe(fromBucket);
    }, 30_000);

    it('prints a presigned link to the page the run wrote, and refuses a run without one', async () => {
      const result = await cli('report', '--bucket', BUCKET, '--format', 'html', '--presign', '--expires-in', '600');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const link = result.stdout.trim();
      expect(link).toContain('X-Amz-Expires=600');
      const page = await fetch(link);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(await page.text()).toBe(readFileSync(join(dir, 'runs', local.runId, 'report.html'), 'utf8'));
      const s3 = new S3Client({ endpoint: moto.url, region: 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' }, forcePathStyle: true });
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `runs/${local.runId}/report.html` }));
      s3.destroy();
      const missing = await cli('report', '--bucket', BUCKET, '--format', 'html', '--presign');
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(`run ${local.runId} has no report.html in s3://${BUCKET}/`);
      await setUpAws();
    }, 30_000);

    it.each([
      [['--format', 'html', '--presign'], '--presign needs --bucket B'],
      [['--format', 'html', '--account', '123456789012'], '--account does not apply to --format html'],
      [['--format', 'html', '--unused-after-days', '30'], '--unused-after-days does not apply to --format html'],
      [['--output', 'x.html'], '--output applies only to --format html'],
      [['--shared', '--format', 'html'], '--shared does not apply to --format html'],
      [['--shared', '--account', '123456789012'], '--account does not apply to --shared'],
      [['--bucket', 'some-bucket', '--format', 'html', '--presign', '--expires-in', '700000'], '--expires-in must be'],
      [['--bucket', 'some-bucket', '--format', 'html', '--presign', '--output', 'x.html'], 'either --presign or --output FILE'],
      [['--format', 'xml'], '--format must be one of table, json, csv'],
      [['--bucket', 'b', '--out', 'd'], 'either --bucket B or --out DIR'],
      [['--out', '/nonexistent-dir'], 'no completed run in /nonexistent-dir'],
      [['--out', '/tmp', '--run', 'no-such-run'], 'run no-such-run has no summary'],
      [['--unused-after-days', '0'], '--unused-after-days must be a whole number of at least 1 and at most 400'],
      [['--run', '../etc'], '--run must be a run id'],
    ])('rejects %j with a clear error', async (args, message) => {
      const result = await cli('report', ...args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
    });
  });

  describe('AWS errors, each one line that says what to do, never a stack trace', () => {
    const noStack = (stderr: string) => expect(stderr).not.toMatch(/^\s+at /m);

    it('no region: says which variable to set, for the SDK does not read AWS_DEFAULT_REGION', async () => {
      for (const args of [['report', '--bucket', BUCKET], ['start', '--stack', 'IamAccessAudit'], ['proposals', '--bucket', BUCKET], ['changes', '--bucket', BUCKET]]) {
        const result = await run(process.execPath, [BIN, ...args], { ...awsEnv(), AWS_REGION: undefined, AWS_DEFAULT_REGION: 'us-east-1', AWS_ENDPOINT_URL: moto.url });
        expect(result.code).toBe(2);
        expect(result.stderr).toBe(`iam-access-audit ${args[0]}: no AWS region is set: set AWS_REGION to the region the stack or bucket is in, or give the profile a region (the AWS SDK for JavaScript does not read AWS_DEFAULT_REGION)\n`);
      }
    });

    it('no credentials: says how to give them', async () => {
      const result = await run(process.execPath, [BIN, 'report', '--bucket', BUCKET], { ...awsEnv(), AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_ENDPOINT_URL: moto.url });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^iam-access-audit report: no AWS credentials found \(.+\): give a profile \(AWS_PROFILE\), sign in/);
      noStack(result.stderr);
    });

    it('AWS unreachable: says so, with the network error', async () => {
      const result = await run(process.execPath, [BIN, 'report', '--bucket', BUCKET], { ...awsEnv(), AWS_ENDPOINT_URL: 'http://127.0.0.1:1', AWS_MAX_ATTEMPTS: '1' });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^iam-access-audit report: could not reach AWS \(ECONNREFUSED: .*\): check the network/);
      noStack(result.stderr);
    });

    it('a bucket that does not exist: AWS\'s code and message', async () => {
      const result = await cli('report', '--bucket', 'no-such-audit-bucket');
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^iam-access-audit report: AWS answered NoSuchBucket \(HTTP 404\): /);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    });

    it('a stack that does not exist: names it and the region looked in', async () => {
      const result = await cli('start', '--stack', 'NoSuchAuditStack');
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('stack NoSuchAuditStack does not exist in us-east-1: give the hub stack\'s name (--stack) and set AWS_REGION to its region');
      noStack(result.stderr);
    });
  });
});
