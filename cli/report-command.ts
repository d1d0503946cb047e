/**
 * `iam-access-audit report`: the findings of one run, per identity, worst first: services granted,
 * services used in the window, and the unused ones. Identities without a report are listed apart:
 * nothing unknown is counted as unused.
 */
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { resolve } from 'node:path';
import { renderRunPage } from '../lambda/core/html/run-page';
import { accountOfArn, keys, type EntityReport, type Failure, type RunSummary } from '../lambda/core/model';
import { MAX_UNUSED_AFTER_DAYS } from '../lambda/core/input';
import { unusedServices } from '../lambda/core/report';
import { accountsOfRun, readRunReports, RunNotReadable } from '../lambda/core/run-reader';
import { writeFileAtomically } from './files';
import { counted, csvCell, notAuditedLines } from './words';
import { numberFlag, parseFlags, UsageError } from './flags';
import { RUN_LOCATION_FLAGS, runLocationFromFlags, withRun } from './run-location';
import { renderShared, sharedOfRun, type SharedFormat } from './shared-view';

export const REPORT_USAGE = `iam-access-audit report [--bucket B | --out DIR] [--run ID | latest] [--account ID]
    [--format table|json|csv] [--unused-after-days N]
iam-access-audit report --shared [--bucket B | --out DIR] [--run ID | latest] [--format table|json|csv]
    [--unused-after-days N]
iam-access-audit report --format html [--bucket B | --out DIR] [--run ID | latest] [--output FILE | -]
iam-access-audit report --format html --bucket B --presign [--run ID | latest] [--expires-in SECONDS]

  Shows a run's findings per identity, worst first: the identities its summary counts as reported,
  and apart from them those without a report. Reads the bucket B (with the standard AWS settings) or a
  local run's directory (default ./out). --account shows one account of the run. --unused-after-days
  judges "unused" against another window than the run's (1 to ${MAX_UNUSED_AFTER_DAYS} days before each report's job).

  --shared shows, for a run of several accounts, each identity of one type, path and name in more than
  one account (as a StackSet makes a role in each): in how many, its services used in no account (those
  its template can lose), used in some, and its unused grants in all, the most used in no account first.
  Where an account has no report of it, what it used there is not known, and the row says so.

  --format html renders the run's self-contained HTML report (the page every run writes) to FILE
  (default ./iam-access-audit-<runId>.html; "-" writes it to standard output). With --presign it renders
  nothing and prints a presigned link to the page the run wrote to the bucket, valid for --expires-in
  seconds (default 3600, at most 604800).`;

const FORMATS = ['table', 'json', 'csv', 'html'] as const;

/** Presigned links live at most 7 days (SigV4's limit). */
const MAX_EXPIRES_IN = 604_800;

export interface IdentityFindings {
  readonly accountId: string;
  readonly arn: string;
  readonly type: string;
  readonly name: string;
  readonly granted: number;
  readonly used: number;
  readonly unusedServices: readonly string[];
  readonly neverUsedServices: readonly string[];
}

