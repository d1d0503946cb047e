/**
 * Every request of the functions against the grants of the role that sends it, as synthesized. A local
 * run executes the bundled functions with credentials of their own (one key per execution environment),
 * so the endpoints can tell which function sent each request: S3's (moto_server, behind a proxy that
 * watches the requests) and the emulator's IAM, STS and Organizations (its call log), where a request
 * made through a member-role session is the member role's. Neither enforces the roles' policies, so a
 * request the deployed role would be refused is seen here, rather than failing in AWS.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Template } from 'aws-cdk-lib/assertions';
import type { IncomingMessage } from 'node:http';
import { MEMBER_STACK_NAME } from '../../lib/app';
import { generateSampleAccount, generateSampleOrganization, loadAccount, loadOrganization } from '../../local/emulator';
import { runLocal, type LocalRunOptions } from '../../local/runner/run-local';
import { startFlakyProxy } from '../helpers/flaky-proxy';
import { actionMatches, callRequestOf, resourceMatches, type AuthorizedRequest } from '../helpers/grants';
import { FAST_SETTINGS } from '../helpers/iam';
import { startMoto } from '../helpers/moto';
import { actionsOf, roleStatements, synthStack } from '../helpers/synth';
import { tempDir } from '../helpers/temp';

const BUCKET = 'audit-reports';
const REGION = 'us-east-1';

/** The IAM action an S3 REST request needs (path-style, as the functions send them here), and its key. */
function s3RequestOf(req: IncomingMessage): AuthorizedRequest {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const [, , ...rest] = url.pathname.split('/');
  const key = decodeURIComponent(rest.join('/'));
  const method = req.method ?? 'GET';
  if (key === '') {
    if (method === 'GET' && url.searchParams.has('list-type')) return { action: 's3:ListBucket', resource: url.searchParams.get('prefix') ?? '' };
    return { action: `s3 bucket ${method} ${url.search}`, resource: '' };
  }
  if (method === 'GET' || method === 'HEAD') return { action: 's3:GetObject', resource: key };
  if (method === 'PUT' || method === 'POST') return { action: 's3:PutObject', resource: key };
  if (method === 'DELETE') return { action: url.searchParams.has('uploadId') ? 's3:AbortMultipartUpload' : 's3:DeleteObject', resource: key };
  return { action: `s3 object ${method}`, resource: key };
}

