/**
 * The IAM operations the emulator answers, over an account loaded from an account file. Each operation
 * takes the request's parameters and the caller's access key id and returns the `<Action>Result` content
 * or throws the IamError that IAM would answer.
 */
import { randomUUID } from 'node:crypto';
import { GRANULARITIES, type Granularity } from '../../lambda/core/model';
import type { Account, Entity, EntityType, ServiceRecord } from './account';
import type { Clock } from './clock';
import { sharedActionSpace, type PolicyDocument } from '../../lambda/core/policy';
import { derivedEntityId } from './account';
import { IamError, invalidInput, noSuchEntity, QueryParams, type XmlObject, type XmlValue } from './query';

export const OPERATIONS = [
  'ListUsers',
  'ListGroups',
  'ListRoles',
  'ListPolicies',
  'GetAccountAuthorizationDetails',
  'GenerateServiceLastAccessedDetails',
  'GetServiceLastAccessedDetails',
  'GetServiceLastAccessedDetailsWithEntities',
  'ListPoliciesGrantingServiceAccess',
] as const;
export type Operation = (typeof OPERATIONS)[number];

export { GRANULARITIES, type Granularity };

export interface JobSettings {
  /** Simulated milliseconds a job stays IN_PROGRESS. @default 3000 */
  readonly jobLatencyMs?: number;
  /** Simulated milliseconds a `slow-job` entity's job stays IN_PROGRESS. @default 6 hours */
  readonly slowJobLatencyMs?: number;
  /**
   * Truncated pages hold fewer items than MaxItems, as IAM is documented to do at times, so that clients
   * which stop on a short page are caught. @default false
   */
  readonly shortPages?: boolean;
}

interface Job {
  readonly id: string;
  /** Access key id that generated the job: only it can read the job, as IAM binds a JobId to a session. */
  readonly owner: string;
  readonly entity: Entity;
  readonly granularity: Granularity;
  readonly createdAt: number;
  readonly completesAt: number;
  readonly fails: boolean;
}

const DEFAULT_JOB_LATENCY_MS = 3_000;
/** AWS managed policies in the emulator were all created on one day. */
const AWS_MANAGED_CREATE_DATE = '2015-02-06T18:40:00Z';

function derivedPolicyId(arn: string): string {
  return derivedEntityId('policy', arn);
}
const DEFAULT_SLOW_JOB_LATENCY_MS = 6 * 3600_000;
const DEFAULT_MAX_ITEMS = 100;
const ARN_PATTERN = /^arn:aws[\w-]*:iam::(\d{12}):(user|group|role|policy)(\/.*)?$/;

/** A job as the emulator made it: when, in ms of its clock, it was generated and when it finished. */
export interface FinishedJob {
  readonly arn: string;
  readonly createdAt: number;
  readonly completedAt: number;
}

export class IamBackend {
  private readonly jobs = new Map<string, Job>();
  private latestFinished: FinishedJob | null = null;
  private readonly jobLatencyMs: number;
  private readonly slowJobLatencyMs: number;

  constructor(
    readonly account: Account,
    private readonly clock: Clock,
    private readonly settings: JobSettings = {},
  ) {
    this.jobLatencyMs = settings.jobLatencyMs ?? DEFAULT_JOB_LATENCY_MS;
    this.slowJobLatencyMs = settings.slowJobLatencyMs ?? DEFAULT_SLOW_JOB_LATENCY_MS;
    if (!(this.jobLatencyMs >= 0)) throw new RangeError(`jobLatencyMs must be 0 or more, got ${this.jobLatencyMs}`);
    if (!(this.slowJobLatencyMs >= 0)) throw new RangeError(`slowJobLatencyMs must be 0 or more, got ${this.slowJobLatencyMs}`);
  }

  get jobCount(): number {
    return this.jobs.size;
  }

  /** Of the jobs answered as finished (COMPLETED or FAILED), the one IAM finished last. */
  get lastJobFinished(): FinishedJob | null {
    return this.latestFinished;
  }

  /** Notes a job answered as finished: no run can end before the last of them is read. */
  private finished(job: Job): void {
    if (this.latestFinished === null || job.completesAt > this.latestFinished.completedAt) {
      this.latestFinished = { arn: job.entity.arn, createdAt: job.createdAt, completedAt: job.completesAt };
    }
  }

