/**
 * Proposals for a template (one identity's policy in several accounts), made from the accounts' own
 * proposals: cut by what no account used, judged by the evaluator written apart from the proposal code.
 */
import { iamCatalog } from '../../lambda/core/catalog';
import type { EntityReport, EntityType, Granularity } from '../../lambda/core/model';
import { sharedActionSpace, type PolicyDocument } from '../../lambda/core/policy';
import { proposePolicy, type PolicyTarget, type Proposal } from '../../lambda/core/proposals';
import { memberOf, proposeShared, proposeSharedFrom, templateId, templateOf, type TemplateMember } from '../../lambda/core/shared-proposals';
import { allows } from '../helpers/evaluator';
import { allow, doc, reportIn } from '../helpers/proposals';

const [A, B, C] = ['111111111111', '222222222222', '333333333333'];
const space = sharedActionSpace();
const catalog = iamCatalog();

/** Each account's proposal for one policy of `identity` (`role/deployer`, `policy/team/read`), as Propose makes it. */
function proposalsFor(
  identity: string,
  kind: PolicyTarget['kind'],
  document: PolicyDocument,
  use: Record<string, Record<string, number | null>>,
  options: { policyName?: string; awsManagedArn?: string; tooNewIn?: string; granularity?: Granularity; tracked?: Record<string, Record<string, string[]>> } = {},
): Proposal[] {
  const type = identity.slice(0, identity.indexOf('/')) as EntityType;
  const path = identity.slice(identity.indexOf('/'), identity.lastIndexOf('/') + 1);
  const name = identity.slice(identity.lastIndexOf('/') + 1);
  return Object.entries(use).flatMap(([account, services]) => {
    const report: EntityReport = reportIn(account, type, name, services, options.granularity ?? 'SERVICE_LEVEL', options.tracked?.[account] ?? {}, path);
    const arn = report.entity.arn;
    const target: PolicyTarget =
      kind === 'managed-policy'
        ? { kind, policyArn: arn, policyName: name, owner: null, sizeLimit: 6_144 }
        : { kind, policyArn: options.awsManagedArn ?? null, policyName: options.policyName ?? `${name}-access`, owner: { arn, type: type as 'role' }, sizeLimit: 10_240 };
    const p = proposePolicy({ runId: 'r1', accountId: account, space, catalog }, target, document, report, { tooNew: account === options.tooNewIn ? 'created yesterday' : undefined });
    return p ? [p] : [];
  });
}

const everywhere = (accountIds: string[], unknownIn: string[] = []) => ({ accountIds, unknownIn });