/** A statement's resource as a string, its references resolved as they would be in the audit account; an unknown reference never matches. */
function resolved(resource: unknown, accountId: string): string {
  if (typeof resource === 'string') return resource;
  const ref = (resource as { Ref?: string }).Ref;
  if (ref !== undefined) return ({ 'AWS::Partition': 'aws', 'AWS::AccountId': accountId, 'AWS::Region': REGION, HubAccountId: accountId } as Record<string, string>)[ref] ?? '\u0000';
  const join = (resource as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map((part) => resolved(part, accountId)).join(join[0]);
  return '\u0000';
}

/** What a resource of the bucket names after the bucket's ARN: `/runs/*` gives `runs/*`, the bucket itself ''; null: not the bucket. */
function bucketPath(resource: unknown): string | null {
  const join = (resource as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  const bucketArn = (part: unknown) => (part as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[1] === 'Arn';
  if (join && bucketArn(join[1][0])) return typeof join[1][1] === 'string' ? join[1][1].replace(/^\//, '') : null;
  return bucketArn(resource) ? '' : null;
}

type Statement = ReturnType<typeof roleStatements>[number]['statement'];

/** May these statements (a role's) send this request? */
function allows(statements: readonly Statement[], { action, resource }: AuthorizedRequest, accountId: string): boolean {
  return statements.some((statement) => {
    if (statement.Effect !== 'Allow' || !actionsOf(statement).some((a) => actionMatches(a, action))) return false;
    const resources = [statement.Resource].flat();
    if (action === 's3:ListBucket') {
      const prefixes = [((statement.Condition as any)?.StringLike?.['s3:prefix'] ?? ['*']) as string | string[]].flat();
      return resources.some((r) => bucketPath(r) === '') && prefixes.some((p) => resourceMatches(p, resource));
    }
    if (action.startsWith('s3:')) return resources.some((r) => (bucketPath(r) ?? '') !== '' && resourceMatches(bucketPath(r)!, resource));
    return resources.some((r) => resourceMatches(resolved(r, accountId), resource));
  });
}

interface Seen {
  /** Who sent requests: a function (its S3 requests apart), or the member role. */
  readonly who: readonly string[];
  /** Each request the role that sent it does not allow. */
  readonly refused: readonly string[];
}

/** The runner's own key: it reads the bucket, and writes what the workflow's own S3 tasks write. */
const RUNNER_KEY = 'local-runner';

/**
 * Nights of the target into one bucket (a second reads what the first left: the latest run, its
 * reports, proposals and long jobs), each request checked against the role that sent it. A write with the
 * runner's key is the state machine's own (its `aws-sdk:s3:putObject` tasks), checked against its role.
 */
async function auditNights(
  target: Pick<LocalRunOptions, 'account' | 'organization' | 'beforeInvoke'>,
  auditAccountId: string,
  settings: Record<string, unknown>,
  nights: ReadonlyArray<'COMPLETED' | 'INCOMPLETE'>,
): Promise<Seen> {
  const { app, template } = synthStack({ ...FAST_SETTINGS, ...settings });
  const memberStack = app.node.tryFindChild(MEMBER_STACK_NAME) ? Template.fromJSON(app.synth().getStackByName(MEMBER_STACK_NAME).template) : null;
  const memberStatements = memberStack === null ? [] : roleStatements(memberStack).map((s) => s.statement);
  const hubStatements = roleStatements(template);
  const statementsOf = new Map<string, Statement[]>();
  for (const [id, fn] of Object.entries(template.findResources('AWS::Lambda::Function')) as Array<[string, any]>) {
    statementsOf.set(id, hubStatements.filter((s) => s.role === fn.Properties.Role['Fn::GetAtt'][0]).map((s) => s.statement));
  }
  const short = (fn: string) => fn.replace(/(Function)?[0-9A-F]{8}$/, '');
  const [machineRole] = (Object.values(template.findResources('AWS::StepFunctions::StateMachine')) as any[]).map((m) => m.Properties.RoleArn['Fn::GetAtt'][0] as string);
  const machineStatements = hubStatements.filter((s) => s.role === machineRole).map((s) => s.statement);

  const functionOfKey = new Map<string, string>();
  const who = new Set<string>();
  const refused = new Set<string>();
  const check = (sender: string, statements: readonly Statement[] | undefined, request: AuthorizedRequest, accountId: string) => {
    who.add(sender.replace(/ in \d{12}$/, ''));
    if (!statements || !allows(statements, request, accountId)) refused.add(`${sender}: ${request.action} ${request.resource}`);
  };
  const observe = (req: IncomingMessage) => {
    const accessKey = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
    const fn = accessKey === undefined ? undefined : functionOfKey.get(accessKey);
    const request = s3RequestOf(req);
    if (fn !== undefined) check(`${short(fn)} (S3)`, statementsOf.get(fn), request, auditAccountId);
    // The runner's reads, and the test's, are no role's.
    else if (accessKey === RUNNER_KEY && request.action === 's3:PutObject') check('the state machine (S3)', machineStatements, request, auditAccountId);
  };
  const moto = await startMoto();
  const proxy = await startFlakyProxy(moto.url, () => false, 0, observe);
  const s3 = new S3Client({ endpoint: moto.url, forcePathStyle: true, region: REGION, credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const dir = tempDir('grants-');
    for (const status of nights) {
      const result = await runLocal({
        ...target,
        outDir: dir,
        s3: { endpoint: proxy.url, bucket: BUCKET },
        timeScale: 200,
        settings: { ...FAST_SETTINGS, ...settings },
        emulator: { recordCalls: true },
        onFunctionCredentials: (fn, accessKey) => functionOfKey.set(accessKey, fn),
      });
      expect(result.summary?.status).toBe(status);
      for (const call of result.stats.iamCallLog) {
        const request = callRequestOf(call);
        if (request === null) continue;
        const fn = functionOfKey.get(call.caller);
        // A function's own key acts in the hub's account; any other key is a member-role session's.
        if (fn !== undefined) check(short(fn), statementsOf.get(fn), request, auditAccountId);
        else check(`the member role in ${call.accountId}`, memberStatements, request, call.accountId);
      }
    }
    return { who: [...who].sort(), refused: [...refused] };
  } finally {
    s3.destroy();
    await proxy.close();
    await moto.stop();
  }
}

describe("the functions' requests are each one the role that sends it allows", () => {
  // Each case lists who it saw at work: the test could have found a refusal in each.
  it('over two nights of one account: S3 and IAM, through the hub\'s roles', async () => {
    const account = loadAccount(generateSampleAccount({ entities: 30, seed: 'grants', asOf: new Date() }));
    const seen = await auditNights({ account }, account.accountId, {}, ['COMPLETED', 'COMPLETED']);
    expect(seen.refused).toEqual([]);
    expect(seen.who).toEqual(['AuditAuditBatch', 'AuditAuditBatch (S3)', 'AuditPlan', 'AuditPlan (S3)', 'AuditPropose (S3)', 'AuditSummarize (S3)']);
  }, 240_000);

  it('over two nights of an organization: S3, IAM, STS and Organizations, through the hub\'s roles and the member role', async () => {
    const organization = loadOrganization(generateSampleOrganization({ accounts: 3, entitiesPerAccount: 15, seed: 'grants', asOf: new Date() }));
    const accounts = { source: 'organization', memberRoleName: organization.memberRoleName, organizationalUnitIds: [], excludeAccountIds: [] };
    const seen = await auditNights({ organization }, organization.auditAccountId, { accounts }, ['COMPLETED', 'COMPLETED']);
    expect(seen.refused).toEqual([]);
    expect(seen.who).toEqual(['AuditAuditBatch', 'AuditAuditBatch (S3)', 'AuditPlan', 'AuditPlan (S3)', 'AuditPropose (S3)', 'AuditSummarize (S3)', 'the member role']);
  }, 240_000);

  it("on a night whose listing group and whose batch keep dying: the state machine's own writes of the errors that ended them", async () => {
    const organization = loadOrganization(generateSampleOrganization({ accounts: 2, entitiesPerAccount: 6, seed: 'grants-faults', asOf: new Date() }));
    const accounts = { source: 'organization', memberRoleName: organization.memberRoleName, organizationalUnitIds: [], excludeAccountIds: [] };
    const listingDies = await auditNights(
      {
        organization,
        beforeInvoke: (fn, _invocation, event) => {
          if (fn.logicalId.startsWith('AuditPlan') && (event as { phase?: string }).phase === 'list') throw new Error('the listing environment crashed');
        },
      },
      organization.auditAccountId,
      { accounts },
      ['INCOMPLETE'],
    );
    const account = loadAccount(generateSampleAccount({ entities: 12, seed: 'grants-faults', asOf: new Date() }));
    const batchDies = await auditNights(
      {
        account,
        beforeInvoke: (fn) => {
          if (fn.logicalId.startsWith('AuditAuditBatch')) throw new Error('the batch environment crashed');
        },
      },
      account.accountId,
      {},
      ['INCOMPLETE'],
    );
    expect([...listingDies.refused, ...batchDies.refused]).toEqual([]);
    expect(listingDies.who).toContain('the state machine (S3)');
    expect(batchDies.who).toContain('the state machine (S3)');
  }, 240_000);
});
