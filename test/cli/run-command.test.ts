/**
 * `run --local`'s choices and words that need no run: the time scale for the size of what is audited,
 * what it says when a run ends without a summary, and the bad inputs it refuses before starting one
 * (or, for the accounts only Plan can know, as it starts).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { UsageError } from '../../cli/flags';
import { defaultLocalTimeScale, exitCodeOf, failureLine, formatRunResult, formatRunSummary, formatSummary, runCommand } from '../../cli/run-command';
import type { RunSummary } from '../../lambda/core/model';
import { catalogLagText, type ProposalIndex } from '../../lambda/core/propose';
import type { LocalRunResult } from '../../local/runner/run-local';
import { tempDir } from '../helpers/temp';

/** The summary of a run of one account holding one role, reported with one unused grant. */
function oneRoleRun(changes: RunSummary['changes']): RunSummary {
  const entities = { listed: 1, reported: 1, skipped: 0, failed: 0 };
  return {
    status: 'COMPLETED',
    accounts: [{ accountId: '111111111111', name: null, status: 'audited', entities }],
    entities: { ...entities, byType: { user: 0, group: 0, role: 1, policy: 0 } },
    findings: { entitiesWithUnusedServices: 1, unusedServiceGrants: 1, entitiesWithNoUseInWindow: 0 },
    iamCalls: { list: 4, generate: 1, get: 1, throttled: 0, retried: 0 },
    proposals: { count: 0, byAction: {} },
    changes,
    failures: [],
    skipped: [],
  } as unknown as RunSummary;
}

describe('the default time scale of a local run', () => {
  it('is 200x up to 1,000 identities and what this machine keeps up with beyond', () => {
    expect([0, 300, 1_000].map(defaultLocalTimeScale)).toEqual([200, 200, 200]);
    // 8 x 1,000 at 200x ran out of invocations and Summarize timed out; at 25x it completed.
    expect([3_000, 8_000, 10_000, 100_000, 1_000_000, 10_000_000].map(defaultLocalTimeScale)).toEqual([66, 25, 20, 2, 0.2, 0.1]);
  });
});

describe("a run's summary in the terminal", () => {
  it('names each account not audited with its code, and under one that failed, what it failed with', () => {
    const entities = { listed: 0, reported: 0, skipped: 0, failed: 0 };
    const summary = {
      status: 'INCOMPLETE',
      accounts: [
        { accountId: '111111111111', name: 'hub', status: 'audited', entities },
        { accountId: '222222222222', name: 'payments', status: 'failed', code: 'AccessDenied', message: 'not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role/IamAccessAuditMember', entities },
        { accountId: '333333333333', name: null, status: 'skipped', code: 'AccountSuspended', message: 'the account is SUSPENDED', entities },
      ],
      entities: { ...entities, byType: { user: 0, group: 0, role: 0, policy: 0 } },
      findings: { entitiesWithUnusedServices: 0, unusedServiceGrants: 0, entitiesWithNoUseInWindow: 0 },
      iamCalls: { list: 0, generate: 0, get: 0, throttled: 0, retried: 0 },
      proposals: { count: 0, byAction: {} },
      changes: null,
      failures: [],
      skipped: [],
    } as unknown as RunSummary;
    expect(formatSummary(summary).split('\n').slice(0, 5)).toEqual([
      '  status     INCOMPLETE',
      '  accounts   3 (1 audited · 1 failed · 1 skipped)',
      '    222222222222 (payments) failed: AccessDenied',
      '      not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role/IamAccessAuditMember',
      '    333333333333 skipped: AccountSuspended',
    ]);
  });

  it('counts one of a thing in the singular', () => {
    const text = formatSummary(oneRoleRun({ added: 0, removed: 0, firstUse: 1, newlyUnused: 0 }));
    expect(text).toContain('  findings   1 identity holds unused services (1 unused grant); 0 used nothing in the window\n');
    expect(text).toContain('0 removed · 1 first use · 0 newly unused\n');
    expect(text).toContain('  by type    0 users · 0 groups · 1 role · 0 policies\n');
  });

  it('says when no proposals were made (no index: Propose did not run to its end), which a count of 0 alone would not', () => {
    const run = oneRoleRun({ added: 0, removed: 0, firstUse: 0, newlyUnused: 0 });
    const line = '  proposals  none made: Propose did not run to its end in this run (its log says why); the audit above stands\n';
    expect(formatSummary(run, null, false)).toContain(line);
    expect(formatSummary(run, null, true)).not.toContain('  proposals  ');
  });

  it('says, under the proposals, how old the catalogue was that single actions were cut over', () => {
    const run = { ...oneRoleRun({ added: 0, removed: 0, firstUse: 0, newlyUnused: 0 }), proposals: { count: 1, byAction: { trim: 1, remove: 0, replace: 0, review: 0 } } };
    const index = { catalogVersion: '0.21.202609261', previousRunId: null, proposals: [{ action: 'trim', removedActions: 2 }] } as unknown as ProposalIndex;
    const lines = formatRunSummary({ ...run, runDate: '2026-12-08' }, index).split('\n');
    const at = lines.findIndex((l) => l.startsWith('  proposals  1 (1 trim'));
    expect(lines[at + 1]).toBe(`             ${catalogLagText({ version: '0.21.202609261', date: '2026-09-26', days: 73 })}`);
    // Services alone cut: the catalogue's age says nothing of them.
    expect(formatRunSummary(run, { ...index, proposals: [{ action: 'trim', removedActions: 0 }] } as unknown as ProposalIndex)).not.toContain('catalogue');
  });
});

