import { awsErrorLine } from '../../cli/aws-errors';

/** An error as the AWS SDK throws it: named by its code, with the answer's metadata when one came. */
const sdkError = (name: string, message: string, httpStatusCode?: number, code?: string): Error =>
  Object.assign(new Error(message), { name, $metadata: { attempts: 1, ...(httpStatusCode ? { httpStatusCode } : {}) }, ...(code ? { code } : {}) });

describe('an AWS error at the command line', () => {
  it.each([
    [sdkError('ExpiredToken', 'The security token included in the request is expired', 400), 2, /^the session of these credentials has expired \(ExpiredToken\): sign in again or refresh them, then run again$/],
    [sdkError('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', 403), 2, /^AWS does not accept these credentials \(InvalidAccessKeyId: /],
    [sdkError('AccessDenied', 'Access Denied', 403), 1, /^AWS answered AccessDenied \(HTTP 403\): Access Denied$/],
    [sdkError('PermanentRedirect', 'The bucket you are attempting to access must be addressed using the specified endpoint.', 301), 1, /: is the bucket in another region\? Set AWS_REGION to its region$/],
    [sdkError('Error', 'getaddrinfo ENOTFOUND s3.eu-west-1.amazonaws.com', undefined, 'ENOTFOUND'), 1, /^could not reach AWS \(ENOTFOUND: getaddrinfo ENOTFOUND /],
    [sdkError('TimeoutError', 'Connection timed out after 1000 ms'), 1, /^could not reach AWS \(TimeoutError: /],
    [Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), 2, /^no AWS credentials found \(Could not load credentials from any providers\): give a profile/],
    [new Error('Region is missing'), 2, /^no AWS region is set: set AWS_REGION/],
  ])('%s is one line, exit %i', (err, exitCode, line) => {
    const said = awsErrorLine(err);
    expect(said?.exitCode).toBe(exitCode);
    expect(said?.line).toMatch(line);
    expect(said?.line).not.toContain('\n');
  });

  it('names the profile it was given in its advice', () => {
    expect(awsErrorLine(sdkError('ExpiredToken', 'expired', 400), 'audit')?.line).toBe('the session of these credentials has expired (ExpiredToken): sign in again (aws sso login --profile audit) or refresh profile audit, then run again');
    expect(awsErrorLine(Object.assign(new Error('Profile audit could not be found'), { name: 'CredentialsProviderError' }), 'audit')?.line).toMatch(/^no AWS credentials found for profile audit \(Profile audit could not be found\): sign in \(aws sso login --profile audit\)/);
    expect(awsErrorLine(sdkError('InvalidClientTokenId', 'bad key', 403), 'audit')?.line).toMatch(/^AWS does not accept these credentials \(InvalidClientTokenId: bad key\): check the access key of profile audit/);
  });

  it('leaves the tool\'s own errors alone: they keep their stack', () => {
    expect(awsErrorLine(new TypeError('cannot read properties of undefined'))).toBeUndefined();
    expect(awsErrorLine('a string')).toBeUndefined();
  });
});
