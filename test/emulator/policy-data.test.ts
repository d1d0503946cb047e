/**
 * The emulator's relational model: policy documents in the account file, the grants it derives from them,
 * and the operations that answer from the relationships, through the real SDK.
 */
import {
  GenerateServiceLastAccessedDetailsCommand,
  GetAccountAuthorizationDetailsCommand,
  GetServiceLastAccessedDetailsCommand,
  GetServiceLastAccessedDetailsWithEntitiesCommand,
  ListPoliciesGrantingServiceAccessCommand,
} from '@aws-sdk/client-iam';
import { decodeDocument, readAuthorizationDetails } from '../../lambda/core/authorization';
import { ScaledClock } from '../../lambda/core/clock';
import { IamCaller } from '../../lambda/core/iam-calls';
import { loadAccount, startEmulator, type RunningEmulator } from '../../local/emulator';
import { iamClient } from '../helpers/iam';

const A = 'arn:aws:iam::123456789012:';
const s3Read = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:Get*', 's3:List*'], Resource: '*' }] };
const file = {
  accountId: '123456789012',
  awsManagedPolicies: [{ arn: 'arn:aws:iam::aws:policy/AmazonSQSFullAccess', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sqs:*', Resource: '*' }] } }],
  entities: [
    { type: 'group', name: 'devs', inlinePolicies: [{ name: 'devs-ec2', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }] } }], services: [] },
    {
      type: 'user',
      name: 'ana',
      groups: ['devs'],
      attachedPolicies: [`${A}policy/s3-read`],
      tags: { team: 'data' },
      services: [{ namespace: 's3', name: 'Amazon S3', lastAuthenticated: '2026-11-20T00:00:00Z' }, { namespace: 'ec2', name: 'Amazon EC2', lastAuthenticated: '2026-11-01T00:00:00Z' }],
    },
    { type: 'user', name: 'ben', groups: ['devs'], services: [] },
    { type: 'role', name: 'worker', attachedPolicies: ['arn:aws:iam::aws:policy/AmazonSQSFullAccess', `${A}policy/s3-read`], services: [] },
    { type: 'policy', name: 's3-read', document: s3Read, services: [{ namespace: 's3', name: 'Amazon S3', lastAuthenticated: '2026-11-20T00:00:00Z' }] },
  ],
};

describe('an account file with policy data', () => {
  let emulator: RunningEmulator;
  const account = loadAccount(file);
  beforeAll(async () => {
    emulator = await startEmulator({ account, jobLatencyMs: 0 });
  });
  afterAll(() => emulator.close());

  it('derives each identity\'s granted services from its documents, its groups\' and its managed policies\'', () => {
    const services = (name: string) => account.entities.find((e) => e.name === name)!.services.map((s) => s.namespace);
    expect(services('ana')).toEqual(['ec2', 's3']);
    expect(services('ben')).toEqual(['ec2']);
    expect(services('worker')).toEqual(['s3', 'sqs']);
    expect(account.entities.find((e) => e.name === 'ana')!.services.find((s) => s.namespace === 's3')!.lastAuthenticated).toBe('2026-11-20T00:00:00Z');
  });

  it('refuses a file whose identity used a service no policy grants, naming it', () => {
    const bad = JSON.parse(JSON.stringify(file));
    bad.entities[2].services = [{ namespace: 'kms', name: 'AWS KMS', lastAuthenticated: '2026-11-20T00:00:00Z' }];
    expect(() => loadAccount(bad)).toThrow(/entities\[2\]\.services\[0\]\.namespace "kms" was used, but no policy of the user grants it/);
  });

  it('serves the documents URL-encoded, as IAM sends them, with groups, attachments and tags, in pages', async () => {
    const iam = iamClient(emulator.url);
    const pages = [];
    let Marker: string | undefined;
    do {
      const page = await iam.send(new GetAccountAuthorizationDetailsCommand({ MaxItems: 2, Marker }));
      pages.push(page);
      Marker = page.IsTruncated ? page.Marker : undefined;
    } while (Marker);
    expect(pages.length).toBeGreaterThan(2);
    const users = pages.flatMap((p) => p.UserDetailList ?? []);
    const ana = users.find((u) => u.UserName === 'ana')!;
    expect(ana).toMatchObject({ GroupList: ['devs'], AttachedManagedPolicies: [{ PolicyArn: `${A}policy/s3-read`, PolicyName: 's3-read' }], Tags: [{ Key: 'team', Value: 'data' }] });
    const policies = pages.flatMap((p) => p.Policies ?? []);
    const s3ReadPolicy = policies.find((p) => p.PolicyName === 's3-read')!;
    expect(s3ReadPolicy.PolicyVersionList![0].Document).toBe(encodeURIComponent(JSON.stringify(s3Read)));
    expect(decodeDocument(s3ReadPolicy.PolicyVersionList![0].Document)).toEqual(s3Read);
    expect(policies.find((p) => p.Arn === 'arn:aws:iam::aws:policy/AmazonSQSFullAccess')).toMatchObject({ AttachmentCount: 1 });
    const devs = pages.flatMap((p) => p.GroupDetailList ?? [])[0];
    expect(decodeDocument(devs.GroupPolicyList![0].PolicyDocument)).toEqual(file.entities[0].inlinePolicies![0].document);
  });

  it('lists the policies granting a service from the relationships: inline of a group, managed, AWS managed', async () => {
    const iam = iamClient(emulator.url);
    const answer = await iam.send(new ListPoliciesGrantingServiceAccessCommand({ Arn: `${A}user/ana`, ServiceNamespaces: ['ec2', 's3', 'sqs'] }));
    const by = Object.fromEntries(answer.PoliciesGrantingServiceAccess!.map((e) => [e.ServiceNamespace, e.Policies]));
    expect(by.ec2).toEqual([{ PolicyName: 'devs-ec2', PolicyType: 'INLINE', EntityType: 'GROUP', EntityName: 'devs' }]);
    expect(by.s3).toEqual([{ PolicyName: 's3-read', PolicyType: 'MANAGED', PolicyArn: `${A}policy/s3-read` }]);
    expect(by.sqs).toEqual([]);
  });

  it('lists every member of a group who could have used a service, each with their own last use', async () => {
    const iam = iamClient(emulator.url);
    const { JobId } = await iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: `${A}group/devs` }));
    await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId }));
    const answer = await iam.send(new GetServiceLastAccessedDetailsWithEntitiesCommand({ JobId, ServiceNamespace: 'ec2' }));
    expect(answer.EntityDetailsList!.map((e) => [e.EntityInfo!.Name, e.LastAuthenticated?.toISOString() ?? null])).toEqual([
      ['ana', '2026-11-01T00:00:00.000Z'],
      ['ben', null],
    ]);
  });
});

