/**
 * A deterministic generator of realistic sample accounts: the same options always give the same bytes.
 * The mix follows what security teams see in real accounts: many roles (some service-linked), fewer
 * users, a few groups, a long tail of customer managed policies; most grants never used; a few admin-like
 * identities granted well over 100 services; and a few entities with faults.
 */
import { iamCatalog } from '../../lambda/core/catalog';
import type { PolicyDocument } from '../../lambda/core/policy';
import { entityArn, derivedEntityId, type AccountFile, type AwsManagedPolicy, type EntityRecord, type EntityType, type Fault, type ServiceRecord, type TrackedActionRecord } from './account';
import { SAMPLE_AWS_MANAGED_POLICIES } from './aws-managed';

export interface SampleOptions {
  /** Number of entities (users, groups, roles and customer managed policies together). */
  readonly entities: number;
  /** Any number or string; equal seeds give equal accounts. */
  readonly seed: number | string;
  /** The day the account is observed on: every date in it is before this. @default today, 00:00 UTC */
  readonly asOf?: Date;
  /** @default 123456789012 */
  readonly accountId?: string;
}

/** Every service of the IAM action catalogue, with the name IAM gives it. */
export const SERVICES: ReadonlyArray<{ namespace: string; name: string }> = iamCatalog()
  .serviceKeys()
  .map((namespace) => ({ namespace, name: iamCatalog().serviceName(namespace)! }));

/** Services most identities touch, in rough order of how common they are. */
const COMMON = [
  's3', 'sts', 'logs', 'cloudwatch', 'iam', 'lambda', 'ec2', 'kms', 'dynamodb', 'sqs', 'sns', 'ssm',
  'secretsmanager', 'ecr', 'ecs', 'cloudformation', 'events', 'states', 'rds', 'kinesis', 'athena', 'glue',
  'apigateway', 'xray', 'elasticloadbalancing', 'autoscaling', 'route53', 'cloudtrail', 'config', 'firehose',
];

/**
 * Management actions IAM tracks at action level (see lambda/core/tracked-actions.ts), the ones identities
 * commonly use; data events such as s3:GetObject and lambda:InvokeFunction are never tracked.
 */
export const SAMPLE_TRACKED_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  s3: ['CreateBucket', 'DeleteBucket', 'PutBucketPolicy', 'GetBucketPolicy', 'PutBucketVersioning', 'GetBucketLocation'],
  ec2: ['RunInstances', 'TerminateInstances', 'DescribeInstances', 'CreateSecurityGroup', 'AuthorizeSecurityGroupIngress', 'CreateVolume'],
  iam: ['CreateRole', 'DeleteRole', 'AttachRolePolicy', 'CreateAccessKey', 'UpdateAssumeRolePolicy', 'CreateUser'],
  lambda: ['CreateFunction', 'UpdateFunctionCode', 'DeleteFunction', 'AddPermission', 'GetFunction', 'UpdateFunctionConfiguration'],
};

