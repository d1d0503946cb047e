/**
 * Proposals end to end: a local run of a sample account with policy data writes proposals and their
 * index; every proposal is never broader than its policy and keeps every used service, judged by the
 * independent evaluator over each service's actions; the command line shows them as readable patches,
 * and, after a second run, the ones the run before made the same.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { iamCatalog } from '../../lambda/core/catalog';
import type { EntityReport } from '../../lambda/core/model';
import type { ProposalIndex } from '../../lambda/core/propose';
import { proposalDigest, type Proposal } from '../../lambda/core/proposals';
import { generateSampleAccount, loadAccount, type AccountFile, type EntityRecord, type ServiceRecord } from '../../local/emulator';
import { listOf, statementsOf, type PolicyDocument } from '../../lambda/core/policy';
import { runLocal, type LocalRunResult } from '../../local/runner/run-local';
import { allows } from '../helpers/evaluator';
import { readJson } from '../helpers/expectations';
import { FAST_SETTINGS } from '../helpers/iam';
import { run } from '../helpers/processes';
import { tempDir } from '../helpers/temp';

const CLI = join(__dirname, '..', '..', 'bin', 'iam-access-audit.cjs');

/**
 * Gives one customer managed policy of the sample, made long ago and trimmed by its use, a default version
 * made ten days ago that added one of its unused services to what v1 granted: the service IAM shows unused
 * has been granted ten days, not ninety.
 */
function withRecentVersion(file: AccountFile): { policy: string; service: string; made: string } {
  const now = Date.now();
  const unused = (s: ServiceRecord) => !s.lastAuthenticated || Date.parse(s.lastAuthenticated) < now - 90 * 86_400_000;
  const policy = file.entities.find(
    (e) => e.type === 'policy' && e.document && Date.parse(e.createDate ?? '2024-01-01T00:00:00Z') < now - 200 * 86_400_000 && e.services.filter(unused).length >= 2 && e.services.some((s) => !unused(s)),
  )! as EntityRecord & { document: PolicyDocument; defaultVersion?: unknown; versions?: unknown };
  const service = policy.services.find(unused)!.namespace;
  const made = new Date(now - 10 * 86_400_000).toISOString();
  const before: PolicyDocument = { ...policy.document, Statement: statementsOf(policy.document).map((st) => ({ ...st, Action: listOf(st.Action).filter((a) => !a.startsWith(`${service}:`)) })) };
  policy.defaultVersion = { id: 'v2', createDate: made };
  policy.versions = [{ id: 'v1', createDate: policy.createDate ?? '2024-01-01T00:00:00Z', document: before }];
  return { policy: `arn:aws:iam::${file.accountId}:policy${policy.path ?? '/'}${policy.name}`, service, made };
}

