/**
 * Organization files: a bad one is refused with the field named (as DESIGN.md "Organization file"
 * describes it), a good one is loaded with its defaults.
 */
import { AccountFileError, loadOrganization } from '../../local/emulator';
import { thrownMessage } from '../helpers/errors';

const valid = () => ({
  organizationId: 'o-abc123def4',
  managementAccountId: '111111111111',
  auditAccountId: '222222222222',
  organizationalUnits: [{ id: 'ou-abc1-aaaaaaaa', name: 'prod' }],
  accounts: [
    { accountId: '333333333333', name: 'payments-prod', parentId: 'ou-abc1-aaaaaaaa', entities: [{ type: 'role', name: 'app', services: [] }] },
    { accountId: '444444444444', name: 'old', status: 'SUSPENDED', memberRole: 'missing' },
  ],
});

function errorFor(mutate: (file: any) => void): string {
  const file = valid();
  mutate(file);
  return thrownMessage(() => loadOrganization(file, 'org.json'), AccountFileError);
}

describe('organization files', () => {
  it('load with their defaults: the member role name, the root, ACTIVE, the role present, the root as parent', () => {
    const org = loadOrganization({ organizationId: 'o-abc123def4', managementAccountId: '111111111111', auditAccountId: '222222222222', accounts: [{ accountId: '333333333333', name: 'a' }] });
    expect(org).toMatchObject({ memberRoleName: 'IamAccessAuditMember', rootId: 'r-abc1', units: [] });
    expect(org.accounts[0]).toMatchObject({ accountId: '333333333333', status: 'ACTIVE', memberRole: 'present', parentId: 'r-abc1' });
    expect(org.accounts[0].account.entities).toEqual([]);
    expect(loadOrganization(valid()).byId.get('444444444444')).toMatchObject({ status: 'SUSPENDED', memberRole: 'missing' });
  });

  it('refuses what is not a JSON object', () => {
    expect(() => loadOrganization([], 'org.json')).toThrow(new AccountFileError('org.json: the file must be a JSON object'));
  });

  it.each<[string, (f: any) => void, string]>([
    ['an unknown field', (f) => (f.colour = 'blue'), 'org.json: colour is not a known field'],
    ['a bad organization id', (f) => (f.organizationId = 'o-x'), 'org.json: organizationId must be an organization id such as "o-abc123def4"'],
    ['a short management account id', (f) => (f.managementAccountId = '1'), 'org.json: managementAccountId must be a string of 12 digits'],
    ['a numeric audit account id', (f) => (f.auditAccountId = 222222222222), 'org.json: auditAccountId must be a string of 12 digits'],
    ['a bad member role name', (f) => (f.memberRoleName = 'no spaces'), 'org.json: memberRoleName must be an IAM role name'],
    ['a bad root id', (f) => (f.rootId = 'root'), 'org.json: rootId must be a root id'],
    ['a bad OU id', (f) => (f.organizationalUnits[0].id = 'ou-bad'), 'org.json: organizationalUnits[0].id must be an OU id'],
    ['an OU under an OU not listed before it', (f) => f.organizationalUnits.unshift({ id: 'ou-abc1-bbbbbbbb', name: 'x', parentId: 'ou-abc1-aaaaaaaa' }), 'org.json: organizationalUnits[0].parentId must be the root (r-abc1) or an OU listed before it'],
    ['an OU listed twice', (f) => f.organizationalUnits.push({ id: 'ou-abc1-aaaaaaaa', name: 'again' }), 'org.json: organizationalUnits[1].id repeats OU ou-abc1-aaaaaaaa'],
    ['no accounts', (f) => (f.accounts = []), 'org.json: accounts must be a non-empty array'],
    ['an account that is not an object', (f) => (f.accounts[1] = '444444444444'), 'org.json: accounts[1] must be a JSON object'],
    ['an account listed twice', (f) => (f.accounts[1].accountId = '333333333333'), 'org.json: accounts[1].accountId repeats account 333333333333'],
    ['an account without a name', (f) => delete f.accounts[0].name, 'org.json: accounts[0].name must be a non-empty string'],
    ['a status Organizations does not have here', (f) => (f.accounts[1].status = 'CLOSED'), 'org.json: accounts[1].status must be one of ACTIVE, SUSPENDED'],
    ['a bad memberRole', (f) => (f.accounts[1].memberRole = 'gone'), 'org.json: accounts[1].memberRole must be "present" or "missing"'],
    ['a parent that is not there', (f) => (f.accounts[0].parentId = 'ou-abc1-zzzzzzzz'), 'org.json: accounts[0].parentId must be the root (r-abc1) or an OU of organizationalUnits'],
    ['a bad entity, named inside its account', (f) => (f.accounts[0].entities[0].type = 'robot'), 'org.json: accounts[0].entities[0].type must be one of user, group, role, policy'],
    ['an entity without services', (f) => delete f.accounts[0].entities[0].services, 'org.json: accounts[0].entities[0].services must be an array'],
  ])('refuses %s, naming the field', (_, mutate, message) => {
    expect(errorFor(mutate)).toContain(message);
  });
});
