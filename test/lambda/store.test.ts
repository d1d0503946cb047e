import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DirectoryReportStore, getJson, NotFound, putJson, S3ReportStore, type ReportStore } from '../../lambda/core/store';
import { startMoto, type MotoServer } from '../helpers/moto';
import { tempStore } from '../helpers/core';

async function behavesAsAStore(store: ReportStore): Promise<void> {
  await putJson(store, 'runs/r1/reports/user/a+b=c,d.e@f-g.json', { ok: 1 });
  await store.put('runs/r1/summary.json', '{}');
  await store.put('work/r1/outcomes/b00001/001.json', '{}');
  await store.put('work/r1/outcomes/b00001/002.json', '{}');
  await store.put('work/r1/outcomes/b00010/001.json', '{}');
  expect(await getJson(store, 'runs/r1/reports/user/a+b=c,d.e@f-g.json')).toEqual({ ok: 1 });
  expect(await store.list('work/r1/outcomes/b00001/')).toEqual(['work/r1/outcomes/b00001/001.json', 'work/r1/outcomes/b00001/002.json']);
  expect(await store.list('work/r1/outcomes/b0000')).toEqual(['work/r1/outcomes/b00001/001.json', 'work/r1/outcomes/b00001/002.json']);
  expect(await store.list('nothing/')).toEqual([]);
  await expect(store.get('runs/r1/missing.json')).rejects.toBeInstanceOf(NotFound);
}

describe('report stores', () => {
  it('a directory', async () => {
    const store = tempStore();
    await behavesAsAStore(store);
    await expect(new DirectoryReportStore('/tmp').get('../etc/passwd')).rejects.toThrow(/leaves the store/);
  });

  describe('S3, through moto', () => {
    let moto: MotoServer;
    let s3: S3Client;
    beforeAll(async () => {
      moto = await startMoto();
      s3 = new S3Client({ endpoint: moto.url, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
    });
    afterAll(async () => {
      s3.destroy();
      await moto.stop();
    });

    it('behaves as the directory does', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'reports-a' }));
      await behavesAsAStore(new S3ReportStore(s3, 'reports-a'));
    });

    it('lists past a page of 1000 keys', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: 'reports-b' }));
      const store = new S3ReportStore(s3, 'reports-b');
      const keys = Array.from({ length: 1205 }, (_, i) => `work/r/batches/b${String(i).padStart(5, '0')}.json`);
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, '[]')));
      expect(await store.list('work/r/batches/')).toEqual(keys);
    }, 60_000);
  });
});
