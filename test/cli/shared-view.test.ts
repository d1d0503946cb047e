import type { AccountSummary, EntityReport, EntityType, RunSummary } from '../../lambda/core/model';
import { renderShared, sharedOfRun } from '../../cli/shared-view';

const DAY = 86_400_000;
const CREATED = Date.parse('2026-11-25T02:10:00.000Z');
const [A, B, C, D] = ['111111111111', '222222222222', '333333333333', '444444444444'];

/** A report of one identity: each service with the days before the job it was last used (null: never). */
function report(accountId: string, type: EntityType, path: string, name: string, services: Record<string, number | null>): EntityReport {
  const arn = `arn:aws:iam::${accountId}:${type}${path}${name}`;
  const entries = Object.entries(services).sort(([a], [b]) => (a < b ? -1 : 1));
  const unused = entries.filter(([, days]) => days === null || days > 90).map(([ns]) => ns);
  return {
    schemaVersion: 1,
    runId: 'audit-2026-11-25',
    runDate: '2026-11-25',
    accountId,
    entity: { arn, type, name, path, id: `ID-${accountId}-${name}` },
    granularity: 'SERVICE_LEVEL',
    job: { jobId: `job-${arn}`, status: 'COMPLETED', createdAt: new Date(CREATED).toISOString(), completedAt: new Date(CREATED + 3000).toISOString() },
    services: entries.map(([ns, days]) => ({
      serviceNamespace: ns,
      serviceName: ns.toUpperCase(),
      lastAuthenticated: days === null ? null : new Date(CREATED - days * DAY).toISOString(),
      lastAuthenticatedEntity: null,
      lastAuthenticatedRegion: null,
      totalAuthenticatedEntities: days === null ? 0 : 1,
      trackedActions: [],
    })),
    findings: {
      unusedAfterDays: 90,
      servicesGranted: entries.length,
      servicesUsed: entries.length - unused.length,
      unusedServices: unused,
      neverUsedServices: entries.filter(([, days]) => days === null).map(([ns]) => ns),
    },
  };
}

function summaryOf(accounts: AccountSummary[], failures: RunSummary['failures']): RunSummary {
  return {
    schemaVersion: 2,
    runId: 'audit-2026-11-25',
    runDate: '2026-11-25',
    status: failures.length > 0 || accounts.some((a) => a.status === 'failed') ? 'INCOMPLETE' : 'COMPLETED',
    granularity: 'SERVICE_LEVEL',
    startedAt: new Date(CREATED - 60_000).toISOString(),
    completedAt: new Date(CREATED + 600_000).toISOString(),
    accounts,
    entities: { listed: 0, reported: 0, skipped: 0, failed: failures.length, byType: { user: 0, group: 0, role: 0, policy: 0 } },
    failures,
    skipped: [],
    findings: { entitiesWithUnusedServices: 0, unusedServiceGrants: 0, entitiesWithNoUseInWindow: 0 },
    proposals: { count: 0, byAction: { trim: 0, remove: 0, replace: 0, review: 0 } },
    changes: null,
    iamCalls: { list: 0, generate: 0, get: 0, throttled: 0, retried: 0 },
  };
}

const audited = (accountId: string, name: string): AccountSummary => ({ accountId, name, status: 'audited', entities: { listed: 0, reported: 0, skipped: 0, failed: 0 } });