  handle(operation: Operation, params: QueryParams, caller: string): XmlObject {
    switch (operation) {
      case 'ListUsers':
        return this.listIdentities('user', 'Users', params);
      case 'ListGroups':
        return this.listIdentities('group', 'Groups', params);
      case 'ListRoles':
        return this.listIdentities('role', 'Roles', params);
      case 'ListPolicies':
        return this.listPolicies(params);
      case 'GetAccountAuthorizationDetails':
        return this.getAccountAuthorizationDetails(params);
      case 'GenerateServiceLastAccessedDetails':
        return this.generate(params, caller);
      case 'GetServiceLastAccessedDetails':
        return this.getDetails(params, caller);
      case 'GetServiceLastAccessedDetailsWithEntities':
        return this.getDetailsWithEntities(params, caller);
      case 'ListPoliciesGrantingServiceAccess':
        return this.listPoliciesGrantingServiceAccess(params);
    }
  }

  private listIdentities(type: Exclude<EntityType, 'policy'>, element: string, params: QueryParams): XmlObject {
    const prefix = pathPrefix(params);
    const matching = this.account.entities.filter((e) => e.type === type && e.path.startsWith(prefix));
    const page = this.page(matching, params, `${type}|${prefix}`);
    return { [element]: page.items.map((e) => identityXml(e)), ...page.marker };
  }

  private listPolicies(params: QueryParams): XmlObject {
    const scope = params.get('Scope') ?? 'All';
    if (!['All', 'AWS', 'Local'].includes(scope)) throw invalidInput(`Invalid Scope "${scope}": must be All, AWS or Local`);
    const usage = params.get('PolicyUsageFilter');
    if (usage !== undefined && !['PermissionsPolicy', 'PermissionsBoundary'].includes(usage)) {
      throw invalidInput(`Invalid PolicyUsageFilter "${usage}": must be PermissionsPolicy or PermissionsBoundary`);
    }
    const onlyAttached = params.boolean('OnlyAttached') ?? false;
    const prefix = pathPrefix(params);
    // The account file holds customer managed policies only: AWS managed policies are not emulated.
    const matching = this.account.entities.filter(
      (e) =>
        e.type === 'policy' &&
        scope !== 'AWS' &&
        usage !== 'PermissionsBoundary' &&
        e.path.startsWith(prefix) &&
        (!onlyAttached || e.attachmentCount > 0),
    );
    const page = this.page(matching, params, `policy|${scope}|${onlyAttached}|${usage}|${prefix}`);
    return { Policies: page.items.map((e) => policyXml(e)), ...page.marker };
  }

