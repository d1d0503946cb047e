import type { BatchOutcome } from '../../lambda/core/audit-batch';
import { ScaledClock } from '../../lambda/core/clock';
import { keys, type EntityRef, type LatestPointer, type RunInfo, type RunSummary } from '../../lambda/core/model';
import type { PlanRecord } from '../../lambda/core/plan';
import { getJson, NotFound, putJson } from '../../lambda/core/store';
import { summarize } from '../../lambda/core/summarize';
import { tempStore } from '../helpers/core';

const run: RunInfo = { runId: 'r1', runDate: '2026-11-25', accountId: '123456789012', granularity: 'SERVICE_LEVEL', unusedAfterDays: 90, startedAt: '2026-11-25T03:00:00.000Z' };
const entity = (name: string, type: EntityRef['type'] = 'role'): EntityRef => ({ arn: `arn:aws:iam::123456789012:${type}/${name}`, type, name, path: '/', id: `AROA${name.toUpperCase().padEnd(17, 'X')}` });
const noCalls = { list: 0, generate: 0, get: 0, throttled: 0 };

function outcome(batchId: string, attempt: number, parts: Partial<BatchOutcome>): BatchOutcome {
  return { batchId, attempt, done: false, reported: [], skipped: [], failed: [], leftover: 0, iamCalls: noCalls, rows: [], ...parts };
}

describe('Summarize', () => {
  it('merges attempts, fails what no invocation settled, and still writes the summary of an incomplete run', async () => {
    const store = tempStore();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => entity(n));
    const batches = [
      { batchId: 'b00001', key: keys.batch('r1', 'b00001'), size: 2 },
      { batchId: 'b00002', key: keys.batch('r1', 'b00002'), size: 2 },
    ];
    await putJson(store, batches[0].key, [a, b]);
    await putJson(store, batches[1].key, [c, d]);
    const plan: PlanRecord = { run, batches, missingArns: ['arn:aws:iam::123456789012:user/gone'], excluded: 0, iamCalls: { ...noCalls, list: 4 } };
    await putJson(store, keys.plan('r1'), plan);
    const row = { runId: 'r1', runDate: '2026-11-25', accountId: '123456789012', granularity: 'SERVICE_LEVEL', entityArn: a.arn, entityType: 'role', entityName: 'a', serviceNamespace: 's3', serviceName: 'Amazon S3', lastAuthenticated: null, lastAuthenticatedEntity: null, lastAuthenticatedRegion: null, totalAuthenticatedEntities: 0, unused: true, neverUsed: true } as const;
    // Batch 1: a reported at attempt 1, b at attempt 2. Batch 2: c reported, then the batch's Lambda failed.
    await putJson(store, keys.outcome('r1', 'b00001', 1), outcome('b00001', 1, { reported: [{ arn: a.arn, type: 'role', servicesGranted: 1, servicesUsed: 0, unusedServices: 1 }], leftover: 1, rows: [row], iamCalls: { ...noCalls, generate: 2, get: 2 } }));
    await putJson(store, keys.outcome('r1', 'b00001', 2), outcome('b00001', 2, { done: true, reported: [{ arn: b.arn, type: 'role', servicesGranted: 3, servicesUsed: 3, unusedServices: 0 }], iamCalls: { ...noCalls, get: 1, throttled: 2 } }));
    await putJson(store, keys.outcome('r1', 'b00002', 1), outcome('b00002', 1, { reported: [{ arn: c.arn, type: 'role', servicesGranted: 2, servicesUsed: 1, unusedServices: 1 }], leftover: 1 }));

    const result = await summarize({ store, clock: new ScaledClock() }, { run, auditError: { Error: 'States.ExceedToleratedFailureThreshold', Cause: '...' } });
    expect(result).toMatchObject({ status: 'INCOMPLETE', listed: 5, reported: 3, skipped: 1, failed: 1, failedShare: 0.2 });
    const summary = await getJson<RunSummary>(store, keys.summary('r1'));
    expect(summary.entities).toEqual({ listed: 5, reported: 3, skipped: 1, failed: 1, byType: { user: 1, group: 0, role: 4, policy: 0 } });
    expect(summary.failures).toEqual([{ arn: d.arn, code: 'BatchFailed', message: expect.stringContaining('b00002') }]);
    expect(summary.skipped).toEqual([{ arn: 'arn:aws:iam::123456789012:user/gone', code: 'NoSuchEntity' }]);
    expect(summary.findings).toEqual({ entitiesWithUnusedServices: 2, unusedServiceGrants: 2, entitiesWithNoUseInWindow: 1 });
    expect(summary.iamCalls).toEqual({ list: 4, generate: 2, get: 3, throttled: 2 });
    expect(await store.get(keys.datasetPart('2026-11-25', 'r1', 'b00001'))).toBe(`${JSON.stringify(row)}\n`);
    // An incomplete run is not the latest completed run.
    await expect(getJson<LatestPointer>(store, keys.latest())).rejects.toBeInstanceOf(NotFound);
  });

  it('summarizes an empty account and points latest.json at it', async () => {
    const store = tempStore();
    await putJson(store, keys.plan('r1'), { run, batches: [], missingArns: [], excluded: 0, iamCalls: { ...noCalls, list: 4 } } satisfies PlanRecord);
    const result = await summarize({ store, clock: new ScaledClock() }, { run });
    expect(result).toMatchObject({ status: 'COMPLETED', listed: 0, failedShare: 0 });
    expect((await getJson<LatestPointer>(store, keys.latest())).summaryKey).toBe(keys.summary('r1'));
  });
});
