/**
 * The emulator's account file: the IAM entities of one account and, for each, the services its policies
 * grant with their last-accessed data. See DESIGN.md "Account file". Parsing is strict: a bad file is
 * rejected as a whole with a message that names the field, so a typo never silently becomes "no data".
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { iamCatalog } from '../../lambda/core/catalog';
import { accountOfArn, ENTITY_TYPES, type EntityType } from '../../lambda/core/model';
import { checkDocument, PolicyError, sharedActionSpace, statementsOf, type PolicyDocument } from '../../lambda/core/policy';
import { whyUntracked } from '../../lambda/core/tracked-actions';

export { ENTITY_TYPES, type EntityType };

export const FAULTS = ['job-fails', 'deleted-before-generate', 'slow-job'] as const;
export type Fault = (typeof FAULTS)[number];

export interface TrackedActionRecord {
  readonly name: string;
  readonly lastAccessedTime?: string;
  readonly region?: string;
  readonly entity?: string;
}

export interface ServiceRecord {
  readonly namespace: string;
  readonly name: string;
  readonly lastAuthenticated?: string;
  readonly lastAuthenticatedRegion?: string;
  readonly lastAuthenticatedEntity?: string;
  readonly totalAuthenticatedEntities?: number;
  /** Present for services with action-level tracking (reported at ACTION_LEVEL only). */
  readonly actions?: readonly TrackedActionRecord[];
}

export interface EntityRecord {
  readonly type: EntityType;
  readonly name: string;
  readonly path?: string;
  readonly id?: string;
  readonly createDate?: string;
  readonly fault?: Fault;
  /** Customer managed policies only: how many identities it is attached to. @default 1 */
  readonly attachmentCount?: number;
  /** Users only: the names of the groups the user is in. */
  readonly groups?: readonly string[];
  /** Users, groups and roles: ARNs of the managed policies attached to them. */
  readonly attachedPolicies?: readonly string[];
  /** Users, groups and roles: their inline policies. */
  readonly inlinePolicies?: ReadonlyArray<{ readonly name: string; readonly document: PolicyDocument }>;
  /** Customer managed policies: the default version's document. */
  readonly document?: PolicyDocument;
  /** Customer managed policies: the default version's id and when it was made. @default v1, made with the policy */
  readonly defaultVersion?: PolicyVersionRecord;
  /** Customer managed policies: the other versions IAM keeps (at most four), each with its document. */
  readonly versions?: ReadonlyArray<PolicyVersionRecord & { readonly document: PolicyDocument }>;
  /** Tags of users and roles. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Roles: the trust policy (default: trusted by Lambda, or a service-linked role's service). */
  readonly trustPolicy?: PolicyDocument;
  readonly services: readonly ServiceRecord[];
}

/** A version of a customer managed policy: IAM names them v1, v2, ... in the order they were made. */
export interface PolicyVersionRecord {
  readonly id: string;
  readonly createDate: string;
}

/** An AWS managed policy attached in the account, with its document. */
export interface AwsManagedPolicy {
  readonly arn: string;
  readonly document: PolicyDocument;
}

export interface AccountFile {
  readonly accountId: string;
  readonly awsManagedPolicies?: readonly AwsManagedPolicy[];
  readonly entities: readonly EntityRecord[];
}

/** An entity with every optional field resolved, as the emulator serves it. */
export interface Entity {
  readonly type: EntityType;
  readonly name: string;
  readonly path: string;
  readonly id: string;
  readonly arn: string;
  readonly createDate: string;
  readonly fault?: Fault;
  readonly attachmentCount: number;
  readonly groups: readonly string[];
  readonly attachedPolicies: readonly string[];
  readonly inlinePolicies: ReadonlyArray<{ readonly name: string; readonly document: PolicyDocument }>;
  readonly document?: PolicyDocument;
  /** Policies: the default version (v1, made with the policy, unless the file says). */
  readonly defaultVersion: PolicyVersionRecord;
  readonly versions: ReadonlyArray<PolicyVersionRecord & { readonly document: PolicyDocument }>;
  readonly tags: Readonly<Record<string, string>>;
  readonly trustPolicy?: PolicyDocument;
  /** The services its policies grant, with their use: from the documents when it has policy data, else from the file. */
  readonly services: readonly ServiceRecord[];
}