const REGIONS = ['us-east-1', 'us-east-1', 'us-east-1', 'eu-west-1', 'us-west-2', 'eu-central-1', 'ap-southeast-2', 'ap-northeast-1'];
const FIRST = ['ana', 'ben', 'carla', 'dmitri', 'elena', 'farid', 'grace', 'hiro', 'ines', 'jonas', 'kemi', 'lars', 'maya', 'nils', 'olga', 'priya', 'quinn', 'rosa', 'sven', 'tariq', 'uma', 'viktor', 'wen', 'yusuf', 'zoe', 'amir', 'beatriz', 'chen', 'dara', 'emeka'];
const LAST = ['silva', 'novak', 'okafor', 'tanaka', 'garcia', 'mueller', 'kowalski', 'haddad', 'jensen', 'kim', 'larsen', 'moreau', 'nguyen', 'ortiz', 'petrov', 'rossi', 'sato', 'schmidt', 'singh', 'walsh'];
const TEAMS = ['payments', 'checkout', 'search', 'identity', 'data', 'platform', 'mobile', 'billing', 'ml', 'growth', 'risk', 'media', 'infra', 'support', 'analytics'];
const APPS = ['api', 'worker', 'etl', 'web', 'scheduler', 'ingest', 'exporter', 'indexer', 'gateway', 'reports'];
const PURPOSES = ['lambda', 'ecs-task', 'deploy', 'read', 'write', 'batch', 'build', 'replication', 'backup', 'monitoring'];
const ENVS = ['prod', 'staging', 'dev', 'sandbox'];
const GROUPS = ['Admins', 'Developers', 'ReadOnly', 'Billing', 'SecurityAudit', 'DataScience', 'Support', 'Contractors', 'Oncall', 'NetworkAdmins'];
const SERVICE_LINKED = [
  ['guardduty', 'AmazonGuardDuty'], ['elasticloadbalancing', 'ElasticLoadBalancing'], ['autoscaling', 'AutoScaling'],
  ['rds', 'RDS'], ['ecs', 'ECS'], ['organizations', 'Organizations'], ['sso', 'SSO'], ['config', 'Config'],
  ['securityhub', 'SecurityHub'], ['support', 'Support'], ['trustedadvisor', 'TrustedAdvisor'], ['cloudtrail', 'CloudTrail'],
];
/** Names that use every character IAM allows beyond letters and digits. */
const ODD_USER_NAMES = ['ops+oncall', 'build=release', 'team,infra', 'jane.doe@example.com', 'svc_ci-runner'];

const DAY = 86_400_000;

/** Small, fast, seedable PRNG (mulberry32); quality is ample for sample data. */
export function prng(seed: number | string): () => number {
  let h = 2166136261;
  for (const ch of String(seed)) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  let a = h >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Draft {
  type: EntityType;
  name: string;
  path: string;
  serviceLinked?: string;
  adminLike: boolean;
  dormant: boolean;
  fault?: Fault;
}

export function generateSampleAccount(options: SampleOptions): AccountFile {
  const { entities: total, seed } = options;
  if (!Number.isInteger(total) || total < 0) throw new RangeError(`entities must be a whole number, 0 or more, got ${total}`);
  const accountId = options.accountId ?? '123456789012';
  const asOf = (options.asOf ? new Date(options.asOf) : new Date()).setUTCHours(0, 0, 0, 0);
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const between = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));

  const drafts = draftEntities(total, random, pick);
  assignFaults(drafts, random);

  const byNamespace = new Map(SERVICES.map((s) => [s.namespace, s]));
  const common = COMMON.filter((ns) => byNamespace.has(ns));
  const arnOf = (d: Draft): string => entityArn(accountId, d.type, d.path, d.name);
  const users = drafts.filter((d) => d.type === 'user').map(arnOf);
  const principals = [...users, ...drafts.filter((d) => d.type === 'role').map(arnOf)];
  // Who last used a grant: the identity itself; for a group one of its users; for a policy any user or role.
  const userOf = (d: Draft, arn: string): string | undefined => {
    if (d.type === 'user' || d.type === 'role') return arn;
    const pool = d.type === 'group' ? users : principals;
    return pool.length > 0 ? pick(pool) : undefined;
  };

  const records = drafts.map((d): EntityRecord => {
    const arn = arnOf(d);
    const granted = grantedServices(d, random, between, common);
    const services = granted.map((namespace) => {
      const service = byNamespace.get(namespace)!;
      const popular = common.indexOf(namespace);
      const useChance = d.dormant ? 0 : d.serviceLinked ? 0.85 : popular >= 0 ? 0.65 - popular * 0.012 : 0.12;
      const used = random() < useChance;
      return serviceRecord(service, used, used ? userOf(d, arn) : undefined, d.type, asOf, random, pick, between);
    });
    const record: EntityRecord = {
      type: d.type,
      name: d.name,
      path: d.path,
      id: derivedEntityId(d.type, arn),
      createDate: isoSeconds(asOf - between(30, 2200) * DAY - between(0, DAY / 1000) * 1000),
      ...(d.fault ? { fault: d.fault } : {}),
      ...(d.type === 'policy' ? { attachmentCount: random() < 0.15 ? 0 : between(1, 12) } : {}),
      services,
    };
    return record;
  });
  const awsManagedPolicies = addPolicyData(records, drafts, accountId, random, pick, between);
  return { accountId, awsManagedPolicies, entities: records };
}

