/**
 * Lambda's execution model, locally: each function has its own execution environments, a worker thread
 * each, with its own environment variables and its own credentials. An environment serves one invocation
 * at a time and is reused; a new one is added when all are busy. Like Lambda, the credentials belong to
 * the environment, so an IAM JobId generated in one environment is unknown to another.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { Clock, ClockAnchor } from '../../lambda/core/clock';
import type { StoreRequests } from '../../lambda/core/store';
import type { LocalFunction } from './template';

const WORKER = join(__dirname, 'lambda-worker.cjs');
/** Each environment's young generation, in MB: enough for the functions' short-lived objects. */
const YOUNG_GENERATION_MB = 8;
/** Real time allowed beyond a function's (scaled) timeout before the environment is killed. */
const GRACE_MS = 2_000;
/** A timed-out environment whose event loop was busy this share of the time was computing, not waiting. */
const COMPUTING_SHARE = 0.5;

/**
 * A function's environment variables, but for `--enable-source-maps` in NODE_OPTIONS, which a worker
 * thread applies as Lambda does: Node would parse the bundle's source map as it loads, some 6 MB of heap
 * an environment, and here 20 or more environments share one process. lambda-worker.cjs maps a failed
 * invocation's trace instead, from the map read then, so the trace names the same lines. The peak heap
 * this model measures for a function is then some 6 MB less than Lambda's would be.
 */
function withoutEagerSourceMaps(variables: Readonly<Record<string, string>>): { environment: Record<string, string>; sourceMaps: boolean } {
  const { NODE_OPTIONS, ...environment } = variables;
  const options = (NODE_OPTIONS ?? '').split(/\s+/).filter((o) => o !== '');
  const kept = options.filter((o) => o !== '--enable-source-maps');
  return { environment: kept.length > 0 ? { ...environment, NODE_OPTIONS: kept.join(' ') } : environment, sourceMaps: kept.length < options.length };
}

export interface LambdaErrorPayload {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace?: readonly string[];
}

/** A function error as Step Functions sees it: the error name is errorType, the cause the whole payload. */
export class LambdaFunctionError extends Error {
  constructor(readonly payload: LambdaErrorPayload) {
    super(JSON.stringify(payload));
    this.name = payload.errorType;
  }
}

/**
 * Lambda's concurrency quota: the concurrent executions of every function of an account and Region
 * together. An invocation beyond it is refused before it runs (nothing is executed, billed or counted
 * as an invocation), and Step Functions reports the refusal as `Lambda.TooManyRequestsException`.
 */
export class LambdaConcurrencyQuota {
  private inUse = 0;
  private reserved = 0;

  /** @param limit concurrent executions allowed (new AWS accounts may have as few as 10) */
  constructor(readonly limit: number) {
    if (!(limit >= 1) || !Number.isInteger(limit)) throw new RangeError(`lambdaConcurrency must be a whole number of 1 or more, got ${limit}`);
  }

  /** Executions the functions without a reservation share. */
  get unreserved(): number {
    return this.limit - this.reserved;
  }

  /**
   * Sets executions aside for one function (its reserved concurrency), out of the unreserved ones. Lambda
   * keeps 100 unreserved and refuses a deployment that would leave fewer; this model keeps at least one.
   */
  reserve(functionName: string, executions: number): void {
    if (this.unreserved - executions < 1) {
      throw new RangeError(`${functionName} reserves ${executions} concurrent executions, and the account's quota of ${this.limit} leaves ${this.unreserved} unreserved: Lambda keeps 100 unreserved and would refuse it`);
    }
    this.reserved += executions;
  }

  /** Takes one unreserved execution when one is free. */
  take(): boolean {
    if (this.inUse >= this.unreserved) return false;
    this.inUse++;
    return true;
  }

  release(): void {
    this.inUse--;
  }
}

