/**
 * Turns a complete IAM access-advisor result into the entity report and its dataset rows, and judges
 * which services are unused. Only a COMPLETED job with every page read ever becomes a report.
 */
import type { ServiceLastAccessed } from '@aws-sdk/client-iam';
import type { DatasetRow, EntityRef, EntityReport, RunInfo, ServiceReport } from './model';

export interface CompletedJob {
  readonly jobId: string;
  readonly createdAt: Date;
  readonly completedAt: Date;
  readonly services: readonly ServiceLastAccessed[];
}

const DAY_MS = 86_400_000;

const iso = (d: Date | undefined): string | null => (d ? d.toISOString() : null);

export function buildReport(run: RunInfo, entity: EntityRef, job: CompletedJob): EntityReport {
  const services: ServiceReport[] = job.services
    .map((s) => ({
      serviceNamespace: s.ServiceNamespace!,
      serviceName: s.ServiceName!,
      lastAuthenticated: iso(s.LastAuthenticated),
      lastAuthenticatedEntity: s.LastAuthenticatedEntity ?? null,
      lastAuthenticatedRegion: s.LastAuthenticatedRegion ?? null,
      totalAuthenticatedEntities: s.TotalAuthenticatedEntities ?? 0,
      trackedActions:
        run.granularity === 'ACTION_LEVEL'
          ? (s.TrackedActionsLastAccessed ?? []).map((a) => ({
              actionName: a.ActionName!,
              lastAccessedTime: iso(a.LastAccessedTime),
              lastAccessedRegion: a.LastAccessedRegion ?? null,
              lastAccessedEntity: a.LastAccessedEntity ?? null,
            }))
          : [],
    }))
    .sort((a, b) => (a.serviceNamespace < b.serviceNamespace ? -1 : a.serviceNamespace > b.serviceNamespace ? 1 : 0));

  const unused = unusedServices(services, job.createdAt.getTime(), run.unusedAfterDays);
  return {
    schemaVersion: 1,
    runId: run.runId,
    runDate: run.runDate,
    accountId: run.accountId,
    entity: { arn: entity.arn, type: entity.type, name: entity.name, path: entity.path, id: entity.id },
    granularity: run.granularity,
    job: { jobId: job.jobId, status: 'COMPLETED', createdAt: job.createdAt.toISOString(), completedAt: job.completedAt.toISOString() },
    services,
    findings: {
      unusedAfterDays: run.unusedAfterDays,
      servicesGranted: services.length,
      servicesUsed: services.length - unused.length,
      unusedServices: unused,
      neverUsedServices: services.filter((s) => s.lastAuthenticated === null).map((s) => s.serviceNamespace),
    },
  };
}

/**
 * The services not used within `unusedAfterDays` before `asOf` (never used included). "Unused" is judged
 * against the job's creation date, the moment IAM's data describes.
 */
export function unusedServices(services: readonly ServiceReport[], asOf: number, unusedAfterDays: number): string[] {
  const windowStart = asOf - unusedAfterDays * DAY_MS;
  return services.filter((s) => s.lastAuthenticated === null || Date.parse(s.lastAuthenticated) < windowStart).map((s) => s.serviceNamespace);
}

export function datasetRows(report: EntityReport): DatasetRow[] {
  const unused = new Set(report.findings.unusedServices);
  return report.services.map((s) => ({
    runId: report.runId,
    runDate: report.runDate,
    accountId: report.accountId,
    granularity: report.granularity,
    entityArn: report.entity.arn,
    entityType: report.entity.type,
    entityName: report.entity.name,
    serviceNamespace: s.serviceNamespace,
    serviceName: s.serviceName,
    lastAuthenticated: s.lastAuthenticated,
    lastAuthenticatedEntity: s.lastAuthenticatedEntity,
    lastAuthenticatedRegion: s.lastAuthenticatedRegion,
    totalAuthenticatedEntities: s.totalAuthenticatedEntities,
    unused: unused.has(s.serviceNamespace),
    neverUsed: s.lastAuthenticated === null,
  }));
}
