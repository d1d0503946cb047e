import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IamAccessAuditStack } from './iam-access-audit-stack';
import { IamAccessAuditMemberStack } from './member-stack';
import { CONTEXT_KEY, parseSettings } from './settings';

export const STACK_NAME = 'IamAccessAudit';
export const MEMBER_STACK_NAME = 'IamAccessAuditMember';

/**
 * Builds the app: reads the settings from the context once, validates them, and passes them down.
 * `bin/app.ts` (cdk synth) and the local runner both build the app through this function.
 */
export function buildApp(props: AppProps = {}): { app: App; stack: IamAccessAuditStack; member?: IamAccessAuditMemberStack } {
  const app = new App(props);
  const settings = parseSettings(app.node.tryGetContext(CONTEXT_KEY));
  const stack = new IamAccessAuditStack(app, STACK_NAME, {
    settings,
    description: 'iam-access-audit: nightly history of which AWS services every IAM identity really uses',
  });
  // Auditing other accounts: the stack each of them holds, in the same app.
  const member =
    settings.accounts.source === 'self'
      ? undefined
      : new IamAccessAuditMemberStack(app, MEMBER_STACK_NAME, {
          memberRoleName: settings.accounts.memberRoleName,
          hubStackName: stack.stackName,
          description: 'iam-access-audit member role: lets the hub audit this account\'s IAM identities, read-only',
        });
  // cdk-nag's AWS Solutions rules run on every synth; each acknowledged finding states its reason.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, member };
}
