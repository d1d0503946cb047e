/**
 * Turns a complete IAM access-advisor result into the entity report and its dataset rows, and judges
 * which services are unused. Only a COMPLETED job with every page read ever becomes a report.
 */
import type { GetServiceLastAccessedDetailsCommandOutput, ServiceLastAccessed } from '@aws-sdk/client-iam';
import type { DatasetRow, EntityRef, EntityReport, RunInfo, ServiceReport } from './model';

const DAY_MS = 86_400_000;

/** IAM's answer lacks what a report needs: the entity fails with this, it is never reported. */
export class MalformedAnswer extends Error {
  override name = 'MalformedAnswer';
}

const iso = (d: Date | undefined): string | null => (d instanceof Date && !Number.isNaN(d.getTime()) ? d.toISOString() : null);

/**
 * The report of a COMPLETED job from every page of its result. Throws MalformedAnswer when the answer
 * lacks the job's creation date (which "unused" is judged against) or a service's namespace or name.
 */
export function buildReport(run: RunInfo, accountId: string, entity: EntityRef, jobId: string, pages: readonly GetServiceLastAccessedDetailsCommandOutput[]): EntityReport {
  const first = pages[0];
  const createdAt = iso(first?.JobCreationDate);
  if (!createdAt) throw new MalformedAnswer('the COMPLETED answer has no JobCreationDate');
  const completedAt = iso(first.JobCompletionDate) ?? createdAt;
  const raw: ServiceLastAccessed[] = pages.flatMap((p) => p.ServicesLastAccessed ?? []);
  const services: ServiceReport[] = raw
    .map((s, i) => {
      if (!s.ServiceNamespace || !s.ServiceName) throw new MalformedAnswer(`service ${i} of the result has no ServiceNamespace or ServiceName`);
      return {
        serviceNamespace: s.ServiceNamespace,
        serviceName: s.ServiceName,
        lastAuthenticated: iso(s.LastAuthenticated),
        lastAuthenticatedEntity: s.LastAuthenticatedEntity ?? null,
        lastAuthenticatedRegion: s.LastAuthenticatedRegion ?? null,
        totalAuthenticatedEntities: s.TotalAuthenticatedEntities ?? 0,
        trackedActions:
          run.granularity === 'ACTION_LEVEL'
            ? (s.TrackedActionsLastAccessed ?? []).map((a) => {
                if (!a.ActionName) throw new MalformedAnswer(`a tracked action of ${s.ServiceNamespace} has no ActionName`);
                return {
                  actionName: a.ActionName,
                  lastAccessedTime: iso(a.LastAccessedTime),
                  lastAccessedRegion: a.LastAccessedRegion ?? null,
                  lastAccessedEntity: a.LastAccessedEntity ?? null,
                };
              })
            : [],
      };
    })
    .sort((a, b) => (a.serviceNamespace < b.serviceNamespace ? -1 : a.serviceNamespace > b.serviceNamespace ? 1 : 0));
  const seen = new Set<string>();
  for (const s of services) {
    if (seen.has(s.serviceNamespace)) throw new MalformedAnswer(`the result names service ${s.serviceNamespace} twice`);
    seen.add(s.serviceNamespace);
  }

  const unused = unusedServices(services, Date.parse(createdAt), run.unusedAfterDays);
  return {
    schemaVersion: 1,
    runId: run.runId,
    runDate: run.runDate,
    accountId,
    entity: { arn: entity.arn, type: entity.type, name: entity.name, path: entity.path, id: entity.id },
    granularity: run.granularity,
    job: { jobId, status: 'COMPLETED', createdAt, completedAt },
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

/**
 * The report's dataset rows as JSON lines, each exactly `JSON.stringify` of its row: the fields every row
 * of the report shares are written once, which halves the work for the hundreds of thousands of rows
 * of a large run.
 */
export function datasetLines(report: EntityReport): string {
  const unused = new Set(report.findings.unusedServices);
  const shared = JSON.stringify({
    runId: report.runId,
    runDate: report.runDate,
    accountId: report.accountId,
    granularity: report.granularity,
    entityArn: report.entity.arn,
    entityType: report.entity.type,
    entityName: report.entity.name,
  });
  const head = `${shared.slice(0, -1)},`;
  let lines = '';
  for (const s of report.services) {
    const own = JSON.stringify({
      serviceNamespace: s.serviceNamespace,
      serviceName: s.serviceName,
      lastAuthenticated: s.lastAuthenticated,
      lastAuthenticatedEntity: s.lastAuthenticatedEntity,
      lastAuthenticatedRegion: s.lastAuthenticatedRegion,
      totalAuthenticatedEntities: s.totalAuthenticatedEntities,
      unused: unused.has(s.serviceNamespace),
      neverUsed: s.lastAuthenticated === null,
    } satisfies Omit<DatasetRow, 'runId' | 'runDate' | 'accountId' | 'granularity' | 'entityArn' | 'entityType' | 'entityName'>);
    lines += `${head}${own.slice(1)}\n`;
  }
  return lines;
}