describe('proposals for a template: what no account used', () => {
  const deployerDocument = doc(allow(['s3:*', 'ec2:*', 'sqs:SendMessage', 'iam:GetRole']));
  // s3 used in A, ec2 in B, nothing in C; sqs and iam nowhere.
  const deployer = proposalsFor('role/deployer', 'inline-policy', deployerDocument, {
    [A]: { s3: 1, ec2: null, sqs: null, iam: null },
    [B]: { s3: 200, ec2: 5, sqs: null, iam: null },
    [C]: { s3: null, ec2: null, sqs: null, iam: null },
  });

  it('keeps every service some account used, and cuts only what none did, proven never broader', async () => {
    expect(deployer.map((p) => [p.accountId, p.action, p.removedServices])).toEqual([
      [A, 'trim', ['ec2', 'iam', 'sqs']],
      [B, 'trim', ['iam', 's3', 'sqs']],
      [C, 'remove', ['ec2', 'iam', 's3', 'sqs']],
    ]);
    const { proposals, notProposed } = await proposeSharedFrom(deployer, (identity) => (identity === 'role/deployer' ? everywhere([A, B, C]) : null), space);
    expect(notProposed).toEqual([]);
    expect(proposals).toHaveLength(1);
    const [t] = proposals;
    expect(t).toMatchObject({
      templateId: templateId({ kind: 'inline-policy', policyName: 'deployer-access', policyArn: null, identity: 'role/deployer' }),
      target: { kind: 'inline-policy', policyName: 'deployer-access', policyArn: null, identity: 'role/deployer' },
      action: 'trim',
      removedServices: ['iam', 'sqs'],
      keptServices: ['ec2', 's3'],
      current: deployerDocument,
      accounts: deployer.map((p) => ({ accountId: p.accountId, proposalId: p.proposalId, removedServices: p.removedServices })),
    });
    // Judged apart from the proposal code: what any account used stays allowed, what none used goes, and
    // nothing the current document denies is allowed.
    for (const conditionsMet of [true, false]) {
      const request = (action: string) => ({ action, resource: 'arn:aws:s3:::bucket', conditionsMet });
      for (const action of ['s3:GetObject', 's3:PutBucketPolicy', 'ec2:RunInstances', 'ec2:DescribeInstances']) expect(allows(t.proposed!, request(action))).toBe(true);
      for (const action of ['sqs:SendMessage', 'iam:GetRole']) expect(allows(t.proposed!, request(action))).toBe(false);
      for (const action of ['lambda:InvokeFunction', 'iam:PassRole', 'sqs:DeleteQueue']) expect(allows(t.proposed!, request(action))).toBe(allows(deployerDocument, request(action)));
    }
  });

  it('with ACTION_LEVEL data, cuts a tracked action of a kept service only when no account used it', async () => {
    const document = doc(allow(['s3:*', 'sqs:SendMessage', 'iam:GetRole']));
    // s3 used in A (CreateBucket its one tracked action used) and in B (DeleteBucket); sqs in B; nothing in C.
    const builder = proposalsFor('role/builder', 'inline-policy', document, { [A]: { s3: 1, sqs: null, iam: null }, [B]: { s3: 2, sqs: 3, iam: null }, [C]: { s3: null, sqs: null, iam: null } }, {
      granularity: 'ACTION_LEVEL',
      tracked: { [A]: { s3: ['CreateBucket'] }, [B]: { s3: ['DeleteBucket'] } },
    });
    const removedIn = (account: string) => builder.find((p) => p.accountId === account)!.removedActions;
    // Each account alone cuts the other's action.
    expect(removedIn(A)).toContain('s3:DeleteBucket');
    expect(removedIn(B)).toContain('s3:CreateBucket');
    const { proposals, notProposed } = await proposeSharedFrom(builder, () => everywhere([A, B, C]), space);
    expect(notProposed).toEqual([]);
    const [t] = proposals;
    expect([t.action, t.removedServices, t.keptServices]).toEqual(['trim', ['iam'], ['s3', 'sqs']]);
    // Exactly the tracked actions both accounts that used s3 removed.
    expect(t.removedActions).toEqual(removedIn(A).filter((a) => removedIn(B).includes(a)));
    expect(t.removedActions).toContain('s3:PutBucketPolicy');
    for (const conditionsMet of [true, false]) {
      const request = (action: string) => ({ action, resource: 'arn:aws:s3:::bucket', conditionsMet });
      // Either account's tracked action, a data event (not tracked) and sqs stay; what neither used goes.
      for (const action of ['s3:CreateBucket', 's3:DeleteBucket', 's3:GetObject', 'sqs:SendMessage']) expect(allows(t.proposed!, request(action))).toBe(true);
      for (const action of ['s3:PutBucketPolicy', 'iam:GetRole']) expect(allows(t.proposed!, request(action))).toBe(false);
      for (const action of ['lambda:InvokeFunction', 'sqs:DeleteQueue']) expect(allows(t.proposed!, request(action))).toBe(false);
    }
  });

  it('removes a policy no account used, and replaces an AWS managed policy mostly unused in all', async () => {
    const unused = proposalsFor('policy/team/queues', 'managed-policy', doc(allow(['sqs:*', 'sns:Publish'])), { [A]: { sqs: null, sns: 400 }, [B]: { sqs: null, sns: null } });
    const broad = doc(allow(['s3:*', 'ec2:*', 'sqs:*', 'sns:*', 'dynamodb:*']));
    const attached = proposalsFor('role/app', 'aws-managed-attachment', broad, { [A]: { s3: 3, ec2: null, sqs: null, sns: null, dynamodb: null }, [B]: { s3: null, ec2: 3, sqs: null, sns: null, dynamodb: null } }, {
      policyName: 'BroadAccess',
      awsManagedArn: 'arn:aws:iam::aws:policy/BroadAccess',
    });
    const { proposals, notProposed } = await proposeSharedFrom([...unused, ...attached], () => everywhere([A, B]), space);
    expect(notProposed).toEqual([]);
    expect(proposals.map((p) => [p.target.identity, p.target.kind, p.action, p.removedServices, p.proposed])).toEqual([
      ['role/app', 'aws-managed-attachment', 'replace', ['dynamodb', 'sns', 'sqs'], doc(allow(['s3:*', 'ec2:*']))],
      ['policy/team/queues', 'managed-policy', 'remove', ['sns', 'sqs'], null],
    ]);
    expect(proposals[0].notes[0]).toBe('create a customer managed policy with the proposed document, attach it to role/app, then detach arn:aws:iam::aws:policy/BroadAccess');
  });

  it('proposes nothing for a template the accounts do not agree on, and says why', async () => {
    const split = proposalsFor('role/split', 'inline-policy', doc(allow(['s3:*', 'ec2:*'])), { [A]: { s3: 1, ec2: null }, [B]: { s3: null, ec2: 1 } });
    const drift = [
      ...proposalsFor('role/drift', 'inline-policy', doc(allow(['s3:*', 'ec2:*'])), { [A]: { s3: 1, ec2: null } }),
      ...proposalsFor('role/drift', 'inline-policy', doc(allow(['s3:*', 'ec2:*', 'sqs:*'])), { [B]: { s3: 1, ec2: null, sqs: null } }),
    ];
    const young = proposalsFor('role/young', 'inline-policy', doc(allow(['s3:*', 'ec2:*'])), { [A]: { s3: 1, ec2: null }, [B]: { s3: 1, ec2: null } }, { tooNewIn: B });
    const lost = proposalsFor('role/lost', 'inline-policy', doc(allow(['s3:*', 'ec2:*'])), { [A]: { s3: 1, ec2: null } });
    const partial = proposalsFor('role/partial', 'inline-policy', doc(allow(['s3:*', 'ec2:*'])), { [A]: { s3: 1, ec2: null }, [B]: { s3: 1, ec2: null } });
    const alone = proposalsFor('role/alone', 'inline-policy', doc(allow(['s3:*', 'ec2:*'])), { [A]: { s3: 1, ec2: null } });
    const where: Record<string, ReturnType<typeof everywhere> | null> = {
      'role/split': everywhere([A, B]),
      'role/drift': everywhere([A, B]),
      'role/young': everywhere([A, B]),
      'role/lost': everywhere([A, B], [B]),
      'role/partial': everywhere([A, B, C]),
      'role/alone': null,
    };
    const all = [...split, ...drift, ...young, ...lost, ...partial, ...alone];
    const { proposals, notProposed } = await proposeSharedFrom(all, (identity) => where[identity], space);
    expect(proposals).toEqual([]);
    expect(notProposed.map((n) => [n.target.identity, n.why])).toEqual([
      ['role/drift', 'its document is not the same in every account (2 different ones)'],
      ['role/lost', 'role/lost has no report in 222222222222: what it used there is not known'],
      ['role/partial', 'no proposal in 333333333333: there its use leaves nothing to cut (or too little of an AWS managed policy to replace it), it holds another policy, or it is exempt'],
      ['role/split', 'every service it grants was used in some account'],
      ['role/young', 'a review in 222222222222: created yesterday'],
    ]);
    // Documents are compared by their hashes: one is read (Propose reads it back from S3) only for a template the accounts agree on, once.
    const read: string[] = [];
    const currentOf = async (m: TemplateMember) => {
      read.push(`${m.target.identity} ${m.accountId}`);
      return all.find((p) => p.proposalId === m.proposalId)!.current;
    };
    expect(await proposeShared(all.map(memberOf), (identity) => where[identity], space, currentOf)).toEqual({ proposals, notProposed });
    expect(read).toEqual([`role/split ${A}`]);
  });

  it('knows a template by its identity and policy, the account left out', () => {
    const inA = { kind: 'inline-policy' as const, policyName: 'x', policyArn: null, owner: `arn:aws:iam::${A}:role/ci/deployer` };
    const inB = { ...inA, owner: `arn:aws-cn:iam::${B}:role/ci/deployer` };
    expect(templateOf(inA)).toEqual({ kind: 'inline-policy', policyName: 'x', policyArn: null, identity: 'role/ci/deployer' });
    expect(templateId(templateOf(inA))).toBe(templateId(templateOf(inB)));
    expect(templateId(templateOf(inA))).toMatch(/^t-[0-9a-f]{16}$/);
    expect(templateId(templateOf({ ...inA, policyName: 'y' }))).not.toBe(templateId(templateOf(inA)));
    expect(templateOf({ kind: 'managed-policy', policyName: 'read', policyArn: `arn:aws:iam::${A}:policy/team/read`, owner: null }).identity).toBe('policy/team/read');
  });
});
