/**
 * An IAM policy evaluator for tests, written apart from the proposal code so that it can judge it: does a
 * document allow one request (an action on a resource, with its conditions met or not)? An explicit Deny
 * wins; otherwise some Allow must match. Action and resource patterns are IAM's globs (`*`, `?`), actions
 * compared case-insensitively. Conditions are not interpreted: a request either meets every statement's
 * conditions or none, and the properties are checked both ways.
 */
export interface TestRequest {
  readonly action: string;
  readonly resource: string;
  readonly conditionsMet: boolean;
}

interface Statement {
  Effect: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: unknown;
}

const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

const compiled = new Map<string, RegExp>();

/** IAM's wildcards (`*`, `?`) over the whole value: actions without case, resources with it. */
export function globMatches(glob: string, value: string, caseInsensitive: boolean): boolean {
  const key = `${caseInsensitive ? 'i' : 's'}${glob}`;
  let re = compiled.get(key);
  if (!re) {
    let pattern = '^';
    for (const ch of glob) pattern += ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
    re = new RegExp(`${pattern}$`, caseInsensitive ? 'i' : '');
    compiled.set(key, re);
  }
  return re.test(value);
}

function applies(s: Statement, request: TestRequest): boolean {
  const actionMatch = s.Action !== undefined ? asList(s.Action).some((a) => globMatches(a, request.action, true)) : !asList(s.NotAction).some((a) => globMatches(a, request.action, true));
  const resourceMatch = s.Resource !== undefined ? asList(s.Resource).some((r) => globMatches(r, request.resource, false)) : !asList(s.NotResource).some((r) => globMatches(r, request.resource, false));
  const conditionMatch = s.Condition === undefined || request.conditionsMet;
  return actionMatch && resourceMatch && conditionMatch;
}

export function allows(document: { Statement: unknown } | null, request: TestRequest): boolean {
  if (!document) return false;
  const statements = (Array.isArray(document.Statement) ? document.Statement : [document.Statement]) as Statement[];
  if (statements.some((s) => s.Effect === 'Deny' && applies(s, request))) return false;
  return statements.some((s) => s.Effect === 'Allow' && applies(s, request));
}
