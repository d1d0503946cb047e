import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../lambda/core/metrics';

export interface AuditAlarmsProps {
  readonly stateMachine: sfn.IStateMachine;
  readonly topic: sns.ITopic;
  /** The dimension value Summarize publishes its metrics under (the stack's name). */
  readonly metricsDimension: string;
  /** Alarm when a run fails to report more than this percentage of its entities. @default 5 */
  readonly failureAlarmPercent?: number;
  /** Alarm when no run succeeded for two days (only when a schedule starts runs). @default false */
  readonly expectNightlyRuns?: boolean;
}

/** Tells the topic when a run fails, reports too many failures, or stops happening. */
export class AuditAlarms extends Construct {
  readonly executionFailures: cloudwatch.Alarm;
  readonly entityFailures: cloudwatch.Alarm;
  readonly missedRuns?: cloudwatch.Alarm;

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
    for (const alarm of alarms) {
      alarm.addAlarmAction(new actions.SnsAction(props.topic));
      alarm.addOkAction(new actions.SnsAction(props.topic));
    }
  }
}
