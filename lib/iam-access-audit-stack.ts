import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { AuditSchedule } from './audit-schedule';
import { AuditWorkflow } from './audit-workflow';
import { ReportBucket } from './report-bucket';
import type { AuditSettings } from './settings';

export interface IamAccessAuditStackProps extends StackProps {
  readonly settings: AuditSettings;
}

/** Connects the report bucket, the audit workflow and its schedule. */
export class IamAccessAuditStack extends Stack {
  readonly reports: ReportBucket;
  readonly workflow: AuditWorkflow;
  readonly schedule?: AuditSchedule;

  constructor(scope: Construct, id: string, props: IamAccessAuditStackProps) {
    super(scope, id, props);
    const { settings } = props;
    this.reports = new ReportBucket(this, 'Reports', { retentionDays: settings.reportRetentionDays });
    this.workflow = new AuditWorkflow(this, 'Audit', { bucket: this.reports.bucket, settings });
    if (settings.schedule.enabled) {
      this.schedule = new AuditSchedule(this, 'Nightly', {
        stateMachine: this.workflow.stateMachine,
        cron: settings.schedule.cron,
        timeZone: settings.schedule.timeZone,
      });
    }
    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn, description: 'Start a manual run here' });
    new CfnOutput(this, 'ReportBucketName', { value: this.reports.bucket.bucketName, description: 'Reports, summaries and datasets' });
  }
}