export async function reportCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const flags = parseFlags(args, {
    ...RUN_LOCATION_FLAGS,
    format: { type: 'string' },
    'unused-after-days': { type: 'string' },
    output: { type: 'string' },
    presign: { type: 'boolean' },
    'expires-in': { type: 'string' },
    shared: { type: 'boolean' },
  });
  const format = flags.format ?? 'table';
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${format}"`);
  const window = numberFlag('unused-after-days', flags['unused-after-days'], { integer: true, min: 1, max: MAX_UNUSED_AFTER_DAYS });
  const html = format === 'html';
  if (html && flags.account !== undefined) throw new UsageError('--account does not apply to --format html: the page shows every account of the run, with a filter');
  if (html && window !== undefined) throw new UsageError('--unused-after-days does not apply to --format html: the page shows the run\'s own judgement');
  if (!html) for (const flag of ['output', 'presign', 'expires-in'] as const) if (flags[flag] !== undefined) throw new UsageError(`--${flag} applies only to --format html`);
  if (flags.shared && html) throw new UsageError('--shared does not apply to --format html: the page has the same table, "The same identity in several accounts"');
  if (flags.shared && flags.account !== undefined) throw new UsageError('--account does not apply to --shared: it gathers identities across the run\'s accounts');
  if (flags.presign && flags.bucket === undefined) throw new UsageError('--presign needs --bucket B: it links to the page the run wrote to S3');
  if (flags.presign && flags.output !== undefined) throw new UsageError('give either --presign or --output FILE, not both');
  if (flags['expires-in'] !== undefined && !flags.presign) throw new UsageError('--expires-in applies only with --presign');
  const expiresIn = numberFlag('expires-in', flags['expires-in'], { integer: true, min: 1, max: MAX_EXPIRES_IN }) ?? 3600;

  const location = runLocationFromFlags(flags);
  const { store, s3, bucket, account } = location;
  return withRun(location, async (summary) => {
    if (flags.presign) {
      out.write(`${await presignedPageUrl(s3!, bucket!, summary.runId, expiresIn)}\n`);
      return 0;
    }
    if (html) {
      const page = await renderRunPage(store, summary);
      if (flags.output === '-') {
        out.write(page);
        return 0;
      }
      const file = resolve(flags.output ?? `iam-access-audit-${summary.runId}.html`);
      writeFileAtomically(file, page);
      out.write(`Report of run ${summary.runId} (${summary.status}): ${file} (${(Buffer.byteLength(page) / 1e6).toFixed(1)} MB)\n`);
      return 0;
    }
    const reports = await readRunReports(store, summary, account);
    if (flags.shared) {
      out.write(renderShared(format as SharedFormat, summary, sharedOfRun(summary, reports, window), window ?? reports[0]?.findings.unusedAfterDays ?? null));
      if (format === 'csv') err.write(csvLeftOut(summary));
      return 0;
    }
    const identities = reports.map((r) => findingsOf(r, window)).sort(worstFirst);
    const unusedAfterDays = window ?? reports[0]?.findings.unusedAfterDays ?? null;
    out.write(render(format as Exclude<(typeof FORMATS)[number], 'html'>, summary, identities, unusedAfterDays, account));
    if (format === 'csv') err.write(csvLeftOut(summary, account));
    return 0;
  });
}

/**
 * What a CSV of reported identities cannot hold, said on standard error so that the file stays a table:
 * the accounts not audited and the identities without a report, unknown rather than unused. Empty when
 * nothing is left out.
 */
function csvLeftOut(summary: RunSummary, accountId?: string): string {
  const accounts = accountsOfRun(summary, accountId).filter((a) => a.status !== 'audited');
  const failures = failuresIn(summary, accountId);
  const parts = [
    ...(accounts.length > 0 ? [`${counted(accounts.length, 'account')} not audited (${accounts.map((a) => `${a.accountId} ${a.status}: ${a.code}`).join(', ')})`] : []),
    ...(failures.length > 0 ? [`${counted(failures.length, 'identity', 'identities')} without a report (${codesOf(failures)})`] : []),
  ];
  if (parts.length === 0) return '';
  return `iam-access-audit report: not in this CSV: ${parts.join('; ')}. They are unknown, not unused: --format json lists them (notReported, accounts).\n`;
}

/** The findings of one report, judged against its own window or the one asked for. */
export function findingsOf(report: EntityReport, unusedAfterDays?: number): IdentityFindings {
  const unused = unusedServices(report.services, Date.parse(report.job.createdAt), unusedAfterDays ?? report.findings.unusedAfterDays);
  return {
    accountId: report.accountId,
    arn: report.entity.arn,
    type: report.entity.type,
    name: report.entity.name,
    granted: report.services.length,
    used: report.services.length - unused.length,
    unusedServices: unused,
    neverUsedServices: report.findings.neverUsedServices,
  };
}

function worstFirst(a: IdentityFindings, b: IdentityFindings): number {
  return b.unusedServices.length - a.unusedServices.length || a.used - b.used || (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0);
}

/**
 * A presigned GET link to the page a run wrote (`runs/<runId>/report.html`), once the object is known
 * to be there: a link to nothing would only fail in the reader's browser.
 */
export async function presignedPageUrl(s3: S3Client, bucket: string, runId: string, expiresIn: number): Promise<string> {
  const key = keys.reportPage(runId);
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    if ((err as { name?: string }).name === 'NotFound' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) {
      throw new RunNotReadable(`run ${runId} has no report.html in s3://${bucket}/ (runs before the HTML report was added have none): render one with --format html --output FILE`);
    }
    throw err;
  }
  return getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn });
}

