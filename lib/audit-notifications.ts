import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface AuditNotificationsProps {
  /** Subscribe this e-mail address. @default no subscription */
  readonly email?: string;
  /** Encrypt messages with this key. @default the AWS managed key for SNS */
  readonly encryptionKey?: kms.IKey;
}

/** The topic that receives alarms and each run's summary: TLS only and encrypted at rest. */
export class AuditNotifications extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: AuditNotificationsProps = {}) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'iam-access-audit',
      enforceSSL: true,
      masterKey: props.encryptionKey ?? undefined,
    });
    if (!props.encryptionKey) {
      // The AWS managed key: encrypted at rest without a key to manage.
      (this.topic.node.defaultChild as sns.CfnTopic).kmsMasterKeyId = 'alias/aws/sns';
    }
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }
}
