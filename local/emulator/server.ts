/**
 * The emulator's HTTP endpoint on 127.0.0.1: IAM and STS in the Query protocol, Organizations in JSON
 * 1.1, so that unmodified clients (the AWS SDKs, boto3, the AWS CLI with --endpoint-url) work against
 * it. IAM calls go to the account of the calling credentials: static keys act as a principal of the hub;
 * keys issued by AssumeRole act in the account entered, until their session ends. Each account has its
 * own throttling. The emulator also serves its counters as JSON at `GET /_emulator/stats` (and resets
 * them with `POST /_emulator/stats/reset`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { derivedEntityId, loadAccount, type Account } from './account';
import { ScaledClock, type Clock } from './clock';
import { IamBackend, OPERATIONS, type FinishedJob, type JobSettings, type Operation } from './iam';
import { loneAccount, type Organization } from './organization';
import { ORGANIZATIONS_OPERATIONS, ORGANIZATIONS_TARGET_PREFIX, OrganizationsBackend, OrganizationsError, tooManyRequests, type OrganizationsOperation } from './organizations';
import { errorXml, IamError, newRequestId, QueryParams, STS_XMLNS, successXml, throttling } from './query';
import { expiredToken, invalidClientTokenId, readSignature, signatureDoesNotMatch, signatureMatches, type SignedRequest } from './sigv4';
import { STS_OPERATIONS, StsBackend, type IssuedSession, type Principal, type StsOperation } from './sts';
import { Throttle, type ThrottleSettings } from './throttle';

/** An access key the emulator knows: it checks signatures made with it. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The key's session has ended: every request is refused with ExpiredToken. @default false */
  readonly expired?: boolean;
  /**
   * What the key's policies do not allow, as IAM answers it: AccessDenied for these IAM actions (e.g.
   * "iam:GenerateServiceLastAccessedDetails"), on every resource or only on ARNs starting with one of
   * `arnPrefixes`. @default nothing denied
   */
  readonly deny?: { readonly actions: readonly string[]; readonly arnPrefixes?: readonly string[] };
}

export interface EmulatorOptions extends JobSettings {
  /** One account (its own hub, in no organization)... */
  readonly account?: Account;
  /** ...or an organization of accounts. */
  readonly organization?: Organization;
  /** Port on 127.0.0.1; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Simulated seconds per real second, for latency, throttling, sessions and job dates. @default 1 */
  readonly timeScale?: number;
  /** Token-bucket throttling per operation, in each account on its own. @default off */
  readonly throttle?: ThrottleSettings;
  /**
   * Token-bucket throttling of Organizations, per operation for the whole organization, answered with
   * `TooManyRequestsException` as Organizations does (it publishes no rates). @default off
   */
  readonly organizationsThrottle?: ThrottleSettings;
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
  /** Sessions last at most this many seconds, whatever AssumeRole asks: a test knob. @default no limit */
  readonly maxSessionSeconds?: number;
  /** Organizations answers every other page empty, with a NextToken. @default true */
  readonly emptyOrganizationPages?: boolean;
  /**
   * Simulated milliseconds each answer takes, by operation (`GetAccountAuthorizationDetails`,
   * `ListAccounts`, `AssumeRole`...), `*` for any other: an assumed figure for AWS's own latency, which
   * the emulator otherwise does not have. Throttling is decided when a request arrives. @default none
   */
  readonly requestLatencyMs?: Readonly<Record<string, number>>;
}

/** One request as the emulator saw it. */
export interface RecordedCall {
  readonly at: number;
  readonly operation: string;
  readonly caller: string;
  /** The account the call acted in. */
  readonly accountId: string;
  /** The ARN the call names: an entity's (`Arn`), or the role to assume (`RoleArn`). */
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
  /** Every IAM, STS and Organizations operation the emulator serves. */
  readonly operations: Record<Operation, OperationStats> & Record<string, OperationStats>;
  readonly totals: OperationStats;
  /** Requests refused before any operation ran (no signature, a bad one, an unknown or expired key). */
  readonly refused: number;
  /** Connections destroyed by `resetConnections`. */
  readonly resets: number;
  /** Calls per access key id, of requests that passed authentication. */
  readonly callsByKey: Record<string, number>;
  /** IAM calls per account. */
  readonly iamCallsByAccount: Record<string, number>;
  /** Sessions AssumeRole issued. */
  readonly sessions: number;
  readonly jobs: number;
  /**
   * Of the jobs a Get found finished, in every account, the one IAM finished last, with when it was
   * generated: a run cannot end before then. Null before any job was read finished.
   */
  readonly lastJobFinished: { readonly arn: string; readonly generatedAt: string; readonly finishedAt: string } | null;
  readonly simulatedNow: string;
  readonly timeScale: number;
}