describe('a local run that ends without a summary', () => {
  const failed = (listed: number | null): LocalRunResult =>
    ({ status: 'FAILED', error: { Error: 'Sandbox.Timedout', Cause: 'Task timed out after 300 seconds' }, runId: 'local-x', outDir: process.cwd(), listed, stats: {} }) as unknown as LocalRunResult;

  it('says whether Plan had listed the identities, and where the reports made are', () => {
    expect(formatRunResult(failed(null), 'in 0:01:00 simulated')).toBe(
      'Run local-x FAILED: Sandbox.Timedout: Task timed out after 300 seconds in 0:01:00 simulated\n  (no summary: the run stopped before it had listed the identities)\n',
    );
    expect(formatRunResult(failed(7549), 'in 0:01:00 simulated')).toContain(
      '(no summary: the run stopped after listing 7549 identities, before Summarize wrote one; the reports it made are under ./runs/local-x/reports/)',
    );
  });
});

describe('where a local run left its files', () => {
  it('names changes.json, and the command that lists the changes, only for a run that compared with another', () => {
    const ended = (changes: RunSummary['changes']) =>
      formatRunResult({ status: 'SUCCEEDED', runId: 'local-y', outDir: join(process.cwd(), 'out'), listed: 1, summary: oneRoleRun(changes), stats: {} } as unknown as LocalRunResult, 'in 0:01:00 simulated');
    expect(ended({ added: 1, removed: 0, firstUse: 0, newlyUnused: 0 })).toContain(
      'Changes:  out/runs/local-y/changes.json  (iam-access-audit changes --out out --run local-y lists them)\n',
    );
    expect(ended(null)).not.toContain('Changes:');
  });

  it('says how many proposals the run before made the same, read from the run directory\'s index, and nothing for a run without counts', () => {
    const dir = tempDir('run-result-');
    const runId = 'local-z';
    const summary = { ...oneRoleRun(null), runId, proposals: { count: 3, byAction: { trim: 2, remove: 0, replace: 0, review: 1 } } };
    const entry = (runs: number) => ({ proposalId: `p-${runs}`, sameSince: { runId, startedAt: '2026-12-07T02:00:00.000Z', runs } });
    const ended = (index: object | null) => {
      rmSync(join(dir, 'runs'), { recursive: true, force: true });
      if (index) {
        mkdirSync(join(dir, `runs/${runId}/proposals`), { recursive: true });
        writeFileSync(join(dir, `runs/${runId}/proposals/index.json`), JSON.stringify(index));
      }
      const text = formatRunResult({ status: 'SUCCEEDED', runId, outDir: dir, listed: 1, summary, stats: {} } as unknown as LocalRunResult, 'in 0:01:00 simulated');
      return text.split('\n').find((l) => l.startsWith('  proposals'));
    };
    expect(ended({ previousRunId: 'local-x', proposals: [entry(2), entry(1), entry(5)] })).toBe('  proposals  3 (2 trim · 0 remove · 0 replace · 1 review); 2 made the same by the run before (--again)');
    expect(ended({ previousRunId: null, proposals: [entry(1), entry(1), entry(1)] })).toBe('  proposals  3 (2 trim · 0 remove · 0 replace · 1 review); the next run says which it makes the same');
    // An index from before the runs were counted, or none to read here while the summary counts some: the line as it was.
    expect(ended({ proposals: [] })).toBe('  proposals  3 (2 trim · 0 remove · 0 replace · 1 review)');
    expect(ended(null)).toBe('  proposals  3 (2 trim · 0 remove · 0 replace · 1 review)');
  });

  it('names the command that lists the identities in several accounts, only for a run that audited several', () => {
    const one = oneRoleRun(null);
    const ended = (summary: RunSummary) =>
      formatRunResult({ status: 'SUCCEEDED', runId: 'local-y', outDir: join(process.cwd(), 'out'), listed: 1, summary: { ...summary, runId: 'local-y' }, stats: {} } as unknown as LocalRunResult, 'in 0:01:00 simulated');
    expect(ended(one)).not.toContain('Shared:');
    const other = { ...one.accounts[0], accountId: '222222222222' };
    expect(ended({ ...one, accounts: [...one.accounts, { ...other, status: 'failed', code: 'AccessDenied' }] })).not.toContain('Shared:');
    expect(ended({ ...one, accounts: [...one.accounts, other] })).toMatch(
      /\nShared: {3}iam-access-audit report --shared --out out --run local-y {2}\(the same identity in several accounts\)\n$/,
    );
  });
});

