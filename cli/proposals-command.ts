/**
 * `iam-access-audit proposals`: a run's least-privilege proposals, as a table, JSON, or a patch of each
 * policy's document; `--id ID --format policy` prints one proposed document alone, ready for
 * `aws iam create-policy-version` or `put-role-policy`. The project never applies a proposal.
 */
import { createTwoFilesPatch } from 'diff';
import { readTemplateProposals } from '../lambda/core/html/run-page';
import { sharedMemberOf } from '../lambda/core/shared-identities';
import { catalogLagOf, catalogLagText, type CatalogLag, type ProposalIndex, type SameSince, type TemplateProposalsFile } from '../lambda/core/propose';
import type { Change, Proposal } from '../lambda/core/proposals';
import { keys, PROPOSAL_ACTIONS, type RunSummary } from '../lambda/core/model';
import { sharedActionSpace, type PolicyDocument } from '../lambda/core/policy';
import { accountsOfRun, readRunReports } from '../lambda/core/run-reader';
import { identityAccounts, proposeSharedFrom, templateOf, type TemplateTarget } from '../lambda/core/shared-proposals';
import { getJson, mapConcurrently, NotFound, type ReportStore } from '../lambda/core/store';
import { numberFlag, parseFlags, UsageError } from './flags';
import { RUN_LOCATION_FLAGS, runLocationFromFlags, withRun } from './run-location';
import { counted } from './words';

export const PROPOSALS_USAGE = `iam-access-audit proposals [--bucket B | --out DIR] [--run ID | latest] [--account ID]
    [--action trim|remove|replace|review] [--again | --runs N] [--format table|json|patch]
    [--id ID --format policy]
iam-access-audit proposals --shared [--bucket B | --out DIR] [--run ID | latest]
    [--action trim|remove|replace|review] [--again | --runs N] [--format table|json|patch]
    [--id ID --format policy]

  A run's least-privilege proposals: for each policy that grants something unused, the change that
  removes only that, proven never broader than the policy and never narrower than its use.
  --again             only the proposals the run before (the one the run's changes compare with) made
                      the same: the same policy, action, cut and documents. IAM shows a use some four
                      hours late: a proposal two nights made is the safer one to apply.
  --runs N            only the proposals made the same by N runs in a row or more, this one and the
                      runs before it (--again is --runs 2); the table's RUNS column says how many.
  --format patch      a unified diff of each policy's document, current to proposed
  --id ID             one proposal; with --format policy, its proposed document alone, ready for
                      aws iam create-policy-version --set-as-default --policy-document file://...
  --shared            for a run of several accounts, the proposals for templates: a policy that one
                      identity (one type, path and name) holds in several accounts, as a StackSet makes
                      it, cut by what no account used (ids t-...). Made only where every account has a
                      report of the identity and a proposal for the policy, and its document is the same
                      in all; --format json says why any other is not proposed.
  Reads the bucket B (with the standard AWS settings) or a local run's directory (default ./out).
  Nothing is ever applied: the project makes no IAM write.`;

const FORMATS = ['table', 'json', 'patch', 'policy'] as const;
type Format = (typeof FORMATS)[number];