/** An invocation Lambda refused for its concurrency quota, named as Step Functions' Retry and Catch see it. */
export class LambdaThrottled extends Error {
  override readonly name = 'Lambda.TooManyRequestsException';
  constructor(functionName: string, limit: number, reason: 'ConcurrentInvocationLimitExceeded' | 'ReservedFunctionConcurrentInvocationLimitExceeded') {
    super(`Rate Exceeded. (Service: Lambda, Status Code: 429): ${functionName} refused, ${limit} concurrent executions in use (${reason})`);
  }
}

interface Environment {
  readonly worker: Worker;
  readonly accessKeyId: string;
  /** Settles once the environment has loaded the function's code. */
  readonly ready: Promise<void>;
  busy: boolean;
}

/** A fault to inject into one invocation. */
export interface InvocationFault {
  /** Kill the environment, as a crash would, as soon as this returns true (checked every few ms). */
  readonly killWhen?: () => boolean;
}

/**
 * Hook to inject faults in tests: it may throw to fail an invocation before it runs, or return a fault.
 * `invocation` counts the function's invocations from 1.
 */
export type InvocationHook = (fn: LocalFunction, invocation: number, event: unknown) => InvocationFault | void | Promise<InvocationFault | void>;

export interface LocalLambdaOptions {
  readonly fn: LocalFunction;
  /** Variables added to the template's (local endpoints, the store directory, the clock). */
  readonly environment: Record<string, string>;
  /** The run's clock, passed with each invocation when the environment keeps simulated time (LOCAL_CLOCK). */
  readonly clock: Clock & { readonly anchor: ClockAnchor };
  /** Where the function's console output goes. */
  readonly log?: Writable;
  readonly beforeInvoke?: InvocationHook;
  /** Salt for credentials, so two runs never share an access key id. */
  readonly runNonce: string;
  /** Run every invocation in a new environment, with new credentials (as after a credential rotation). @default false */
  readonly freshEnvironments?: boolean;
  /** Told each new environment's credentials, so the emulator can check the signatures made with them. */
  readonly onCredentials?: (credentials: { accessKeyId: string; secretAccessKey: string }) => void;
  /** Credentials every environment shares, instead of its own (a run from a laptop: one principal). */
  readonly sharedCredentials?: boolean;
  /** The account's concurrency quota, which every function's invocations share. @default no limit */
  readonly quota?: LambdaConcurrencyQuota;
}

export class LocalLambda {
  private readonly environments: Environment[] = [];
  private closed = false;
  private invocationCount = 0;
  private throttleCount = 0;
  private inFlight = 0;
  private peakInFlight = 0;
  private environmentCount = 0;
  private billedMs = 0;
  /** What the function's invocations asked of the report store, as S3 would bill it. */
  readonly storeRequests: StoreRequests = { put: 0, get: 0, list: 0 };
  /** The largest heap any invocation's environment reached, in bytes. */
  peakHeapBytes = 0;
  /** Real time spent in the function's invocations, in ms. */
  realMs = 0;
  /**
   * Invocations that timed out while their environment was computing most of the time: their CPU work,
   * which does not speed up with the clock, took longer than the time scale leaves it.
   */
  readonly computeTimeouts: Array<{ readonly busyRealMs: number; readonly realMs: number }> = [];

  /** The environment variables every environment of the function gets, and whether it asked for source maps. */
  private readonly variables: { readonly environment: Record<string, string>; readonly sourceMaps: boolean };

  constructor(private readonly options: LocalLambdaOptions) {
    this.variables = withoutEagerSourceMaps({ ...options.fn.environment, ...options.environment });
  }

  get invocations(): number {
    return this.invocationCount;
  }

  /** Invocations refused for the account's concurrency quota or the function's reserved concurrency. */
  get throttles(): number {
    return this.throttleCount;
  }

  /** The most invocations of the function that ran at once. */
  get peakConcurrency(): number {
    return this.peakInFlight;
  }

  /** Duration Lambda would bill (simulated), in GB-seconds at the function's memory size. */
  get gbSeconds(): number {
    return (this.billedMs / 1000) * (this.options.fn.memorySize / 1024);
  }

