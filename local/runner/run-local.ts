/**
 * The local run: synthesizes the app (or takes the kept synth of the same code and settings), starts the
 * IAM emulator in-process, and executes the state machine definition that `cdk synth` wrote with
 * aws-local-stepfunctions, invoking the Lambda code esbuild bundled into cdk.out in worker-thread
 * execution environments with the environment variables the template gives each function. Reports go
 * to a directory, in the S3 layout.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { appendFileSync, createWriteStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { keys, type RunSummary } from '../../lambda/core/model';
import { runIdOf } from '../../lambda/core/plan';
import { DirectoryReportStore, getJsonOrNull, makeDirectory, S3ReportStore, type ReportStore, type StoreRequests } from '../../lambda/core/store';
import type { AuditSettings } from '../../lib/settings';
import { startEmulator, type Account, type EmulatorOptions, type EmulatorStats, type Organization, type RecordedCall } from '../emulator';
import { RunClock } from '../emulator/clock';
import { LambdaConcurrencyQuota, LocalLambda, type InvocationHook } from './lambda-pool';
import { synthesize, SYNTHESIS_CACHE } from './synthesis';
import { LOCAL_REGION, readSynthesizedWorkflow, type SynthesizedWorkflow } from './template';

export { SynthesisError } from './synthesis';

/** Step Functions' limit on the data a state passes on. */
export const MAX_STATE_PAYLOAD_BYTES = 256 * 1024;

export interface LocalRunProgress {
  readonly listed: number | null;
  readonly batches: number | null;
  readonly batchesDone: number;
  /**
   * Reports so far: the report files in the output directory, counted every second (an invocation
   * returns its counts only when its batch is done, minutes later against AWS), or the invocations'
   * counts where larger or when reports go to S3.
   */
  readonly reported: number;
  readonly skipped: number;
  readonly failed: number;
  /** IAM calls so far, as the emulator counts them (null against AWS, where nothing counts them for us). */
  readonly iamCalls: number | null;
  readonly throttled: number | null;
  readonly simulatedSeconds: number;
}

/**
 * A run against AWS itself (or wherever the SDK's standard configuration points): the workflow and the
 * bundled functions run here, in real time, every environment with the caller's credentials.
 */
export interface AwsTarget {
  /** The caller's account: the account audited, or the organization's account the run starts from. */
  readonly accountId: string;
  readonly region: string;
  /** Resolved once, so that every environment is the same session and reads the JobIds the others made. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** More variables for the environments: endpoint overrides, proxies, CA bundles. */
  readonly environment: Readonly<Record<string, string>>;
}

