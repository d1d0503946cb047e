/**
 * A whole organization audited from its audit account: the synthesized workflow executed locally against
 * the emulator serving IAM, STS and Organizations, each account's IAM reached through its member role.
 */
import { readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { PassThrough } from 'node:stream';
import { changesCommand } from '../../cli/changes-command';
import { proposalsCommand } from '../../cli/proposals-command';
import { reportCommand } from '../../cli/report-command';
import type { SharedIdentity } from '../../cli/shared-view';
import { iamCatalog } from '../../lambda/core/catalog';
import { keys, type EntityReport, type RunInfo, type RunSummary } from '../../lambda/core/model';
import { ActionSpace, listOf, statementsOf } from '../../lambda/core/policy';
import type { SharedProposal } from '../../lambda/core/shared-proposals';
import { TYPE_CODES } from '../../lambda/core/report-data';
import { propose, type ProposalIndex, type SameSince, type TemplateProposalsFile } from '../../lambda/core/propose';
import { exemptionsFromEnvironment } from '../../lambda/core/runtime';
import { DirectoryReportStore } from '../../lambda/core/store';
import { ACCOUNTS_PER_LISTING } from '../../lambda/core/plan';
import { generateSampleOrganization, loadOrganization, type Organization, type OrganizationFileContent } from '../../local/emulator';
import { runLocal, type LocalRunOptions, type LocalRunResult } from '../../local/runner/run-local';
import { expectReportMatches, expectSummaryConsistent, readJson, reportFiles, reportKey } from '../helpers/expectations';
import { FAST_SETTINGS } from '../helpers/iam';
import { storeWith } from '../helpers/core';
import { pageDataOf } from '../helpers/report-page';
import { tempDir } from '../helpers/temp';

const RUN_TIMEOUT = 240_000;
const DAY = 86_400_000;

interface SampleService { namespace: string; lastAuthenticated?: string; lastAuthenticatedEntity?: string }
interface SampleRole { type: string; path?: string; services: SampleService[]; inlinePolicies?: { document: { Statement: { Action?: string | string[] }[] } }[] }

/** The services a sample role's inline policies name (they name actions, `service:Action` or `service:*`). */
function inlineServices(role: SampleRole): Set<string> {
  const actions = (role.inlinePolicies ?? []).flatMap((p) => p.document.Statement.flatMap((st) => [st.Action ?? []].flat()));
  return new Set(actions.map((a) => a.slice(0, a.indexOf(':'))));
}

/** The services of its inline policies a sample role did not use in the 90 days before now. */
function unusedInline(role: SampleRole): string[] {
  const granted = inlineServices(role);
  if (granted.has('')) return []; // an Action of "*": not a role for this organization's template
  return role.services.filter((x) => granted.has(x.namespace) && !(x.lastAuthenticated && Date.parse(x.lastAuthenticated) > Date.now() - 90 * DAY)).map((x) => x.namespace).sort();
}

function sampleOrganization(change: (file: { -readonly [K in keyof OrganizationFileContent]: any }) => void = () => undefined): Organization {
  const file = JSON.parse(JSON.stringify(generateSampleOrganization({ accounts: 5, entitiesPerAccount: 24, seed: 'e2e-org', asOf: new Date() })));
  // No faults: every failure these tests see comes from the organization itself.
  for (const account of file.accounts) for (const e of account.entities) delete e.fault;
  change(file);
  return loadOrganization(file);
}

/**
 * Real organizations repeat roles across accounts: one role of the audit account becomes one of the
 * management account's, as a template (a StackSet) makes the same role in both: its name, path and
 * inline policies. Its use is its own: one service the management account's role did not use, it used.
 */
function withTwinRole(file: { -readonly [K in keyof OrganizationFileContent]: any }): void {
  const taken = file.accounts[0].entities.find((e: SampleRole) => e.type === 'role' && !e.path?.startsWith('/aws-service-role/') && unusedInline(e).length >= 2);
  const renamed = file.accounts[1].entities.find((e: SampleRole) => e.type === 'role' && !e.path?.startsWith('/aws-service-role/'));
  renamed.name = taken.name;
  renamed.path = taken.path;
  delete renamed.id;
  renamed.inlinePolicies = JSON.parse(JSON.stringify(taken.inlinePolicies));
  renamed.attachedPolicies = [];
  const granted = inlineServices(taken);
  const hubArn = `arn:aws:iam::${file.accounts[1].accountId}:role${taken.path ?? '/'}${taken.name}`;
  renamed.services = JSON.parse(JSON.stringify(taken.services.filter((x: SampleService) => granted.has(x.namespace)))).map((x: SampleService) =>
    x.lastAuthenticatedEntity ? { ...x, lastAuthenticatedEntity: hubArn } : x,
  );
  const usedInHub = renamed.services.find((x: SampleService) => x.namespace === unusedInline(taken)[0]);
  Object.assign(usedInHub, { lastAuthenticated: new Date(Date.now() - 3 * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z'), lastAuthenticatedEntity: hubArn, lastAuthenticatedRegion: 'us-east-1', totalAuthenticatedEntities: 1 });
}

/**
 * A role the management account may assume as a whole, under a name of the organization's own (as
 * CreateAccount's RoleName makes it), in a member account; and one in the management account itself,
 * which trusts its own account: the first is a way in, for review, the second any role.
 */
function withWayInRoles(file: { -readonly [K in keyof OrganizationFileContent]: any }): void {
  const trustingManagement = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${file.managementAccountId}:root` }, Action: 'sts:AssumeRole' }] };
  for (const account of [file.accounts[4], file.accounts[0]]) {
    const candidates = account.entities.filter((e: SampleRole) => e.type === 'role' && !e.path?.startsWith('/aws-service-role/') && unusedInline(e).length >= 1);
    candidates[candidates.length - 1].trustPolicy = trustingManagement;
  }
}

async function audit(organization: Organization, options: Partial<LocalRunOptions> = {}): Promise<{ dir: string; result: LocalRunResult; summary: RunSummary }> {
  const dir = tempDir('org-');
  const result = await runLocal({ organization, outDir: dir, timeScale: 200, ...options, settings: { ...FAST_SETTINGS, ...options.settings } });
  return { dir, result, summary: result.summary! };
}

/** Every audited account's reports, field by field against its part of the organization file. */
function expectAccountsReported(dir: string, result: LocalRunResult, organization: Organization, accountIds: readonly string[]): void {
  for (const accountId of accountIds) {
    const account = organization.byId.get(accountId)!.account;
    const listed = account.entities.filter((e) => !e.path.startsWith('/aws-service-role/'));
    expect(result.summary!.accounts.find((a) => a.accountId === accountId)).toMatchObject({ status: 'audited', entities: { listed: listed.length, reported: listed.length, failed: 0 } });
    for (const e of listed) {
      expectReportMatches(readJson<EntityReport>(dir, reportKey(result.runId, e)), e, { runId: result.runId, granularity: 'SERVICE_LEVEL', unusedAfterDays: 90, accountId });
    }
  }
}

describe('an organization with a missing member role and a suspended account', () => {
  const organization = sampleOrganization((file) => {
    file.accounts[2].memberRole = 'missing';
    file.accounts[3].status = 'SUSPENDED';
    withTwinRole(file);
    withWayInRoles(file);
  });
  let run: Awaited<ReturnType<typeof audit>>;
  beforeAll(async () => {
    run = await audit(organization, { emulator: { recordCalls: true } });
  }, RUN_TIMEOUT);

  it('is INCOMPLETE: the account that cannot be entered fails with AccessDenied, the suspended one is skipped, the others complete', () => {
    const { result, summary } = run;
    expect(result.status).toBe('FAILED');
    expect(result.error!.Error).toBe('AuditIncomplete');
    expectSummaryConsistent(summary);
    const [management, hub, missing, suspended, other] = organization.accounts;
    expect(summary.accounts.map((a) => [a.accountId, a.name, a.status, a.code ?? null])).toEqual([
      [management.accountId, 'management', 'audited', null],
      [hub.accountId, 'security-audit', 'audited', null],
      [missing.accountId, 'payments-prod', 'failed', 'AccessDenied'],
      [suspended.accountId, 'payments-staging', 'skipped', 'AccountSuspended'],
      [other.accountId, 'data-prod', 'audited', null],
    ]);
    // The entities of an account that could not be entered are unknown, not failed: they were never listed.
    expect(summary.accounts[2].entities).toEqual({ listed: 0, reported: 0, skipped: 0, failed: 0 });
    expect(summary.failures).toEqual([]);
    expect(result.error!.Cause).toContain(`${missing.accountId}: AccessDenied`);
  });

  it('reports every other account\'s identities exactly as its part of the file says, and nothing of the two others', () => {
    const { dir, result } = run;
    const [management, hub, missing, suspended, other] = organization.accounts;
    expectAccountsReported(dir, result, organization, [management.accountId, hub.accountId, other.accountId]);
    const files = reportFiles(dir, result.runId);
    expect(files.some((k) => k.includes(`/${missing.accountId}/`) || k.includes(`/${suspended.accountId}/`))).toBe(false);
  });

  it('shows, for the account that could not be entered, why, and no table of nothing', async () => {
    const { dir, result } = run;
    const [, , missing] = organization.accounts;
    const printed = new PassThrough();
    let text = '';
    printed.on('data', (chunk) => (text += chunk));
    expect(await reportCommand(['--out', dir, '--run', result.runId, '--account', missing.accountId], printed)).toBe(0);
    // STS's own words: the role it could not assume.
    const { message } = result.summary!.accounts.find((a) => a.accountId === missing.accountId)!;
    expect(message).toMatch(new RegExp(`is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${missing.accountId}:role/${organization.memberRoleName}$`));
    expect(text).toBe(
      `Run ${result.runId} (${result.summary!.runDate}, SERVICE_LEVEL) INCOMPLETE: 0 identities reported in account ${missing.accountId}\n` +
        '  INCOMPLETE: some accounts or identities could not be audited; they are listed below, never counted as unused.\n' +
        `  account ${missing.accountId} (payments-prod) failed: AccessDenied\n` +
        `    ${message}\n` +
        `No identity was reported in account ${missing.accountId} in this run.\n`,
    );
    // A CSV of the whole run is reported identities alone; the accounts it cannot hold are said beside it.
    const csv = new PassThrough();
    const said = new PassThrough();
    let warning = '';
    said.on('data', (chunk) => (warning += chunk));
    expect(await reportCommand(['--out', dir, '--run', result.runId, '--format', 'csv'], csv, said)).toBe(0);
    const [, , , suspended] = organization.accounts;
    expect(warning).toMatch(
      new RegExp(`^iam-access-audit report: not in this CSV: 2 accounts not audited \\(${missing.accountId} failed: AccessDenied, ${suspended.accountId} skipped: AccountSuspended\\)(; \\d+ identit(y|ies) without a report \\([^)]+\\))?\\. They are unknown, not unused: `),
    );
  });

  it('keeps same-named roles of two accounts apart', async () => {
    const { dir, result } = run;
    const [management, hub] = organization.accounts;
    const names = new Set(management.account.entities.filter((e) => e.type === 'role').map((e) => e.name));
    const shared = hub.account.entities.find((e) => e.type === 'role' && names.has(e.name) && !e.path.startsWith('/aws-service-role/'))!;
    expect(shared).toBeDefined();
    const twin = management.account.entities.find((e) => e.type === 'role' && e.name === shared.name)!;
    const mine = readJson<EntityReport>(dir, reportKey(result.runId, shared));
    const theirs = readJson<EntityReport>(dir, reportKey(result.runId, twin));
    expect(mine.entity.arn).not.toBe(theirs.entity.arn);
    expect([mine.accountId, theirs.accountId]).toEqual([hub.accountId, management.accountId]);
    expect(mine.services.map((s) => s.serviceNamespace)).toEqual([...shared.services].map((s) => s.namespace).sort());
    expect(theirs.services.map((s) => s.serviceNamespace)).toEqual([...twin.services].map((s) => s.namespace).sort());
    // And so does the terminal's table: each row names its account.
    const printed = new PassThrough();
    let text = '';
    printed.on('data', (chunk) => (text += chunk));
    expect(await reportCommand(['--out', dir, '--run', result.runId], printed)).toBe(0);
    const lines = text.split('\n');
    const columns = lines.find((l) => l.startsWith('TYPE'))!;
    expect(columns).toMatch(/^TYPE\s+NAME\s+ACCOUNT\s+GRANTED\s+USED\s+UNUSED\s+UNUSED SERVICES$/);
    const accountOfRow = (line: string) => line.slice(columns.indexOf('ACCOUNT'), columns.indexOf('GRANTED')).trim();
    const rows = lines.filter((l) => l.startsWith(`role   ${shared.name} `));
    expect(rows.map(accountOfRow).sort()).toEqual([hub.name, management.name].sort());
    // The page gathers them again, as one role in several accounts, its counts from every audited
    // account's report of a role of that path and name.
    const audited = result.summary!.accounts.filter((a) => a.status === 'audited').map((a) => organization.byId.get(a.accountId)!.account);
    const reports = audited.flatMap((a) => a.entities.filter((e) => e.type === 'role' && e.path === shared.path && e.name === shared.name)).map((e) => readJson<EntityReport>(dir, reportKey(result.runId, e)));
    expect(reports.map((r) => r.accountId)).toEqual(expect.arrayContaining([hub.accountId, management.accountId]));
    const granted = new Set(reports.flatMap((r) => r.services.map((x) => x.serviceNamespace)));
    const used = new Set(reports.flatMap((r) => r.services.map((x) => x.serviceNamespace).filter((ns) => !r.findings.unusedServices.includes(ns))));
    const page = pageDataOf(readFileSync(join(dir, keys.reportPage(result.runId)), 'utf8'));
    const row = page.shared.find(([type, path, name]) => type === 2 && path === shared.path && name === shared.name);
    expect(row && row.slice(4)).toEqual([[], reports.length, granted.size - used.size, used.size, reports.reduce((n, r) => n + r.findings.unusedServices.length, 0)]);
    expect(row![3].map((i) => page.identities[i][0]).map((at) => page.accounts[at].accountId)).toEqual(reports.map((r) => r.accountId).sort());
    // The terminal's `report --shared` gathers the same identities, in the same order, with the same counts.
    const json = new PassThrough();
    let listed = '';
    json.on('data', (chunk) => (listed += chunk));
    expect(await reportCommand(['--out', dir, '--run', result.runId, '--shared', '--format', 'json'], json)).toBe(0);
    const { shared: gathered } = JSON.parse(listed) as { shared: SharedIdentity[] };
    expect(gathered.length).toBeGreaterThan(0);
    expect(gathered.map((s) => [s.type, s.path, s.name, s.accountIds.length, s.usedInNoAccount?.length ?? null, s.usedInSomeAccount.length, s.unusedGrants])).toEqual(
      page.shared.map(([type, path, name, , failed, accounts, none, some, unused]) => [TYPE_CODES[type], path, name, accounts, failed.length > 0 ? null : none, some, unused]),
    );
    const role = gathered.find((s) => s.type === 'role' && s.path === shared.path && s.name === shared.name)!;
    expect(role.usedInNoAccount).toEqual([...granted].filter((ns) => !used.has(ns)).sort());
  });

  it("reviews a member account's role that the management account may assume as a whole, whatever its name; the management account's own such role is proposed for", () => {
    const { dir, result } = run;
    const [management, , , , other] = organization.accounts;
    const index = readJson<ProposalIndex>(dir, keys.proposalsIndex(result.runId));
    const trusting = (accountId: string) => organization.byId.get(accountId)!.account.entities.filter((e) => e.trustPolicy !== undefined);
    const [wayIn] = trusting(other.accountId);
    const [own] = trusting(management.accountId);
    expect([wayIn, own].every((e) => e?.type === 'role')).toBe(true);
    const inlineOf = (arn: string) => index.proposals.filter((e) => e.owner === arn && e.kind === 'inline-policy');
    // Both use less than their inline policies grant: only the member account's is held back.
    expect(inlineOf(wayIn.arn).map((e) => [e.action, e.review])).toEqual(wayIn.inlinePolicies.map(() => ['review', expect.stringContaining("the organization's management account may assume this role")]));
    expect(inlineOf(own.arn).length).toBeGreaterThan(0);
    expect(inlineOf(own.arn).every((e) => e.action !== 'review')).toBe(true);
    // Plan kept the management account with each account's authorization details, from its ARN in Organizations.
    expect(readJson<{ managementAccountId: string }>(dir, keys.authorization(result.runId, other.accountId)).managementAccountId).toBe(management.accountId);
  });

  it('proposes for the role two accounts share one change, for both: only what neither account used leaves it', async () => {
    const { dir, result } = run;
    const [management, hub] = organization.accounts;
    const role = hub.account.entities.find((e) => e.type === 'role' && !e.path.startsWith('/aws-service-role/'))!;
    const identity = `role${role.path}${role.name}`;
    const twin = management.account.entities.find((e) => e.type === 'role' && e.path === role.path && e.name === role.name)!;
    expect(role.inlinePolicies).toEqual(twin.inlinePolicies);
    const unusedIn = (e: typeof role) => new Set(readJson<EntityReport>(dir, reportKey(result.runId, e)).findings.unusedServices);
    const [unusedInManagement, unusedInHub] = [unusedIn(twin), unusedIn(role)];
    const printed = new PassThrough();
    let text = '';
    printed.on('data', (chunk) => (text += chunk));
    expect(await proposalsCommand(['--out', dir, '--run', result.runId, '--shared', '--format', 'json'], printed)).toBe(0);
    const { proposals, notProposed, accountsNotAudited } = JSON.parse(text) as { proposals: Array<SharedProposal & { sameSince: SameSince }>; notProposed: unknown[]; accountsNotAudited: string[] };
    // The first run into its store: each is made the same by this run alone.
    expect(proposals.every((p) => isDeepStrictEqual(p.sameSince, { runId: result.runId, startedAt: result.summary!.startedAt, runs: 1 }))).toBe(true);
    expect(accountsNotAudited).toEqual([organization.accounts[2].accountId, organization.accounts[3].accountId]);
    // Propose wrote them (the command read its file); worked out again from the run's reports, for a run
    // whose Propose wrote none, they are the same.
    const file = join(dir, keys.templateProposals(result.runId));
    expect(readJson<{ proposals: unknown[] }>(dir, keys.templateProposals(result.runId)).proposals).toEqual(proposals);
    renameSync(file, `${file}.aside`);
    try {
      const again = new PassThrough();
      let worked = '';
      again.on('data', (chunk) => (worked += chunk));
      expect(await proposalsCommand(['--out', dir, '--run', result.runId, '--shared', '--format', 'json'], again)).toBe(0);
      // Worked out again, they have no runs counted: Propose counts them.
      expect(JSON.parse(worked)).toEqual({ runId: result.runId, accountsNotAudited, proposals: proposals.map(({ sameSince: _, ...p }) => p), notProposed });
    } finally {
      renameSync(`${file}.aside`, file);
    }
    const mine = proposals.filter((p) => p.target.identity === identity);
    expect(mine.map((p) => p.target.policyName).sort()).toEqual(role.inlinePolicies.map((p) => p.name).sort());
    for (const p of mine) {
      const named = new Set(statementsOf(p.current).flatMap((st) => listOf(st.Action)).map((a) => a.slice(0, a.indexOf(':'))));
      // What neither account used, by the two reports; the service only the hub used stays.
      expect(p.removedServices).toEqual([...named].filter((ns) => unusedInManagement.has(ns) && unusedInHub.has(ns)).sort());
      expect(p.accounts.map((a) => a.accountId)).toEqual([management.accountId, hub.accountId].sort());
      const own = p.accounts.find((a) => a.accountId === management.accountId)!;
      expect(own.removedServices.length).toBeGreaterThan(p.removedServices.length);
      expect(p.removedServices.every((ns) => own.removedServices.includes(ns))).toBe(true);
      // The template's document, ready for the StackSet: no action of a removed service, every other kept.
      const policy = new PassThrough();
      let document = '';
      policy.on('data', (chunk) => (document += chunk));
      expect(await proposalsCommand(['--out', dir, '--run', result.runId, '--shared', '--id', p.templateId, '--format', 'policy'], policy)).toBe(0);
      const kept = statementsOf(JSON.parse(document)).flatMap((st) => listOf(st.Action));
      expect(kept.sort()).toEqual(statementsOf(p.current).flatMap((st) => listOf(st.Action)).filter((a) => !p.removedServices.includes(a.slice(0, a.indexOf(':')))).sort());
    }
    // The HTML report's row of the role names its template proposals.
    const page = pageDataOf(readFileSync(join(dir, keys.reportPage(result.runId)), 'utf8'));
    const row = page.shared.findIndex(([type, path, name]) => `${TYPE_CODES[type]}${path}${name}` === identity);
    expect(page.templates.filter(([at]) => at === row)).toEqual(mine.map((p) => [row, p.templateId, p.action, p.target.kind, p.target.policyName, p.removedServices.length, p.removedActions.length, 1]));
    // The table names each, and the patch shows each document's change.
    const [table, patch] = [new PassThrough(), new PassThrough()];
    let [tableText, patchText] = ['', ''];
    table.on('data', (chunk) => (tableText += chunk));
    patch.on('data', (chunk) => (patchText += chunk));
    expect(await proposalsCommand(['--out', dir, '--run', result.runId, '--shared'], table)).toBe(0);
    expect(await proposalsCommand(['--out', dir, '--run', result.runId, '--shared', '--format', 'patch'], patch)).toBe(0);
    expect(tableText).toMatch(new RegExp(`^Run ${result.runId}: \\d+ template proposals? \\(`));
    expect(tableText).toContain(`Accounts not audited (${organization.accounts[2].accountId}, ${organization.accounts[3].accountId}) may hold these identities too`);
    // SERVICE_LEVEL: no template cut a single action, so the catalogue's age says nothing of them.
    expect(tableText).not.toContain('Single actions were cut');
    for (const p of mine) {
      expect(tableText).toMatch(new RegExp(`\\n${p.templateId} +trim +inline-policy +${p.target.policyName} +2 +${p.removedServices.length} +1  ${identity}\\n`));
      expect(patchText).toContain(`# ${p.templateId} trim inline-policy ${identity} inline ${p.target.policyName}\n# for the template of 2 accounts: ${[management.accountId, hub.accountId].sort().join(' ')}; it keeps every service and tracked action some account used\n# removes services: ${p.removedServices.join(' ')}\n`);
    }
  });

  it('reads every JobId in the account and with the credentials that generated it, and no other way', () => {
    const log = run.result.stats.iamCallLog;
    const generatedBy = new Map(log.filter((c) => c.operation === 'GenerateServiceLastAccessedDetails' && c.jobId).map((c) => [c.jobId!, c]));
    const reads = log.filter((c) => c.operation === 'GetServiceLastAccessedDetails' && ['IN_PROGRESS', 'COMPLETED', 'FAILED'].includes(c.outcome));
    expect(reads.length).toBeGreaterThan(0);
    for (const read of reads) {
      const generate = generatedBy.get(read.jobId!)!;
      expect({ caller: read.caller, account: read.accountId }).toEqual({ caller: generate.caller, account: generate.accountId });
    }
    // A Get from any other session or account was refused (and the job made again), never answered.
    for (const refused of log.filter((c) => c.operation === 'GetServiceLastAccessedDetails' && !reads.includes(c) && c.outcome !== 'Throttling')) {
      expect(refused.outcome).toBe('NoSuchEntity');
    }
    // Every account's IAM was reached only through its own member-role session, never the hub's keys.
    const hubKeys = new Set(log.filter((c) => c.operation === 'AssumeRole').map((c) => c.caller));
    for (const call of log.filter((c) => c.operation.startsWith('Generate') && c.accountId !== organization.auditAccountId)) expect(hubKeys.has(call.caller)).toBe(false);
  });
});