export async function proposalsCommand(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags(args, {
    ...RUN_LOCATION_FLAGS,
    action: { type: 'string' },
    id: { type: 'string' },
    format: { type: 'string' },
    shared: { type: 'boolean' },
    again: { type: 'boolean' },
    runs: { type: 'string' },
  });
  if (flags.again && flags.runs !== undefined) throw new UsageError('--again is --runs 2: give one of them');
  const runs = flags.again ? 2 : numberFlag('runs', flags.runs, { integer: true, min: 2, max: 10_000 });
  const format = (flags.format ?? (flags.id ? 'json' : 'table')) as Format;
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}, got "${flags.format}"`);
  if (format === 'policy' && flags.id === undefined) throw new UsageError('--format policy needs --id ID: it prints one proposed document');
  if (flags.action !== undefined && !(PROPOSAL_ACTIONS as readonly string[]).includes(flags.action)) throw new UsageError(`--action must be one of ${PROPOSAL_ACTIONS.join(', ')}, got "${flags.action}"`);
  if (flags.shared) {
    if (flags.account !== undefined) throw new UsageError('--account does not apply to --shared: a template is in several accounts');
    if (flags.id !== undefined && !/^t-[0-9a-f]{16}$/.test(flags.id)) throw new UsageError(`--id with --shared must be a template proposal id such as t-0123456789abcdef, got "${flags.id}"`);
  } else if (flags.id !== undefined && !/^p-[0-9a-f]{16}$/.test(flags.id)) {
    throw new UsageError(`--id must be a proposal id such as p-0123456789abcdef${/^t-/.test(flags.id) ? ' (a t- id is a template\'s: add --shared)' : ''}, got "${flags.id}"`);
  }

  const location = runLocationFromFlags(flags);
  const { store, account } = location;
  return withRun(location, async (summary) => {
    accountsOfRun(summary, account);
    let index: ProposalIndex;
    try {
      index = await getJson<ProposalIndex>(store, keys.proposalsIndex(summary.runId));
    } catch (err) {
      if (err instanceof NotFound) throw new UsageError(`run ${summary.runId} has no proposals in ${store.location}`);
      throw err;
    }
    if (flags.shared) {
      const shared = await sharedProposalsOfRun(store, summary, index);
      const found = shared.proposals.filter((p) => (flags.action === undefined || p.action === flags.action) && (flags.id === undefined || p.templateId === flags.id));
      if (flags.id !== undefined && found.length === 0) throw new UsageError(`run ${summary.runId} has no template proposal ${flags.id}`);
      const same = runs === undefined ? null : { runs, before: runBefore(summary.runId, shared.previousRunId, 'template proposals') };
      const selected = madeTheSame(found, same, flags.id, 'template proposal');
      const lag = catalogLagOf({ catalogVersion: index.catalogVersion, proposals: selected.map((p) => ({ action: p.action, removedActions: p.removedActions.length })) }, summary.runDate);
      out.write(renderTemplates(format, summary, { ...shared, proposals: selected }, flags.id !== undefined, same, lag));
      return 0;
    }
    const entries = index.proposals.filter(
      (p) => (account === undefined || p.accountId === account) && (flags.action === undefined || p.action === flags.action) && (flags.id === undefined || p.proposalId === flags.id),
    );
    if (flags.id !== undefined && entries.length === 0) throw new UsageError(`run ${summary.runId} has no proposal ${flags.id}`);
    const same = runs === undefined ? null : { runs, before: runBefore(summary.runId, index.previousRunId, 'proposals') };
    const selected = madeTheSame(entries, same, flags.id, 'proposal');
    const proposals = await mapConcurrently(selected, 16, (e) => getJson<Proposal>(store, e.key));
    out.write(render(format, summary.runId, proposals, index, same, catalogLagOf({ catalogVersion: index.catalogVersion, proposals: selected }, summary.runDate)));
    return 0;
  });
}

/** What `--again` and `--runs N` select by: proposals made the same by N runs in a row, the run before named. */
interface Same {
  readonly runs: number;
  readonly before: string;
}

/** The run before, whose proposals (or template proposals) the run's were compared with, or why there is none to compare with. */
function runBefore(runId: string, previousRunId: string | null | undefined, what: string): string {
  if (previousRunId === undefined) throw new UsageError(`run ${runId} was made before the project kept which runs made a proposal the same (2026-12-08): --again and --runs need a run since`);
  if (previousRunId === null) throw new UsageError(`run ${runId} has no run before it to compare with (no COMPLETED run before it made ${what}): --again and --runs need one`);
  return previousRunId;
}

/**
 * The proposals (or template proposals) `same` selects: those made the same by at least its runs in a
 * row. Each has its runs: `runBefore` refuses a run that did not count them.
 */
function madeTheSame<T extends { readonly sameSince?: SameSince }>(made: readonly T[], same: Same | null, id: string | undefined, what: string): readonly T[] {
  if (same === null) return made;
  const kept = made.filter((p) => p.sameSince!.runs >= same.runs);
  if (id !== undefined && kept.length === 0) throw new UsageError(`${madeBy(same)} did not make ${what} ${id} the same`);
  return kept;
}

/** The runs that must have made a proposal the same, in words. */
const madeBy = (same: Same): string => (same.runs === 2 ? `the run before, ${same.before},` : `the ${same.runs - 1} runs before this one (the last ${same.before})`);

/** What a table's head adds for the proposals `same` selects: nothing without it. */
const selectedBy = (same: Same | null): string => (same === null ? '' : ` that ${madeBy(same)} made the same`);

function render(format: Format, runId: string, proposals: readonly Proposal[], index: ProposalIndex, same: Same | null, lag: CatalogLag | null): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(proposals.length === 1 ? proposals[0] : proposals, null, 2)}\n`;
    case 'policy': {
      const proposed = proposals[0].proposed;
      if (!proposed) throw new UsageError(`proposal ${proposals[0].proposalId} is a ${proposals[0].action}: it proposes no document`);
      return `${JSON.stringify(proposed, null, 2)}\n`;
    }
    case 'patch':
      return proposals.map(patchOf).join('');
    case 'table':
      return table(runId, proposals, index, same, lag);
  }
}

