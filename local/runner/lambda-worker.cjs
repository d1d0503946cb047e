// One Lambda execution environment: a worker thread that loads a bundled handler once and serves
// invocations one at a time, as Lambda does. Its process.env is its own (set by the pool).
const { parentPort, workerData } = require('node:worker_threads');

require('../quiet-node20-warning.cjs');

// Simulated time, as the emulator keeps it (see lambda/core/clock.ts).
const anchor = process.env.LOCAL_CLOCK ? JSON.parse(process.env.LOCAL_CLOCK) : null;
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
    trace: err && err.stack ? String(err.stack).split('\n') : [],
  };
}

// What the bundled store has asked of S3 so far (lambda/core/store.ts keeps it on globalThis).
const storeRequests = () => globalThis[Symbol.for('iam-access-audit.storeRequests')] || { put: 0, get: 0, list: 0 };

const v8 = require('node:v8');

parentPort.on('message', async ({ id, event, timeoutMs, requestId }) => {
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
