/**
 * The IAM emulator's HTTP endpoint: IAM's Query protocol on 127.0.0.1, so that unmodified clients
 * (the AWS SDKs, boto3, the AWS CLI with --endpoint-url) work against it. It also serves its own
 * counters as JSON at `GET /_emulator/stats` (and resets them with `POST /_emulator/stats/reset`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Account } from './account';
import { ScaledClock, type Clock } from './clock';
import { IamBackend, OPERATIONS, type JobSettings, type Operation } from './iam';
import { errorXml, IamError, newRequestId, QueryParams, successXml, throttling } from './query';
import { invalidClientTokenId, readSignature, signatureDoesNotMatch, signatureMatches, type SignedRequest } from './sigv4';
import { Throttle, type ThrottleSettings } from './throttle';

/** An access key the emulator knows: it checks signatures made with it. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface EmulatorOptions extends JobSettings {
  readonly account: Account;
  /** Port on 127.0.0.1; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Simulated seconds per real second, for latency, throttling and job dates. @default 1 */
  readonly timeScale?: number;
  /** Token-bucket throttling per operation. @default off */
  readonly throttle?: ThrottleSettings;
  /** A clock to share with in-process callers; made from `timeScale` when absent. */
  readonly clock?: Clock;
  /** Keep a log of every call, readable with `calls()`. @default false */
  readonly recordCalls?: boolean;
  /** Static keys whose signatures are checked. Other key ids are accepted with any secret unless `strictAuth`. */
  readonly credentials?: readonly Credentials[];
  /** Refuse key ids it does not know, as AWS does (InvalidClientTokenId). @default false */
  readonly strictAuth?: boolean;
  /** Share of requests, 0 to 1, whose connection is destroyed before they are answered. @default 0 */
  readonly resetConnections?: number;
  /** Source of randomness for `resetConnections`. @default Math.random */
  readonly random?: () => number;
}

/** One request as the emulator saw it. */
export interface RecordedCall {
  readonly at: number;
  readonly operation: string;
  readonly caller: string;
  readonly arn?: string;
  readonly jobId?: string;
  /** JobStatus of a Get, or the error code of a failed call. */
  readonly outcome: string;
}

export interface OperationStats {
  /** Every request for the operation, throttled ones included. */
  calls: number;
  /** Requests answered with Throttling. */
  throttled: number;
  /** Requests answered with any other error. */
  errors: number;
}

export interface EmulatorStats {
  readonly operations: Record<Operation, OperationStats>;
  readonly totals: OperationStats;
  /** Requests refused before any operation ran (no signature, a bad one, an unknown or expired key). */
  readonly refused: number;
  /** Connections destroyed by `resetConnections`. */
  readonly resets: number;
  /** Calls per access key id, of requests that passed authentication. */
  readonly callsByKey: Record<string, number>;
  readonly jobs: number;
  readonly simulatedNow: string;
  readonly timeScale: number;
}