export interface LocalRunOptions {
  /** The account to audit (the pipeline runs in it)... */
  readonly account?: Account;
  /** ...or the organization to audit from its audit account, through each account's member role. */
  readonly organization?: Organization;
  /** Where reports go, in the S3 layout (and the functions' logs, under .logs/). */
  readonly outDir: string;
  /** Send reports to this S3 bucket instead of outDir, as deployed functions do. */
  readonly s3?: { readonly endpoint: string; readonly bucket: string };
  /** The execution input. @default {} */
  readonly input?: unknown;
  /** Simulated seconds per real second for the emulator, the Lambdas' clocks and the workflow's waits. @default 1 */
  readonly timeScale?: number;
  /** Emulator behaviour: throttling, job latency, short pages, reset connections, session length. */
  readonly emulator?: Pick<EmulatorOptions, 'throttle' | 'jobLatencyMs' | 'slowJobLatencyMs' | 'shortPages' | 'recordCalls' | 'resetConnections' | 'random' | 'maxSessionSeconds' | 'requestLatencyMs' | 'organizationsThrottle'>;
  /** Settings that replace those of cdk.json for this run. */
  readonly settings?: Partial<AuditSettings>;
  /** Execution name, which is the run id. @default local-<time>-<random> */
  readonly executionName?: string;
  readonly onProgress?: (progress: LocalRunProgress) => void;
  /** Fault injection for tests. */
  readonly beforeInvoke?: InvocationHook;
  /** Run every Lambda invocation in a new execution environment with new credentials. @default false */
  readonly freshEnvironments?: boolean;
  /**
   * Told each execution environment's access key, with its function's logical id, as the environment
   * starts: whoever serves the functions' requests (the emulator, an S3 endpoint) can tell by it which
   * function sent one. Not called when the run uses the caller's own credentials (`aws`).
   */
  readonly onFunctionCredentials?: (functionLogicalId: string, accessKeyId: string) => void;
  /**
   * Lambda's concurrency quota of the hub account, shared by every function: an invocation beyond it is
   * refused (`Lambda.TooManyRequestsException`) and the workflow retries it. New AWS accounts may have
   * as few as 10. @default no limit
   */
  readonly lambdaConcurrency?: number;
  /** Audit AWS itself instead of the emulator (`account` and `organization` are then not given). */
  readonly aws?: AwsTarget;
  /**
   * Aborting it interrupts the run: no invocation starts after it, those in flight are stopped, and
   * Summarize writes an INCOMPLETE summary in which every unsettled entity failed as Interrupted.
   */
  readonly signal?: AbortSignal;
  /**
   * Where synthesized apps are kept: a synth of the same sources and settings kept there is used, a new
   * one is kept there (see ./synthesis). Null: synthesized afresh into a temporary directory, removed
   * after the run.
   * @default node_modules/.cache/iam-access-audit/synth
   */
  readonly synthesisCache?: string | null;
}

export interface LocalRunResult {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly error?: { readonly Error: string; readonly Cause: string };
  readonly runId: string;
  readonly outDir: string;
  /** The execution's output, when it succeeded. */
  readonly output?: unknown;
  readonly summary?: RunSummary;
  /** Identities Plan listed, or null when the run ended before Plan did. */
  readonly listed: number | null;
  /** Why a function's log under `.logs/` is incomplete (the first log that could not be written), or null. */
  readonly logTrouble: string | null;
  readonly stats: {
    /** When the run started, on the clock that IAM (the emulator) keeps. */
    readonly simulatedStart: string;
    readonly simulatedSeconds: number;
    readonly realSeconds: number;
    readonly stateTransitions: number;
    readonly lambdaInvocations: Record<string, number>;
    /** Invocations of each function that Lambda's concurrency refused (each retried by the workflow). */
    readonly lambdaThrottles: Record<string, number>;
    /** The most invocations of each function that ran at once. */
    readonly lambdaPeakConcurrency: Record<string, number>;
    /** Real time spent in each function's invocations, in seconds. */
    readonly lambdaRealSeconds: Record<string, number>;
    /** The largest heap an environment of each function reached, in MB (Lambda's memory setting must hold it). */
    readonly lambdaPeakHeapMb: Record<string, number>;
    /**
     * Invocations that timed out while computing (see LocalLambda.computeTimeouts): a sign that the time
     * scale is more than this machine keeps up with.
     */
    readonly computeTimeouts: ReadonlyArray<{ readonly functionName: string; readonly busyRealSeconds: number }>;
    /** Each function's memory setting, from the template, in MB. */
    readonly lambdaMemoryMb: Record<string, number>;
    /** Lambda duration as billed, in GB-seconds of simulated time. */
    readonly lambdaGbSeconds: Record<string, number>;
    readonly maxStatePayloadBytes: number;
    readonly objectsWritten: number;
    /** Requests the functions made to the report store, as S3 would bill them. */
    readonly storeRequests: StoreRequests;
    /** The emulator's counters (null for a run against AWS). */
    readonly emulator: EmulatorStats | null;
    /** The emulator's call log, when `emulator.recordCalls` was set. */
    readonly iamCallLog: readonly RecordedCall[];
    /**
     * Peak resident memory of the whole local run, in MB: the run's own process, or that process and
     * the synthesis process together while the app was synthesized, whichever was more.
     */
    readonly peakRssMb: number;
  };
}

