/**
 * Organizations as the emulator serves it (JSON 1.1, `X-Amz-Target: AWSOrganizationsV20161128.<Op>`):
 * ListAccounts, ListAccountsForParent, ListOrganizationalUnitsForParent and ListRoots, paging as
 * Organizations does (MaxResults 1 to 20) and, as Organizations may, answering pages that are empty but
 * still carry a NextToken, so that a client that stops on an empty page is caught.
 */
import type { MemberAccount, Organization } from './organization';
import type { Principal } from './sts';

export const ORGANIZATIONS_TARGET_PREFIX = 'AWSOrganizationsV20161128.';
export const ORGANIZATIONS_OPERATIONS = ['ListAccounts', 'ListAccountsForParent', 'ListOrganizationalUnitsForParent', 'ListRoots'] as const;
export type OrganizationsOperation = (typeof ORGANIZATIONS_OPERATIONS)[number];

/** An error as Organizations answers it: a `__type` and a message in a JSON body. */
export class OrganizationsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Organizations' answer to a throttled call. */
export const tooManyRequests = (): OrganizationsError => new OrganizationsError('TooManyRequestsException', 'AWS Organizations can\'t complete your request because it is rate limited. Try again later.');

export interface OrganizationsSettings {
  /** Answer every other page empty (with a NextToken), as Organizations may. @default true */
  readonly emptyPages?: boolean;
}

const MAX_RESULTS = 20;

export class OrganizationsBackend {
  constructor(
    private readonly organization: Organization,
    private readonly settings: OrganizationsSettings = {},
  ) {}

  handle(operation: OrganizationsOperation, input: Record<string, unknown>, caller: Principal): Record<string, unknown> {
    const org = this.organization;
    if (org.organizationId === null) throw new OrganizationsError('AWSOrganizationsNotInUseException', 'Your account is not a member of an organization.');
    // The management account and the delegated administrator (the hub) may list the organization.
    if (caller.accountId !== org.managementAccountId && caller.accountId !== org.auditAccountId) {
      throw new OrganizationsError('AccessDeniedException', 'You don\'t have permissions to access this resource.');
    }
    switch (operation) {
      case 'ListRoots':
        return this.page(input, 'Roots', [{ Id: org.rootId, Arn: `arn:aws:organizations::${org.managementAccountId}:root/${org.organizationId}/${org.rootId}`, Name: 'Root', PolicyTypes: [] }], 'roots');
      case 'ListAccounts':
        return this.page(input, 'Accounts', org.accounts.map((a) => this.accountJson(a)), 'accounts');
      case 'ListAccountsForParent': {
        const parentId = this.parent(input);
        return this.page(input, 'Accounts', org.accounts.filter((a) => a.parentId === parentId).map((a) => this.accountJson(a)), `accounts|${parentId}`);
      }
      case 'ListOrganizationalUnitsForParent': {
        const parentId = this.parent(input);
        const units = org.units.filter((u) => u.parentId === parentId).map((u) => ({ Id: u.id, Name: u.name, Arn: `arn:aws:organizations::${org.managementAccountId}:ou/${org.organizationId}/${u.id}` }));
        return this.page(input, 'OrganizationalUnits', units, `ous|${parentId}`);
      }
    }
  }

  private parent(input: Record<string, unknown>): string {
    const parentId = input.ParentId;
    if (typeof parentId !== 'string') throw new OrganizationsError('InvalidInputException', 'ParentId is required.');
    const org = this.organization;
    if (parentId !== org.rootId && !org.units.some((u) => u.id === parentId)) throw new OrganizationsError('ParentNotFoundException', `We can't find a root or OU with the ParentId that you specified.`);
    return parentId;
  }

  private accountJson(a: MemberAccount): Record<string, unknown> {
    const org = this.organization;
    return {
      Id: a.accountId,
      Arn: `arn:aws:organizations::${org.managementAccountId}:account/${org.organizationId}/${a.accountId}`,
      Email: `aws+${a.accountId}@example.com`,
      Name: a.name,
      // Organizations retired the account's Status on 2026-09-09: State alone says whether it is ACTIVE.
      State: a.status,
      JoinedMethod: a.accountId === org.managementAccountId ? 'CREATED' : 'INVITED',
      JoinedTimestamp: 1_700_000_000,
    };
  }

  /** One page of `items`: at most MaxResults, and every other page empty when emptyPages is on. */
  private page(input: Record<string, unknown>, element: string, items: readonly unknown[], scope: string): Record<string, unknown> {
    const maxResults = input.MaxResults ?? MAX_RESULTS;
    if (typeof maxResults !== 'number' || !Number.isInteger(maxResults) || maxResults < 1 || maxResults > MAX_RESULTS) {
      throw new OrganizationsError('InvalidInputException', `MaxResults must be a whole number from 1 to ${MAX_RESULTS}.`);
    }
    let offset = 0;
    let emptyNext = this.settings.emptyPages ?? true;
    if (input.NextToken !== undefined) {
      try {
        const [tokenScope, tokenOffset, tokenEmpty] = JSON.parse(Buffer.from(String(input.NextToken), 'base64').toString('utf8')) as [string, number, boolean];
        if (tokenScope !== scope || !Number.isInteger(tokenOffset)) throw new Error('scope');
        offset = tokenOffset;
        emptyNext = tokenEmpty;
      } catch {
        throw new OrganizationsError('InvalidInputException', 'The NextToken is not valid for this request.');
      }
    }
    const token = (at: number, empty: boolean) => Buffer.from(JSON.stringify([scope, at, empty])).toString('base64');
    if (emptyNext && offset < items.length) {
      // An empty page that still says there is more.
      return { [element]: [], NextToken: token(offset, false) };
    }
    const end = Math.min(items.length, offset + maxResults);
    return { [element]: items.slice(offset, end), ...(end < items.length ? { NextToken: token(end, this.settings.emptyPages ?? true) } : {}) };
  }
}