describe('an organization whose every member role is present', () => {
  describe('audited whole', () => {
    const organization = sampleOrganization();
    let run: Awaited<ReturnType<typeof audit>>;
    beforeAll(async () => {
      run = await audit(organization);
    }, RUN_TIMEOUT);

    it('is COMPLETED, with every account audited', () => {
      const { dir, result, summary } = run;
      expect(result.status).toBe('SUCCEEDED');
      expect(summary.status).toBe('COMPLETED');
      expect(summary.accounts.every((a) => a.status === 'audited')).toBe(true);
      expectAccountsReported(dir, result, organization, organization.accounts.map((a) => a.accountId));
    });

    it('Propose, run again on a store that answers slowly, reads several small accounts at once and writes several accounts\' proposals at once, and writes the same proposals', async () => {
      const { dir, result } = run;
      const files = new DirectoryReportStore(dir);
      const indexKey = keys.proposalsIndex(result.runId);
      const before = JSON.parse(await files.get(indexKey)) as ProposalIndex;
      const written = new Map(await Promise.all(before.proposals.map(async (p) => [p.key, await files.get(p.key)] as const)));
      // The account a key is of, if any (a batch file or the plan is of none).
      const accountOf = (key: string) => /(?:reports|proposals|authorization)\/(\d{12})/.exec(key)?.[1] ?? 'none';
      const reading = new Map<string, number>();
      const writing = new Map<string, number>();
      let mostAccountsRead = 0;
      let mostAccountsWritten = 0;
      const busy = (counts: Map<string, number>) => [...counts].filter(([account, n]) => account !== 'none' && n > 0).length;
      const slowly = async <T>(counts: Map<string, number>, key: string, call: () => Promise<T>): Promise<T> => {
        const account = accountOf(key);
        counts.set(account, (counts.get(account) ?? 0) + 1);
        mostAccountsRead = Math.max(mostAccountsRead, busy(reading));
        mostAccountsWritten = Math.max(mostAccountsWritten, busy(writing));
        try {
          await new Promise((resolve) => setTimeout(resolve, 5));
          return await call();
        } finally {
          counts.set(account, counts.get(account)! - 1);
        }
      };
      const store = storeWith(files, {
        get: (key) => slowly(reading, key, () => files.get(key)),
        list: (prefix) => slowly(reading, prefix, () => files.list(prefix)),
        put: (key, body) => slowly(writing, key, () => files.put(key, body)),
        putChunks: () => Promise.reject(new Error('Propose writes no object in parts')),
      });
      const catalog = iamCatalog();
      const counted = await propose({ store, catalog, space: new ActionSpace(catalog), exemptions: exemptionsFromEnvironment({}) }, { run: { runId: result.runId } as RunInfo });
      // Five accounts of 24 identities each: the four after the first are read while it is proposed for,
      // and one account's few proposals do not hold up the next's (one account at a time, both were 1).
      expect(mostAccountsRead).toBeGreaterThanOrEqual(3);
      expect(mostAccountsWritten).toBeGreaterThanOrEqual(2);
      const after = JSON.parse(await files.get(indexKey)) as ProposalIndex;
      expect(after).toEqual(before);
      expect(counted.count).toBe(before.proposals.length);
      expect(new Set(before.proposals.map((p) => p.accountId)).size).toBe(organization.accounts.length);
      for (const [key, body] of written) expect(await files.get(key)).toBe(body);
    });
  });

  it('lists the organization while Organizations throttles: Plan retries the refused calls, and every account is audited', async () => {
    const organization = sampleOrganization();
    // One call per 100 simulated seconds (half a real second at 200x), one at once: the listing's second
    // call is refused, and the SDK's retries in Plan, which wait in real time, get it through.
    const { result, summary } = await audit(organization, { emulator: { recordCalls: true, organizationsThrottle: { rps: 0.01, burst: 1 } } });
    const listing = result.stats.iamCallLog.filter((c) => c.operation === 'ListAccounts');
    expect(listing.filter((c) => c.outcome === 'TooManyRequestsException').length).toBeGreaterThan(0);
    expect(summary.status).toBe('COMPLETED');
    expect(summary.accounts.map((a) => a.accountId).sort()).toEqual(organization.accounts.map((a) => a.accountId).sort());
    expect(summary.accounts.every((a) => a.status === 'audited')).toBe(true);
  }, RUN_TIMEOUT);

  it('narrows a run to the execution input\'s accountIds', async () => {
    const organization = sampleOrganization(withTwinRole);
    const [, hub, , , other] = organization.accounts;
    const { dir, result, summary } = await audit(organization, { input: { accountIds: [other.accountId] } });
    expect(summary.status).toBe('COMPLETED');
    expect(summary.accounts.map((a) => [a.accountId, a.status, a.code ?? null])).toEqual([[other.accountId, 'audited', null]]);
    expectAccountsReported(dir, result, organization, [other.accountId]);
    expect(reportFiles(dir, result.runId).some((k) => k.includes(`/${hub.accountId}/`))).toBe(false);

    // The whole organization the next time: only the account both runs audited is compared, and the
    // page says which were not, so that their identities are not taken for unchanged.
    const whole = await runLocal({ organization, outDir: dir, timeScale: 200, settings: FAST_SETTINGS });
    expect(whole.summary!.changes).toMatchObject({ added: 0, removed: 0 });
    const html = readFileSync(join(dir, keys.reportPage(whole.runId)), 'utf8');
    const page = pageDataOf(html);
    expect(page.changes).toMatchObject({ previousRunId: result.runId, previousStartedAt: summary.startedAt });
    const byId = (a: { accountId: string }, b: { accountId: string }) => a.accountId.localeCompare(b.accountId);
    const said = new PassThrough();
    await changesCommand(['--out', dir], said);
    const names = organization.accounts.filter((a) => a.accountId !== other.accountId).map((a) => `${a.name} (${a.accountId})`);
    expect(String(said.read()).split('\n')[2]).toBe(`  Not audited in run ${result.runId}, so not compared: ${names.join(', ')}.`);
    expect([...page.changes!.notCompared].sort(byId)).toEqual(
      organization.accounts.filter((a) => a.accountId !== other.accountId).map((a) => ({ accountId: a.accountId, reason: 'not-audited' })).sort(byId),
    );

    // A third night, one member role gone: that account is not compared either, and the terminal says why.
    const lost = sampleOrganization((file) => {
      withTwinRole(file);
      file.accounts[2].memberRole = 'missing';
    });
    const third = await runLocal({ organization: lost, outDir: dir, timeScale: 200, settings: FAST_SETTINGS });
    expect(third.summary!.status).toBe('INCOMPLETE');
    const gone = lost.accounts[2];
    const told = new PassThrough();
    await changesCommand(['--out', dir, '--run', third.runId], told);
    expect(String(told.read()).split('\n').slice(0, 3)).toEqual([
      expect.stringContaining(`against run ${whole.runId}`),
      '  0 identities added, 0 removed; 0 services used for the first time, 0 newly unused, 0 granted, 0 revoked.',
      `  Not audited in this run, so not compared: ${gone.name} (${gone.accountId}).`,
    ]);

    // A fourth night, every role back, but one report of the last COMPLETED run (the second) lost: that
    // account's earlier reports cannot be read, and the terminal says so as the page does, from what
    // Summarize found; once the run's working files are gone, it says it cannot know.
    const lostReport = reportFiles(dir, whole.runId).find((k) => k.includes(`/${hub.accountId}/`))!;
    rmSync(join(dir, lostReport));
    const fourth = await runLocal({ organization, outDir: dir, timeScale: 200, settings: FAST_SETTINGS });
    expect(fourth.summary!.status).toBe('COMPLETED');
    // The twin role's template proposals: made by the whole organization's run, and the same by the
    // fourth, which compares with it (the third, INCOMPLETE, is no run before another).
    const templatesOf = (runId: string) => readJson<TemplateProposalsFile>(dir, keys.templateProposals(runId));
    expect(templatesOf(whole.runId)).toMatchObject({ previousRunId: result.runId });
    expect(templatesOf(whole.runId).proposals.map((t) => t.sameSince)).toEqual([{ runId: whole.runId, startedAt: whole.summary!.startedAt, runs: 1 }]);
    expect(templatesOf(fourth.runId)).toMatchObject({ previousRunId: whole.runId });
    expect(templatesOf(fourth.runId).proposals.map((t) => [t.templateId, t.sameSince])).toEqual(templatesOf(whole.runId).proposals.map((t) => [t.templateId, { ...t.sameSince, runs: 2 }]));
    const twice = new PassThrough();
    expect(await proposalsCommand(['--out', dir, '--shared', '--again', '--format', 'json'], twice)).toBe(0);
    expect((JSON.parse(String(twice.read())) as { proposals: SharedProposal[] }).proposals.map((t) => t.templateId)).toEqual(templatesOf(whole.runId).proposals.map((t) => t.templateId));
    const fourthPage = pageDataOf(readFileSync(join(dir, keys.reportPage(fourth.runId)), 'utf8'));
    expect(fourthPage.changes).toMatchObject({ previousRunId: whole.runId, notCompared: [{ accountId: hub.accountId, reason: 'unreadable' }] });
    const unreadableLine = `  Reports of run ${whole.runId} unreadable, so not compared: ${hub.name} (${hub.accountId}).`;
    const linesOf = async (args: string[]) => {
      const stream = new PassThrough();
      await changesCommand(['--out', dir, ...args], stream);
      return String(stream.read()).split('\n');
    };
    expect((await linesOf([])).slice(0, 3)).toEqual([expect.stringContaining(`against run ${whole.runId}`), expect.stringContaining('added'), unreadableLine]);
    expect((await linesOf(['--account', hub.accountId])).slice(0, 3)).toEqual([expect.stringContaining(`account ${hub.accountId}`), expect.stringContaining('added'), unreadableLine]);
    expect((await linesOf(['--account', other.accountId]))[2]).toBe('');
    rmSync(join(dir, keys.gathered(fourth.runId)));
    expect((await linesOf([])).slice(0, 3)).toEqual([
      expect.stringContaining(`against run ${whole.runId}`),
      expect.stringContaining('added'),
      `  Whether run ${whole.runId}'s reports of each account could be read is not known here (this run's working files cannot be read); the run's HTML page says.`,
    ]);
  }, RUN_TIMEOUT);

  it('refuses accountIds naming an account it is not set to audit: the run fails as InvalidInput and writes nothing', async () => {
    const organization = sampleOrganization();
    const [, , , , other] = organization.accounts;
    const { dir, result } = await audit(organization, { input: { accountIds: [other.accountId, '999999999999'] } });
    expect(result.status).toBe('FAILED');
    expect(result.error!.Error).toBe('InvalidInput');
    expect(result.error!.Cause).toContain(`accountIds names 999999999999, not among the ${organization.accounts.length} accounts the pipeline is set to audit`);
    expect(result.summary).toBeUndefined();
    // Only the local runner's function logs: no run files, no working files, no latest.json.
    expect(readdirSync(dir).filter((name) => name !== '.logs')).toEqual([]);
  }, RUN_TIMEOUT);

  it('audits only the accounts under the OUs asked for', async () => {
    const organization = sampleOrganization();
    const infrastructure = organization.units.find((u) => u.name === 'Infrastructure')!;
    const { summary } = await audit(organization, {
      settings: { accounts: { source: 'organization', memberRoleName: organization.memberRoleName, organizationalUnitIds: [infrastructure.id], excludeAccountIds: [] } },
    });
    expect(summary.accounts.map((a) => a.accountId)).toEqual(organization.accounts.filter((a) => a.parentId === infrastructure.id).map((a) => a.accountId));
  }, RUN_TIMEOUT);

  it('renews a member-role session that ends in the middle of a batch: jobs of the old session are regenerated, none fails or reads empty', async () => {
    const organization = sampleOrganization();
    // Sessions of 30 simulated seconds; jobs of 8 s; some 22 identities an account at two calls a second
    // at most (at least 11 s of Generates, then the jobs, then the Gets): every batch outlives its first session.
    // At 10x a session is 3 s of this machine's time. At 40x (0.75 s) a loaded CI machine's stalls alone
    // outlived sessions: 2 runs in 6 failed a job as JobTimedOut beside six busy processes; none at 10x.
    const { dir, result, summary } = await audit(organization, {
      timeScale: 10,
      emulator: { maxSessionSeconds: 30, jobLatencyMs: 8_000, recordCalls: true },
      settings: { iamCallsPerSecond: 2 },
    });
    expect(summary.status).toBe('COMPLETED');
    expect(summary.failures).toEqual([]);
    expectAccountsReported(dir, result, organization, organization.accounts.map((a) => a.accountId));
    // More sessions than accounts: they were renewed in the middle of the batches.
    expect(result.stats.emulator!.sessions).toBeGreaterThan(2 * organization.accounts.length);
    // Whether any job outlives its session here depends on timing: a session about to end is renewed
    // before a Generate, and on one CI run none had to be made again (115 Generates, 115 listed). The
    // regeneration of a job IAM will not read is covered without timing in audit-batch.test.ts.
    const ops = result.stats.emulator!.operations;
    expect(ops.GenerateServiceLastAccessedDetails.calls).toBeGreaterThanOrEqual(summary.entities.listed);
  }, RUN_TIMEOUT);
});