/** Node 20 lacks Promise.withResolvers, which aws-local-stepfunctions uses. */
function polyfillWithResolvers(): void {
  const P = Promise as unknown as { withResolvers?: () => unknown };
  if (P.withResolvers) return;
  P.withResolvers = () => {
    let resolve!: (v: unknown) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  polyfillWithResolvers();
  const { StateMachine } = await import('aws-local-stepfunctions');
  const realStart = Date.now();
  const quota = options.lambdaConcurrency === undefined ? undefined : new LambdaConcurrencyQuota(options.lambdaConcurrency);
  const outDir = resolve(options.outDir);
  makeDirectory(outDir);
  // The run's store, as the runner reads it back (the functions and the workflow's own writes reach the same objects).
  const store = localStore(options, outDir);
  const objectsBefore = await countObjects(store);
  if ([options.account, options.organization, options.aws].filter(Boolean).length !== 1) throw new RangeError('runLocal needs one of an account, an organization or an AWS target');
  // The pipeline runs in the account (or the organization's audit account), and audits the organization's accounts through their member roles.
  const hubAccountId = options.aws?.accountId ?? options.organization?.auditAccountId ?? options.account!.accountId;
  const settings: Partial<AuditSettings> = options.organization
    ? { accounts: { source: 'organization', memberRoleName: options.organization.memberRoleName, organizationalUnitIds: [], excludeAccountIds: [] }, ...options.settings }
    : { ...options.settings };
  const rssBeforeSynth = process.memoryUsage().rss;
  const synthesis = synthesize(settings, options.synthesisCache === undefined ? SYNTHESIS_CACHE : options.synthesisCache);
  let workflow: SynthesizedWorkflow;
  try {
    workflow = readSynthesizedWorkflow(synthesis.directory, synthesis.templateFile, hubAccountId);
  } catch (err) {
    synthesis.release();
    throw err;
  }
  // Simulated time runs faster once the execution starts (below): setting up is not part of the run.
  const clock = new RunClock(options.aws ? 1 : (options.timeScale ?? 1));
  // Every key the emulator will see is one the runner made: unknown keys and bad signatures are refused.
  const emulator = options.aws ? null : await startEmulator({ account: options.account, organization: options.organization, clock, strictAuth: true, ...options.emulator });
  const lambdas = new Map<string, LocalLambda>();
  const logDir = join(outDir, '.logs');
  makeDirectory(logDir);
  const logs = [] as ReturnType<typeof createWriteStream>[];
  let logTrouble: string | null = null;

  try {
    const runNonce = randomBytes(8).toString('hex');
    const storeEnvironment: Record<string, string> = options.s3 ? { AWS_ENDPOINT_URL_S3: options.s3.endpoint, REPORT_BUCKET: options.s3.bucket } : { REPORT_STORE_DIR: outDir };
    const localEnvironment: Record<string, string> = options.aws
      ? {
          ...options.aws.environment,
          AWS_REGION: options.aws.region,
          AWS_DEFAULT_REGION: options.aws.region,
          AWS_ACCESS_KEY_ID: options.aws.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: options.aws.credentials.secretAccessKey,
          ...(options.aws.credentials.sessionToken ? { AWS_SESSION_TOKEN: options.aws.credentials.sessionToken } : {}),
          ...storeEnvironment,
        }
      : {
          AWS_REGION: LOCAL_REGION,
          AWS_DEFAULT_REGION: LOCAL_REGION,
          AWS_ENDPOINT_URL_IAM: emulator!.url,
          AWS_ENDPOINT_URL_STS: emulator!.url,
          AWS_ENDPOINT_URL_ORGANIZATIONS: emulator!.url,
          LOCAL_CLOCK: JSON.stringify(clock.anchor),
          ...storeEnvironment,
        };
    for (const fn of workflow.functions.values()) {
      if (quota && fn.reservedConcurrency !== undefined) quota.reserve(fn.logicalId, fn.reservedConcurrency);
      const log = createWriteStream(join(logDir, `${fn.logicalId}.log`), { flags: 'a' });
      // A log helps whoever reads it; one that cannot be written (a full disk, a directory in its place)
      // must not end the run, which says so when it ends.
      log.on('error', (err) => (logTrouble ??= `.logs/${fn.logicalId}.log could not be written (${err.message})`));
      logs.push(log);
      lambdas.set(
        fn.arn,
        new LocalLambda({
          fn,
          environment: localEnvironment,
          clock,
          log,
          runNonce,
          beforeInvoke: options.beforeInvoke,
          freshEnvironments: options.freshEnvironments,
          quota,
          sharedCredentials: options.aws !== undefined,
          onCredentials: emulator
            ? (credentials) => {
                emulator.addCredentials(credentials);
                options.onFunctionCredentials?.(fn.logicalId, credentials.accessKeyId);
              }
            : undefined,
        }),
      );
    }

    // Each function's environments start before the run, as with provisioned concurrency: loading the
    // bundles on this machine, scaled by the time scale, would otherwise weigh on the run's time far more
    // than the half second a cold start takes in Lambda.
    const auditBatch = [...workflow.functions.values()].find((f) => f.logicalId.includes('AuditBatch'));
    const batchEnvironments = environmentsForBatches(options, workflow, Math.min(mapConcurrency(workflow.definition), auditBatch?.reservedConcurrency ?? quota?.unreserved ?? Infinity));
    await Promise.all(
      [...lambdas.entries()].map(([arn, l]) => l.prewarm(workflow.functionsByArn.get(arn) === auditBatch ? batchEnvironments : 1)),
    );
    // Validating the definition takes a moment: before the run's clock speeds up.
    const machine = new StateMachine(workflow.definition as never, { validationOptions: { checkPaths: true, checkArn: true } });
    clock.start();
    const runStart = clock.now();

    const progress = { listed: null as number | null, batches: null as number | null, batchesDone: 0, reported: 0, skipped: 0, failed: 0 };
    const executionName = options.executionName ?? `local-${new Date(runStart).toISOString().replace(/[:.]/g, '-')}-${runNonce.slice(0, 6)}`;
    const countReports = options.s3 ? () => 0 : reportCounter(join(outDir, 'runs', runIdOf(executionName), 'reports'));
    const report = (): void => {
      const totals = emulator?.stats().totals;
      options.onProgress?.({
        ...progress,
        reported: Math.max(progress.reported, countReports()),
        iamCalls: totals?.calls ?? null,
        throttled: totals?.throttled ?? null,
        simulatedSeconds: (clock.now() - runStart) / 1000,
      });
    };
    const ticker = options.onProgress ? setInterval(report, 250) : undefined;

    const taskHandlers = localTaskHandlers(workflow, lambdas, store, join(logDir, 'notifications.jsonl'), (result) => {
      const r = result as Record<string, any> | null;
      if (r && Array.isArray(r.batches)) {
        progress.listed = r.listed;
        progress.batches = r.batches.length;
      }
      if (r && r.counts && r.batch) {
        progress.reported += r.counts.reported;
        progress.skipped += r.counts.skipped;
        progress.failed += r.counts.failed;
        if (r.done) progress.batchesDone++;
      }
    });
    const execution = machine.run((options.input ?? {}) as never, {
      overrides: {
        taskResourceLocalHandlers: taskHandlers as never,
        waitTimeOverrides: scaledWaits(workflow, clock.timeScale),
        retryIntervalOverrides: scaledRetries(workflow.definition, clock.timeScale),
      },
      context: {
        Execution: { Id: `arn:aws:states:${LOCAL_REGION}:${hubAccountId}:execution:local:${executionName}`, Name: executionName },
        StateMachine: { Id: `arn:aws:states:${LOCAL_REGION}:${hubAccountId}:stateMachine:local`, Name: 'local' },
      },
    });

    let stateTransitions = 0;
    let maxStatePayloadBytes = 0;
    let oversized: string | undefined;
    const watch = (async () => {
      for await (const event of execution.eventLogs) {
        const e = event as { type: string; state?: { name: string; input?: unknown; output?: unknown } };
        // Step Functions bills a retry as a state transition, as it bills entering a state.
        if (e.type === 'StateEntered' || e.type === 'StateRetried') stateTransitions++;
        if (e.state) {
          for (const data of [e.state.input, e.state.output]) {
            if (data === undefined) continue;
            const bytes = Buffer.byteLength(JSON.stringify(data));
            maxStatePayloadBytes = Math.max(maxStatePayloadBytes, bytes);
            if (bytes > MAX_STATE_PAYLOAD_BYTES && !oversized) {
              oversized = `state "${e.state.name}" passed ${bytes} bytes, over Step Functions' limit of ${MAX_STATE_PAYLOAD_BYTES}`;
              execution.abort();
            }
          }
        }
      }
    })();

    let interrupted = false;
    const interrupt = (): void => {
      interrupted = true;
      execution.abort();
    };
    if (options.signal?.aborted) interrupt();
    options.signal?.addEventListener('abort', interrupt, { once: true });

    let status: LocalRunResult['status'] = 'SUCCEEDED';
    let error: LocalRunResult['error'];
    let output: unknown;
    try {
      output = await execution.result;
    } catch (err) {
      status = 'FAILED';
      const cause = (err as { cause?: Error }).cause ?? (err as Error);
      error = { Error: cause.name, Cause: cause.message };
    } finally {
      options.signal?.removeEventListener('abort', interrupt);
    }
    await watch;
    const runId = runIdOf(executionName);
    if (interrupted) {
      error = { Error: 'Interrupted', Cause: 'the run was interrupted' };
      await summarizeInterrupted(workflow, lambdas, store, runId);
    }
    if (ticker) clearInterval(ticker);
    report();
    if (oversized) throw new Error(`the workflow broke the state payload limit: ${oversized}`);

    const summary = (await getJsonOrNull<RunSummary>(store, keys.summary(runId))) ?? undefined;
    const fnStats = (pick: (l: LocalLambda) => number) =>
      Object.fromEntries([...lambdas.entries()].map(([arn, l]) => [workflow.functionsByArn.get(arn)!.logicalId, pick(l)]));
    return {
      status,
      error,
      runId,
      outDir,
      output,
      summary,
      listed: progress.listed,
      logTrouble,
      stats: {
        simulatedStart: new Date(runStart).toISOString(),
        simulatedSeconds: (clock.now() - runStart) / 1000,
        realSeconds: (Date.now() - realStart) / 1000,
        stateTransitions,
        lambdaInvocations: fnStats((l) => l.invocations),
        lambdaThrottles: fnStats((l) => l.throttles),
        lambdaPeakConcurrency: fnStats((l) => l.peakConcurrency),
        lambdaRealSeconds: fnStats((l) => Math.round(l.realMs) / 1000),
        lambdaPeakHeapMb: fnStats((l) => Math.round(l.peakHeapBytes / 1048576)),
        computeTimeouts: [...lambdas.entries()].flatMap(([arn, l]) =>
          l.computeTimeouts.map((t) => ({ functionName: workflow.functionsByArn.get(arn)!.logicalId, busyRealSeconds: Math.round(t.busyRealMs) / 1000 })),
        ),
        lambdaMemoryMb: Object.fromEntries([...workflow.functions.values()].map((f) => [f.logicalId, f.memorySize])),
        lambdaGbSeconds: fnStats((l) => l.gbSeconds),
        maxStatePayloadBytes,
        objectsWritten: (await countObjects(store)) - objectsBefore,
        storeRequests: [...lambdas.values()].reduce(
          (sum, l) => ({ put: sum.put + l.storeRequests.put, get: sum.get + l.storeRequests.get, list: sum.list + l.storeRequests.list }),
          { put: 0, get: 0, list: 0 },
        ),
        emulator: emulator?.stats() ?? null,
        iamCallLog: emulator?.calls() ?? [],
        peakRssMb: Math.round(Math.max(process.resourceUsage().maxRSS * 1024, rssBeforeSynth + synthesis.peakRssBytes) / 1048576),
      },
    };
  } finally {
    await Promise.all([...lambdas.values()].map((l) => l.close()));
    await emulator?.close();
    for (const log of logs) log.end();
    synthesis.release();
  }
}

/**
 * After an interrupt: stops every invocation still in flight (their environments go, as a crash would
 * take them; a report they finished writing stays and counts), then has Summarize settle the run as
 * interrupted. A run stopped before Plan wrote its plan has nothing to summarize.
 */
async function summarizeInterrupted(workflow: SynthesizedWorkflow, lambdas: ReadonlyMap<string, LocalLambda>, store: ReportStore, runId: string): Promise<void> {
  const summarizer = [...lambdas.entries()].find(([arn]) => workflow.functionsByArn.get(arn)!.logicalId.includes('Summarize'));
  if (!summarizer) throw new Error('the template has no Summarize function');
  await Promise.all([...lambdas.values()].filter((l) => l !== summarizer[1]).map((l) => l.close()));
  const plan = await getJsonOrNull<{ run: unknown }>(store, keys.plan(runId));
  if (plan === null) return;
  await summarizer[1].invoke({ run: plan.run, interrupted: true });
}

type TaskHandler = (input: Record<string, any>) => Promise<unknown>;

/**
 * A local handler for every Task state: Lambda invocations (`lambda:invoke`) run the bundled function;
 * SNS publications (`sns:publish`) are appended to `.logs/notifications.jsonl`; S3 PutObject
 * (`aws-sdk:s3:putObject`) writes to the run's store, which stands for the report bucket.
 */
function localTaskHandlers(
  workflow: SynthesizedWorkflow,
  lambdas: ReadonlyMap<string, LocalLambda>,
  store: ReportStore,
  notificationsFile: string,
  onResult: (result: unknown) => void,
): Record<string, TaskHandler> {
  const handlers: Record<string, TaskHandler> = {};
  for (const [name, state] of allStates(workflow.definition)) {
    if (state.Type !== 'Task') continue;
    const resource = String(state.Resource);
    if (resource.endsWith(':states:::lambda:invoke')) {
      handlers[name] = async (input) => {
        const lambda = lambdas.get(input.FunctionName);
        if (!lambda) throw new Error(`state "${name}" invokes ${input.FunctionName}, which is not in the template`);
        const result = await lambda.invoke(input.Payload);
        onResult(result);
        return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: result };
      };
    } else if (resource.endsWith(':states:::sns:publish')) {
      handlers[name] = async (input) => {
        const messageId = randomUUID();
        appendFileSync(notificationsFile, `${JSON.stringify({ state: name, messageId, topicArn: input.TopicArn, subject: input.Subject ?? null, message: input.Message })}\n`);
        return { MessageId: messageId };
      };
    } else if (resource.endsWith(':states:::aws-sdk:s3:putObject')) {
      handlers[name] = async (input) => {
        await store.put(String(input.Key), typeof input.Body === 'string' ? input.Body : JSON.stringify(input.Body), input.ContentType);
        return { ETag: `"${randomUUID()}"` };
      };
    } else {
      throw new Error(`state "${name}" uses ${resource}, which the local runner does not emulate`);
    }
  }
  return handlers;
}

