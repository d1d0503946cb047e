/**
 * Errors the workflow's Retry and Catch match by name, so each class sets `name`.
 */

/** The execution input or configuration is wrong; the message names the field. Never retried. */
export class InvalidInput extends Error {
  override name = 'InvalidInput';
}

/** A required environment variable is missing or malformed: the deployment is broken. */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

/** IAM kept throttling after every retry this invocation could afford. */
export class Throttled extends Error {
  override name = 'Throttled';
}

/** A transient fault (a 5xx answer, a reset connection) outlasted the retries; `code` names it. */
export class Unreachable extends Error {
  override name = 'Unreachable';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
