import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { STSClient } from '@aws-sdk/client-sts';
import { accountSource, MemberSessions } from '../core/accounts';
import { plan, type PlanEvent, type PlanResult } from '../core/plan';
import { accountIdOf, accountsFromEnvironment, clockFromEnvironment, pacingFromEnvironment, partitionOf, planSettingsFromEnvironment, storeFromEnvironment, type LambdaContext } from '../core/runtime';

// Throttling and transient faults are retried and counted by IamCaller, so the SDK does not retry on its own.
const iam = new IAMClient({ maxAttempts: 1 });
const sts = new STSClient({});
const organizations = new OrganizationsClient({});
const store = storeFromEnvironment();
const clock = clockFromEnvironment();
const settings = planSettingsFromEnvironment();
const pacing = pacingFromEnvironment();
const accounts = accountsFromEnvironment();
let sessions: MemberSessions | undefined;

export async function handler(event: PlanEvent, context: LambdaContext): Promise<PlanResult> {
  const functionArn = context.invokedFunctionArn;
  if (accounts.source !== 'self') {
    sessions ??= new MemberSessions({ sts, clock, memberRoleName: accounts.memberRoleName, partition: partitionOf(functionArn), sessionName: 'iam-access-audit-plan' });
  }
  const source = accountSource(accounts, { accountId: accountIdOf(functionArn), iam }, { organizations, sessions: sessions! });
  return plan({ source, store, clock, settings, pacing }, event);
}
