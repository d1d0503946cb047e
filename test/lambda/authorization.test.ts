import { readAuthorizationDetails, trustOf } from '../../lambda/core/authorization';
import { ScaledClock } from '../../lambda/core/clock';
import { IamCaller } from '../../lambda/core/iam-calls';
import type { PolicyDocument, PolicyStatement } from '../../lambda/core/policy';
import { ownedElsewhereOf } from '../../lambda/core/proposals';
import { loadAccount, startEmulator } from '../../local/emulator';
import { iamClient } from '../helpers/iam';

const trust = (...statements: PolicyStatement[]): PolicyDocument => ({ Version: '2012-10-17', Statement: statements });
const byService = (service: string | string[], action: string | string[] = 'sts:AssumeRole'): PolicyStatement => ({ Effect: 'Allow', Principal: { Service: service }, Action: action });
const byAws = (principal: string | string[], action: string | string[] = 'sts:AssumeRole'): PolicyStatement => ({ Effect: 'Allow', Principal: { AWS: principal }, Action: action });
const servicesTrustedBy = (document: PolicyDocument) => trustOf(document).trustedServices;
const awsTrustedBy = (document: PolicyDocument) => trustOf(document).trustedAwsPrincipals;

describe('trustOf', () => {
  it('names the services an Allow statement lets assume the role, however its action is spelt', () => {
    expect(servicesTrustedBy(trust(byService('cloudformation.amazonaws.com')))).toEqual(['cloudformation.amazonaws.com']);
    expect(servicesTrustedBy(trust(byService(['lambda.amazonaws.com', 'CloudFormation.amazonaws.com'], ['sts:TagSession', 'STS:assumerole'])))).toEqual([
      'cloudformation.amazonaws.com',
      'lambda.amazonaws.com',
    ]);
    expect(servicesTrustedBy(trust(byService('servicecatalog.amazonaws.com', 'sts:Assume*')))).toEqual(['servicecatalog.amazonaws.com']);
    expect(servicesTrustedBy(trust({ Effect: 'Allow', Principal: { Service: 'cloudformation.amazonaws.com' }, NotAction: 'sts:AssumeRoleWithSAML' }))).toEqual(['cloudformation.amazonaws.com']);
  });

  it('names none for another action, an account or federated principal, or a Deny', () => {
    expect(servicesTrustedBy(trust(byService('cloudformation.amazonaws.com', 'sts:AssumeRoleWithWebIdentity')))).toEqual([]);
    expect(servicesTrustedBy(trust({ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'sts:AssumeRole' }))).toEqual([]);
    expect(servicesTrustedBy(trust({ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole' }))).toEqual([]);
    expect(servicesTrustedBy(trust({ ...byService('cloudformation.amazonaws.com'), Effect: 'Deny' }))).toEqual([]);
    expect(servicesTrustedBy(trust({ Effect: 'Allow', Principal: { Service: 'cloudformation.amazonaws.com' }, NotAction: 'sts:*' }))).toEqual([]);
    expect(servicesTrustedBy({ Statement: [] })).toEqual([]);
  });

  it('names the AWS principals, accounts and roles as written, but anyone (*), that an Allow statement lets assume the role', () => {
    const admin = 'arn:aws:iam::111122223333:role/AWSCloudFormationStackSetAdministrationRole';
    expect(awsTrustedBy(trust(byAws([admin, 'arn:aws:iam::444455556666:root']), byAws('777788889999', 'sts:*'), byService('lambda.amazonaws.com')))).toEqual([
      '777788889999',
      admin,
      'arn:aws:iam::444455556666:root',
    ]);
    expect(awsTrustedBy(trust(byAws('*'), { ...byAws(admin), Effect: 'Deny' }, byAws('arn:aws:iam::444455556666:root', 'sts:AssumeRoleWithSAML')))).toEqual([]);
    expect(trustOf(trust(byAws(admin)))).toEqual({ trustedServices: [], trustedAwsPrincipals: [admin] });
  });
});

describe("an account's roles read through the emulator, with their trust", () => {
  it("carries each role who it trusts, which makes a role of any name owned elsewhere that CloudFormation, Service Catalog, a StackSet's administration role or the management account may assume", async () => {
    const account = loadAccount({
      accountId: '111122223333',
      entities: [
        { type: 'role', name: 'app', services: [] },
        { type: 'role', name: 'stack-deployer', path: '/pipelines/', trustPolicy: trust(byService(['cloudformation.amazonaws.com'])), services: [] },
        { type: 'role', name: 'SCLaunchRole', trustPolicy: trust(byService('servicecatalog.amazonaws.com')), services: [] },
        { type: 'role', name: 'deploy-exec', trustPolicy: trust(byAws('arn:aws:iam::999999999999:role/AWSCloudFormationStackSetAdministrationRole')), services: [] },
        { type: 'role', name: 'admin-entry', path: '/ops/', trustPolicy: trust(byAws('arn:aws:iam::999999999999:root')), services: [] },
        { type: 'role', name: 'reader', trustPolicy: trust(byAws(['arn:aws:iam::111122223333:root', 'arn:aws:iam::999999999999:role/monitor'])), services: [] },
        { type: 'user', name: 'alice', services: [] },
      ],
    });
    const emulator = await startEmulator({ account, timeScale: 1000 });
    const iam = iamClient(emulator.url);
    try {
      const details = await readAuthorizationDetails(iam, new IamCaller(new ScaledClock(1000), { callsPerSecond: 1000 }), '111122223333', '999999999999');
      expect(details.managementAccountId).toBe('999999999999');
      const byName = new Map(details.identities.map((i) => [i.name, i]));
      expect(Object.fromEntries([...byName].map(([name, i]) => [name, [i.trustedServices, i.trustedAwsPrincipals]]))).toEqual({
        app: [['lambda.amazonaws.com'], []],
        'stack-deployer': [['cloudformation.amazonaws.com'], []],
        SCLaunchRole: [['servicecatalog.amazonaws.com'], []],
        'deploy-exec': [[], ['arn:aws:iam::999999999999:role/AWSCloudFormationStackSetAdministrationRole']],
        'admin-entry': [[], ['arn:aws:iam::999999999999:root']],
        reader: [[], ['arn:aws:iam::111122223333:root', 'arn:aws:iam::999999999999:role/monitor']],
        alice: [[], []],
      });
      const reason = (name: string) => ownedElsewhereOf(byName.get(name)!, details);
      expect(reason('app')).toBeUndefined();
      expect(reason('stack-deployer')).toContain('CloudFormation deploys through this role (its trust policy lets cloudformation.amazonaws.com assume it)');
      expect(reason('SCLaunchRole')).toContain('Service Catalog launches products through this role');
      expect(reason('deploy-exec')).toContain("CloudFormation StackSets (self-managed) deploy stack instances through this role (its trust policy lets an administrator account's AWSCloudFormationStackSetAdministrationRole assume it)");
      expect(reason('admin-entry')).toContain("the organization's management account may assume this role");
      // Its own account as a whole, and one role of the management account: neither a way in from it.
      expect(reason('reader')).toBeUndefined();
      expect(reason('alice')).toBeUndefined();
      // Not known to be the management account (the pipeline's own account, or a list): not a way in from it.
      expect(ownedElsewhereOf(byName.get('admin-entry')!, { managementAccountId: null })).toBeUndefined();
    } finally {
      iam.destroy();
      await emulator.close();
    }
  });
});

describe('managed policies read from the authorization details', () => {
  it('carry the default version, its id and when it was made, and the versions before it', async () => {
    const encoded = (action: string) => encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }] }));
    const page = {
      $metadata: {},
      IsTruncated: false,
      Policies: [
        {
          Arn: 'arn:aws:iam::111122223333:policy/app',
          PolicyName: 'app',
          CreateDate: new Date('2024-01-01T00:00:00Z'),
          PolicyVersionList: [
            { VersionId: 'v1', IsDefaultVersion: false, CreateDate: new Date('2024-01-01T00:00:00Z'), Document: encoded('s3:*') },
            { VersionId: 'v3', IsDefaultVersion: true, CreateDate: new Date('2026-11-20T08:00:00Z'), Document: encoded('sqs:*') },
          ],
        },
        { Arn: 'arn:aws:iam::111122223333:policy/bare', PolicyName: 'bare' },
      ],
    };
    const iam = { send: async () => page } as never;
    const details = await readAuthorizationDetails(iam, new IamCaller(new ScaledClock(1000), { callsPerSecond: 1000 }), '111122223333', null);
    expect(details.policies.map((p) => [p.name, p.version, p.document.Statement, p.earlierVersions])).toEqual([
      [
        'app',
        { id: 'v3', createDate: '2026-11-20T08:00:00.000Z' },
        [{ Effect: 'Allow', Action: 'sqs:*', Resource: '*' }],
        [{ id: 'v1', createDate: '2024-01-01T00:00:00.000Z', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] } }],
      ],
      ['bare', undefined, [], undefined],
    ]);
  });
});
