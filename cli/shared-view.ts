/**
 * `iam-access-audit report --shared`: the identities of one type, path and name in more than one account
 * of a run (a StackSet's role, a template's policy), what each used in no account and in some, in the
 * terminal, as JSON or as CSV. The HTML report has the same table (both gather with `gatherShared`).
 */
import { accountOfArn, type EntityReport, type RunSummary } from '../lambda/core/model';
import { gatherShared, sharedMemberOf, type SharedGroup } from '../lambda/core/shared-identities';
import { unusedServices } from '../lambda/core/report';
import { counted, csvCell, notAuditedLines } from './words';

export type SharedFormat = 'table' | 'json' | 'csv';

/** One identity in several accounts, as `--format json` gives it. */
export interface SharedIdentity {
  readonly type: string;
  readonly path: string;
  readonly name: string;
  /** Every account it is in, with a report or not. */
  readonly accountIds: readonly string[];
  /** Where it has no report: what it used there is not known. */
  readonly notReported: readonly { readonly accountId: string; readonly arn: string; readonly code: string }[];
  /** Services granted somewhere and used in no account; null when some account has no report of it. */
  readonly usedInNoAccount: readonly string[] | null;
  /** Services used in some account, with how many accounts used each. */
  readonly usedInSomeAccount: readonly { readonly service: string; readonly accounts: number }[];
  /** Its services granted and unused, in every account with a report, added up. */
  readonly unusedGrants: number;
}

/** The run's identities in several accounts, each judged against its report's window or the one asked for. */
export function sharedOfRun(summary: RunSummary, reports: readonly EntityReport[], unusedAfterDays?: number): SharedIdentity[] {
  const unused = reports.map((r) => new Set(unusedServices(r.services, Date.parse(r.job.createdAt), unusedAfterDays ?? r.findings.unusedAfterDays)));
  const groups = gatherShared<string>(
    reports.map((r) => sharedMemberOf(r.entity, r.accountId)),
    summary.failures,
    (i, visit) => {
      for (const s of reports[i].services) visit(s.serviceNamespace, !unused[i].has(s.serviceNamespace));
    },
  );
  return groups.map((g) => sharedIdentityOf(g, summary));
}

function sharedIdentityOf(g: SharedGroup<string>, summary: RunSummary): SharedIdentity {
  const notReported = g.failures.map((i) => summary.failures[i]).map((f) => ({ accountId: accountOfArn(f.arn), arn: f.arn, code: f.code }));
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const services = [...g.usedIn.entries()].sort((a, b) => byName(a[0], b[0]));
  return {
    type: g.type,
    path: g.path,
    name: g.name,
    accountIds: g.accountIds,
    notReported,
    usedInNoAccount: g.known ? services.filter(([, n]) => n === 0).map(([s]) => s) : null,
    usedInSomeAccount: services.filter(([, n]) => n > 0).map(([service, accounts]) => ({ service, accounts })),
    unusedGrants: g.unusedGrants,
  };
}

export function renderShared(format: SharedFormat, summary: RunSummary, shared: readonly SharedIdentity[], unusedAfterDays: number | null): string {
  const { accounts } = summary;
  if (format === 'json') {
    return `${JSON.stringify({ runId: summary.runId, runDate: summary.runDate, status: summary.status, accounts, unusedAfterDays, shared }, null, 2)}\n`;
  }
  if (format === 'csv') {
    const header = ['type', 'path', 'name', 'accounts', 'not_reported_in', 'used_in_no_account', 'used_in_some_account', 'unused_grants', 'services_used_in_no_account'];
    const rows = shared.map((s) =>
      [s.type, s.path, s.name, s.accountIds.length, s.notReported.map((n) => n.accountId).join(' '), s.usedInNoAccount?.length ?? '', s.usedInSomeAccount.length, s.unusedGrants, s.usedInNoAccount?.join(' ') ?? '']
        .map(csvCell)
        .join(','),
    );
    return `${header.join(',')}\n${rows.map((r) => `${r}\n`).join('')}`;
  }
  const audited = accounts.filter((a) => a.status === 'audited').length;
  const lines = [
    `Run ${summary.runId} (${summary.runDate}, ${summary.granularity}) ${summary.status}: ${counted(shared.length, 'identity', 'identities')} in more than one of its ${counted(audited, 'audited account')} (one type, path and name in each)`,
  ];
  for (const a of accounts.filter((x) => x.status !== 'audited')) lines.push(...notAuditedLines(a, '  account '));
  if (accounts.some((a) => a.status !== 'audited')) lines.push('  An identity may be in the accounts not audited too: they are not counted.');
  if (audited < 2) return `${[...lines, 'One account was audited: no identity can be in several.'].join('\n')}\n`;
  if (shared.length === 0) return `${[...lines, 'No identity of this run is in more than one account.'].join('\n')}\n`;
  lines.push(
    `"Used": in the ${unusedAfterDays} days before each report. The most services used in no account first; "not known" where an account has no report of the identity, so what it used there is not known.`,
    '',
  );
  const label = (accountId: string) => accounts.find((a) => a.accountId === accountId)?.name ?? accountId;
  const nameOf = (s: SharedIdentity) => `${s.path.slice(1)}${s.name}`;
  const width = Math.min(48, Math.max(8, ...shared.map((s) => nameOf(s).length)));
  const cut = (text: string, room: number) => (text.length > room ? `${text.slice(0, room - 1)}…` : text);
  const table = [`${'TYPE'.padEnd(7)}${'NAME'.padEnd(width + 2)}${'ACCOUNTS'.padStart(8)}${'USED IN NONE'.padStart(14)}${'USED IN SOME'.padStart(14)}${'UNUSED GRANTS'.padStart(15)}  USED IN NO ACCOUNT`];
  for (const s of shared) {
    const none = s.usedInNoAccount;
    const detail = none
      ? `${none.slice(0, 8).join(' ')}${none.length > 8 ? ` +${none.length - 8} more` : ''}`
      : `no report in ${s.notReported.length === 1 ? `${label(s.notReported[0].accountId)} (${s.notReported[0].code})` : `${s.notReported.length} of ${s.accountIds.length} accounts`}`;
    table.push(
      `${s.type.padEnd(7)}${cut(nameOf(s), width).padEnd(width + 2)}${String(s.accountIds.length).padStart(8)}` +
        `${(none ? String(none.length) : 'not known').padStart(14)}${String(s.usedInSomeAccount.length).padStart(14)}${String(s.unusedGrants).padStart(15)}  ${detail}`.trimEnd(),
    );
  }
  return `${[...lines, ...table].join('\n')}\n`;
}
