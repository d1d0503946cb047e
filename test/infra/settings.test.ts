import { DEFAULT_SETTINGS, parseSettings, SettingsError } from '../../lib/settings';

function rejection(raw: unknown): string {
  try {
    parseSettings(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(SettingsError);
    return (err as Error).message;
  }
  throw new Error('expected SettingsError');
}

describe('settings', () => {
  it('default every field', () => {
    expect(parseSettings(undefined)).toEqual(DEFAULT_SETTINGS);
    expect(parseSettings({ schedule: { timeZone: 'Europe/Paris' } }).schedule).toEqual({ ...DEFAULT_SETTINGS.schedule, timeZone: 'Europe/Paris' });
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
    [{ schedule: { timeZone: 'Mars/Olympus' } }, 'iamAccessAudit.schedule.timeZone must be an IANA time zone'],
    [{ schedule: { enabled: 'yes' } }, 'iamAccessAudit.schedule.enabled must be true or false'],
    [{ schedule: { hour: 3 } }, 'iamAccessAudit.schedule.hour is not a known setting'],
  ])('reject %j naming the field', (raw, message) => {
    expect(rejection(raw)).toContain(message);
  });
});
