import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AccountFileError, loadAccount, readAccountFile } from '../../local/emulator';
import { EDGE_ACCOUNT_FILE } from '../helpers/iam';
import { thrownMessage } from '../helpers/errors';
import { tempDir } from '../helpers/temp';

const valid = () => ({
  accountId: '123456789012',
  entities: [{ type: 'role', name: 'app', services: [{ namespace: 's3', name: 'Amazon S3' }] }],
});

const TRUSTED_BY_CLOUDFORMATION = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'cloudformation.amazonaws.com' }, Action: 'sts:AssumeRole' }] };

/** A customer managed policy's versions, each case made wrong in one way (the policy is entities[1]). */
function policyVersionCases(): Array<[string, (f: any) => void, string]> {
  const doc = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] };
  const withPolicy = (policy: Record<string, unknown>) => (f: any) => f.entities.push({ type: 'policy', name: 'p', createDate: '2025-01-01T00:00:00Z', document: doc, services: [], ...policy });
  const v = (id: string, createDate = '2026-01-01T00:00:00Z') => ({ id, createDate, document: doc });
  return [
    ['versions on a role', (f: any) => (f.entities[0].versions = []), 'entities[0].versions is only allowed on policies'],
    ['versions without the default document', (f: any) => f.entities.push({ type: 'policy', name: 'p', versions: [v('v1')], services: [] }), "entities[1].versions needs the default version's document in document"],
    ['a version id', withPolicy({ versions: [v('version-1')] }), 'entities[1].versions[0].id must be a version id such as v2'],
    ['a version made before its policy', withPolicy({ versions: [v('v2', '2024-06-01T00:00:00Z')] }), "entities[1].versions[0].createDate is before the policy's createDate (2025-01-01T00:00:00Z)"],
    ['a version without a document', withPolicy({ versions: [{ id: 'v2', createDate: '2026-01-01T00:00:00Z' }] }), 'entities[1].versions[0].document is not a policy document IAM would take'],
    ['a version id used twice', withPolicy({ defaultVersion: { id: 'v3', createDate: '2026-02-01T00:00:00Z' }, versions: [v('v2'), v('v3')] }), 'entities[1].versions[1].id repeats "v3", the id of entities[1].defaultVersion'],
    ['a version id of the implicit default', withPolicy({ versions: [v('v1')] }), 'entities[1].versions[0].id repeats "v1", the id of the default version (v1 when defaultVersion is not given)'],
    ['six versions', withPolicy({ defaultVersion: { id: 'v6', createDate: '2026-02-01T00:00:00Z' }, versions: ['v1', 'v2', 'v3', 'v4', 'v5'].map((id) => v(id)) }), 'entities[1].versions holds 5 versions besides the default: IAM keeps 5 in all'],
    ['a default version field', withPolicy({ defaultVersion: { id: 'v2', createDate: '2026-02-01T00:00:00Z', document: doc } }), 'entities[1].defaultVersion.document is not a known field'],
  ];
}

function errorFor(mutate: (file: any) => void): string {
  const file = valid();
  mutate(file);
  return thrownMessage(() => loadAccount(file, 'test.json'), AccountFileError);
}