export interface RunningEmulator {
  readonly url: string;
  readonly port: number;
  readonly clock: Clock;
  /** The hub's account (the one account, when there is no organization). */
  readonly account: Account;
  readonly organization: Organization;
  stats(): EmulatorStats;
  /** The call log (empty unless `recordCalls`). */
  calls(): readonly RecordedCall[];
  /** Adds a key whose signatures are checked from now on. */
  addCredentials(credentials: Credentials): void;
  resetStats(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

const ALL_OPERATIONS: readonly string[] = [...OPERATIONS, ...STS_OPERATIONS, ...ORGANIZATIONS_OPERATIONS];

export async function startEmulator(options: EmulatorOptions): Promise<RunningEmulator> {
  if (!options.account === !options.organization) throw new RangeError('startEmulator needs an account or an organization (one of them)');
  const organization = options.organization ?? loneAccount(options.account!);
  const clock = options.clock ?? new ScaledClock(options.timeScale ?? 1);
  const hub = organization.byId.get(organization.auditAccountId)?.account ?? loadAccount({ accountId: organization.auditAccountId, entities: [] }, 'the hub');
  // IAM and its buckets, account by account.
  const iamOf = new Map<string, { backend: IamBackend; throttle: Throttle }>();
  for (const account of [hub, ...organization.accounts.map((a) => a.account)]) {
    if (!iamOf.has(account.accountId)) iamOf.set(account.accountId, { backend: new IamBackend(account, clock, options), throttle: new Throttle(options.throttle) });
  }
  const staticKeys = new Map<string, Credentials>((options.credentials ?? []).map((c) => [c.accessKeyId, c]));
  const sessions = new Map<string, IssuedSession>();
  const sts = new StsBackend(organization, clock, (session) => sessions.set(session.accessKeyId, session), { maxSessionSeconds: options.maxSessionSeconds });
  const organizations = new OrganizationsBackend(organization, { emptyPages: options.emptyOrganizationPages });
  const organizationsThrottle = options.organizationsThrottle ? new Throttle(options.organizationsThrottle) : undefined;
  const random = options.random ?? Math.random;
  const latencies = options.requestLatencyMs ?? {};
  // A virtual clock stands still while a request is in flight: an answer waiting on it would never come.
  if (Object.keys(latencies).length > 0 && clock.timeScale === Infinity) throw new RangeError('requestLatencyMs needs a scaled clock, not a virtual one');
  for (const [operation, ms] of Object.entries(latencies)) {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`requestLatencyMs.${operation} must be a number of milliseconds from 0, got ${ms}`);
  }
  /** Answers after the operation's latency, on the emulator's clock. */
  const answerAfter = (operation: string | undefined, answer: () => void): void => {
    const ms = (operation !== undefined ? latencies[operation] : undefined) ?? latencies['*'] ?? 0;
    if (ms > 0) void clock.sleep(ms).then(answer);
    else answer();
  };
  const resetShare = options.resetConnections ?? 0;
  if (!(resetShare >= 0 && resetShare <= 1)) throw new RangeError(`resetConnections must be from 0 to 1, got ${resetShare}`);
  let counters = emptyCounters();
  let refused = 0;
  let resets = 0;
  let callsByKey: Record<string, number> = {};
  let iamCallsByAccount: Record<string, number> = {};
  const log: RecordedCall[] = [];
  const record = (operation: string, caller: Principal, params: QueryParams | undefined, outcome: string, jobId?: string): void => {
    if (options.recordCalls) {
      log.push({ at: clock.now(), operation, caller: caller.accessKeyId, accountId: caller.accountId, arn: params?.get('Arn') ?? params?.get('RoleArn'), jobId: jobId ?? params?.get('JobId'), outcome });
    }
  };

  const resetStats = (): void => {
    counters = emptyCounters();
    refused = 0;
    resets = 0;
    callsByKey = {};
    iamCallsByAccount = {};
  };

  const lastJobFinished = (): EmulatorStats['lastJobFinished'] => {
    let last: FinishedJob | null = null;
    for (const { backend } of iamOf.values()) {
      const job = backend.lastJobFinished;
      if (job && (last === null || job.completedAt > last.completedAt)) last = job;
    }
    return last && { arn: last.arn, generatedAt: new Date(last.createdAt).toISOString(), finishedAt: new Date(last.completedAt).toISOString() };
  };

  const stats = (): EmulatorStats => {
    const totals = { calls: 0, throttled: 0, errors: 0 };
    for (const op of OPERATIONS) {
      totals.calls += counters[op].calls;
      totals.throttled += counters[op].throttled;
      totals.errors += counters[op].errors;
    }
    return {
      operations: structuredClone(counters) as EmulatorStats['operations'],
      totals,
      refused,
      resets,
      callsByKey: { ...callsByKey },
      iamCallsByAccount: { ...iamCallsByAccount },
      sessions: sessions.size,
      jobs: [...iamOf.values()].reduce((n, a) => n + a.backend.jobCount, 0),
      lastJobFinished: lastJobFinished(),
      simulatedNow: new Date(clock.now()).toISOString(),
      timeScale: clock.timeScale,
    };
  };

  /** Who is calling, once the request's signature holds as AWS would check it and its session is live. */
  const authenticate = (signed: SignedRequest): Principal => {
    const signature = readSignature(signed, Date.now());
    const session = sessions.get(signature.accessKeyId);
    if (session) {
      if (!signatureMatches(signed, signature, session.secretAccessKey)) throw signatureDoesNotMatch();
      if (clock.now() >= session.expiresAt) throw expiredToken();
      return session;
    }
    const known = staticKeys.get(signature.accessKeyId);
    if (known === undefined && options.strictAuth) throw invalidClientTokenId();
    if (known !== undefined && !signatureMatches(signed, signature, known.secretAccessKey)) throw signatureDoesNotMatch();
    if (known?.expired) throw expiredToken();
    const arn = `arn:aws:iam::${organization.auditAccountId}:user/${signature.accessKeyId}`;
    return { accessKeyId: signature.accessKeyId, accountId: organization.auditAccountId, arn, userId: derivedEntityId('user', arn) };
  };

  /** The code an error answers with, as the call log records it. */
  const errorCode = (err: unknown): string => (err instanceof IamError ? err.code : err instanceof OrganizationsError ? err.type : 'ServiceFailure');

  /** Runs one operation under its counters; `throttle` decides first when given, and `refusal` is its answer. */
  const counted = <T extends object>(
    operation: string,
    caller: Principal,
    params: QueryParams | undefined,
    throttle: Throttle | undefined,
    run: () => T,
    outcomeOf: (result: T) => string,
    refusal: () => IamError | OrganizationsError = throttling,
  ): T => {
    counters[operation].calls++;
    if (throttle && !throttle.admit(operation, clock.now())) {
      counters[operation].throttled++;
      const refused = refusal();
      record(operation, caller, params, errorCode(refused));
      throw refused;
    }
    try {
      const result = run();
      const jobId = (result as { JobId?: unknown }).JobId;
      record(operation, caller, params, outcomeOf(result), typeof jobId === 'string' ? jobId : undefined);
      return result;
    } catch (err) {
      counters[operation].errors++;
      record(operation, caller, params, errorCode(err));
      throw err;
    }
  };

  const handleQuery = (body: Buffer, res: ServerResponse, caller: Principal, query: string): void => {
    const requestId = newRequestId();
    const params = QueryParams.parse(query, body.toString('utf8'));
    const action = params.get('Action');
    const isSts = (STS_OPERATIONS as readonly string[]).includes(action ?? '');
    const xmlns = isSts ? STS_XMLNS : undefined;
    try {
      if (!action) throw new IamError('MissingAction', 'The request must contain the parameter Action', 400);
      if (isSts) {
        const result = counted(action, caller, params, undefined, () => sts.handle(action as StsOperation, params, caller), () => 'OK');
        answerAfter(action, () => send(res, 200, successXml(action, result, requestId, xmlns), requestId));
        return;
      }
      if (!(OPERATIONS as readonly string[]).includes(action)) throw new IamError('InvalidAction', `Could not find operation ${action} for version 2010-05-08`, 400);
      const iam = iamOf.get(caller.accountId)!;
      iamCallsByAccount[caller.accountId] = (iamCallsByAccount[caller.accountId] ?? 0) + 1;
      const deny = staticKeys.get(caller.accessKeyId)?.deny;
      const arn = params.get('Arn');
      if (deny && deny.actions.includes(`iam:${action}`) && (!deny.arnPrefixes || (arn !== undefined && deny.arnPrefixes.some((p) => arn.startsWith(p))))) {
        counters[action].calls++;
        counters[action].errors++;
        record(action, caller, params, 'AccessDenied');
        throw new IamError('AccessDenied', `User: ${caller.arn} is not authorized to perform: iam:${action} on resource: ${arn ?? '*'} because no identity-based policy allows the iam:${action} action`, 403);
      }
      const result = counted(
        action,
        caller,
        params,
        iam.throttle,
        () => iam.backend.handle(action as Operation, params, caller.accessKeyId),
        (r) => (typeof r.JobStatus === 'string' ? r.JobStatus : 'OK'),
      );
      answerAfter(action, () => send(res, 200, successXml(action, result, requestId), requestId));
    } catch (err) {
      const error = err instanceof IamError ? err : new IamError('ServiceFailure', `Internal emulator error: ${(err as Error).message}`, 500);
      answerAfter(action, () => send(res, error.status, errorXml(error, requestId, xmlns), requestId));
    }
  };

  const handleJson = (res: ServerResponse, target: string, body: Buffer, caller: Principal): void => {
    const requestId = newRequestId();
    const operation = target.slice(ORGANIZATIONS_TARGET_PREFIX.length);
    try {
      if (!(ORGANIZATIONS_OPERATIONS as readonly string[]).includes(operation)) throw new OrganizationsError('UnknownOperationException', `Unknown operation ${target}`);
      let input: Record<string, unknown>;
      try {
        input = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as Record<string, unknown>);
      } catch {
        throw new OrganizationsError('SerializationException', 'The request body is not JSON.');
      }
      const result = counted(operation, caller, undefined, organizationsThrottle, () => organizations.handle(operation as OrganizationsOperation, input, caller), () => 'OK', tooManyRequests);
      answerAfter(operation, () => sendJson(res, 200, result, requestId));
    } catch (err) {
      const error = err instanceof OrganizationsError ? err : new OrganizationsError('ServiceException', `Internal emulator error: ${(err as Error).message}`, 500);
      answerAfter(operation, () => {
        res.writeHead(error.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId, 'x-amzn-errortype': error.type });
        res.end(JSON.stringify({ __type: error.type, Message: error.message }));
      });
    }
  };

  const handle = (req: IncomingMessage, body: Buffer, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
    const target = String(req.headers['x-amz-target'] ?? '');
    let caller: Principal;
    try {
      caller = authenticate({ method: req.method ?? 'POST', path: url.split('?')[0], query, headers: req.headers, body });
    } catch (err) {
      refused++;
      const error = err instanceof IamError ? err : new IamError('ServiceFailure', `Internal emulator error: ${(err as Error).message}`, 500);
      if (target.startsWith(ORGANIZATIONS_TARGET_PREFIX)) {
        res.writeHead(error.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': error.code });
        res.end(JSON.stringify({ __type: error.code, Message: error.message }));
      } else {
        const requestId = newRequestId();
        send(res, error.status, errorXml(error, requestId), requestId);
      }
      return;
    }
    callsByKey[caller.accessKeyId] = (callsByKey[caller.accessKeyId] ?? 0) + 1;
    if (target.startsWith(ORGANIZATIONS_TARGET_PREFIX)) handleJson(res, target, body, caller);
    else handleQuery(body, res, caller, query);
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
        handle(req, Buffer.concat(chunks), res);
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
    account: hub,
    organization,
    stats,
    calls: () => log,
    addCredentials: (c) => staticKeys.set(c.accessKeyId, c),
    resetStats,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function emptyCounters(): Record<string, OperationStats> {
  return Object.fromEntries(ALL_OPERATIONS.map((op) => [op, { calls: 0, throttled: 0, errors: 0 }]));
}

function sendJson(res: ServerResponse, status: number, body: unknown, requestId: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function send(res: ServerResponse, status: number, xml: string, requestId: string): void {
  res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
}