describe('an organization listed in groups by several Plan invocations', () => {
  it('fails alone the accounts of a group whose listing invocation keeps dying, naming its error; the other group is audited', async () => {
    const file = JSON.parse(JSON.stringify(generateSampleOrganization({ accounts: ACCOUNTS_PER_LISTING + 2, entitiesPerAccount: 4, seed: 'e2e-groups', asOf: new Date() })));
    for (const account of file.accounts) for (const e of account.entities) delete e.fault;
    const organization = loadOrganization(file);
    // Every invocation that lists the second group dies, as a crash would, retries included.
    const run = await audit(organization, {
      // Slow enough that a busy machine's stalls, counted 50 times, stay within the settings' bounds.
      timeScale: 50,
      beforeInvoke: (fn, _invocation, event) => {
        const e = event as { phase?: string; group?: number };
        if (fn.logicalId.startsWith('AuditPlan') && e.phase === 'list' && e.group === 1) throw new Error('the listing environment crashed');
      },
    });
    const { result, summary } = run;
    expect(result.status).toBe('FAILED');
    expect(result.error!.Error).toBe('AuditIncomplete');
    expectSummaryConsistent(summary);
    const ids = organization.accounts.map((a) => a.accountId);
    const lost = ids.slice(ACCOUNTS_PER_LISTING);
    for (const a of summary.accounts.filter((x) => lost.includes(x.accountId))) {
      expect(a).toMatchObject({ status: 'failed', code: 'ListingFailed', entities: { listed: 0, reported: 0, skipped: 0, failed: 0 } });
      expect(a.message).toMatch(/^the invocation that listed it failed: Runtime\.ExitError: /);
    }
    expect(summary.accounts.filter((x) => x.status === 'failed').map((x) => x.accountId).sort()).toEqual([...lost].sort());
    expectAccountsReported(run.dir, result, organization, ids.slice(0, ACCOUNTS_PER_LISTING));
    // Three Plan steps, the dead group's three tries, and nothing else of Plan.
    const plans = Object.entries(result.stats.lambdaInvocations).find(([id]) => id.startsWith('AuditPlan'))![1];
    expect(plans).toBe(1 + 1 + 3 + 1);
  }, RUN_TIMEOUT);
});

