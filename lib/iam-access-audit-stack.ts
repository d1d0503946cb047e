import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { AuditAlarms } from './audit-alarms';
import { AuditHistory, CHANGES_TABLE, DATASET_TABLE } from './audit-history';
import { AuditNotifications } from './audit-notifications';
import { AuditSchedule } from './audit-schedule';
import { AuditWorkflow } from './audit-workflow';
import { ReportBucket } from './report-bucket';
import type { AuditSettings } from './settings';

export interface IamAccessAuditStackProps extends StackProps {
  readonly settings: AuditSettings;
}

/** Connects the report bucket, the audit workflow, its schedule, notifications, alarms and history. */
export class IamAccessAuditStack extends Stack {
  readonly key?: kms.Key;
  readonly reports: ReportBucket;
  readonly notifications: AuditNotifications;
  readonly workflow: AuditWorkflow;
  readonly schedule?: AuditSchedule;
  readonly alarms: AuditAlarms;
  readonly history: AuditHistory;

  constructor(scope: Construct, id: string, props: IamAccessAuditStackProps) {
    super(scope, id, props);
    const { settings } = props;
    if (settings.customerManagedKey) {
      this.key = new kms.Key(this, 'Key', {
        description: 'Encrypts iam-access-audit reports, notifications and query results',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }
    this.reports = new ReportBucket(this, 'Reports', {
      retentionDays: settings.reportRetentionDays,
      encryptionKey: this.key,
      accessLogs: settings.accessLogs,
    });
    this.notifications = new AuditNotifications(this, 'Notifications', {
      email: settings.notificationEmail ?? undefined,
      encryptionKey: this.key,
    });
    this.workflow = new AuditWorkflow(this, 'Audit', {
      bucket: this.reports.bucket,
      settings,
      topic: this.notifications.topic,
      encryptionKey: this.key,
    });
    if (settings.schedule.enabled) {
      this.schedule = new AuditSchedule(this, 'Nightly', {
        stateMachine: this.workflow.stateMachine,
        cron: settings.schedule.cron,
        timeZone: settings.schedule.timeZone,
      });
    }
    this.alarms = new AuditAlarms(this, 'Alarms', {
      stateMachine: this.workflow.stateMachine,
      topic: this.notifications.topic,
      metricsDimension: this.stackName,
      failureAlarmPercent: settings.failureAlarmPercent,
      expectNightlyRuns: settings.schedule.enabled,
    });
    if (this.key) {
      // CloudWatch alarms publish to the encrypted topic.
      this.key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
    }
    this.history = new AuditHistory(this, 'History', { bucket: this.reports.bucket, encryptionKey: this.key });

    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn, description: 'Start a manual run here' });
    new CfnOutput(this, 'ReportBucketName', { value: this.reports.bucket.bucketName, description: 'Reports, summaries and datasets' });
    new CfnOutput(this, 'TopicArn', { value: this.notifications.topic.topicArn, description: 'Alarms and run summaries' });
    new CfnOutput(this, 'AthenaWorkGroup', { value: this.history.workGroup.name, description: 'Athena workgroup for the history' });
    new CfnOutput(this, 'GlueDatabase', { value: this.history.databaseName, description: `Glue database of the ${DATASET_TABLE} and ${CHANGES_TABLE} tables` });
  }
}
