import { sharedIdentities, type IdentityRow, type ServiceCells } from '../../lambda/core/report-data';

describe('the same identity in several accounts (the report page)', () => {
  const accounts = ['111111111111', '222222222222', '333333333333'];
  // [account, type (0 user, 1 group, 2 role, 3 policy), name, path, granted, used, unused, never used]
  const identities: IdentityRow[] = [
    [0, 2, 'deployer', '/', 2, 1, 1, 0],
    [1, 2, 'deployer', '/', 2, 0, 2, 1],
    [0, 2, 'deployer', '/ci/', 1, 0, 1, 1],
    [2, 2, 'deployer', '/ci/', 1, 1, 0, 0],
    [1, 0, 'deployer', '/', 1, 1, 0, 0],
    [0, 3, 'shared-policy', '/', 1, 0, 1, 1],
    [2, 2, 'alone', '/', 1, 0, 1, 1],
  ];
  // Three numbers a service: its index, days since last used (-1 never), 1 when unused.
  const cells: ServiceCells[] = [
    [0, 3, 0, 1, 200, 1],
    [0, 120, 1, 2, -1, 1],
    [3, -1, 1],
    [3, 10, 0],
    [0, 1, 0],
    [4, -1, 1],
    [1, -1, 1],
  ];
  const failures = [
    { arn: 'arn:aws:iam::333333333333:policy/shared-policy', code: 'JobTimedOut', message: 'still IN_PROGRESS' },
    { arn: 'arn:aws:iam::222222222222:role/only-failed', code: 'JobFailed', message: 'failed' },
    { arn: 'arn:aws:iam::222222222222:role/ci/deployer', code: 'JobFailed', message: 'failed' },
  ];

  it('gathers by type, path and name across accounts, counts services used in no account and in some, and says "not known" where an account has no report', () => {
    expect(sharedIdentities(identities, cells, failures, accounts)).toEqual([
      // role/deployer: service 0 used in the first account; 1 and 2 used in none.
      [2, '/', 'deployer', [0, 1], [], 2, 2, 1, 3],
      // Not known, so last, whatever their counts, the one in more accounts first. role/ci/deployer: no
      // report in the second account (its path read from the failure's ARN); service 3 used in the third.
      [2, '/ci/', 'deployer', [2, 3], [2], 3, 0, 1, 1],
      // policy/shared-policy: no report in the third account.
      [3, '/', 'shared-policy', [5], [0], 2, 1, 0, 1],
    ]);
  });

  it('leaves out identities of one account, and the report of an account the summary does not hold', () => {
    const unplaced: IdentityRow[] = [[-1, 2, 'alone', '/', 1, 0, 1, 1], ...identities.slice(6)];
    expect(sharedIdentities(unplaced, [[1, -1, 1], [1, -1, 1]], [], accounts)).toEqual([]);
    expect(sharedIdentities([], [], failures, accounts)).toEqual([]);
  });
});
