/**
 * What an error of the AWS SDK means to the person at the command line, in one line. The SDK's own
 * findings (no region, no credentials) say what to set; a service's refusal says its code and message.
 * Any other error is the tool's own, and keeps its stack.
 */

export interface AwsErrorLine {
  readonly line: string;
  /** 2 when the setup is what is missing (as for a usage error), 1 when AWS refused or failed the call. */
  readonly exitCode: 1 | 2;
}

/** How to give credentials: with `profile`, that profile's own sign-in. */
const signIn = (profile?: string) =>
  profile
    ? `sign in (aws sso login --profile ${profile}) or fix profile ${profile}, or give another (--profile P or AWS_PROFILE)`
    : 'give a profile (AWS_PROFILE), sign in (aws sso login --profile P), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';

/** The SDK found no credentials to use (`err` says why). */
export function noCredentials(err: Error, profile?: string): string {
  return `no AWS credentials found${profile ? ` for profile ${profile}` : ''} (${err.message}): ${signIn(profile)}`;
}

/** `profile`: the profile the command was given, which the advice then names. */
export function awsErrorLine(err: unknown, profile?: string): AwsErrorLine | undefined {
  if (!(err instanceof Error)) return undefined;
  const { name, message } = err;
  if (message === 'Region is missing') {
    return {
      line: 'no AWS region is set: set AWS_REGION to the region the stack or bucket is in, or give the profile a region (the AWS SDK for JavaScript does not read AWS_DEFAULT_REGION)',
      exitCode: 2,
    };
  }
  if (name === 'CredentialsProviderError' || /^Could not load credentials/.test(message)) return { line: noCredentials(err, profile), exitCode: 2 };
  if (/^(ExpiredToken|ExpiredTokenException|RequestExpired|TokenRefreshRequired)$/.test(name) || /token .*expired|session .*expired/i.test(message)) {
    const refresh = profile ? `sign in again (aws sso login --profile ${profile}) or refresh profile ${profile}` : 'sign in again or refresh them';
    return { line: `the session of these credentials has expired (${name}): ${refresh}, then run again`, exitCode: 2 };
  }
  if (/^(InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClientException|InvalidAccessKeyId)$/.test(name)) {
    return { line: `AWS does not accept these credentials (${name}: ${message}): check the access key of ${profile ? `profile ${profile}` : 'the environment'}, or ${signIn(profile)}`, exitCode: 2 };
  }
  if (!('$metadata' in err)) return undefined;
  // A service's answer carries its HTTP status, and its code is the error's name.
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined) {
    // S3's answers for a bucket in another region than the client's.
    const elsewhere = status === 301 || name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed';
    return { line: `AWS answered ${name} (HTTP ${status}): ${message}${elsewhere ? ': is the bucket in another region? Set AWS_REGION to its region' : ''}`, exitCode: 1 };
  }
  // Without one, no answer came: the request never reached AWS, or AWS never answered it.
  const code = (err as { code?: unknown }).code;
  return { line: `could not reach AWS (${typeof code === 'string' ? code : name}: ${message}): check the network, the proxy (HTTPS_PROXY) or AWS_ENDPOINT_URL`, exitCode: 1 };
}
