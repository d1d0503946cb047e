/**
 * Auditing an organization: the member stack every account holds, and what the hub's roles may do across
 * accounts. cdk-nag runs on every synth of both stacks; cfn-lint checks both templates.
 */
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MEMBER_STACK_NAME, MEMBER_STACKSET_STACK_NAME, STACK_NAME } from '../../lib/app';
import { run } from '../helpers/processes';
import { actionsOf, roleStatements, synthStack } from '../helpers/synth';

const ORG = { source: 'organization', memberRoleName: 'AuditReader', organizationalUnitIds: ['ou-ab12-cd34ef56'] };

describe('auditing an organization', () => {
  const { app, stack, template } = synthStack({ accounts: ORG });
  const assembly = app.synth();
  const member = Template.fromJSON(assembly.getStackByName(MEMBER_STACK_NAME).template);
  const roleOf = (fn: { role: { node: { defaultChild?: unknown } } }) => stack.getLogicalId(fn.role.node.defaultChild as CfnElement);

  it('holds a member role that trusts exactly the hub\'s Plan and AuditBatch roles, by ARN', () => {
    const roles = Object.values(member.findResources('AWS::IAM::Role')) as any[];
    expect(roles).toHaveLength(1);
    const role = roles[0].Properties;
    expect(role.RoleName).toBe('AuditReader');
    const principals = role.AssumeRolePolicyDocument.Statement.flatMap((s: any) => {
      expect(s).toMatchObject({ Effect: 'Allow', Action: 'sts:AssumeRole' });
      expect(s.Condition).toBeUndefined();
      return [s.Principal.AWS].flat();
    });
    const arn = (name: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'HubAccountId' }, `:role/${name}`]] });
    expect(principals).toEqual(expect.arrayContaining([arn(`${STACK_NAME}-Plan`), arn(`${STACK_NAME}-AuditBatch`)]));
    expect(principals).toHaveLength(2);
    member.hasParameter('HubAccountId', { Type: 'String', AllowedPattern: '^\\d{12}$' });
  });

  it('needs nothing of a CDK bootstrap in the accounts a StackSet deploys it to: no SSM parameter, no rule, no asset', () => {
    const json = assembly.getStackByName(MEMBER_STACK_NAME).template;
    expect(Object.keys(json.Parameters)).toEqual(['HubAccountId']);
    expect(json.Rules).toBeUndefined();
    expect(JSON.stringify(json)).not.toMatch(/cdk-bootstrap|AWS::SSM|hnb659fds/);
    // (CDK's own AWS::CDK::Metadata, when the CLI reports versions, is a resource CloudFormation knows everywhere.)
    expect(Object.values(json.Resources).map((r: any) => r.Type).filter((t) => t !== 'AWS::CDK::Metadata').sort()).toEqual(['AWS::IAM::Policy', 'AWS::IAM::Role']);
  });

  it('lets the member role do nothing but the IAM reads the audit needs', () => {
    const actions = roleStatements(member).flatMap(({ statement }) => {
      expect(statement.Effect).toBe('Allow');
      return actionsOf(statement);
    });
    expect(actions.sort()).toEqual(
      ['iam:GenerateServiceLastAccessedDetails', 'iam:GetAccountAuthorizationDetails', 'iam:GetServiceLastAccessedDetails', 'iam:ListGroups', 'iam:ListPolicies', 'iam:ListRoles', 'iam:ListUsers'].sort(),
    );
  });

  it('lets the hub\'s roles assume only role/<memberRoleName> in other accounts, and reach no IAM directly', () => {
    const statements = roleStatements(template);
    const assumes = statements.filter(({ statement }) => actionsOf(statement).some((a) => a.startsWith('sts:')));
    expect(assumes.map(({ statement }) => [actionsOf(statement), statement.Resource])).toEqual(
      Array(2).fill([['sts:AssumeRole'], { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::*:role/AuditReader']] }]),
    );
    expect(new Set(assumes.map((s) => s.role))).toEqual(new Set([roleOf(stack.workflow.planFunction), roleOf(stack.workflow.auditBatchFunction)]));
    expect(statements.filter(({ statement }) => actionsOf(statement).some((a) => a.startsWith('iam:')))).toEqual([]);
    const roles = template.findResources('AWS::IAM::Role');
    const named = Object.values(roles).map((r: any) => r.Properties.RoleName).filter(Boolean);
    expect(named.sort()).toEqual([`${STACK_NAME}-AuditBatch`, `${STACK_NAME}-Plan`]);
  });

  it('lets Plan, and only Plan, list the organization', () => {
    const org = roleStatements(template).filter(({ statement }) => actionsOf(statement).some((a) => a.startsWith('organizations:')));
    expect(org).toHaveLength(1);
    expect(org[0].role).toBe(roleOf(stack.workflow.planFunction));
    expect(actionsOf(org[0].statement).sort()).toEqual(['organizations:ListAccounts', 'organizations:ListAccountsForParent', 'organizations:ListOrganizationalUnitsForParent']);
  });

  it('passes the accounts setting to Plan and AuditBatch', () => {
    const withAccounts = Object.values(template.findResources('AWS::Lambda::Function')).filter((f: any) => f.Properties.Environment.Variables.ACCOUNTS);
    expect(withAccounts).toHaveLength(2);
    expect(JSON.parse((withAccounts[0] as any).Properties.Environment.Variables.ACCOUNTS)).toEqual({ ...ORG, excludeAccountIds: [] });
  });

  it('puts the member stack in every account of the OUs given with a service-managed StackSet that deploys to accounts joining later', () => {
    const stackSet = Template.fromJSON(assembly.getStackByName(MEMBER_STACKSET_STACK_NAME).template);
    const sets = Object.values(stackSet.findResources('AWS::CloudFormation::StackSet')) as any[];
    expect(sets).toHaveLength(1);
    const { TemplateBody, ...props } = sets[0].Properties;
    expect(props).toMatchObject({
      StackSetName: MEMBER_STACK_NAME,
      PermissionModel: 'SERVICE_MANAGED',
      CallAs: { Ref: 'CallAs' },
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      Capabilities: ['CAPABILITY_NAMED_IAM'],
      Parameters: [{ ParameterKey: 'HubAccountId', ParameterValue: { Ref: 'HubAccountId' } }],
      StackInstancesGroup: [{ Regions: [{ Ref: 'AWS::Region' }], DeploymentTargets: { OrganizationalUnitIds: { Ref: 'OrganizationalUnitIds' } } }],
    });
    // The setting's OUs are the default targets; the deployment may name the root instead.
    stackSet.hasParameter('OrganizationalUnitIds', { Type: 'CommaDelimitedList', Default: 'ou-ab12-cd34ef56' });
    stackSet.hasParameter('CallAs', { Default: 'SELF', AllowedValues: ['SELF', 'DELEGATED_ADMIN'] });
    // The template it deploys is the member stack's, bootstrap-free, with the same role and permissions.
    const body = JSON.parse(TemplateBody);
    expect(Object.keys(body.Parameters)).toEqual(['HubAccountId']);
    expect(body.Rules).toBeUndefined();
    const json = assembly.getStackByName(MEMBER_STACK_NAME).template;
    const iamOf = (t: any) => Object.fromEntries(Object.entries(t.Resources).filter(([, r]: [string, any]) => r.Type.startsWith('AWS::IAM::')));
    expect(iamOf(body)).toEqual(iamOf(json));
    expect(body.Parameters).toEqual(json.Parameters);
  });

  it('has no StackSet stack when the accounts are a list: they get the member stack one by one', () => {
    const list = synthStack({ accounts: { source: 'list', accountIds: ['333333333333'] } }).app;
    expect(list.node.tryFindChild(MEMBER_STACK_NAME)).toBeDefined();
    expect(list.node.tryFindChild(MEMBER_STACKSET_STACK_NAME)).toBeUndefined();
  });

  it('passes cfn-lint with no errors, hub, member and StackSet', async () => {
    // One cfn-lint for the three (its start-up is most of its time); each line it prints names its file.
    const files = [STACK_NAME, MEMBER_STACK_NAME, MEMBER_STACKSET_STACK_NAME].map((name) => join(assembly.directory, `${name}.template.json`));
    for (const file of files) expect(existsSync(file)).toBe(true);
    const result = await run('cfn-lint', ['--format', 'parseable', ...files]);
    expect({ errors: result.code! & 2, output: result.stdout.split('\n').filter((l) => /:E\d+:/.test(l)) }).toEqual({ errors: 0, output: [] });
  }, 120_000);

  it('has no member stack when the pipeline audits its own account', () => {
    const self = synthStack().app;
    expect(self.node.tryFindChild(MEMBER_STACK_NAME)).toBeUndefined();
    expect(self.node.tryFindChild(MEMBER_STACKSET_STACK_NAME)).toBeUndefined();
  });
});