describe('an organization with more batches than the hub account\'s Lambda concurrency quota', () => {
  // Invocations waiting their turn make more of them, each a poll budget of simulated time: at the usual
  // 200x a machine's stall of 0.1 s is a third of one, and a batch ran out of invocations (a job
  // JobTimedOut, in one clean-clone CI run of many). At 50x the stalls weigh a quarter as much.
  const CONTENDED_TIME_SCALE = 50;
  it('audits every account: invocations Lambda refuses wait their turn, and none is lost', async () => {
    const organization = sampleOrganization();
    // Two concurrent executions in the whole hub account (new accounts may have 10): the Map starts all
    // five accounts' batches at once, so Lambda refuses three of them at first. Before the workflow
    // retried such refusals, two batches failed after their two retries and the run was INCOMPLETE.
    const { dir, result, summary } = await audit(organization, { lambdaConcurrency: 2, timeScale: CONTENDED_TIME_SCALE, settings: { maxConcurrency: 5 } });
    const throttles = Object.values(result.stats.lambdaThrottles).reduce((a, b) => a + b, 0);
    expect(throttles).toBeGreaterThan(0);
    expect(result.status).toBe('SUCCEEDED');
    expect(summary.status).toBe('COMPLETED');
    expect(summary.failures).toEqual([]);
    expectAccountsReported(dir, result, organization, organization.accounts.map((a) => a.accountId));
  }, RUN_TIMEOUT);

  it('runs no more AuditBatch invocations at once than its reserved concurrency, and audits every account', async () => {
    const organization = sampleOrganization();
    const { dir, result, summary } = await audit(organization, { timeScale: CONTENDED_TIME_SCALE, settings: { maxConcurrency: 5, auditBatchReservedConcurrency: 2 } });
    const auditBatch = Object.keys(result.stats.lambdaPeakConcurrency).find((id) => id.includes('AuditBatch'))!;
    expect(result.stats.lambdaPeakConcurrency[auditBatch]).toBe(2);
    expect(result.stats.lambdaThrottles[auditBatch]).toBeGreaterThan(0);
    expect(summary.status).toBe('COMPLETED');
    expect(summary.failures).toEqual([]);
    expectAccountsReported(dir, result, organization, organization.accounts.map((a) => a.accountId));
  }, RUN_TIMEOUT);
});