/** The policy a sample identity's own grants come from: `service:*` for most, a few named actions for some. */
function inlineDocument(services: readonly ServiceRecord[], random: () => number, pick: <T>(items: readonly T[]) => T): PolicyDocument {
  const actions = services.flatMap((s) => {
    const catalogued = iamCatalog().actions(s.namespace) ?? [];
    // Tracked services keep `service:*`, so that the tracked actions a sample says were used are allowed.
    if (SAMPLE_TRACKED_ACTIONS[s.namespace] || catalogued.length === 0 || random() < 0.45) return [`${s.namespace}:*`];
    return [...new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, () => `${s.namespace}:${pick(catalogued).name}`))];
  });
  return { Version: '2012-10-17', Statement: actions.length === 0 ? [] : [{ Effect: 'Allow', Action: actions, Resource: '*' }] };
}

/** An identity's inline policy: IAM Identity Center names a permission set's AwsSSOInlinePolicy in every role it makes. */
function inlinePolicyName(r: { readonly name: string; readonly path?: string }): string {
  return r.path?.startsWith('/aws-reserved/sso.amazonaws.com/') ? 'AwsSSOInlinePolicy' : `${r.name}-access`.slice(0, 128);
}

const ROLE_MANAGED = [
  'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
  'arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess',
  'arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess',
  'arn:aws:iam::aws:policy/AmazonSQSFullAccess',
  'arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess',
  'arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess',
  'arn:aws:iam::aws:policy/AmazonS3FullAccess',
];
const GROUP_MANAGED = ['arn:aws:iam::aws:policy/SecurityAudit', 'arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess', 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'];

/**
 * Policy data as real accounts have it: inline policies granting each identity's services, AWS managed
 * attachments (AdministratorAccess for the admin-like, PowerUserAccess with its NotAction for a few users,
 * read-only and service policies for roles and groups), customer managed policies shared by several
 * identities, users in groups, a Deny and a Condition, one role granted `*` inline, and that role tagged
 * exempt. The emulator derives each identity's grants from these documents.
 */
function addPolicyData(
  records: EntityRecord[],
  drafts: readonly Draft[],
  accountId: string,
  random: () => number,
  pick: <T>(items: readonly T[]) => T,
  between: (lo: number, hi: number) => number,
): AwsManagedPolicy[] {
  const mutable = records as Array<EntityRecord & { inlinePolicies?: unknown; attachedPolicies?: string[]; document?: PolicyDocument; groups?: string[]; tags?: Record<string, string> }>;
  const attach = (r: (typeof mutable)[number], arn: string) => {
    if (!(r.attachedPolicies ??= []).includes(arn)) r.attachedPolicies.push(arn);
  };
  const groups = mutable.filter((r) => r.type === 'group');
  const ordinary = mutable.filter((r, i) => r.type !== 'policy' && !drafts[i].serviceLinked);
  mutable.forEach((r, i) => {
    const d = drafts[i];
    if (r.type === 'policy') {
      r.document = inlineDocument(r.services, random, pick);
      return;
    }
    if (d.adminLike) attach(r, 'arn:aws:iam::aws:policy/AdministratorAccess');
    else if (r.services.length > 0) (r as { inlinePolicies?: unknown }).inlinePolicies = [{ name: inlinePolicyName(r), document: inlineDocument(r.services, random, pick) }];
    if (r.type === 'user' && groups.length > 0 && random() < 0.7) r.groups = [...new Set(Array.from({ length: between(1, 2) }, () => pick(groups).name))];
    if (r.type === 'user' && !d.adminLike && random() < 0.01) attach(r, 'arn:aws:iam::aws:policy/PowerUserAccess');
    if (r.type === 'role' && !d.serviceLinked) {
      if (/lambda|worker|scheduler/.test(r.name)) attach(r, 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole');
      if (random() < 0.25) attach(r, pick(ROLE_MANAGED));
    }
    if (r.type === 'group' && random() < 0.5) attach(r, pick(GROUP_MANAGED));
  });
  // Customer managed policies, each attached to as many identities as its attachment count says.
  for (const policy of mutable.filter((r) => r.type === 'policy')) {
    const arn = entityArn(accountId, 'policy', policy.path ?? '/', policy.name);
    for (let n = 0; n < (policy.attachmentCount ?? 1) && ordinary.length > 0; n++) attach(pick(ordinary), arn);
  }
  // A Deny that stays whatever is trimmed, a Condition, and one role granted everything inline, tagged exempt.
  const contractors = groups.find((g) => g.name === 'Contractors');
  if (contractors) {
    (contractors as { inlinePolicies?: unknown }).inlinePolicies = [
      ...(((contractors as { inlinePolicies?: unknown[] }).inlinePolicies ?? []) as unknown[]),
      { name: 'Contractors-guardrails', document: { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: ['iam:*', 'organizations:*'], Resource: '*' }] } },
    ];
  }
  const roles = ordinary.filter((r) => r.type === 'role' && (r as { inlinePolicies?: unknown[] }).inlinePolicies);
  const regional = roles.find((r) => r.services.length >= 2);
  if (regional) {
    const policy = (regional as unknown as { inlinePolicies: Array<{ document: { Statement: Array<Record<string, unknown>> } }> }).inlinePolicies[0];
    for (const statement of policy.document.Statement) statement.Condition = { StringEquals: { 'aws:RequestedRegion': ['eu-west-1', 'us-east-1'] } };
  }
  const breakGlass = roles.find((r) => r !== regional && r.name.includes('-deploy-'));
  if (breakGlass) {
    (breakGlass as { inlinePolicies?: unknown }).inlinePolicies = [{ name: 'break-glass', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } }];
    breakGlass.tags = { 'iam-access-audit:exempt': 'true', team: 'platform' };
  }
  const used = new Set(mutable.flatMap((r) => r.attachedPolicies ?? []).filter((arn) => arn.includes(':aws:policy/')));
  return Object.entries(SAMPLE_AWS_MANAGED_POLICIES)
    .filter(([arn]) => used.has(arn))
    .map(([arn, document]) => ({ arn, document }));
}

