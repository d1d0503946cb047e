/**
 * The proposal rules, each with cases that must and must not give a proposal (in the style of cdk-nag's
 * rule tests), and properties over generated policies judged by an evaluator written apart from the
 * proposal code (test/helpers/evaluator.ts): a proposal never allows a request the current policy
 * denies, and keeps every used service (and used tracked action) allowed.
 */
import fc from 'fast-check';
import type { AuthorizationDetails, IdentityDetails } from '../../lambda/core/authorization';
import { catalogDateOf, iamCatalog } from '../../lambda/core/catalog';
import type { EntityReport, EntityType, Granularity } from '../../lambda/core/model';
import { listOf, sharedActionSpace, statementsOf } from '../../lambda/core/policy';
import { proposeForAccount, proposePolicy, proveKeepsUse, proveNeverBroader, trimDocument, usageOf, type PolicyTarget, type Proposal } from '../../lambda/core/proposals';
import { allows } from '../helpers/evaluator';
import { allow, doc, reportIn } from '../helpers/proposals';

const ACCOUNT = '123456789012';
const space = sharedActionSpace();
const catalog = iamCatalog();
const context = { runId: 'r1', accountId: ACCOUNT, space, catalog };

/** A report of `name` granted `services`, each used `days` ago (null: never), with tracked actions used when given. */
const report = (type: EntityType, name: string, services: Record<string, number | null>, granularity: Granularity = 'SERVICE_LEVEL', tracked: Record<string, string[]> = {}): EntityReport =>
  reportIn(ACCOUNT, type, name, services, granularity, tracked);

const inline = (owner: EntityType = 'role', name = 'app'): PolicyTarget => ({ kind: 'inline-policy', policyArn: null, policyName: `${name}-access`, owner: { arn: `arn:aws:iam::${ACCOUNT}:${owner}/${name}`, type: owner as 'role' }, sizeLimit: 10_240 });
const awsManaged = (name: string): PolicyTarget => ({ kind: 'aws-managed-attachment', policyArn: `arn:aws:iam::aws:policy/${name}`, policyName: name, owner: { arn: `arn:aws:iam::${ACCOUNT}:role/app`, type: 'role' }, sizeLimit: 6_144 });

describe('rule: trim an inline policy to the services its owner used', () => {
  it('removes an unused service and keeps the used one (non-compliant: a proposal)', () => {
    const p = proposePolicy(context, inline(), doc(allow(['s3:*', 'ec2:*'])), report('role', 'app', { s3: 1, ec2: null }))!;
    expect(p).toMatchObject({ action: 'trim', removedServices: ['ec2'], keptServices: ['s3'], proposed: doc(allow('s3:*')) });
  });

  it('proposes nothing when every granted service was used (compliant)', () => {
    expect(proposePolicy(context, inline(), doc(allow(['s3:*', 'ec2:Describe*'])), report('role', 'app', { s3: 1, ec2: 30 }))).toBeNull();
  });

  it('counts a use older than the window as unused', () => {
    expect(proposePolicy(context, inline(), doc(allow(['s3:*', 'ec2:*'])), report('role', 'app', { s3: 1, ec2: 91 }))).toMatchObject({ removedServices: ['ec2'] });
  });
});

describe('rule: remove what grants nothing used', () => {
  it('removes an inline policy none of whose services was used', () => {
    expect(proposePolicy(context, inline(), doc(allow(['sqs:*', 'sns:Publish'])), report('role', 'app', { sqs: null, sns: 200 }))).toMatchObject({ action: 'remove', proposed: null });
  });

  it('keeps the Deny statements of a policy whose Allow statements are all unused: removing a Deny would broaden', () => {
    const deny = { Effect: 'Deny', Action: 'iam:*', Resource: '*' };
    const p = proposePolicy(context, inline(), doc(allow('sqs:*'), deny), report('role', 'app', { sqs: null }))!;
    expect(p).toMatchObject({ action: 'trim', proposed: doc(deny) });
  });
});

describe('rule: `*` is narrowed to the services used', () => {
  it('turns Action "*" into the used services, each whole', () => {
    const p = proposePolicy(context, inline(), doc(allow('*')), report('role', 'app', { s3: 2, dynamodb: 10, ec2: null }))!;
    expect(p.action).toBe('trim');
    expect(p.proposed).toEqual(doc(allow(['dynamodb:*', 's3:*'])));
    expect(p.removedServices.length).toBeGreaterThan(300);
  });

  it('narrows a pattern across services the same way', () => {
    const p = proposePolicy(context, inline(), doc(allow('*:Describe*')), report('role', 'app', { ec2: 2 }))!;
    expect(p.proposed).toEqual(doc(allow('ec2:Describe*')));
  });

  it('keeps a used service the catalogue does not know (AWS launched it since) that a wildcard names', () => {
    // IAM names every service it knows; the catalogue bundled at deployment knows those of its day.
    const used = report('role', 'app', { s3: 1, sqs: null, 'widgets-agent': 2 });
    const star = proposePolicy(context, inline(), doc(allow('*')), used)!;
    expect(star.proposed).toEqual(doc(allow(['s3:*', 'widgets-agent:*'])));
    expect(star.keptServices).toEqual(['s3', 'widgets-agent']);
    expect(star.removedServices).not.toContain('widgets-agent');
    expect(star.notes).toContain(`widgets-agent: used in the window, and unknown to the bundled action catalogue (${catalog.version}): kept as the current document grants it`);
    // A service wildcard keeps its part in it; a pattern naming it alone stays as written.
    expect(proposePolicy(context, inline(), doc(allow(['s3:*', 'sqs:*', 'widget*:Get*'])), used)!.proposed).toEqual(doc(allow(['s3:*', 'widgets-agent:Get*'])));
    expect(proposePolicy(context, inline(), doc(allow(['s3:*', 'sqs:*', 'widgets-agent:Get*'])), used)!.proposed).toEqual(doc(allow(['s3:*', 'widgets-agent:Get*'])));
  });
});

describe('rule: what cannot be trimmed safely is for review', () => {
  it('reviews NotAction with Allow', () => {
    const p = proposePolicy(context, inline(), doc({ Effect: 'Allow', NotAction: ['iam:*'], Resource: '*' }), report('role', 'app', { s3: 1, ec2: null }))!;
    expect(p).toMatchObject({ action: 'review', proposed: null, notes: [expect.stringContaining('NotAction')] });
  });

  it('reviews NotResource with Allow', () => {
    const p = proposePolicy(context, inline(), doc({ Effect: 'Allow', Action: ['s3:*', 'ec2:*'], NotResource: 'arn:aws:s3:::secret/*' }), report('role', 'app', { s3: 1, ec2: null }))!;
    expect(p).toMatchObject({ action: 'review', notes: [expect.stringContaining('NotResource')] });
  });

  it('reviews an identity younger than the window', () => {
    const details = account([{ ...role('young'), createDate: '2026-11-01T00:00:00Z', inlinePolicies: [{ name: 'p', document: doc(allow(['s3:*', 'ec2:*'])) }] }]);
    const [p] = proposeForAccount(context, details, new Map([[arnOf('role', 'young'), report('role', 'young', { s3: 1, ec2: null })]]), NO_EXEMPTIONS);
    expect(p).toMatchObject({ action: 'review', proposed: null, notes: [expect.stringContaining('its use cannot be judged yet')] });
  });

  it('keeps Resource and Condition of a trimmed statement as they are', () => {
    const statement = allow(['s3:GetObject', 'sqs:SendMessage'], { Resource: ['arn:aws:s3:::data/*', 'arn:aws:sqs:*:*:jobs'], Condition: { StringEquals: { 'aws:RequestedRegion': 'eu-west-1' } } });
    const p = proposePolicy(context, inline(), doc(statement), report('role', 'app', { s3: 1, sqs: null }))!;
    expect(p.proposed).toEqual(doc({ ...statement, Action: 's3:GetObject' }));
  });
});

