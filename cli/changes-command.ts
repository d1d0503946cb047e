/**
 * `iam-access-audit changes`: what changed between a run and the run it compares with (the latest
 * COMPLETED run before it), as the run's `changes.json` holds it: the morning's question, "what is new
 * since last night?", answered in the terminal.
 */
import { notComparedAccounts, type Changes, type NotCompared, type ServiceChange, type ServiceChangeKind } from '../lambda/core/changes';
import { accountOfArn, keys, type RunSummary } from '../lambda/core/model';
import { accountsOfRun, readSummary, RunNotReadable } from '../lambda/core/run-reader';
import { getJsonOrNull, type ReportStore } from '../lambda/core/store';
import { GATHERED_VERSION, type GatheredRun } from '../lambda/core/summarize';
import { parseFlags, UsageError } from './flags';
import { RUN_LOCATION_FLAGS, runLocationFromFlags, withRun } from './run-location';
import { counted } from './words';

export const CHANGES_USAGE = `iam-access-audit changes [--bucket B | --out DIR] [--run ID | latest] [--account ID] [--format table|json]

  What changed between a run and the run it compares with (the latest COMPLETED run before it): the
  identities added and removed, and each identity's services first used, newly unused, granted or
  revoked, first uses of watched services first. Only the accounts both runs audited, and whose
  earlier reports could be read, are compared; the others are named. --format json prints the run's
  changes.json (only --account's entries with --account), or null for a run that had nothing to
  compare with.
  Reads the bucket B (with the standard AWS settings) or a local run's directory (default ./out).`;

const FORMATS = ['table', 'json'] as const;
/** The order the table lists the kinds of change in: what was used first, then what fell out of use. */
const KIND_ORDER: readonly ServiceChangeKind[] = ['first-use', 'newly-unused', 'granted', 'revoked'];

export async function changesCommand(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags(args, { ...RUN_LOCATION_FLAGS, format: { type: 'string' } });
  const format = flags.format ?? 'table';
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${format}"`);
  const location = runLocationFromFlags(flags);
  const { store, account } = location;
  return withRun(location, async (summary) => {
    const accounts = accountsOfRun(summary, account);
    const all = await getJsonOrNull<Changes>(store, keys.changes(summary.runId));
    const changes = all && onlyAccount(all, account);
    if (format === 'json') {
      out.write(`${JSON.stringify(changes, null, 2)}\n`);
      return 0;
    }
    if (changes === null) {
      out.write(`Run ${summary.runId} (${summary.status}) compares with no run: no run had COMPLETED before it. Changes compare with the latest COMPLETED run.\n`);
      return 0;
    }
    let previous: RunSummary | null = null;
    try {
      previous = await readSummary(store, changes.previousRunId);
    } catch (err) {
      if (!(err instanceof RunNotReadable)) throw err;
    }
    out.write(table(summary, accounts, changes, previous, await unreadableThen(store, summary.runId), account));
    return 0;
  });
}

/**
 * The accounts whose reports in the compared run Summarize could not read, and so did not compare, as
 * it said in the run's working file (`work/<runId>/gathered.json`); null when that file cannot be read
 * (a bucket expires it after 14 days; a caller may not be allowed `work/`) or is of another version.
 * Only Summarize knows: it read those reports. Null is said in the table, never taken for none.
 */
async function unreadableThen(store: ReportStore, runId: string): Promise<ReadonlySet<string> | null> {
  let gathered: Pick<GatheredRun, 'schemaVersion' | 'comparedWith'> | null;
  try {
    gathered = await getJsonOrNull(store, keys.gathered(runId));
  } catch {
    return null;
  }
  if (gathered?.schemaVersion !== GATHERED_VERSION || !gathered.comparedWith) return null;
  return new Set(gathered.comparedWith.notCompared.filter((n) => n.reason === 'unreadable').map((n) => n.accountId));
}

