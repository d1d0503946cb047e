/**
 * The execution input (DESIGN.md "Execution input"): validated before anything is listed or written.
 * The schedule sends `{}`; a manual start may narrow the run or change its settings.
 */
import { InvalidInput } from './errors';
import { accountOfArn, ENTITY_TYPES, GRANULARITIES, type EntityType, type Granularity } from './model';

export interface AuditRequest {
  readonly granularity: Granularity;
  readonly entityTypes: readonly EntityType[];
  /** Only these entities, when given. */
  readonly arns: readonly string[] | null;
  readonly unusedAfterDays: number;
  /** Only these of the configured accounts, when given. */
  readonly accountIds: readonly string[] | null;
}

export type AuditDefaults = Omit<AuditRequest, 'arns' | 'accountIds'>;

const FIELDS = ['granularity', 'entityTypes', 'arns', 'unusedAfterDays', 'accountIds'];
export const MAX_ACCOUNT_IDS = 1000;
/** IAM tracks at least 400 days: a longer window could only call more services "used". */
export const MAX_UNUSED_AFTER_DAYS = 400;
export const MAX_ARNS = 10_000;
export const ENTITY_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(user|group|role|policy)(\/[\u0021-\u007E]*)?\/[\w+=,.@-]{1,128}$/;

export function parseExecutionInput(input: unknown, defaults: AuditDefaults): AuditRequest {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidInput('the execution input must be a JSON object, such as {} or {"granularity": "ACTION_LEVEL"}');
  }
  const fields = input as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!FIELDS.includes(key)) throw new InvalidInput(`unknown field "${key}" in the execution input (allowed: ${FIELDS.join(', ')})`);
  }
  const request: AuditRequest = {
    granularity: fields.granularity === undefined ? defaults.granularity : granularity(fields.granularity),
    entityTypes: fields.entityTypes === undefined ? defaults.entityTypes : entityTypes(fields.entityTypes),
    arns: fields.arns === undefined ? null : arns(fields.arns),
    unusedAfterDays: fields.unusedAfterDays === undefined ? defaults.unusedAfterDays : unusedAfterDays(fields.unusedAfterDays),
    accountIds: fields.accountIds === undefined ? null : accountIds(fields.accountIds),
  };
  request.arns?.forEach((arn, i) => {
    const type = ENTITY_ARN.exec(arn)![1] as EntityType;
    if (!request.entityTypes.includes(type)) {
      throw new InvalidInput(`arns[${i}] is a ${type}, but entityTypes (${request.entityTypes.join(', ')}) leaves ${type}s out`);
    }
    const account = accountOfArn(arn);
    if (request.accountIds && !request.accountIds.includes(account)) {
      throw new InvalidInput(`arns[${i}] is in account ${account}, which accountIds (${request.accountIds.join(', ')}) leaves out`);
    }
  });
  return request;
}

function granularity(value: unknown): Granularity {
  if (!(GRANULARITIES as readonly unknown[]).includes(value)) {
    throw new InvalidInput(`granularity must be "SERVICE_LEVEL" or "ACTION_LEVEL", got ${JSON.stringify(value)}`);
  }
  return value as Granularity;
}

function entityTypes(value: unknown): EntityType[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new InvalidInput(`entityTypes must be a non-empty array of ${ENTITY_TYPES.map((t) => `"${t}"`).join(', ')}, got ${JSON.stringify(value)}`);
  }
  value.forEach((t, i) => {
    if (!(ENTITY_TYPES as readonly unknown[]).includes(t)) {
      throw new InvalidInput(`entityTypes[${i}] must be one of ${ENTITY_TYPES.map((x) => `"${x}"`).join(', ')}, got ${JSON.stringify(t)}`);
    }
    if (value.indexOf(t) !== i) throw new InvalidInput(`entityTypes[${i}] repeats "${t}"`);
  });
  return value as EntityType[];
}

function arns(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_ARNS) {
    throw new InvalidInput(`arns must be a non-empty array of at most ${MAX_ARNS} IAM user, group, role or policy ARNs`);
  }
  value.forEach((arn, i) => {
    if (typeof arn !== 'string' || !ENTITY_ARN.test(arn)) {
      throw new InvalidInput(`arns[${i}] must be the ARN of an IAM user, group, role or customer managed policy, got ${JSON.stringify(arn)}`);
    }
  });
  return [...new Set(value as string[])];
}

function accountIds(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_ACCOUNT_IDS) {
    throw new InvalidInput(`accountIds must be a non-empty array of at most ${MAX_ACCOUNT_IDS} 12-digit account ids`);
  }
  value.forEach((id, i) => {
    if (typeof id !== 'string' || !/^\d{12}$/.test(id)) throw new InvalidInput(`accountIds[${i}] must be a 12-digit account id (a string), got ${JSON.stringify(id)}`);
  });
  return [...new Set(value as string[])];
}

function unusedAfterDays(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_UNUSED_AFTER_DAYS) {
    throw new InvalidInput(`unusedAfterDays must be a whole number of days from 1 to ${MAX_UNUSED_AFTER_DAYS} (IAM tracks 400 days), got ${JSON.stringify(value)}`);
  }
  return value;
}