function draftEntities(total: number, random: () => number, pick: <T>(items: readonly T[]) => T): Draft[] {
  const counts: Record<EntityType, number> = {
    role: Math.round(total * 0.45),
    user: Math.round(total * 0.22),
    group: Math.round(total * 0.08),
    policy: 0,
  };
  counts.policy = Math.max(0, total - counts.role - counts.user - counts.group);
  const taken = new Set<string>();
  const unique = (type: EntityType, base: string): string => {
    let name = base;
    for (let n = 2; taken.has(`${type}:${name.toLowerCase()}`); n++) name = `${base}-${n}`;
    taken.add(`${type}:${name.toLowerCase()}`);
    return name;
  };
  const drafts: Draft[] = [];
  const add = (d: Omit<Draft, 'adminLike' | 'dormant'>): void => {
    drafts.push({ ...d, adminLike: false, dormant: false });
  };

  for (let i = 0; i < counts.user; i++) {
    const base = i < ODD_USER_NAMES.length && counts.user >= 10 ? ODD_USER_NAMES[i] : random() < 0.15 ? `svc-${pick(TEAMS)}-${pick(APPS)}` : `${pick(FIRST)}.${pick(LAST)}`;
    add({ type: 'user', name: unique('user', base), path: random() < 0.2 ? `/${pick(TEAMS)}/` : '/' });
  }
  for (let i = 0; i < counts.group; i++) {
    const base = i < GROUPS.length ? GROUPS[i] : `${pick(TEAMS)}-${pick(['engineers', 'admins', 'readers', 'oncall'])}`;
    add({ type: 'group', name: unique('group', base), path: '/' });
  }
  for (let i = 0; i < counts.role; i++) {
    if (random() < 0.12) {
      const [service, suffix] = pick(SERVICE_LINKED);
      add({
        type: 'role',
        name: unique('role', `AWSServiceRoleFor${suffix}`),
        path: `/aws-service-role/${service}.amazonaws.com/`,
        serviceLinked: service,
      });
    } else if (random() < 0.05) {
      const hex = Math.floor(random() * 0xffffffff).toString(16).padStart(8, '0');
      add({ type: 'role', name: unique('role', `AWSReservedSSO_${pick(['AdministratorAccess', 'ReadOnlyAccess', 'PowerUserAccess'])}_${hex}`), path: '/aws-reserved/sso.amazonaws.com/' });
    } else {
      const path = random() < 0.15 ? '/service-role/' : random() < 0.1 ? `/${pick(TEAMS)}/` : '/';
      add({ type: 'role', name: unique('role', `${pick(TEAMS)}-${pick(APPS)}-${pick(PURPOSES)}-${pick(ENVS)}`), path });
    }
  }
  for (let i = 0; i < counts.policy; i++) {
    add({ type: 'policy', name: unique('policy', `${pick(TEAMS)}-${pick(APPS)}-${pick(PURPOSES)}-access`), path: random() < 0.2 ? '/managed/' : '/' });
  }

  const ordinary = drafts.filter((d) => !d.serviceLinked);
  // Admin-like identities, granted well over 100 services: about 2%, and at least one in accounts of 20 or more.
  const admins = Math.max(total >= 20 ? 1 : 0, Math.round(total * 0.02));
  for (let i = 0; i < admins && ordinary.length > 0; i++) pick(ordinary).adminLike = true;
  for (const d of ordinary) d.dormant = random() < 0.15;
  return drafts;
}