/** The changes of one account's identities, or all of them. */
function onlyAccount(changes: Changes, accountId: string | undefined): Changes {
  if (accountId === undefined) return changes;
  const mine = (arn: string) => accountOfArn(arn) === accountId;
  return {
    ...changes,
    identities: { added: changes.identities.added.filter(mine), removed: changes.identities.removed.filter(mine) },
    services: changes.services.filter((c) => mine(c.arn)),
    watched: changes.watched.filter((c) => mine(c.arn)),
  };
}

const started = (s: RunSummary) => `started ${s.startedAt.slice(0, 16).replace('T', ' ')} UTC`;
const day = (iso: string | null) => (iso === null ? 'never' : iso.slice(0, 10));

function table(summary: RunSummary, accounts: RunSummary['accounts'], changes: Changes, previous: RunSummary | null, unreadable: ReadonlySet<string> | null, accountId: string | undefined): string {
  const count = (kind: ServiceChangeKind) => changes.services.filter((c) => c.change === kind).length;
  const lines = [
    `Run ${summary.runId} (${summary.status}, ${started(summary)}) against run ${changes.previousRunId}${previous ? ` (${started(previous)})` : ''}` +
      `${accountId === undefined ? '' : `, account ${accountId}`}:`,
    `  ${counted(changes.identities.added.length, 'identity', 'identities')} added, ${changes.identities.removed.length} removed; ` +
      `${counted(count('first-use'), 'service', 'services')} used for the first time, ${count('newly-unused')} newly unused, ${count('granted')} granted, ${count('revoked')} revoked.`,
  ];
  // The accounts not compared: their identities are neither added nor removed.
  const label = (a: { accountId: string; name: string | null }) => (a.name ? `${a.name} (${a.accountId})` : a.accountId);
  const notCompared = notComparedAccounts(accounts, previous?.accounts ?? [], unreadable ?? undefined);
  const named = (reason: NotCompared['reason']) => notCompared.filter((n) => n.reason === reason).map((n) => label(accounts.find((a) => a.accountId === n.accountId)!));
  const [notNow, notThen, unread] = [named('not-audited-now'), named('not-audited'), named('unreadable')];
  if (notNow.length > 0) lines.push(`  Not audited in this run, so not compared: ${notNow.join(', ')}.`);
  if (previous === null) {
    lines.push(`  The summary of run ${changes.previousRunId} cannot be read: which accounts were compared is not known here.`);
  } else {
    if (notThen.length > 0) lines.push(`  Not audited in run ${changes.previousRunId}, so not compared: ${notThen.join(', ')}.`);
    if (unread.length > 0) lines.push(`  Reports of run ${changes.previousRunId} unreadable, so not compared: ${unread.join(', ')}.`);
    if (unreadable === null) {
      lines.push(`  Whether run ${changes.previousRunId}'s reports of each account could be read is not known here (this run's working files cannot be read); the run's HTML page says.`);
    }
  }
  const list = (title: string, arns: readonly string[]) => (arns.length === 0 ? [] : ['', `${title} (${arns.length}):`, ...arns.map((arn) => `  ${arn}`)]);
  lines.push(
    ...list('First uses of watched services', changes.watched.map((w) => `${w.arn}  used ${w.serviceNamespace} (${day(w.lastAuthenticated)})`)),
    ...list('Identities added', changes.identities.added),
    ...list('Identities removed', changes.identities.removed),
  );
  if (changes.services.length > 0) {
    const rows = [...changes.services].sort(byKind);
    const width = Math.max(7, ...rows.map((c) => c.serviceNamespace.length));
    lines.push('', `${'CHANGE'.padEnd(14)}${'SERVICE'.padEnd(width + 2)}${'LAST USED'.padEnd(12)}${'BEFORE'.padEnd(12)}IDENTITY`);
    for (const c of rows) {
      lines.push(`${c.change.padEnd(14)}${c.serviceNamespace.padEnd(width + 2)}${day(c.lastAuthenticated).padEnd(12)}${day(c.previousLastAuthenticated).padEnd(12)}${c.arn}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function byKind(a: ServiceChange, b: ServiceChange): number {
  return KIND_ORDER.indexOf(a.change) - KIND_ORDER.indexOf(b.change) || (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0) || (a.serviceNamespace < b.serviceNamespace ? -1 : 1);
}
