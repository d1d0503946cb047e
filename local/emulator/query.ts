/**
 * IAM's Query protocol: form-encoded parameters in, XML out, and IAM's ErrorResponse for failures.
 */
import { randomUUID } from 'node:crypto';

export const IAM_XMLNS = 'https://iam.amazonaws.com/doc/2010-05-08/';

/** A value the XML writer can render; null and undefined elements are left out, as IAM leaves out nulls. */
export type XmlValue = string | number | boolean | Date | null | undefined | readonly XmlValue[] | XmlObject;
export interface XmlObject {
  readonly [element: string]: XmlValue;
}

/** An error IAM would answer with: its code, HTTP status, and who is at fault. */
export class IamError extends Error {
  override name = 'IamError';
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export const invalidInput = (message: string): IamError => new IamError('InvalidInput', message, 400);
export const noSuchEntity = (message: string): IamError => new IamError('NoSuchEntity', message, 404);
export const throttling = (): IamError => new IamError('Throttling', 'Rate exceeded', 400);

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => escapes[c]);
}

export function toXml(element: string, value: XmlValue): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) {
    return `<${element}>${value.map((member) => toXml('member', member)).join('')}</${element}>`;
  }
  if (value instanceof Date) return `<${element}>${value.toISOString()}</${element}>`;
  if (typeof value === 'object') {
    const inner = Object.entries(value as XmlObject)
      .map(([child, v]) => toXml(child, v))
      .join('');
    return `<${element}>${inner}</${element}>`;
  }
  return `<${element}>${escapeXml(String(value))}</${element}>`;
}

export const STS_XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';

export function successXml(action: string, result: XmlObject, requestId: string, xmlns = IAM_XMLNS): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<${action}Response xmlns="${xmlns}">` +
    toXml(`${action}Result`, result) +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>` +
    `</${action}Response>`
  );
}

export function errorXml(error: IamError, requestId: string, xmlns = IAM_XMLNS): string {
  const type = error.status >= 500 ? 'Receiver' : 'Sender';
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<ErrorResponse xmlns="${xmlns}">` +
    `<Error><Type>${type}</Type><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error>` +
    `<RequestId>${requestId}</RequestId>` +
    `</ErrorResponse>`
  );
}

export const newRequestId = (): string => randomUUID();

/** The parameters of one Query request, with IAM's list encoding (`Name.member.N`). */
export class QueryParams {
  constructor(private readonly params: ReadonlyMap<string, string>) {}

  static parse(...sources: string[]): QueryParams {
    const map = new Map<string, string>();
    for (const source of sources) {
      for (const [key, value] of new URLSearchParams(source)) map.set(key, value);
    }
    return new QueryParams(map);
  }

  get(name: string): string | undefined {
    return this.params.get(name);
  }

  required(name: string): string {
    const value = this.params.get(name);
    if (value === undefined || value === '') {
      throw new IamError('ValidationError', `1 validation error detected: Value null at '${lowerFirst(name)}' failed to satisfy constraint: Member must not be null`, 400);
    }
    return value;
  }

  list(name: string): string[] | undefined {
    const members: Array<[number, string]> = [];
    const prefix = `${name}.member.`;
    for (const [key, value] of this.params) {
      if (key.startsWith(prefix)) members.push([Number(key.slice(prefix.length)), value]);
    }
    if (members.length === 0) return this.params.has(name) ? [] : undefined;
    return members.sort((a, b) => a[0] - b[0]).map(([, value]) => value);
  }

  boolean(name: string): boolean | undefined {
    const value = this.params.get(name);
    if (value === undefined) return undefined;
    if (value === 'true') return true;
    if (value === 'false') return false;
    throw invalidInput(`Invalid value "${value}" for ${name}: must be true or false`);
  }
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
