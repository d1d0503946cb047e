/**
 * The report store: one interface over an S3 bucket and over a local directory, with the same keys,
 * so the local runner and tests exercise exactly the code that runs in Lambda.
 */
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, type Dirent, type Stats } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';

export interface ReportStore {
  /** Writes the whole object or nothing. */
  put(key: string, body: string, contentType?: string): Promise<void>;
  /**
   * Writes the chunks, in order, as one object, or nothing: never more than a few parts in memory, for
   * objects too large to build whole (a batch's dataset rows). Writes nothing and answers false when
   * there are no chunks.
   */
  putChunks(key: string, chunks: AsyncIterable<string>, contentType: string): Promise<boolean>;
  /** The object's text; throws NotFound when it does not exist. */
  get(key: string): Promise<string>;
  /** Every key under the prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Removes the object; nothing happens when it does not exist. */
  delete(key: string): Promise<void>;
  /** The object's text and a tag that changes whenever it is written, or null when it does not exist. */
  getTagged(key: string): Promise<Tagged | null>;
  /**
   * Writes the object only if it is still as `getTagged` found it (`tag` null: only if there is none),
   * check and write in one step: true when written; false, writing nothing, when another writer changed
   * it since. For pointers that runs beside each other move.
   */
  putIfUnchanged(key: string, body: string, tag: string | null, contentType?: string): Promise<boolean>;
  /** Where objects are, for people: `s3://bucket` or a directory. */
  readonly location: string;
}

export interface Tagged {
  readonly text: string;
  readonly tag: string;
}

export class NotFound extends Error {
  override name = 'NotFound';
}

/** JSON for people to read (reports, summaries): indented. */
export const jsonText = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Writes JSON for people to read. */
export async function putJson(store: ReportStore, key: string, value: unknown): Promise<void> {
  await store.put(key, jsonText(value), 'application/json');
}

/** Writes JSON that only the pipeline reads (batches, hand-overs, outcomes): compact. */
export async function putWorkJson(store: ReportStore, key: string, value: unknown): Promise<void> {
  await store.put(key, JSON.stringify(value), 'application/json');
}

export async function getJson<T>(store: ReportStore, key: string): Promise<T> {
  return JSON.parse(await store.get(key)) as T;
}

/** The object's text, or null when it does not exist. */
export async function getOrNull(store: ReportStore, key: string): Promise<string | null> {
  try {
    return await store.get(key);
  } catch (err) {
    if (err instanceof NotFound) return null;
    throw err;
  }
}

/** The object's JSON, or null when it does not exist. */
export async function getJsonOrNull<T>(store: ReportStore, key: string): Promise<T | null> {
  const text = await getOrNull(store, key);
  return text === null ? null : (JSON.parse(text) as T);
}

/** `work` applied to every item, at most `concurrency` at a time; results in the items' order. */
export async function mapConcurrently<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/**
 * Reads items in their order, keeping up to `ahead` reads in flight beyond the one being taken: a reader
 * that handles one item at a time, in order, waits on S3's latency once per `ahead` items instead of each
 * time, and at most `ahead` items are held before they are taken. With `weigh`, `ahead` bounds the weight
 * of the items read ahead instead (what they hold once read: an account's entities, say), but one item is
 * always read ahead, however heavy.
 */
export class ReadAhead<T, R> {
  private taken = 0;
  private started = 0;
  /** The weight of the items started but not taken, but for the next one to be taken. */
  private pending = 0;
  private readonly reads = new Map<number, Promise<R>>();

  constructor(
    private readonly items: readonly T[],
    private readonly read: (item: T) => Promise<R>,
    private readonly ahead: number,
    private readonly weigh: (item: T) => number = () => 1,
  ) {
    if (!(ahead >= 1)) throw new RangeError(`ReadAhead: ahead must be 1 or more, got ${ahead}`);
  }

  /** What the next item reads as. */
  take(): Promise<R> {
    if (this.taken >= this.items.length) throw new Error(`ReadAhead: all ${this.items.length} items were taken`);
    this.fill();
    const read = this.reads.get(this.taken)!;
    this.reads.delete(this.taken++);
    // The item after it is now the next to be taken: its weight no longer counts against `ahead`.
    if (this.taken < this.started) this.pending -= this.weigh(this.items[this.taken]);
    return read;
  }

