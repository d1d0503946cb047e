import type { DatasetRow, EntityRef, RunInfo } from '../../lambda/core/model';
import { buildReport, datasetLines, MalformedAnswer } from '../../lambda/core/report';
import { expectedRow } from '../helpers/expectations';

const run: RunInfo = { runId: 'r', runDate: '2026-11-25', granularity: 'SERVICE_LEVEL', unusedAfterDays: 90, startedAt: '2026-11-25T03:00:00Z' };
const entity: EntityRef = { arn: 'arn:aws:iam::123456789012:role/app', type: 'role', name: 'app', path: '/', id: 'AROAEXAMPLE000000001' };
const created = new Date('2026-11-25T03:00:00Z');
const daysBefore = (d: number, ms = 0) => new Date(created.getTime() - d * 86_400_000 + ms);

describe('entity reports', () => {
  it('judge unused against the job creation date and the window, counting never-used as unused', () => {
    const report = buildReport(run, '123456789012', entity, 'j'.repeat(36), [
      {
        $metadata: {},
        JobStatus: 'COMPLETED',
        JobCreationDate: created,
        JobCompletionDate: new Date(created.getTime() + 3000),
        ServicesLastAccessed: [
          { ServiceNamespace: 'sts', ServiceName: 'AWS STS', LastAuthenticated: daysBefore(90, 1), TotalAuthenticatedEntities: 1 },
          { ServiceNamespace: 's3', ServiceName: 'Amazon S3', LastAuthenticated: daysBefore(90, -1), TotalAuthenticatedEntities: 1 },
          { ServiceNamespace: 'ec2', ServiceName: 'Amazon EC2', TotalAuthenticatedEntities: 0, TrackedActionsLastAccessed: [{ ActionName: 'RunInstances' }] },
        ],
      },
    ]);
    expect(report.accountId).toBe('123456789012');
    expect(report.services.map((s) => s.serviceNamespace)).toEqual(['ec2', 's3', 'sts']);
    expect(report.findings).toEqual({ unusedAfterDays: 90, servicesGranted: 3, servicesUsed: 1, unusedServices: ['ec2', 's3'], neverUsedServices: ['ec2'] });
    expect(report.services[0]).toEqual({
      serviceNamespace: 'ec2',
      serviceName: 'Amazon EC2',
      lastAuthenticated: null,
      lastAuthenticatedEntity: null,
      lastAuthenticatedRegion: null,
      totalAuthenticatedEntities: 0,
      trackedActions: [],
    });
    const rows = datasetLines(report).split('\n').slice(0, -1).map((line) => JSON.parse(line) as DatasetRow);
    expect(rows.map((r) => [r.serviceNamespace, r.unused, r.neverUsed])).toEqual([['ec2', true, true], ['s3', true, false], ['sts', false, false]]);
  });

  it('write each dataset row as exactly the JSON of the row, in its field order, whatever a name holds', () => {
    const odd: EntityRef = { ...entity, name: 'a"b\\c\u00e9\u2028d', arn: 'arn:aws:iam::123456789012:role/a"b\\c\u00e9\u2028d' };
    const report = buildReport(run, '123456789012', odd, 'j'.repeat(36), [
      {
        $metadata: {},
        JobStatus: 'COMPLETED',
        JobCreationDate: created,
        JobCompletionDate: created,
        ServicesLastAccessed: [
          { ServiceNamespace: 's3', ServiceName: 'Amazon "S3"', LastAuthenticated: daysBefore(1), LastAuthenticatedEntity: 'arn:aws:iam::123456789012:role/x', LastAuthenticatedRegion: 'eu-west-1', TotalAuthenticatedEntities: 2 },
          { ServiceNamespace: 'ec2', ServiceName: 'Amazon EC2', TotalAuthenticatedEntities: 0 },
        ],
      },
    ]);
    expect(report.findings.unusedServices).toEqual(['ec2']);
    const expected = report.services.map((s) => expectedRow(report, s));
    expect(datasetLines(report)).toBe(expected.map((row) => `${JSON.stringify(row)}\n`).join(''));
    expect(datasetLines({ ...report, services: [] })).toBe('');
  });

  it('refuse an answer without the job\'s creation date or a service\'s namespace, rather than guess', () => {
    const page = (extra: object) => [{ $metadata: {}, JobStatus: 'COMPLETED' as const, JobCreationDate: created, JobCompletionDate: created, ServicesLastAccessed: [{ ServiceNamespace: 's3', ServiceName: 'Amazon S3' }], ...extra }];
    expect(() => buildReport(run, '123456789012', entity, 'j', page({ JobCreationDate: undefined }))).toThrow(MalformedAnswer);
    expect(() => buildReport(run, '123456789012', entity, 'j', page({ ServicesLastAccessed: [{ ServiceName: 'nameless' }] }))).toThrow(/ServiceNamespace/);
    expect(() => buildReport(run, '123456789012', entity, 'j', page({ ServicesLastAccessed: [{ ServiceNamespace: 's3', ServiceName: 'a' }, { ServiceNamespace: 's3', ServiceName: 'b' }] }))).toThrow(/twice/);
    expect(buildReport(run, '123456789012', entity, 'j', page({})).services).toHaveLength(1);
  });
});