describe("a customer managed policy's versions in the account file", () => {
  const allow = (action: string) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }] });
  const versioned = {
    accountId: '123456789012',
    entities: [
      { type: 'role', name: 'app', attachedPolicies: [`${A}policy/app`], services: [] },
      {
        type: 'policy',
        name: 'app',
        createDate: '2025-01-01T00:00:00Z',
        document: allow('sqs:*'),
        defaultVersion: { id: 'v3', createDate: '2026-11-20T08:00:00Z' },
        versions: [
          { id: 'v1', createDate: '2025-01-01T00:00:00Z', document: allow('s3:*') },
          { id: 'v2', createDate: '2025-06-01T00:00:00Z', document: allow('ec2:*') },
        ],
        services: [],
      },
    ],
  };
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startEmulator({ account: loadAccount(versioned), jobLatencyMs: 0 });
  });
  afterAll(() => emulator.close());

  it('serves them as IAM does, and the pipeline reads the default and the others with their dates', async () => {
    const page = await iamClient(emulator.url).send(new GetAccountAuthorizationDetailsCommand({ Filter: ['LocalManagedPolicy'] }));
    expect(page.Policies![0]).toMatchObject({ DefaultVersionId: 'v3', CreateDate: new Date('2025-01-01T00:00:00Z'), UpdateDate: new Date('2026-11-20T08:00:00Z') });
    expect(page.Policies![0].PolicyVersionList!.map((v) => [v.VersionId, v.IsDefaultVersion])).toEqual([['v3', true], ['v1', false], ['v2', false]]);
    const details = await readAuthorizationDetails(iamClient(emulator.url), new IamCaller(new ScaledClock(1000), { callsPerSecond: 1000 }), '123456789012', null);
    const [policy] = details.policies;
    expect([policy.version, policy.document]).toEqual([{ id: 'v3', createDate: '2026-11-20T08:00:00.000Z' }, allow('sqs:*')]);
    expect(policy.earlierVersions).toEqual([
      { id: 'v1', createDate: '2025-01-01T00:00:00.000Z', document: allow('s3:*') },
      { id: 'v2', createDate: '2025-06-01T00:00:00.000Z', document: allow('ec2:*') },
    ]);
    // The grants IAM derives are the default version's alone.
    expect(emulator.account.entities[0].services.map((s) => s.namespace)).toEqual(['sqs']);
  });
});
