import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { acknowledge } from './nag';

/** The entity types whose access-advisor reports the audit generates. */
const ENTITY_RESOURCE_TYPES = ['user', 'group', 'role', 'policy'];

/** IAM's List actions the audit needs: they take no resource-level permissions. */
export function listEntitiesStatement(): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid: 'ListEntities', actions: ['iam:ListUsers', 'iam:ListGroups', 'iam:ListRoles', 'iam:ListPolicies'], resources: ['*'] });
}

/** Reading the account's policies and who has them, once a run, for the proposals. It takes no resource ARN. */
export function readAuthorizationStatement(): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid: 'ReadAuthorizationDetails', actions: ['iam:GetAccountAuthorizationDetails'], resources: ['*'] });
}

/** Generating access-advisor reports of the account's users, groups, roles and policies. */
export function generateReportsStatement(scope: IConstruct): iam.PolicyStatement {
  const stack = Stack.of(scope);
  return new iam.PolicyStatement({
    sid: 'GenerateAccessAdvisorReports',
    actions: ['iam:GenerateServiceLastAccessedDetails'],
    resources: ENTITY_RESOURCE_TYPES.map((type) => stack.formatArn({ service: 'iam', region: '', resource: type, resourceName: '*' })),
  });
}

/** Reading reports by JobId: the action takes no resource ARN. */
export function readReportsStatement(): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid: 'ReadAccessAdvisorReports', actions: ['iam:GetServiceLastAccessedDetails'], resources: ['*'] });
}

/** The cdk-nag findings `generateReportsStatement` raises on `role`, each acknowledged with its reason. */
export function acknowledgeGenerateReports(role: IConstruct): void {
  acknowledge(
    role,
    ...ENTITY_RESOURCE_TYPES.map((type) => ({
      finding: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:${type}/*]`,
      reason: `The audit generates an access-advisor report for every ${type} of the account; GenerateServiceLastAccessedDetails changes nothing.`,
    })),
  );
}

/** The hub's roles that enter member accounts, by name: a member role trusts exactly these ARNs. */
export function hubRoleNames(hubStackName: string): { plan: string; auditBatch: string } {
  return { plan: `${hubStackName}-Plan`, auditBatch: `${hubStackName}-AuditBatch` };
}