  /**
   * Runs one invocation, unless Lambda's concurrency refuses it: a function with reserved concurrency
   * runs at most that many at once, out of its reservation; the others share the account's unreserved
   * executions, when the run has a quota.
   */
  async invoke(event: unknown): Promise<unknown> {
    const { fn, quota } = this.options;
    // A failed execution's other branches may still reach a Task: an environment started now would
    // never be closed, and would keep the process alive.
    if (this.closed) throw new Error(`${fn.logicalId} was invoked after the run ended`);
    const reserved = fn.reservedConcurrency;
    const admitted = reserved !== undefined ? this.inFlight < reserved : (quota?.take() ?? true);
    if (!admitted) {
      this.throttleCount++;
      throw reserved !== undefined
        ? new LambdaThrottled(fn.logicalId, reserved, 'ReservedFunctionConcurrentInvocationLimitExceeded')
        : new LambdaThrottled(fn.logicalId, quota!.unreserved, 'ConcurrentInvocationLimitExceeded');
    }
    this.inFlight++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    try {
      return await this.execute(event);
    } finally {
      this.inFlight--;
      if (reserved === undefined) quota?.release();
    }
  }

  private async execute(event: unknown): Promise<unknown> {
    const { fn, clock } = this.options;
    const invocation = ++this.invocationCount;
    const reusable = this.options.freshEnvironments ? undefined : this.environments.find((e) => !e.busy);
    const env = reusable ?? this.addEnvironment();
    env.busy = true;
    const requestId = `${fn.logicalId}-${invocation}`;
    // What Lambda itself writes to the function's log when an invocation ends without the handler's answer.
    const platformError = (payload: LambdaErrorPayload): LambdaFunctionError => {
      this.options.log?.write(`${new Date(clock.now()).toISOString()}\t${requestId}\t${payload.errorType === 'Sandbox.Timedout' ? payload.errorMessage : `Error: ${payload.errorType}: ${payload.errorMessage}`}\n`);
      return new LambdaFunctionError(payload);
    };
    let fault: InvocationFault | void;
    try {
      fault = await this.options.beforeInvoke?.(fn, invocation, event);
    } catch (err) {
      // The injected fault kills the environment, as a crash would.
      this.discard(env);
      throw platformError({ errorType: 'Runtime.ExitError', errorMessage: (err as Error).message });
    }
    const started = clock.now();
    const realStarted = Date.now();
    const utilizationAtStart = env.worker.performance.eventLoopUtilization();
    const id = invocation;
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        this.billedMs += Math.ceil(clock.now() - started);
        clearTimeout(timer);
        clearInterval(killer);
        env.worker.off('message', onMessage);
        env.worker.off('error', onError);
        env.worker.off('exit', onExit);
      };
      const onMessage = (message: { id: number; result?: unknown; error?: LambdaErrorPayload; storeRequests?: StoreRequests; peakHeapBytes?: number; realMs?: number }): void => {
        if (message.id !== id) return;
        finish();
        if (message.storeRequests) for (const kind of ['put', 'get', 'list'] as const) this.storeRequests[kind] += message.storeRequests[kind];
        this.peakHeapBytes = Math.max(this.peakHeapBytes, message.peakHeapBytes ?? 0);
        this.realMs += message.realMs ?? 0;
        if (this.options.freshEnvironments) this.discard(env);
        else env.busy = false;
        if (message.error) reject(new LambdaFunctionError(message.error));
        else resolve(message.result);
      };
      const onError = (err: Error): void => {
        finish();
        this.discard(env);
        reject(platformError({ errorType: 'Runtime.ExitError', errorMessage: err.message }));
      };
      const onExit = (code: number): void => {
        finish();
        this.discard(env);
        reject(platformError({ errorType: 'Runtime.ExitError', errorMessage: `the environment exited with code ${code}` }));
      };
      const timer = setTimeout(() => {
        const busy = env.worker.performance.eventLoopUtilization(utilizationAtStart);
        finish();
        if (busy.utilization >= COMPUTING_SHARE) this.computeTimeouts.push({ busyRealMs: busy.active, realMs: Date.now() - realStarted });
        this.discard(env);
        reject(platformError({ errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${fn.timeoutSeconds} seconds` }));
      }, (fn.timeoutSeconds * 1000) / clock.timeScale + GRACE_MS);
      const killWhen = fault ? fault.killWhen : undefined;
      const killer = killWhen
        ? setInterval(() => {
            if (!killWhen()) return;
            finish();
            this.discard(env);
            reject(platformError({ errorType: 'Runtime.ExitError', errorMessage: 'the execution environment died (injected fault)' }));
          }, 5)
        : undefined;
      env.worker.on('message', onMessage);
      env.worker.on('error', onError);
      env.worker.on('exit', onExit);
      // The environment starts the function's clock when it takes the invocation: like Lambda, its
      // initialization does not count against the timeout.
      // The run's clock as it is now: the environment may have loaded before the run began.
      const anchor = this.variables.environment.LOCAL_CLOCK === undefined ? undefined : JSON.stringify(clock.anchor);
      env.worker.postMessage({ id, event, timeoutMs: fn.timeoutSeconds * 1000, requestId, anchor });
    });
  }

  /**
   * Starts `count` environments and waits until each has loaded the function's code, as provisioned
   * concurrency would: their start-up is then not part of the run's time.
   */
  async prewarm(count: number): Promise<void> {
    if (this.options.freshEnvironments) return;
    const started = Array.from({ length: Math.max(0, count - this.environments.length) }, () => this.addEnvironment());
    await Promise.all(started.map((e) => e.ready));
  }

  /** Ends every environment; the function takes no invocation after. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.environments.splice(0).map((e) => e.worker.terminate()));
  }

  private addEnvironment(): Environment {
    const { fn, log, runNonce } = this.options;
    const index = ++this.environmentCount;
    const digest = createHash('sha256').update(`${runNonce}/${fn.logicalId}/${index}`).digest('hex').toUpperCase();
    const accessKeyId = `ASIA${digest.slice(0, 16)}`;
    const secretAccessKey = digest.slice(16, 56);
    this.options.onCredentials?.({ accessKeyId, secretAccessKey });
    const credentials = this.options.sharedCredentials
      ? {}
      : { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: `local-session-${digest.slice(0, 24)}` };
    const { environment, sourceMaps } = this.variables;
    const worker = new Worker(WORKER, {
      env: {
        PATH: process.env.PATH ?? '',
        ...environment,
        AWS_LAMBDA_FUNCTION_NAME: fn.logicalId,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
        ...credentials,
      },
      workerData: { entry: fn.entry, handlerName: fn.handlerName, functionName: fn.logicalId, functionArn: fn.arn, memorySize: fn.memorySize, sourceMaps },
      // Lambda's memory setting bounds the environment's heap, as it bounds the function in AWS. The young
      // generation is kept small: in Lambda each environment has its own memory, here some 25 share one
      // process, and V8 lets each grow its young generation to tens of MB (250 MB more at 20 x 500).
      resourceLimits: { maxOldGenerationSizeMb: fn.memorySize, maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
      // Lambda's Node.js, not this process's flags: a thread would otherwise inherit its loader (tsx) and
      // the source maps tsx enables.
      execArgv: [],
      stdout: true,
      stderr: true,
    });
    for (const stream of [worker.stdout, worker.stderr]) stream.on('data', (chunk: Buffer) => log?.write(chunk));
    const ready = new Promise<void>((resolve) => {
      const onReady = (message: { ready?: boolean }): void => {
        if (!message.ready) return;
        worker.off('message', onReady);
        resolve();
      };
      worker.on('message', onReady);
      worker.once('exit', () => resolve());
    });
    const env: Environment = { worker, accessKeyId, ready, busy: false };
    this.environments.push(env);
    return env;
  }

  private discard(env: Environment): void {
    const i = this.environments.indexOf(env);
    if (i >= 0) this.environments.splice(i, 1);
    void env.worker.terminate();
  }
}
