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
  // The pipeline's ceiling is shared by the invocations that run at once.
  const caller = new IamCaller(clock, { ...pacing, callsPerSecond: pacing.callsPerSecond / (event.concurrency ?? 1) });
  return auditBatch({ iam, caller, store, clock, settings }, event, context.getRemainingTimeInMillis());
}