describe('rule: AWS managed attachments', () => {
  const s3Full = doc(allow(['s3:*', 's3-object-lambda:*']));
  const dynamo = doc(allow(['dynamodb:*', 'dax:*', 'application-autoscaling:DescribeScalableTargets', 'cloudwatch:GetMetricStatistics', 'sns:ListTopics', 'kms:ListAliases', 'iam:GetRole']));

  it('replaces one mostly unused with a customer managed policy of the used part', () => {
    const p = proposePolicy(context, awsManaged('AmazonDynamoDBFullAccess'), dynamo, report('role', 'app', { dynamodb: 1, dax: null, 'application-autoscaling': null, cloudwatch: null, sns: null, kms: null, iam: null }))!;
    expect(p).toMatchObject({ action: 'replace', proposed: doc(allow('dynamodb:*')), notes: [expect.stringContaining('create a customer managed policy')] });
  });

  it('removes (detaches) one wholly unused, and proposes nothing for one mostly used', () => {
    expect(proposePolicy(context, awsManaged('AmazonS3FullAccess'), s3Full, report('role', 'app', { s3: null, 's3-object-lambda': null }))).toMatchObject({ action: 'remove' });
    expect(proposePolicy(context, awsManaged('AmazonS3FullAccess'), s3Full, report('role', 'app', { s3: 1, 's3-object-lambda': null }))).toBeNull();
  });
});

describe('rule: which report measures which policy', () => {
  const shared = `arn:aws:iam::${ACCOUNT}:policy/shared`;
  const details = account(
    [role('a', { attachedPolicies: [shared] }), role('b', { attachedPolicies: [shared] }), { ...group('devs'), inlinePolicies: [{ name: 'devs', document: doc(allow(['s3:*', 'ec2:*'])) }] }],
    [{ arn: shared, name: 'shared', path: '/', createDate: '2024-01-01T00:00:00Z', awsManaged: false, document: doc(allow(['s3:*', 'ec2:*', 'sqs:*'])) }],
  );

  it('trims a customer managed policy shared by several roles from its own report only', () => {
    // Role a used nothing and role b only ec2, but the policy's own report (use through every entity it is attached to) shows s3 and ec2.
    const reports = new Map([
      [arnOf('role', 'a'), report('role', 'a', { s3: null, ec2: null, sqs: null })],
      [arnOf('role', 'b'), report('role', 'b', { s3: null, ec2: 3, sqs: null })],
      [shared, report('policy', 'shared', { s3: 1, ec2: 3, sqs: null })],
    ]);
    const proposals = proposeForAccount(context, details, reports, NO_EXEMPTIONS);
    expect(proposals).toEqual([expect.objectContaining({ action: 'trim', target: expect.objectContaining({ kind: 'managed-policy', policyArn: shared }), removedServices: ['sqs'], proposed: doc(allow(['s3:*', 'ec2:*'])) })]);
  });

  it("keeps what a customer managed policy's version made inside the window added, and says so", () => {
    const policyReport = report('policy', 'shared', { s3: 1, ec2: 3, sqs: null, sns: null });
    const daysBefore = (days: number) => new Date(Date.parse(policyReport.job.createdAt) - days * 86_400_000).toISOString();
    const now = doc(allow(['s3:*', 'ec2:*', 'sqs:*', 'sns:*']));
    const version = (id: string, days: number, ...actions: string[]) => ({ id, createDate: daysBefore(days), document: doc(allow(actions)) });
    const withVersions = (current: { id: string; createDate: string }, ...earlier: Array<ReturnType<typeof version>>) =>
      account(details.identities as IdentityDetails[], [{ ...details.policies[0], document: now, version: current, earlierVersions: earlier }]);
    const proposalsFor = (d: AuthorizationDetails) => proposeForAccount(context, d, new Map([[shared, policyReport]]), NO_EXEMPTIONS);
    const made = `v3 of ${daysBefore(10).slice(0, 10)}, less than 90 days before the report`;
    // v3, ten days ago, added sqs to what v2 granted when the window began (v1 is older still): sqs is kept, sns goes.
    const [p] = proposalsFor(withVersions({ id: 'v3', createDate: daysBefore(10) }, version('v1', 400, 's3:*'), version('v2', 200, 's3:*', 'ec2:*', 'sns:*')));
    expect(p).toMatchObject({ action: 'trim', removedServices: ['sns'], keptServices: ['ec2', 's3', 'sqs'], proposed: doc(allow(['s3:*', 'ec2:*', 'sqs:*'])) });
    expect(p.notes).toEqual([`sqs: granted since ${made} (v2 before it), kept, as their use cannot be judged yet`]);
    // Had v3 added sns as well, nothing would be left to propose.
    expect(proposalsFor(withVersions({ id: 'v3', createDate: daysBefore(10) }, version('v2', 200, 's3:*', 'ec2:*')))).toEqual([]);
    // IAM no longer keeps a version from before the window: what v3 added is not known, and the note says so.
    const [unknown] = proposalsFor(withVersions({ id: 'v3', createDate: daysBefore(10) }, version('v2', 20, 's3:*', 'ec2:*', 'sqs:*', 'sns:*')));
    expect(unknown).toMatchObject({ removedServices: ['sns', 'sqs'] });
    expect(unknown.notes).toEqual([`its document is ${made}, and IAM no longer keeps the version before the window: what that version added has had less time to be used than the window, and is not known`]);
    // A default version older than the window, or the policy's first, changes nothing.
    for (const d of [withVersions({ id: 'v3', createDate: daysBefore(120) }), account(details.identities as IdentityDetails[], [{ ...details.policies[0], document: now }])]) {
      expect(proposalsFor(d)).toEqual([expect.objectContaining({ removedServices: ['sns', 'sqs'], notes: [] })]);
    }
  });

  it('keeps what a version that may have been in force inside the window did not grant: versions made inside it, and rollbacks', () => {
    const policyReport = report('policy', 'shared', { s3: 1, ec2: 3, sqs: null, sns: null });
    const daysBefore = (days: number) => new Date(Date.parse(policyReport.job.createdAt) - days * 86_400_000).toISOString();
    const version = (id: string, days: number, ...actions: string[]) => ({ id, createDate: daysBefore(days), document: doc(allow(actions)) });
    const proposalFor = (current: { id: string; createDate: string }, ...others: Array<ReturnType<typeof version>>) => {
      const d = account(details.identities as IdentityDetails[], [{ ...details.policies[0], document: doc(allow(['s3:*', 'ec2:*', 'sqs:*', 'sns:*'])), version: current, earlierVersions: others }]);
      return proposeForAccount(context, d, new Map([[shared, policyReport]]), NO_EXEMPTIONS)[0];
    };
    const note = (lacking: string, services: string) =>
      `${services}: granted by the default version ${lacking.split(':')[0]} and not by ${lacking.split(':')[1]}, which IAM keeps and which may have been in force in the last 90 days (IAM does not say when a version became the default), kept, as their use cannot be judged yet`;
    // v3 of ten days ago grants what v1 did when the window began, but v2, made in between, did not grant sns.
    let p = proposalFor({ id: 'v3', createDate: daysBefore(10) }, version('v1', 200, 's3:*', 'ec2:*', 'sqs:*', 'sns:*'), version('v2', 20, 's3:*', 'ec2:*', 'sqs:*'));
    expect(p).toMatchObject({ removedServices: ['sqs'], keptServices: ['ec2', 's3', 'sns'] });
    expect(p.notes).toEqual([note(`v3:v2 of ${daysBefore(20).slice(0, 10)}`, 'sns')]);
    // The default v2 is older than the window, but v3, newer, was made inside it: v2 may be back in force since a rollback.
    p = proposalFor({ id: 'v2', createDate: daysBefore(200) }, version('v1', 300, 's3:*'), version('v3', 30, 's3:*', 'ec2:*', 'sns:*'));
    expect(p).toMatchObject({ removedServices: ['sns'], keptServices: ['ec2', 's3', 'sqs'] });
    expect(p.notes).toEqual([note(`v2:v3 of ${daysBefore(30).slice(0, 10)}`, 'sqs')]);
    // The same for a rollback to the policy's first version, and for a newer version made before the window (when it was rolled back from is not known).
    p = proposalFor({ id: 'v1', createDate: details.policies[0].createDate! }, version('v2', 30, 's3:*', 'ec2:*', 'sns:*'));
    expect(p).toMatchObject({ removedServices: ['sns'], keptServices: ['ec2', 's3', 'sqs'] });
    p = proposalFor({ id: 'v2', createDate: daysBefore(300) }, version('v3', 200, 's3:*', 'ec2:*', 'sns:*'));
    expect(p).toMatchObject({ removedServices: ['sns'], keptServices: ['ec2', 's3', 'sqs'] });
    expect(p.notes).toEqual([note(`v2:v3 of ${daysBefore(200).slice(0, 10)}`, 'sqs')]);
    // Older versions, all older than the default, change nothing.
    p = proposalFor({ id: 'v3', createDate: daysBefore(100) }, version('v1', 300, 's3:*'), version('v2', 200, 's3:*', 'ec2:*'));
    expect(p).toMatchObject({ removedServices: ['sns', 'sqs'], notes: [] });
  });

  it('with ACTION_LEVEL data, keeps the tracked actions a version made inside the window added', () => {
    const policyReport = report('policy', 'shared', { s3: 1 }, 'ACTION_LEVEL', { s3: ['CreateBucket'] });
    const daysBefore = (days: number) => new Date(Date.parse(policyReport.job.createdAt) - days * 86_400_000).toISOString();
    const d = account(details.identities as IdentityDetails[], [
      {
        ...details.policies[0],
        document: doc(allow(['s3:CreateBucket', 's3:DeleteBucket', 's3:PutBucketPolicy', 's3:GetObject'])),
        version: { id: 'v2', createDate: daysBefore(5) },
        earlierVersions: [{ id: 'v1', createDate: daysBefore(300), document: doc(allow(['s3:CreateBucket', 's3:DeleteBucket', 's3:GetObject'])) }],
      },
    ]);
    const [p] = proposeForAccount(context, d, new Map([[shared, policyReport]]), NO_EXEMPTIONS);
    expect(p).toMatchObject({ action: 'trim', removedActions: ['s3:DeleteBucket'], proposed: doc(allow(['s3:CreateBucket', 's3:PutBucketPolicy', 's3:GetObject'])) });
    expect(p.notes).toEqual([`s3:PutBucketPolicy: granted since v2 of ${daysBefore(5).slice(0, 10)}, less than 90 days before the report (v1 before it), kept, as their use cannot be judged yet`]);
  });

  it('measures a group\'s inline policy by the group\'s report, which counts its members\' use', () => {
    const reports = new Map([[arnOf('group', 'devs'), report('group', 'devs', { s3: 5, ec2: null })]]);
    const [p] = proposeForAccount(context, details, reports, NO_EXEMPTIONS);
    expect(p).toMatchObject({ target: { kind: 'inline-policy', owner: { arn: arnOf('group', 'devs') } }, removedServices: ['ec2'] });
  });

  it('proposes nothing from a failed report (no report, nothing known)', () => {
    expect(proposeForAccount(context, details, new Map(), NO_EXEMPTIONS)).toEqual([]);
  });

  it('proposes nothing for an identity tagged exempt, and reviews a policy shared with one', () => {
    const tagged = account([role('a', { attachedPolicies: [shared], tags: { 'iam-access-audit:exempt': 'yes' }, inlinePolicies: [{ name: 'x', document: doc(allow(['s3:*', 'ec2:*'])) }] })], details.policies);
    const reports = new Map([
      [arnOf('role', 'a'), report('role', 'a', { s3: 1, ec2: null, sqs: null })],
      [shared, report('policy', 'shared', { s3: 1, ec2: null, sqs: null })],
    ]);
    const proposals = proposeForAccount(context, tagged, reports, NO_EXEMPTIONS);
    expect(proposals).toEqual([expect.objectContaining({ action: 'review', target: expect.objectContaining({ kind: 'managed-policy' }), notes: [expect.stringContaining('tagged iam-access-audit:exempt')] })]);
  });
});