export interface RunningEmulator {
  readonly url: string;
  readonly port: number;
  readonly clock: Clock;
  readonly account: Account;
  stats(): EmulatorStats;
  /** The call log (empty unless `recordCalls`). */
  calls(): readonly RecordedCall[];
  /** Adds a key whose signatures are checked from now on. */
  addCredentials(credentials: Credentials): void;
  resetStats(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

export async function startEmulator(options: EmulatorOptions): Promise<RunningEmulator> {
  const clock = options.clock ?? new ScaledClock(options.timeScale ?? 1);
  const backend = new IamBackend(options.account, clock, options);
  const throttle = new Throttle(options.throttle);
  const secrets = new Map<string, string>((options.credentials ?? []).map((c) => [c.accessKeyId, c.secretAccessKey]));
  const random = options.random ?? Math.random;
  const resetShare = options.resetConnections ?? 0;
  if (!(resetShare >= 0 && resetShare <= 1)) throw new RangeError(`resetConnections must be from 0 to 1, got ${resetShare}`);
  let counters = emptyCounters();
  let refused = 0;
  let resets = 0;
  let callsByKey: Record<string, number> = {};
  const log: RecordedCall[] = [];
  const record = (operation: string, caller: string, params: QueryParams, outcome: string): void => {
    if (options.recordCalls) log.push({ at: clock.now(), operation, caller, arn: params.get('Arn'), jobId: params.get('JobId'), outcome });
  };

  const resetStats = (): void => {
    counters = emptyCounters();
    refused = 0;
    resets = 0;
    callsByKey = {};
  };

  const stats = (): EmulatorStats => {
    const totals = { calls: 0, throttled: 0, errors: 0 };
    for (const op of OPERATIONS) {
      totals.calls += counters[op].calls;
      totals.throttled += counters[op].throttled;
      totals.errors += counters[op].errors;
    }
    return {
      operations: structuredClone(counters),
      totals,
      refused,
      resets,
      callsByKey: { ...callsByKey },
      jobs: backend.jobCount,
      simulatedNow: new Date(clock.now()).toISOString(),
      timeScale: clock.timeScale,
    };
  };

  /** The caller's access key id, once the request's signature holds as AWS would check it. */
  const authenticate = (signed: SignedRequest): string => {
    const signature = readSignature(signed, Date.now());
    const secret = secrets.get(signature.accessKeyId);
    if (secret === undefined) {
      if (options.strictAuth) throw invalidClientTokenId();
      return signature.accessKeyId;
    }
    if (!signatureMatches(signed, signature, secret)) throw signatureDoesNotMatch();
    return signature.accessKeyId;
  };

  const handleIam = (req: IncomingMessage, body: Buffer, res: ServerResponse): void => {
    const requestId = newRequestId();
    const url = req.url ?? '/';
    const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
    const params = QueryParams.parse(query, body.toString('utf8'));
    const action = params.get('Action');
    let caller: string;
    try {
      caller = authenticate({ method: req.method ?? 'POST', path: url.split('?')[0], query, headers: req.headers, body });
    } catch (err) {
      refused++;
      const error = err instanceof IamError ? err : new IamError('ServiceFailure', `Internal emulator error: ${(err as Error).message}`, 500);
      send(res, error.status, errorXml(error, requestId), requestId);
      return;
    }
    callsByKey[caller] = (callsByKey[caller] ?? 0) + 1;
    try {
      if (!action) throw new IamError('MissingAction', 'The request must contain the parameter Action', 400);
      if (!(OPERATIONS as readonly string[]).includes(action)) {
        throw new IamError('InvalidAction', `Could not find operation ${action} for version 2010-05-08`, 400);
      }
      const operation = action as Operation;
      counters[operation].calls++;
      if (!throttle.admit(operation, clock.now())) {
        counters[operation].throttled++;
        record(operation, caller, params, 'Throttling');
        throw throttling();
      }
      try {
        const result = backend.handle(operation, params, caller);
        record(operation, caller, params, typeof result.JobStatus === 'string' ? result.JobStatus : 'OK');
        send(res, 200, successXml(operation, result, requestId), requestId);
      } catch (err) {
        counters[operation].errors++;
        record(operation, caller, params, err instanceof IamError ? err.code : 'ServiceFailure');
        throw err;
      }
    } catch (err) {
      const error = err instanceof IamError ? err : new IamError('ServiceFailure', `Internal emulator error: ${(err as Error).message}`, 500);
      send(res, error.status, errorXml(error, requestId), requestId);
    }
  };

  const server: Server = createServer((req, res) => {
    if (resetShare > 0 && (req.url ?? '/').split('?')[0] === '/' && random() < resetShare) {
      // As a network fault would: the connection goes away and the request gets no answer.
      resets++;
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) {
        send(res, 413, errorXml(new IamError('RequestEntityTooLarge', 'Request body is too large', 413), newRequestId()), '');
        return;
      }
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/_emulator/stats' && req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats()));
      } else if (path === '/_emulator/stats/reset' && req.method === 'POST') {
        resetStats();
        res.writeHead(204).end();
      } else if (path === '/' && (req.method === 'POST' || req.method === 'GET')) {
        handleIam(req, Buffer.concat(chunks), res);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      }
    });
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    clock,
    account: options.account,
    stats,
    calls: () => log,
    addCredentials: (c) => secrets.set(c.accessKeyId, c.secretAccessKey),
    resetStats,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function emptyCounters(): Record<Operation, OperationStats> {
  return Object.fromEntries(OPERATIONS.map((op) => [op, { calls: 0, throttled: 0, errors: 0 }])) as Record<Operation, OperationStats>;
}

function send(res: ServerResponse, status: number, xml: string, requestId: string): void {
  res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
}
