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
import { Throttle, type ThrottleSettings } from './throttle';

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
  resetStats(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

export async function startEmulator(options: EmulatorOptions): Promise<RunningEmulator> {
  const clock = options.clock ?? new ScaledClock(options.timeScale ?? 1);
  const backend = new IamBackend(options.account, clock, options);
  const throttle = new Throttle(options.throttle);
  let counters = emptyCounters();
  const log: RecordedCall[] = [];
  const record = (operation: string, caller: string, params: QueryParams, outcome: string): void => {
    if (options.recordCalls) log.push({ at: clock.now(), operation, caller, arn: params.get('Arn'), jobId: params.get('JobId'), outcome });
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
      jobs: backend.jobCount,
      simulatedNow: new Date(clock.now()).toISOString(),
      timeScale: clock.timeScale,
    };
  };

  const handleIam = (req: IncomingMessage, body: string, res: ServerResponse): void => {
    const requestId = newRequestId();
    const query = req.url?.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
    const params = QueryParams.parse(query, body);
    const action = params.get('Action');
    const caller = callerOf(req, params);
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
        counters = emptyCounters();
        res.writeHead(204).end();
      } else if (path === '/' && (req.method === 'POST' || req.method === 'GET')) {
        handleIam(req, Buffer.concat(chunks).toString('utf8'), res);
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
    resetStats: () => {
      counters = emptyCounters();
    },
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

/** The caller's access key id, from the SigV4 Authorization header or a presigned query. */
function callerOf(req: IncomingMessage, params: QueryParams): string {
  const header = req.headers.authorization ?? '';
  const signed = /Credential=([^/,\s]+)\//.exec(header);
  if (signed) return signed[1];
  const presigned = params.get('X-Amz-Credential');
  if (presigned) return presigned.split('/')[0];
  return 'anonymous';
}

function send(res: ServerResponse, status: number, xml: string, requestId: string): void {
  res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
}
