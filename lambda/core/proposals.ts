/**
 * Least-privilege proposals: for each policy that grants something unused, the change that removes only
 * what its measuring report shows unused, proven never broader than the policy it replaces and never
 * narrower than use. The rules are small pure functions; `proposeForAccount` applies them to an account.
 *
 * Which report measures which policy: a customer managed policy its own report (the use of every entity
 * it is attached to), an inline policy its owner's report, an AWS managed attachment the attached
 * entity's report. A group's report counts its members' use.
 */
import { createHash } from 'node:crypto';
import type { AuthorizationDetails, IdentityDetails, ManagedPolicyDetails, PolicyVersionRef } from './authorization';
import { catalogDateOf, type Catalog } from './catalog';
import { accountOfArn, type EntityReport, type ProposalAction } from './model';
import { globToRegExp, listOf, POLICY_SIZE_LIMITS, policySize, statementsOf, type ActionSpace, type PolicyDocument, type PolicyStatement } from './policy';
import { hasUntrackedCalls, isCatalogAction, trackedActionKeys, untrackedCallKeys } from './tracked-actions';

export type TargetKind = 'managed-policy' | 'inline-policy' | 'aws-managed-attachment';

export interface Proposal {
  readonly schemaVersion: 1;
  readonly runId: string;
  readonly accountId: string;
  readonly proposalId: string;
  readonly target: {
    readonly kind: TargetKind;
    readonly policyArn: string | null;
    readonly policyName: string;
    readonly owner: { readonly arn: string; readonly type: 'user' | 'group' | 'role' } | null;
  };
  readonly basis: { readonly reportOf: string; readonly unusedAfterDays: number; readonly granularity: string; readonly observedSince: string };
  readonly action: ProposalAction;
  readonly removedServices: readonly string[];
  readonly removedActions: readonly string[];
  readonly keptServices: readonly string[];
  readonly current: PolicyDocument;
  readonly proposed: PolicyDocument | null;
  readonly notes: readonly string[];
}

/** What a report says was used, in the window its job measured. */
export interface Usage {
  readonly usedServices: ReadonlySet<string>;
  /** With ACTION_LEVEL data: for each used tracked service, its tracked actions not used (lower case). */
  readonly unusedTrackedActions: ReadonlyMap<string, ReadonlySet<string>> | null;
  /**
   * With ACTION_LEVEL data: used tracked services whose use no tracked action shows and no untracked
   * call explains, kept whole (not trimmed action by action).
   */
  readonly unexplained?: readonly string[];
  /**
   * With ACTION_LEVEL data: used tracked services kept whole because IAM reports actions of them used in
   * the window that the action catalogue does not know (IAM's spelling): the catalogue is older than
   * IAM's data, and a trim written from it would drop them.
   */
  readonly unknownUsed?: ReadonlyMap<string, readonly string[]>;
}

export const DAY_MS = 86_400_000;

/** The bundled catalogue as a note names it: its version and, where the version says, the day of its data. */
function catalogNamed(catalog: Catalog): string {
  const date = catalogDateOf(catalog.version);
  return date === null ? catalog.version : `${catalog.version}, data of ${date}`;
}

/** When the report's window began: `unusedAfterDays` before its job was made. */
function windowStartOf(report: EntityReport): number {
  return Date.parse(report.job.createdAt) - report.findings.unusedAfterDays * DAY_MS;
}

/**
 * The use a report shows: services used within its window; with ACTION_LEVEL data, the tracked actions
 * not used. `grantsUntrackedCall`, when the report's entity is known, says whether anything grants it an
 * untracked call (a data event) of a service: a use no tracked action shows, with none granted, was made
 * by an action IAM does not report.
 */
export function usageOf(report: EntityReport, catalog: Catalog, grantsUntrackedCall?: (service: string) => boolean): Usage {
  const unused = new Set(report.findings.unusedServices);
  const usedServices = new Set(report.services.map((s) => s.serviceNamespace).filter((s) => !unused.has(s)));
  if (report.granularity !== 'ACTION_LEVEL') return { usedServices, unusedTrackedActions: null };
  const windowStart = windowStartOf(report);
  const unusedTrackedActions = new Map<string, Set<string>>();
  const unexplained: string[] = [];
  const unknownUsed = new Map<string, string[]>();
  for (const s of report.services) {
    if (!usedServices.has(s.serviceNamespace)) continue;
    const tracked = trackedActionKeys(catalog, s.serviceNamespace);
    if (tracked.size === 0) continue;
    const usedActions = s.trackedActions.filter((a) => a.lastAccessedTime !== null && Date.parse(a.lastAccessedTime) >= windowStart);
    // A trim lists the catalogue's actions in place of a wildcard: an action AWS added since the catalogue
    // was bundled, used, would be lost. Where IAM names one, the service is not cut action by action.
    const unknown = usedActions.filter((a) => !isCatalogAction(catalog, s.serviceNamespace, a.actionName)).map((a) => `${s.serviceNamespace}:${a.actionName}`);
    if (unknown.length > 0) {
      unknownUsed.set(s.serviceNamespace, unknown);
      continue;
    }
    const used = new Set(usedActions.map((a) => `${s.serviceNamespace}:${a.actionName.toLowerCase()}`));
    // IAM says the service was used in the window and shows no tracked action that was. With no untracked
    // call to account for it, the action used is one IAM does not track, whatever the table says (or
    // IAM's two kinds of data disagree): which one is unknown, so none of the service's actions is cut.
    if (used.size === 0 && (!hasUntrackedCalls(s.serviceNamespace) || grantsUntrackedCall?.(s.serviceNamespace) === false)) {
      unexplained.push(s.serviceNamespace);
      continue;
    }
    unusedTrackedActions.set(s.serviceNamespace, new Set([...tracked].filter((a) => !used.has(a))));
  }
  return { usedServices, unusedTrackedActions, ...(unexplained.length > 0 ? { unexplained } : {}), ...(unknownUsed.size > 0 ? { unknownUsed } : {}) };
}

