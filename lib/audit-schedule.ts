import { TimeZone } from 'aws-cdk-lib';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface AuditScheduleProps {
  readonly stateMachine: sfn.IStateMachine;
  /** An EventBridge Scheduler cron expression. @default "cron(0 3 * * ? *)" */
  readonly cron?: string;
  /** IANA time zone of the cron expression. @default "UTC" */
  readonly timeZone?: string;
}

/** Starts the audit on a schedule (nightly by default) with the empty input `{}`. */
export class AuditSchedule extends Construct {
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: AuditScheduleProps) {
    super(scope, id);
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Starts the nightly iam-access-audit run',
      schedule: scheduler.ScheduleExpression.expression(props.cron ?? 'cron(0 3 * * ? *)', TimeZone.of(props.timeZone ?? 'UTC')),
      target: new targets.StepFunctionsStartExecution(props.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject({}),
        retryAttempts: 3,
      }),
    });
  }
}
