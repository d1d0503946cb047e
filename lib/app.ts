import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IamAccessAuditStack } from './iam-access-audit-stack';
import { IamAccessAuditMemberStack, type MemberStackProps } from './member-stack';
import { IamAccessAuditMemberStackSetStack } from './member-stackset-stack';
import { CONTEXT_KEY, parseSettings } from './settings';
import { MEMBER_STACK_NAME, MEMBER_STACKSET_STACK_NAME, STACK_NAME } from './stack-names';

export { MEMBER_STACK_NAME, MEMBER_STACKSET_STACK_NAME, STACK_NAME };

/**
 * Builds the app: reads the settings from the context once, validates them, and passes them down.
 * `bin/app.ts` (cdk synth) and the local runner both build the app through this function.
 */
export function buildApp(props: AppProps = {}): { app: App; stack: IamAccessAuditStack; member?: IamAccessAuditMemberStack; memberStackSet?: IamAccessAuditMemberStackSetStack } {
  const app = new App(props);
  const settings = parseSettings(app.node.tryGetContext(CONTEXT_KEY));
  const stack = new IamAccessAuditStack(app, STACK_NAME, {
    settings,
    description: 'iam-access-audit: nightly history of which AWS services every IAM identity really uses',
  });
  // Auditing other accounts: the stack each of them holds, in the same app; for an organization, also
  // the StackSet that puts it in every account (deployed in the management account).
  const accounts = settings.accounts;
  const memberProps: MemberStackProps | undefined =
    accounts.source === 'self'
      ? undefined
      : {
          memberRoleName: accounts.memberRoleName,
          hubStackName: stack.stackName,
          description: 'iam-access-audit member role: lets the hub audit this account\'s IAM identities, read-only',
        };
  const member = memberProps && new IamAccessAuditMemberStack(app, MEMBER_STACK_NAME, memberProps);
  const memberStackSet =
    memberProps && accounts.source === 'organization'
      ? new IamAccessAuditMemberStackSetStack(app, MEMBER_STACKSET_STACK_NAME, {
          memberStackName: MEMBER_STACK_NAME,
          member: memberProps,
          organizationalUnitIds: accounts.organizationalUnitIds,
          context: props.context,
          description: 'iam-access-audit member StackSet: the member role in every account of the organization, for the management account',
        })
      : undefined;
  // cdk-nag's AWS Solutions rules run on every synth; each acknowledged finding states its reason.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, member, memberStackSet };
}