export interface Trim {
  /** The trimmed document, or null when nothing it allows stays (and it denies nothing). */
  readonly document: PolicyDocument | null;
  /** For each statement of `document`, the index of the current statement it comes from. */
  readonly sources: readonly number[];
  readonly removedServices: readonly string[];
  readonly removedActions: readonly string[];
  readonly keptServices: readonly string[];
  /** Why the document cannot be trimmed safely, when it cannot. */
  readonly cannot?: string;
  /**
   * Wildcards written out from the catalogue less their unused tracked actions (ACTION_LEVEL), each with
   * the narrower wildcards that stand for some of its actions (`writeOut`).
   */
  readonly writtenOut?: ReadonlyMap<string, readonly string[]>;
}

/**
 * Rule "trim": Allow statements lose the actions of unused services; with ACTION_LEVEL data, also the
 * unused tracked actions of used services (never an untracked one). `*` becomes the used services'
 * `service:*`. Deny statements, Resource, NotResource and Condition are kept as they are. NotAction or
 * NotResource with Allow cannot be trimmed by removing actions: rule "review".
 */
export function trimDocument(current: PolicyDocument, usage: Usage, space: ActionSpace, actionLevel = true): Trim {
  const statements = statementsOf(current);
  const granted = new Set<string>();
  const kept: PolicyStatement[] = [];
  const sources: number[] = [];
  const removedActions = new Set<string>();
  const writtenOut = new Map<string, string[]>();
  const newerUsed = [...usage.usedServices].filter((s) => !space.knowsService(s));
  for (const [index, statement] of statements.entries()) {
    if (statement.Effect === 'Deny') {
      kept.push(statement);
      sources.push(index);
      continue;
    }
    if (statement.NotAction !== undefined) return cannot('an Allow statement with NotAction grants every action it does not name: removing actions cannot shrink it');
    if (statement.NotResource !== undefined) return cannot('an Allow statement with NotResource applies to every resource it does not name: review it by hand');
    const actions: string[] = [];
    for (const pattern of listOf(statement.Action)) {
      const [servicePart, actionPart] = partsOf(pattern);
      // A used service the catalogue does not know (AWS launched it since) that a wildcard's service part
      // names: what the pattern grants in it is not known, so its part of the pattern is kept.
      const newer = /[*?]/.test(servicePart) ? newerUsed.filter((s) => globToRegExp(servicePart).test(s)) : [];
      const services = [...space.servicesMatched(pattern), ...newer];
      if (services.length === 0) {
        // An action the catalogue does not know (newer than it, or misspelt): nothing can be proven about it, so it stays.
        actions.push(pattern);
        continue;
      }
      for (const s of services) granted.add(s);
      const used = services.filter((s) => usage.usedServices.has(s));
      if (used.length === 0) continue;
      // A pattern across services keeps only the used ones.
      const perService = used.length === services.length && !/[*?]/.test(servicePart) ? [pattern] : used.map((s) => `${s}:${actionPart}`);
      for (const p of perService) {
        const service = p.split(':')[0].toLowerCase();
        const unusedTracked = actionLevel ? usage.unusedTrackedActions?.get(service) : undefined;
        const matched = space.expand(p);
        const dropping = unusedTracked ? [...matched].filter((a) => unusedTracked.has(a)) : [];
        if (dropping.length === 0) {
          actions.push(p);
        } else {
          for (const a of dropping) removedActions.add(a);
          const written = writeOut(p, [...matched].filter((a) => !unusedTracked!.has(a)), dropping, space);
          if (/[*?]/.test(p)) writtenOut.set(p, written.filter((w) => w.endsWith('*')));
          actions.push(...written);
        }
      }
    }
    if (actions.length === 0) continue;
    kept.push({ ...statement, Action: dedupe(actions) });
    sources.push(index);
  }
  const keptServices = [...granted].filter((s) => usage.usedServices.has(s)).sort();
  const removedServices = [...granted].filter((s) => !usage.usedServices.has(s)).sort();
  const allows = kept.some((s) => s.Effect === 'Allow');
  const document = !allows && !kept.some((s) => s.Effect === 'Deny') ? null : { ...current, Statement: kept };
  return {
    document,
    sources,
    removedServices,
    keptServices,
    removedActions: [...removedActions].map((a) => space.spelling(a)).sort(),
    ...(writtenOut.size > 0 ? { writtenOut } : {}),
  };

  function cannot(reason: string): Trim {
    return { document: current, sources: statements.map((_, i) => i), removedServices: [], removedActions: [], keptServices: [], cannot: reason };
  }
}

/**
 * The kept actions of a pattern some of whose actions are dropped. A wildcard `service:*` or
 * `service:Prefix*` keeps each untracked action under the shortest of its name's word prefixes that no
 * dropped action starts with (`s3:GetObject*`, `lambda:Invoke*`): a sub-wildcard of the pattern, shorter
 * to read and to store, under which what AWS adds later stays allowed as the pattern allowed it. A used
 * tracked action, an action no such prefix frees, and the actions of any other pattern are written by
 * their names. Actions are lower-case keys.
 */
function writeOut(pattern: string, kept: readonly string[], dropped: readonly string[], space: ActionSpace): string[] {
  const [, actionPart] = partsOf(pattern);
  const literal = /^[^*?]*\*$/.test(actionPart) ? actionPart.slice(0, -1).toLowerCase() : null;
  if (literal === null) return kept.map((a) => space.spelling(a));
  const droppedNames = dropped.map((a) => a.slice(a.indexOf(':') + 1)).sort();
  // The first dropped name not before `prefix` in sorted order is the one that starts with it, if any does.
  const droppedUnder = (prefix: string) => {
    let [low, high] = [0, droppedNames.length];
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (droppedNames[mid] < prefix) low = mid + 1;
      else high = mid;
    }
    return low < droppedNames.length && droppedNames[low].startsWith(prefix);
  };
  const written = new Set<string>();
  for (const action of kept) {
    const spelt = space.spelling(action);
    // A tracked action kept was used, as IAM says of that action alone: it is written by its name.
    if (trackedActionKeys(space.catalog, action.slice(0, action.indexOf(':'))).has(action)) {
      written.add(spelt);
      continue;
    }
    const colon = spelt.indexOf(':');
    const name = spelt.slice(colon + 1);
    let end = 0;
    let chosen = spelt;
    for (const word of name.match(WORDS) ?? [name]) {
      end += word.length;
      const prefix = name.slice(0, end).toLowerCase();
      if (end === name.length) break;
      if (prefix.length >= literal.length && !droppedUnder(prefix)) {
        chosen = `${spelt.slice(0, colon + 1)}${name.slice(0, end)}*`;
        break;
      }
    }
    written.add(chosen);
  }
  // An action written by its name that a chosen prefix covers needs no line of its own.
  const prefixes = [...written].filter((w) => w.endsWith('*')).map((w) => w.slice(0, -1).toLowerCase());
  return [...written].filter((w) => w.endsWith('*') || !prefixes.some((p) => w.toLowerCase().startsWith(p)));
}

