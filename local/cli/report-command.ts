/**
 * `iam-access-audit report`: the findings of one run, per identity, worst first: services granted,
 * services used in the window, and the unused ones. Identities without a report are listed apart:
 * nothing unknown is counted as unused.
 */
import { keys, type EntityReport, type LatestPointer, type RunSummary } from '../../lambda/core/model';
import { MAX_UNUSED_AFTER_DAYS } from '../../lambda/core/input';
import { unusedServices } from '../../lambda/core/report';
import { s3ClientFromEnvironment } from '../../lambda/core/runtime';
import { DirectoryReportStore, getJson, NotFound, S3ReportStore, type ReportStore } from '../../lambda/core/store';
import { numberFlag, parseFlags, UsageError } from './flags';

export const REPORT_USAGE = `iam-access-audit report [--bucket B | --out DIR] [--run ID | latest] [--format table|json|csv]
    [--unused-after-days N]

  Shows a run's findings per identity, worst first. Reads the bucket B (with the standard AWS settings)
  or a local run's directory (default ./out). --unused-after-days judges "unused" against another
  window than the run's (1 to ${MAX_UNUSED_AFTER_DAYS} days before each report's job).`;

const FORMATS = ['table', 'json', 'csv'] as const;
const READ_CONCURRENCY = 16;

export interface IdentityFindings {
  readonly arn: string;
  readonly type: string;
  readonly name: string;
  readonly granted: number;
  readonly used: number;
  readonly unusedServices: readonly string[];
  readonly neverUsedServices: readonly string[];
}

export async function reportCommand(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags(args, {
    bucket: { type: 'string' },
    out: { type: 'string' },
    run: { type: 'string' },
    format: { type: 'string' },
    'unused-after-days': { type: 'string' },
  });
  if (flags.bucket !== undefined && flags.out !== undefined) throw new UsageError('give either --bucket B or --out DIR, not both');
  if (flags.bucket !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(flags.bucket)) throw new UsageError(`--bucket must be an S3 bucket name, got "${flags.bucket}"`);
  const format = flags.format ?? 'table';
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${format}"`);
  const window = numberFlag('unused-after-days', flags['unused-after-days'], { integer: true, min: 1, max: MAX_UNUSED_AFTER_DAYS });
  if (flags.run !== undefined && flags.run !== 'latest' && !/^[A-Za-z0-9._-]{1,80}$/.test(flags.run)) throw new UsageError(`--run must be a run id or "latest", got "${flags.run}"`);

  const s3 = flags.bucket !== undefined ? s3ClientFromEnvironment() : undefined;
  const store: ReportStore = s3 ? new S3ReportStore(s3, flags.bucket!) : new DirectoryReportStore(flags.out ?? 'out');
  try {
    const runId = await runIdFor(store, flags.run ?? 'latest');
    let summary: RunSummary;
    try {
      summary = await getJson<RunSummary>(store, keys.summary(runId));
    } catch (err) {
      if (err instanceof NotFound) throw new UsageError(`run ${runId} has no summary in ${store.location}: is the run id right, and has the run finished?`);
      throw err;
    }
    const reports = await readReports(store, runId);
    const identities = reports.map((r) => findingsOf(r, window)).sort(worstFirst);
    const unusedAfterDays = window ?? reports[0]?.findings.unusedAfterDays ?? null;
    out.write(render(format as (typeof FORMATS)[number], summary, identities, unusedAfterDays));
    return 0;
  } finally {
    s3?.destroy();
  }
}

async function runIdFor(store: ReportStore, run: string): Promise<string> {
  if (run !== 'latest') return run;
  try {
    return (await getJson<LatestPointer>(store, keys.latest())).runId;
  } catch (err) {
    if (err instanceof NotFound) throw new UsageError(`no completed run in ${store.location} (latest.json is missing); name one with --run ID`);
    throw err;
  }
}

async function readReports(store: ReportStore, runId: string): Promise<EntityReport[]> {
  const reportKeys = await store.list(`runs/${runId}/reports/`);
  const reports: EntityReport[] = new Array(reportKeys.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < reportKeys.length) {
      const i = next++;
      reports[i] = await getJson<EntityReport>(store, reportKeys[i]);
    }
  };
  await Promise.all(Array.from({ length: READ_CONCURRENCY }, worker));
  return reports;
}

/** The findings of one report, judged against its own window or the one asked for. */
export function findingsOf(report: EntityReport, unusedAfterDays?: number): IdentityFindings {
  const unused = unusedServices(report.services, Date.parse(report.job.createdAt), unusedAfterDays ?? report.findings.unusedAfterDays);
  return {
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

function render(format: (typeof FORMATS)[number], summary: RunSummary, identities: IdentityFindings[], unusedAfterDays: number | null): string {
  if (format === 'json') {
    return `${JSON.stringify({ runId: summary.runId, runDate: summary.runDate, accountId: summary.accountId, unusedAfterDays, identities, notReported: summary.failures }, null, 2)}\n`;
  }
  if (format === 'csv') {
    const cell = (v: string | number) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
    const rows = identities.map((i) => [i.arn, i.type, i.name, i.granted, i.used, i.unusedServices.length, i.unusedServices.join(' ')].map(cell).join(','));
    return `${['arn', 'type', 'name', 'granted', 'used', 'unused', 'unused_services'].join(',')}\n${rows.map((r) => `${r}\n`).join('')}`;
  }
  const header = [
    `Run ${summary.runId} (${summary.runDate}, account ${summary.accountId}, ${summary.granularity}): ${identities.length} identities reported`,
    `"Unused": not used in the ${unusedAfterDays ?? '?'} days before the report. Worst first.`,
    '',
  ];
  const width = Math.min(48, Math.max(8, ...identities.map((i) => i.name.length)));
  const table = [`${'TYPE'.padEnd(7)}${'NAME'.padEnd(width + 2)}${'GRANTED'.padStart(7)}${'USED'.padStart(6)}${'UNUSED'.padStart(8)}  UNUSED SERVICES`];
  for (const i of identities) {
    const shown = i.unusedServices.slice(0, 8).join(' ');
    const more = i.unusedServices.length > 8 ? ` +${i.unusedServices.length - 8} more` : '';
    const name = i.name.length > width ? `${i.name.slice(0, width - 1)}…` : i.name;
    table.push(`${i.type.padEnd(7)}${name.padEnd(width + 2)}${String(i.granted).padStart(7)}${String(i.used).padStart(6)}${String(i.unusedServices.length).padStart(8)}  ${shown}${more}`);
  }
  const footer =
    summary.failures.length === 0
      ? []
      : ['', `${summary.failures.length} identities have no report (${[...new Set(summary.failures.map((f) => f.code))].join(', ')}); they are not counted as unused:`, ...summary.failures.map((f) => `  ${f.arn}  ${f.code}`)];
  return `${[...header, ...table, ...footer].join('\n')}\n`;
}