export interface Account {
  readonly accountId: string;
  readonly entities: readonly Entity[];
  readonly byArn: ReadonlyMap<string, Entity>;
  readonly awsManagedPolicies: ReadonlyMap<string, PolicyDocument>;
  /** True when the file gives policy documents: the emulator then serves them and derives grants from them. */
  readonly hasPolicyData: boolean;
}

export class AccountFileError extends Error {
  override name = 'AccountFileError';
}

/** Name limits and patterns as the IAM API model states them. */
const NAME_LIMITS: Record<EntityType, number> = { user: 64, group: 128, role: 64, policy: 128 };
const NAME_PATTERN = /^[\w+=,.@-]+$/;
const PATH_PATTERN = /^(\/|\/[\u0021-\u007E]+\/)$/;
const NAMESPACE_PATTERN = /^[\w-]+$/;
const ACCOUNT_ID_PATTERN = /^\d{12}$/;
const ID_PREFIX: Record<EntityType, string> = { user: 'AIDA', group: 'AGPA', role: 'AROA', policy: 'ANPA' };
const DEFAULT_CREATE_DATE = '2024-01-01T00:00:00Z';
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

const ENTITY_FIELDS = ['type', 'name', 'path', 'id', 'createDate', 'fault', 'attachmentCount', 'groups', 'attachedPolicies', 'inlinePolicies', 'document', 'defaultVersion', 'versions', 'tags', 'trustPolicy', 'services'];
/** IAM keeps at most five versions of a managed policy. */
const MAX_POLICY_VERSIONS = 5;
const SERVICE_FIELDS = [
  'namespace',
  'name',
  'lastAuthenticated',
  'lastAuthenticatedRegion',
  'lastAuthenticatedEntity',
  'totalAuthenticatedEntities',
  'actions',
];
const ACTION_FIELDS = ['name', 'lastAccessedTime', 'region', 'entity'];

export function entityArn(accountId: string, type: EntityType, path: string, name: string): string {
  return `arn:aws:iam::${accountId}:${type}${path}${name}`;
}

/** A stable, IAM-shaped unique id derived from the ARN, for entities whose file gives none. */
export function derivedEntityId(type: EntityType, arn: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const digest = createHash('sha256').update(arn).digest();
  let suffix = '';
  for (let i = 0; i < 17; i++) suffix += alphabet[digest[i] % 32];
  return ID_PREFIX[type] + suffix;
}

