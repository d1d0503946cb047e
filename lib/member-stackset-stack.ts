import { App, Aws, CfnOutput, CfnParameter, CfnStackSet, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IamAccessAuditMemberStack, type MemberStackProps } from './member-stack';

/** CloudFormation's limit on a template given inline (`TemplateBody`). */
const TEMPLATE_BODY_LIMIT = 51_200;

export interface MemberStackSetStackProps extends StackProps {
  /** The member stack's name, which the StackSet takes too. */
  readonly memberStackName: string;
  /** What the member stack is made of. */
  readonly member: MemberStackProps;
  /** The OUs the StackSet deploys to when the deployment names none (empty: the deployment must name them). */
  readonly organizationalUnitIds: readonly string[];
  /**
   * The context the app was given in code (tests); the CLI's context reaches the member template's own
   * app as it reaches this one, through the environment. The same feature flags give the same template.
   */
  readonly context?: Record<string, unknown>;
}

/**
 * The stack of the organization's management account (or of a StackSet delegated administrator): a
 * service-managed StackSet, CloudFormation's own `AWS::CloudFormation::StackSet`, that deploys the member
 * stack to every account of the OUs it is given, and to every account that joins them later
 * (auto-deployment). Service-managed StackSets never deploy to the management account itself: that
 * account gets the member stack directly. The template is the member stack's own, synthesized here.
 */
export class IamAccessAuditMemberStackSetStack extends Stack {
  readonly stackSet: CfnStackSet;

  constructor(scope: Construct, id: string, props: MemberStackSetStackProps) {
    super(scope, id, props);
    const hubAccountId = new CfnParameter(this, 'HubAccountId', {
      type: 'String',
      allowedPattern: '^\\d{12}$',
      description: 'The account the iam-access-audit hub stack (IamAccessAudit) is deployed in',
    });
    const targets = new CfnParameter(this, 'OrganizationalUnitIds', {
      type: 'CommaDelimitedList',
      ...(props.organizationalUnitIds.length > 0 ? { default: props.organizationalUnitIds.join(',') } : {}),
      allowedPattern: '^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$',
      description: 'The organization root (r-...) or the OUs (ou-...) whose accounts get the member role, now and when they join',
    });
    const callAs = new CfnParameter(this, 'CallAs', {
      type: 'String',
      default: 'SELF',
      allowedValues: ['SELF', 'DELEGATED_ADMIN'],
      description: 'SELF in the management account; DELEGATED_ADMIN in a StackSet delegated administrator account',
    });
    this.stackSet = new CfnStackSet(this, 'MemberStackSet', {
      stackSetName: props.memberStackName,
      description: 'iam-access-audit member role in every account of the organization (or of the OUs given)',
      permissionModel: 'SERVICE_MANAGED',
      callAs: callAs.valueAsString,
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      capabilities: ['CAPABILITY_NAMED_IAM'],
      templateBody: memberTemplateBody(props.memberStackName, props.member, props.context),
      parameters: [{ parameterKey: 'HubAccountId', parameterValue: hubAccountId.valueAsString }],
      // The role is global: one region holds it for the whole account.
      stackInstancesGroup: [{ regions: [Aws.REGION], deploymentTargets: { organizationalUnitIds: targets.valueAsList } }],
      // Every account at once; an account that fails (a role of that name already there, say) does not
      // stop the others unless more than a tenth fail.
      operationPreferences: { concurrencyMode: 'SOFT_FAILURE_TOLERANCE', maxConcurrentPercentage: 100, failureTolerancePercentage: 10, regionConcurrencyType: 'PARALLEL' },
    });
    new CfnOutput(this, 'MemberStackSetName', { value: props.memberStackName, description: 'The StackSet that holds the member role in every account' });
    new CfnOutput(this, 'MemberRoleArnPattern', {
      value: Fn.join('', ['arn:', Aws.PARTITION, `:iam::<account>:role/${props.member.memberRoleName}`]),
      description: 'The role the hub enters each account with',
    });
  }
}

/**
 * The member stack's template, synthesized in an app of its own: the StackSet takes a template, not a
 * stack of this app. The member stack needs no bootstrap and has no assets, so its template stands alone.
 */
export function memberTemplateBody(stackName: string, props: MemberStackProps, context?: Record<string, unknown>): string {
  const outdir = mkdtempSync(join(tmpdir(), 'iam-access-audit-member-'));
  try {
    const app = new App({ outdir, analyticsReporting: false, context });
    new IamAccessAuditMemberStack(app, stackName, props);
    const body = JSON.stringify(app.synth().getStackByName(stackName).template);
    if (body.length > TEMPLATE_BODY_LIMIT) throw new Error(`the member template is ${body.length} bytes, over the ${TEMPLATE_BODY_LIMIT} a StackSet takes inline`);
    return body;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