  /**
   * Every user, group, role and managed policy with its policies, documents URL-encoded as IAM sends them,
   * in pages. Without policy data in the account file, each identity's grants are shown as one inline
   * policy allowing `<service>:*` for each service the file gives it.
   */
  private getAccountAuthorizationDetails(params: QueryParams): XmlObject {
    const filterTypes = ['User', 'Group', 'Role', 'LocalManagedPolicy', 'AWSManagedPolicy'];
    const filter = params.list('Filter') ?? [];
    for (const value of filter) {
      if (!filterTypes.includes(value)) throw invalidInput(`Invalid Filter value "${value}": must be one of ${filterTypes.join(', ')}`);
    }
    const wanted = new Set(filter.length === 0 ? filterTypes : filter);
    type Item = { kind: 'entity'; entity: Entity } | { kind: 'aws'; arn: string; document: PolicyDocument };
    const byType = (type: EntityType): Item[] => this.account.entities.filter((e) => e.type === type).map((entity) => ({ kind: 'entity', entity }));
    const items: Item[] = [
      ...(wanted.has('User') ? byType('user') : []),
      ...(wanted.has('Group') ? byType('group') : []),
      ...(wanted.has('Role') ? byType('role') : []),
      ...(wanted.has('LocalManagedPolicy') ? byType('policy') : []),
      ...(wanted.has('AWSManagedPolicy') ? [...this.account.awsManagedPolicies].map(([arn, document]): Item => ({ kind: 'aws', arn, document })) : []),
    ];
    const page = this.page(items, params, `gaad|${[...wanted].sort().join(',')}`);
    const entities = (type: EntityType): Entity[] => page.items.flatMap((i) => (i.kind === 'entity' && i.entity.type === type ? [i.entity] : []));
    const inline = (e: Entity): XmlObject[] =>
      this.account.hasPolicyData ? e.inlinePolicies.map((p) => ({ PolicyName: p.name, PolicyDocument: encodeURIComponent(JSON.stringify(p.document)) })) : [inlinePolicyXml(e)];
    const attached = (e: Entity): XmlObject[] => e.attachedPolicies.map((arn) => ({ PolicyName: arn.slice(arn.lastIndexOf('/') + 1), PolicyArn: arn }));
    const tags = (e: Entity): XmlObject[] => Object.entries(e.tags).map(([Key, Value]) => ({ Key, Value }));
    const version = (document: string, id: string, isDefault: boolean, createDate: string): XmlObject => ({ Document: encodeURIComponent(document), VersionId: id, IsDefaultVersion: isDefault, CreateDate: createDate });
    // A customer managed policy's default version first, then the others IAM keeps.
    const versions = (e: Entity, document: string): XmlObject[] => [
      version(document, e.defaultVersion.id, true, e.defaultVersion.createDate),
      ...e.versions.map((v) => version(JSON.stringify(v.document), v.id, false, v.createDate)),
    ];
    return {
      UserDetailList: entities('user').map((e) => ({ ...identityXml(e), UserPolicyList: inline(e), GroupList: [...e.groups], AttachedManagedPolicies: attached(e), Tags: tags(e) })),
      GroupDetailList: entities('group').map((e) => ({ ...identityXml(e), GroupPolicyList: inline(e), AttachedManagedPolicies: attached(e) })),
      RoleDetailList: entities('role').map((e) => ({
        ...identityXml(e),
        InstanceProfileList: [],
        RolePolicyList: inline(e),
        AttachedManagedPolicies: attached(e),
        Tags: tags(e),
        RoleLastUsed: lastUse(e),
      })),
      Policies: page.items.flatMap((i): XmlObject[] => {
        if (i.kind === 'aws') {
          const attachments = this.account.entities.filter((e) => e.attachedPolicies.includes(i.arn)).length;
          return [
            {
              PolicyName: i.arn.slice(i.arn.lastIndexOf('/') + 1),
              PolicyId: derivedPolicyId(i.arn),
              Arn: i.arn,
              Path: '/',
              DefaultVersionId: 'v1',
              AttachmentCount: attachments,
              PermissionsBoundaryUsageCount: 0,
              IsAttachable: true,
              CreateDate: AWS_MANAGED_CREATE_DATE,
              UpdateDate: AWS_MANAGED_CREATE_DATE,
              PolicyVersionList: [version(JSON.stringify(i.document), 'v1', true, AWS_MANAGED_CREATE_DATE)],
            },
          ];
        }
        if (i.entity.type !== 'policy') return [];
        const document = i.entity.document ? JSON.stringify(i.entity.document) : policyDocument(i.entity.services);
        return [{ ...policyXml(i.entity), PolicyVersionList: versions(i.entity, document) }];
      }),
      ...page.marker,
    };
  }

  private generate(params: QueryParams, caller: string): XmlObject {
    const arn = params.required('Arn');
    const granularity = params.get('Granularity') ?? 'SERVICE_LEVEL';
    if (!(GRANULARITIES as readonly string[]).includes(granularity)) {
      throw invalidInput(`Invalid Granularity "${granularity}": must be SERVICE_LEVEL or ACTION_LEVEL`);
    }
    const entity = this.entity(arn);
    if (entity.fault === 'deleted-before-generate') throw missing(entity.type, entity.name, entity.arn);
    const now = this.clock.now();
    const latency = entity.fault === 'slow-job' ? this.slowJobLatencyMs : this.jobLatencyMs;
    const job: Job = {
      id: randomUUID(),
      owner: caller,
      entity,
      granularity: granularity as Granularity,
      createdAt: now,
      completesAt: now + latency,
      fails: entity.fault === 'job-fails',
    };
    this.jobs.set(job.id, job);
    return { JobId: job.id };
  }