describe('account files', () => {
  it('resolves defaults: path, ARN, a stable IAM-shaped id, create date, attachment count', () => {
    const account = loadAccount({
      accountId: '123456789012',
      entities: [
        { type: 'role', name: 'app', services: [] },
        { type: 'policy', name: 'p', path: '/team/', services: [] },
      ],
    });
    const [role, policy] = account.entities;
    expect(role).toMatchObject({ path: '/', arn: 'arn:aws:iam::123456789012:role/app', createDate: '2024-01-01T00:00:00Z' });
    expect(role.id).toMatch(/^AROA[A-Z2-7]{17}$/);
    expect(loadAccount({ accountId: '123456789012', entities: [{ type: 'role', name: 'app', services: [] }] }).entities[0].id).toBe(role.id);
    expect(policy).toMatchObject({ arn: 'arn:aws:iam::123456789012:policy/team/p', attachmentCount: 1 });
    expect(account.byArn.get(policy.arn)).toBe(policy);
  });

  it('reads the edge fixture', () => {
    const account = readAccountFile(EDGE_ACCOUNT_FILE);
    expect(account.entities).toHaveLength(13);
    expect(account.entities.find((e) => e.name === 'app-deployer')!.services).toHaveLength(130);
  });

  it.each([
    ['accountId', (f: any) => (f.accountId = '12345'), 'test.json: accountId must be a string of 12 digits'],
    ['entities', (f: any) => (f.entities = {}), 'test.json: entities must be an array'],
    ['an unknown top-level field', (f: any) => (f.region = 'us-east-1'), 'test.json: region is not a known field'],
    ['type', (f: any) => (f.entities[0].type = 'robot'), 'test.json: entities[0].type must be one of user, group, role, policy'],
    ['name', (f: any) => (f.entities[0].name = 'has space'), 'test.json: entities[0].name must be 1 to 64 characters'],
    ['a long role name', (f: any) => (f.entities[0].name = 'r'.repeat(65)), 'entities[0].name must be 1 to 64'],
    ['path', (f: any) => (f.entities[0].path = 'team'), 'test.json: entities[0].path must be "/" or start and end with "/"'],
    ['id', (f: any) => (f.entities[0].id = 'short'), 'entities[0].id must be 16 to 128'],
    ['createDate', (f: any) => (f.entities[0].createDate = 'yesterday'), 'entities[0].createDate must be an ISO-8601 date-time'],
    ['fault', (f: any) => (f.entities[0].fault = 'explodes'), 'entities[0].fault must be one of job-fails, deleted-before-generate, slow-job'],
    ['attachmentCount on a role', (f: any) => (f.entities[0].attachmentCount = 2), 'entities[0].attachmentCount is only allowed on policies'],
    ['an unknown entity field', (f: any) => (f.entities[0].labels = []), 'entities[0].labels is not a known field'],
    ['services', (f: any) => delete f.entities[0].services, 'entities[0].services must be an array'],
    ['namespace', (f: any) => (f.entities[0].services[0].namespace = 's3 bucket'), 'entities[0].services[0].namespace must be 1 to 64'],
    ['service name', (f: any) => (f.entities[0].services[0].name = ''), 'entities[0].services[0].name must be a non-empty string'],
    ['lastAuthenticated', (f: any) => (f.entities[0].services[0].lastAuthenticated = '2026-13-01'), 'entities[0].services[0].lastAuthenticated must be an ISO-8601'],
    ['totalAuthenticatedEntities', (f: any) => (f.entities[0].services[0].totalAuthenticatedEntities = -1), 'services[0].totalAuthenticatedEntities must be a whole number'],
    ['a repeated namespace', (f: any) => f.entities[0].services.push({ namespace: 's3', name: 'again' }), 'entities[0].services[1].namespace repeats "s3"'],
    ['an action name', (f: any) => (f.entities[0].services[0].actions = [{ name: 's3:GetObject' }]), 'services[0].actions[0].name must be an action name'],
    ['an action field', (f: any) => (f.entities[0].services[0].actions = [{ name: 'GetObject', when: 'x' }]), 'services[0].actions[0].when is not a known field'],
    ['a repeated name', (f: any) => f.entities.push({ type: 'role', name: 'APP', services: [] }), 'entities[1].name repeats the role name of entities[0]'],
    ['a data event as action data', (f: any) => (f.entities[0].services[0].actions = [{ name: 'GetObject' }]), 'services[0].actions[0].name claims action-level data IAM never reports: s3:GetObject is a data event'],
    ['iam:PassRole as action data', (f: any) => (f.entities[0].services = [{ namespace: 'iam', name: 'IAM', actions: [{ name: 'PassRole' }] }]), 'iam:PassRole is a data event or not an API call'],
    ['action data of an untracked service', (f: any) => (f.entities[0].services = [{ namespace: 'sqs', name: 'SQS', actions: [{ name: 'SendMessage' }] }]), 'IAM reports no action-level data for sqs'],
    ['an action the catalogue does not know', (f: any) => (f.entities[0].services[0].actions = [{ name: 'TeleportBucket' }]), 's3:TeleportBucket is not an action of s3'],
    ['a group that is not in the file', (f: any) => f.entities.push({ type: 'user', name: 'u', groups: ['nobody'], services: [] }), 'entities[1].groups[0] names group "nobody"'],
    ['groups on a role', (f: any) => (f.entities[0].groups = ['g']), 'entities[0].groups is only allowed on users'],
    ['a trust policy on a user', (f: any) => f.entities.push({ type: 'user', name: 'u', trustPolicy: TRUSTED_BY_CLOUDFORMATION, services: [] }), 'entities[1].trustPolicy is only allowed on roles'],
    ['a trust policy without a Principal', (f: any) => (f.entities[0].trustPolicy = { Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole' }] }), 'entities[0].trustPolicy.Statement[0] needs a Principal'],
    ['a trust policy that is no policy', (f: any) => (f.entities[0].trustPolicy = { Statement: [{ Effect: 'Trust', Action: 'sts:AssumeRole', Principal: '*' }] }), 'entities[0].trustPolicy is not a policy document IAM would take'],
    ['a required field given as null', (f: any) => (f.entities[0].services[0].name = null), 'entities[0].services[0].name must be a non-empty string'],
    ...policyVersionCases(),
  ])('rejects a bad %s, naming the field', (_what, mutate, message) => {
    expect(errorFor(mutate)).toContain(message);
  });

  it('takes null as absent for optional fields, the shape the pipeline\'s own reports use', () => {
    const account = loadAccount({
      accountId: '123456789012',
      entities: [
        {
          type: 'role',
          name: 'app',
          path: null,
          id: null,
          fault: null,
          services: [
            { namespace: 's3', name: 'Amazon S3', lastAuthenticated: null, lastAuthenticatedRegion: null, lastAuthenticatedEntity: null, totalAuthenticatedEntities: null, actions: [{ name: 'CreateBucket', lastAccessedTime: null, region: null, entity: null }] },
          ],
        },
      ],
    });
    expect(account.entities[0]).toMatchObject({ path: '/', arn: 'arn:aws:iam::123456789012:role/app' });
    expect(account.entities[0].services[0].lastAuthenticated).toBeUndefined();
  });

  it("keeps a role's trust policy as written", () => {
    const account = loadAccount({ ...valid(), entities: [{ ...valid().entities[0], trustPolicy: TRUSTED_BY_CLOUDFORMATION }] });
    expect(account.entities[0].trustPolicy).toEqual(TRUSTED_BY_CLOUDFORMATION);
    // A trust policy grants nothing: the role's services are its own.
    expect(account.entities[0].services.map((s) => s.namespace)).toEqual(['s3']);
  });

  it('allows the same name for entities of different types', () => {
    expect(() => loadAccount({ ...valid(), entities: [...valid().entities, { type: 'user', name: 'app', services: [] }] })).not.toThrow();
  });

  it('names the file when it is missing or not JSON', () => {
    const dir = tempDir('account-');
    expect(() => readAccountFile(join(dir, 'missing.json'))).toThrow(/missing\.json: cannot be read/);
    writeFileSync(join(dir, 'broken.json'), '{ "accountId": ');
    expect(() => readAccountFile(join(dir, 'broken.json'))).toThrow(/broken\.json: is not valid JSON/);
  });
});
