// One Lambda execution environment: a worker thread that loads a bundled handler once and serves
// invocations one at a time, as Lambda does. Its process.env is its own (set by the pool).
const { parentPort, workerData } = require('node:worker_threads');

require('../quiet-node20-warning.cjs');

// Simulated time, as the emulator keeps it (see lambda/core/clock.ts). The run's clock speeds up when
// the run begins, after this environment loaded: each invocation brings the clock's anchor as it is
// then, for this file and (through LOCAL_CLOCK, which the handler's clock reads) for the handler.
let anchor = process.env.LOCAL_CLOCK ? JSON.parse(process.env.LOCAL_CLOCK) : null;
const now = () => (anchor ? anchor.simulatedStart + (Date.now() - anchor.realStart) * anchor.timeScale : Date.now());

let handler;
let initError;
try {
  handler = require(workerData.entry)[workerData.handlerName];
  if (typeof handler !== 'function') throw new Error(`${workerData.entry} exports no function ${workerData.handlerName}`);
} catch (err) {
  initError = err;
}
// Initialized (the handler's module and its clients are loaded): the pool may count on this environment.
parentPort.postMessage({ ready: true });

function errorPayload(err) {
  return {
    errorType: (err && err.name) || 'Error',
    errorMessage: (err && err.message) || String(err),
    trace: err && err.stack ? String(err.stack).split('\n').map(sourceMapped) : [],
  };
}

// The function's NODE_OPTIONS asked for source maps (Lambda's runtime maps every trace): the pool leaves
// the flag out, so that Node does not parse the bundle's map as it loads, and a failed invocation's trace
// is mapped here, from the map read then. An environment that never fails reads none.
const { SourceMap } = require('node:module');
const { readFileSync } = require('node:fs');
const { dirname, resolve } = require('node:path');
const mapsAsked = workerData.sourceMaps === true;
let bundleMap;

function sourceMapped(line) {
  const at = mapsAsked && /^(\s+at (?:.* \()?)(.+):(\d+):(\d+)(\)?)$/.exec(line);
  if (!at || at[2] !== workerData.entry) return line;
  if (bundleMap === undefined) {
    try {
      bundleMap = new SourceMap(JSON.parse(readFileSync(`${workerData.entry}.map`, 'utf8')));
    } catch {
      bundleMap = null;
    }
  }
  const origin = bundleMap && bundleMap.findOrigin(Number(at[3]), Number(at[4]));
  if (!origin || !origin.fileName) return line;
  return `${at[1]}${resolve(dirname(workerData.entry), origin.fileName)}:${origin.lineNumber}:${origin.columnNumber}${at[5] || ''}`;
}

// What the bundled store has asked of S3 so far (lambda/core/store.ts keeps it on globalThis).
const storeRequests = () => globalThis[Symbol.for('iam-access-audit.storeRequests')] || { put: 0, get: 0, list: 0 };

const v8 = require('node:v8');

parentPort.on('message', async ({ id, event, timeoutMs, requestId, anchor: given }) => {
  if (given && given !== process.env.LOCAL_CLOCK) {
    process.env.LOCAL_CLOCK = given;
    anchor = JSON.parse(given);
  }
  const before = { ...storeRequests() };
  // The environment's heap at its fullest during the invocation: what Lambda's memory setting must hold.
  let peakHeap = v8.getHeapStatistics().used_heap_size;
  const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, v8.getHeapStatistics().used_heap_size)), 50);
  const startedAt = Date.now();
  const measures = () => {
    clearInterval(sampler);
    peakHeap = Math.max(peakHeap, v8.getHeapStatistics().used_heap_size);
    return { storeRequests: requestsSince(), peakHeapBytes: peakHeap, realMs: Date.now() - startedAt };
  };
  const requestsSince = () => {
    const now = storeRequests();
    return { put: now.put - before.put, get: now.get - before.get, list: now.list - before.list };
  };
  const deadline = now() + timeoutMs;
  // As Lambda's Node.js runtime logs a handler's error (or its module's, at init) before answering with it.
  const failed = (err, measured) => {
    const error = errorPayload(err);
    console.error(`${new Date(now()).toISOString()}\t${requestId}\tERROR\tInvoke Error \t${JSON.stringify({ errorType: error.errorType, errorMessage: error.errorMessage, stack: error.trace })}`);
    parentPort.postMessage({ id, error, ...measured });
  };
  if (initError) {
    failed(initError, measures());
    return;
  }
  const context = {
    functionName: workerData.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: workerData.functionArn,
    memoryLimitInMB: String(workerData.memorySize),
    awsRequestId: requestId,
    getRemainingTimeInMillis: () => Math.max(0, Math.floor(deadline - now())),
  };
  try {
    const result = await handler(event, context);
    parentPort.postMessage({ id, result: result === undefined ? null : result, ...measures() });
  } catch (err) {
    failed(err, measures());
  }
});
