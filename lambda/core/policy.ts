/**
 * IAM policy documents and what their actions mean over the IAM action catalogue. Wildcard expansion is
 * a few lines of our own: a pattern such as `s3:Get*` or `*` is matched, case-insensitively as IAM
 * matches, against every action the catalogue holds.
 */
import { iamCatalog, type Catalog } from './catalog';

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | readonly string[];
  readonly NotAction?: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly NotResource?: string | readonly string[];
  readonly Condition?: Record<string, unknown>;
  readonly Principal?: unknown;
  readonly NotPrincipal?: unknown;
}

export interface PolicyDocument {
  readonly Version?: string;
  readonly Id?: string;
  readonly Statement: PolicyStatement | readonly PolicyStatement[];
}

export class PolicyError extends Error {
  override name = 'PolicyError';
}

export function statementsOf(document: PolicyDocument): PolicyStatement[] {
  const statements = Array.isArray(document.Statement) ? document.Statement : [document.Statement];
  return statements as PolicyStatement[];
}

export function listOf(value: string | readonly string[] | undefined): string[] {
  return value === undefined ? [] : typeof value === 'string' ? [value] : [...value];
}

/** Checks the shape a policy document must have to be reasoned about; throws PolicyError naming what is wrong. */
export function checkDocument(document: unknown, what: string): PolicyDocument {
  const doc = document as PolicyDocument;
  if (doc === null || typeof doc !== 'object' || doc.Statement === undefined) throw new PolicyError(`${what}: a policy document needs a Statement`);
  statementsOf(doc).forEach((s, i) => {
    if (s === null || typeof s !== 'object') throw new PolicyError(`${what}: Statement[${i}] must be an object`);
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw new PolicyError(`${what}: Statement[${i}].Effect must be Allow or Deny`);
    if ((s.Action === undefined) === (s.NotAction === undefined)) throw new PolicyError(`${what}: Statement[${i}] needs Action or NotAction (one of them)`);
    for (const a of [...listOf(s.Action), ...listOf(s.NotAction)]) {
      if (typeof a !== 'string' || !(a === '*' || /^[a-z0-9*?-]+:[A-Za-z0-9*?_-]+$/i.test(a))) throw new PolicyError(`${what}: Statement[${i}] has an action that is not service:Action: ${JSON.stringify(a)}`);
    }
  });
  return doc;
}

/** An expansion this small is copied into a statement's set of small expansions by `grants`. */
const SMALL_EXPANSION = 64;

/** An IAM action glob (`*` and `?`) as a case-insensitive match of the whole action, lower-cased. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.toLowerCase().replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/**
 * The actions of the catalogue, as `service:action` in lower case (IAM compares actions case-insensitively),
 * and the expansion of action patterns over them.
 */
export class ActionSpace {
  private readonly byService = new Map<string, string[]>();
  private readonly spellings = new Map<string, ReadonlyMap<string, string>>();
  private readonly expanded = new Map<string, ReadonlySet<string>>();
  private readonly patternServices = new Map<string, ReadonlySet<string>>();
  private readonly grantedServices = new WeakMap<PolicyDocument, ReadonlySet<string>>();
  private readonly grantedActions = new WeakMap<PolicyStatement, ReadonlySet<string>>();
  private readonly grantChecks = new WeakMap<PolicyStatement, (action: string) => boolean>();
  readonly services: readonly string[];

  private readonly knownServices: ReadonlySet<string>;

  constructor(readonly catalog: Catalog) {
    this.services = catalog.serviceKeys();
    this.knownServices = new Set(this.services);
  }

  /** Whether the catalogue knows a service prefix (a service AWS launched since it was made it does not). */
  knowsService(service: string): boolean {
    return this.knownServices.has(service);
  }

  /** Every action of a service, lower case `service:action` (empty for a service the catalogue does not know). */
  actionsOf(service: string): readonly string[] {
    let list = this.byService.get(service);
    if (!list) {
      list = (this.catalog.actions(service) ?? []).map((a) => `${service}:${a.name.toLowerCase()}`);
      this.byService.set(service, list);
    }
    return list;
  }

  /** The catalogue's spelling of a lower-case `service:action`. */
  spelling(action: string): string {
    const service = action.slice(0, action.indexOf(':'));
    let spelt = this.spellings.get(service);
    if (!spelt) {
      // Proposals spell every action they keep or remove: a service's spellings are looked up, not searched for.
      const byLowerCase = new Map<string, string>();
      for (const a of this.catalog.actions(service) ?? []) {
        const key = `${service}:${a.name.toLowerCase()}`;
        if (!byLowerCase.has(key)) byLowerCase.set(key, `${service}:${a.name}`);
      }
      this.spellings.set(service, (spelt = byLowerCase));
    }
    return spelt.get(action) ?? action;
  }

  /** The services a pattern can touch. */
  servicesOf(pattern: string): string[] {
    if (pattern === '*') return [...this.services];
    const [service] = pattern.split(':');
    if (!/[*?]/.test(service)) return [service.toLowerCase()];
    const re = globToRegExp(service);
    return this.services.filter((s) => re.test(s));
  }