/**
 * AuditBatch environments to start before the run: one for each batch the run will have (an account is
 * one batch up to the Plan function's BATCH_SIZE), up to the Map's concurrency, so that idle environments
 * do not hold memory. A run against AWS cannot know its batches: one for an account, the Map's
 * concurrency for an organization; more are started when the Map asks for them.
 */
function environmentsForBatches(options: LocalRunOptions, workflow: SynthesizedWorkflow, concurrency: number): number {
  const plan = [...workflow.functions.values()].find((f) => f.logicalId.includes('Plan'));
  const batchSize = Number(plan?.environment.BATCH_SIZE);
  const sizes = options.organization
    ? options.organization.accounts.filter((a) => a.status === 'ACTIVE' && a.memberRole === 'present').map((a) => a.account.entities.length)
    : options.account
      ? [options.account.entities.length]
      : null;
  if (sizes === null || !(batchSize > 0)) return options.settings?.accounts && options.settings.accounts.source !== 'self' ? concurrency : 1;
  return Math.max(1, Math.min(concurrency, sizes.reduce((n, size) => n + Math.ceil(size / batchSize), 0)));
}

/** The largest MaxConcurrency of the definition's Map states (1 without one). */
function mapConcurrency(definition: Record<string, any>): number {
  let most = 1;
  for (const [, state] of allStates(definition)) if (state.Type === 'Map' && typeof state.MaxConcurrency === 'number') most = Math.max(most, state.MaxConcurrency);
  return most;
}

