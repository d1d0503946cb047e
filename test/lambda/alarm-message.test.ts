import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { alarmMessage } from '../../lambda/core/alarm-message';
import { InvalidInput } from '../../lambda/core/errors';

/** An event as CloudWatch gives a Lambda alarm action (its documented shape, trimmed). */
const event = (state: string, extra: object = {}) => ({
  source: 'aws.cloudwatch',
  alarmArn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:IamAccessAudit-AlarmsExecutionFailures-ABC',
  accountId: '123456789012',
  time: '2026-12-07T03:15:00.000+0000',
  region: 'eu-west-1',
  alarmData: {
    alarmName: 'IamAccessAudit-AlarmsExecutionFailures-ABC',
    state: { value: state, reason: 'Threshold Crossed: 1 datapoint [1.0 (07/12/26 03:10:00)] was greater than or equal to the threshold (1.0).', timestamp: '2026-12-07T03:15:00.000+0000' },
    previousState: { value: state === 'OK' ? 'ALARM' : 'OK' },
    configuration: { description: 'An iam-access-audit execution failed, timed out or was aborted', metrics: [] },
    ...extra,
  },
});

describe('the message of an alarm', () => {
  it('says which alarm, its state and the one before, why, and since when', () => {
    expect(alarmMessage(event('ALARM'))).toEqual({
      subject: 'iam-access-audit ALARM: An iam-access-audit execution failed, timed out or was aborted',
      message:
        'iam-access-audit alarm IamAccessAudit-AlarmsExecutionFailures-ABC is ALARM (was OK) since 2026-12-07T03:15:00.000+0000.\n' +
        'An iam-access-audit execution failed, timed out or was aborted\n' +
        'Why: Threshold Crossed: 1 datapoint [1.0 (07/12/26 03:10:00)] was greater than or equal to the threshold (1.0).\n' +
        'Alarm: arn:aws:cloudwatch:eu-west-1:123456789012:alarm:IamAccessAudit-AlarmsExecutionFailures-ABC',
    });
    expect(alarmMessage(event('OK')).subject).toBe('iam-access-audit alarm OK: An iam-access-audit execution failed, timed out or was aborted');
  });

  it('keeps the subject as SNS takes it: printable ASCII on one line, under 100 characters', () => {
    const long = alarmMessage(event('ALARM', { configuration: { description: `No run\nsucceeded — ${'x'.repeat(200)}` } }));
    expect(long.subject).toMatch(/^[\x20-\x7e]+$/);
    expect(long.subject.length).toBeLessThan(100);
    expect(long.subject.startsWith('iam-access-audit ALARM: No run succeeded ')).toBe(true);
    // Without a description, the alarm's name.
    expect(alarmMessage(event('INSUFFICIENT_DATA', { configuration: {} })).subject).toBe('iam-access-audit INSUFFICIENT_DATA: IamAccessAudit-AlarmsExecutionFailures-ABC');
  });

  it('refuses what is not an alarm event, naming the field', () => {
    expect(() => alarmMessage({})).toThrow(new InvalidInput('not a CloudWatch alarm event: alarmArn must be a string'));
    expect(() => alarmMessage({ alarmArn: 'arn', alarmData: { alarmName: 'a', state: {} } })).toThrow('alarmData.state.value must be a string');
    expect(() => alarmMessage(null)).toThrow(InvalidInput);
  });
});

describe('the alarm-notify handler', () => {
  it('publishes the message to the topic its environment names', async () => {
    const sent: unknown[] = [];
    const send = jest.spyOn(SNSClient.prototype, 'send').mockImplementation(async (command: unknown) => {
      sent.push((command as PublishCommand).input);
      return {};
    });
    process.env.TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:iam-access-audit';
    try {
      const { handler } = await import('../../lambda/handlers/alarm-notify');
      await handler(event('ALARM'));
      expect(sent).toEqual([{ TopicArn: 'arn:aws:sns:eu-west-1:123456789012:iam-access-audit', ...alarmMessage(event('ALARM')) }].map(({ subject, message, ...rest }) => ({ ...rest, Subject: subject, Message: message })));
      // What is not an alarm is refused before anything is sent.
      await expect(handler({ nothing: true })).rejects.toThrow('alarmArn must be a string');
      expect(sent).toHaveLength(1);
    } finally {
      send.mockRestore();
      delete process.env.TOPIC_ARN;
    }
  });
});
