import { Template } from 'aws-cdk-lib/assertions';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp } from '../../lib/app';
import { CONTEXT_KEY } from '../../lib/settings';
import { tempDir } from './temp';

const cdkJson = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, any> };

/**
 * Builds the app with cdk.json's context, as `cdk synth` does, with settings replaced as given. Unless
 * `bundled`, the functions' code is not bundled (as `cdk synth --exclusively` skips the stacks it was not
 * given): a test of the templates reads code only as an asset's hash, and bundling is 5 to 7 s of a
 * synth's 6 to 8. The bundles are tested where they run: every whole local run executes them.
 */
export function synthStack(settings: Record<string, unknown> = {}, options: { bundled?: boolean } = {}) {
  const context = { ...cdkJson.context, ...(options.bundled ? {} : { [BUNDLING_STACKS]: [] }), [CONTEXT_KEY]: { ...cdkJson.context[CONTEXT_KEY], ...settings } };
  const { app, stack } = buildApp({ outdir: tempDir('synth-'), context });
  return { app, stack, template: Template.fromStack(stack) };
}

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

/** Every IAM statement of every role policy in the template, with the role it belongs to. */
export function roleStatements(template: Template): Array<{ role: string; statement: Statement }> {
  const found: Array<{ role: string; statement: Statement }> = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy')) as any[]) {
    for (const role of policy.Properties.Roles ?? []) {
      for (const statement of policy.Properties.PolicyDocument.Statement as Statement[]) found.push({ role: role.Ref, statement });
    }
  }
  for (const [id, role] of Object.entries(template.findResources('AWS::IAM::Role')) as Array<[string, any]>) {
    for (const policy of role.Properties.Policies ?? []) {
      for (const statement of policy.PolicyDocument.Statement as Statement[]) found.push({ role: id, statement });
    }
  }
  return found;
}

export const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
