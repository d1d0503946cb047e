import { IAMClient } from '@aws-sdk/client-iam';
import type { AuditBatchDeps, AuditBatchSettings } from '../../lambda/core/audit-batch';
import type { Clock } from '../../lambda/core/clock';
import { selfAccountSource, type PlanDeps, type PlanSettings } from '../../lambda/core/plan';
import { DirectoryReportStore, NotFound, type ReportStore } from '../../lambda/core/store';
import { tempDir } from './temp';

export const TEST_AUDIT_SETTINGS: AuditBatchSettings = {
  maxAttempts: 3,
  pollIntervalMs: 5000,
  maxPollIntervalMs: 60_000,
  pollBudgetMs: 60_000,
  handBackAfterMs: 30_000,
  safetyMarginMs: 5_000,
  leftoverWaitSeconds: 10,
  maxLeftoverWaitSeconds: 60,
  maxRegenerations: 2,
};

export const TEST_PLAN_SETTINGS: PlanSettings = {
  defaults: { granularity: 'SERVICE_LEVEL', entityTypes: ['user', 'group', 'role', 'policy'], unusedAfterDays: 90 },
  excludePathPrefixes: ['/aws-service-role/'],
  batchSize: 4,
};

/** An IAM client of the pipeline's kind (no SDK retries), signing as one session. */
export function pipelineIam(url: string, accessKeyId = 'ASIATESTSESSION00001'): IAMClient {
  return new IAMClient({ region: 'us-east-1', endpoint: url, maxAttempts: 1, credentials: { accessKeyId, secretAccessKey: 's', sessionToken: 't' } });
}

export function tempStore(prefix = 'store-'): DirectoryReportStore {
  return new DirectoryReportStore(tempDir(prefix));
}

/** The store, with some of its calls answered otherwise (to count, slow or interrupt them). */
export function storeWith(store: ReportStore, calls: Partial<Omit<ReportStore, 'location'>>): ReportStore {
  return {
    location: store.location,
    put: store.put.bind(store),
    putChunks: store.putChunks.bind(store),
    get: store.get.bind(store),
    list: store.list.bind(store),
    delete: store.delete.bind(store),
    getTagged: store.getTagged.bind(store),
    putIfUnchanged: store.putIfUnchanged.bind(store),
    ...calls,
  };
}

/** A store in memory, for tests of many small objects that need no files. */
export function memoryStore(): ReportStore {
  const objects = new Map<string, string>();
  // A tag per write: S3's ETag is a digest of the text, but here even the same text written again is told apart.
  const tags = new Map<string, string>();
  let writes = 0;
  const write = (key: string, body: string) => {
    objects.set(key, body);
    tags.set(key, `w${++writes}`);
  };
  return {
    location: 'memory',
    put: async (key, body) => write(key, body),
    getTagged: async (key) => (objects.has(key) ? { text: objects.get(key)!, tag: tags.get(key)! } : null),
    putIfUnchanged: async (key, body, tag) => {
      if ((tags.get(key) ?? null) !== tag) return false;
      write(key, body);
      return true;
    },
    putChunks: async (key, chunks) => {
      const parts: string[] = [];
      for await (const chunk of chunks) parts.push(chunk);
      if (parts.length > 0) write(key, parts.join(''));
      return parts.length > 0;
    },
    get: async (key) => {
      const body = objects.get(key);
      if (body === undefined) throw new NotFound(`${key} does not exist`);
      return body;
    },
    list: async (prefix) => [...objects.keys()].filter((k) => k.startsWith(prefix)).sort(),
    delete: async (key) => {
      objects.delete(key);
      tags.delete(key);
    },
  };
}

export function planDeps(iam: IAMClient, store: ReportStore, clock: Clock, accountId: string, settings: Partial<PlanSettings> = {}): PlanDeps {
  return { source: selfAccountSource(accountId, iam), store, clock, pacing: { callsPerSecond: 1000 }, settings: { ...TEST_PLAN_SETTINGS, ...settings } };
}

/**
 * AuditBatch's dependencies. Its pacers start at `callsPerSecond` as if an earlier invocation had found
 * that rate, so that tests can reason about how much one invocation does.
 */
export function auditDeps(iam: IAMClient, store: DirectoryReportStore, clock: Clock, settings: Partial<AuditBatchSettings> = {}, callsPerSecond = 1000): AuditBatchDeps {
  const learned = { list: callsPerSecond, generate: callsPerSecond, get: callsPerSecond };
  return { iamIn: async () => iam, store, clock, pacing: { callsPerSecond, learned }, settings: { ...TEST_AUDIT_SETTINGS, ...settings } };
}
