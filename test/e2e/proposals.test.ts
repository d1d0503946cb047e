/**
 * Proposals end to end: a local run of a sample account with policy data writes proposals and their
 * index; every proposal is never broader than its policy and keeps every used service, judged by the
 * independent evaluator over each service's actions; the command line shows them as readable patches.
 * Each batch is proposed as the Map finishes it: the run's index is its batches' parts, and is what
 * proposing the whole account at once gives, even when a batch's own Propose fails.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { iamCatalog } from '../../lambda/core/catalog';
import type { AuthorizationDetails } from '../../lambda/core/authorization';
import { keys, type EntityRef, type EntityReport } from '../../lambda/core/model';
import type { PlanRecord } from '../../lambda/core/plan';
import { ActionSpace } from '../../lambda/core/policy';
import type { BatchProposals, ProposalIndex, ProposeEvent } from '../../lambda/core/propose';
import { DEFAULT_EXEMPT_TAG_KEY, proposeForAccount, type Proposal } from '../../lambda/core/proposals';
import { generateSampleAccount, loadAccount } from '../../local/emulator';
import { runLocal, type LocalRunResult } from '../../local/runner/run-local';
import { allows } from '../helpers/evaluator';
import { readJson } from '../helpers/expectations';
import { FAST_SETTINGS } from '../helpers/iam';
import { run } from '../helpers/processes';

const CLI = join(__dirname, '..', '..', 'bin', 'iam-access-audit.cjs');

describe('proposals of a local run', () => {
  const account = loadAccount(generateSampleAccount({ entities: 150, seed: 'proposals', asOf: new Date() }));
  const dir = mkdtempSync(join(tmpdir(), 'proposals-'));
  let result: LocalRunResult;
  let index: ProposalIndex;
  let proposals: Proposal[];

  beforeAll(async () => {
    result = await runLocal({ account, outDir: dir, input: { granularity: 'ACTION_LEVEL' }, timeScale: 200, settings: FAST_SETTINGS });
    index = readJson<ProposalIndex>(dir, `runs/${result.runId}/proposals/index.json`);
    proposals = index.proposals.map((e) => readJson<Proposal>(dir, e.key));
  }, 180_000);

  it('writes proposals of every kind and the summary counts them by action', () => {
    expect(result.summary!.status).toBe('COMPLETED');
    expect(new Set(proposals.map((p) => p.target.kind))).toEqual(new Set(['inline-policy', 'managed-policy', 'aws-managed-attachment']));
    expect(new Set(proposals.map((p) => p.action))).toEqual(new Set(['trim', 'remove', 'replace', 'review']));
    const counts = { trim: 0, remove: 0, replace: 0, review: 0 };
    for (const p of proposals) counts[p.action]++;
    expect(result.summary!.proposals).toEqual({ count: proposals.length, byAction: counts });
    expect(proposals.every((p) => p.runId === result.runId && p.accountId === account.accountId)).toBe(true);
  });

  it('never proposes for an exempt identity, nor from a failed report', () => {
    const exempt = account.entities.filter((e) => Object.hasOwn(e.tags, 'iam-access-audit:exempt')).map((e) => e.arn);
    expect(exempt.length).toBeGreaterThan(0);
    const failed = new Set(result.summary!.failures.map((f) => f.arn));
    for (const p of proposals) {
      expect(exempt).not.toContain(p.target.owner?.arn);
      expect(failed.has(p.basis.reportOf)).toBe(false);
    }
  });

  it('is never broader, and never narrower than use, for every request the evaluator tries', () => {
    const catalog = iamCatalog();
    let checked = 0;
    const violations: string[] = [];
    for (const p of proposals.filter((x) => x.action !== 'review')) {
      const report = readJson<EntityReport>(dir, `runs/${result.runId}/reports/${account.accountId}/${p.basis.reportOf.split(':')[5].split('/')[0]}/${p.basis.reportOf.split('/').pop()}.json`);
      const unused = new Set(report.findings.unusedServices);
      const removed = new Set(p.removedActions.map((a) => a.toLowerCase()));
      for (const s of report.services) {
        for (const action of (catalog.actions(s.serviceNamespace) ?? []).slice(0, 30).map((a) => `${s.serviceNamespace}:${a.name}`)) {
          for (const conditionsMet of [true, false]) {
            const request = { action, resource: 'arn:aws:s3:::any/thing', conditionsMet };
            const before = allows(p.current, request);
            const after = allows(p.proposed, request);
            if (after && !before) violations.push(`${p.proposalId} allows ${action}, which its policy does not`);
            if (before && !after && !unused.has(s.serviceNamespace) && !removed.has(action.toLowerCase())) violations.push(`${p.proposalId} no longer allows ${action} of a used service`);
            checked++;
          }
        }
      }
    }
    expect(violations).toEqual([]);
    expect(checked).toBeGreaterThan(1000);
  });

  it('shows the proposals as readable patches, and one proposed document alone', async () => {
    const patch = await run(process.execPath, [CLI, 'proposals', '--out', dir, '--run', result.runId, '--format', 'patch', '--action', 'trim']);
    expect(patch.code).toBe(0);
    expect(patch.stdout).toMatch(/^# p-[0-9a-f]{16} trim /m);
    expect(patch.stdout).toMatch(/^--- a\/arn:aws:iam::/m);
    expect(patch.stdout).toMatch(/^\+\+\+ b\/arn:aws:iam::/m);
    expect(patch.stdout).toMatch(/^-\s+"[a-z0-9-]+:[A-Za-z*]+",?$/m);
    expect(patch.stdout).toMatch(/^# removes services: /m);
    const trim = proposals.find((p) => p.action === 'trim')!;
    const policy = await run(process.execPath, [CLI, 'proposals', '--out', dir, '--run', result.runId, '--id', trim.proposalId, '--format', 'policy']);
    expect(JSON.parse(policy.stdout)).toEqual(trim.proposed);
    const table = await run(process.execPath, [CLI, 'proposals', '--out', dir]);
    expect(table.stdout).toContain(`${proposals.length} proposals`);
    expect(table.stdout).toContain('nothing is applied');
  }, 60_000);
});

describe('proposals made batch by batch', () => {
  const account = loadAccount(generateSampleAccount({ entities: 160, seed: 'batches', asOf: new Date() }));
  const dir = mkdtempSync(join(tmpdir(), 'proposals-batches-'));
  const failing = 'b00002';
  let result: LocalRunResult;
  let plan: PlanRecord;
  let index: ProposalIndex;
  const proposeEvents: ProposeEvent[] = [];

  beforeAll(async () => {
    result = await runLocal({
      account,
      outDir: dir,
      input: { granularity: 'ACTION_LEVEL' },
      timeScale: 200,
      settings: { ...FAST_SETTINGS, batchSize: 50 },
      // The Propose of one batch fails (both tries): the run's Propose must make that batch's proposals.
      beforeInvoke: (fn, _invocation, event) => {
        if (!fn.logicalId.startsWith('AuditPropose')) return;
        const e = event as ProposeEvent;
        proposeEvents.push(e);
        if (e.batch?.batchId === failing) throw new Error('injected: this batch cannot be proposed now');
      },
    });
    plan = readJson<PlanRecord>(dir, keys.plan(result.runId));
    index = readJson<ProposalIndex>(dir, keys.proposalsIndex(result.runId));
  }, 180_000);

  it('proposes each batch as it is audited, then indexes the run once', () => {
    expect(result.summary!.status).toBe('COMPLETED');
    expect(plan.batches.length).toBeGreaterThanOrEqual(3);
    const perBatch = proposeEvents.filter((e) => e.batch).map((e) => e.batch!.batchId);
    // Every batch once, the failing one twice (its retry); then the run's Propose, without a batch.
    expect([...perBatch].sort()).toEqual([...plan.batches.map((b) => b.batchId), failing].sort());
    expect(proposeEvents.filter((e) => !e.batch)).toHaveLength(1);
    expect(proposeEvents[proposeEvents.length - 1].batch).toBeUndefined();
  });

  it("keeps each batch's proposals to the batch's own reports, and indexes every part", () => {
    const fromParts: string[] = [];
    for (const batch of plan.batches) {
      const part = readJson<BatchProposals>(dir, keys.batchProposals(result.runId, batch.batchId));
      const own = new Set(readJson<EntityRef[]>(dir, batch.key).map((e) => e.arn));
      expect(part.accountId).toBe(batch.accountId);
      for (const entry of part.proposals) expect(own.has(readJson<Proposal>(dir, entry.key).basis.reportOf)).toBe(true);
      fromParts.push(...part.proposals.map((p) => p.proposalId));
    }
    expect(fromParts.length).toBeGreaterThan(0);
    expect(fromParts.sort()).toEqual(index.proposals.map((p) => p.proposalId).sort());
    expect(result.summary!.proposals.count).toBe(index.proposals.length);
  });

  it('indexes exactly what proposing the whole account at once gives, the failed batch included', () => {
    const details = readJson<AuthorizationDetails>(dir, keys.authorization(result.runId, account.accountId));
    const reports = new Map<string, EntityReport>();
    for (const batch of plan.batches) {
      for (const e of readJson<EntityRef[]>(dir, batch.key)) {
        const key = keys.report(result.runId, account.accountId, e.type, e.name);
        if (existsSync(join(dir, key))) reports.set(e.arn, readJson<EntityReport>(dir, key));
      }
    }
    const catalog = iamCatalog();
    const whole = proposeForAccount({ runId: result.runId, accountId: account.accountId, space: new ActionSpace(catalog), catalog }, details, reports, {
      pathPrefixes: [],
      arnPatterns: [],
      tagKey: DEFAULT_EXEMPT_TAG_KEY,
    });
    const failedBatch = new Set(readJson<EntityRef[]>(dir, plan.batches.find((b) => b.batchId === failing)!.key).map((e) => e.arn));
    expect(whole.some((p) => failedBatch.has(p.basis.reportOf))).toBe(true);
    const written = new Map(index.proposals.map((e) => [e.proposalId, readJson<Proposal>(dir, e.key)]));
    expect([...written.keys()].sort()).toEqual(whole.map((p) => p.proposalId).sort());
    for (const p of whole) expect(written.get(p.proposalId)).toEqual(p);
  });
});
