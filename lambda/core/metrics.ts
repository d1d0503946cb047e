/**
 * Run metrics, published by logging them in CloudWatch's embedded metric format: no API call and no
 * permission beyond writing logs. The failure alarm watches FailedEntitiesPercent; WatchedFirstUses counts
 * the first uses of watched services since the previous complete run.
 */
import type { SummarizeResult } from './summarize';

export const METRICS_NAMESPACE = 'IamAccessAudit';

export function runMetrics(result: SummarizeResult, dimension: string, now: number): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [['Stack']],
          Metrics: [
            { Name: 'FailedEntitiesPercent', Unit: 'Percent' },
            { Name: 'EntitiesListed', Unit: 'Count' },
            { Name: 'EntitiesReported', Unit: 'Count' },
            { Name: 'EntitiesSkipped', Unit: 'Count' },
            { Name: 'EntitiesFailed', Unit: 'Count' },
            { Name: 'WatchedFirstUses', Unit: 'Count' },
          ],
        },
      ],
    },
    Stack: dimension,
    runId: result.runId,
    FailedEntitiesPercent: Math.round(result.failedShare * 10_000) / 100,
    EntitiesListed: result.listed,
    EntitiesReported: result.reported,
    EntitiesSkipped: result.skipped,
    EntitiesFailed: result.failed,
    WatchedFirstUses: result.watchedFirstUses,
  };
}
