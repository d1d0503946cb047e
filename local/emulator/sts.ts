/**
 * STS as the emulator serves it (Query protocol): AssumeRole into an account's member role, which
 * issues temporary keys whose session ends on the emulator's clock, and GetCallerIdentity.
 */
import { randomBytes } from 'node:crypto';
import { derivedEntityId } from './account';
import type { Clock } from './clock';
import type { Organization } from './organization';
import { IamError, invalidInput, QueryParams, type XmlObject } from './query';

export const STS_OPERATIONS = ['AssumeRole', 'GetCallerIdentity'] as const;
export type StsOperation = (typeof STS_OPERATIONS)[number];

/** Who made a request: a static key of the hub, or a session issued by AssumeRole. */
export interface Principal {
  readonly accessKeyId: string;
  readonly accountId: string;
  readonly arn: string;
  /** What GetCallerIdentity calls the principal: a user's unique id, or a session's role id and name. */
  readonly userId: string;
  /** For sessions: when they end, in ms of the emulator's clock. */
  readonly expiresAt?: number;
}

export interface IssuedSession extends Principal {
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiresAt: number;
}

export interface StsSettings {
  /**
   * Sessions last at most this many seconds, whatever is asked: a knob for tests of sessions that end in
   * the middle of a run (AWS grants what is asked, up to the role's maximum). @default no limit
   */
  readonly maxSessionSeconds?: number;
}

const ROLE_ARN = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:[\u0021-\u007E]*\/)?([\w+=,.@-]{1,64})$/;

export class StsBackend {
  constructor(
    private readonly organization: Organization,
    private readonly clock: Clock,
    private readonly issue: (session: IssuedSession) => void,
    private readonly settings: StsSettings = {},
  ) {}

  handle(operation: StsOperation, params: QueryParams, caller: Principal): XmlObject {
    switch (operation) {
      case 'GetCallerIdentity':
        return { UserId: caller.userId, Account: caller.accountId, Arn: caller.arn };
      case 'AssumeRole':
        return this.assumeRole(params, caller);
    }
  }

  private assumeRole(params: QueryParams, caller: Principal): XmlObject {
    const roleArn = params.required('RoleArn');
    const sessionName = params.required('RoleSessionName');
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) throw new IamError('ValidationError', `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint`, 400);
    const duration = Number(params.get('DurationSeconds') ?? 3600);
    if (!Number.isInteger(duration) || duration < 900 || duration > 43_200) throw invalidInput(`DurationSeconds must be from 900 to 43200, got ${params.get('DurationSeconds')}`);
    const match = ROLE_ARN.exec(roleArn);
    const denied = new IamError('AccessDenied', `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403);
    if (!match) throw denied;
    const [, accountId, roleName] = match;
    const member = this.organization.byId.get(accountId);
    // Only the hub's principals may enter, only through the member role, only where it exists, only into ACTIVE accounts.
    if (!member || caller.accountId !== this.organization.auditAccountId || roleName !== this.organization.memberRoleName || member.memberRole === 'missing' || member.status !== 'ACTIVE') {
      throw denied;
    }
    const expiresAt = this.clock.now() + Math.min(duration, this.settings.maxSessionSeconds ?? Infinity) * 1000;
    // As STS: the role's unique id (the same for every session of the role), then the session's name.
    const assumedRoleId = `${derivedEntityId('role', `arn:aws:iam::${accountId}:role/${roleName}`)}:${sessionName}`;
    const session: IssuedSession = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(20).toString('base64').replace(/[^A-Za-z0-9]/g, 'x'),
      sessionToken: randomBytes(48).toString('base64'),
      expiresAt,
      accountId,
      arn: `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}`,
      userId: assumedRoleId,
    };
    this.issue(session);
    return {
      Credentials: { AccessKeyId: session.accessKeyId, SecretAccessKey: session.secretAccessKey, SessionToken: session.sessionToken, Expiration: new Date(expiresAt) },
      AssumedRoleUser: { AssumedRoleId: assumedRoleId, Arn: session.arn },
    };
  }
}
