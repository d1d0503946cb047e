/**
 * Ctrl-C during a run from the command line: the first stops it between jobs and the run still writes
 * the summary of what was done (the identities it had not settled are failed as Interrupted, never read
 * as unused, and latest.json does not move); a second leaves at once.
 */
import type { LocalRunResult } from '../local/runner/run-local';

export interface Interruptible {
  readonly result: LocalRunResult;
  readonly interrupted: boolean;
}

/**
 * Runs `run` with Ctrl-C wired to its signal, and ends the progress line `show` when it returns. Ctrl-C
 * before the run started (on a terminal it reaches the synthesis process too) leaves with 130.
 */
export async function interruptibly(out: NodeJS.WritableStream, show: { done: () => void }, run: (signal: AbortSignal) => Promise<LocalRunResult>): Promise<Interruptible> {
  const interrupt = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    out.write('\nInterrupted: no job starts now; writing the summary of what was done (Ctrl-C again to leave at once)\n');
    interrupt.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await run(interrupt.signal);
    return { result, interrupted: interrupt.signal.aborted };
  } catch (err) {
    if (!interrupt.signal.aborted) throw err;
    out.write('Interrupted before the run started: nothing was audited.\n');
    return exitNow(out, 130);
  } finally {
    process.off('SIGINT', onSigint);
    show.done();
  }
}

/**
 * Exits once what was written has reached standard output. An interrupted run leaves the timers of the
 * states it was in (a Wait, a Retry's interval) running, so the process would not end by itself.
 */
export async function exitNow(out: NodeJS.WritableStream, code: number): Promise<never> {
  await new Promise<void>((resolve) => out.write('', () => resolve()));
  process.exit(code);
}
