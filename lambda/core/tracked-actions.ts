/**
 * Which actions IAM reports action-level last accessed information for: management actions of the
 * services in the IAM User Guide's table "IAM action last accessed information services and actions"
 * (access_policies_last-accessed-action-last-accessed). Data events (for example `s3:GetObject` or
 * `lambda:InvokeFunction`) and the permissions to pass a resource to a service (`iam:PassRole`,
 * `lambda:PassCapacityProvider`: permissions another call checks, not API calls) are never tracked.
 *
 * Sources, as read on 2026-11-25:
 * - AWS Security Blog, "Review last accessed information to identify unused EC2, IAM, and Lambda
 *   permissions and tighten access for your IAM roles" (2023, updated 2023-09-28): S3 management actions
 *   since 2020; EC2, IAM and Lambda management actions since 2023.
 * - The IAM User Guide's table, whose first rows name access-analyzer, account and acm.
 *
 * The guide's table lists more services than these. Only the services confirmed here are listed: a
 * service left out is treated as untracked, which is the safe direction. The pipeline never trims an
 * action it cannot see tracked, and the emulator refuses action data IAM would not send.
 */
import type { Catalog } from './catalog';

interface UntrackedRule {
  /** Actions on these resource types are data events. */
  readonly resourceTypes?: readonly string[];
  /** These actions are data events or are not API calls. */
  readonly actions?: readonly string[];
  /**
   * Some untracked actions are API calls (data events): a call counts as use of the service, at service
   * level, with no tracked action to show for it. Without them, a service used by no tracked action
   * contradicts this table.
   */
  readonly dataEvents?: boolean;
}

export const ACTION_TRACKING: { readonly services: Readonly<Record<string, UntrackedRule>> } = {
  services: {
    'access-analyzer': {},
    account: {},
    acm: {},
    ec2: {},
    iam: {},
    lambda: { actions: ['InvokeFunction', 'InvokeFunctionUrl', 'InvokeAsync'], dataEvents: true },
    s3: {
      // Object-level operations are S3 data events; listing a bucket's objects is one too.
      resourceTypes: ['object', 'accesspointobject'],
      actions: ['ListBucket', 'ListBucketVersions', 'ListBucketMultipartUploads', 'ListMultipartUploadParts'],
      dataEvents: true,
    },
  },
};

/** True when IAM reports action-level data for some actions of the service. */
export function isTrackedService(service: string): boolean {
  return Object.hasOwn(ACTION_TRACKING.services, service);
}

/**
 * True when a use of the service may show in no tracked action: it has untracked calls (data events).
 * A tracked service without them, used by no tracked action, was used by an action this table calls
 * tracked and IAM did not report: the table does not hold for that use.
 */
export function hasUntrackedCalls(service: string): boolean {
  return ACTION_TRACKING.services[service]?.dataEvents === true;
}

/**
 * A permission to pass a resource to a service (`iam:PassRole`, `lambda:PassNetworkConnector`), which
 * the call that takes the resource checks: never an API call, so never tracked, and never a use of its
 * service.
 */
const PERMISSION_TO_PASS = /^Pass[A-Z]/;

/** A function of a catalogue's service, computed once per catalogue and service. */
function perService<T>(compute: (catalog: Catalog, service: string) => T): (catalog: Catalog, service: string) => T {
  const caches = new WeakMap<Catalog, Map<string, T>>();
  return (catalog, service) => {
    let cache = caches.get(catalog);
    if (!cache) caches.set(catalog, (cache = new Map()));
    let found = cache.get(service);
    if (found === undefined) cache.set(service, (found = compute(catalog, service)));
    return found;
  };
}

/** The actions of a service that IAM tracks, as the catalogue spells them (empty for an untracked service). */
export const trackedActions: (catalog: Catalog, service: string) => string[] = perService((catalog, service) => computeTrackedActions(catalog, service));

/** The tracked actions of a service as lower-case `service:action` keys, the form policies are compared in. */
export const trackedActionKeys: (catalog: Catalog, service: string) => ReadonlySet<string> = perService(
  (catalog, service) => new Set(trackedActions(catalog, service).map((a) => `${service}:${a.toLowerCase()}`)),
);

/**
 * The untracked calls of a tracked service (its data events, such as `s3:GetObject`), as lower-case
 * `service:action` keys: what may account for a use IAM shows in no tracked action.
 */
export const untrackedCallKeys: (catalog: Catalog, service: string) => readonly string[] = perService((catalog, service) => {
  const tracked = trackedActionKeys(catalog, service);
  return (catalog.actions(service) ?? []).filter((a) => !PERMISSION_TO_PASS.test(a.name)).map((a) => `${service}:${a.name.toLowerCase()}`).filter((a) => !tracked.has(a));
});

const actionNames = perService((catalog, service) => new Set((catalog.actions(service) ?? []).map((a) => a.name.toLowerCase())));

/** Whether the catalogue knows an action of a service, in any case (IAM compares actions so). */
export function isCatalogAction(catalog: Catalog, service: string, action: string): boolean {
  return actionNames(catalog, service).has(action.toLowerCase());
}

function computeTrackedActions(catalog: Catalog, service: string): string[] {
  const rule = ACTION_TRACKING.services[service];
  if (!rule) return [];
  const untrackedNames = new Set((rule.actions ?? []).map((a) => a.toLowerCase()));
  const untrackedTypes = new Set(rule.resourceTypes ?? []);
  return (catalog.actions(service) ?? [])
    .filter((a) => !untrackedNames.has(a.name.toLowerCase()) && !a.resourceTypes.some((r) => untrackedTypes.has(r)) && !PERMISSION_TO_PASS.test(a.name))
    .map((a) => a.name);
}

/** Why IAM would never report `service:action` at action level, or undefined when it may. */
export function whyUntracked(catalog: Catalog, service: string, action: string): string | undefined {
  if (!isTrackedService(service)) return `IAM reports no action-level data for ${service}`;
  const known = catalog.actions(service)?.find((a) => a.name.toLowerCase() === action.toLowerCase());
  if (!known) return `${service}:${action} is not an action of ${service} in the IAM action catalogue`;
  if (!trackedActions(catalog, service).includes(known.name)) return `${service}:${known.name} is a data event or not an API call, which IAM never tracks`;
  return undefined;
}