  private fill(): void {
    while (this.started < this.items.length) {
      const next = this.started === this.taken;
      const weight = next ? 0 : this.weigh(this.items[this.started]);
      if (!next && this.pending > 0 && this.pending + weight > this.ahead) break;
      const read = this.read(this.items[this.started]);
      // A read that fails before it is taken is reported when it is taken, not as unhandled.
      read.catch(() => undefined);
      this.reads.set(this.started++, read);
      this.pending += weight;
    }
  }
}

/**
 * Writes left to finish while the caller goes on to the next: a write is added once started, and
 * `add` waits for the oldest until those still in flight weigh at most `behind` (the last one added
 * always stays in flight, however heavy). A failed write is reported when it is waited for.
 */
export class WritesBehind {
  private readonly writes: Array<{ readonly done: Promise<unknown>; readonly weight: number }> = [];
  private weight = 0;

  constructor(private readonly behind: number) {}

  async add(done: Promise<unknown>, weight = 1): Promise<void> {
    // Awaited below or in `finish`; a failure meanwhile is not an unhandled one.
    done.catch(() => undefined);
    this.writes.push({ done, weight });
    this.weight += weight;
    while (this.writes.length > 1 && this.weight > this.behind) {
      const oldest = this.writes.shift()!;
      await oldest.done;
      this.weight -= oldest.weight;
    }
  }

  /** Waits for every write still in flight. */
  async finish(): Promise<void> {
    await Promise.all(this.writes.map((w) => w.done));
  }
}

/** Requests made to a store, as S3 bills them: PUT, GET, and LIST (one per page of 1,000 keys); DELETE is free. */
export interface StoreRequests {
  put: number;
  get: number;
  list: number;
}

const REQUESTS = Symbol.for('iam-access-audit.storeRequests');

/** Part size of a multipart upload (S3's least is 5 MiB); an object no larger goes in one PUT. */
export const UPLOAD_PART_BYTES = 8 * 1024 * 1024;

/** PUT requests S3 bills for an object written by `putChunks`: one, or a part each and two to start and complete. */
export function putRequestsFor(bytes: number): number {
  return bytes <= UPLOAD_PART_BYTES ? 1 : Math.ceil(bytes / UPLOAD_PART_BYTES) + 2;
}

/** The chunks as a byte stream, counting its bytes, or null when there are none. */
async function byteStream(chunks: AsyncIterable<string>): Promise<{ stream: Readable; bytes: () => number } | null> {
  const iterator = chunks[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return null;
  let bytes = 0;
  const encode = (text: string) => {
    const buffer = Buffer.from(text, 'utf8');
    bytes += buffer.length;
    return buffer;
  };
  async function* all() {
    yield encode(first.value);
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield encode(next.value);
  }
  return { stream: Readable.from(all()), bytes: () => bytes };
}

/**
 * The requests every store in this thread has made. The local runner reads them after each invocation,
 * so a local run counts what the same run would ask of S3.
 */
export function storeRequests(): StoreRequests {
  const holder = globalThis as unknown as Record<symbol, StoreRequests | undefined>;
  return (holder[REQUESTS] ??= { put: 0, get: 0, list: 0 });
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
    storeRequests().put++;
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }));
  }

  async putChunks(key: string, chunks: AsyncIterable<string>, contentType: string): Promise<boolean> {
    const body = await byteStream(chunks);
    if (!body) return false;
    // The SDK's multipart upload: parts go as the chunks come, and a failed upload is aborted, so
    // nothing appears under the key.
    await new Upload({ client: this.s3, params: { Bucket: this.bucket, Key: key, Body: body.stream, ContentType: contentType }, partSize: UPLOAD_PART_BYTES, queueSize: 2 }).done();
    storeRequests().put += putRequestsFor(body.bytes());
    return true;
  }

  async delete(key: string): Promise<void> {
    // S3 does not bill DELETE requests.
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async get(key: string): Promise<string> {
    storeRequests().get++;
    try {
      const answer = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await answer.Body!.transformToString('utf8');
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey') throw new NotFound(`${this.location}/${key} does not exist`);
      throw err;
    }
  }

  async getTagged(key: string): Promise<Tagged | null> {
    storeRequests().get++;
    try {
      const answer = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return { text: await answer.Body!.transformToString('utf8'), tag: answer.ETag! };
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey') return null;
      throw err;
    }
  }

  async putIfUnchanged(key: string, body: string, tag: string | null, contentType = 'application/json'): Promise<boolean> {
    storeRequests().put++;
    // S3's conditional writes: 412 when the object is not as it was (or, with If-None-Match, when there is
    // one), 409 when another conditional write to it is under way, 404 when it went; each time, nothing written.
    const condition = tag === null ? { IfNoneMatch: '*' } : { IfMatch: tag };
    try {
      await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType, ...condition }));
      return true;
    } catch (err) {
      if (['PreconditionFailed', 'ConditionalRequestConflict', 'NoSuchKey'].includes((err as Error).name)) return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const found: string[] = [];
    let token: string | undefined;
    do {
      storeRequests().list++;
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key) found.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found.sort();
  }
}

