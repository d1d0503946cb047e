/** Reports and documents for proposal tests, in one account or several. */
import type { EntityReport, EntityType, Granularity, RunInfo } from '../../lambda/core/model';
import type { PolicyDocument } from '../../lambda/core/policy';
import { buildReport } from '../../lambda/core/report';

export const NOW = new Date('2026-11-25T03:00:00Z');
export const DAY = 86_400_000;

/**
 * A report of `name` in `account` granted `services`, each used `days` ago (null: never), with tracked
 * actions used when given.
 */
export function reportIn(account: string, type: EntityType, name: string, services: Record<string, number | null>, granularity: Granularity = 'SERVICE_LEVEL', tracked: Record<string, string[]> = {}, path = '/'): EntityReport {
  const run: RunInfo = { runId: 'r1', runDate: '2026-11-25', granularity, unusedAfterDays: 90, startedAt: NOW.toISOString() };
  const arn = `arn:aws:iam::${account}:${type}${path}${name}`;
  return buildReport(run, account, { arn, type, name, path, id: 'AROAEXAMPLE00000000' }, 'j'.repeat(36), [
    {
      $metadata: {},
      JobStatus: 'COMPLETED',
      JobCreationDate: NOW,
      JobCompletionDate: NOW,
      ServicesLastAccessed: Object.entries(services).map(([ns, days]) => ({
        ServiceNamespace: ns,
        ServiceName: ns,
        LastAuthenticated: days === null ? undefined : new Date(NOW.getTime() - days * DAY),
        TrackedActionsLastAccessed: (tracked[ns] ?? []).map((a) => ({ ActionName: a, LastAccessedTime: new Date(NOW.getTime() - DAY) })),
      })),
    },
  ]);
}

export const allow = (Action: string | string[], extra: object = {}) => ({ Effect: 'Allow' as const, Action, Resource: '*', ...extra });
export const doc = (...Statement: object[]): PolicyDocument => ({ Version: '2012-10-17', Statement: Statement as PolicyDocument['Statement'] });