describe('why a run failed', () => {
  const payload = (errorType: string, errorMessage: string) => JSON.stringify({ errorType, errorMessage, trace: [`${errorType}: ${errorMessage}`, '    at plan (/var/task/index.js:1:1)'] });

  it('is the message of the function\'s error payload, not the payload with its stack trace', () => {
    expect(failureLine('ConfigurationError', payload('ConfigurationError', 'BUCKET_NAME is missing'))).toBe('ConfigurationError: BUCKET_NAME is missing');
    expect(failureLine('InvalidInput', payload('InvalidInput', 'accountIds names 999999999999, not among ...'))).toBe('bad execution input: accountIds names 999999999999, not among ...');
  });

  it('is any other cause as it is', () => {
    expect(failureLine('States.Timeout', 'The execution timed out')).toBe('States.Timeout: The execution timed out');
    expect(failureLine('States.Runtime', '{"not":"a payload"}')).toBe('States.Runtime: {"not":"a payload"}');
    expect(failureLine(undefined, undefined)).toBe('no error given');
  });

  it('exits 2 for a refused input, 1 for any other failure, 0 for a complete run', () => {
    expect(exitCodeOf({ status: 'FAILED', error: { Error: 'InvalidInput', Cause: '' } })).toBe(2);
    expect(exitCodeOf({ status: 'FAILED', error: { Error: 'AuditIncomplete', Cause: '' } })).toBe(1);
    expect(exitCodeOf({ status: 'SUCCEEDED' })).toBe(0);
  });
});

describe('a bad execution input given to run', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'run-input-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    [['--account-ids', '12'], 'bad execution input: accountIds[0] must be a 12-digit account id (a string), got "12"'],
    [['--input', '{"accountIds":[]}'], 'bad execution input: accountIds must be a non-empty array'],
    [['--arn', 'arn:aws:iam::123:role/x'], 'bad execution input: arns[0] must be the ARN of an IAM user, group, role or customer managed policy'],
    [['--input', '{"unusedAfterDays":0}', '--granularity', 'ACTION_LEVEL'], 'bad execution input: unusedAfterDays'],
    [['--granularity', 'FULL'], '--granularity must be SERVICE_LEVEL or ACTION_LEVEL, got "FULL"'],
    [['--input', '{"colour":1}'], 'bad execution input: unknown field "colour"'],
    [['--input', '{'], '--input must be JSON'],
  ])('%j is refused, naming the field, before anything runs or is written', async (flags, message) => {
    const out = join(dir, 'out');
    for (const where of [['--local', '--org-sample', '2x3'], ['--aws']]) {
      const run = runCommand([...where, '--out', out, ...flags], process.stdout);
      await expect(run).rejects.toThrow(UsageError);
      await expect(run).rejects.toThrow(message);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('refuses --account-ids naming an account the organization does not hold once Plan has listed it: exit 2, nothing written', async () => {
    const out = join(dir, 'out');
    const printed = new PassThrough();
    let text = '';
    printed.on('data', (chunk) => (text += chunk));
    const code = await runCommand(['--local', '--org-sample', '2x3', '--out', out, '--account-ids', '999999999999'], printed);
    expect(code).toBe(2);
    expect(text).toMatch(/FAILED: bad execution input: accountIds names 999999999999, not among the 2 accounts the pipeline is set to audit .*\n  \(no summary: the run stopped before it had listed the identities\)\n/);
    expect(text).not.toContain('errorType');
    expect(existsSync(join(out, 'runs'))).toBe(false);
    expect(existsSync(join(out, 'latest.json'))).toBe(false);
  }, 120_000);
});
