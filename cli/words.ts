/** How the commands put things into words: counts, accounts not audited, CSV cells. */
import type { AccountSummary } from '../lambda/core/model';

/** A count with its noun, in the singular for one: "1 account", "2 accounts", "1 entity", "3 entities". */
export const counted = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** A CSV cell (RFC 4180): quoted when it holds a quote, a comma or a line break. */
export const csvCell = (v: string | number): string => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));

/**
 * An account that was not audited, as the terminal shows it: its status and code and, for one that
 * failed, what it failed with (STS's message names the role it could not assume), indented below.
 */
export function notAuditedLines(a: AccountSummary, lead: string): string[] {
  const line = `${lead}${a.accountId}${a.name ? ` (${a.name})` : ''} ${a.status}${a.code ? `: ${a.code}` : ''}`;
  const indent = ' '.repeat(lead.length - lead.trimStart().length + 2);
  return a.status === 'failed' && a.message ? [line, `${indent}${a.message}`] : [line];
}
