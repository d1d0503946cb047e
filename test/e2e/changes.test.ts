/**
 * What changed since the previous run, end to end: two consecutive local runs into one store, the
 * account changed between them as a night would change it. The second run's changes.json, summary,
 * dataset rows and topic message say exactly what changed (identities added and removed, first uses
 * with a watched service among them, services newly unused, granted and revoked), and nothing else:
 * an identity that failed in the second run is neither removed nor changed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { changesCommand } from '../../cli/changes-command';
import type { Changes } from '../../lambda/core/changes';
import type { RunSummary } from '../../lambda/core/model';
import { loadAccount } from '../../local/emulator';
import { runLocal, type LocalRunResult } from '../../local/runner/run-local';
import { readJson } from '../helpers/expectations';
import { FAST_SETTINGS } from '../helpers/iam';
import { tempDir } from '../helpers/temp';

const ACCOUNT_ID = '111122223333';
const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY).toISOString();
const arn = (type: string, name: string) => `arn:aws:iam::${ACCOUNT_ID}:${type}/${name}`;

type Service = { namespace: string; name: string; lastAuthenticated?: string };
const service = (namespace: string, lastUsedDaysAgo?: number): Service => ({
  namespace,
  name: namespace.toUpperCase(),
  ...(lastUsedDaysAgo === undefined ? {} : { lastAuthenticated: daysAgo(lastUsedDaysAgo) }),
});
const entity = (type: string, name: string, services: Service[], extra: Record<string, unknown> = {}) => ({ type, name, path: '/', services, ...extra });

/** The account on the first night. */
function firstNight() {
  return [
    entity('role', 'steady', [service('s3', 2), service('ec2')]),
    entity('role', 'admin-bot', [service('iam'), service('s3', 1)]),
    entity('user', 'alice', [service('sqs'), service('s3', 3)]),
    entity('role', 'batch', [service('dynamodb', 85), service('lambda', 1)]),
    entity('user', 'leaver', [service('s3', 10)]),
    entity('role', 'grower', [service('s3', 1), service('ec2', 5)]),
    entity('role', 'flaky', [service('s3', 1)]),
  ];
}

/** The next night: one user left, one joined; uses, grants and time moved on; one job failed. */
function secondNight() {
  return [
    entity('role', 'steady', [service('s3', 2), service('ec2')]),
    entity('role', 'admin-bot', [service('iam', 0), service('s3', 1)]),
    entity('user', 'alice', [service('sqs', 0), service('s3', 3)]),
    entity('role', 'batch', [service('dynamodb', 95), service('lambda', 1)]),
    entity('user', 'newcomer', [service('s3', 0)]),
    entity('role', 'grower', [service('s3', 1), service('kinesis')]),
    entity('role', 'flaky', [service('s3', 1)], { fault: 'job-fails' }),
  ];
}

