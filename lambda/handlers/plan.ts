import { IAMClient } from '@aws-sdk/client-iam';
import { IamCaller } from '../core/iam-calls';
import { plan, type PlanEvent, type PlanResult } from '../core/plan';
import { accountIdOf, clockFromEnvironment, pacingFromEnvironment, planSettingsFromEnvironment, storeFromEnvironment, type LambdaContext } from '../core/runtime';

// Throttling is retried and counted by IamCaller, so the SDK does not retry on its own.
const iam = new IAMClient({ maxAttempts: 1 });
const store = storeFromEnvironment();
const clock = clockFromEnvironment();
const settings = planSettingsFromEnvironment();
const pacing = pacingFromEnvironment();

export async function handler(event: PlanEvent, context: LambdaContext): Promise<PlanResult> {
  return plan({ iam, caller: new IamCaller(clock, pacing), store, clock, settings }, event, accountIdOf(context.invokedFunctionArn));
}