describe('report --shared: the same identity in several accounts, in the terminal', () => {
  const reports = [
    // role/deployer in A and B: s3 used in A (3 days before), ec2 last used 120 days before in A, iam never.
    report(A, 'role', '/', 'deployer', { s3: 3, ec2: 120 }),
    report(B, 'role', '/', 'deployer', { s3: null, iam: null }),
    // role/ci/deployer: a report in A, none in C (its job failed): what it used in C is not known.
    report(A, 'role', '/ci/', 'deployer', { lambda: null }),
    // user/team,infra (IAM allows the comma) in A and B, everything used.
    report(A, 'user', '/', 'team,infra', { s3: 1 }),
    report(B, 'user', '/', 'team,infra', { s3: 2 }),
    // In one account only: not shown.
    report(B, 'role', '/', 'alone', { ec2: null }),
  ];
  const failures = [
    { arn: `arn:aws:iam::${C}:role/ci/deployer`, code: 'JobFailed', message: 'the job failed' },
    { arn: `arn:aws:iam::${C}:role/lonely`, code: 'JobTimedOut', message: 'still IN_PROGRESS' },
  ];
  const summary = summaryOf([audited(A, 'management'), audited(B, 'payments-prod'), audited(C, 'security'), { accountId: D, name: 'old', status: 'skipped', code: 'AccountSuspended', entities: { listed: 0, reported: 0, skipped: 0, failed: 0 } }], failures);

  it('gathers by type, path and name, names the services used in no account, and knows none where an account has no report', () => {
    expect(sharedOfRun(summary, reports)).toEqual([
      {
        type: 'role', path: '/', name: 'deployer', accountIds: [A, B], notReported: [],
        usedInNoAccount: ['ec2', 'iam'], usedInSomeAccount: [{ service: 's3', accounts: 1 }], unusedGrants: 3,
      },
      {
        type: 'user', path: '/', name: 'team,infra', accountIds: [A, B], notReported: [],
        usedInNoAccount: [], usedInSomeAccount: [{ service: 's3', accounts: 2 }], unusedGrants: 0,
      },
      {
        type: 'role', path: '/ci/', name: 'deployer', accountIds: [A, C], notReported: [{ accountId: C, arn: failures[0].arn, code: 'JobFailed' }],
        usedInNoAccount: null, usedInSomeAccount: [], unusedGrants: 1,
      },
    ]);
  });

  it('judges "used" against the window asked for', () => {
    // ec2 was used 120 days before the report in A: used, in a window of 200 days.
    const [deployer] = sharedOfRun(summary, reports, 200);
    expect(deployer).toMatchObject({ usedInNoAccount: ['iam'], usedInSomeAccount: [{ service: 'ec2', accounts: 1 }, { service: 's3', accounts: 1 }], unusedGrants: 2 });
  });

  it('prints a table, the accounts not audited above it', () => {
    expect(renderShared('table', summary, sharedOfRun(summary, reports), 90)).toBe(
      [
        'Run audit-2026-11-25 (2026-11-25, SERVICE_LEVEL) INCOMPLETE: 3 identities in more than one of its 3 audited accounts (one type, path and name in each)',
        `  account ${D} (old) skipped: AccountSuspended`,
        '  An identity may be in the accounts not audited too: they are not counted.',
        '"Used": in the 90 days before each report. The most services used in no account first; "not known" where an account has no report of the identity, so what it used there is not known.',
        '',
        'TYPE   NAME         ACCOUNTS  USED IN NONE  USED IN SOME  UNUSED GRANTS  USED IN NO ACCOUNT',
        'role   deployer            2             2             1              3  ec2 iam',
        'user   team,infra          2             0             1              0',
        'role   ci/deployer         2     not known             0              1  no report in security (JobFailed)',
        '',
      ].join('\n'),
    );
  });

  it('writes CSV and JSON that hold the same', () => {
    const shared = sharedOfRun(summary, reports);
    expect(renderShared('csv', summary, shared, 90).split('\n')).toEqual([
      'type,path,name,accounts,not_reported_in,used_in_no_account,used_in_some_account,unused_grants,services_used_in_no_account',
      'role,/,deployer,2,,2,1,3,ec2 iam',
      'user,/,"team,infra",2,,0,1,0,',
      `role,/ci/,deployer,2,${C},,0,1,`,
      '',
    ]);
    const json = JSON.parse(renderShared('json', summary, shared, 90));
    expect(json).toEqual({ runId: summary.runId, runDate: summary.runDate, status: 'INCOMPLETE', accounts: summary.accounts, unusedAfterDays: 90, shared: JSON.parse(JSON.stringify(shared)) });
  });

  it('says when no identity can be, or is, in several accounts', () => {
    const one = summaryOf([audited(A, 'management'), { accountId: B, name: null, status: 'failed', code: 'AccessDenied', message: 'not authorized', entities: { listed: 0, reported: 0, skipped: 0, failed: 0 } }], []);
    expect(renderShared('table', one, sharedOfRun(one, reports.filter((r) => r.accountId === A)), 90).split('\n').slice(-2)).toEqual(['One account was audited: no identity can be in several.', '']);
    const two = summaryOf([audited(A, 'management'), audited(B, 'payments-prod')], []);
    const apart = [report(A, 'role', '/', 'one', { s3: 1 }), report(B, 'role', '/x/', 'one', { s3: 1 }), report(B, 'user', '/', 'one', { s3: 1 })];
    expect(sharedOfRun(two, apart)).toEqual([]);
    expect(renderShared('table', two, [], 90)).toBe(
      'Run audit-2026-11-25 (2026-11-25, SERVICE_LEVEL) COMPLETED: 0 identities in more than one of its 2 audited accounts (one type, path and name in each)\n' +
        'No identity of this run is in more than one account.\n',
    );
  });
});
