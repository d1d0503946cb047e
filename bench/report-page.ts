/**
 * `npm run bench:report -- [--entities N] [--seed S] [--out DIR] [--loads K] [--json]`
 *
 * The HTML report at scale: runs a local audit of a generated account of N identities (default 10,000),
 * takes the report.html its Summarize wrote, and opens it K times (default 5) in headless Chromium, each
 * in a fresh page. It prints the page's size, the time until it is interactive (everything drawn and the
 * table answering, measured in the page from the navigation's start), and how long filtering, sorting and
 * opening an identity take on the whole table. With --out DIR it measures the latest run already in DIR
 * instead of running an audit.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { keys, type LatestPointer } from '../lambda/core/model';
import { numberFlag, parseFlags, UsageError } from '../cli/flags';
import { launchChromium, openReport, watchedPage } from '../local/browser';
import { generateSampleAccount, loadAccount } from '../local/emulator';
import { runLocal } from '../local/runner/run-local';

/** The issue's figures for a page of 10,000 identities. */
const TARGETS = { maxBytes: 8_000_000, maxInteractiveMs: 3000, maxInteractionMs: 500 };
/** Simulated seconds per real second for the audit: fast, yet Plan's five minutes hold 10,000 identities. */
const TIME_SCALE = 40;

interface PageFigures {
  readonly runId: string;
  readonly identities: number;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly interactiveMs: number[];
  readonly filterMs: number;
  readonly sortMs: number;
  readonly openMs: number;
  readonly consoleErrors: string[];
  readonly requestsLeaving: number;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), {
    entities: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    loads: { type: 'string' },
    json: { type: 'boolean' },
  });
  const entities = numberFlag('entities', flags.entities, { integer: true, min: 1, max: 100_000 }) ?? 10_000;
  const loads = numberFlag('loads', flags.loads, { integer: true, min: 1, max: 50 }) ?? 5;
  if (flags.out !== undefined && flags.entities !== undefined) throw new UsageError('give either --out DIR (measure its latest run) or --entities N (run an audit), not both');

  let dir = flags.out;
  let temporary: string | undefined;
  if (dir === undefined) {
    dir = temporary = mkdtempSync(join(tmpdir(), 'bench-report-'));
    const seed = flags.seed ?? '1';
    process.stderr.write(`Auditing a generated account of ${entities} identities (seed ${seed}) locally, time scale ${TIME_SCALE}x...\n`);
    const account = loadAccount(generateSampleAccount({ entities, seed, asOf: new Date() }));
    const result = await runLocal({ account, outDir: dir, input: {}, timeScale: TIME_SCALE });
    if (!result.summary) throw new Error(`the audit did not finish: ${result.error?.Error}: ${result.error?.Cause}`);
  }
  try {
    const figures = await measure(dir, loads);
    process.stdout.write(flags.json ? `${JSON.stringify(figures, null, 2)}\n` : format(figures));
  } finally {
    if (temporary) rmSync(temporary, { recursive: true, force: true });
  }
}

async function measure(dir: string, loads: number): Promise<PageFigures> {
  const latest = JSON.parse(readFileSync(join(dir, keys.latest()), 'utf8')) as LatestPointer;
  const file = join(dir, ...keys.reportPage(latest.runId).split('/'));
  const bytes = statSync(file).size;
  const browser = await launchChromium();
  try {
    const interactiveMs: number[] = [];
    const consoleErrors: string[] = [];
    let requestsLeaving = 0;
    let interactions = { filterMs: 0, sortMs: 0, openMs: 0, identities: 0 };
    for (let i = 0; i < loads; i++) {
      const watched = await watchedPage(browser);
      interactiveMs.push(await openReport(watched, file));
      if (i === loads - 1) interactions = await interact(watched.page);
      consoleErrors.push(...watched.errors);
      requestsLeaving += watched.requests.length;
      await watched.page.close();
    }
    return { runId: latest.runId, bytes, gzipBytes: gzipSync(readFileSync(file)).length, interactiveMs, ...interactions, consoleErrors, requestsLeaving };
  } finally {
    await browser.close();
  }
}

/**
 * Times, in the page, what a reader does first: filter, sort the whole table, open an identity. Given
 * as source text: the page runs it as written (a bundler's helpers do not exist there).
 */
const INTERACT = `(() => {
  function time(action) { const start = performance.now(); action(); return performance.now() - start; }
  const identities = Number(document.getElementById('row-count').textContent.split(' ')[0].replace(/,/g, ''));
  const filter = document.getElementById('filter');
  const filterMs = time(function () { filter.value = 'role'; filter.dispatchEvent(new Event('input')); });
  filter.value = '';
  filter.dispatchEvent(new Event('input'));
  const sortMs = time(function () { document.querySelector('#identity-head th[data-key="2"]').click(); });
  const openMs = time(function () { document.querySelector('#identity-body tr.row').click(); });
  return { filterMs, sortMs, openMs, identities };
})()`;

async function interact(page: import('puppeteer-core').Page): Promise<{ filterMs: number; sortMs: number; openMs: number; identities: number }> {
  return page.evaluate(INTERACT) as Promise<{ filterMs: number; sortMs: number; openMs: number; identities: number }>;
}

function format(f: PageFigures): string {
  const sorted = [...f.interactiveMs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const worst = sorted[sorted.length - 1];
  const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
  const check = (ok: boolean) => (ok ? 'met   ' : 'MISSED');
  const slowest = Math.max(f.filterMs, f.sortMs, f.openMs);
  return [
    `Report page of run ${f.runId}: ${f.identities.toLocaleString('en-US')} identities in its table`,
    `  size              ${mb(f.bytes)} (${mb(f.gzipBytes)} gzipped)`,
    `  interactive       median ${median} ms, worst ${worst} ms over ${f.interactiveMs.length} loads in headless Chromium (${f.interactiveMs.join(', ')} ms)`,
    `  filter            ${f.filterMs.toFixed(0)} ms to filter the whole table`,
    `  sort              ${f.sortMs.toFixed(0)} ms to sort it by name`,
    `  open identity     ${f.openMs.toFixed(0)} ms to open one to its services and proposals`,
    `  console errors    ${f.consoleErrors.length}${f.consoleErrors.length ? `: ${f.consoleErrors.slice(0, 3).join(' | ')}` : ''}`,
    `  requests leaving  ${f.requestsLeaving}`,
    '',
    '  targets:',
    `    ${check(f.bytes <= TARGETS.maxBytes)} at most 8 MB                              ${mb(f.bytes)}`,
    `    ${check(worst < TARGETS.maxInteractiveMs)} interactive in under 3 s (worst load)      ${worst} ms`,
    `    ${check(slowest < TARGETS.maxInteractionMs)} each interaction under 500 ms             ${slowest.toFixed(0)} ms`,
    `    ${check(f.consoleErrors.length === 0 && f.requestsLeaving === 0)} no console error, no request leaves the page`,
    '',
  ].join('\n');
}

main().catch((err: Error) => {
  process.stderr.write(`${err instanceof UsageError ? 'usage: ' : ''}${err.message}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
});
