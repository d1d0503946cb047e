import { accountOfArn } from '../../lambda/core/model';

describe('the account of an ARN', () => {
  it('is the fifth field, whatever the partition, path or resource type', () => {
    expect(accountOfArn('arn:aws:iam::123456789012:role/app')).toBe('123456789012');
    expect(accountOfArn('arn:aws-us-gov:iam::210987654321:user/ops/team/alice')).toBe('210987654321');
    expect(accountOfArn('arn:aws:lambda:eu-west-1:111122223333:function:iam-access-audit-plan')).toBe('111122223333');
  });

  it('is "aws" for an AWS managed policy, so it can be told apart from a customer one', () => {
    expect(accountOfArn('arn:aws:iam::aws:policy/ReadOnlyAccess')).toBe('aws');
  });

  it('is empty for a text with no account field, never another field', () => {
    expect(accountOfArn('arn:aws:iam')).toBe('');
    expect(accountOfArn('')).toBe('');
  });
});
