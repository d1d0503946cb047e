import { CfnOutput, CfnParameter, DefaultStackSynthesizer, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { acknowledgeGenerateReports, generateReportsStatement, hubRoleNames, listEntitiesStatement, readAuthorizationStatement, readReportsStatement } from './audit-permissions';
import { acknowledge } from './nag';

export interface MemberStackProps extends Omit<StackProps, 'synthesizer'> {
  /** The member role's name: the same in every account. */
  readonly memberRoleName: string;
  /** The hub stack's name, which names the hub roles the member role trusts. */
  readonly hubStackName: string;
}

/**
 * The stack every audited account holds (deployed by a service-managed StackSet, and directly to the
 * management account): one role that trusts exactly the hub's Plan and AuditBatch roles, by ARN, and may
 * only list IAM's entities and generate and read access-advisor reports. The hub's account is a
 * parameter, so one template serves every account.
 */
export class IamAccessAuditMemberStack extends Stack {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: MemberStackProps) {
    // A StackSet deploys this template into accounts that were never bootstrapped for the CDK: the
    // default synthesizer's BootstrapVersion parameter (read from SSM there) and its rule would fail
    // every such stack instance. The stack has no assets, so it needs nothing of a bootstrap.
    super(scope, id, { ...props, synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }) });
    const hubAccountId = new CfnParameter(this, 'HubAccountId', {
      type: 'String',
      allowedPattern: '^\\d{12}$',
      description: 'The account the iam-access-audit hub stack (IamAccessAudit) is deployed in',
    });
    const names = hubRoleNames(props.hubStackName);
    const hubRole = (name: string) => new iam.ArnPrincipal(`arn:${this.partition}:iam::${hubAccountId.valueAsString}:role/${name}`);
    this.role = new iam.Role(this, 'MemberRole', {
      roleName: props.memberRoleName,
      description: 'Lets the iam-access-audit hub list IAM entities and read their access-advisor reports; it changes nothing',
      assumedBy: new iam.CompositePrincipal(hubRole(names.plan), hubRole(names.auditBatch)),
    });
    for (const statement of [listEntitiesStatement(), readAuthorizationStatement(), generateReportsStatement(this), readReportsStatement()]) this.role.addToPrincipalPolicy(statement);
    acknowledgeGenerateReports(this.role);
    acknowledge(this.role, {
      finding: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'iam:ListUsers, ListGroups, ListRoles, ListPolicies, GetAccountAuthorizationDetails and GetServiceLastAccessedDetails (read by JobId) take no resource-level permissions.',
    });
    new CfnOutput(this, 'MemberRoleArn', { value: this.role.roleArn, description: 'The role the hub enters this account with' });
  }
}
