/**
 * The command-line tool as users run it: the bin entry, through its shim.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../cli/main';
import { awsEnv, run } from '../helpers/processes';
import { tempDir } from '../helpers/temp';

const BIN = join(__dirname, '..', '..', 'bin', 'iam-access-audit.cjs');
// The module object itself, so that a spy on it reaches the command's writes.
const fs = require('node:fs') as typeof import('node:fs');

describe('iam-access-audit emulator', () => {
  it('runs in the foreground, prints where it listens, serves the AWS CLI and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'emulator', '--port', '0', '--sample', '40', '--seed', '5', '--time-scale', '100'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString();
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (match) resolve(match[1]);
      });
      child.on('exit', () => reject(new Error(`emulator exited: ${output}`)));
    });
    try {
      const roles = await run('aws', ['iam', 'list-roles', '--endpoint-url', url, '--output', 'json'], awsEnv());
      expect(roles.code).toBe(0);
      expect(JSON.parse(roles.stdout).Roles.length).toBeGreaterThan(10);
    } finally {
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    expect(output).toContain('account 123456789012: sample of 40 entities, seed 5');
    expect(output).toMatch(/stopped after \d+ calls/);
  });

  it('refuses a port in use with a message naming it, not a stack trace', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const result = await run(process.execPath, [BIN, 'emulator', '--port', String(port), '--sample', '10']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`--port ${port} is in use on 127.0.0.1: give another, or --port 0 for a free one`);
      expect(result.stderr).not.toMatch(/^\s+at /m);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it.each([
    [['emulator', '--sample', '10', '--port', 'eighty'], '--port must be a whole number'],
    [['emulator', '--sample', '10', '--throttle-rps', '0'], '--throttle-rps must be a number greater than 0'],
    [['emulator', '--sample', '10', '--time-scale', '0'], '--time-scale must be a number greater than 0'],
    [['emulator', '--sample', '10', '--account', 'a.json'], 'give one of --account FILE, --sample N, --org FILE or --org-sample AxE, not --account and --sample'],
    [['emulator'], 'give what to audit: --account FILE, --sample N'],
    [['emulator', '--sample', '10', '--colour'], "Unknown option '--colour'"],
    [['emulator', '--sample', '10', '--as-of', 'soon'], '--as-of must be a date'],
    [['emulator', '--account', '/nonexistent/account.json'], '/nonexistent/account.json: cannot be read'],
    [['run', '--local', '--sample', '10', '--lambda-concurrency', '0'], '--lambda-concurrency must be a whole number of at least 1'],
    [['sample'], '--entities is required'],
    // Where a command writes or reads: a file where a directory must be, before any work.
    [['run', '--local', '--sample', '10', '--out', __filename], `--out ${__filename}: it is a file, not a directory`],
    [['run', '--local', '--sample', '10', '--out', join(__filename, 'runs')], `--out ${join(__filename, 'runs')}: ${__filename} is a file, not a directory`],
    [['run', '--aws', '--out', __filename], `--out ${__filename}: it is a file, not a directory`],
    [['report', '--out', __filename], `--out ${__filename}: it is a file, not a directory`],
    [['proposals', '--out', join(__filename, 'out')], `--out ${join(__filename, 'out')}: ${__filename} is a file, not a directory`],
    // Where the system refuses new directories whoever asks (root passes the access check).
    ...(process.platform === 'linux'
      ? [
          [['run', '--local', '--sample', '10', '--out', '/proc/iam-access-audit/out'], '--out /proc/iam-access-audit/out: /proc holds no new directories (ENOENT)'],
          [['run', '--aws', '--out', '/proc'], '--out /proc: it holds no new directories (ENOENT)'],
        ]
      : []),
    [['sample', '--entities', '5', '--out', join(__filename, 'a.json')], `cannot write ${join(__filename, 'a.json')}: ENOTDIR`],
    [['sample', '--entities', '5', '--out', __dirname], `cannot write ${__dirname}: it is a directory`],
    [['frobnicate'], 'unknown command "frobnicate"'],
  ])('rejects %j with a message naming the problem', async (args, message) => {
    const result = await run(process.execPath, [BIN, ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });
});

describe('iam-access-audit --help', () => {
  it('lists every form of every command, the run from a laptop against AWS and the HTML report among them', async () => {
    const out = new PassThrough();
    expect(await main(['--help'], out, new PassThrough())).toBe(0);
    const forms = String(out.read()).split('\n').filter((line) => line.startsWith('  iam-access-audit ')).map((line) => line.trim().split(' ').slice(1, 3).join(' '));
    expect(forms).toEqual(['run --local', 'run --aws', 'start (--state-machine', 'report [--bucket', 'report --shared', 'report --format', 'report --format', 'changes [--bucket', 'proposals [--bucket', 'proposals --shared', 'emulator [--port', 'sample --entities']);
  });

  it('starts without loading the CDK app: the synth runs in a process of its own', async () => {
    // aws-cdk-lib and cdk-nag are some 350 modules, a quarter of a second of every command's start.
    const loaded = await run(process.execPath, [
      '-e',
      `require(${JSON.stringify(join(__dirname, '..', '..', 'local', 'quiet-node20-warning.cjs'))}); require('tsx/cjs'); require(${JSON.stringify(join(__dirname, '..', '..', 'cli', 'main.ts'))});` +
        "console.log(JSON.stringify(Object.keys(require.cache).filter((f) => /node_modules\\/(aws-cdk-lib|cdk-nag|constructs)\\//.test(f)).length), Object.keys(require.cache).length)",
    ]);
    expect(loaded.stderr).toBe('');
    const [cdkModules, modules] = loaded.stdout.trim().split(' ').map(Number);
    expect(modules).toBeGreaterThan(50);
    expect(cdkModules).toBe(0);
  });
});

describe('iam-access-audit sample', () => {
  it('writes the same bytes for the same seed and as-of date', async () => {
    const dir = tempDir('sample-');
    const args = ['sample', '--entities', '300', '--seed', 'demo', '--as-of', '2026-11-01'];
    const [a, b] = await Promise.all([
      run(process.execPath, [BIN, ...args, '--out', join(dir, 'a.json')]),
      run(process.execPath, [BIN, ...args, '--out', join(dir, 'b.json')]),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(readFileSync(join(dir, 'a.json'))).toEqual(readFileSync(join(dir, 'b.json')));
    expect(JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8')).entities).toHaveLength(300);
  });
});

describe('a write the system refuses though the path is right', () => {
  // Linux's /dev/full answers every write with ENOSPC, as a full disk does.
  (process.platform === 'linux' ? it : it.skip)('to standard output (a full disk): one line, exit 1, no stack trace', () => {
    const full = openSync('/dev/full', 'w');
    try {
      const result = spawnSync(process.execPath, [BIN, 'sample', '--entities', '5'], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8', timeout: 60_000 });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 1, stderr: 'iam-access-audit: cannot write to standard output: ENOSPC: no space left on device, write\n' });
    } finally {
      closeSync(full);
    }
  }, 70_000);

  it('to a file (a full disk): one line naming it, exit 1, no usage, nothing left beside it', async () => {
    const dir = tempDir('full-disk-');
    const file = join(dir, 'account.json');
    const realWrite = fs.writeFileSync;
    const spy = jest.spyOn(fs, 'writeFileSync').mockImplementation(((...args: Parameters<typeof fs.writeFileSync>) => {
      if (String(args[0]).startsWith(file)) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return realWrite(...args);
    }) as typeof fs.writeFileSync);
    const out = new PassThrough();
    const err = new PassThrough();
    try {
      expect(await main(['sample', '--entities', '5', '--out', file], out, err)).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(String(err.read())).toBe(`iam-access-audit sample: cannot write ${file}: ENOSPC: no space left on device, write\n`);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