export function readAccountFile(file: string): Account {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AccountFileError(`account file ${file}: cannot be read (${(err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new AccountFileError(`account file ${file}: is not valid JSON (${(err as Error).message})`);
  }
  return loadAccount(json, file);
}

/**
 * Validates an account file's content and resolves every entity. Throws AccountFileError naming the
 * field, under `within` when the account is part of a larger file (`accounts[2]` of an organization).
 */
export function loadAccount(json: unknown, source = 'account file', within?: string): Account {
  const fail = (field: string, problem: string): never => {
    throw new AccountFileError(`${source}: ${within ? `${within}.` : ''}${field} ${problem}`);
  };
  const file = parseAccountFile(json, fail);
  const entities: Entity[] = [];
  const byArn = new Map<string, Entity>();
  const seenNames = new Map<string, number>();
  file.entities.forEach((record, index) => {
    const nameKey = `${record.type}:${record.name.toLowerCase()}`;
    const earlier = seenNames.get(nameKey);
    if (earlier !== undefined) {
      fail(`entities[${index}].name`, `repeats the ${record.type} name of entities[${earlier}] (IAM names are unique per type, ignoring case)`);
    }
    seenNames.set(nameKey, index);
    const path = record.path ?? '/';
    const arn = entityArn(file.accountId, record.type, path, record.name);
    const entity: Entity = {
      type: record.type,
      name: record.name,
      path,
      id: record.id ?? derivedEntityId(record.type, arn),
      arn,
      createDate: record.createDate ?? DEFAULT_CREATE_DATE,
      fault: record.fault,
      attachmentCount: record.attachmentCount ?? 1,
      groups: record.groups ?? [],
      attachedPolicies: record.attachedPolicies ?? [],
      inlinePolicies: record.inlinePolicies ?? [],
      document: record.document,
      defaultVersion: record.defaultVersion ?? { id: 'v1', createDate: record.createDate ?? DEFAULT_CREATE_DATE },
      versions: record.versions ?? [],
      tags: record.tags ?? {},
      trustPolicy: record.trustPolicy,
      services: record.services,
    };
    entities.push(entity);
    byArn.set(arn, entity);
  });
  const groupNames = new Set(entities.filter((e) => e.type === 'group').map((e) => e.name));
  const awsManagedPolicies = new Map((file.awsManagedPolicies ?? []).map((p) => [p.arn, p.document]));
  entities.forEach((e, index) => {
    e.groups.forEach((g, i) => {
      if (!groupNames.has(g)) fail(`entities[${index}].groups[${i}]`, `names group "${g}", which the file does not hold`);
    });
    e.attachedPolicies.forEach((arn, i) => {
      const known = arn.includes(':aws:policy/') ? awsManagedPolicies.has(arn) : byArn.get(arn)?.type === 'policy';
      if (!known) fail(`entities[${index}].attachedPolicies[${i}]`, `names ${arn}, which the file does not hold (AWS managed policies go in awsManagedPolicies)`);
    });
  });
  const hasPolicyData = entities.some((e) => e.inlinePolicies.length > 0 || e.attachedPolicies.length > 0 || e.document !== undefined);
  const resolved = hasPolicyData ? entities.map((e, index) => withDerivedGrants(e, index, { entities, byArn, awsManagedPolicies }, fail)) : entities;
  return { accountId: file.accountId, entities: resolved, byArn: new Map(resolved.map((e) => [e.arn, e])), awsManagedPolicies, hasPolicyData };
}

const groupPaths = new WeakMap<object, Map<string, string>>();

/** The path of a group of the account, by name (group names are unique in an account). */
function groupPath(account: Pick<Account, 'entities'>, name: string): string {
  let paths = groupPaths.get(account.entities);
  if (!paths) {
    paths = new Map(account.entities.filter((g) => g.type === 'group').map((g) => [g.name, g.path]));
    groupPaths.set(account.entities, paths);
  }
  return paths.get(name) ?? '/';
}

/** Every policy document that applies to the entity: its own, its managed attachments', and (a user) its groups'. */
export function documentsOf(e: Entity, account: Pick<Account, 'entities' | 'byArn' | 'awsManagedPolicies'>): PolicyDocument[] {
  if (e.type === 'policy') return e.document ? [e.document] : [];
  const own = (x: Entity): PolicyDocument[] => [
    ...x.inlinePolicies.map((p) => p.document),
    ...x.attachedPolicies.map((arn) => account.awsManagedPolicies.get(arn) ?? account.byArn.get(arn)?.document).filter((d): d is PolicyDocument => d !== undefined),
  ];
  const groups = e.groups.map((name) => account.byArn.get(entityArn(accountOfArn(e.arn), 'group', groupPath(account, name), name))).filter((g): g is Entity => g !== undefined);
  return [...own(e), ...groups.flatMap(own)];
}

/**
 * The entity's grants derived from its documents, as IAM derives them: its services are those the
 * documents allow something of, each with its use from the file. A used service no policy grants is an
 * error naming it.
 */
function withDerivedGrants(e: Entity, index: number, account: Pick<Account, 'entities' | 'byArn' | 'awsManagedPolicies'>, fail: Fail): Entity {
  const space = sharedActionSpace();
  const granted = new Set<string>();
  for (const document of documentsOf(e, account)) for (const service of space.servicesGranted(document)) granted.add(service);
  const usage = new Map(e.services.map((s) => [s.namespace, s]));
  e.services.forEach((s, i) => {
    if (!granted.has(s.namespace) && (s.lastAuthenticated !== undefined || (s.actions ?? []).some((a) => a.lastAccessedTime !== undefined))) {
      fail(`entities[${index}].services[${i}].namespace`, `"${s.namespace}" was used, but no policy of the ${e.type} grants it`);
    }
  });
  const catalog = iamCatalog();
  const services = [...granted].sort().map((ns) => usage.get(ns) ?? { namespace: ns, name: catalog.serviceName(ns) ?? ns });
  return { ...e, services };
}

type Fail = (field: string, problem: string) => never;

function parseAccountFile(json: unknown, fail: Fail): AccountFile {
  const root = object(json, 'the file', fail);
  unknownFields(root, ['accountId', 'awsManagedPolicies', 'entities'], '', fail);
  if (root.awsManagedPolicies !== undefined) {
    if (!Array.isArray(root.awsManagedPolicies)) fail('awsManagedPolicies', 'must be an array of { arn, document }');
    (root.awsManagedPolicies as unknown[]).forEach((raw, i) => {
      const p = object(raw, `awsManagedPolicies[${i}]`, fail);
      unknownFields(p, ['arn', 'document'], `awsManagedPolicies[${i}]`, fail);
      if (typeof p.arn !== 'string' || !/^arn:aws[\w-]*:iam::aws:policy\/.+$/.test(p.arn)) fail(`awsManagedPolicies[${i}].arn`, 'must be an AWS managed policy ARN (arn:aws:iam::aws:policy/...)');
      document(p.document, `awsManagedPolicies[${i}].document`, fail);
    });
  }
  const accountId = root.accountId;
  if (typeof accountId !== 'string' || !ACCOUNT_ID_PATTERN.test(accountId)) {
    fail('accountId', 'must be a string of 12 digits');
  }
  if (!Array.isArray(root.entities)) fail('entities', 'must be an array');
  const entities = (root.entities as unknown[]).map((raw, i) => parseEntity(raw, `entities[${i}]`, fail));
  return { accountId: accountId as string, awsManagedPolicies: root.awsManagedPolicies as AwsManagedPolicy[] | undefined, entities };
}

/**
 * A customer managed policy's versions: the default's id and date, and the others IAM keeps with their
 * documents. Ids are IAM's (v1, v2, ...) and unique; none was made before the policy; five at most.
 */
function policyVersions(e: Record<string, unknown>, type: EntityType, at: string, fail: Fail): void {
  for (const field of ['defaultVersion', 'versions']) if (e[field] !== undefined && type !== 'policy') fail(`${at}.${field}`, 'is only allowed on policies');
  if (e.document === undefined) fail(`${at}.${e.versions !== undefined ? 'versions' : 'defaultVersion'}`, 'needs the default version\'s document in document');
  const policyMade = (e.createDate as string | undefined) ?? DEFAULT_CREATE_DATE;
  const version = (raw: unknown, where: string, fields: readonly string[]): PolicyVersionRecord => {
    const v = object(raw, where, fail);
    unknownFields(v, fields, where, fail);
    if (typeof v.id !== 'string' || !/^v[1-9]\d*$/.test(v.id)) fail(`${where}.id`, 'must be a version id such as v2');
    isoDate(v.createDate, `${where}.createDate`, fail);
    if (Date.parse(v.createDate as string) < Date.parse(policyMade)) fail(`${where}.createDate`, `is before the policy's createDate (${policyMade})`);
    return v as unknown as PolicyVersionRecord;
  };
  const ids = new Map<string, string>();
  const seen = (v: PolicyVersionRecord, where: string, label = where) => {
    const earlier = ids.get(v.id);
    if (earlier !== undefined) fail(`${where}.id`, `repeats "${v.id}", the id of ${earlier}`);
    ids.set(v.id, label);
  };
  if (e.defaultVersion === undefined) seen({ id: 'v1', createDate: '' }, `${at}.defaultVersion`, 'the default version (v1 when defaultVersion is not given)');
  else seen(version(e.defaultVersion, `${at}.defaultVersion`, ['id', 'createDate']), `${at}.defaultVersion`);
  if (e.versions === undefined) return;
  if (!Array.isArray(e.versions)) fail(`${at}.versions`, 'must be an array of { id, createDate, document }');
  const versions = e.versions as unknown[];
  if (versions.length > MAX_POLICY_VERSIONS - 1) fail(`${at}.versions`, `holds ${versions.length} versions besides the default: IAM keeps ${MAX_POLICY_VERSIONS} in all`);
  versions.forEach((raw, i) => {
    const where = `${at}.versions[${i}]`;
    seen(version(raw, where, ['id', 'createDate', 'document']), where);
    document((raw as Record<string, unknown>).document, `${where}.document`, fail);
  });
}