function titleOf(p: Proposal): string {
  const where = p.target.policyArn ?? `${p.target.owner?.arn} inline ${p.target.policyName}`;
  return `${p.proposalId} ${p.action} ${p.target.kind} ${where}`;
}

/** A unified diff of the policy's document, current to proposed (to nothing when removed), with the reasons. */
export function patchOf(p: Proposal): string {
  return diffOf(p, p.target.policyArn ?? `${p.target.owner?.arn}/${p.target.policyName}`, [
    `# ${titleOf(p)}`,
    `# measured by the report of ${p.basis.reportOf} (${p.basis.granularity}, unused since ${p.basis.observedSince.slice(0, 10)})`,
  ]);
}

/** The diff of a change, under its header and what it removes and why. */
function diffOf(p: Change & { readonly current: PolicyDocument }, name: string, head: readonly string[]): string {
  const header = [
    ...head,
    ...(p.removedServices.length > 0 ? [`# removes services: ${p.removedServices.join(' ')}`] : []),
    ...(p.removedActions.length > 0 ? [`# removes tracked actions: ${p.removedActions.join(' ')}`] : []),
    ...p.notes.map((n) => `# ${n}`),
  ];
  if (p.action === 'review') return `${header.join('\n')}\n# no change proposed: review by hand\n\n`;
  const current = `${JSON.stringify(p.current, null, 2)}\n`;
  const proposed = p.proposed ? `${JSON.stringify(p.proposed, null, 2)}\n` : '';
  const diff = createTwoFilesPatch(`a/${name}`, p.proposed ? `b/${name}` : '/dev/null', current, proposed, 'current', p.action === 'replace' ? 'proposed customer managed policy' : 'proposed', { context: 3 });
  return `${header.join('\n')}\n${diff}\n`;
}

/** What a proposal takes away: services, and tracked actions of services kept. */
const removesOf = (p: Pick<Change, 'removedServices' | 'removedActions'>): number => p.removedServices.length + p.removedActions.length;

/**
 * The table, largest cut first (as `report` shows the worst identity first); reviews, which cut nothing,
 * last. RUNS: how many runs in a row made the proposal the same, this one included.
 */
function table(runId: string, proposals: readonly Proposal[], index: ProposalIndex, same: Same | null, lag: CatalogLag | null): string {
  const counts = PROPOSAL_ACTIONS.map((a) => `${proposals.filter((p) => p.action === a).length} ${a}`).join(', ');
  const lines = [`Run ${runId}: ${counted(proposals.length, 'proposal')}${selectedBy(same)} (${counts}); nothing is applied. Largest cut first.`, ''];
  const width = Math.min(56, Math.max(10, ...proposals.map((p) => p.target.policyName.length)));
  const runsOf = new Map(index.proposals.map((e) => [e.proposalId, e.sameSince?.runs]));
  lines.push(`${'ID'.padEnd(20)}${'ACTION'.padEnd(9)}${'KIND'.padEnd(24)}${'POLICY'.padEnd(width + 2)}${'REMOVES'.padStart(8)}${'RUNS'.padStart(6)}  OWNER / NOTE`);
  const isReview = (p: Proposal) => (p.action === 'review' ? 1 : 0);
  const ordered = [...proposals].sort((a, b) => isReview(a) - isReview(b) || removesOf(b) - removesOf(a) || (a.proposalId < b.proposalId ? -1 : a.proposalId > b.proposalId ? 1 : 0));
  for (const p of ordered) {
    const name = p.target.policyName.length > width ? `${p.target.policyName.slice(0, width - 1)}…` : p.target.policyName;
    const removes = removesOf(p);
    const note = p.action === 'review' ? p.notes[0] : (p.target.owner?.arn ?? p.target.policyArn ?? '');
    // A run from before the runs were counted shows none.
    lines.push(`${p.proposalId.padEnd(20)}${p.action.padEnd(9)}${p.target.kind.padEnd(24)}${name.padEnd(width + 2)}${String(removes).padStart(8)}${String(runsOf.get(p.proposalId) ?? '-').padStart(6)}  ${note}`);
  }
  if (index.accountsWithoutDetails.length > 0) lines.push('', `No proposals for ${index.accountsWithoutDetails.join(', ')}: their authorization details could not be read.`);
  if (lag) lines.push('', catalogLagText(lag));
  return `${lines.join('\n')}\n`;
}

/** A run's template proposals, and the run before they were compared with (absent for a run from before they were). */
type RunTemplates = Pick<TemplateProposalsFile, 'proposals' | 'notProposed' | 'previousRunId'>;

/**
 * The run's template proposals: the file Propose wrote or, for a run from before it wrote one, the same
 * worked out here, every reported, failed or skipped identity gathered by type, path and name to know
 * the accounts each template's identity is in and where it has no report (as Propose knows them from
 * its listing).
 */