function assignFaults(drafts: Draft[], random: () => number): void {
  const rates: Array<[Fault, number]> = [['job-fails', 0.01], ['deleted-before-generate', 0.005], ['slow-job', 0.005]];
  const free = drafts.filter((d) => !d.adminLike);
  for (const [fault, rate] of rates) {
    const wanted = Math.max(drafts.length >= 30 ? 1 : 0, Math.round(drafts.length * rate));
    for (let i = 0; i < wanted && free.length > 0; i++) {
      free.splice(Math.floor(random() * free.length), 1)[0].fault = fault;
    }
  }
}

function grantedServices(d: Draft, random: () => number, between: (lo: number, hi: number) => number, common: string[]): string[] {
  const chosen = new Set<string>();
  if (d.serviceLinked) {
    chosen.add(d.serviceLinked);
    for (const ns of ['ec2', 'logs', 'cloudwatch', 'sns'].slice(0, between(0, 3))) chosen.add(ns);
  } else {
    const size = d.adminLike ? between(110, 260) : Math.min(SERVICES.length, Math.max(1, Math.round(Math.exp(random() * Math.log(45)))));
    // Popular services first, then the long tail, as real policies grant.
    for (const ns of common) if (chosen.size < size && random() < 0.5) chosen.add(ns);
    while (chosen.size < size) chosen.add(SERVICES[Math.floor(random() * SERVICES.length)].namespace);
  }
  return [...chosen];
}

function serviceRecord(
  service: { namespace: string; name: string },
  used: boolean,
  who: string | undefined,
  type: EntityType,
  asOf: number,
  random: () => number,
  pick: <T>(items: readonly T[]) => T,
  between: (lo: number, hi: number) => number,
): ServiceRecord {
  const tracked = SAMPLE_TRACKED_ACTIONS[service.namespace];
  if (!used || !who) {
    return {
      namespace: service.namespace,
      name: service.name,
      ...(tracked ? { actions: tracked.map((name) => ({ name })) } : {}),
    };
  }
  // Recent use dominates; a tail reaches back to the 400-day tracking window.
  const r = random();
  const daysAgo = r < 0.6 ? between(0, 30) : r < 0.85 ? between(31, 180) : between(181, 399);
  const last = asOf - daysAgo * DAY - between(1, DAY / 1000) * 1000;
  const region = pick(REGIONS);
  let actions: TrackedActionRecord[] | undefined;
  if (tracked) {
    const usedIndex = Math.floor(random() * tracked.length);
    actions = tracked.map((name, i) => {
      if (i === usedIndex) return { name, lastAccessedTime: isoSeconds(last), region, entity: who };
      if (random() < 0.4) {
        const earlier = Math.max(asOf - 399 * DAY, last - between(1, 90) * DAY);
        return { name, lastAccessedTime: isoSeconds(earlier), region: pick(REGIONS), entity: who };
      }
      return { name };
    });
  }
  return {
    namespace: service.namespace,
    name: service.name,
    lastAuthenticated: isoSeconds(last),
    lastAuthenticatedRegion: region,
    lastAuthenticatedEntity: who,
    totalAuthenticatedEntities: type === 'user' || type === 'role' ? 1 : between(1, 6),
    ...(actions ? { actions } : {}),
  };
}