/** The words of an action's name: `GetSAMLProvider` is Get, SAML, Provider. */
const WORDS = /[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+|[^A-Za-z0-9]+/g;

/** A pattern's service and action parts, `*` being both. */
function partsOf(pattern: string): [service: string, action: string] {
  const [service, action = '*'] = pattern === '*' ? ['*', '*'] : pattern.split(':');
  return [service, action];
}

function dedupe(actions: string[]): string | string[] {
  const unique = [...new Set(actions)];
  return unique.length === 1 ? unique[0] : unique;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The proof that a proposal is never broader: every Deny statement is kept unchanged, and each Allow
 * statement of the proposal comes from one of the current policy with the same Resource, NotResource,
 * Condition and Principal and a set of actions, expanded over the catalogue, that only shrank; and each
 * of its wildcards lies inside a pattern of that statement as written, for the actions AWS adds later.
 */
export function proveNeverBroader(current: PolicyDocument, trim: Trim, space: ActionSpace): string | null {
  const before = statementsOf(current);
  const after = trim.document ? statementsOf(trim.document) : [];
  const denies = before.filter((s) => s.Effect === 'Deny');
  const keptDenies = after.filter((s) => s.Effect === 'Deny');
  if (!same(denies, keptDenies)) return 'the Deny statements would change';
  for (const [i, statement] of after.entries()) {
    const source = before[trim.sources[i]];
    if (!source || source.Effect !== statement.Effect) return `statement ${i} has no source statement of the same effect`;
    for (const key of ['Resource', 'NotResource', 'Condition', 'Principal', 'NotPrincipal', 'Sid'] as const) {
      if (!same(source[key], statement[key])) return `statement ${i} would change its ${key}`;
    }
    if (statement.Effect === 'Deny') continue;
    const allowed = space.grants(source);
    for (const action of actionsToCheck(statement, source, space)) if (!allowed(action)) return `statement ${i} would allow ${space.spelling(action)}, which it does not allow now`;
    const beyond = wildcardBeyond(statement, source);
    if (beyond) return `statement ${i} would allow ${beyond}, which no pattern of it now contains (an action AWS adds later might match one and not the other)`;
  }
  return null;
}

/**
 * A wildcard of an Allow statement that no pattern of its source contains as written: the catalogue's
 * actions are proven above, and this covers those AWS adds later.
 */
function wildcardBeyond(statement: PolicyStatement, source: PolicyStatement): string | undefined {
  if (statement.Action === undefined || source.Action === undefined) return undefined;
  const patterns = listOf(source.Action);
  return listOf(statement.Action).find((q) => /[*?]/.test(q) && !patterns.some((p) => containsPattern(p, q)));
}

/** The part of a pattern in one service (`s3:Get*` of `s3*:Get*` or `s3:*` of `*`), or null when it names none of it. */
function partIn(pattern: string, service: string): string | null {
  const [servicePart, actionPart] = partsOf(pattern);
  return globToRegExp(servicePart).test(service) ? `${service}:${actionPart}` : null;
}

/**
 * Whether pattern `p` matches every action `q` matches, for the wildcards a trim writes: `q` as `p` is
 * written, `q` in a service `p` names (`s3:Get*` in `s3*:Get*` or `*`), or `service:Prefix*` in
 * `service:Lit*` where Prefix starts with Lit.
 */
function containsPattern(p: string, q: string): boolean {
  const [pl, ql] = [p.toLowerCase(), q.toLowerCase()];
  if (pl === '*' || pl === ql) return true;
  const [pService, pAction = ''] = pl.split(':');
  const [qService, qAction = ''] = ql.split(':');
  if (/[*?]/.test(qService) || !globToRegExp(pService).test(qService)) return false;
  if (pAction === '*' || pAction === qAction) return true;
  const prefix = (a: string) => (/^[^*?]*\*$/.test(a) ? a.slice(0, -1) : null);
  const [pPrefix, qPrefix] = [prefix(pAction), prefix(qAction)];
  return pPrefix !== null && qPrefix !== null && qPrefix.startsWith(pPrefix);
}

/** Whether an Allow statement's Action names an action, any catalogue aside (NotAction: whether it leaves it out). */
function namedBy(statement: PolicyStatement, action: string): boolean {
  const matches = (patterns: string | readonly string[] | undefined) => listOf(patterns).some((p) => globToRegExp(p).test(action.toLowerCase()));
  return statement.Action !== undefined ? matches(statement.Action) : !matches(statement.NotAction);
}

/**
 * The actions of an Allow statement that need asking whether its source allows them. A pattern the
 * source's Action holds itself (IAM ignores case) is allowed whole, and so is every catalogue action
 * when the source holds `*`: only the other patterns' actions are asked, one by one.
 */
function* actionsToCheck(statement: PolicyStatement, source: PolicyStatement, space: ActionSpace): Iterable<string> {
  if (statement.Action === undefined || source.Action === undefined) {
    yield* space.eachGranted(statement);
    return;
  }
  const held = new Set(listOf(source.Action).map((p) => p.toLowerCase()));
  if (held.has('*')) return;
  for (const pattern of listOf(statement.Action)) if (!held.has(pattern.toLowerCase())) yield* space.expand(pattern);
}

/**
 * The proof that a proposal is never narrower than use: in every Allow statement, every action of a used
 * service stays allowed, but for the unused tracked actions ACTION_LEVEL data shows; a used service or
 * action the catalogue does not know, by the patterns as written.
 */
export function proveKeepsUse(current: PolicyDocument, trim: Trim, usage: Usage, space: ActionSpace): string | null {
  const after = trim.document ? statementsOf(trim.document) : [];
  const usedActions = [...usage.usedServices].reduce((n, s) => n + space.actionsOf(s).length, 0);
  for (const [index, statement] of statementsOf(current).entries()) {
    if (statement.Effect !== 'Allow') continue;
    const counterpart = trim.sources.indexOf(index);
    const keeps = counterpart >= 0 ? space.grants(after[counterpart]) : () => false;
    const lost = (action: string, service: string) =>
      !keeps(action) && !usage.unusedTrackedActions?.get(service)?.has(action)
        ? `${space.spelling(action)} of used service ${service} would no longer be allowed by statement ${index}`
        : null;
    // Used actions and services the catalogue does not know are asked of the patterns as written, as IAM matches them.
    for (const action of [...(usage.unknownUsed?.values() ?? [])].flat()) {
      if (namedBy(statement, action) && !(counterpart >= 0 && namedBy(after[counterpart], action))) return `${action}, used, would no longer be allowed by statement ${index}`;
    }
    for (const service of usage.usedServices) {
      if (space.knowsService(service) || statement.Action === undefined) continue;
      for (const part of listOf(statement.Action).flatMap((p) => partIn(p, service) ?? [])) {
        const keeps = counterpart >= 0 && listOf(after[counterpart].Action).some((q) => containsPattern(q, part));
        if (!keeps) return `${part} of used service ${service}, which the catalogue does not know, would no longer be allowed by statement ${index}`;
      }
    }
    // The same question either way round: over what the statement grants, or over the used services'
    // actions, whichever is fewer (a broad statement grants thousands; a narrow one a few).
    if (space.grantedCount(statement) <= usedActions) {
      for (const action of space.eachGranted(statement)) {
        const service = action.slice(0, action.indexOf(':'));
        const why = usage.usedServices.has(service) ? lost(action, service) : null;
        if (why) return why;
      }
    } else {
      const grants = space.grants(statement);
      for (const service of usage.usedServices) {
        for (const action of space.actionsOf(service)) {
          const why = grants(action) ? lost(action, service) : null;
          if (why) return why;
        }
      }
    }
  }
  return null;
}

export interface ProposalContext {
  readonly runId: string;
  readonly accountId: string;
  readonly space: ActionSpace;
  readonly catalog: Catalog;
}

export interface PolicyTarget {
  readonly kind: TargetKind;
  readonly policyArn: string | null;
  readonly policyName: string;
  readonly owner: { readonly arn: string; readonly type: 'user' | 'group' | 'role' } | null;
  /** The size limit the proposed document must meet. */
  readonly sizeLimit: number;
}

export function proposalId(accountId: string, target: Pick<PolicyTarget, 'kind' | 'policyArn' | 'policyName' | 'owner'>): string {
  return `p-${createHash('sha256').update([accountId, target.kind, target.policyArn ?? '', target.owner?.arn ?? '', target.policyName].join('|')).digest('hex').slice(0, 16)}`;
}

/**
 * What makes a proposal a review however its policy could be cut: `ownedElsewhere` (the identity's
 * policies are AWS's or a deploying service's to change, `ownedElsewhereOf`), `exempt` (the exemptions
 * setting), `tooNew` (the entity or policy is younger than the window). Each is the review's reason.
 */
export interface ReviewConditions {
  readonly ownedElsewhere?: string;
  readonly exempt?: string;
  readonly tooNew?: string;
}

/** The proposal for one policy measured by one report, or null when everything it grants is used. */
export function proposePolicy(
  context: ProposalContext,
  target: PolicyTarget,
  current: PolicyDocument,
  report: EntityReport,
  conditions: ReviewConditions = {},
  usage: Usage = usageOf(report, context.catalog),
): Proposal | null {
  const change = changeOf(target, current, usage, context.space, conditions);
  if (!change) return null;
  return {
    schemaVersion: 1,
    runId: context.runId,
    accountId: context.accountId,
    proposalId: proposalId(context.accountId, target),
    target: { kind: target.kind, policyArn: target.policyArn, policyName: target.policyName, owner: target.owner },
    basis: { reportOf: report.entity.arn, unusedAfterDays: report.findings.unusedAfterDays, granularity: report.granularity, observedSince: new Date(windowStartOf(report)).toISOString() },
    current,
    ...change,
  };
}

/** A review's reason (its first note), or null for a proposal that is not a review. */
export function reviewReason(p: Pick<Proposal, 'action' | 'notes'>): string | null {
  return p.action === 'review' ? (p.notes[0] ?? '') : null;
}

/**
 * What makes two runs' proposals for one policy the same, as a short hash: what the proposal does to the
 * policy (action, services and tracked actions removed, the document proposed) and the policy's document.
 * Its id already names the account, the policy and its owner; the notes and the report it was made from
 * may differ between runs that propose the same change.
 */
export function proposalDigest(p: Pick<Proposal, 'action' | 'removedServices' | 'removedActions' | 'current' | 'proposed'>): string {
  return createHash('sha256').update(JSON.stringify([p.action, p.removedServices, p.removedActions, p.current, p.proposed])).digest('hex').slice(0, 16);
}

/** What a proposal changes: its action, what it takes away and keeps, the document it proposes, and why. */
export type Change = Pick<Proposal, 'action' | 'removedServices' | 'removedActions' | 'keptServices' | 'proposed' | 'notes'>;

/**
 * The change a policy's use calls for, or null when everything it grants is used: trimmed, removed or
 * (an AWS managed policy mostly unused) replaced when that is proven never broader than the policy and
 * never narrower than the use; a review, with why, when it cannot be.
 */
export function changeOf(target: Pick<PolicyTarget, 'kind' | 'policyArn' | 'owner' | 'sizeLimit'>, current: PolicyDocument, usage: Usage, space: ActionSpace, conditions: ReviewConditions = {}): Change | null {
  const { ownedElsewhere, ...others } = conditions;
  const change = changeIn(target, current, usage, space, others);
  // What is another's to change is the change that would be proposed, for review: where nothing would be
  // proposed (an AWS managed policy mostly used), nothing is.
  return change && ownedElsewhere ? { ...change, action: 'review', proposed: null, notes: [ownedElsewhere] } : change;
}

function changeIn(target: Pick<PolicyTarget, 'kind' | 'policyArn' | 'owner' | 'sizeLimit'>, current: PolicyDocument, usage: Usage, space: ActionSpace, conditions: Omit<ReviewConditions, 'ownedElsewhere'>): Change | null {
  let trim = trimDocument(current, usage, space);
  const unchanged = !trim.cannot && trim.removedServices.length === 0 && trim.removedActions.length === 0;
  if (unchanged) return null;
  const review = (why: string): Change => ({ action: 'review', removedServices: trim.removedServices, removedActions: trim.removedActions, keptServices: trim.keptServices, proposed: null, notes: [why] });
  if (trim.cannot) return review(trim.cannot);
  if (conditions.exempt) return review(conditions.exempt);
  if (conditions.tooNew) return review(conditions.tooNew);
  const notes: string[] = [];
  if (trim.document && policySize(trim.document) > target.sizeLimit && trim.removedActions.length > 0) {
    // Naming every used action of a wildcard can outgrow IAM's limit: trim whole services only.
    trim = trimDocument(current, usage, space, false);
    notes.push(`listing every kept action would pass IAM's ${target.sizeLimit}-character limit; only unused services are removed`);
    if (trim.removedServices.length === 0) return review(notes[0]);
  }
  if (trim.document && policySize(trim.document) > target.sizeLimit) return review(`the proposed document would pass IAM's ${target.sizeLimit}-character limit`);
  const unproven = proveNeverBroader(current, trim, space) ?? proveKeepsUse(current, trim, usage, space);
  if (unproven) return review(`the proof failed: ${unproven}`);
  const granted = trim.removedServices.length + trim.keptServices.length;
  let action: ProposalAction = trim.document === null ? 'remove' : 'trim';
  if (target.kind === 'aws-managed-attachment' && action === 'trim') {
    // An AWS managed policy cannot be edited: when most of it is unused, replace it with a customer managed policy of the used part.
    if (trim.removedServices.length * 2 <= granted && trim.removedActions.length === 0) return null;
    action = 'replace';
    notes.push(`create a customer managed policy with the proposed document, attach it to ${target.owner?.arn}, then detach ${target.policyArn}`);
  }
  const keptWhole = (usage.unexplained ?? []).filter((s) => trim.keptServices.includes(s));
  if (keptWhole.length > 0) {
    notes.push(`${keptWhole.join(', ')}: used in the window by no action IAM reports one by one, so every action of ${keptWhole.length === 1 ? 'it' : 'them'} is kept`);
  }
  if (trim.writtenOut && trim.document) {
    const patterns = [...trim.writtenOut.keys()].join(', ');
    const prefixes = [...new Set([...trim.writtenOut.values()].flat())];
    notes.push(
      `${patterns} written out from the bundled action catalogue (${catalogNamed(space.catalog)}) less the unused actions: ` +
        (prefixes.length > 0 ? `an action newer than the catalogue is allowed only under a kept prefix (${prefixes.slice(0, 3).join(', ')}${prefixes.length > 3 ? ', ...' : ''})` : 'an action newer than the catalogue is not allowed'),
    );
  }
  const newer = trim.keptServices.filter((s) => !space.knowsService(s));
  if (newer.length > 0) {
    notes.push(`${newer.join(', ')}: used in the window, and unknown to the bundled action catalogue (${space.catalog.version}): kept as the current document grants ${newer.length === 1 ? 'it' : 'them'}`);
  }
  for (const [service, actions] of usage.unknownUsed ?? []) {
    if (!trim.keptServices.includes(service)) continue;
    notes.push(`${service}: IAM reports ${actions.join(', ')} used in the window, which the bundled action catalogue does not know (it is older than IAM's data), so every action of ${service} is kept`);
  }
  if (action === 'remove') notes.push(target.kind === 'aws-managed-attachment' || target.kind === 'managed-policy' ? 'nothing it grants was used: detach it' : 'nothing it grants was used: delete it');
  return { action, removedServices: trim.removedServices, removedActions: trim.removedActions, keptServices: trim.keptServices, proposed: trim.document, notes };
}

export interface Exemptions {
  /** Identities whose path starts with one of these. */
  readonly pathPrefixes: readonly string[];
  /** ARN globs (`*` any run of characters). */
  readonly arnPatterns: readonly string[];
  /** A tag key on users and roles. */
  readonly tagKey: string;
}

export const DEFAULT_EXEMPT_TAG_KEY = 'iam-access-audit:exempt';

/** Why an identity is exempt from proposals, or undefined. */
export function exemptionOf(identity: Pick<IdentityDetails, 'arn' | 'path' | 'tags'>, exemptions: Exemptions): string | undefined {
  const prefix = exemptions.pathPrefixes.find((p) => identity.path.startsWith(p));
  if (prefix) return `exempt: its path starts with ${prefix}`;
  const pattern = exemptions.arnPatterns.find((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\?]/g, '\\$&').replace(/\*/g, '.*')}$`).test(identity.arn));
  if (pattern) return `exempt: its ARN matches ${pattern}`;
  if (Object.hasOwn(identity.tags, exemptions.tagKey)) return `exempt: it is tagged ${exemptions.tagKey}`;
  return undefined;
}

const IDENTITY_CENTER_PATH = '/aws-reserved/sso.amazonaws.com/';
const IDENTITY_CENTER_PREFIX = 'AWSReservedSSO_';
const SERVICE_LINKED_PATH = '/aws-service-role/';

type DeployingRole = Pick<IdentityDetails, 'arn' | 'path' | 'name' | 'trustedServices' | 'trustedAwsPrincipals'>;

/** What a rule knows of the role's account beyond the role: its organization's management account, if known. */
interface RoleAccount {
  readonly managementAccountId: string | null;
}

type RoleMatcher = (role: DeployingRole, account: RoleAccount) => boolean;

/** A role by the fixed name AWS gives it, at path /. */
const named =
  (test: (name: string) => boolean): RoleMatcher =>
  (role) =>
    role.path === '/' && test(role.name);

/** A role, of any name and path, that its trust policy lets this service assume. */
const trustedBy =
  (service: string): RoleMatcher =>
  (role) =>
    role.trustedServices.includes(service);

/** A role, of any name and path, that its trust policy lets a role of this name (at any path, in any account) assume. */
const trustedByRoleNamed =
  (name: string): RoleMatcher =>
  (role) =>
    role.trustedAwsPrincipals.some((p) => /^arn:[^:]+:iam::\d{12}:role\/(?:.*\/)?([^/]+)$/.exec(p)?.[1] === name);

/** The account a principal names as a whole (an account id, as written, or its root ARN, as IAM keeps it). */
const wholeAccountOf = (principal: string): string | undefined => /^(?:arn:[^:]+:iam::)?(\d{12})(?::root)?$/.exec(principal)?.[1];

/** A role of a member account that its trust policy lets the organization's management account (as a whole) assume. */
const trustedByManagementAccount: RoleMatcher = (role, { managementAccountId }) =>
  typeof managementAccountId === 'string' && accountOfArn(role.arn) !== managementAccountId && role.trustedAwsPrincipals.some((p) => wholeAccountOf(p) === managementAccountId);

/**
 * The roles made to deploy into an account or to enter it: those AWS services and AWS Organizations make
 * by fixed names, and, whatever their names, those CloudFormation (a stack's or a pipeline's service
 * role, a custom CDK bootstrap's), Service Catalog (a launch role), a self-managed StackSet's
 * administration role or the organization's management account as a whole may assume. They are used
 * when something is deployed or someone must get in, which a window of use rarely shows, and cutting
 * them to that use breaks the next deployment or the way in. The first that matches gives the reason: a
 * name says more than a trust.
 */
const DEPLOYMENT_ROLES: ReadonlyArray<{ readonly matches: RoleMatcher; readonly reason: string }> = [
  {
    matches: named((name) => name === 'OrganizationAccountAccessRole'),
    reason: "AWS Organizations made this role for the management account's way into this account: it is used when someone must get in, which a window of use rarely shows; decide its permissions as the organization's access policy, not from its use",
  },
  {
    matches: named((name) => name === 'AWSControlTowerExecution'),
    reason: 'AWS Control Tower deploys and repairs its landing zone in this account through this role: a change to it drifts the landing zone and breaks its updates and enrollments',
  },
  {
    matches: named((name) => name.startsWith('stacksets-exec-')),
    reason: 'CloudFormation StackSets (service-managed) made this role to deploy stack instances, and use it only when a StackSet deploys: narrow it with a custom execution role template for the StackSets instead',
  },
  {
    // cdk-<qualifier>-<kind>-role-<account>-<region>, as the CDK's bootstrap template names them.
    matches: named((name) => /^cdk-[A-Za-z0-9_-]{1,10}-(cfn-exec|deploy|file-publishing|image-publishing|lookup)-role-\d{12}-[a-z0-9-]+$/.test(name)),
    reason: "the CDK's bootstrap stack (CDKToolkit) made this role for cdk deploy, which uses it only when something is deployed, and a change made in IAM drifts that stack: narrow the execution role with cdk bootstrap --cloudformation-execution-policies instead",
  },
  {
    matches: named((name) => name === 'AWSCloudFormationStackSetExecutionRole'),
    reason: 'CloudFormation StackSets (self-managed) deploy stack instances through this role, only when a StackSet deploys: a window of use does not show what the next deployment needs',
  },
  {
    // A self-managed StackSet's execution role of another name trusts the administrator account's role.
    matches: trustedByRoleNamed('AWSCloudFormationStackSetAdministrationRole'),
    reason: "CloudFormation StackSets (self-managed) deploy stack instances through this role (its trust policy lets an administrator account's AWSCloudFormationStackSetAdministrationRole assume it), only when a StackSet deploys: a window of use does not show what the next deployment needs",
  },
  {
    matches: trustedBy('cloudformation.amazonaws.com'),
    reason: 'CloudFormation deploys through this role (its trust policy lets cloudformation.amazonaws.com assume it), only when a stack that passes it is created, updated or deleted, which a window of use rarely shows: cutting it to that use breaks the next deployment of anything else; narrow it where those stacks are defined',
  },
  {
    matches: trustedBy('servicecatalog.amazonaws.com'),
    reason: 'Service Catalog launches products through this role (its trust policy lets servicecatalog.amazonaws.com assume it), only when a product is launched, updated or terminated, which a window of use rarely shows: narrow it with the products it launches',
  },
  {
    // AWS Organizations names the role it makes in a new account as its creator asks (CreateAccount's RoleName).
    matches: trustedByManagementAccount,
    reason: "the organization's management account may assume this role (its trust policy names that account as a whole), as it does OrganizationAccountAccessRole: a way in from the management account, used when someone must get in, which a window of use rarely shows; decide its permissions as the organization's access policy, not from its use",
  },
];

/**
 * Rule "owned elsewhere": the roles whose policies are not the account's to cut by their use. The roles
 * AWS manages, whose policies IAM refuses to change in the account: IAM Identity Center makes a role for
 * each permission set assigned to an account (path /aws-reserved/sso.amazonaws.com/, name
 * AWSReservedSSO_<permission set>_<suffix>) and answers any change to it with "this role is only
 * modifiable by AWS": the change is the permission set's, made in IAM Identity Center, and it reaches
 * every account the set is assigned to, whose use this account's report does not show. A service-linked
 * role's permissions are its service's. And the roles made to deploy into the account or to enter it
 * (`DEPLOYMENT_ROLES`, by name or by trust: `account` says the organization's management account, when
 * known). The customer managed policies such a role holds stay the
 * account's own to change, measured by their own reports.
 */
export function ownedElsewhereOf(identity: Pick<IdentityDetails, 'type' | 'arn' | 'path' | 'name' | 'trustedServices' | 'trustedAwsPrincipals'>, account: RoleAccount): string | undefined {
  if (identity.type !== 'role') return undefined;
  if (identity.path.startsWith(IDENTITY_CENTER_PATH) && identity.name.startsWith(IDENTITY_CENTER_PREFIX)) {
    const rest = identity.name.slice(IDENTITY_CENTER_PREFIX.length);
    const permissionSet = rest.includes('_') ? rest.slice(0, rest.lastIndexOf('_')) : rest;
    return `IAM Identity Center made this role for permission set ${permissionSet}, and IAM refuses changes to it: change the permission set in IAM Identity Center instead, weighing every account it is assigned to`;
  }
  if (identity.path.startsWith(SERVICE_LINKED_PATH)) return "a service-linked role: its service sets its permissions, and IAM refuses changes to them";
  return DEPLOYMENT_ROLES.find((r) => r.matches(identity, account))?.reason;
}

/** Rule "too new": a window longer than the entity's life cannot show what it does not use. */
export function tooNew(createDate: string | null, report: EntityReport): string | undefined {
  if (!createDate) return undefined;
  const windowStart = windowStartOf(report);
  return Date.parse(createDate) > windowStart ? `created ${createDate.slice(0, 10)}, less than ${report.findings.unusedAfterDays} days before the report: its use cannot be judged yet` : undefined;
}

/**
 * What a customer managed policy's default version grants that a version which may have been in force
 * inside the report's window did not: that has had less time to be used than the window says (IAM's data
 * does not say when a grant began). Two kinds of version are compared with the default. The newest one IAM
 * keeps that was made by the window's start, taken as the one then in force (`atStart`; null when IAM
 * keeps none and the default was made inside the window: what the default added is then not known). And
 * every other version made inside the window: IAM does not say when a version became the default, so each
 * may have been for a while (a version newer than the default is most often one rolled back from). The
 * unused services the default grants and one of them did not; with ACTION_LEVEL data, the unused tracked
 * actions likewise. Undefined when, as far as the versions IAM keeps show, the default version was in
 * force for the whole window.
 */
export interface RecentGrants {
  readonly version: PolicyVersionRef;
  readonly atStart: PolicyVersionRef | null;
  /** The versions compared that lack something the default grants, oldest first. */
  readonly lacking: readonly PolicyVersionRef[];
  readonly services: readonly string[];
  readonly actions: readonly string[];
}

export function recentGrants(policy: ManagedPolicyDetails, report: EntityReport, usage: Usage, space: ActionSpace): RecentGrants | undefined {
  const version = policy.version;
  if (!version?.createDate) return undefined;
  const windowStart = windowStartOf(report);
  const made = (v: PolicyVersionRef) => Date.parse(v.createDate!);
  const others = (policy.earlierVersions ?? []).filter((v) => v.createDate !== null).sort((a, b) => made(a) - made(b));
  const byStart = [...others, { ...version, document: policy.document }].filter((v) => made(v) <= windowStart).sort((a, b) => made(b) - made(a))[0];
  if (!byStart && version.createDate === policy.createDate) return undefined; // the policy's first version: the policy is as young
  const atStart = byStart ? { id: byStart.id, createDate: byStart.createDate } : null;
  const compared = [...(byStart && byStart.id !== version.id ? [byStart] : []), ...others.filter((v) => made(v) > windowStart)];
  if (atStart && compared.length === 0) return undefined;
  const allows = (document: PolicyDocument) => statementsOf(document).filter((st) => st.Effect === 'Allow').map((st) => space.grants(st));
  const allowsNow = allows(policy.document);
  const unusedActions = [...(usage.unusedTrackedActions?.values() ?? [])].flatMap((unused) => [...unused]).filter((a) => allowsNow.some((grants) => grants(a)));
  const unusedServices = [...space.servicesGranted(policy.document)].filter((s) => !usage.usedServices.has(s));
  const services = new Set<string>();
  const actions = new Set<string>();
  const lacking: PolicyVersionRef[] = [];
  for (const v of compared) {
    const then = space.servicesGranted(v.document);
    const allowsThen = allows(v.document);
    const lostServices = unusedServices.filter((s) => !then.has(s));
    const lostActions = unusedActions.filter((a) => !allowsThen.some((grants) => grants(a)));
    if (lostServices.length + lostActions.length === 0) continue;
    lacking.push({ id: v.id, createDate: v.createDate });
    lostServices.forEach((s) => services.add(s));
    lostActions.forEach((a) => actions.add(a));
  }
  return { version, atStart, lacking, services: [...services].sort(), actions: [...actions].map((a) => space.spelling(a)).sort() };
}

/** The use a report shows, with what was granted too recently to judge counted as used. */
function withRecentGrants(usage: Usage, recent: RecentGrants | undefined): Usage {
  if (!recent || (recent.services.length === 0 && recent.actions.length === 0)) return usage;
  const recentActions = new Set(recent.actions.map((a) => a.toLowerCase()));
  const unusedTrackedActions = usage.unusedTrackedActions && new Map([...usage.unusedTrackedActions].map(([s, unused]) => [s, new Set([...unused].filter((a) => !recentActions.has(a)))]));
  return { ...usage, usedServices: new Set([...usage.usedServices, ...recent.services]), unusedTrackedActions };
}

/** What a proposal's notes say of the versions that may have been in force inside the window. */
function recentGrantsNotes(recent: RecentGrants, report: EntityReport): string[] {
  const days = report.findings.unusedAfterDays;
  const of = (v: PolicyVersionRef) => `${v.id} of ${v.createDate!.slice(0, 10)}`;
  const made = `${of(recent.version)}, less than ${days} days before the report`;
  const notes = recent.atStart
    ? []
    : [`its document is ${made}, and IAM no longer keeps the version before the window: what that version added has had less time to be used than the window, and is not known`];
  const added = [...recent.services, ...recent.actions];
  if (added.length === 0) return notes;
  const shown = added.length > 6 ? `${added.slice(0, 6).join(', ')} and ${added.length - 6} more` : added.join(', ');
  const [only] = recent.lacking;
  if (recent.lacking.length === 1 && only.id === recent.atStart?.id && Date.parse(recent.version.createDate!) > windowStartOf(report)) {
    return [...notes, `${shown}: granted since ${made} (${only.id} before it), kept, as their use cannot be judged yet`];
  }
  const versions = recent.lacking.map(of).join(', ');
  return [
    ...notes,
    `${shown}: granted by the default version ${recent.version.id} and not by ${versions}, which IAM keeps and which may have been in force in the last ${days} days (IAM does not say when a version became the default), kept, as their use cannot be judged yet`,
  ];
}

/** IAM's size limit of an inline policy, by the type of identity that holds it. */
export const INLINE_LIMITS: Record<IdentityDetails['type'], number> = { user: POLICY_SIZE_LIMITS.user, group: POLICY_SIZE_LIMITS.group, role: POLICY_SIZE_LIMITS.role };

/**
 * Whether the documents grant an untracked call (a data event) of a service, which may account for a use
 * IAM shows at service level and in no tracked action. Asked only of an ACTION_LEVEL report's service used
 * by no tracked action: the documents are read then, once, and each service is answered once.
 */
function untrackedCallGrant(documents: () => readonly PolicyDocument[], context: ProposalContext): (service: string) => boolean {
  let allows: PolicyStatement[] | undefined;
  const known = new Map<string, boolean>();
  return (service) => {
    let granted = known.get(service);
    if (granted === undefined) {
      allows ??= documents().flatMap((d) => statementsOf(d)).filter((st) => st.Effect === 'Allow');
      const calls = untrackedCallKeys(context.catalog, service);
      granted = allows.some((st) => calls.some(context.space.grants(st)));
      known.set(service, granted);
    }
    return granted;
  };
}

/**
 * The documents that may grant an identity its use: its inline and managed policies and, a user, its
 * groups'. A policy whose document the details lack grants nothing here, so that a use IAM does not
 * report action by action is kept whole rather than cut.
 */
function documentsOf(identity: IdentityDetails, policies: ReadonlyMap<string, ManagedPolicyDetails>, groups: ReadonlyMap<string, IdentityDetails>): PolicyDocument[] {
  const holders = [identity, ...identity.groups.flatMap((name) => groups.get(name) ?? [])];
  return holders.flatMap((h) => [...h.inlinePolicies.map((p) => p.document), ...h.attachedPolicies.flatMap((arn) => policies.get(arn)?.document ?? [])]);
}

/**
 * Every proposal for one account: inline policies and AWS managed attachments from their owner's report,
 * customer managed policies from their own. No proposal from a missing (failed) report; an exempt
 * identity is reported but its policies are not proposed (a shared policy attached to one is a review);
 * the inline policies and AWS managed attachments of a role owned elsewhere are reviews.
 */
export function proposeForAccount(context: ProposalContext, details: AuthorizationDetails, reports: ReadonlyMap<string, EntityReport>, exemptions: Exemptions): Proposal[] {
  const proposals: Proposal[] = [];
  const policies = new Map(details.policies.map((p) => [p.arn, p]));
  const exempt = new Map(details.identities.map((i) => [i.arn, exemptionOf(i, exemptions)]));
  const groups = new Map(details.identities.filter((i) => i.type === 'group').map((g) => [g.name, g]));
  for (const identity of details.identities) {
    const report = reports.get(identity.arn);
    if (!report || exempt.get(identity.arn)) continue;
    const owner = { arn: identity.arn, type: identity.type };
    const conditions: ReviewConditions = { ownedElsewhere: ownedElsewhereOf(identity, details), tooNew: tooNew(identity.createDate, report) };
    const usage = usageOf(report, context.catalog, untrackedCallGrant(() => documentsOf(identity, policies, groups), context));
    for (const inline of identity.inlinePolicies) {
      const p = proposePolicy(context, { kind: 'inline-policy', policyArn: null, policyName: inline.name, owner, sizeLimit: INLINE_LIMITS[identity.type] }, inline.document, report, conditions, usage);
      if (p) proposals.push(p);
    }
    for (const arn of identity.attachedPolicies) {
      const policy = policies.get(arn);
      if (!policy?.awsManaged) continue;
      const p = proposePolicy(context, { kind: 'aws-managed-attachment', policyArn: arn, policyName: policy.name, owner, sizeLimit: POLICY_SIZE_LIMITS.managed }, policy.document, report, conditions, usage);
      if (p) proposals.push(p);
    }
  }
  for (const policy of details.policies.filter((p: ManagedPolicyDetails) => !p.awsManaged)) {
    const report = reports.get(policy.arn);
    if (!report) continue;
    const holders = details.identities.filter((i) => i.attachedPolicies.includes(policy.arn));
    const exemptHolder = holders.find((h) => exempt.get(h.arn));
    const conditions: ReviewConditions = {
      tooNew: tooNew(policy.createDate, report),
      exempt: exemptHolder ? `attached to ${exemptHolder.arn}, which is ${exempt.get(exemptHolder.arn)}` : undefined,
    };
    // The policy's report shows the use made through it: only what it grants can account for that use.
    const measured = usageOf(report, context.catalog, untrackedCallGrant(() => [policy.document], context));
    const recent = recentGrants(policy, report, measured, context.space);
    const p = proposePolicy(context, { kind: 'managed-policy', policyArn: policy.arn, policyName: policy.name, owner: null, sizeLimit: POLICY_SIZE_LIMITS.managed }, policy.document, report, conditions, withRecentGrants(measured, recent));
    const notes = p && p.action !== 'review' && recent ? recentGrantsNotes(recent, report) : [];
    if (p) proposals.push(notes.length > 0 ? { ...p, notes: [...p.notes, ...notes] } : p);
  }
  return proposals;
}