function render(format: Exclude<(typeof FORMATS)[number], 'html'>, summary: RunSummary, identities: IdentityFindings[], unusedAfterDays: number | null, accountId?: string): string {
  const notReported = failuresIn(summary, accountId);
  const accounts = accountsOfRun(summary, accountId);
  if (format === 'json') {
    return `${JSON.stringify({ runId: summary.runId, runDate: summary.runDate, status: summary.status, accounts, unusedAfterDays, identities, notReported }, null, 2)}\n`;
  }
  if (format === 'csv') {
    const rows = identities.map((i) => [i.accountId, i.arn, i.type, i.name, i.granted, i.used, i.unusedServices.length, i.unusedServices.join(' ')].map(csvCell).join(','));
    return `${['account_id', 'arn', 'type', 'name', 'granted', 'used', 'unused', 'unused_services'].join(',')}\n${rows.map((r) => `${r}\n`).join('')}`;
  }
  const header = [
    `Run ${summary.runId} (${summary.runDate}, ${summary.granularity}) ${summary.status}: ${counted(identities.length, 'identity', 'identities')} reported in ${accounts.length === 1 ? `account ${accounts[0].accountId}` : `${accounts.length} accounts`}`,
  ];
  if (summary.status !== 'COMPLETED') header.push('  INCOMPLETE: some accounts or identities could not be audited; they are listed below, never counted as unused.');
  for (const a of accounts.filter((x) => x.status !== 'audited')) header.push(...notAuditedLines(a, '  account '));
  if (identities.length === 0) {
    return `${[...header, `No identity was reported in ${accountId === undefined ? 'this run' : `account ${accountId} in this run`}.`, ...notReportedLines(notReported)].join('\n')}\n`;
  }
  header.push(`"Unused": not used in the ${unusedAfterDays} days before the report. Worst first.`, '');
  const width = Math.min(48, Math.max(8, ...identities.map((i) => i.name.length)));
  const cut = (text: string, room: number) => (text.length > room ? `${text.slice(0, room - 1)}…` : text);
  // More than one account: which one each identity is in (same-named roles in two accounts are two rows).
  const names = new Map(accounts.map((a) => [a.accountId, a.name]));
  const label = (i: IdentityFindings) => names.get(i.accountId) ?? i.accountId;
  const accountWidth = accounts.length > 1 ? Math.min(24, Math.max(7, ...identities.map((i) => label(i).length))) : 0;
  const accountCell = (text: string) => (accountWidth > 0 ? cut(text, accountWidth).padEnd(accountWidth + 2) : '');
  const table = [`${'TYPE'.padEnd(7)}${'NAME'.padEnd(width + 2)}${accountCell('ACCOUNT')}${'GRANTED'.padStart(7)}${'USED'.padStart(6)}${'UNUSED'.padStart(8)}  UNUSED SERVICES`];
  for (const i of identities) {
    const shown = i.unusedServices.slice(0, 8).join(' ');
    const more = i.unusedServices.length > 8 ? ` +${i.unusedServices.length - 8} more` : '';
    table.push(
      `${i.type.padEnd(7)}${cut(i.name, width).padEnd(width + 2)}${accountCell(label(i))}` +
        `${String(i.granted).padStart(7)}${String(i.used).padStart(6)}${String(i.unusedServices.length).padStart(8)}  ${shown}${more}`,
    );
  }
  return `${[...header, ...table, ...notReportedLines(notReported)].join('\n')}\n`;
}

function notReportedLines(notReported: readonly Failure[]): string[] {
  if (notReported.length === 0) return [];
  return ['', `${counted(notReported.length, 'identity has', 'identities have')} no report (${codesOf(notReported)}); they are not counted as unused:`, ...notReported.map((f) => `  ${f.arn}  ${f.code}`)];
}

/** The run's identities without a report, of one account or of all. */
const failuresIn = (summary: RunSummary, accountId?: string): Failure[] => summary.failures.filter((f) => accountId === undefined || accountOfArn(f.arn) === accountId);

/** The failures' codes, each once, in the order they first come. */
const codesOf = (failures: readonly Failure[]): string => [...new Set(failures.map((f) => f.code))].join(', ');