function* allStates(definition: Record<string, any>): Generator<[string, Record<string, any>]> {
  for (const [name, state] of Object.entries(definition.States as Record<string, Record<string, any>>)) {
    yield [name, state];
    const nested = state.ItemProcessor ?? state.Iterator;
    if (nested) yield* allStates(nested);
    for (const branch of state.Branches ?? []) yield* allStates(branch);
  }
}

/**
 * Wait states last their time divided by the time scale. The local engine takes one fixed duration per
 * Wait state, so a Wait whose seconds come from the state (SecondsPath) lasts the first leftover wait.
 */
function scaledWaits(workflow: SynthesizedWorkflow, timeScale: number): Record<string, number> {
  const configured = [...workflow.functions.values()].map((f) => f.environment.LEFTOVER_WAIT_SECONDS).find((v) => v !== undefined);
  const leftoverWaitSeconds = Number(configured ?? 60);
  const waits: Record<string, number> = {};
  for (const [name, state] of allStates(workflow.definition)) {
    if (state.Type !== 'Wait') continue;
    const seconds = typeof state.Seconds === 'number' ? state.Seconds : leftoverWaitSeconds;
    waits[name] = (seconds * 1000) / timeScale;
  }
  return waits;
}

/**
 * Retry pauses divided by the time scale. The engine's override is one pause per retrier, without the
 * back-off and the jitter: a retrier's first interval, except for a fully jittered retrier with a
 * longest pause (the one for Lambda's refusals), which pauses half its longest: what its pauses average
 * in AWS once the back-off reaches the cap, after its first few tries.
 */
