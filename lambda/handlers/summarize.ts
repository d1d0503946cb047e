import { runMetrics } from '../core/metrics';
import { clockFromEnvironment, metricsDimensionFromEnvironment, storeFromEnvironment, summarizeSettingsFromEnvironment } from '../core/runtime';
import { gather, summarize, type GatherResult, type SummarizeEvent, type SummarizeResult } from '../core/summarize';

const store = storeFromEnvironment();
const clock = clockFromEnvironment();
const dimension = metricsDimensionFromEnvironment();
const settings = summarizeSettingsFromEnvironment();

export async function handler(event: SummarizeEvent): Promise<SummarizeResult | GatherResult> {
  if (event.phase === 'gather') return gather({ store, clock, settings }, event);
  const result = await summarize({ store, clock, settings }, event);
  // One log line in CloudWatch's embedded metric format publishes the run's metrics.
  console.log(JSON.stringify(runMetrics(result, dimension, clock.now())));
  return result;
}
