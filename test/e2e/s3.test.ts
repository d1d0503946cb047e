/**
 * The synthesized workflow writing to S3 (moto_server) through the S3 report store, as deployed.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { keys, type EntityReport, type LatestPointer } from '../../lambda/core/model';
import { DirectoryReportStore, getJson, S3ReportStore } from '../../lambda/core/store';
import { runLocal } from '../../local/runner/run-local';
import { expectReportMatches, expectSummaryConsistent } from '../helpers/expectations';
import { edgeAccount, FAST_SETTINGS } from '../helpers/iam';
import { startMoto, type MotoServer } from '../helpers/moto';
import { tempDir } from '../helpers/temp';

describe('a local run writing to S3', () => {
  let moto: MotoServer;
  let s3: S3Client;
  beforeAll(async () => {
    moto = await startMoto();
    s3 = new S3Client({ endpoint: moto.url, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
    await s3.send(new CreateBucketCommand({ Bucket: 'audit-reports' }));
  });
  afterAll(async () => {
    s3.destroy();
    await moto.stop();
  });

  it('puts every report, the dataset, the summary and latest.json in the bucket, and nothing in the directory', async () => {
    const account = edgeAccount();
    const dir = tempDir('e2e-s3-');
    const result = await runLocal({ account, outDir: dir, s3: { endpoint: moto.url, bucket: 'audit-reports' }, timeScale: 500, settings: FAST_SETTINGS });
    expect(result.status).toBe('SUCCEEDED');
    const summary = result.summary!;
    expectSummaryConsistent(summary);
    expect(summary.entities).toMatchObject({ listed: 12, reported: 9, skipped: 1, failed: 2 });

    const store = new S3ReportStore(s3, 'audit-reports');
    const reportKeys = await store.list(`runs/${result.runId}/reports/`);
    expect(reportKeys).toHaveLength(9);
    const alice = account.entities.find((e) => e.name === 'alice')!;
    expectReportMatches(await getJson<EntityReport>(store, keys.report(result.runId, '111122223333', 'user', 'alice')), alice, {
      runId: result.runId,
      granularity: 'SERVICE_LEVEL',
      unusedAfterDays: 90,
      accountId: '111122223333',
    });
    expect((await store.list('datasets/service_last_accessed/')).length).toBeGreaterThan(0);
    expect(await getJson<LatestPointer>(store, keys.latest())).toMatchObject({ runId: result.runId });
    expect(result.stats.objectsWritten).toBe((await store.list('')).length);
    const local = (await new DirectoryReportStore(dir).list('')).filter((key) => !key.startsWith('.logs/'));
    expect(local).toEqual([]);
  }, 120_000);
});
