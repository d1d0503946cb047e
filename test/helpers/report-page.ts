/**
 * A report page made from known data, for the browser tests: reports of identities in two accounts
 * with known names and services, proposals for some, changes since a previous run and a trend, built
 * by the same ReportDataBuilder and renderReportPage that Summarize uses.
 */
import type { Changes } from '../../lambda/core/changes';
import { renderReportPage } from '../../lambda/core/html/report-page';
import { accountOfArn, type EntityReport, type EntityType, type RunSummary } from '../../lambda/core/model';
import type { ProposalIndex } from '../../lambda/core/propose';
import { ReportDataBuilder, type DatedTemplates, type ReportData, type TrendPoint } from '../../lambda/core/report-data';

const DAY = 86_400_000;
const RUN_ID = 'audit-2026-11-25';
const CREATED = Date.parse('2026-11-25T03:10:00Z');
export const PAGE_ACCOUNTS = [
  { accountId: '111111111111', name: 'production' },
  { accountId: '222222222222', name: 'staging' },
];
const SERVICES = ['s3', 'ec2', 'iam', 'lambda', 'sqs', 'dynamodb', 'kms', 'sts', 'cloudwatch', 'logs', 'sns', 'ecr'];
const TYPES: EntityType[] = ['user', 'group', 'role', 'policy'];

export interface PageIdentity {
  readonly arn: string;
  readonly type: EntityType;
  readonly name: string;
  readonly accountId: string;
  readonly granted: number;
  readonly unused: number;
  /** Each service as the opened identity shows it: name, last used, used or unused. */
  readonly services: readonly string[];
}

export interface FabricatedPage {
  readonly html: string;
  readonly identities: readonly PageIdentity[];
  readonly summary: RunSummary;
  /** ARNs of the identities exempt from proposals. */
  readonly exempt: readonly string[];
}

/**
 * A deterministic page of `count` identities, in the `aws` partition unless told another, the first ones
 * named by `names` if given; `builderAccountsReversed` makes its data with the accounts in the other
 * order than the summary's. `accounts` makes an organization of that many accounts instead of
 * PAGE_ACCOUNTS (the n-th, from 0, is `account-<n>`, id 100000000001 + n), whose `failedAccounts`
 * (indexes) could not be entered: AccessDenied, and none of the identities. `accountNames` names the
 * accounts in turn (Organizations allows any printable ASCII in a name).
 */
