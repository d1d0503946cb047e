/**
 * Synthesizing the app for a local run, exactly as `cdk synth` does, and keeping the result. A synth
 * bundles four functions with esbuild and runs every check (cdk-nag, CloudFormation's validation): about
 * ten seconds that say nothing new when neither the code nor the settings changed. So a synthesized app
 * is kept under node_modules/.cache, named by a digest of everything it is made from: the app's and the
 * functions' source (bin/, lib/, lambda/), package-lock.json, tsconfig.json and the context the synth
 * is given. Any change to one of them is a new digest and a new synth; a synth that fails is never kept.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { STACK_NAME } from '../../lib/stack-names';
import { CONTEXT_KEY, type AuditSettings } from '../../lib/settings';

const PROJECT_ROOT = join(__dirname, '..', '..');
/** What a synth is made from, besides its context. */
const SOURCES = ['bin', 'lib', 'lambda', 'package-lock.json', 'tsconfig.json'];
/** Where synthesized apps are kept unless a run names another place. */
export const SYNTHESIS_CACHE = join(PROJECT_ROOT, 'node_modules', '.cache', 'iam-access-audit', 'synth');
const RECORD_FILE = 'synthesis.json';
/** Kept apps beyond this many, unused for an hour, are removed (each is some 15 MB of bundles). */
const KEEP = 16;
const UNUSED_MS = 60 * 60 * 1000;

export interface Synthesis {
  /** The cloud assembly directory: the template and the functions' bundles. */
  readonly directory: string;
  readonly templateFile: string;
  /** Peak resident memory of the synthesis process, in bytes (0 when a kept synth was used). */
  readonly peakRssBytes: number;
  /** A kept synth of the same sources and context was used. */
  readonly reused: boolean;
  /** Removes the directory when it is this run's own; a kept synth stays. */
  readonly release: () => void;
}

export class SynthesisError extends Error {
  override name = 'SynthesisError';
}

/** cdk.json's context, with the run's settings over the project's. */
export function synthContext(overrides: Partial<AuditSettings>): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  const context = { ...(cdkJson.context ?? {}) };
  context[CONTEXT_KEY] = { ...((context[CONTEXT_KEY] as object) ?? {}), ...overrides };
  context['aws:cdk:enable-asset-metadata'] = true;
  return context;
}

/**
 * Runs bin/app.ts in a process of its own with the output directory and context in CDK_OUTDIR and
 * CDK_CONTEXT_JSON. Every check of a synth runs, cdk-nag included. A process of its own also keeps
 * CDK's memory out of the run. Returns the synthesis process's peak RSS in bytes.
 */
function synthesizeInto(outdir: string, context: Record<string, unknown>): number {
  const rssFile = join(outdir, '.synth-peak-rss');
  // A HOME of its own, inside the output directory: the CDK's fingerprint cache and npm's logs stay out
  // of the user's home, and go with the rest.
  const home = join(outdir, '.home');
  const child = spawnSync(
    process.execPath,
    ['-r', join(PROJECT_ROOT, 'local', 'quiet-node20-warning.cjs'), '-r', join(__dirname, 'report-rss.cjs'), '-r', require.resolve('tsx/cjs'), join(PROJECT_ROOT, 'bin', 'app.ts')],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, HOME: home, USERPROFILE: home, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context), REPORT_PEAK_RSS_FILE: rssFile },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (child.status !== 0) {
    const output = `${child.stderr}${child.stdout}`
      .split('\n')
      // Bundling chatter, npm's warnings and minified library source lines say nothing about the failure.
      .filter((line) => !line.startsWith('Bundling asset') && !line.includes('npm warn') && line.length < 400)
      .join('\n')
      .trim();
    throw new SynthesisError(`synthesizing the app failed:\n${output}`);
  }
  const peak = Number(readFileSync(rssFile, 'utf8')) * 1024;
  rmSync(rssFile, { force: true });
  rmSync(home, { recursive: true, force: true });
  return peak;
}

/** The digest of the project's sources (under `root`) and the context: the name a kept synth goes by. */
export function synthesisDigest(context: Record<string, unknown>, root = PROJECT_ROOT): string {
  const hash = createHash('sha256');
  const add = (path: string): void => {
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) add(join(path, name));
      return;
    }
    hash.update(relative(root, path)).update('\0').update(readFileSync(path)).update('\0');
  };
  for (const source of SOURCES) add(join(root, source));
  hash.update(JSON.stringify(context));
  return hash.digest('hex').slice(0, 32);
}

/**
 * The app synthesized with these settings: the synth kept in `cache` for the same sources and context
 * when there is one, else a new one, kept there for next time. Without a cache, a new synth in a
 * temporary directory that `release` removes.
 */
export function synthesize(overrides: Partial<AuditSettings>, cache: string | null): Synthesis {
  const context = synthContext(overrides);
  const templateFile = `${STACK_NAME}.template.json`;
  if (cache === null) {
    const directory = mkdtempSync(join(tmpdir(), 'iam-access-audit-cdk-'));
    try {
      const peakRssBytes = synthesizeInto(directory, context);
      return { directory, templateFile, peakRssBytes, reused: false, release: () => rmSync(directory, { recursive: true, force: true }) };
    } catch (err) {
      rmSync(directory, { recursive: true, force: true });
      throw err;
    }
  }

  const kept = join(cache, synthesisDigest(context));
  if (existsSync(join(kept, RECORD_FILE))) {
    const now = new Date();
    utimesSync(kept, now, now);
    return { directory: kept, templateFile, peakRssBytes: 0, reused: true, release: () => undefined };
  }
  mkdirSync(cache, { recursive: true });
  // Synthesized beside its final place, then renamed there whole: a reader never sees half a synth, and
  // of two processes that synthesize the same app at once, the first to rename wins.
  const staging = join(cache, `.staging-${randomBytes(6).toString('hex')}`);
  mkdirSync(staging);
  let peakRssBytes: number;
  try {
    peakRssBytes = synthesizeInto(staging, context);
    writeFileSync(join(staging, RECORD_FILE), JSON.stringify({ context, synthesizedAt: new Date().toISOString() }));
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  try {
    renameSync(staging, kept);
  } catch {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(kept, RECORD_FILE))) throw new SynthesisError(`could not keep the synthesized app in ${kept}`);
  }
  pruneSyntheses(cache, kept, Date.now());
  return { directory: kept, templateFile, peakRssBytes, reused: false, release: () => undefined };
}

/**
 * Removes the kept synths (and staging directories a crash left) beyond the newest KEEP that nobody
 * used for an hour: a run still reading one has used it within the hour, as runs here go.
 */
export function pruneSyntheses(cache: string, current: string, now: number): void {
  const entries = readdirSync(cache)
    .map((name) => join(cache, name))
    .filter((path) => path !== current)
    .map((path) => ({ path, usedAt: statSync(path).mtimeMs }))
    .sort((a, b) => b.usedAt - a.usedAt);
  for (const entry of entries.slice(KEEP - 1)) {
    if (now - entry.usedAt > UNUSED_MS) rmSync(entry.path, { recursive: true, force: true });
  }
}
