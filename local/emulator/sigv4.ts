/**
 * Signature Version 4, checked as AWS checks it, so the emulator refuses what IAM refuses: no signature,
 * a malformed one, a stale date, an unknown key (when strict), or a signature the key's secret does not
 * make. Header and query (presigned) signatures are both read.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { IamError } from './query';

export interface SignedRequest {
  readonly method: string;
  /** The path, without the query. */
  readonly path: string;
  /** The raw query string, without `?`. */
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface Signature {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  readonly amzDate: string;
  readonly securityToken?: string;
}

/** AWS accepts a request whose X-Amz-Date is within this of its own clock. */
export const MAX_CLOCK_SKEW_MS = 15 * 60_000;

const ALGORITHM = 'AWS4-HMAC-SHA256';

export const missingAuthenticationToken = (): IamError => new IamError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
export const invalidClientTokenId = (): IamError => new IamError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
export const signatureDoesNotMatch = (): IamError =>
  new IamError(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    403,
  );
export const requestExpired = (): IamError => new IamError('RequestExpired', 'Request has expired.', 403);
export const expiredToken = (): IamError => new IamError('ExpiredToken', 'The security token included in the request is expired', 403);

/** The request's signature, or MissingAuthenticationToken / IncompleteSignature / RequestExpired. */
export function readSignature(req: SignedRequest, now: number): Signature {
  const header = firstHeader(req.headers, 'authorization');
  const query = new URLSearchParams(req.query);
  let signature: Signature;
  if (header) {
    const match = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/.exec(header.trim());
    if (!match) throw new IamError('IncompleteSignature', `Authorization header requires a well-formed ${ALGORITHM} Credential, SignedHeaders and Signature.`, 403);
    const amzDate = firstHeader(req.headers, 'x-amz-date');
    if (!amzDate) throw new IamError('IncompleteSignature', 'Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.', 403);
    signature = {
      accessKeyId: match[1],
      date: match[2],
      region: match[3],
      service: match[4],
      signedHeaders: match[5].split(';'),
      signature: match[6],
      amzDate,
      securityToken: firstHeader(req.headers, 'x-amz-security-token'),
    };
  } else if (query.get('X-Amz-Signature')) {
    const credential = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/.exec(query.get('X-Amz-Credential') ?? '');
    const amzDate = query.get('X-Amz-Date');
    if (query.get('X-Amz-Algorithm') !== ALGORITHM || !credential || !amzDate || !query.get('X-Amz-SignedHeaders')) {
      throw new IamError('IncompleteSignature', 'The query string must carry X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date and X-Amz-SignedHeaders.', 403);
    }
    signature = {
      accessKeyId: credential[1],
      date: credential[2],
      region: credential[3],
      service: credential[4],
      signedHeaders: query.get('X-Amz-SignedHeaders')!.split(';'),
      signature: query.get('X-Amz-Signature')!,
      amzDate,
      securityToken: query.get('X-Amz-Security-Token') ?? undefined,
    };
  } else {
    throw missingAuthenticationToken();
  }
  const signedAt = parseAmzDate(signature.amzDate);
  if (signedAt === undefined || signature.amzDate.slice(0, 8) !== signature.date) {
    throw new IamError('IncompleteSignature', `Date must be in ISO-8601 'basic format' and match the credential scope, got ${signature.amzDate}`, 403);
  }
  if (Math.abs(now - signedAt) > MAX_CLOCK_SKEW_MS) throw requestExpired();
  return signature;
}

/** True when the signature is the one the secret makes for this request. */
export function signatureMatches(req: SignedRequest, sig: Signature, secretAccessKey: string): boolean {
  const query = canonicalQuery(req.query);
  const headers = sig.signedHeaders.map((name) => `${name}:${canonicalHeaderValue(req.headers[name])}\n`).join('');
  const payloadHash = firstHeader(req.headers, 'x-amz-content-sha256') ?? sha256(req.body);
  const canonicalRequest = [req.method, canonicalPath(req.path), query, headers, sig.signedHeaders.join(';'), payloadHash].join('\n');
  const scope = `${sig.date}/${sig.region}/${sig.service}/aws4_request`;
  const stringToSign = [ALGORITHM, sig.amzDate, scope, sha256(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${secretAccessKey}`, sig.date);
  for (const part of [sig.region, sig.service, 'aws4_request']) key = hmac(key, part);
  const expected = Buffer.from(hmac(key, stringToSign).toString('hex'));
  const given = Buffer.from(sig.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function firstHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function canonicalHeaderValue(value: string | string[] | undefined): string {
  const values = Array.isArray(value) ? value : [value ?? ''];
  return values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',');
}

/** RFC 3986 encoding, as SigV4 wants it. */
function encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalPath(path: string): string {
  // Non-S3 services sign each segment encoded twice; the emulator serves only "/".
  return path.split('/').map((segment) => encode(encode(decodeURIComponent(segment)))).join('/') || '/';
}

function canonicalQuery(query: string): string {
  const pairs: Array<[string, string]> = [];
  for (const part of query.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = decodeURIComponent((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, '%20'));
    const value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, '%20'));
    if (key === 'X-Amz-Signature') continue;
    pairs.push([encode(key), encode(value)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function parseAmzDate(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : undefined;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}
