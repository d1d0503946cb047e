/**
 * Where a finished run is read from, for the commands that read one (`report`, `proposals`): the
 * bucket B with the standard AWS settings, or a local run's directory (default ./out); which run
 * (an id, or `latest`); and, to narrow it, one account.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { RunSummary } from '../lambda/core/model';
import { RUN_ID_PATTERN } from '../lambda/core/plan';
import { readSummary, resolveRunId, RunNotReadable } from '../lambda/core/run-reader';
import { s3ClientFromEnvironment } from '../lambda/core/runtime';
import { DirectoryReportStore, S3ReportStore, type ReportStore } from '../lambda/core/store';
import { directoryFlag } from './files';
import { UsageError } from './flags';

export const RUN_LOCATION_FLAGS = {
  bucket: { type: 'string' },
  out: { type: 'string' },
  run: { type: 'string' },
  account: { type: 'string' },
} as const;

export interface RunLocation {
  readonly store: ReportStore;
  /** The S3 client behind the store, when it is a bucket: destroy it when done. */
  readonly s3?: S3Client;
  readonly bucket?: string;
  /** A run id, or `latest`. */
  readonly run: string;
  readonly account?: string;
}

/** Checks the flags, each error naming its flag, and opens the store they name. */
export function runLocationFromFlags(flags: { bucket?: string; out?: string; run?: string; account?: string }): RunLocation {
  if (flags.bucket !== undefined && flags.out !== undefined) throw new UsageError('give either --bucket B or --out DIR, not both');
  if (flags.bucket !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(flags.bucket)) throw new UsageError(`--bucket must be an S3 bucket name, got "${flags.bucket}"`);
  if (flags.run !== undefined && flags.run !== 'latest' && !RUN_ID_PATTERN.test(flags.run)) throw new UsageError(`--run must be a run id or "latest", got "${flags.run}"`);
  if (flags.account !== undefined && !/^\d{12}$/.test(flags.account)) throw new UsageError(`--account must be a 12-digit account id, got "${flags.account}"`);
  const run = flags.run ?? 'latest';
  if (flags.bucket === undefined) {
    const dir = flags.out ?? 'out';
    directoryFlag('out', dir);
    return { store: new DirectoryReportStore(dir), run, account: flags.account };
  }
  const s3 = s3ClientFromEnvironment();
  return { store: new S3ReportStore(s3, flags.bucket), s3, bucket: flags.bucket, run, account: flags.account };
}

/**
 * Reads the run's summary and hands it to `use`: a run that cannot be read (missing, of another schema,
 * its files not matching its summary) is a usage error that says why. The S3 client goes when done.
 */
export async function withRun<T>(location: RunLocation, use: (summary: RunSummary) => Promise<T>): Promise<T> {
  try {
    return await use(await readSummary(location.store, await resolveRunId(location.store, location.run)));
  } catch (err) {
    if (err instanceof RunNotReadable) throw new UsageError(err.message);
    throw err;
  } finally {
    location.s3?.destroy();
  }
}
