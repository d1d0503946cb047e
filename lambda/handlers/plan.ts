import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { STSClient } from '@aws-sdk/client-sts';
import { accountSource, MemberSessions, ORGANIZATIONS_MAX_ATTEMPTS } from '../core/accounts';
import { listAccounts, startPlan, writePlan, type ListEvent, type PlanEvent, type PlanResult, type PlanStart } from '../core/plan';
import type { RunInfo } from '../core/model';
import { InvalidInput } from '../core/errors';
import { accountIdOf, accountsFromEnvironment, clockFromEnvironment, pacingFromEnvironment, partitionOf, planSettingsFromEnvironment, storeFromEnvironment, type LambdaContext } from '../core/runtime';

// Throttling and transient faults are retried and counted by IamCaller, so the SDK does not retry on its own.
const iam = new IAMClient({ maxAttempts: 1 });
const sts = new STSClient({});
const organizations = new OrganizationsClient({ maxAttempts: ORGANIZATIONS_MAX_ATTEMPTS });
const store = storeFromEnvironment();
const clock = clockFromEnvironment();
const settings = planSettingsFromEnvironment();
const pacing = pacingFromEnvironment();
const accounts = accountsFromEnvironment();
let sessions: MemberSessions | undefined;

/** The workflow runs Plan's three steps in turn (core/plan.ts); `phase` says which. */
export type PlanHandlerEvent = ({ readonly phase: 'start' } & PlanEvent) | ({ readonly phase: 'list' } & ListEvent) | { readonly phase: 'batches'; readonly run: RunInfo };

export async function handler(event: PlanHandlerEvent, context: LambdaContext): Promise<PlanStart | null | PlanResult> {
  const functionArn = context.invokedFunctionArn;
  if (accounts.source !== 'self') {
    sessions ??= new MemberSessions({ sts, clock, memberRoleName: accounts.memberRoleName, partition: partitionOf(functionArn), sessionName: 'iam-access-audit-plan' });
  }
  const source = accountSource(accounts, { accountId: accountIdOf(functionArn), iam }, { organizations, sessions: sessions! });
  const deps = { source, store, clock, settings, pacing };
  switch (event.phase) {
    case 'start':
      return startPlan(deps, event);
    case 'list':
      return listAccounts(deps, event);
    case 'batches':
      return writePlan(deps, event.run);
    default:
      throw new InvalidInput(`phase: Plan takes "start", "list" or "batches", got ${JSON.stringify((event as { phase?: unknown }).phase)}`);
  }
}