function parseEntity(raw: unknown, at: string, fail: Fail): EntityRecord {
  const e = withoutNulls(object(raw, at, fail), ['path', 'id', 'createDate', 'fault', 'attachmentCount', 'groups', 'attachedPolicies', 'inlinePolicies', 'document', 'defaultVersion', 'versions', 'tags', 'trustPolicy']);
  unknownFields(e, ENTITY_FIELDS, at, fail);
  const type = e.type;
  if (typeof type !== 'string' || !(ENTITY_TYPES as readonly string[]).includes(type)) {
    fail(`${at}.type`, `must be one of ${ENTITY_TYPES.join(', ')}`);
  }
  const entityType = type as EntityType;
  const name = e.name;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name) || name.length > NAME_LIMITS[entityType]) {
    fail(`${at}.name`, `must be 1 to ${NAME_LIMITS[entityType]} characters of letters, digits and +=,.@_-`);
  }
  if (e.path !== undefined && (typeof e.path !== 'string' || !PATH_PATTERN.test(e.path) || e.path.length > 512)) {
    fail(`${at}.path`, 'must be "/" or start and end with "/" (printable ASCII, at most 512 characters)');
  }
  if (e.id !== undefined && (typeof e.id !== 'string' || !/^\w{16,128}$/.test(e.id))) {
    fail(`${at}.id`, 'must be 16 to 128 letters, digits or underscores');
  }
  if (e.createDate !== undefined) isoDate(e.createDate, `${at}.createDate`, fail);
  if (e.fault !== undefined && !(FAULTS as readonly unknown[]).includes(e.fault)) {
    fail(`${at}.fault`, `must be one of ${FAULTS.join(', ')}`);
  }
  if (e.attachmentCount !== undefined) {
    if (entityType !== 'policy') fail(`${at}.attachmentCount`, 'is only allowed on policies');
    count(e.attachmentCount, `${at}.attachmentCount`, fail);
  }
  if (e.groups !== undefined) {
    if (entityType !== 'user') fail(`${at}.groups`, 'is only allowed on users');
    names(e.groups, `${at}.groups`, fail);
  }
  if (e.attachedPolicies !== undefined) {
    if (entityType === 'policy') fail(`${at}.attachedPolicies`, 'is not allowed on policies');
    if (!Array.isArray(e.attachedPolicies)) fail(`${at}.attachedPolicies`, 'must be an array of policy ARNs');
    (e.attachedPolicies as unknown[]).forEach((arn, i) => {
      if (typeof arn !== 'string' || !/^arn:aws[\w-]*:iam::(\d{12}|aws):policy\/.+$/.test(arn)) fail(`${at}.attachedPolicies[${i}]`, 'must be a managed policy ARN');
    });
  }
  if (e.inlinePolicies !== undefined) {
    if (entityType === 'policy') fail(`${at}.inlinePolicies`, 'is not allowed on policies');
    if (!Array.isArray(e.inlinePolicies)) fail(`${at}.inlinePolicies`, 'must be an array of { name, document }');
    (e.inlinePolicies as unknown[]).forEach((raw, i) => {
      const p = object(raw, `${at}.inlinePolicies[${i}]`, fail);
      unknownFields(p, ['name', 'document'], `${at}.inlinePolicies[${i}]`, fail);
      if (typeof p.name !== 'string' || !NAME_PATTERN.test(p.name)) fail(`${at}.inlinePolicies[${i}].name`, 'must be a policy name');
      document(p.document, `${at}.inlinePolicies[${i}].document`, fail);
    });
  }
  if (e.document !== undefined) {
    if (entityType !== 'policy') fail(`${at}.document`, 'is only allowed on policies');
    document(e.document, `${at}.document`, fail);
  }
  if (e.defaultVersion !== undefined || e.versions !== undefined) policyVersions(e, entityType, at, fail);
  if (e.tags !== undefined) {
    if (entityType !== 'user' && entityType !== 'role') fail(`${at}.tags`, 'is only allowed on users and roles');
    const tags = object(e.tags, `${at}.tags`, fail);
    for (const [k, v] of Object.entries(tags)) if (typeof v !== 'string') fail(`${at}.tags.${k}`, 'must be a string');
  }
  if (e.trustPolicy !== undefined) {
    if (entityType !== 'role') fail(`${at}.trustPolicy`, 'is only allowed on roles');
    document(e.trustPolicy, `${at}.trustPolicy`, fail);
    statementsOf(e.trustPolicy as PolicyDocument).forEach((s, i) => {
      if (s.Principal === undefined && s.NotPrincipal === undefined) fail(`${at}.trustPolicy.Statement[${i}]`, 'needs a Principal: a trust policy names who may assume the role');
    });
  }
  if (!Array.isArray(e.services)) fail(`${at}.services`, 'must be an array');
  const services = (e.services as unknown[]).map((s, i) => parseService(s, `${at}.services[${i}]`, fail));
  const seen = new Set<string>();
  services.forEach((s, i) => {
    if (seen.has(s.namespace)) fail(`${at}.services[${i}].namespace`, `repeats "${s.namespace}"`);
    seen.add(s.namespace);
  });
  return {
    type: entityType,
    name: name as string,
    path: e.path as string | undefined,
    id: e.id as string | undefined,
    createDate: e.createDate as string | undefined,
    fault: e.fault as Fault | undefined,
    attachmentCount: e.attachmentCount as number | undefined,
    groups: e.groups as string[] | undefined,
    attachedPolicies: e.attachedPolicies as string[] | undefined,
    inlinePolicies: e.inlinePolicies as EntityRecord['inlinePolicies'],
    document: e.document as PolicyDocument | undefined,
    defaultVersion: e.defaultVersion as EntityRecord['defaultVersion'],
    versions: e.versions as EntityRecord['versions'],
    tags: e.tags as Record<string, string> | undefined,
    trustPolicy: e.trustPolicy as PolicyDocument | undefined,
    services,
  };
}

