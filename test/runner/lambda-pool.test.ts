/**
 * The local Lambda model's timeouts: a function that runs past its timeout is stopped as Lambda stops
 * it, and the pool tells a function that was computing from one that was waiting, so the command line
 * can say that the time scale, not the function, is at fault; and the function's log gets what Lambda
 * would write to it when an invocation fails; and the account's concurrency quota, which every function
 * shares, refuses an invocation beyond it before it runs; and a failed invocation's trace names the
 * source lines when the function asks for source maps, though no environment parses its map as it loads.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { buildSync } from 'esbuild';
import { ScaledClock } from '../../lambda/core/clock';
import { LambdaConcurrencyQuota, LambdaFunctionError, LambdaThrottled, LocalLambda } from '../../local/runner/lambda-pool';
import type { LocalFunction } from '../../local/runner/template';
import { tempDir } from '../helpers/temp';

const HANDLERS = `
exports.compute = async (event) => { const end = Date.now() + event.ms; while (Date.now() < end); return 'done'; };
exports.wait = async (event) => { await new Promise((r) => setTimeout(r, event.ms)); return 'done'; };
exports.fail = async () => { const err = new Error('nothing by that name'); err.name = 'NoSuchThing'; throw err; };
`;

function lambdaFor(handlerName: string, timeScale: number, log?: Writable, quota?: LambdaConcurrencyQuota, reservedConcurrency?: number): LocalLambda {
  const entry = join(tempDir('lambda-pool-'), 'index.js');
  writeFileSync(entry, HANDLERS);
  const fn: LocalFunction = { logicalId: `Probe${handlerName}`, arn: `arn:aws:lambda:us-east-1:123456789012:function:${handlerName}`, entry, handlerName, environment: {}, timeoutSeconds: 10, memorySize: 128, reservedConcurrency };
  if (quota && reservedConcurrency !== undefined) quota.reserve(fn.logicalId, reservedConcurrency);
  return new LocalLambda({ fn, environment: {}, clock: new ScaledClock(timeScale), runNonce: handlerName, log, quota });
}

describe('local Lambda timeouts', () => {
  // 10 s of timeout at 20x is half a second of real time, and the pool allows 2 s of grace beyond it.
  it.each([
    ['compute', true],
    ['wait', false],
  ])('stops a function that %ss past its timeout, and counts it as computing: %s', async (handlerName, computing) => {
    const lambda = lambdaFor(handlerName, 20);
    try {
      const error = await lambda.invoke({ ms: 4_000 }).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(LambdaFunctionError);
      expect((error as LambdaFunctionError).payload).toEqual({ errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 10 seconds' });
      if (computing) {
        expect(lambda.computeTimeouts).toHaveLength(1);
        expect(lambda.computeTimeouts[0].busyRealMs).toBeGreaterThan(2_000);
        expect(lambda.computeTimeouts[0].busyRealMs).toBeLessThanOrEqual(lambda.computeTimeouts[0].realMs);
      } else {
        expect(lambda.computeTimeouts).toEqual([]);
      }
    } finally {
      await lambda.close();
    }
  }, 20_000);

  it('counts nothing for a function that ends within its timeout', async () => {
    const lambda = lambdaFor('compute', 1);
    try {
      await expect(lambda.invoke({ ms: 200 })).resolves.toBe('done');
      expect(lambda.computeTimeouts).toEqual([]);
    } finally {
      await lambda.close();
    }
  });

  it('writes to the function log what Lambda writes there: a handler error, a timeout, a module without its handler', async () => {
    let text = '';
    const log = new PassThrough().on('data', (chunk: Buffer) => (text += chunk.toString()));
    const logged = async (needle: string) => {
      for (let i = 0; i < 100 && !text.includes(needle); i++) await new Promise((r) => setTimeout(r, 20));
      return text;
    };
    const failing = lambdaFor('fail', 1, log);
    const waiting = lambdaFor('wait', 20, log);
    const missing = lambdaFor('absent', 1, log);
    try {
      await expect(failing.invoke({})).rejects.toMatchObject({ payload: { errorType: 'NoSuchThing', errorMessage: 'nothing by that name' } });
      expect(await logged('Invoke Error')).toMatch(/\tProbefail-1\tERROR\tInvoke Error \t\{"errorType":"NoSuchThing","errorMessage":"nothing by that name","stack":\[/);
      await expect(waiting.invoke({ ms: 4_000 })).rejects.toBeInstanceOf(LambdaFunctionError);
      expect(await logged('timed out')).toMatch(/\tProbewait-1\tTask timed out after 10 seconds\n/);
      // A module without the handler fails every invocation at init, and says so each time.
      await expect(missing.invoke({})).rejects.toBeInstanceOf(LambdaFunctionError);
      expect(await logged('exports no function absent')).toMatch(/\tProbeabsent-1\tERROR\tInvoke Error \t\{"errorType":"Error","errorMessage":"[^"]*exports no function absent"/);
    } finally {
      await Promise.all([failing.close(), waiting.close(), missing.close()]);
    }
  }, 20_000);
});

describe('the account\'s Lambda concurrency quota', () => {
  it('refuses an invocation beyond it, of any function, before it runs, and frees its place when one ends', async () => {
    const quota = new LambdaConcurrencyQuota(2);
    const waiting = lambdaFor('wait', 1, undefined, quota);
    const computing = lambdaFor('compute', 1, undefined, quota);
    try {
      const first = waiting.invoke({ ms: 300 });
      const second = computing.invoke({ ms: 100 });
      const refused = await waiting.invoke({ ms: 0 }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(LambdaThrottled);
      expect((refused as Error).name).toBe('Lambda.TooManyRequestsException');
      // Nothing ran: the refusal is neither an invocation nor billed.
      expect({ invocations: waiting.invocations, throttles: waiting.throttles, computing: computing.throttles }).toEqual({ invocations: 1, throttles: 1, computing: 0 });
      await expect(second).resolves.toBe('done');
      await expect(waiting.invoke({ ms: 0 })).resolves.toBe('done');
      await expect(first).resolves.toBe('done');
      // A failed invocation frees its place too.
      const failing = lambdaFor('fail', 1, undefined, quota);
      try {
        for (let i = 0; i < 3; i++) await expect(failing.invoke({})).rejects.toBeInstanceOf(LambdaFunctionError);
        await expect(Promise.all([waiting.invoke({ ms: 0 }), computing.invoke({ ms: 0 })])).resolves.toEqual(['done', 'done']);
      } finally {
        await failing.close();
      }
    } finally {
      await Promise.all([waiting.close(), computing.close()]);
    }
  }, 20_000);

  it('gives a function with reserved concurrency its reservation, no more, and the others what is left', async () => {
    const quota = new LambdaConcurrencyQuota(3);
    const reserving = lambdaFor('wait', 1, undefined, quota, 2);
    const other = lambdaFor('compute', 1, undefined, quota);
    try {
      const running = [reserving.invoke({ ms: 300 }), reserving.invoke({ ms: 300 })];
      await expect(reserving.invoke({ ms: 0 })).rejects.toThrow(/ReservedFunctionConcurrentInvocationLimitExceeded/);
      // The reservation is not taken from what the others share, and they may not have it.
      const third = other.invoke({ ms: 300 });
      await expect(other.invoke({ ms: 0 })).rejects.toThrow(/ConcurrentInvocationLimitExceeded/);
      await expect(Promise.all([...running, third])).resolves.toEqual(['done', 'done', 'done']);
      expect({ peak: reserving.peakConcurrency, throttles: reserving.throttles }).toEqual({ peak: 2, throttles: 1 });
    } finally {
      await Promise.all([reserving.close(), other.close()]);
    }
    // Lambda refuses a reservation that leaves too little unreserved.
    expect(() => new LambdaConcurrencyQuota(10).reserve('AuditBatch', 10)).toThrow(/AuditBatch reserves 10 concurrent executions, and the account's quota of 10 leaves 10 unreserved/);
  }, 20_000);

  it('names the setting when it is not a whole number of 1 or more', () => {
    for (const bad of [0, 1.5, Number.NaN]) expect(() => new LambdaConcurrencyQuota(bad)).toThrow(/lambdaConcurrency must be a whole number of 1 or more/);
  });
});

describe('a closed function', () => {
  // A failed execution's other branches may still reach a Task after the run closed its functions: an
  // environment started for one would never be closed, and would keep the process alive.
  it('takes no invocation after, and starts no environment for one', async () => {
    const lambda = lambdaFor('wait', 1);
    await expect(lambda.invoke({ ms: 1 })).resolves.toBe('done');
    await lambda.close();
    try {
      const before = process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
      await expect(lambda.invoke({ ms: 1 })).rejects.toThrow('Probewait was invoked after the run ended');
      expect(process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length).toBe(before);
      expect(lambda.invocations).toBe(1);
    } finally {
      // Should it have started one, the test fails without keeping the suite alive.
      await lambda.close();
    }
  });
});

describe('a failed invocation\'s trace', () => {
  // A minified bundle with its source map, as the app's functions are built; the error is thrown on line 4.
  const SOURCE = ['export async function handler(): Promise<never> {', '  const name: string = \'NoSuchThing\';', '  const message = `nothing by that ${name.length}`;', '  throw Object.assign(new Error(message), { name });', '}', 'export const probe = async () => ({ eager: process.sourceMapsEnabled, nodeOptions: process.env.NODE_OPTIONS ?? null });', ''].join('\n');

  function bundled(environment: Record<string, string>, handlerName = 'handler'): LocalLambda {
    const dir = tempDir('lambda-pool-maps-');
    writeFileSync(join(dir, 'handler.ts'), SOURCE);
    buildSync({ entryPoints: [join(dir, 'handler.ts')], outfile: join(dir, 'out', 'index.js'), bundle: true, minify: true, sourcemap: true, platform: 'node', format: 'cjs', logLevel: 'silent' });
    const fn: LocalFunction = { logicalId: 'ProbeMapped', arn: 'arn:aws:lambda:us-east-1:123456789012:function:mapped', entry: join(dir, 'out', 'index.js'), handlerName, environment, timeoutSeconds: 10, memorySize: 128 };
    return new LocalLambda({ fn, environment: {}, clock: new ScaledClock(1), runNonce: 'mapped' });
  }

  const traceOf = async (lambda: LocalLambda): Promise<readonly string[]> => {
    try {
      const error = await lambda.invoke({}).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(LambdaFunctionError);
      return (error as LambdaFunctionError).payload.trace ?? [];
    } finally {
      await lambda.close();
    }
  };

  it('names the source line when the function asks for source maps, as Lambda\'s NODE_OPTIONS does', async () => {
    const trace = await traceOf(bundled({ NODE_OPTIONS: '--enable-source-maps' }));
    expect(trace[0]).toBe('NoSuchThing: nothing by that 11');
    expect(trace[1]).toMatch(/^ {4}at .*handler\.ts:4:\d+\)?$/);
  });

  it('is mapped on failure, not by Node as the bundle loads (6 MB an environment); other NODE_OPTIONS stay', async () => {
    const lambda = bundled({ NODE_OPTIONS: '--enable-source-maps --max-http-header-size=16384' }, 'probe');
    try {
      await expect(lambda.invoke({})).resolves.toEqual({ eager: false, nodeOptions: '--max-http-header-size=16384' });
    } finally {
      await lambda.close();
    }
  });

  it('names the bundle\'s line when it does not', async () => {
    const trace = await traceOf(bundled({}));
    expect(trace[1]).toMatch(/^ {4}at .*[/\\]out[/\\]index\.js:\d+:\d+\)?$/);
  });
});
