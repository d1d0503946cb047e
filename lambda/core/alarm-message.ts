/**
 * The message of an alarm, from what CloudWatch gives a Lambda alarm action. CloudWatch cannot publish
 * to a topic encrypted with the AWS managed key for SNS (`alias/aws/sns`): that key's policy lets only
 * principals of the account use it through SNS, and CloudWatch is not one; its policy cannot be
 * changed. So the alarms invoke a function, a principal of the account, which publishes for them.
 */
import { InvalidInput } from './errors';

/** The fields of CloudWatch's alarm event this reads (the rest is ignored). */
export interface AlarmEvent {
  readonly alarmArn: string;
  readonly time?: string;
  readonly alarmData: {
    readonly alarmName: string;
    readonly state: { readonly value: string; readonly reason?: string; readonly timestamp?: string };
    readonly previousState?: { readonly value?: string };
    readonly configuration?: { readonly description?: string };
  };
}

export interface AlarmMessage {
  /** SNS's e-mail subject: printable ASCII, under 100 characters. */
  readonly subject: string;
  readonly message: string;
}

const SUBJECT_LIMIT = 99;

export function alarmMessage(event: unknown): AlarmMessage {
  const e = checked(event);
  const { alarmName, state, previousState, configuration } = e.alarmData;
  const what = configuration?.description || alarmName;
  const subject = printable(`iam-access-audit ${state.value === 'OK' ? 'alarm OK' : state.value}: ${what}`);
  const lines = [
    `iam-access-audit alarm ${alarmName} is ${state.value}${previousState?.value ? ` (was ${previousState.value})` : ''} since ${state.timestamp ?? e.time ?? 'an unknown time'}.`,
    ...(configuration?.description ? [configuration.description] : []),
    ...(state.reason ? [`Why: ${state.reason}`] : []),
    `Alarm: ${e.alarmArn}`,
  ];
  return { subject: subject.length > SUBJECT_LIMIT ? `${subject.slice(0, SUBJECT_LIMIT - 3)}...` : subject, message: lines.join('\n') };
}

function checked(event: unknown): AlarmEvent {
  const e = event as Partial<AlarmEvent> | null;
  const need = (ok: boolean, field: string) => {
    if (!ok) throw new InvalidInput(`not a CloudWatch alarm event: ${field} must be a string`);
  };
  need(typeof e?.alarmArn === 'string', 'alarmArn');
  need(typeof e?.alarmData?.alarmName === 'string', 'alarmData.alarmName');
  need(typeof e?.alarmData?.state?.value === 'string', 'alarmData.state.value');
  return e as AlarmEvent;
}

/** Control characters and anything past ASCII out: SNS refuses them in a subject. */
function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, ' ').replace(/\s+/g, ' ').trim();
}
