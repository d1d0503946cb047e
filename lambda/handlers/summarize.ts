import { clockFromEnvironment, storeFromEnvironment } from '../core/runtime';
import { summarize, type SummarizeEvent, type SummarizeResult } from '../core/summarize';

const store = storeFromEnvironment();
const clock = clockFromEnvironment();

export async function handler(event: SummarizeEvent): Promise<SummarizeResult> {
  return summarize({ store, clock }, event);
}