function document(value: unknown, at: string, fail: Fail): void {
  try {
    checkDocument(value, at);
  } catch (err) {
    if (err instanceof PolicyError) fail(at, `is not a policy document IAM would take: ${err.message.slice(at.length + 2)}`);
    throw err;
  }
}

function parseService(raw: unknown, at: string, fail: Fail): ServiceRecord {
  const s = withoutNulls(object(raw, at, fail), ['lastAuthenticated', 'lastAuthenticatedRegion', 'lastAuthenticatedEntity', 'totalAuthenticatedEntities', 'actions']);
  unknownFields(s, SERVICE_FIELDS, at, fail);
  if (typeof s.namespace !== 'string' || !NAMESPACE_PATTERN.test(s.namespace) || s.namespace.length > 64) {
    fail(`${at}.namespace`, 'must be 1 to 64 letters, digits, underscores or hyphens');
  }
  if (typeof s.name !== 'string' || s.name.length === 0) fail(`${at}.name`, 'must be a non-empty string');
  if (s.lastAuthenticated !== undefined) isoDate(s.lastAuthenticated, `${at}.lastAuthenticated`, fail);
  optionalString(s.lastAuthenticatedRegion, `${at}.lastAuthenticatedRegion`, fail);
  optionalString(s.lastAuthenticatedEntity, `${at}.lastAuthenticatedEntity`, fail);
  if (s.totalAuthenticatedEntities !== undefined) count(s.totalAuthenticatedEntities, `${at}.totalAuthenticatedEntities`, fail);
  let actions: TrackedActionRecord[] | undefined;
  if (s.actions !== undefined) {
    if (!Array.isArray(s.actions)) fail(`${at}.actions`, 'must be an array');
    actions = (s.actions as unknown[]).map((a, i) => parseAction(a, `${at}.actions[${i}]`, fail));
    // Action-level data exists only for what IAM tracks: a file claiming more is refused.
    actions.forEach((a, i) => {
      const why = whyUntracked(iamCatalog(), s.namespace as string, a.name);
      if (why) fail(`${at}.actions[${i}].name`, `claims action-level data IAM never reports: ${why}`);
    });
  }
  return {
    namespace: s.namespace as string,
    name: s.name as string,
    lastAuthenticated: s.lastAuthenticated as string | undefined,
    lastAuthenticatedRegion: s.lastAuthenticatedRegion as string | undefined,
    lastAuthenticatedEntity: s.lastAuthenticatedEntity as string | undefined,
    totalAuthenticatedEntities: s.totalAuthenticatedEntities as number | undefined,
    actions,
  };
}

