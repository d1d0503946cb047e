/**
 * Ctrl-C during a run from the command line, or SIGTERM (a `timeout`, a container stopped): the first
 * stops it between jobs and the run still writes the summary of what was done (the identities it had
 * not settled are failed as Interrupted, never read as unused, and latest.json does not move); a second
 * leaves at once. Either way the exit code is the shell's for the signal: 130 for SIGINT, 143 for SIGTERM.
 */
import { constants } from 'node:os';
import type { LocalRunProgress, LocalRunResult } from '../local/runner/run-local';

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** What the usage of both `run` commands says of a signal. */
export const INTERRUPT_USAGE = `  Ctrl-C (or SIGTERM) stops the run: no job starts after it, the summary is written INCOMPLETE with
  every unsettled identity failed as Interrupted, latest.json stays where it was, and the exit code is
  130 (143 for SIGTERM); a second signal exits at once.`;

export interface Interruptible {
  readonly result: LocalRunResult;
  /** The exit code of the signal that stopped the run, or null when it ran to its end. */
  readonly interruptedExitCode: number | null;
}

/**
 * Runs `run` with Ctrl-C and SIGTERM wired to its signal, its progress shown by `show` until it returns
 * or is interrupted (the line would only repeat under the message). A signal before the run started (on
 * a terminal Ctrl-C reaches the synthesis process too) leaves at once, saying nothing was audited.
 */
export async function interruptibly(
  out: NodeJS.WritableStream,
  show: { update: (progress: LocalRunProgress) => void; done: () => void },
  run: (signal: AbortSignal, onProgress: (progress: LocalRunProgress) => void) => Promise<LocalRunResult>,
): Promise<Interruptible> {
  const interrupt = new AbortController();
  let stoppedBy: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stoppedBy) process.exit(exitCodeOf(signal));
    stoppedBy = signal;
    const again = signal === 'SIGINT' ? 'Ctrl-C again' : 'a second signal';
    out.write(`\nInterrupted${signal === 'SIGINT' ? '' : ` (${signal})`}: no job starts now; writing the summary of what was done (${again} to leave at once)\n`);
    interrupt.abort();
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  try {
    const result = await run(interrupt.signal, (progress) => {
      if (stoppedBy === null) show.update(progress);
    });
    return { result, interruptedExitCode: stoppedBy && exitCodeOf(stoppedBy) };
  } catch (err) {
    if (!stoppedBy) throw err;
    out.write('Interrupted before the run started: nothing was audited.\n');
    return exitNow(out, exitCodeOf(stoppedBy));
  } finally {
    for (const signal of SIGNALS) process.off(signal, onSignal);
    // The message of an interrupt began on a line of its own and ended the progress line.
    if (stoppedBy === null) show.done();
  }
}

/** 128 and the signal's number, as a shell reports a process the signal ended. */
const exitCodeOf = (signal: NodeJS.Signals): number => 128 + constants.signals[signal];

/**
 * Exits once what was written has reached standard output. An interrupted run leaves the timers of the
 * states it was in (a Wait, a Retry's interval) running, so the process would not end by itself.
 */
export async function exitNow(out: NodeJS.WritableStream, code: number): Promise<never> {
  await new Promise<void>((resolve) => out.write('', () => resolve()));
  process.exit(code);
}