describe('rule: a role owned elsewhere is for review: one AWS manages, or one made to deploy into the account or enter it', () => {
  const ssoPath = '/aws-reserved/sso.amazonaws.com/eu-west-1/';
  const readOnly = doc(allow(['s3:*', 'ec2:*', 'sqs:*']));
  const awsPolicy = { arn: 'arn:aws:iam::aws:policy/AmazonSQSFullAccess', name: 'AmazonSQSFullAccess', path: '/', createDate: '2024-01-01T00:00:00Z', awsManaged: true, document: doc(allow('sqs:*')) };
  const ownPolicy = { arn: `arn:aws:iam::${ACCOUNT}:policy/data-reader`, name: 'data-reader', path: '/', createDate: '2024-01-01T00:00:00Z', awsManaged: false, document: doc(allow(['s3:*', 'ec2:*'])) };
  const onPath = (name: string, path: string, extra: Partial<IdentityDetails> = {}) =>
    role(name, { arn: `arn:aws:iam::${ACCOUNT}:role${path}${name}`, path, inlinePolicies: [{ name: 'AwsSSOInlinePolicy', document: readOnly }], attachedPolicies: [awsPolicy.arn], ...extra });
  const used = (name: string, path: string) => reportIn(ACCOUNT, 'role', name, { s3: 1, ec2: null, sqs: null }, 'SERVICE_LEVEL', {}, path);

  it('reviews the inline policy and AWS managed attachments of an IAM Identity Center role, naming its permission set', () => {
    const name = 'AWSReservedSSO_Data_Engineers_0123456789abcdef';
    const sso = onPath(name, ssoPath);
    const proposals = proposeForAccount(context, account([sso], [awsPolicy]), new Map([[sso.arn, used(name, ssoPath)]]), NO_EXEMPTIONS);
    expect(proposals.map((p) => [p.target.kind, p.action, p.proposed])).toEqual([
      ['inline-policy', 'review', null],
      ['aws-managed-attachment', 'review', null],
    ]);
    // What the role did not use here is still said, for whoever changes the permission set.
    expect(proposals[0]).toMatchObject({ removedServices: ['ec2', 'sqs'], keptServices: ['s3'] });
    for (const p of proposals) expect(p.notes).toEqual([expect.stringContaining('permission set Data_Engineers, and IAM refuses changes to it')]);
  });

  it('reviews only what would be proposed for any role: an AWS managed policy it mostly used gets nothing', () => {
    const name = 'AWSReservedSSO_Storage_0123456789abcdef';
    const s3Full = { ...awsPolicy, arn: 'arn:aws:iam::aws:policy/AmazonS3FullAccess', name: 'AmazonS3FullAccess', document: doc(allow(['s3:*', 's3-object-lambda:*'])) };
    const sso = onPath(name, ssoPath, { inlinePolicies: [], attachedPolicies: [s3Full.arn, awsPolicy.arn] });
    const reports = new Map([[sso.arn, reportIn(ACCOUNT, 'role', name, { s3: 1, 's3-object-lambda': null, sqs: null }, 'SERVICE_LEVEL', {}, ssoPath)]]);
    const proposals = proposeForAccount(context, account([sso], [s3Full, awsPolicy]), reports, NO_EXEMPTIONS);
    // AmazonSQSFullAccess, wholly unused, would be removed: a review; AmazonS3FullAccess, mostly used, would be kept.
    expect(proposals.map((p) => [p.target.policyName, p.action, p.removedServices])).toEqual([['AmazonSQSFullAccess', 'review', ['sqs']]]);
  });

  it('still trims a customer managed policy such a role holds: the account owns it, and it is measured by its own report', () => {
    const name = 'AWSReservedSSO_ReadOnly_0123456789abcdef';
    const sso = onPath(name, '/aws-reserved/sso.amazonaws.com/', { inlinePolicies: [], attachedPolicies: [ownPolicy.arn] });
    const reports = new Map([
      [sso.arn, used(name, '/aws-reserved/sso.amazonaws.com/')],
      [ownPolicy.arn, report('policy', 'data-reader', { s3: 1, ec2: null })],
    ]);
    expect(proposeForAccount(context, account([sso], [ownPolicy]), reports, NO_EXEMPTIONS)).toEqual([
      expect.objectContaining({ action: 'trim', target: expect.objectContaining({ kind: 'managed-policy', policyArn: ownPolicy.arn }), removedServices: ['ec2'] }),
    ]);
  });

  it('reviews a service-linked role, and trims a role of the same name elsewhere or a role on the path not named as IAM Identity Center names them', () => {
    const linked = onPath('AWSServiceRoleForSomething', '/aws-service-role/some.amazonaws.com/');
    const plain = onPath('AWSReservedSSO_Data_0123456789abcdef', '/');
    const unlike = onPath('deployer', '/aws-reserved/sso.amazonaws.com/');
    const details = account([linked, plain, unlike], [awsPolicy]);
    const reports = new Map([linked, plain, unlike].map((r) => [r.arn, used(r.name, r.path)]));
    const actions = proposeForAccount(context, details, reports, NO_EXEMPTIONS).map((p) => [p.target.owner!.arn.split(':role')[1], p.target.kind, p.action]);
    expect(actions).toEqual([
      ['/aws-service-role/some.amazonaws.com/AWSServiceRoleForSomething', 'inline-policy', 'review'],
      ['/aws-service-role/some.amazonaws.com/AWSServiceRoleForSomething', 'aws-managed-attachment', 'review'],
      ['/AWSReservedSSO_Data_0123456789abcdef', 'inline-policy', 'trim'],
      ['/AWSReservedSSO_Data_0123456789abcdef', 'aws-managed-attachment', 'remove'],
      ['/aws-reserved/sso.amazonaws.com/deployer', 'inline-policy', 'trim'],
      ['/aws-reserved/sso.amazonaws.com/deployer', 'aws-managed-attachment', 'remove'],
    ]);
  });

  it('reviews the roles AWS Organizations, Control Tower, StackSets and the CDK\'s bootstrap make by name at path /, saying whose they are; the same names elsewhere, or near them, are trimmed', () => {
    const reasons: Record<string, string> = {
      OrganizationAccountAccessRole: "AWS Organizations made this role for the management account's way into this account",
      AWSControlTowerExecution: 'AWS Control Tower deploys and repairs its landing zone in this account through this role',
      'stacksets-exec-0123456789abcdef0123456789abcdef': 'narrow it with a custom execution role template for the StackSets instead',
      AWSCloudFormationStackSetExecutionRole: 'CloudFormation StackSets (self-managed) deploy stack instances through this role',
      'cdk-hnb659fds-cfn-exec-role-123456789012-eu-west-1': "the CDK's bootstrap stack (CDKToolkit) made this role for cdk deploy",
      'cdk-team_a-lookup-role-123456789012-us-east-1': "the CDK's bootstrap stack (CDKToolkit) made this role for cdk deploy",
    };
    const proposalsOf = (roles: IdentityDetails[]) => proposeForAccount(context, account(roles, [awsPolicy]), new Map(roles.map((r) => [r.arn, used(r.name, r.path)])), NO_EXEMPTIONS);
    const deploying = proposalsOf(Object.keys(reasons).map((name) => onPath(name, '/')));
    expect(deploying.map((p) => [p.target.owner!.arn.split(':role/')[1], p.target.kind, p.action, p.proposed, p.notes])).toEqual(
      Object.entries(reasons).flatMap(([name, reason]) => ['inline-policy', 'aws-managed-attachment'].map((kind) => [name, kind, 'review', null, [expect.stringContaining(reason)]])),
    );
    // What the role did not use is still said.
    expect(deploying[0]).toMatchObject({ removedServices: ['ec2', 'sqs'], keptServices: ['s3'] });
    for (const roles of [[onPath('OrganizationAccountAccessRole', '/teams/')], [onPath('stacksets-executor', '/'), onPath('ControlTowerExecution', '/'), onPath('cdk-hnb659fds-app-role-123456789012-eu-west-1', '/')]]) {
      expect(proposalsOf(roles).map((p) => p.action)).toEqual(roles.flatMap(() => ['trim', 'remove']));
    }
  });

  it('reviews a role of any name and path that CloudFormation or Service Catalog may assume, by its trust; a role other services assume is trimmed', () => {
    const proposalsOf = (roles: IdentityDetails[]) => proposeForAccount(context, account(roles, [awsPolicy]), new Map(roles.map((r) => [r.arn, used(r.name, r.path)])), NO_EXEMPTIONS);
    const roles = [
      onPath('stack-deployer', '/pipelines/', { trustedServices: ['cloudformation.amazonaws.com', 'codebuild.amazonaws.com'] }),
      onPath('cdk-custom-exec', '/', { trustedServices: ['cloudformation.amazonaws.com'] }),
      onPath('SCLaunchRole', '/', { trustedServices: ['servicecatalog.amazonaws.com'] }),
      onPath('builder', '/', { trustedServices: ['codebuild.amazonaws.com', 'lambda.amazonaws.com'] }),
    ];
    const reason = (p: Proposal) => (p.action === 'review' ? p.notes[0].slice(0, p.notes[0].indexOf(' (')) : null);
    expect(proposalsOf(roles).map((p) => [p.target.owner!.arn.split(':role')[1], p.target.kind, p.action, reason(p)])).toEqual([
      ['/pipelines/stack-deployer', 'inline-policy', 'review', 'CloudFormation deploys through this role'],
      ['/pipelines/stack-deployer', 'aws-managed-attachment', 'review', 'CloudFormation deploys through this role'],
      ['/cdk-custom-exec', 'inline-policy', 'review', 'CloudFormation deploys through this role'],
      ['/cdk-custom-exec', 'aws-managed-attachment', 'review', 'CloudFormation deploys through this role'],
      ['/SCLaunchRole', 'inline-policy', 'review', 'Service Catalog launches products through this role'],
      ['/SCLaunchRole', 'aws-managed-attachment', 'review', 'Service Catalog launches products through this role'],
      ['/builder', 'inline-policy', 'trim', null],
      ['/builder', 'aws-managed-attachment', 'remove', null],
    ]);
    // A role named as the CDK's bootstrap names them keeps the reason of its name, which says more.
    const named = onPath('cdk-hnb659fds-cfn-exec-role-123456789012-eu-west-1', '/', { trustedServices: ['cloudformation.amazonaws.com'] });
    expect(proposalsOf([named])[0].notes[0]).toContain("the CDK's bootstrap stack (CDKToolkit) made this role");
  });

  it("reviews a role of any name that a StackSet's administration role may assume, or the organization's management account as a whole, when the run knows that account", () => {
    const MANAGEMENT = '999999999999';
    const proposalsOf = (roles: IdentityDetails[], managementAccountId: string | null) =>
      proposeForAccount(context, account(roles, [awsPolicy], managementAccountId), new Map(roles.map((r) => [r.arn, used(r.name, r.path)])), NO_EXEMPTIONS);
    const roles = [
      onPath('stackset-deployer', '/deploy/', { trustedAwsPrincipals: [`arn:aws:iam::${MANAGEMENT}:role/AWSCloudFormationStackSetAdministrationRole`] }),
      onPath('BreakGlass', '/', { trustedAwsPrincipals: [`arn:aws:iam::${MANAGEMENT}:root`] }),
      onPath('LegacyAdmin', '/', { trustedAwsPrincipals: [MANAGEMENT] }),
      onPath('monitoring', '/', { trustedAwsPrincipals: [`arn:aws:iam::${MANAGEMENT}:role/monitor`, `arn:aws:iam::${ACCOUNT}:root`] }),
      onPath('partner', '/', { trustedAwsPrincipals: ['arn:aws:iam::444455556666:root', 'arn:aws:iam::444455556666:role/StackSetAdministrationRole'] }),
    ];
    const reason = (p: Proposal) => (p.action === 'review' ? p.notes[0].slice(0, p.notes[0].indexOf(' (')) : null);
    const byRole = (proposals: Proposal[]) => proposals.filter((p) => p.target.kind === 'inline-policy').map((p) => [p.target.owner!.arn.split('/').pop(), p.action, reason(p)]);
    expect(byRole(proposalsOf(roles, MANAGEMENT))).toEqual([
      ['stackset-deployer', 'review', 'CloudFormation StackSets'],
      ['BreakGlass', 'review', "the organization's management account may assume this role"],
      ['LegacyAdmin', 'review', "the organization's management account may assume this role"],
      ['monitoring', 'trim', null],
      ['partner', 'trim', null],
    ]);
    // The management account unknown (the pipeline's own account, or a list), or the account itself: its roles that trust it are any roles.
    const unknown = byRole(proposalsOf(roles, null));
    expect(unknown.map(([name, action]) => [name, action])).toEqual([
      ['stackset-deployer', 'review'],
      ['BreakGlass', 'trim'],
      ['LegacyAdmin', 'trim'],
      ['monitoring', 'trim'],
      ['partner', 'trim'],
    ]);
    expect(byRole(proposalsOf([onPath('BreakGlass', '/', { trustedAwsPrincipals: [`arn:aws:iam::${ACCOUNT}:root`] })], ACCOUNT))).toEqual([['BreakGlass', 'trim', null]]);
  });
});