  private getDetails(params: QueryParams, caller: string): XmlObject {
    const job = this.job(params, caller);
    const status = this.status(job);
    if (status !== 'IN_PROGRESS') this.finished(job);
    const services = status === 'COMPLETED' ? sortedServices(job.entity) : [];
    const page = this.page(services, params, `get|${job.id}`);
    return {
      JobStatus: status,
      JobType: job.granularity,
      JobCreationDate: new Date(job.createdAt),
      ServicesLastAccessed: page.items.map((s) => serviceXml(job, s)),
      JobCompletionDate: status === 'IN_PROGRESS' ? undefined : new Date(job.completesAt),
      ...page.marker,
      Error: status === 'FAILED' ? jobError(job) : undefined,
    };
  }

  /**
   * Who could have used the group's or policy's permissions for the service, each with their own last
   * use of it (null when they never used it): a group's users; a policy's users and roles, directly or
   * through a group. For a user or role, the entity itself. Without membership or attachment data in the
   * account file, the one principal the file names as the last user stands in.
   */
  private getDetailsWithEntities(params: QueryParams, caller: string): XmlObject {
    const job = this.job(params, caller);
    const namespace = params.required('ServiceNamespace');
    if (!/^[\w-]{1,64}$/.test(namespace)) throw invalidInput(`Invalid ServiceNamespace "${namespace}"`);
    const status = this.status(job);
    const service = job.entity.services.find((s) => s.namespace === namespace);
    const details: XmlObject[] = [];
    if (status === 'COMPLETED' && service) {
      for (const who of this.principalsOf(job.entity, service)) {
        details.push({ EntityInfo: entityInfo(who), LastAuthenticated: who.services.find((s) => s.namespace === namespace)?.lastAuthenticated });
      }
    }
    const page = this.page(details, params, `entities|${job.id}|${namespace}`);
    return {
      JobStatus: status,
      JobCreationDate: new Date(job.createdAt),
      JobCompletionDate: status === 'IN_PROGRESS' ? undefined : new Date(job.completesAt),
      EntityDetailsList: page.items,
      ...page.marker,
      Error: status === 'FAILED' ? jobError(job) : undefined,
    };
  }

  private principalsOf(entity: Entity, service: ServiceRecord): Entity[] {
    if (entity.type === 'user' || entity.type === 'role') return [entity];
    const all = this.account.entities;
    const found =
      entity.type === 'group'
        ? all.filter((e) => e.type === 'user' && e.groups.includes(entity.name))
        : (() => {
            const groups = new Set(all.filter((g) => g.type === 'group' && g.attachedPolicies.includes(entity.arn)).map((g) => g.name));
            return all.filter((e) => (e.type === 'user' || e.type === 'role') && (e.attachedPolicies.includes(entity.arn) || e.groups.some((g) => groups.has(g))));
          })();
    if (found.length > 0) return found;
    const last = service.lastAuthenticatedEntity ? this.account.byArn.get(service.lastAuthenticatedEntity) : undefined;
    return last ? [last] : [];
  }

  /** For each namespace, the policies of the identity (a user: its groups' too) that grant something of it. */
  private listPoliciesGrantingServiceAccess(params: QueryParams): XmlObject {
    const arn = params.required('Arn');
    const namespaces = params.list('ServiceNamespaces') ?? [];
    if (namespaces.length < 1 || namespaces.length > 200) {
      throw invalidInput(`ServiceNamespaces must hold 1 to 200 namespaces, got ${namespaces.length}`);
    }
    for (const ns of namespaces) if (!/^[\w-]{1,64}$/.test(ns)) throw invalidInput(`Invalid service namespace "${ns}"`);
    const entity = this.entity(arn);
    if (entity.type === 'policy') throw invalidInput(`Arn must name a user, group or role, not a policy: ${arn}`);
    const space = sharedActionSpace();
    const granting = (ns: string): XmlObject[] => {
      if (!this.account.hasPolicyData) {
        return entity.services.some((s) => s.namespace === ns) ? [{ PolicyName: inlinePolicyName(entity), PolicyType: 'INLINE', EntityType: entity.type.toUpperCase(), EntityName: entity.name }] : [];
      }
      const holders = [entity, ...(entity.type === 'user' ? this.account.entities.filter((g) => g.type === 'group' && entity.groups.includes(g.name)) : [])];
      const found: XmlObject[] = [];
      for (const holder of holders) {
        for (const p of holder.inlinePolicies) {
          if (space.servicesGranted(p.document).has(ns)) found.push({ PolicyName: p.name, PolicyType: 'INLINE', EntityType: holder.type.toUpperCase(), EntityName: holder.name });
        }
        for (const policyArn of holder.attachedPolicies) {
          const document = this.account.awsManagedPolicies.get(policyArn) ?? this.account.byArn.get(policyArn)?.document;
          if (document && space.servicesGranted(document).has(ns)) found.push({ PolicyName: policyArn.slice(policyArn.lastIndexOf('/') + 1), PolicyType: 'MANAGED', PolicyArn: policyArn });
        }
      }
      return found;
    };
    const entries = namespaces.map((ns) => ({ ServiceNamespace: ns, Policies: granting(ns) }));
    const page = this.page(entries, params, `granting|${arn}|${namespaces.join(',')}`);
    return { PoliciesGrantingServiceAccess: page.items, ...page.marker };
  }

