import { Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag AWS Solutions findings on a construct, one finding at a time, each with its reason.
 * `finding` is the rule and finding id as cdk-nag prints it, e.g. `AwsSolutions-IAM5[Resource::*]`.
 */
export function acknowledge(scope: IConstruct, ...findings: Array<{ finding: string; reason: string }>): void {
  Validations.of(scope).acknowledge(...findings.map(({ finding, reason }) => ({ id: `AwsSolutions::${finding}`, reason })));
}

/** How cdk-nag names an attribute of a resource inside a finding: `<LogicalId.Attribute>`. */
export function nagRef(element: IConstruct, attribute = 'Arn'): string {
  return `<${Stack.of(element).getLogicalId(element as CfnElement)}.${attribute}>`;
}
