import { readAuthorizationDetails, servicesTrustedBy } from '../../lambda/core/authorization';
import { ScaledClock } from '../../lambda/core/clock';
import { IamCaller } from '../../lambda/core/iam-calls';
import type { PolicyDocument, PolicyStatement } from '../../lambda/core/policy';
import { ownedElsewhereOf } from '../../lambda/core/proposals';
import { loadAccount, startEmulator } from '../../local/emulator';
import { iamClient } from '../helpers/iam';

const trust = (...statements: PolicyStatement[]): PolicyDocument => ({ Version: '2012-10-17', Statement: statements });
const byService = (service: string | string[], action: string | string[] = 'sts:AssumeRole'): PolicyStatement => ({ Effect: 'Allow', Principal: { Service: service }, Action: action });

describe('servicesTrustedBy', () => {
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
});

describe("an account's roles read through the emulator, with their trust", () => {
  it('carries each role its trusted services, which make a CloudFormation or Service Catalog role of any name owned elsewhere', async () => {
    const account = loadAccount({
      accountId: '111122223333',
      entities: [
        { type: 'role', name: 'app', services: [] },
        { type: 'role', name: 'stack-deployer', path: '/pipelines/', trustPolicy: trust(byService(['cloudformation.amazonaws.com'])), services: [] },
        { type: 'role', name: 'SCLaunchRole', trustPolicy: trust(byService('servicecatalog.amazonaws.com')), services: [] },
        { type: 'user', name: 'alice', services: [] },
      ],
    });
    const emulator = await startEmulator({ account, timeScale: 1000 });
    const iam = iamClient(emulator.url);
    try {
      const details = await readAuthorizationDetails(iam, new IamCaller(new ScaledClock(1000), { callsPerSecond: 1000 }), '111122223333');
      const byName = new Map(details.identities.map((i) => [i.name, i]));
      expect(Object.fromEntries([...byName].map(([name, i]) => [name, i.trustedServices]))).toEqual({
        app: ['lambda.amazonaws.com'],
        'stack-deployer': ['cloudformation.amazonaws.com'],
        SCLaunchRole: ['servicecatalog.amazonaws.com'],
        alice: [],
      });
      expect(ownedElsewhereOf(byName.get('app')!)).toBeUndefined();
      expect(ownedElsewhereOf(byName.get('stack-deployer')!)).toContain('CloudFormation deploys through this role (its trust policy lets cloudformation.amazonaws.com assume it)');
      expect(ownedElsewhereOf(byName.get('SCLaunchRole')!)).toContain('Service Catalog launches products through this role');
      expect(ownedElsewhereOf(byName.get('alice')!)).toBeUndefined();
    } finally {
      iam.destroy();
      await emulator.close();
    }
  });
});