describe('rule: ACTION_LEVEL data trims unused tracked actions of used services, never untracked ones', () => {
  it('drops the unused tracked management actions of s3 and keeps its data events', () => {
    const p = proposePolicy(context, inline(), doc(allow('s3:*')), report('role', 'app', { s3: 1 }, 'ACTION_LEVEL', { s3: ['CreateBucket'] }))!;
    expect(p.action).toBe('trim');
    const kept = new Set([...space.grantedBy((p.proposed!.Statement as object[])[0] as never)]);
    expect(kept.has('s3:createbucket')).toBe(true);
    // A data event (not tracked) stays whatever the report shows; an unused tracked action goes.
    expect(kept.has('s3:getobject')).toBe(true);
    expect(kept.has('s3:deletebucket')).toBe(false);
    expect(p.removedActions).toContain('s3:DeleteBucket');
    expect(p.removedActions).not.toContain('s3:GetObject');
    // The wildcard is written out: the used tracked action by name, the data events under the shortest
    // word prefixes no dropped action starts with, and the reviewer is told what that leaves of S3's future.
    const actions = listOf(statementsOf(p.proposed!)[0].Action);
    expect(actions).toEqual(expect.arrayContaining(['s3:CreateBucket', 's3:GetObject*', 's3:PutObject*', 's3:DeleteObject*', 's3:ListBucket*']));
    expect(actions.filter((a) => !a.endsWith('*'))).toEqual(['s3:CreateBucket']);
    expect(p.notes).toContain(
      `s3:* written out from the bundled action catalogue (${catalog.version}, data of ${catalogDateOf(catalog.version)}) less the unused actions: an action newer than the catalogue is allowed only under a kept prefix (${actions.filter((a) => a.endsWith('*')).slice(0, 3).join(', ')}, ...)`,
    );
    // A list of actions written as they were is no wildcard written out.
    const listed = proposePolicy(context, inline(), doc(allow(['s3:CreateBucket', 's3:DeleteBucket', 'sqs:SendMessage'])), report('role', 'app', { s3: 1, sqs: null }, 'ACTION_LEVEL', { s3: ['CreateBucket'] }))!;
    expect(listed.proposed!.Statement).toEqual([allow('s3:CreateBucket')]);
    expect(listed.notes.join(' ')).not.toContain('written out');
  });

  it('writes a wildcard out under word prefixes of its untracked actions, within the wildcard, and names the rest', () => {
    const trimmed = (actions: string | string[], service: string, used: string[]) => {
      const p = proposePolicy(context, inline(), doc(allow(actions)), report('role', 'app', { [service]: 1 }, 'ACTION_LEVEL', { [service]: used }))!;
      return { actions: statementsOf(p.proposed!)[0].Action, notes: p.notes };
    };
    // Lambda's invocations are data events: one prefix stands for all three, and for one AWS adds; its
    // permissions to pass a capacity provider or a network connector are no calls, never tracked, kept.
    expect(trimmed('lambda:*', 'lambda', ['GetFunction'])).toEqual({
      actions: ['lambda:Invoke*', 'lambda:Pass*', 'lambda:GetFunction'],
      notes: [`lambda:* written out from the bundled action catalogue (${catalog.version}, data of ${catalogDateOf(catalog.version)}) less the unused actions: an action newer than the catalogue is allowed only under a kept prefix (lambda:Invoke*, lambda:Pass*)`],
    });
    // Within s3:Get*, never wider than it; the used management action by name.
    expect(trimmed('s3:Get*', 's3', ['GetBucketPolicy']).actions).toEqual(['s3:GetBucketPolicy', 's3:GetObject*']);
    // A wildcard that is not a prefix is written action by action; so is a service IAM tracks whole.
    expect(listOf(trimmed('s3:*Bucket*', 's3', ['CreateBucket']).actions).sort()).toEqual(['s3:CreateBucket', 's3:ListBucket', 's3:ListBucketMultipartUploads', 's3:ListBucketVersions', 's3:ObjectOwnerOverrideToBucketOwner']);
    expect(trimmed('ec2:*', 'ec2', ['DescribeInstances', 'RunInstances'])).toEqual({
      actions: ['ec2:DescribeInstances', 'ec2:RunInstances'],
      notes: [`ec2:* written out from the bundled action catalogue (${catalog.version}, data of ${catalogDateOf(catalog.version)}) less the unused actions: an action newer than the catalogue is not allowed`],
    });
  });

  it('keeps whole a used service that no tracked action and no untracked call accounts for', () => {
    // IAM says ec2 and iam were used and reports none of their tracked actions: the use was an action IAM
    // does not track (or its two kinds of data disagree), so no ec2 or iam action can be called unused.
    const r = report('role', 'app', { ec2: 1, iam: 2, sqs: null }, 'ACTION_LEVEL');
    const usage = usageOf(r, catalog);
    expect(usage.unexplained).toEqual(['ec2', 'iam']);
    expect(usage.unusedTrackedActions!.has('ec2')).toBe(false);
    const p = proposePolicy(context, inline(), doc(allow(['ec2:*', 'iam:*', 'sqs:*'])), r)!;
    expect(p.action).toBe('trim');
    expect(p.removedServices).toEqual(['sqs']);
    expect(p.removedActions).toEqual([]);
    expect(p.proposed!.Statement).toEqual([allow(['ec2:*', 'iam:*'])]);
    expect(p.notes).toContain('ec2, iam: used in the window by no action IAM reports one by one, so every action of them is kept');
    // With nothing else to cut there is nothing to propose.
    expect(proposePolicy(context, inline(), doc(allow('ec2:*')), report('role', 'app', { ec2: 1 }, 'ACTION_LEVEL'))).toBeNull();
    // A tracked action used an hour before the window does not account for a use inside it.
    const stale = report('role', 'app', { ec2: 1 }, 'ACTION_LEVEL', { ec2: ['RunInstances'] });
    const old = { ...stale, services: stale.services.map((s) => ({ ...s, trackedActions: s.trackedActions.map((a) => ({ ...a, lastAccessedTime: '2026-08-01T00:00:00.000Z' })) })) };
    expect(usageOf(old, catalog).unexplained).toEqual(['ec2']);
  });

  it('cuts the unused tracked actions of a service whose use a tracked action or an untracked call accounts for', () => {
    // ec2 used by RunInstances: its other tracked actions go.
    const ec2 = proposePolicy(context, inline(), doc(allow('ec2:*')), report('role', 'app', { ec2: 1 }, 'ACTION_LEVEL', { ec2: ['RunInstances'] }))!;
    expect(ec2.removedActions).toContain('ec2:TerminateInstances');
    expect(ec2.notes.join(' ')).not.toContain('kept');
    // s3 used by no tracked action: a data event (GetObject, say) accounts for it, and the management actions go.
    const usage = usageOf(report('role', 'app', { s3: 1, lambda: 1 }, 'ACTION_LEVEL'), catalog);
    expect(usage.unexplained).toBeUndefined();
    expect(usage.unusedTrackedActions!.get('s3')!.has('s3:deletebucket')).toBe(true);
    expect(usage.unusedTrackedActions!.get('lambda')!.has('lambda:deletefunction')).toBe(true);
  });

  it('keeps whole a used service that no tracked action shows when nothing grants the identity one of its data events', () => {
    const inlineOf = (name: string, ...actions: string[]) => ({ name, document: doc(allow(actions)) });
    const user = (name: string, extra: Partial<IdentityDetails>): IdentityDetails => ({ ...role(name), arn: arnOf('user', name), type: 'user', ...extra });
    const details = account([
      // Bucket management only: its s3 use cannot have been a data event.
      role('admin', { inlinePolicies: [inlineOf('buckets', 's3:GetBucketLocation', 's3:PutBucketPolicy', 'sqs:SendMessage')] }),
      // A data event granted by another of its policies accounts for the use: the management policy goes.
      role('reader', { inlinePolicies: [inlineOf('objects', 's3:GetObject'), inlineOf('buckets', 's3:PutBucketPolicy')] }),
      // A permission to pass a resource is no call: it cannot account for a use of Lambda.
      role('passer', { inlinePolicies: [inlineOf('functions', 'lambda:PassCapacityProvider', 'lambda:CreateFunction', 'lambda:DeleteFunction', 'sqs:SendMessage')] }),
      // The same through a user's group.
      { ...group('readers'), inlinePolicies: [inlineOf('objects', 's3:GetObject')] },
      user('ana', { groups: ['readers'], inlinePolicies: [inlineOf('buckets', 's3:PutBucketPolicy')] }),
    ]);
    // Each used s3 yesterday and IAM reports none of its tracked actions used.
    const reports = new Map(
      [arnOf('role', 'admin'), arnOf('role', 'reader'), arnOf('user', 'ana')].map((arn) => {
        const [type, name] = arn.split(':').pop()!.split('/') as [EntityType, string];
        return [arn, report(type, name, { s3: 1, sqs: null }, 'ACTION_LEVEL')];
      }),
    );
    reports.set(arnOf('role', 'passer'), report('role', 'passer', { lambda: 1, sqs: null }, 'ACTION_LEVEL'));
    const proposals = proposeForAccount(context, details, reports, NO_EXEMPTIONS);
    const of = (arn: string) => proposals.filter((p) => p.target.owner?.arn === arn);
    const [admin] = of(arnOf('role', 'admin'));
    expect(admin).toMatchObject({ action: 'trim', removedServices: ['sqs'], removedActions: [] });
    expect(admin.proposed!.Statement).toEqual([allow(['s3:GetBucketLocation', 's3:PutBucketPolicy'])]);
    expect(admin.notes).toContain('s3: used in the window by no action IAM reports one by one, so every action of it is kept');
    expect(of(arnOf('role', 'reader'))).toEqual([expect.objectContaining({ action: 'remove', target: expect.objectContaining({ policyName: 'buckets' }), removedActions: ['s3:PutBucketPolicy'] })]);
    expect(of(arnOf('user', 'ana'))).toEqual([expect.objectContaining({ action: 'remove', target: expect.objectContaining({ policyName: 'buckets' }) })]);
    expect(of(arnOf('role', 'passer'))).toEqual([expect.objectContaining({ action: 'trim', removedServices: ['sqs'], removedActions: [], notes: ['lambda: used in the window by no action IAM reports one by one, so every action of it is kept'] })]);
  });

  it('keeps whole a used service of which IAM reports an action the catalogue does not know, naming it', () => {
    // AWS added s3:CreateBucketWidget after the catalogue was bundled: listing the catalogue's actions in
    // place of s3:* would drop it, and the role used it yesterday.
    const r = report('role', 'app', { s3: 1, ec2: 1 }, 'ACTION_LEVEL', { s3: ['CreateBucket', 'CreateBucketWidget'], ec2: ['RunInstances'] });
    const usage = usageOf(r, catalog);
    expect(usage.unknownUsed).toEqual(new Map([['s3', ['s3:CreateBucketWidget']]]));
    expect(usage.unusedTrackedActions!.has('s3')).toBe(false);
    const p = proposePolicy(context, inline(), doc(allow(['s3:*', 'ec2:*'])), r)!;
    expect(p.action).toBe('trim');
    expect(p.proposed!.Statement).toEqual([allow(['s3:*', 'ec2:RunInstances'])]);
    expect(p.removedActions).toContain('ec2:TerminateInstances');
    expect(p.removedActions.filter((a) => a.startsWith('s3:'))).toEqual([]);
    expect(p.notes).toContain("s3: IAM reports s3:CreateBucketWidget used in the window, which the bundled action catalogue does not know (it is older than IAM's data), so every action of s3 is kept");
    // Such an action used only before the window is unused: the service is trimmed as usual.
    const old = { ...r, services: r.services.map((s) => ({ ...s, trackedActions: s.trackedActions.map((a) => (a.actionName === 'CreateBucketWidget' ? { ...a, lastAccessedTime: '2026-01-01T00:00:00.000Z' } : a)) })) };
    expect(usageOf(old, catalog).unknownUsed).toBeUndefined();
    expect(usageOf(old, catalog).unusedTrackedActions!.get('s3')!.has('s3:deletebucket')).toBe(true);
  });

  it('judges a customer managed policy by what it grants itself, since its report shows the use made through it', () => {
    const managed = (name: string, ...actions: string[]) => ({ arn: `arn:aws:iam::${ACCOUNT}:policy/${name}`, name, path: '/', createDate: '2024-01-01T00:00:00Z', awsManaged: false, document: doc(allow(actions)) });
    const buckets = managed('buckets', 's3:GetBucketLocation', 's3:PutBucketPolicy', 'sqs:SendMessage');
    const objects = managed('objects', 's3:GetObject', 's3:PutBucketPolicy');
    // Its holder may read objects through another policy: that says nothing of the use made through this one.
    const details = account([role('app', { attachedPolicies: [buckets.arn, objects.arn], inlinePolicies: [{ name: 'read', document: doc(allow('s3:GetObject')) }] })], [buckets, objects]);
    // Each policy's report: s3 used yesterday, none of its tracked actions reported used.
    const reports = new Map([buckets, objects].map((p) => [p.arn, report('policy', p.name, { s3: 1, sqs: null }, 'ACTION_LEVEL')]));
    const proposals = proposeForAccount(context, details, reports, NO_EXEMPTIONS);
    const of = (arn: string) => proposals.filter((p) => p.target.policyArn === arn);
    // Bucket management alone cannot have made a data event: s3 is kept whole, sqs goes.
    expect(of(buckets.arn)).toEqual([expect.objectContaining({ action: 'trim', removedServices: ['sqs'], removedActions: [], proposed: doc(allow(['s3:GetBucketLocation', 's3:PutBucketPolicy'])) })]);
    expect(of(buckets.arn)[0].notes).toContain('s3: used in the window by no action IAM reports one by one, so every action of it is kept');
    // A data event it grants accounts for the use: its unused bucket management goes.
    expect(of(objects.arn)).toEqual([expect.objectContaining({ action: 'trim', removedActions: ['s3:PutBucketPolicy'], proposed: doc(allow('s3:GetObject')) })]);
  });

  it('at SERVICE_LEVEL never removes an action of a used service', () => {
    expect(proposePolicy(context, inline(), doc(allow('s3:*')), report('role', 'app', { s3: 1 }))).toBeNull();
  });
});

