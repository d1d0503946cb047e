/**
 * The same identity in several accounts: one type, path and name, as a template (a StackSet) makes a role,
 * a group or a policy in each account of an organization, and as it is cut there, not account by account.
 * Gathered once here for the HTML report (from its compact rows) and for `report --shared` (from the
 * reports), so that both say the same thing.
 *
 * The project's rule holds across accounts too: where the identity has no report in one of its accounts
 * (its job failed or never finished), what it used there is not known, so no service can be said to be
 * used in no account. Such groups are `known: false` and come last.
 */
import { ENTITY_ARN } from './input';
import { accountOfArn, type EntityType, type Failure } from './model';

/** An identity, account aside, as its ARN's resource names it: `role/ci/deployer`, `policy/team/read`. */
export const identityOf = (e: { readonly type: EntityType; readonly path: string; readonly name: string }): string => `${e.type}${e.path}${e.name}`;

/** A reported identity, by what gathers it with the others. */
export interface SharedMember {
  readonly type: EntityType;
  readonly path: string;
  readonly name: string;
  readonly accountId: string;
}

/** A listed or reported entity of an account, as `gatherShared` takes it. */
export const sharedMemberOf = (entity: { readonly type: EntityType; readonly path: string; readonly name: string }, accountId: string): SharedMember => ({
  type: entity.type,
  path: entity.path,
  name: entity.name,
  accountId,
});

export interface SharedGroup<S> {
  readonly type: EntityType;
  readonly path: string;
  readonly name: string;
  /** Its reported identities: indexes into the members given. */
  readonly members: readonly number[];
  /** Its identities without a report: indexes into the failures given. */
  readonly failures: readonly number[];
  /** The accounts it is in, reported or not, in order. */
  readonly accountIds: readonly string[];
  /** Each service it is granted in some account, with how many accounts used it (0: none did). */
  readonly usedIn: ReadonlyMap<S, number>;
  readonly usedInNone: number;
  readonly usedInSome: number;
  /** Its services granted and unused, counted in every account with a report. */
  readonly unusedGrants: number;
  /** Every account it is in has a report of it: only then is "used in no account" known. */
  readonly known: boolean;
}

/**
 * The identities of one type, path and name in more than one account, by their reports (`members`, of
 * which `null` ones are left out) and by their failures, each with its services and how many accounts
 * used each (`servicesOf` calls `visit` once per service a member is granted). Those whose "used in no
 * account" is known first, the most first; then the ones in more accounts; then by name.
 */
export function gatherShared<S>(
  members: readonly (SharedMember | null)[],
  failures: readonly Pick<Failure, 'arn'>[],
  servicesOf: (member: number, visit: (service: S, used: boolean) => void) => void,
): SharedGroup<S>[] {
  interface Gathering { readonly type: EntityType; readonly path: string; readonly name: string; readonly members: number[]; readonly failures: number[]; readonly accounts: Set<string> }
  // By name first: the few of one name are then told apart by type and path without a key string each.
  const byName = new Map<string, Gathering[]>();
  const gatherings: Gathering[] = [];
  const gatheringOf = (type: EntityType, path: string, name: string, accountId: string): Gathering => {
    let same = byName.get(name);
    if (!same) byName.set(name, (same = []));
    let g = same.find((x) => x.type === type && x.path === path);
    if (!g) {
      g = { type, path, name, members: [], failures: [], accounts: new Set() };
      same.push(g);
      gatherings.push(g);
    }
    g.accounts.add(accountId);
    return g;
  };
  members.forEach((m, i) => {
    if (m) gatheringOf(m.type, m.path, m.name, m.accountId).members.push(i);
  });
  failures.forEach((f, i) => {
    const arn = ENTITY_ARN.exec(f.arn);
    if (arn) gatheringOf(arn[1] as EntityType, `${arn[2] ?? ''}/`, f.arn.slice(f.arn.lastIndexOf('/') + 1), accountOfArn(f.arn)).failures.push(i);
  });
  const groups = gatherings
    .filter((g) => g.accounts.size > 1)
    .map((g): SharedGroup<S> & { readonly key: string } => {
      const usedIn = new Map<S, number>();
      let unusedGrants = 0;
      for (const i of g.members) {
        servicesOf(i, (service, used) => {
          usedIn.set(service, (usedIn.get(service) ?? 0) + (used ? 1 : 0));
          if (!used) unusedGrants++;
        });
      }
      let usedInSome = 0;
      for (const n of usedIn.values()) if (n > 0) usedInSome++;
      return {
        type: g.type,
        path: g.path,
        name: g.name,
        members: g.members,
        failures: g.failures,
        accountIds: [...g.accounts].sort(),
        usedIn,
        usedInNone: usedIn.size - usedInSome,
        usedInSome,
        unusedGrants,
        known: g.failures.length === 0,
        key: identityOf(g).toLowerCase(),
      };
    });
  groups.sort((a, b) => (b.known ? b.usedInNone : -1) - (a.known ? a.usedInNone : -1) || b.accountIds.length - a.accountIds.length || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return groups.map(({ key: _key, ...group }) => group);
}