describe('proposals of a local run', () => {
  const file = generateSampleAccount({ entities: 150, seed: 'proposals', asOf: new Date() });
  const recent = withRecentVersion(file);
  const account = loadAccount(file);
  const dir = tempDir('proposals-');
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
    // The index carries a review's reason, for the HTML report; nothing for the other actions.
    expect(index.proposals.map((e) => e.review)).toEqual(proposals.map((p) => (p.action === 'review' ? p.notes[0] : null)));
  });

  it("keeps what a customer managed policy's version made inside the window added, read from IAM's versions", () => {
    const p = proposals.find((x) => x.target.policyArn === recent.policy)!;
    expect(p.action).toBe('trim');
    expect(p.keptServices).toContain(recent.service);
    expect(p.removedServices.length).toBeGreaterThan(0);
    expect(p.notes).toContain(`${recent.service}: granted since v2 of ${recent.made.slice(0, 10)}, less than 90 days before the report (v1 before it), kept, as their use cannot be judged yet`);
  });

  it("reviews the inline policies and AWS managed attachments of IAM Identity Center's roles, which IAM refuses to change", () => {
    const ofIdentityCenter = proposals.filter((p) => p.target.owner?.arn.includes(':role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_'));
    expect(ofIdentityCenter.length).toBeGreaterThan(0);
    for (const p of ofIdentityCenter) expect([p.action, p.proposed, p.notes[0]]).toEqual(['review', null, expect.stringContaining('IAM refuses changes to it')]);
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
    // One row a proposal, largest cut first, the reviews (which change nothing) last.
    const rows = table.stdout.split('\n').filter((line) => /^p-[0-9a-f]{16} /.test(line));
    const removesOf = (p: Proposal) => p.removedServices.length + p.removedActions.length;
    const byId = new Map(proposals.map((p) => [p.proposalId, p]));
    const shown = rows.map((row) => byId.get(row.slice(0, 18))!);
    expect(new Set(shown).size).toBe(proposals.length);
    const changes = shown.filter((p) => p.action !== 'review');
    expect(shown.slice(changes.length).every((p) => p.action === 'review')).toBe(true);
    expect(changes.map(removesOf)).toEqual(changes.map(removesOf).sort((a, b) => b - a));
    expect(removesOf(changes[0])).toBe(Math.max(...proposals.map(removesOf)));
    // Single actions were cut (ACTION_LEVEL): the table says over which catalogue, and how old it was.
    expect(proposals.some((p) => p.action === 'trim' && p.removedActions.length > 0)).toBe(true);
    expect(table.stdout).toMatch(new RegExp(`\nSingle actions were cut over the bundled action catalogue of \\d{4}-\\d{2}-\\d{2} \\(${iamCatalog().version.replace(/\./g, '\\.')}\\), \\d+ days? before this run: `));
    const removals = await run(process.execPath, [CLI, 'proposals', '--out', dir, '--action', 'remove']);
    expect(removals.stdout).not.toContain('Single actions were cut');
    // An account the run did not audit is refused, as report refuses it, not shown as "0 proposals".
    const elsewhere = await run(process.execPath, [CLI, 'proposals', '--out', dir, '--account', '999999999999']);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain(`run ${result.runId} did not audit account 999999999999 (its accounts: ${account.accountId})`);
    // Templates are of several accounts: one account has none, and a template's id or an account is refused.
    const templates = await run(process.execPath, [CLI, 'proposals', '--out', dir, '--shared']);
    expect(templates.code).toBe(0);
    expect(templates.stdout).toMatch(/^Run \S+: 0 template proposals \(0 trim, 0 remove, 0 replace, 0 review\)[^\n]*\nOne account was audited: no identity, so no policy, can be in several\.\n$/);
    for (const [args, message] of [
      [['--shared', '--account', account.accountId], '--account does not apply to --shared'],
      [['--shared', '--id', 'p-0123456789abcdef'], '--id with --shared must be a template proposal id such as t-0123456789abcdef'],
      [['--id', 't-0123456789abcdef'], "(a t- id is a template's: add --shared)"],
      [['--again', '--runs', '3'], '--again is --runs 2: give one of them'],
      [['--runs', '1'], '--runs must be a whole number of at least 2 and at most 10000, got "1"'],
      [['--shared', '--runs', '2'], `run ${result.runId} has no run before it to compare with (no COMPLETED run before it made template proposals)`],
      [['--shared', '--id', 't-0123456789abcdef'], `run ${result.runId} has no template proposal t-0123456789abcdef`],
    ] as const) {
      const refused = await run(process.execPath, [CLI, 'proposals', '--out', dir, ...args]);
      expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining(message)]);
    }
  }, 60_000);

  // Last: they add runs to the store.
  it('lists with --again only the proposals the run before made the same, by the digests the index keeps', async () => {
    const first = await run(process.execPath, [CLI, 'proposals', '--out', dir, '--run', result.runId, '--again']);
    expect([first.code, first.stderr]).toEqual([2, expect.stringContaining(`run ${result.runId} has no run before it to compare with`)]);
    expect(index.previousRunId).toBeNull();
    expect(index.proposals.every((e, i) => e.digest === proposalDigest(proposals[i]) && isDeepStrictEqual(e.sameSince, { runId: result.runId, startedAt: result.summary!.startedAt, runs: 1 }))).toBe(true);
    // One proposal of the first run altered, in its file and by its digest in the index: the run made another.
    const at = index.proposals.findIndex((e) => e.action === 'trim');
    const altered = { ...proposals[at], removedServices: [...proposals[at].removedServices, 'elsewhere'] };
    writeFileSync(join(dir, index.proposals[at].key), JSON.stringify(altered));
    const indexFile = join(dir, `runs/${result.runId}/proposals/index.json`);
    writeFileSync(indexFile, JSON.stringify({ ...index, proposals: index.proposals.map((e, i) => (i === at ? { ...e, digest: proposalDigest(altered) } : e)) }));

    const next = await runLocal({ account, outDir: dir, input: { granularity: 'ACTION_LEVEL' }, timeScale: 200, settings: FAST_SETTINGS });
    expect(next.summary!.status).toBe('COMPLETED');
    const nextIndex = readJson<ProposalIndex>(dir, `runs/${next.runId}/proposals/index.json`);
    const nextProposals = nextIndex.proposals.map((e) => readJson<Proposal>(dir, e.key));
    // The proposals of a run that the run before it made the same, by their files.
    const what = (p: Proposal) => ({ action: p.action, removedServices: p.removedServices, removedActions: p.removedActions, current: p.current, proposed: p.proposed });
    const sameAsBefore = (made: readonly Proposal[], before: ProposalIndex) => {
      const keyOf = new Map(before.proposals.map((e) => [e.proposalId, e.key]));
      return made.filter((q) => keyOf.has(q.proposalId) && isDeepStrictEqual(what(readJson<Proposal>(dir, keyOf.get(q.proposalId)!)), what(q))).map((q) => q.proposalId);
    };
    const expected = sameAsBefore(nextProposals, index).sort();
    expect(expected).not.toContain(altered.proposalId);
    expect(expected.length).toBeGreaterThan(nextProposals.length / 2);
    expect(nextIndex.previousRunId).toBe(result.runId);
    const madeSince = (i: ProposalIndex, runs: number) => i.proposals.filter((e) => e.sameSince!.runs === runs).map((e) => e.proposalId).sort();
    expect(madeSince(nextIndex, 2)).toEqual(expected);
    expect(nextIndex.proposals.every((e) => e.sameSince!.runId === (e.sameSince!.runs === 2 ? result.runId : next.runId))).toBe(true);

    const again = await run(process.execPath, [CLI, 'proposals', '--out', dir, '--again', '--format', 'json']);
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as Proposal[]).map((p) => p.proposalId).sort()).toEqual(expected);
    const table = await run(process.execPath, [CLI, 'proposals', '--out', dir, '--again']);
    expect(table.stdout.split('\n')[0]).toContain(`Run ${next.runId}: ${expected.length} proposals that the run before, ${result.runId}, made the same (`);
    const gone = await run(process.execPath, [CLI, 'proposals', '--out', dir, '--again', '--id', altered.proposalId]);
    expect([gone.code, gone.stderr]).toEqual([2, expect.stringContaining(`the run before, ${result.runId}, did not make proposal ${altered.proposalId} the same`)]);

    // A third run: the proposals made the same since the first are counted on, the altered one from the second.
    const third = await runLocal({ account, outDir: dir, input: { granularity: 'ACTION_LEVEL' }, timeScale: 200, settings: FAST_SETTINGS });
    const thirdIndex = readJson<ProposalIndex>(dir, `runs/${third.runId}/proposals/index.json`);
    // A run on a loaded machine may lose a few reports (a stall becomes simulated time, and a job times
    // out), and each run's window ends later: a proposal of the second run may be missing or changed in
    // the third. Those the third run made as the second did:
    const stillSame = new Set(sameAsBefore(thirdIndex.proposals.map((e) => readJson<Proposal>(dir, e.key)), nextIndex));
    const expected3 = expected.filter((id) => stillSame.has(id));
    expect(expected3.length).toBeGreaterThan(expected.length / 2);
    expect(madeSince(thirdIndex, 3)).toEqual(expected3);
    expect(thirdIndex.proposals.find((e) => e.proposalId === altered.proposalId)!.sameSince).toEqual(
      stillSame.has(altered.proposalId) ? { runId: next.runId, startedAt: next.summary!.startedAt, runs: 2 } : { runId: third.runId, startedAt: third.summary!.startedAt, runs: 1 },
    );
    const three = await run(process.execPath, [CLI, 'proposals', '--out', dir, '--runs', '3']);
    expect(three.stdout.split('\n')[0]).toContain(`Run ${third.runId}: ${expected3.length} proposals that the 2 runs before this one (the last ${next.runId}) made the same (`);
    const row = three.stdout.split('\n').find((l) => l.startsWith(expected3[0]))!;
    expect(row.split(/\s+/)[5]).toBe('3');

    // A run made before the index kept digests cannot say.
    writeFileSync(indexFile, JSON.stringify({ ...index, previousRunId: undefined }));
    const old = await run(process.execPath, [CLI, 'proposals', '--out', dir, '--run', result.runId, '--runs', '2']);
    expect([old.code, old.stderr]).toEqual([2, expect.stringContaining(`run ${result.runId} was made before the project kept which runs made a proposal the same`)]);
  }, 240_000);
});
