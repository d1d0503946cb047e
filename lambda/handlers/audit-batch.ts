import { IAMClient } from '@aws-sdk/client-iam';
import { auditBatch, type AuditBatchEvent, type AuditBatchResult } from '../core/audit-batch';
import { auditBatchSettingsFromEnvironment, clockFromEnvironment, pacingFromEnvironment, storeFromEnvironment, type LambdaContext } from '../core/runtime';

// Throttling and transient faults are retried and counted by IamCaller, so the SDK does not retry on its own.
const iam = new IAMClient({ maxAttempts: 1 });
const store = storeFromEnvironment();
const clock = clockFromEnvironment();
const settings = auditBatchSettingsFromEnvironment();
const pacing = pacingFromEnvironment();

export async function handler(event: AuditBatchEvent, context: LambdaContext): Promise<AuditBatchResult> {
  return auditBatch({ iam, store, clock, settings, pacing }, event, context.getRemainingTimeInMillis());
}
