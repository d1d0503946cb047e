import { InvalidInput } from '../../lambda/core/errors';
import { parseExecutionInput, type AuditDefaults } from '../../lambda/core/input';
import { runIdOf } from '../../lambda/core/plan';

const defaults: AuditDefaults = { granularity: 'SERVICE_LEVEL', entityTypes: ['user', 'group', 'role', 'policy'], unusedAfterDays: 90 };
const ROLE = 'arn:aws:iam::123456789012:role/app';

function rejection(input: unknown): string {
  try {
    parseExecutionInput(input, defaults);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as Error).name).toBe('InvalidInput');
    return (err as Error).message;
  }
  throw new Error('expected InvalidInput');
}

describe('execution input', () => {
  it('takes the defaults from {} (what the schedule sends)', () => {
    expect(parseExecutionInput({}, defaults)).toEqual({ ...defaults, arns: null, accountIds: null });
  });

  it('accepts every field', () => {
    const input = { granularity: 'ACTION_LEVEL', entityTypes: ['role'], arns: [ROLE, ROLE, 'arn:aws:iam::123456789012:role/team/a+b=c,d.e@f-g'], unusedAfterDays: 30, accountIds: ['123456789012', '123456789012'] };
    expect(parseExecutionInput(input, defaults)).toEqual({
      granularity: 'ACTION_LEVEL',
      entityTypes: ['role'],
      arns: [ROLE, 'arn:aws:iam::123456789012:role/team/a+b=c,d.e@f-g'],
      unusedAfterDays: 30,
      accountIds: ['123456789012'],
    });
  });

  it.each([
    [null, 'the execution input must be a JSON object'],
    [[], 'the execution input must be a JSON object'],
    ['{}', 'the execution input must be a JSON object'],
    [{ granularity: 'FULL' }, 'granularity must be "SERVICE_LEVEL" or "ACTION_LEVEL", got "FULL"'],
    [{ granularity: 1 }, 'granularity must be'],
    [{ accountIds: [] }, 'accountIds must be a non-empty array'],
    [{ accountIds: [111122223333] }, 'accountIds[0] must be a 12-digit account id (a string), got 111122223333'],
    [{ accountIds: ['111122223333'], arns: [ROLE] }, 'arns[0] is in account 123456789012, which accountIds (111122223333) leaves out'],
    [{ entityTypes: [] }, 'entityTypes must be a non-empty array'],
    [{ entityTypes: 'role' }, 'entityTypes must be a non-empty array'],
    [{ entityTypes: ['role', 'robot'] }, 'entityTypes[1] must be one of'],
    [{ entityTypes: ['role', 'role'] }, 'entityTypes[1] repeats "role"'],
    [{ arns: [] }, 'arns must be a non-empty array'],
    [{ arns: ['arn:aws:s3:::bucket'] }, 'arns[0] must be the ARN of an IAM user, group, role or customer managed policy'],
    [{ arns: [ROLE, 42] }, 'arns[1] must be the ARN'],
    [{ arns: [ROLE], entityTypes: ['user'] }, 'arns[0] is a role, but entityTypes (user) leaves roles out'],
    [{ unusedAfterDays: 0 }, 'unusedAfterDays must be a whole number of days from 1 to 400'],
    [{ unusedAfterDays: 401 }, 'unusedAfterDays must be'],
    [{ unusedAfterDays: 1.5 }, 'unusedAfterDays must be'],
    [{ unusedAfterDays: '90' }, 'unusedAfterDays must be'],
    [{ granularity: 'ACTION_LEVEL', dryRun: true }, 'unknown field "dryRun" in the execution input'],
  ])('rejects %j naming the field', (input, message) => {
    expect(rejection(input)).toContain(message);
  });
});

describe('run ids of odd execution names', () => {
  it('escape what is not safe in keys and file names, and refuse a missing name', () => {
    expect(runIdOf('nightly-2026-11-25')).toBe('nightly-2026-11-25');
    expect(runIdOf('a b/c:d')).toBe('a.20b.2fc.3ad');
    expect(runIdOf('x'.repeat(100))).toHaveLength(100);
    expect(() => runIdOf(undefined)).toThrow(InvalidInput);
  });
});
