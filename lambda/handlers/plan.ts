import { IAMClient } from '@aws-sdk/client-iam';
import { plan, selfAccountSource, type PlanEvent, type PlanResult } from '../core/plan';
import { accountIdOf, clockFromEnvironment, pacingFromEnvironment, planSettingsFromEnvironment, storeFromEnvironment, type LambdaContext } from '../core/runtime';

// Throttling and transient faults are retried and counted by IamCaller, so the SDK does not retry on its own.
const iam = new IAMClient({ maxAttempts: 1 });
const store = storeFromEnvironment();
const clock = clockFromEnvironment();
const settings = planSettingsFromEnvironment();
const pacing = pacingFromEnvironment();

export async function handler(event: PlanEvent, context: LambdaContext): Promise<PlanResult> {
  return plan({ source: selfAccountSource(accountIdOf(context.invokedFunctionArn), iam), store, clock, settings, pacing }, event);
}