describe('the proof', () => {
  it('catches a proposal that would allow more, or change a Resource', () => {
    const current = doc(allow('s3:GetObject', { Resource: 'arn:aws:s3:::data/*' }));
    expect(proveNeverBroader(current, { document: doc(allow('s3:*', { Resource: 'arn:aws:s3:::data/*' })), sources: [0], removedServices: [], removedActions: [], keptServices: [] }, space)).toMatch(/would allow s3:/);
    expect(proveNeverBroader(current, { document: doc(allow('s3:GetObject')), sources: [0], removedServices: [], removedActions: [], keptServices: [] }, space)).toMatch(/Resource/);
    expect(proveNeverBroader(current, trimDocument(current, usageOf(report('role', 'app', { s3: 1 }), catalog), space), space)).toBeNull();
  });

  it('asks action by action of every pattern the source does not hold itself, in any case, and of none under *', () => {
    const trimTo = (action: string | string[]) => ({ document: doc(allow(action)), sources: [0], removedServices: [], removedActions: [], keptServices: [] });
    const listed = doc(allow(['S3:Get*', 's3:*', 'ec2:DescribeInstances', 'ec2:DescribeImages']));
    expect(proveNeverBroader(listed, trimTo(['s3:get*', 's3:PutObject', 'ec2:describeimages']), space)).toBeNull();
    expect(proveNeverBroader(listed, trimTo(['ec2:DescribeInstances', 'ec2:RunInstances']), space)).toBe('statement 0 would allow ec2:RunInstances, which it does not allow now');
    expect(proveNeverBroader(listed, trimTo('ec2:Describe*'), space)).toMatch(/^statement 0 would allow ec2:Describe\w+, which it does not allow now$/);
    expect(proveNeverBroader(doc(allow('*')), trimTo(['iam:*', 'ec2:RunInstances']), space)).toBeNull();
  });

  it('asks each wildcard to lie within a pattern of its source as written, for the actions AWS adds later', () => {
    const trimTo = (action: string | string[]) => ({ document: doc(allow(action)), sources: [0], removedServices: [], removedActions: [], keptServices: [] });
    const gets = doc(allow(['s3:Get*', 'lambda:*']));
    expect(proveNeverBroader(gets, trimTo(['s3:GetObject*', 'S3:get*', 'lambda:Invoke*', 's3:GetBucketPolicy']), space)).toBeNull();
    expect(proveNeverBroader(doc(allow(['s3*:Get*'])), trimTo(['s3:GetObject*', 's3:Get*']), space)).toBeNull();
    // s3:G* matches only Get actions in the catalogue, but an s3:G action AWS adds would be allowed.
    expect(proveNeverBroader(gets, trimTo('s3:G*'), space)).toBe('statement 0 would allow s3:G*, which no pattern of it now contains (an action AWS adds later might match one and not the other)');
    // Every catalogue action of s3:GetObject* listed by name does not contain s3:GetObject* either.
    const named = catalog.actions('s3')!.filter((a) => a.name.startsWith('GetObject')).map((a) => `s3:${a.name}`);
    expect(proveNeverBroader(doc(allow(named)), trimTo('s3:GetObject*'), space)).toMatch(/^statement 0 would allow s3:GetObject\*, which no pattern/);
    expect(proveNeverBroader(doc(allow(named.slice(1))), trimTo('s3:GetObject*'), space)).toMatch(/^statement 0 would allow s3:GetObject\w*, which it does not allow now$/);
  });

  it('catches a proposal that would stop allowing a used service, whether the statement is broad or narrow', () => {
    const usage = usageOf(report('role', 'app', { s3: 1, ec2: null }), catalog);
    const trim = (...statements: object[]) => ({ document: statements.length ? doc(...statements) : null, sources: statements.map(() => 0), removedServices: [], removedActions: [], keptServices: [] });
    // `*` grants more actions than the used services hold: the proof asks over s3's actions.
    const broad = doc(allow('*'));
    expect(proveKeepsUse(broad, trim(allow('s3:Get*')), usage, space)).toMatch(/^s3:\w+ of used service s3 would no longer be allowed by statement 0$/);
    expect(proveKeepsUse(broad, trim(allow(['s3:Get*', 's3:*'])), usage, space)).toBeNull();
    // Three actions are fewer than s3 holds: the proof asks over what the statement grants.
    const narrow = doc(allow(['s3:GetObject', 's3:PutObject', 'ec2:DescribeInstances']));
    expect(proveKeepsUse(narrow, trim(allow('s3:GetObject')), usage, space)).toBe('s3:PutObject of used service s3 would no longer be allowed by statement 0');
    expect(proveKeepsUse(narrow, trim(allow(['s3:GetObject', 's3:PutObject'])), usage, space)).toBeNull();
    // A statement removed whole loses its used actions too.
    expect(proveKeepsUse(narrow, trim(), usage, space)).toMatch(/of used service s3/);
  });

  it('asks a used service the catalogue does not know of the patterns as written', () => {
    const usage = usageOf(report('role', 'app', { s3: 1, 'widgets-agent': 2 }), catalog);
    const trim = (...statements: object[]) => ({ document: statements.length ? doc(...statements) : null, sources: statements.map(() => 0), removedServices: [], removedActions: [], keptServices: [] });
    const lost = 'widgets-agent:* of used service widgets-agent, which the catalogue does not know, would no longer be allowed by statement 0';
    expect(proveKeepsUse(doc(allow('*')), trim(allow('s3:*')), usage, space)).toBe(lost);
    expect(proveKeepsUse(doc(allow('*')), trim(allow(['s3:*', 'widgets-agent:*'])), usage, space)).toBeNull();
    expect(proveKeepsUse(doc(allow(['s3:*', 'widgets-*:Get*'])), trim(allow(['s3:*'])), usage, space)).toBe(lost.replace('widgets-agent:*', 'widgets-agent:Get*'));
    expect(proveKeepsUse(doc(allow(['s3:*', 'widgets-*:Get*'])), trim(allow(['s3:*', 'widgets-agent:GetWidget'])), usage, space)).toMatch(/^widgets-agent:Get\* of used service/);
    expect(proveKeepsUse(doc(allow(['s3:*', 'widgets-*:Get*'])), trim(allow(['s3:*', 'widgets-agent:Get*'])), usage, space)).toBeNull();
  });

  it('asks used actions the catalogue does not know of the patterns as written', () => {
    const usage = usageOf(report('role', 'app', { s3: 1 }, 'ACTION_LEVEL', { s3: ['CreateBucketWidget'] }), catalog);
    const trim = (...statements: object[]) => ({ document: statements.length ? doc(...statements) : null, sources: statements.map(() => 0), removedServices: [], removedActions: [], keptServices: [] });
    const current = doc(allow('s3:*'));
    // Every catalogue action of s3 kept, and still the new one lost.
    const listedOut = allow(catalog.actions('s3')!.map((a) => `s3:${a.name}`));
    expect(proveKeepsUse(current, trim(listedOut), usage, space)).toBe('s3:CreateBucketWidget, used, would no longer be allowed by statement 0');
    expect(proveKeepsUse(current, trim(allow([...listOf(listedOut.Action), 'S3:CreateBucketW*'])), usage, space)).toBeNull();
    expect(proveKeepsUse(current, trim(), usage, space)).toMatch(/^s3:CreateBucketWidget, used/);
    // A statement that never allowed it has nothing to keep.
    expect(proveKeepsUse(doc(allow('s3:Get*')), trim(allow('s3:get*')), usage, space)).toBeNull();
  });
});

