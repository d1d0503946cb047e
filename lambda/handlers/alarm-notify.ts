import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { alarmMessage } from '../core/alarm-message';
import { requiredEnv } from '../core/environment';

const topicArn = requiredEnv('TOPIC_ARN');
const sns = new SNSClient({});

/** A CloudWatch alarm's action: the alarm's message, published to the topic. */
export async function handler(event: unknown): Promise<void> {
  const { subject, message } = alarmMessage(event);
  await sns.send(new PublishCommand({ TopicArn: topicArn, Subject: subject, Message: message }));
}