function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export interface SampleOrganizationOptions {
  readonly accounts: number;
  readonly entitiesPerAccount: number;
  readonly seed: number | string;
  readonly asOf?: Date;
}

const ACCOUNT_NAMES = ['management', 'security-audit', 'payments-prod', 'payments-staging', 'data-prod', 'data-dev', 'identity-prod', 'ml-sandbox', 'platform-shared', 'logging'];

/**
 * A deterministic sample organization: a management account, the audit (hub) account, and workload
 * accounts under two OUs, each with a generated account's entities (so role names repeat across
 * accounts, as they do in real organizations). Every account is ACTIVE and has its member role; tests
 * and users change that in the file.
 */
export function generateSampleOrganization(options: SampleOrganizationOptions): OrganizationFileContent {
  const { accounts, entitiesPerAccount, seed } = options;
  if (!Number.isInteger(accounts) || accounts < 1 || accounts > 500) throw new RangeError(`accounts must be a whole number from 1 to 500, got ${accounts}`);
  const random = prng(`org/${seed}`);
  const idOf = () => String(100_000_000_000 + Math.floor(random() * 800_000_000_000)).slice(0, 12);
  const ids = new Set<string>();
  while (ids.size < accounts) ids.add(idOf());
  const accountIds = [...ids];
  const orgLetters = Math.floor(random() * 36 ** 10).toString(36).padStart(10, '0');
  const workloads = `ou-${orgLetters.slice(0, 4)}-${orgLetters.slice(2, 10)}`;
  const infrastructure = `ou-${orgLetters.slice(0, 4)}-${orgLetters.slice(0, 8)}`;
  return {
    organizationId: `o-${orgLetters}`,
    managementAccountId: accountIds[0],
    auditAccountId: accountIds[Math.min(1, accounts - 1)],
    memberRoleName: 'IamAccessAuditMember',
    organizationalUnits: [
      { id: workloads, name: 'Workloads' },
      { id: infrastructure, name: 'Infrastructure' },
    ],
    accounts: accountIds.map((accountId, i) => ({
      accountId,
      name: i < ACCOUNT_NAMES.length ? ACCOUNT_NAMES[i] : `workload-${i}`,
      status: 'ACTIVE',
      memberRole: 'present',
      ...(i === 0 ? {} : { parentId: i === 1 || i === 8 || i === 9 ? infrastructure : workloads }),
      ...(({ awsManagedPolicies, entities }) => ({ awsManagedPolicies, entities }))(generateSampleAccount({ entities: entitiesPerAccount, seed: `${seed}/${i}`, accountId, asOf: options.asOf })),
    })),
  };
}

/** An organization file's content, as written to disk. */
export interface OrganizationFileContent {
  readonly organizationId: string;
  readonly managementAccountId: string;
  readonly auditAccountId: string;
  readonly memberRoleName: string;
  readonly organizationalUnits: ReadonlyArray<{ readonly id: string; readonly name: string; readonly parentId?: string }>;
  readonly accounts: ReadonlyArray<{
    readonly accountId: string;
    readonly name: string;
    readonly status: 'ACTIVE' | 'SUSPENDED';
    readonly memberRole: 'present' | 'missing';
    readonly parentId?: string;
    readonly awsManagedPolicies?: readonly AwsManagedPolicy[];
    readonly entities: readonly EntityRecord[];
  }>;
}