  /** Every catalogue action a pattern matches. */
  expand(pattern: string): ReadonlySet<string> {
    const key = pattern.toLowerCase();
    let set = this.expanded.get(key);
    if (!set) {
      const re = globToRegExp(key === '*' ? '*:*' : key);
      set = new Set(this.servicesOf(key).flatMap((s) => this.actionsOf(s).filter((a) => re.test(a))));
      this.expanded.set(key, set);
    }
    return set;
  }

  /** The actions a list of patterns matches together. */
  expandAll(patterns: readonly string[]): Set<string> {
    const all = new Set<string>();
    for (const p of patterns) for (const a of this.expand(p)) all.add(a);
    return all;
  }

  /**
   * The actions an Allow statement grants: its Action, or everything but its NotAction. Remembered per
   * statement object: a policy's statements are proven against once for every identity it is attached to.
   */
  grantedBy(statement: PolicyStatement): ReadonlySet<string> {
    let granted = this.grantedActions.get(statement);
    if (!granted) {
      granted = statement.Action !== undefined ? this.expandAll(listOf(statement.Action)) : this.allBut(this.expandAll(listOf(statement.NotAction)));
      this.grantedActions.set(statement, granted);
    }
    return granted;
  }

  /** Each action an Allow statement grants, an action perhaps more than once, without making their set. */
  *eachGranted(statement: PolicyStatement): Iterable<string> {
    if (statement.Action === undefined) {
      yield* this.grantedBy(statement);
      return;
    }
    for (const pattern of listOf(statement.Action)) yield* this.expand(pattern);
  }

  /** How many actions `eachGranted` yields: at least as many as the statement grants. */
  grantedCount(statement: PolicyStatement): number {
    if (statement.Action === undefined) return this.grantedBy(statement).size;
    return listOf(statement.Action).reduce((n, pattern) => n + this.expand(pattern).size, 0);
  }

  /**
   * Whether an Allow statement grants an action of the catalogue (lower case `service:action`), asked of
   * its patterns' expansions: no set of all it grants is made. Remembered per statement object, as
   * `grantedBy` is.
   */
  grants(statement: PolicyStatement): (action: string) => boolean {
    let check = this.grantChecks.get(statement);
    if (!check) {
      check = this.grantCheck(statement);
      this.grantChecks.set(statement, check);
    }
    return check;
  }

  private grantCheck(statement: PolicyStatement): (action: string) => boolean {
    if (statement.Action === undefined) {
      const granted = this.grantedBy(statement);
      return (action) => granted.has(action);
    }
    const sets = listOf(statement.Action).map((pattern) => this.expand(pattern));
    if (sets.length === 1) return (action) => sets[0].has(action);
    // Many small expansions (a list of actions, one each) are asked as one set, the large ones apart:
    // no set of thousands is copied.
    const large = sets.filter((set) => set.size > SMALL_EXPANSION);
    const small = new Set<string>();
    for (const set of sets) if (set.size <= SMALL_EXPANSION) for (const a of set) small.add(a);
    if (large.length === 0) return (action) => small.has(action);
    return (action) => small.has(action) || large.some((set) => set.has(action));
  }

  private allBut(excluded: ReadonlySet<string>): Set<string> {
    const all = new Set<string>();
    for (const s of this.services) for (const a of this.actionsOf(s)) if (!excluded.has(a)) all.add(a);
    return all;
  }

  /** The services a document's Allow statements grant something of (remembered per document object). */
  servicesGranted(document: PolicyDocument): ReadonlySet<string> {
    let services = this.grantedServices.get(document);
    if (!services) {
      const found = new Set<string>();
      for (const s of statementsOf(document)) {
        if (s.Effect !== 'Allow') continue;
        if (s.Action !== undefined) for (const p of listOf(s.Action)) for (const service of this.servicesMatched(p)) found.add(service);
        else for (const a of this.grantedBy(s)) found.add(a.slice(0, a.indexOf(':')));
      }
      services = found;
      this.grantedServices.set(document, services);
    }
    return services;
  }

  /** The services a pattern matches at least one action of. */
  servicesMatched(pattern: string): ReadonlySet<string> {
    const key = pattern.toLowerCase();
    let services = this.patternServices.get(key);
    if (!services) {
      services = new Set([...this.expand(key)].map((a) => a.slice(0, a.indexOf(':'))));
      this.patternServices.set(key, services);
    }
    return services;
  }
}

/** IAM's size limits on policy documents, counted without whitespace. */
export const POLICY_SIZE_LIMITS = { managed: 6_144, role: 10_240, group: 5_120, user: 2_048 } as const;

export function policySize(document: PolicyDocument): number {
  return JSON.stringify(document).replace(/\s/g, '').length;
}

let shared: ActionSpace | undefined;

/** The action space over the process's catalogue, made once. */
export function sharedActionSpace(): ActionSpace {
  shared ??= new ActionSpace(iamCatalog());
  return shared;
}
