import { IAMClient } from '@aws-sdk/client-iam';
import { auditBatch, type AuditBatchEvent, type AuditBatchResult } from '../core/audit-batch';
import { IamCaller } from '../core/iam-calls';
import { auditBatchSettingsFromEnvironment, clockFromEnvironment, pacingFromEnvironment, storeFromEnvironment, type LambdaContext } from '../core/runtime';

// Throttling is retried and counted by IamCaller, so the SDK does not retry on its own.
const iam = new IAMClient({ maxAttempts: 1 });
const store = storeFromEnvironment();
const clock = clockFromEnvironment();
const settings = auditBatchSettingsFromEnvironment();
const pacing = pacingFromEnvironment();

export async function handler(event: AuditBatchEvent, context: LambdaContext): Promise<AuditBatchResult> {
  return auditBatch({ iam, caller: new IamCaller(clock, pacing), store, clock, settings }, event, context.getRemainingTimeInMillis());
}
