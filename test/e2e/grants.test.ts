/**
 * The functions' S3 requests against their roles' grants in the synthesized template. A local run
 * executes the bundled functions with credentials of their own (one key per execution environment), so
 * an S3 endpoint can tell which function sent each request; moto_server, behind a proxy that watches
 * them, does not enforce IAM, so a request the deployed role would be refused is seen here, not lost.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { IncomingMessage } from 'node:http';
import { generateSampleOrganization, loadOrganization } from '../../local/emulator';
import { runLocal } from '../../local/runner/run-local';
import { startFlakyProxy } from '../helpers/flaky-proxy';
import { FAST_SETTINGS } from '../helpers/iam';
import { startMoto } from '../helpers/moto';
import { actionsOf, roleStatements, synthStack } from '../helpers/synth';
import { tempDir } from '../helpers/temp';

const BUCKET = 'audit-reports';

/** One S3 request as IAM authorizes it: its action, and the object key (or, for a listing, the prefix). */
interface S3Request {
  readonly action: string;
  readonly key: string;
}

/** The IAM action an S3 REST request needs (path-style, as the functions send them here). */
function s3RequestOf(req: IncomingMessage): S3Request {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const [, , ...rest] = url.pathname.split('/');
  const key = decodeURIComponent(rest.join('/'));
  const method = req.method ?? 'GET';
  if (key === '') {
    if (method === 'GET' && url.searchParams.has('list-type')) return { action: 's3:ListBucket', key: url.searchParams.get('prefix') ?? '' };
    return { action: `bucket ${method} ${url.search}`, key: '' };
  }
  if (method === 'GET' || method === 'HEAD') return { action: 's3:GetObject', key };
  if (method === 'PUT' || method === 'POST') return { action: 's3:PutObject', key };
  if (method === 'DELETE') return { action: url.searchParams.has('uploadId') ? 's3:AbortMultipartUpload' : 's3:DeleteObject', key };
  return { action: `object ${method}`, key };
}

const globMatches = (glob: string, text: string): boolean => new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(text);

/** What a resource of the bucket says after the bucket's ARN: `/runs/*` gives `runs/*`; the bucket itself ''. */
function bucketPath(resource: unknown): string | null {
  const join = (resource as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return typeof join[1][1] === 'string' ? join[1][1].replace(/^\//, '') : null;
  return (resource as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'] ? '' : null;
}

/** Each function's S3 grants (by its logical id): may the deployed role send this request? */
function grantsByFunction(): Map<string, (request: S3Request) => boolean> {
  const { template } = synthStack(FAST_SETTINGS);
  const statements = roleStatements(template);
  const byFunction = new Map<string, (request: S3Request) => boolean>();
  for (const [id, fn] of Object.entries(template.findResources('AWS::Lambda::Function')) as Array<[string, any]>) {
    const role = fn.Properties.Role['Fn::GetAtt'][0] as string;
    const mine = statements.filter((s) => s.role === role && s.statement.Effect === 'Allow');
    byFunction.set(id, ({ action, key }) =>
      mine.some(({ statement }) => {
        if (!actionsOf(statement).some((a) => globMatches(a, action))) return false;
        const paths = [statement.Resource].flat().map(bucketPath);
        if (action === 's3:ListBucket') {
          const prefixes = [((statement.Condition as any)?.StringLike?.['s3:prefix'] ?? ['*']) as string | string[]].flat();
          return paths.includes('') && prefixes.some((p) => globMatches(p, key));
        }
        return paths.some((p) => p !== null && p !== '' && globMatches(p, key));
      }),
    );
  }
  return byFunction;
}

describe("the functions' S3 requests", () => {
  it("are each one its function's role allows, over two nights of an organization: one key per environment, and every function seen", async () => {
    const grants = grantsByFunction();
    const functionOfKey = new Map<string, string>();
    const seen = new Map<string, number>();
    const refused: string[] = [];
    const moto = await startMoto();
    const observe = (req: IncomingMessage) => {
      const accessKey = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
      const fn = accessKey === undefined ? undefined : functionOfKey.get(accessKey);
      if (fn === undefined) return; // The runner's own reads, and the test's.
      const request = s3RequestOf(req);
      seen.set(fn, (seen.get(fn) ?? 0) + 1);
      const allows = grants.get(fn);
      if (!allows) refused.push(`${fn} (no such function in the template): ${request.action} ${request.key}`);
      else if (!allows(request)) refused.push(`${fn.replace(/[0-9A-F]{8}$/, '')}: ${request.action} ${request.key}`);
    };
    const proxy = await startFlakyProxy(moto.url, () => false, 0, observe);
    const s3 = new S3Client({ endpoint: moto.url, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
      const organization = loadOrganization(generateSampleOrganization({ accounts: 3, entitiesPerAccount: 15, seed: 'grants', asOf: new Date() }));
      const dir = tempDir('grants-');
      // Two nights: the second reads what the first left (the latest run, its reports, proposals and long jobs).
      for (let night = 1; night <= 2; night++) {
        const result = await runLocal({
          organization,
          outDir: dir,
          s3: { endpoint: proxy.url, bucket: BUCKET },
          timeScale: 200,
          settings: FAST_SETTINGS,
          onFunctionCredentials: (fn, accessKey) => functionOfKey.set(accessKey, fn),
        });
        expect(result.summary?.status).toBe('COMPLETED');
      }
      expect([...new Set(refused)]).toEqual([]);
      // Every function was seen at work, so the test could have found a refusal in each.
      expect([...seen.keys()].map((fn) => fn.replace(/(Function)?[0-9A-F]{8}$/, '')).sort()).toEqual(['AuditAuditBatch', 'AuditPlan', 'AuditPropose', 'AuditSummarize']);
    } finally {
      s3.destroy();
      await proxy.close();
      await moto.stop();
    }
  }, 240_000);
});
