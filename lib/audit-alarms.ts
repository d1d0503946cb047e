import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../lambda/core/metrics';
import { AuditFunction } from './audit-function';

export interface AuditAlarmsProps {
  readonly stateMachine: sfn.IStateMachine;
  readonly topic: sns.ITopic;
  /** The dimension value Summarize publishes its metrics under (the stack's name). */
  readonly metricsDimension: string;
  /** Alarm when a run fails to report more than this percentage of its entities. @default 5 */
  readonly failureAlarmPercent?: number;
  /** Alarm when no run succeeded for two days (only when a schedule starts runs). @default false */
  readonly expectNightlyRuns?: boolean;
  /** How long the notifying function's logs are kept. @default 90 */
  readonly logRetentionDays?: number;
  /** The topic's customer managed key, if it has one. @default the AWS managed key for SNS */
  readonly encryptionKey?: kms.IKey;
}

/**
 * Tells the topic when a run fails, reports too many failures, or stops happening, and when that is
 * over. The alarms invoke a function that publishes for them: CloudWatch itself cannot publish to a
 * topic encrypted with the AWS managed key for SNS (the default here), whose policy admits only the
 * account's own principals, and the notifications would be lost without a word.
 */
export class AuditAlarms extends Construct {
  readonly executionFailures: cloudwatch.Alarm;
  readonly entityFailures: cloudwatch.Alarm;
  readonly missedRuns?: cloudwatch.Alarm;
  readonly notify: AuditFunction;

  constructor(scope: Construct, id: string, props: AuditAlarmsProps) {
    super(scope, id);
    const { stateMachine } = props;
    const period = Duration.minutes(5);
    this.executionFailures = new cloudwatch.Alarm(this, 'ExecutionFailures', {
      alarmDescription: 'An iam-access-audit execution failed, timed out or was aborted',
      metric: new cloudwatch.MathExpression({
        expression: 'failed + timedOut + aborted',
        usingMetrics: {
          failed: stateMachine.metricFailed({ period, statistic: 'Sum' }),
          timedOut: stateMachine.metricTimedOut({ period, statistic: 'Sum' }),
          aborted: stateMachine.metricAborted({ period, statistic: 'Sum' }),
        },
        period,
        label: 'Executions failed, timed out or aborted',
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const percent = props.failureAlarmPercent ?? 5;
    this.entityFailures = new cloudwatch.Alarm(this, 'EntityFailures', {
      alarmDescription: `An iam-access-audit run could not report more than ${percent}% of the entities it listed`,
      metric: new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'FailedEntitiesPercent',
        dimensionsMap: { Stack: props.metricsDimension },
        statistic: 'Maximum',
        period: Duration.hours(1),
      }),
      threshold: percent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const alarms = [this.executionFailures, this.entityFailures];
    if (props.expectNightlyRuns) {
      this.missedRuns = new cloudwatch.Alarm(this, 'MissedRuns', {
        alarmDescription: 'No iam-access-audit run succeeded in two days',
        metric: stateMachine.metricSucceeded({ period: Duration.days(1), statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
      alarms.push(this.missedRuns);
    }
    this.notify = new AuditFunction(this, 'Notify', {
      handler: 'alarm-notify',
      description: "Publishes iam-access-audit's alarms to its topic",
      environment: { TOPIC_ARN: props.topic.topicArn },
      logRetentionDays: props.logRetentionDays,
      memorySize: 128,
      timeout: Duration.seconds(30),
    });
    // Publish to the topic, and (a customer managed key) use the key for it: the actions named exactly.
    this.notify.role.addToPolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [props.topic.topicArn] }));
    props.encryptionKey?.grant(this.notify.role, 'kms:Decrypt', 'kms:GenerateDataKey');
    const action = new actions.LambdaAction(this.notify.function, { useUniquePermissionId: true });
    for (const alarm of alarms) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }
}