describe('properties over generated policies, judged by an independent evaluator', () => {
  const SERVICES = ['s3', 'ec2', 'sqs', 'iam', 'lambda', 'dynamodb'];
  const actionsOf = (s: string) => catalog.actions(s)!.map((a) => `${s}:${a.name}`);
  const pattern = fc.oneof(
    fc.constantFrom(...SERVICES).map((s) => `${s}:*`),
    fc.constantFrom(...SERVICES).chain((s) => fc.constantFrom(...actionsOf(s).slice(0, 40))),
    fc.constantFrom(...SERVICES).map((s) => `${s}:Get*`),
    fc.constant('*'),
  );
  const statement = fc.record({
    Effect: fc.constantFrom('Allow', 'Allow', 'Allow', 'Deny'),
    Action: fc.array(pattern, { minLength: 1, maxLength: 4 }),
    Resource: fc.constantFrom('*', 'arn:aws:s3:::data/*', ['arn:aws:sqs:*:*:q', 'arn:aws:s3:::logs/*']),
    Condition: fc.option(fc.constant({ Bool: { 'aws:SecureTransport': 'true' } }), { nil: undefined }),
  });
  const policy = fc.array(statement, { minLength: 1, maxLength: 4 }).map((Statement) => doc(...Statement.map((s) => (s.Condition ? s : { ...s, Condition: undefined })).map((s) => JSON.parse(JSON.stringify(s)))));
  const use = fc.record({
    used: fc.subarray(SERVICES),
    actionLevel: fc.boolean(),
    trackedUsed: fc.subarray(['s3:CreateBucket', 's3:PutBucketPolicy', 'ec2:RunInstances', 'iam:CreateRole', 'lambda:CreateFunction']),
  });
  const requests = (s: string): string[] => [...actionsOf(s).slice(0, 25), ...actionsOf(s).filter((a) => /Bucket|Instances|Role|Function|GetObject|Invoke/.test(a)).slice(0, 25)];
  const RESOURCES = ['arn:aws:s3:::data/x', 'arn:aws:sqs:us-east-1:1:q', 'arn:aws:s3:::logs/y', 'arn:aws:ec2:us-east-1:1:instance/i'];

  it('never allows what the current policy denies, and keeps allowing every used service\'s actions', () => {
    const seen = { trim: 0, remove: 0, replace: 0, review: 0, none: 0 };
    fc.assert(
      fc.property(policy, use, (current, u) => {
        const services = Object.fromEntries(SERVICES.map((s) => [s, u.used.includes(s) ? 1 : null]));
        const tracked: Record<string, string[]> = {};
        for (const a of u.trackedUsed) (tracked[a.split(':')[0]] ??= []).push(a.split(':')[1]);
        const r = report('role', 'app', services, u.actionLevel ? 'ACTION_LEVEL' : 'SERVICE_LEVEL', tracked);
        const p: Proposal | null = proposePolicy(context, inline(), current, r);
        seen[p?.action ?? 'none']++;
        const proposed = p === null ? current : p.action === 'review' ? current : p.proposed;
        const unusedTracked = usageOf(r, catalog).unusedTrackedActions;
        for (const service of SERVICES) {
          for (const action of requests(service)) {
            for (const resource of RESOURCES) {
              for (const conditionsMet of [true, false]) {
                const request = { action, resource, conditionsMet };
                const before = allows(current, request);
                const after = allows(proposed, request);
                // Never broader.
                if (after && !before) return false;
                // Never narrower than use: a used service's action stays, unless it is a tracked action shown unused.
                const droppedTracked = unusedTracked?.get(service)?.has(action.toLowerCase()) ?? false;
                if (before && !after && u.used.includes(service) && !droppedTracked) return false;
              }
            }
          }
        }
        return true;
      }),
      { numRuns: 120, seed: 20261125 },
    );
    // The properties were checked on real changes, not only on policies left alone.
    expect(seen.trim + seen.remove).toBeGreaterThan(40);
  });
});

const NO_EXEMPTIONS = { pathPrefixes: [], arnPatterns: [], tagKey: 'iam-access-audit:exempt' };

function arnOf(type: EntityType, name: string): string {
  return `arn:aws:iam::${ACCOUNT}:${type}/${name}`;
}

function role(name: string, extra: Partial<IdentityDetails> = {}): IdentityDetails {
  return { arn: arnOf('role', name), type: 'role', name, path: '/', createDate: '2024-01-01T00:00:00Z', inlinePolicies: [], attachedPolicies: [], groups: [], tags: {}, trustedServices: [], trustedAwsPrincipals: [], ...extra };
}

function group(name: string): IdentityDetails {
  return { ...role(name), arn: arnOf('group', name), type: 'group' };
}

function account(identities: IdentityDetails[], policies: AuthorizationDetails['policies'] = [], managementAccountId: string | null = null): AuthorizationDetails {
  return { accountId: ACCOUNT, managementAccountId, identities, policies };
}
