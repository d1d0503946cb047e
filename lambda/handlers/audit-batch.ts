import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { MemberSessions, renewingSender } from '../core/accounts';
import { auditBatch, type AuditBatchEvent, type AuditBatchResult } from '../core/audit-batch';
import { accountsFromEnvironment, auditBatchSettingsFromEnvironment, clockFromEnvironment, pacingFromEnvironment, partitionOf, storeFromEnvironment, type LambdaContext } from '../core/runtime';

// Throttling and transient faults are retried and counted by IamCaller, so the SDK does not retry on its own.
const iam = new IAMClient({ maxAttempts: 1 });
const sts = new STSClient({});
const store = storeFromEnvironment();
const clock = clockFromEnvironment();
const settings = auditBatchSettingsFromEnvironment();
const pacing = pacingFromEnvironment();
const accounts = accountsFromEnvironment();
/** Member-role sessions of this execution environment, one per account, kept across invocations. */
let sessions: MemberSessions | undefined;

export async function handler(event: AuditBatchEvent, context: LambdaContext): Promise<AuditBatchResult> {
  const remainingMs = context.getRemainingTimeInMillis();
  if (accounts.source === 'self') return auditBatch({ iamIn: async () => iam, store, clock, settings, pacing }, event, remainingMs);
  const member = (sessions ??= new MemberSessions({ sts, clock, memberRoleName: accounts.memberRoleName, partition: partitionOf(context.invokedFunctionArn), sessionName: 'iam-access-audit-audit-batch' }));
  const iamIn = async (accountId: string) => {
    // A session good for the whole invocation, so that each job's Generate and Get share it.
    await member.iam(accountId, remainingMs);
    return renewingSender(member, accountId);
  };
  return auditBatch({ iamIn, store, clock, settings, pacing }, event, remainingMs);
}
