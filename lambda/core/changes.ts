/**
 * What changed since the previous run (DESIGN.md "Changes since the previous run"): compared with the
 * latest COMPLETED run before this one, account by account (an account absent from either is not
 * compared). Identities added and removed; for identities reported in both, services first used, newly
 * unused, newly granted and revoked; and the first uses of watched services, worth a message today.
 */
import type { AccountSummary, EntityReport } from './model';

export type ServiceChangeKind = 'first-use' | 'newly-unused' | 'granted' | 'revoked';

/** Why an account of a run was not compared with the previous run: its identities are neither added nor removed. */
export interface NotCompared {
  readonly accountId: string;
  /** Not audited in this run, not audited in the previous one, or the previous run's reports of it unreadable. */
  readonly reason: 'not-audited-now' | 'not-audited' | 'unreadable';
}

/**
 * This run's accounts that were not compared with the previous run's, and why: an account is compared
 * only when both runs audited it and the previous run's reports of it could be read (`unreadable` names
 * those that could not, as far as the caller knows).
 */
export function notComparedAccounts(accounts: readonly AccountSummary[], previous: readonly AccountSummary[], unreadable: ReadonlySet<string> = new Set()): NotCompared[] {
  const auditedThen = new Set(previous.filter((a) => a.status === 'audited').map((a) => a.accountId));
  return accounts.flatMap((a) => {
    const reason = a.status !== 'audited' ? 'not-audited-now' : !auditedThen.has(a.accountId) ? 'not-audited' : unreadable.has(a.accountId) ? 'unreadable' : null;
    return reason ? [{ accountId: a.accountId, reason }] : [];
  });
}

export interface ServiceChange {
  readonly arn: string;
  readonly serviceNamespace: string;
  readonly change: ServiceChangeKind;
  readonly lastAuthenticated: string | null;
  readonly previousLastAuthenticated: string | null;
}

export interface Changes {
  readonly schemaVersion: 1;
  readonly runId: string;
  readonly previousRunId: string;
  readonly identities: { readonly added: readonly string[]; readonly removed: readonly string[] };
  readonly services: readonly ServiceChange[];
  readonly watched: readonly ServiceChange[];
}

/** What one report says of each service: its last use and whether it counts as unused. */
export interface ServiceState {
  readonly lastAuthenticated: string | null;
  readonly unused: boolean;
}

export function servicesOf(report: EntityReport): Map<string, ServiceState> {
  const unused = new Set(report.findings.unusedServices);
  return new Map(report.services.map((s) => [s.serviceNamespace, { lastAuthenticated: s.lastAuthenticated, unused: unused.has(s.serviceNamespace) }]));
}

/**
 * The changes of one identity's services between two reports. `first-use`: no use recorded before, use
 * now; `newly-unused`: used within the window before, not now; `granted`/`revoked`: a service that
 * appeared or disappeared from what its policies allow.
 */
export function serviceChanges(arn: string, before: ReadonlyMap<string, ServiceState>, now: ReadonlyMap<string, ServiceState>): ServiceChange[] {
  const changes: ServiceChange[] = [];
  const entry = (serviceNamespace: string, change: ServiceChangeKind, was: ServiceState | undefined, is: ServiceState | undefined): ServiceChange => ({
    arn,
    serviceNamespace,
    change,
    lastAuthenticated: is?.lastAuthenticated ?? null,
    previousLastAuthenticated: was?.lastAuthenticated ?? null,
  });
  for (const [ns, is] of now) {
    const was = before.get(ns);
    if (!was) {
      changes.push(entry(ns, 'granted', was, is));
      if (is.lastAuthenticated !== null) changes.push(entry(ns, 'first-use', was, is));
      continue;
    }
    if (was.lastAuthenticated === null && is.lastAuthenticated !== null) changes.push(entry(ns, 'first-use', was, is));
    if (!was.unused && is.unused) changes.push(entry(ns, 'newly-unused', was, is));
  }
  for (const [ns, was] of before) if (!now.has(ns)) changes.push(entry(ns, 'revoked', was, undefined));
  return changes;
}

/** Identities listed now but not before (added), and before but not now (removed). */
export function identityChanges(before: ReadonlySet<string>, now: ReadonlySet<string>): Changes['identities'] {
  return { added: [...now].filter((a) => !before.has(a)).sort(), removed: [...before].filter((a) => !now.has(a)).sort() };
}

/** The sentence the run's message gives the first uses of watched services (empty when there are none). */
export function watchedSentence(watched: readonly ServiceChange[]): string {
  if (watched.length === 0) return '';
  const shown = watched.slice(0, 10).map((w) => `${w.arn.split(':').slice(4).join(':')} used ${w.serviceNamespace}`);
  return ` First use of watched services: ${shown.join('; ')}${watched.length > 10 ? `; and ${watched.length - 10} more` : ''}.`;
}

export const DEFAULT_WATCH_SERVICES = ['iam', 'organizations', 'sts', 'kms', 'account'];