async function sharedProposalsOfRun(store: ReportStore, summary: RunSummary, index: ProposalIndex): Promise<RunTemplates> {
  const written = await readTemplateProposals(store, summary.runId);
  if (written) return written;
  const reports = await readRunReports(store, summary);
  const accountsOf = identityAccounts(reports.map((r) => sharedMemberOf(r.entity, r.accountId)), [...summary.failures, ...summary.skipped]);
  // Only the proposals of an identity in several accounts are read: the others are of no template.
  const entries = index.proposals.filter((e) => accountsOf(templateOf(e).identity) !== null);
  const proposals = await mapConcurrently(entries, 16, (e) => getJson<Proposal>(store, e.key));
  return proposeSharedFrom(proposals, accountsOf, sharedActionSpace());
}

function renderTemplates(format: Format, summary: RunSummary, shared: RunTemplates, one: boolean, same: Same | null, lag: CatalogLag | null): string {
  const { proposals, notProposed } = shared;
  const notAudited = summary.accounts.filter((a) => a.status !== 'audited');
  switch (format) {
    case 'json':
      // The accounts not audited may hold the templates' identities too: a tool should know which.
      return `${JSON.stringify(one ? proposals[0] : { runId: summary.runId, accountsNotAudited: notAudited.map((a) => a.accountId), proposals, notProposed }, null, 2)}\n`;
    case 'policy': {
      const [p] = proposals;
      if (!p.proposed) throw new UsageError(`template proposal ${p.templateId} is a ${p.action}: it proposes no document`);
      return `${JSON.stringify(p.proposed, null, 2)}\n`;
    }
    case 'patch':
      return proposals
        .map((p) =>
          diffOf(p, p.target.kind === 'managed-policy' ? p.target.identity : `${p.target.identity}/${p.target.policyName}`, [
            `# ${p.templateId} ${p.action} ${p.target.kind} ${templateName(p.target)}`,
            `# for the template of ${counted(p.accounts.length, 'account')}: ${p.accounts.map((a) => a.accountId).join(' ')}; it keeps every service and tracked action some account used`,
          ]),
        )
        .join('');
    case 'table': {
      const counts = PROPOSAL_ACTIONS.map((a) => `${proposals.filter((p) => p.action === a).length} ${a}`).join(', ');
      const lines = [
        `Run ${summary.runId}: ${counted(proposals.length, 'template proposal')}${selectedBy(same)} (${counts}): each a policy one identity holds in several accounts, cut by what no account used; nothing is applied. Largest cut first.`,
      ];
      if (summary.accounts.length - notAudited.length < 2) return `${lines[0]}\nOne account was audited: no identity, so no policy, can be in several.\n`;
      if (notAudited.length > 0) lines.push(`  Accounts not audited (${notAudited.map((a) => a.accountId).join(', ')}) may hold these identities too, with their own use: the template's owner should look there before cutting.`);
      lines.push('');
      const width = Math.min(56, Math.max(10, ...proposals.map((p) => p.target.policyName.length)));
      lines.push(`${'ID'.padEnd(20)}${'ACTION'.padEnd(9)}${'KIND'.padEnd(24)}${'POLICY'.padEnd(width + 2)}${'ACCOUNTS'.padStart(8)}${'REMOVES'.padStart(9)}${'RUNS'.padStart(6)}  IDENTITY / NOTE`);
      for (const p of proposals) {
        const name = p.target.policyName.length > width ? `${p.target.policyName.slice(0, width - 1)}…` : p.target.policyName;
        const note = p.action === 'review' ? p.notes[0] : p.target.identity;
        lines.push(`${p.templateId.padEnd(20)}${p.action.padEnd(9)}${p.target.kind.padEnd(24)}${name.padEnd(width + 2)}${String(p.accounts.length).padStart(8)}${String(removesOf(p)).padStart(9)}${String(p.sameSince?.runs ?? '-').padStart(6)}  ${note}`);
      }
      if (notProposed.length > 0) lines.push('', `${counted(notProposed.length, 'other policy', 'other policies')} of identities in several accounts ${notProposed.length === 1 ? 'has' : 'have'} proposals of their accounts but none for the template: --format json says why for each.`);
      if (lag) lines.push('', catalogLagText(lag));
      return `${lines.join('\n')}\n`;
    }
  }
}

/** A template's policy, as its table names it. */
const templateName = (t: TemplateTarget): string => (t.kind === 'managed-policy' ? t.identity : `${t.identity} ${t.kind === 'inline-policy' ? 'inline' : 'attached'} ${t.policyArn ?? t.policyName}`);
