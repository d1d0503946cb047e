import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SETTINGS, parseSettings, SettingsError } from '../../lib/settings';
import { thrownMessage } from '../helpers/errors';
import { synthStack } from '../helpers/synth';
import { tempDir } from '../helpers/temp';

const rejection = (raw: unknown): string => thrownMessage(() => parseSettings(raw), SettingsError);

describe('settings', () => {
  it('read the accounts to audit, with their defaults', () => {
    expect(parseSettings({ accounts: { source: 'organization' } }).accounts).toEqual({ source: 'organization', memberRoleName: 'IamAccessAuditMember', organizationalUnitIds: [], excludeAccountIds: [] });
    expect(parseSettings({ accounts: { source: 'list', accountIds: ['111111111111'] } }).accounts).toEqual({ source: 'list', accountIds: ['111111111111'], memberRoleName: 'IamAccessAuditMember' });
    // Context given on the command line is a string of JSON.
    expect(parseSettings('{"accounts":{"source":"self"},"batchSize":500}')).toMatchObject({ accounts: { source: 'self' }, batchSize: 500 });
    expect(parseSettings({ auditBatchReservedConcurrency: 50 }).auditBatchReservedConcurrency).toBe(50);
    expect(parseSettings({ auditBatchReservedConcurrency: null }).auditBatchReservedConcurrency).toBeNull();
  });

  it('default every field', () => {
    expect(parseSettings(undefined)).toEqual(DEFAULT_SETTINGS);
    expect(parseSettings({ schedule: { timeZone: 'Europe/Paris' } }).schedule).toEqual({ ...DEFAULT_SETTINGS.schedule, timeZone: 'Europe/Paris' });
    // Links of the time zone database are names of their own, kept as given.
    for (const timeZone of ['GMT', 'Etc/GMT+5', 'Asia/Calcutta']) expect(parseSettings({ schedule: { timeZone } }).schedule.timeZone).toBe(timeZone);
    expect(parseSettings({ schedule: { cron: 'cron(0 18 ? * MON-FRI *)' } }).schedule.cron).toBe('cron(0 18 ? * MON-FRI *)');
  });

  it.each([
    [[], 'iamAccessAudit must be a JSON object'],
    [{ batchsize: 10 }, 'iamAccessAudit.batchsize is not a known setting'],
    [{ batchSize: 0 }, 'iamAccessAudit.batchSize must be a whole number from 50 to 20000, got 0'],
    [{ batchSize: '100' }, 'iamAccessAudit.batchSize must be a whole number'],
    [{ granularity: 'FULL' }, 'iamAccessAudit.granularity must be one of SERVICE_LEVEL, ACTION_LEVEL'],
    [{ entityTypes: ['role', 'robot'] }, 'iamAccessAudit.entityTypes[1] must be one of user, group, role, policy'],
    [{ excludePathPrefixes: ['aws-service-role/'] }, 'iamAccessAudit.excludePathPrefixes[0] must be an IAM path prefix'],
    [{ iamCallsPerSecond: 0 }, 'iamAccessAudit.iamCallsPerSecond must be a number from 0.1 to 1000'],
    [{ logRetentionDays: 42 }, 'iamAccessAudit.logRetentionDays must be one of the retention periods'],
    [{ schedule: { cron: '0 3 * * *' } }, 'iamAccessAudit.schedule.cron must be an EventBridge Scheduler cron expression'],
    [{ schedule: { cron: 'cron(0 3 * * * *)' } }, 'iamAccessAudit.schedule.cron must be an EventBridge Scheduler cron expression such as "cron(0 3 * * ? *)": it must have "?" in exactly one of day-of-month and day-of-week'],
    [{ schedule: { timeZone: 'Mars/Olympus' } }, 'iamAccessAudit.schedule.timeZone must be an IANA time zone'],
    [{ schedule: { timeZone: 'europe/paris' } }, 'iamAccessAudit.schedule.timeZone must be spelled as the time zone database spells it, "Europe/Paris", got "europe/paris"'],
    [{ schedule: { enabled: 'yes' } }, 'iamAccessAudit.schedule.enabled must be true or false'],
    [{ schedule: { hour: 3 } }, 'iamAccessAudit.schedule.hour is not a known setting'],
    [{ maxFailedPercent: 101 }, 'iamAccessAudit.maxFailedPercent must be a number from 0 to 100'],
    [{ auditBatchReservedConcurrency: 0 }, 'iamAccessAudit.auditBatchReservedConcurrency must be a whole number from 1 to 1000, got 0'],
    [{ auditBatchReservedConcurrency: '20' }, 'iamAccessAudit.auditBatchReservedConcurrency must be a whole number from 1 to 1000, got "20"'],
    [{ accounts: 'organization' }, 'iamAccessAudit.accounts must be a JSON object'],
    [{ accounts: { source: 'everywhere' } }, 'iamAccessAudit.accounts.source must be one of self, organization, list'],
    [{ accounts: { source: 'list' } }, 'iamAccessAudit.accounts.accountIds is required when accounts.source is "list"'],
    [{ accounts: { source: 'list', accountIds: [123456789012] } }, 'iamAccessAudit.accounts.accountIds[0] must be a 12-digit account id (a string)'],
    [{ accounts: { source: 'list', accountIds: [] } }, 'iamAccessAudit.accounts.accountIds must name at least one account'],
    [{ accounts: { source: 'organization', organizationalUnitIds: ['Workloads'] } }, 'iamAccessAudit.accounts.organizationalUnitIds[0] must be an OU id'],
    [{ accounts: { source: 'organization', memberRoleName: 'has space' } }, 'iamAccessAudit.accounts.memberRoleName must be an IAM role name'],
    [{ accounts: { source: 'organization', memberRole: 'X' } }, 'iamAccessAudit.accounts.memberRole is not a known setting'],
    [{ accounts: { source: 'self', memberRoleName: 'X' } }, 'iamAccessAudit.accounts.memberRoleName is not a known setting'],
    ['{"batchSize": ', 'iamAccessAudit given as a string must be JSON'],
  ])('reject %j naming the field', (raw, message) => {
    expect(rejection(raw)).toContain(message);
  });

  it("are refused at synth when they would make a function's environment larger than Lambda allows (4 KB), naming the setting", () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => String(100_000_000_000 + i));
    const { template } = synthStack({ accounts: { source: 'list', accountIds: ids(240) } });
    // Every variable's name and value, the bucket's name at its longest (63 characters).
    const sizes = (Object.values(template.findResources('AWS::Lambda::Function')) as any[]).map((fn) =>
      Object.entries(fn.Properties.Environment.Variables as Record<string, unknown>).reduce((sum, [name, value]) => sum + name.length + (typeof value === 'string' ? value.length : 63), 0),
    );
    expect(Math.max(...sizes)).toBeGreaterThan(3900);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4096);
    expect(thrownMessage(() => synthStack({ accounts: { source: 'list', accountIds: ids(260) } }), SettingsError)).toMatch(
      /^iamAccessAudit\.accounts is too large: the Plan function's environment would hold 4,\d{3} bytes \(ACCOUNTS 3,\d{3} of them\), where Lambda allows 4,096 for all its variables together; a list of accounts holds some 240 at most: to audit more, set accounts.source to "organization"/,
    );
    const arnPatterns = Array.from({ length: 90 }, (_, i) => `arn:aws:iam::123456789012:role/break-glass-${i}-*`);
    expect(thrownMessage(() => synthStack({ exemptions: { arnPatterns } }), SettingsError)).toMatch(/^iamAccessAudit\.exemptions is too large: the Propose function's environment would hold 4,\d{3} bytes \(EXEMPTIONS 4,\d{3} of them\)/);
  });

  it('stop the app with one line naming the field, no stack trace and nothing written', () => {
    const outdir = tempDir('bad-setting-');
    const root = join(__dirname, '..', '..');
    // As `cdk synth -c` gives it: the app's entry in a process of its own, the context as a string.
    const child = spawnSync(process.execPath, ['-r', join(root, 'local', 'quiet-node20-warning.cjs'), '-r', require.resolve('tsx/cjs'), join(root, 'bin', 'app.ts')], {
      cwd: root,
      env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ iamAccessAudit: '{"accounts":{"source":"organization","memberRoleName":"bad name!"}}' }) },
      encoding: 'utf8',
    });
    expect(child.status).toBe(1);
    expect(child.stderr.trim()).toBe(
      'iam-access-audit: a setting in cdk.json\'s context (or -c) is wrong: iamAccessAudit.accounts.memberRoleName must be an IAM role name (1 to 64 letters, digits and +=,.@_-), got "bad name!"',
    );
    expect(readdirSync(outdir)).toEqual([]);
  }, 60_000);
});