  private entity(arn: string): Entity {
    const match = ARN_PATTERN.exec(arn);
    if (!match || arn.length > 2048) throw invalidInput(`Invalid ARN "${arn}": must be the ARN of an IAM user, group, role or policy`);
    const entity = this.account.byArn.get(arn);
    if (!entity) {
      const type = match[2] as EntityType;
      throw missing(type, arn.slice(arn.lastIndexOf('/') + 1), arn);
    }
    return entity;
  }

  private job(params: QueryParams, caller: string): Job {
    const id = params.required('JobId');
    if (id.length !== 36) {
      throw new IamError(
        'ValidationError',
        `1 validation error detected: Value '${id}' at 'jobId' failed to satisfy constraint: Member must have length equal to 36`,
      );
    }
    const job = this.jobs.get(id);
    // A job generated under other credentials is answered exactly as one that does not exist.
    if (!job || job.owner !== caller) throw noSuchEntity(`No job found for JobId ${id}`);
    return job;
  }

  private status(job: Job): 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' {
    if (this.clock.now() < job.completesAt) return 'IN_PROGRESS';
    return job.fails ? 'FAILED' : 'COMPLETED';
  }

  private page<T>(items: readonly T[], params: QueryParams, scope: string): { items: T[]; marker: XmlObject } {
    const maxItemsText = params.get('MaxItems');
    let maxItems = DEFAULT_MAX_ITEMS;
    if (maxItemsText !== undefined) {
      maxItems = Number(maxItemsText);
      if (!/^\d+$/.test(maxItemsText) || maxItems < 1 || maxItems > 1000) {
        throw invalidInput(`Invalid MaxItems "${maxItemsText}": must be a whole number from 1 to 1000`);
      }
    }
    const markerText = params.get('Marker');
    const offset = markerText === undefined ? 0 : decodeMarker(markerText, scope);
    let size = maxItems;
    if (this.settings.shortPages && offset + maxItems < items.length) size = Math.max(1, Math.floor((maxItems * 2) / 3));
    const end = Math.min(items.length, offset + size);
    const truncated = end < items.length;
    return {
      items: items.slice(offset, end),
      marker: { IsTruncated: truncated, Marker: truncated ? encodeMarker(scope, end) : undefined },
    };
  }
}

function pathPrefix(params: QueryParams): string {
  const prefix = params.get('PathPrefix') ?? '/';
  if (!/^\/[\u0021-\u007F]*$/.test(prefix) || prefix.length > 512) throw invalidInput(`Invalid PathPrefix "${prefix}": must start with "/"`);
  return prefix;
}

function encodeMarker(scope: string, offset: number): string {
  return Buffer.from(JSON.stringify([scope, offset])).toString('base64');
}

function decodeMarker(marker: string, scope: string): number {
  try {
    const [markerScope, offset] = JSON.parse(Buffer.from(marker, 'base64').toString('utf8')) as [string, number];
    if (markerScope === scope && Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // fall through to the error IAM gives for a marker it did not issue
  }
  throw invalidInput('Invalid Marker: use the Marker of the previous response to the same request');
}

function missing(type: EntityType, name: string, arn: string): IamError {
  if (type === 'policy') return noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);
  return noSuchEntity(`The ${type} with name ${name} cannot be found.`);
}