function parseAction(raw: unknown, at: string, fail: Fail): TrackedActionRecord {
  const a = withoutNulls(object(raw, at, fail), ['lastAccessedTime', 'region', 'entity']);
  unknownFields(a, ACTION_FIELDS, at, fail);
  if (typeof a.name !== 'string' || !/^[A-Za-z0-9]+$/.test(a.name)) fail(`${at}.name`, 'must be an action name such as GetObject');
  if (a.lastAccessedTime !== undefined) isoDate(a.lastAccessedTime, `${at}.lastAccessedTime`, fail);
  optionalString(a.region, `${at}.region`, fail);
  optionalString(a.entity, `${at}.entity`, fail);
  return {
    name: a.name as string,
    lastAccessedTime: a.lastAccessedTime as string | undefined,
    region: a.region as string | undefined,
    entity: a.entity as string | undefined,
  };
}

function object(raw: unknown, at: string, fail: Fail): Record<string, unknown> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(at, 'must be a JSON object');
  return raw as Record<string, unknown>;
}

/** The object with `null` taken as absent for its optional fields (the shape the pipeline's own reports use). */
function withoutNulls(o: Record<string, unknown>, optional: readonly string[]): Record<string, unknown> {
  const copy = { ...o };
  for (const key of optional) if (copy[key] === null) delete copy[key];
  return copy;
}

function names(value: unknown, at: string, fail: Fail): void {
  if (!Array.isArray(value)) fail(at, 'must be an array of names');
  (value as unknown[]).forEach((n, i) => {
    if (typeof n !== 'string' || !NAME_PATTERN.test(n)) fail(`${at}[${i}]`, 'must be a group name');
  });
}

function unknownFields(o: Record<string, unknown>, allowed: readonly string[], at: string, fail: Fail): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) fail(at ? `${at}.${key}` : key, `is not a known field (allowed: ${allowed.join(', ')})`);
  }
}

function isoDate(value: unknown, at: string, fail: Fail): void {
  if (typeof value !== 'string' || !ISO_8601.test(value) || Number.isNaN(Date.parse(value))) {
    fail(at, 'must be an ISO-8601 date-time such as 2026-01-31T12:00:00Z');
  }
}

function optionalString(value: unknown, at: string, fail: Fail): void {
  if (value !== undefined && (typeof value !== 'string' || value.length === 0)) fail(at, 'must be a non-empty string');
}

function count(value: unknown, at: string, fail: Fail): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) fail(at, 'must be a whole number, 0 or more');
}
