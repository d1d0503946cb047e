import { IAMClient } from '@aws-sdk/client-iam';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditBatchDeps, AuditBatchSettings } from '../../lambda/core/audit-batch';
import type { Clock } from '../../lambda/core/clock';
import { IamCaller } from '../../lambda/core/iam-calls';
import type { PlanDeps, PlanSettings } from '../../lambda/core/plan';
import { DirectoryReportStore } from '../../lambda/core/store';

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
  concurrency: 5,
};

/** An IAM client of the pipeline's kind (no SDK retries), signing as one session. */
export function pipelineIam(url: string, accessKeyId = 'ASIATESTSESSION00001'): IAMClient {
  return new IAMClient({ region: 'us-east-1', endpoint: url, maxAttempts: 1, credentials: { accessKeyId, secretAccessKey: 's', sessionToken: 't' } });
}

export function tempStore(prefix = 'store-'): DirectoryReportStore {
  return new DirectoryReportStore(mkdtempSync(join(tmpdir(), prefix)));
}

export function planDeps(iam: IAMClient, store: DirectoryReportStore, clock: Clock, settings: Partial<PlanSettings> = {}): PlanDeps {
  return { iam, store, clock, caller: new IamCaller(clock, { callsPerSecond: 1000 }), settings: { ...TEST_PLAN_SETTINGS, ...settings } };
}

export function auditDeps(iam: IAMClient, store: DirectoryReportStore, clock: Clock, settings: Partial<AuditBatchSettings> = {}, callsPerSecond = 1000): AuditBatchDeps {
  return { iam, store, clock, caller: new IamCaller(clock, { callsPerSecond }), settings: { ...TEST_AUDIT_SETTINGS, ...settings } };
}