export function fabricatedPage(
  count: number,
  options: { partition?: string; names?: readonly string[]; builderAccountsReversed?: boolean; accounts?: number; failedAccounts?: readonly number[]; templates?: DatedTemplates; accountNames?: readonly string[] } = {},
): FabricatedPage {
  const partition = options.partition ?? 'aws';
  const pageAccounts = (options.accounts === undefined ? PAGE_ACCOUNTS : Array.from({ length: options.accounts }, (_, n) => ({ accountId: String(100_000_000_001 + n), name: `account-${n}` }))).map(
    (a, n) => ({ ...a, name: options.accountNames?.[n] ?? a.name }),
  );
  const failedIds = new Set((options.failedAccounts ?? []).map((n) => pageAccounts[n].accountId));
  const audited = pageAccounts.filter((a) => !failedIds.has(a.accountId));
  const accountIds = pageAccounts.map((a) => a.accountId);
  const builder = new ReportDataBuilder(options.builderAccountsReversed ? accountIds.reverse() : accountIds);
  const identities: PageIdentity[] = [];
  let unusedGrants = 0;
  let withUnused = 0;
  let idle = 0;
  for (let i = 0; i < count; i++) {
    const account = audited[Math.floor(i / 4) % audited.length];
    const type = TYPES[i % 4];
    const name = options.names?.[i] ?? `${['alice', 'build', 'deploy', 'reader'][i % 4]}-${String(i).padStart(5, '0')}`;
    const arn = `arn:${partition}:iam::${account.accountId}:${type}/${name}`;
    const granted = 1 + (i % SERVICES.length);
    // Service k of identity i was last used (i + 7k) % 200 days before the report, or never when that is >= 150.
    const services = SERVICES.slice(0, granted).map((ns, k) => {
      const days = (i + 7 * k) % 200;
      const last = days >= 150 ? null : new Date(CREATED - days * DAY).toISOString();
      return { serviceNamespace: ns, serviceName: ns.toUpperCase(), lastAuthenticated: last, lastAuthenticatedEntity: null, lastAuthenticatedRegion: null, totalAuthenticatedEntities: last ? 1 : 0, trackedActions: [] };
    });
    const unused = services.filter((s) => s.lastAuthenticated === null || CREATED - Date.parse(s.lastAuthenticated) > 90 * DAY).map((s) => s.serviceNamespace);
    const report: EntityReport = {
      schemaVersion: 1,
      runId: RUN_ID,
      runDate: '2026-11-25',
      accountId: account.accountId,
      entity: { arn, type, name, path: '/', id: `ID${i}` } as EntityReport['entity'],
      granularity: 'SERVICE_LEVEL',
      job: { jobId: `job-${i}`, status: 'COMPLETED', createdAt: new Date(CREATED).toISOString(), completedAt: new Date(CREATED + 3000).toISOString() },
      services,
      findings: {
        unusedAfterDays: 90,
        servicesGranted: granted,
        servicesUsed: granted - unused.length,
        unusedServices: unused,
        neverUsedServices: services.filter((s) => s.lastAuthenticated === null).map((s) => s.serviceNamespace),
      },
    };
    builder.add(report);
    const shown = services.map((s, k) => {
      const days = (i + 7 * k) % 200;
      const ago = days >= 150 ? 'never' : days === 0 ? 'today' : days === 1 ? 'yesterday' : `${days} days ago`;
      return `${s.serviceNamespace} ${ago} ${unused.includes(s.serviceNamespace) ? 'unused' : 'used'}`;
    });
    identities.push({ arn, type, name, accountId: account.accountId, granted, unused: unused.length, services: shown });
    unusedGrants += unused.length;
    if (unused.length > 0) withUnused++;
    if (granted === unused.length) idle++;
  }
  const failures = [
    { arn: `arn:${partition}:iam::${audited[0].accountId}:role/failed-job`, code: 'JobFailed.ServiceFailure', message: 'the job failed' },
    { arn: `arn:${partition}:iam::${audited[1 % audited.length].accountId}:role/slow-job`, code: 'JobTimedOut', message: 'the job did not complete in time' },
  ];
  const perAccount = (accountId: string) => identities.filter((x) => x.accountId === accountId).length;
  const failedIn = (accountId: string) => failures.filter((f) => accountOfArn(f.arn) === accountId).length;
  const summary: RunSummary = {
    schemaVersion: 2,
    runId: RUN_ID,
    runDate: '2026-11-25',
    status: failedIds.size > 0 ? 'INCOMPLETE' : 'COMPLETED',
    granularity: 'SERVICE_LEVEL',
    startedAt: new Date(CREATED - 60_000).toISOString(),
    completedAt: new Date(CREATED + 600_000).toISOString(),
    accounts: pageAccounts.map((a) =>
      failedIds.has(a.accountId)
        ? { ...a, status: 'failed' as const, code: 'AccessDenied', message: 'could not assume the member role', entities: { listed: 0, reported: 0, skipped: 0, failed: 0 } }
        : { ...a, status: 'audited' as const, entities: { listed: perAccount(a.accountId) + failedIn(a.accountId), reported: perAccount(a.accountId), skipped: 0, failed: failedIn(a.accountId) } },
    ),
    entities: { listed: count + 2, reported: count, skipped: 0, failed: 2, byType: { user: 0, group: 0, role: 0, policy: 0 } },
    failures,
    skipped: [],
    findings: { entitiesWithUnusedServices: withUnused, unusedServiceGrants: unusedGrants, entitiesWithNoUseInWindow: idle },
    proposals: { count: 0, byAction: { trim: 0, remove: 0, replace: 0, review: 0 } },
    changes: { firstUse: 2, newlyUnused: 1, added: 1, removed: 1 },
    iamCalls: { list: 4, generate: count, get: count, throttled: 0, retried: 0 },
  };
  for (const x of identities) summary.entities.byType[x.type]++;
  const proposed = identities.filter((x) => x.type !== 'group' && x.unused > 0).slice(0, Math.ceil(count / 3));
  const proposals: ProposalIndex = {
    schemaVersion: 1,
    runId: RUN_ID,
    // Data of 2026-09-26: 60 days before the run, whose trims cut single actions too.
    catalogVersion: '0.21.202609261',
    previousRunId: 'audit-2026-11-24',
    accountsWithoutDetails: [],
    // A group with unused services, exempt: it is reported, never proposed.
    exempt: identities.filter((x) => x.type === 'group' && x.unused > 0).slice(0, 1).map((x) => ({ arn: x.arn, reason: 'tagged iam-access-audit:exempt' })),
    proposals: proposed.map((x, i) => ({
      proposalId: `p-${i}`,
      accountId: x.accountId,
      // Some are reviews, which take nothing away and say why.
      action: i % 7 === 3 ? 'review' : x.unused === x.granted ? 'remove' : 'trim',
      kind: x.type === 'policy' ? 'managed-policy' : 'inline-policy',
      policyName: x.type === 'policy' ? x.name : `${x.name}-access`,
      policyArn: x.type === 'policy' ? x.arn : null,
      owner: x.type === 'policy' ? null : x.arn,
      removedServices: x.unused,
      // Some trims also remove unused tracked actions of services kept (ACTION_LEVEL data).
      removedActions: i % 4 === 1 && x.unused < x.granted ? 3 : 0,
      review: i % 7 === 3 ? `IAM Identity Center made this role for permission set Set${i}, and IAM refuses changes to it` : null,
      // Made the same by 1, 2 or 3 runs in a row, the first of them a night apart.
      digest: `d-${i}`,
      sameSince: { runId: `audit-2026-11-${25 - (i % 3)}`, startedAt: `2026-11-${25 - (i % 3)}T02:00:00.000Z`, runs: 1 + (i % 3) },
      key: `runs/${RUN_ID}/proposals/${x.accountId}/p-${i}.json`,
    })),
  };
  (summary as { proposals: RunSummary['proposals'] }).proposals = {
    count: proposals.proposals.length,
    byAction: { trim: proposals.proposals.filter((p) => p.action === 'trim').length, remove: proposals.proposals.filter((p) => p.action === 'remove').length, replace: 0, review: proposals.proposals.filter((p) => p.action === 'review').length },
  };
  const first = identities[0];
  const changes: Changes = {
    schemaVersion: 1,
    runId: RUN_ID,
    previousRunId: 'audit-2026-11-24',
    identities: { added: [identities[identities.length - 1].arn], removed: [`arn:${partition}:iam::${audited[0].accountId}:user/leaver`] },
    services: [
      { arn: first.arn, serviceNamespace: 'iam', change: 'first-use', lastAuthenticated: new Date(CREATED - DAY).toISOString(), previousLastAuthenticated: null },
      { arn: first.arn, serviceNamespace: 's3', change: 'first-use', lastAuthenticated: new Date(CREATED - DAY).toISOString(), previousLastAuthenticated: null },
      { arn: identities[1 % count].arn, serviceNamespace: 'ec2', change: 'newly-unused', lastAuthenticated: new Date(CREATED - 91 * DAY).toISOString(), previousLastAuthenticated: new Date(CREATED - 91 * DAY).toISOString() },
    ],
    watched: [],
  };
  (changes as { watched: Changes['watched'] }).watched = [changes.services[0]];
  // Nightly runs at 02:00, the 21st INCOMPLETE, and the last a manual run on the day of the one before.
  const trend: TrendPoint[] = Array.from({ length: 30 }, (_, i) => ({
    runId: `audit-2026-10-${String(i + 1).padStart(2, '0')}`,
    runDate: new Date(CREATED - Math.max(0, 28 - i) * DAY).toISOString().slice(0, 10),
    startedAt: `${new Date(CREATED - Math.max(0, 28 - i) * DAY).toISOString().slice(0, 10)}T${i === 29 ? '14:30' : '02:00'}:00.000Z`,
    status: i === 20 ? 'INCOMPLETE' : 'COMPLETED',
    unusedServiceGrants: unusedGrants + (29 - i) * 3,
    failed: i % 7 === 0 ? 3 : 1,
    listed: count + 2,
  }));
  return { html: renderReportPage(builder.build({ summary, proposals, templates: options.templates, changes, trend })), identities, summary, exempt: proposals.exempt.map((e) => e.arn) };
}

/** The data a rendered report page carries, as its script reads it. */
export function pageDataOf(html: string): ReportData {
  const json = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html);
  if (!json) throw new Error('the page carries no report data');
  return JSON.parse(json[1]) as ReportData;
}
