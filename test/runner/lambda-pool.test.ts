/**
 * The local Lambda model's timeouts: a function that runs past its timeout is stopped as Lambda stops
 * it, and the pool tells a function that was computing from one that was waiting, so the command line
 * can say that the time scale, not the function, is at fault; and the function's log gets what Lambda
 * would write to it when an invocation fails.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { ScaledClock } from '../../lambda/core/clock';
import { LambdaFunctionError, LocalLambda } from '../../local/runner/lambda-pool';
import type { LocalFunction } from '../../local/runner/template';
import { tempDir } from '../helpers/temp';

const HANDLERS = `
exports.compute = async (event) => { const end = Date.now() + event.ms; while (Date.now() < end); return 'done'; };
exports.wait = async (event) => { await new Promise((r) => setTimeout(r, event.ms)); return 'done'; };
exports.fail = async () => { const err = new Error('nothing by that name'); err.name = 'NoSuchThing'; throw err; };
`;

function lambdaFor(handlerName: string, timeScale: number, log?: Writable): LocalLambda {
  const entry = join(tempDir('lambda-pool-'), 'index.js');
  writeFileSync(entry, HANDLERS);
  const fn: LocalFunction = { logicalId: `Probe${handlerName}`, arn: `arn:aws:lambda:us-east-1:123456789012:function:${handlerName}`, entry, handlerName, environment: {}, timeoutSeconds: 10, memorySize: 128 };
  return new LocalLambda({ fn, environment: {}, clock: new ScaledClock(timeScale), runNonce: handlerName, log });
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