function scaledRetries(definition: Record<string, any>, timeScale: number): Record<string, number[]> {
  const retries: Record<string, number[]> = {};
  for (const [name, state] of allStates(definition)) {
    if (!Array.isArray(state.Retry)) continue;
    retries[name] = state.Retry.map((r: { IntervalSeconds?: number; MaxDelaySeconds?: number; JitterStrategy?: string }) => {
      const seconds = r.JitterStrategy === 'FULL' && r.MaxDelaySeconds !== undefined ? r.MaxDelaySeconds / 2 : (r.IntervalSeconds ?? 1);
      return (seconds * 1000) / timeScale;
    });
  }
  return retries;
}

/**
 * Counts the report files under a directory, at most once a second, off the event loop (the emulator's
 * clock runs on it): each call returns the last count and starts the next when one is due.
 */
function reportCounter(dir: string): () => number {
  let count = 0;
  let at = 0;
  let counting = false;
  return () => {
    if (counting || Date.now() - at < 1_000) return count;
    at = Date.now();
    counting = true;
    readdir(dir, { recursive: true })
      .then((files) => (count = files.filter((f) => f.endsWith('.json')).length))
      .catch(() => undefined) // Not there yet.
      .finally(() => (counting = false));
    return count;
  };
}

/** The store the run writes to, as the runner reads it back. */
function localStore(options: LocalRunOptions, outDir: string): ReportStore {
  if (!options.s3) return new DirectoryReportStore(outDir);
  const credentials = { accessKeyId: 'local-runner', secretAccessKey: 'local-runner' };
  return new S3ReportStore(new S3Client({ endpoint: options.s3.endpoint, forcePathStyle: true, region: LOCAL_REGION, credentials }), options.s3.bucket);
}

async function countObjects(store: ReportStore): Promise<number> {
  return (await store.list('')).filter((key) => !key.startsWith('.logs/')).length;
}