function identityXml(e: Entity): XmlObject {
  const key = { user: 'User', group: 'Group', role: 'Role', policy: 'Policy' }[e.type];
  const base: Record<string, XmlValue> = { Path: e.path, [`${key}Name`]: e.name, [`${key}Id`]: e.id, Arn: e.arn, CreateDate: e.createDate };
  if (e.type === 'role') {
    base.AssumeRolePolicyDocument = encodeURIComponent(trustPolicy(e));
    base.MaxSessionDuration = 3600;
  }
  return base;
}

function policyXml(e: Entity): XmlObject {
  return {
    PolicyName: e.name,
    PolicyId: e.id,
    Arn: e.arn,
    Path: e.path,
    DefaultVersionId: e.defaultVersion.id,
    AttachmentCount: e.attachmentCount,
    PermissionsBoundaryUsageCount: 0,
    IsAttachable: true,
    CreateDate: e.createDate,
    // As IAM says it: when the newest version was made (the policy's creation, with one version).
    UpdateDate: [e.defaultVersion, ...e.versions].map((v) => v.createDate).reduce((a, b) => (Date.parse(b) > Date.parse(a) ? b : a), e.createDate),
  };
}

/** Identities in the account file carry their grants as one inline policy; its name is derived. */
function inlinePolicyName(e: Entity): string {
  return `${e.name}-permissions`.slice(0, 128);
}

function inlinePolicyXml(e: Entity): XmlObject {
  return { PolicyName: inlinePolicyName(e), PolicyDocument: encodeURIComponent(policyDocument(e.services)) };
}

function policyDocument(services: readonly ServiceRecord[]): string {
  const actions = services.map((s) => `${s.namespace}:*`);
  return JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] });
}

function trustPolicy(e: Entity): string {
  if (e.trustPolicy) return JSON.stringify(e.trustPolicy);
  const slr = /^\/aws-service-role\/([^/]+)\/$/.exec(e.path);
  const principal = slr ? slr[1] : 'lambda.amazonaws.com';
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: principal }, Action: 'sts:AssumeRole' }],
  });
}

function lastUse(e: Entity): XmlObject | undefined {
  let latest: ServiceRecord | undefined;
  for (const s of e.services) {
    if (s.lastAuthenticated && (!latest || Date.parse(s.lastAuthenticated) > Date.parse(latest.lastAuthenticated!))) latest = s;
  }
  return latest ? { LastUsedDate: latest.lastAuthenticated, Region: latest.lastAuthenticatedRegion } : undefined;
}

function sortedServices(e: Entity): ServiceRecord[] {
  return [...e.services].sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0));
}

function serviceXml(job: Job, s: ServiceRecord): XmlObject {
  return {
    ServiceName: s.name,
    LastAuthenticated: s.lastAuthenticated,
    ServiceNamespace: s.namespace,
    LastAuthenticatedEntity: s.lastAuthenticatedEntity,
    LastAuthenticatedRegion: s.lastAuthenticatedRegion,
    TotalAuthenticatedEntities: totalAuthenticatedEntities(s),
    // As IAM sends it: at ACTION_LEVEL, the tracked actions used in the tracking period, or nothing.
    TrackedActionsLastAccessed:
      job.granularity === 'ACTION_LEVEL' && s.actions?.some((a) => a.lastAccessedTime)
        ? s.actions.filter((a) => a.lastAccessedTime).map((a) => ({
            ActionName: a.name,
            LastAccessedEntity: a.entity,
            LastAccessedRegion: a.region,
            LastAccessedTime: a.lastAccessedTime,
          }))
        : undefined,
  };
}

/** IAM always reports a count; a file that leaves it out means one principal if the service was used. */
export function totalAuthenticatedEntities(s: ServiceRecord): number {
  return s.totalAuthenticatedEntities ?? (s.lastAuthenticated ? 1 : 0);
}

function entityInfo(e: Entity): XmlObject {
  return { Arn: e.arn, Name: e.name, Type: e.type.toUpperCase(), Id: e.id, Path: e.path };
}

function jobError(job: Job): XmlObject {
  return { Code: 'ServiceFailure', Message: `The service last accessed report for ${job.entity.arn} could not be generated.` };
}
