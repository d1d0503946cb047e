/**
 * What IAM would make of a request: the action and resource an emulator call needs, and whether a
 * policy's statements allow it. The endpoints here do not enforce policies; tests use this to name the
 * requests a deployed role, or the principal a user runs as, would be refused.
 */
import type { RecordedCall } from '../../local/emulator';
import { ORGANIZATIONS_OPERATIONS } from '../../local/emulator/organizations';
import { STS_OPERATIONS } from '../../local/emulator/sts';
import { globMatches } from './evaluator';

/** One request as IAM authorizes it: its action, and its resource (an ARN, `*`, or for S3 an object key or a listing's prefix). */
export interface AuthorizedRequest {
  readonly action: string;
  readonly resource: string;
}

/** The IAM action an emulator call needs, and its resource; null for one that needs no permission (GetCallerIdentity). */
export function callRequestOf(call: RecordedCall): AuthorizedRequest | null {
  if (call.operation === 'GetCallerIdentity') return null;
  const service = (STS_OPERATIONS as readonly string[]).includes(call.operation) ? 'sts' : (ORGANIZATIONS_OPERATIONS as readonly string[]).includes(call.operation) ? 'organizations' : 'iam';
  return { action: `${service}:${call.operation}`, resource: call.arn ?? '*' };
}

/** An action pattern over an action: IAM compares actions without case (the evaluator's matching). */
export const actionMatches = (pattern: string, action: string): boolean => globMatches(pattern, action, true);

/** A resource (or `s3:prefix` StringLike) pattern over a resource: with case (the evaluator's matching). */
export const resourceMatches = (pattern: string, resource: string): boolean => globMatches(pattern, resource, false);

interface PolicyDocumentLike {
  readonly Statement: ReadonlyArray<{ readonly Effect: string; readonly Action: string | readonly string[]; readonly Resource: string | readonly string[] }>;
}

/** The calls (as `action resource`) that none of the policies' Allow statements allows; `fill` replaces placeholders in their resources. */
export function notInPolicies(calls: readonly RecordedCall[], policies: readonly PolicyDocumentLike[], fill: Readonly<Record<string, string>> = {}): string[] {
  const statements = policies.flatMap((p) => p.Statement).filter((s) => s.Effect === 'Allow');
  const filled = (resource: string) => Object.entries(fill).reduce((r, [placeholder, value]) => r.split(placeholder).join(value), resource);
  const refused = new Set<string>();
  for (const call of calls) {
    const request = callRequestOf(call);
    if (request === null) continue;
    const allowed = statements.some((s) => [s.Action].flat().some((a) => actionMatches(a, request.action)) && [s.Resource].flat().some((r) => resourceMatches(filled(r), request.resource)));
    if (!allowed) refused.add(`${request.action} ${request.resource}`);
  }
  return [...refused];
}