/** A directory store's tag of an object: a digest of its text, which changes when the text does. */
const tagOf = (text: string) => createHash('sha256').update(text).digest('hex');

/** Where a directory store writes files before renaming them into place, and keeps its locks. */
const PARTIAL_DIR = '.partial';

/** A directory store's lock older than this was left by a writer that died holding it. */
const LOCK_STALE_MS = 10_000;

/** How long a directory store's writer waits before trying a held lock again. */
const LOCK_RETRY_MS = 5;

/** The file that locks a key of the directory store at `location`, outside its keys. */
export const directoryLock = (location: string, key: string) => join(location, PARTIAL_DIR, `lock.${tagOf(key).slice(0, 32)}`);

/**
 * Makes a directory and those above it that are missing, one at a time. Node's own `mkdirSync(dir,
 * { recursive: true })` spins for ever, at full CPU, where the kernel answers ENOENT for a directory
 * whose parent exists (under /proc or /sys, say): it makes the parent again and retries. Here such a
 * directory throws ENOENT, one under a file ENOTDIR, as a plain `mkdir` would.
 */
export function makeDirectory(dir: string): void {
  for (const path of nearestExisting(dir).missing) {
    try {
      mkdirSync(path);
    } catch (err) {
      // Made by another writer meanwhile.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(path).isDirectory()) throw err;
    }
  }
}

/**
 * The nearest of `dir` and the directories above it that something (of any kind) is at, or undefined
 * when nothing is, even at the root; and the paths from there down to `dir` that are missing, the
 * highest first. A path under a file counts as missing: the file is found a step further up.
 */
export function nearestExisting(dir: string): { path: string | undefined; missing: string[] } {
  const missing: string[] = [];
  for (let path = resolve(dir); ; path = dirname(path)) {
    if (statOf(path)) return { path, missing };
    missing.unshift(path);
    if (dirname(path) === path) return { path: undefined, missing };
  }
}

/** A path's stat, or undefined where there is nothing (not there, or under a file). */
export function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** How long ago the lock file was made; 0 when it has just gone. */
function lockAge(lock: string): number {
  const stat = statOf(lock);
  return stat ? Date.now() - stat.mtimeMs : 0;
}

/**
 * Removes a lock seen dead, unless another waiter took it over since: a waiter that saw it dead may
 * remove it only while it holds the lock's guard (an exclusive create again), and looks at its age once
 * more under it. Without the guard, two waiters that saw one dead lock could each remove it, the second
 * removing the new lock the first had just taken. Answers whether it removed it. A guard left by a
 * waiter that died in the microseconds it holds one is itself removed once old; two waiters doing that
 * at once is the window left (it needs two deaths).
 */
