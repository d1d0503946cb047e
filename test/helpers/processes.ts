import { spawn } from 'node:child_process';

export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion and collects its output; never throws on a non-zero exit. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<ProcessResult> {
  return runWatched(command, args, { env: { ...process.env, ...env }, input });
}

/**
 * Runs a command with exactly `env` (an undefined value leaves a variable out), in `cwd`. `watch` sees
 * the output so far on every chunk and every 200 ms, and may interrupt the command as Ctrl-C does (or
 * with another signal).
 */
export function runWatched(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; input?: string; watch?: (stdout: string, interrupt: (signal?: NodeJS.Signals) => void) => void },
): Promise<ProcessResult> {
  const { watch } = options;
  const env = { ...options.env };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const interrupt = (signal: NodeJS.Signals = 'SIGINT') => child.kill(signal);
    const watcher = watch ? setInterval(() => watch(stdout, interrupt), 200) : undefined;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      watch?.(stdout, interrupt);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(watcher);
      resolve({ code, stdout, stderr });
    });
    // A command that ends before reading its input (one refusing its arguments) closes the pipe: that is
    // the command's answer, not the test's failure.
    child.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') reject(err);
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Environment for AWS clients in child processes: fixed test credentials, no profile or metadata lookups. */
export function awsEnv(accessKeyId = 'AKIDCLITESTER0000001'): NodeJS.ProcessEnv {
  return {
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: 'test-secret',
    AWS_SESSION_TOKEN: undefined,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_REGION: 'us-east-1',
    AWS_PROFILE: undefined,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
}
