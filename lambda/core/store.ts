/**
 * The report store: one interface over an S3 bucket and over a local directory, with the same keys,
 * so the local runner and tests exercise exactly the code that runs in Lambda.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

export interface ReportStore {
  /** Writes the whole object or nothing. */
  put(key: string, body: string, contentType?: string): Promise<void>;
  /** The object's text; throws NotFound when it does not exist. */
  get(key: string): Promise<string>;
  /** Every key under the prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Where objects are, for people: `s3://bucket` or a directory. */
  readonly location: string;
}

export class NotFound extends Error {
  override name = 'NotFound';
}

/** Writes JSON for people to read (reports, summaries): indented. */
export async function putJson(store: ReportStore, key: string, value: unknown): Promise<void> {
  await store.put(key, `${JSON.stringify(value, null, 2)}\n`, 'application/json');
}

/** Writes JSON that only the pipeline reads (batches, hand-overs, outcomes): compact. */
export async function putWorkJson(store: ReportStore, key: string, value: unknown): Promise<void> {
  await store.put(key, JSON.stringify(value), 'application/json');
}

export async function getJson<T>(store: ReportStore, key: string): Promise<T> {
  return JSON.parse(await store.get(key)) as T;
}

export class S3ReportStore implements ReportStore {
  readonly location: string;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {
    this.location = `s3://${bucket}`;
  }

  async put(key: string, body: string, contentType = 'application/json'): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }));
  }

  async get(key: string): Promise<string> {
    try {
      const answer = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await answer.Body!.transformToString('utf8');
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey') throw new NotFound(`${this.location}/${key} does not exist`);
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const found: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key) found.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found.sort();
  }
}

export class DirectoryReportStore implements ReportStore {
  constructor(readonly location: string) {}

  async put(key: string, body: string): Promise<void> {
    const file = this.file(key);
    await mkdir(dirname(file), { recursive: true });
    // Write aside and rename, so a reader never sees half a file.
    const partial = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.partial`;
    await writeFile(partial, body);
    await rename(partial, file);
  }

  async get(key: string): Promise<string> {
    try {
      return await readFile(this.file(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFound(`${this.file(key)} does not exist`);
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    // List from the deepest directory the prefix names, then filter on the full prefix.
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
    const found: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (!entry.name.endsWith('.partial')) {
          const key = relative(this.location, path).split(sep).join('/');
          if (key.startsWith(prefix)) found.push(key);
        }
      }
    };
    await walk(this.file(base));
    return found.sort();
  }

  private file(key: string): string {
    if (key.split('/').some((part) => part === '..')) throw new Error(`refusing a key that leaves the store: ${key}`);
    return join(this.location, ...key.split('/'));
  }
}