function removeDeadLock(lock: string): boolean {
  const guard = `${lock}.takeover`;
  try {
    writeFileSync(guard, String(process.pid), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (lockAge(guard) > LOCK_STALE_MS) rmSync(guard, { force: true });
    return false;
  }
  try {
    if (!(lockAge(lock) > LOCK_STALE_MS)) return false;
    rmSync(lock, { force: true });
    return true;
  } finally {
    rmSync(guard, { force: true });
  }
}

/**
 * The store in a directory, for local runs. It calls the file system synchronously, but for a streamed
 * body: its files are small, and here reading 8,500 files of 3 KB through libuv's thread pool, 32 at a
 * time, took 0.7 to 1.4 s against 0.1 s one after another; writing and renaming them took as long to 10
 * times as long. Propose and Summarize's gather spend much of a local run's time on the store.
 */
export class DirectoryReportStore implements ReportStore {
  /** Directories this store made, so that a write does not make its directory again. */
  private readonly made = new Set<string>();

  constructor(readonly location: string) {}

  async put(key: string, body: string): Promise<void> {
    storeRequests().put++;
    this.writeWhole(key, body);
  }

  async putChunks(key: string, chunks: AsyncIterable<string>): Promise<boolean> {
    const body = await byteStream(chunks);
    if (!body) return false;
    const partial = this.partial();
    try {
      await pipeline(body.stream, createWriteStream(partial));
    } catch (err) {
      this.discard(partial, key, err);
    }
    this.place(partial, key);
    // As S3 would bill it: one PUT, or a multipart upload's.
    storeRequests().put += putRequestsFor(body.bytes());
    return true;
  }

  async getTagged(key: string): Promise<Tagged | null> {
    const text = await getOrNull(this, key);
    return text === null ? null : { text, tag: tagOf(text) };
  }

  async putIfUnchanged(key: string, body: string, tag: string | null): Promise<boolean> {
    storeRequests().put++;
    // Checked and written under the key's lock, so no other writer, in another process or in another
    // of the local runner's threads (each with its own store), comes between the check and the write.
    const release = await this.lock(key);
    try {
      let now: string | null;
      try {
        now = tagOf(readFileSync(this.file(key), 'utf8'));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        now = null;
      }
      if (now !== tag) return false;
      this.writeWhole(key, body);
      return true;
    } finally {
      release();
    }
  }

  /**
   * Takes the key's lock: a file made only if there is none (an exclusive create, atomic across
   * processes), outside the keys. A holder keeps it for one read and one write, so a waiter tries again
   * every few milliseconds; a lock older than LOCK_STALE_MS is a holder's that died, and is taken over.
   */
  private async lock(key: string): Promise<() => void> {
    const lock = directoryLock(this.location, key);
    for (;;) {
      try {
        this.into(dirname(lock), () => writeFileSync(lock, String(process.pid), { flag: 'wx' }));
        return () => rmSync(lock, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (!(lockAge(lock) > LOCK_STALE_MS && removeDeadLock(lock))) await delay(LOCK_RETRY_MS);
    }
  }

  /**
   * Writes aside (outside the keys) and renames, so a reader never sees half a file, and a writer that
   * dies leaves nothing under the keys.
   */
  private writeWhole(key: string, body: string): void {
    const partial = this.partial();
    try {
      writeFileSync(partial, body);
    } catch (err) {
      this.discard(partial, key, err);
    }
    this.place(partial, key);
  }

  /** A new file aside, outside the keys. */
  private partial(): string {
    const aside = join(this.location, PARTIAL_DIR);
    this.directory(aside);
    return join(aside, `${process.pid}.${Math.random().toString(36).slice(2)}`);
  }

  /**
   * Removes a partial file whose writing failed, and throws why, naming the key's file: the system's
   * message names the partial file or, for a full disk, nothing.
   */
  private discard(partial: string, key: string, err: unknown): never {
    rmSync(partial, { force: true });
    // The store's directory went since this store made it: the next write makes it again.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.made.clear();
    if (err instanceof Error) err.message = `${err.message} (writing ${this.file(key)})`;
    throw err;
  }

  /** Renames a whole partial file into its key's place. */
  private place(partial: string, key: string): void {
    const file = this.file(key);
    this.into(dirname(file), () => renameSync(partial, file));
  }

  /**
   * Makes something in `dir` (`make` writes there); when `dir` went since this store made it, makes
   * `dir` again and tries once more.
   */
  private into(dir: string, make: () => void): void {
    this.directory(dir);
    try {
      make();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.made.clear();
      this.directory(dir);
      make();
    }
  }

  private directory(dir: string): void {
    if (this.made.has(dir)) return;
    makeDirectory(dir);
    this.made.add(dir);
  }

  async delete(key: string): Promise<void> {
    rmSync(this.file(key), { force: true });
  }

  async get(key: string): Promise<string> {
    storeRequests().get++;
    try {
      return readFileSync(this.file(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFound(`${this.file(key)} does not exist`);
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    // List from the deepest directory the prefix names, then filter on the full prefix.
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
    const found: string[] = [];
    const walk = (dir: string): void => {
      let entries: Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (path !== join(this.location, PARTIAL_DIR)) walk(path);
        } else {
          const key = relative(this.location, path).split(sep).join('/');
          if (key.startsWith(prefix)) found.push(key);
        }
      }
    };
    walk(this.file(base));
    // As S3 would bill it: a LIST request per 1,000 keys.
    storeRequests().list += Math.max(1, Math.ceil(found.length / 1000));
    return found.sort();
  }

  private file(key: string): string {
    if (key.split('/').some((part) => part === '..')) throw new Error(`refusing a key that leaves the store: ${key}`);
    return join(this.location, ...key.split('/'));
  }
}