describe('changes between two consecutive local runs', () => {
  const dir = tempDir('changes-');
  const settings = { ...FAST_SETTINGS, maxFailedPercent: 20 };
  let first: LocalRunResult;
  let second: LocalRunResult;
  let changes: Changes;

  beforeAll(async () => {
    first = await runLocal({ account: loadAccount({ accountId: ACCOUNT_ID, entities: firstNight() }), outDir: dir, timeScale: 200, settings });
    second = await runLocal({ account: loadAccount({ accountId: ACCOUNT_ID, entities: secondNight() }), outDir: dir, timeScale: 200, settings });
    changes = readJson<Changes>(dir, `runs/${second.runId}/changes.json`);
  }, 240_000);

  it('computes no changes for the first run, and compares the second with it', () => {
    expect(first.summary!.status).toBe('COMPLETED');
    expect(first.summary!.changes).toBeNull();
    expect(readdirSync(join(dir, 'runs', first.runId))).not.toContain('changes.json');
    expect(second.summary!.status).toBe('COMPLETED');
    expect(changes).toMatchObject({ schemaVersion: 1, runId: second.runId, previousRunId: first.runId });
  });

  it('names the identities added and removed, and not the one whose job failed', () => {
    expect(second.summary!.failures.map((f) => f.arn)).toEqual([arn('role', 'flaky')]);
    expect(changes.identities).toEqual({ added: [arn('user', 'newcomer')], removed: [arn('user', 'leaver')] });
  });

  it('reports exactly the service changes that happened', () => {
    const found = changes.services.map((c) => `${c.arn.split(':')[5]} ${c.serviceNamespace} ${c.change}`).sort();
    expect(found).toEqual(
      [
        'role/admin-bot iam first-use',
        'role/batch dynamodb newly-unused',
        'role/grower ec2 revoked',
        'role/grower kinesis granted',
        'user/alice sqs first-use',
      ].sort(),
    );
    const iam = changes.services.find((c) => c.serviceNamespace === 'iam')!;
    expect(iam.previousLastAuthenticated).toBeNull();
    expect(Date.parse(iam.lastAuthenticated!)).toBeGreaterThan(Date.now() - 2 * DAY);
    const batch = changes.services.find((c) => c.change === 'newly-unused')!;
    expect(batch.lastAuthenticated).not.toBeNull();
    expect(batch.previousLastAuthenticated).not.toBeNull();
  });

  it('picks out the first use of a watched service, in the summary and the topic message', () => {
    expect(changes.watched.map((w) => `${w.arn} ${w.serviceNamespace}`)).toEqual([`${arn('role', 'admin-bot')} iam`]);
    expect(second.summary!.changes).toEqual({ firstUse: 2, newlyUnused: 1, added: 1, removed: 1 });
    const messages = readFileSync(join(dir, '.logs', 'notifications.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { message: string });
    const last = messages.at(-1)!.message;
    expect(last).toContain(second.runId);
    expect(last).toContain('First use of watched services: 111122223333:role/admin-bot used iam.');
    expect(last).toContain(`runs/${second.runId}/report.html`);
    expect(messages.at(-2)!.message).not.toContain('First use of watched services');
  });

  it('writes one changes row per change for Athena, the watched one marked', () => {
    const summary: RunSummary = readJson(dir, `runs/${second.runId}/summary.json`);
    const part = join(dir, 'datasets', 'changes', `run_date=${summary.runDate}`, `run_id=${second.runId}`, 'part-changes.jsonl');
    const rows = readFileSync(part, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(changes.services.length + 2);
    expect(rows.filter((r) => r.watched)).toEqual([expect.objectContaining({ entityArn: arn('role', 'admin-bot'), serviceNamespace: 'iam', change: 'first-use' })]);
    expect(rows.filter((r) => r.change === 'added' || r.change === 'removed').map((r) => [r.change, r.entityArn, r.serviceNamespace])).toEqual([
      ['added', arn('user', 'newcomer'), null],
      ['removed', arn('user', 'leaver'), null],
    ]);
    for (const row of rows) expect(row).toMatchObject({ runId: second.runId, previousRunId: first.runId, accountId: ACCOUNT_ID });
  });

  it('shows them in the terminal: watched first uses, identities added and removed, then each service change by kind', async () => {
    const show = async (...args: string[]) => {
      const out = new PassThrough();
      expect(await changesCommand(['--out', dir, ...args], out)).toBe(0);
      return String(out.read());
    };
    const day = (iso: string | null) => (iso === null ? 'never' : iso.slice(0, 10));
    const row = (kind: string, service: string, name: string) => {
      const c = changes.services.find((x) => x.change === kind && x.serviceNamespace === service)!;
      return `${kind.padEnd(14)}${service.padEnd(10)}${day(c.lastAuthenticated).padEnd(12)}${day(c.previousLastAuthenticated).padEnd(12)}${arn(name.split('/')[0], name.split('/')[1])}`;
    };
    const text = (await show('--run', second.runId)).split('\n');
    expect(text[0]).toMatch(new RegExp(`^Run ${second.runId} \\(COMPLETED, started .+ UTC\\) against run ${first.runId} \\(started .+ UTC\\):$`));
    expect(text.slice(1)).toEqual([
      '  1 identity added, 1 removed; 2 services used for the first time, 1 newly unused, 1 granted, 1 revoked.',
      '',
      'First uses of watched services (1):',
      `  ${arn('role', 'admin-bot')}  used iam (${day(changes.watched[0].lastAuthenticated)})`,
      '',
      'Identities added (1):',
      `  ${arn('user', 'newcomer')}`,
      '',
      'Identities removed (1):',
      `  ${arn('user', 'leaver')}`,
      '',
      `${'CHANGE'.padEnd(14)}${'SERVICE'.padEnd(10)}${'LAST USED'.padEnd(12)}${'BEFORE'.padEnd(12)}IDENTITY`,
      row('first-use', 'iam', 'role/admin-bot'),
      row('first-use', 'sqs', 'user/alice'),
      row('newly-unused', 'dynamodb', 'role/batch'),
      row('granted', 'kinesis', 'role/grower'),
      row('revoked', 'ec2', 'role/grower'),
      '',
    ]);
    expect(JSON.parse(await show('--run', second.runId, '--format', 'json'))).toEqual(changes);
    expect(await show('--run', first.runId)).toBe(`Run ${first.runId} (COMPLETED) compares with no run: no run had COMPLETED before it. Changes compare with the latest COMPLETED run.\n`);
    expect(await show('--run', first.runId, '--format', 'json')).toBe('null\n');
    await expect(changesCommand(['--out', dir, '--run', second.runId, '--account', '999999999999'], new PassThrough())).rejects.toThrow(/999999999999/);
    await expect(changesCommand(['--out', dir, '--format', 'csv'], new PassThrough())).rejects.toThrow('--format must be one of table, json, got "csv"');
  });

  it('reports no change at all when nothing changed', async () => {
    const third = await runLocal({ account: loadAccount({ accountId: ACCOUNT_ID, entities: secondNight().filter((e) => e.name !== 'flaky') }), outDir: dir, timeScale: 200, settings });
    const none = readJson<Changes>(dir, `runs/${third.runId}/changes.json`);
    expect(none.previousRunId).toBe(second.runId);
    // flaky failed in the second run, so it had nothing to compare with: its absence now is a removal.
    expect(none.identities).toEqual({ added: [], removed: [arn('role', 'flaky')] });
    expect(none.services).toEqual([]);
    expect(third.summary!.changes).toEqual({ firstUse: 0, newlyUnused: 0, added: 0, removed: 1 });
  }, 120_000);
});
