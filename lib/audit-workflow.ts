import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { AuditFunction } from './audit-function';
import type { AuditSettings } from './settings';

export interface AuditWorkflowProps {
  readonly bucket: s3.IBucket;
  readonly settings: AuditSettings;
}

/** Time each AuditBatch invocation keeps back from its timeout to write what it found. */
const SAFETY_MARGIN_SECONDS = 45;
const MAX_LEFTOVER_WAIT_SECONDS = 900;

/**
 * The audit: Plan lists the account and writes batches; a Distributed Map audits the batches (each in a
 * bounded AuditBatch / Wait loop); Summarize writes the summary, the dataset rows and latest.json.
 * AuditBatch's role is the only one allowed to generate and read access-advisor reports.
 */
export class AuditWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly planFunction: AuditFunction;
  readonly auditBatchFunction: AuditFunction;
  readonly summarizeFunction: AuditFunction;

  constructor(scope: Construct, id: string, props: AuditWorkflowProps) {
    super(scope, id);
    const { bucket, settings } = props;
    const stack = Stack.of(this);
    const common = { logRetentionDays: settings.logRetentionDays };

    this.planFunction = new AuditFunction(this, 'Plan', {
      ...common,
      handler: 'plan',
      description: 'Lists the IAM entities to audit and writes them in batches',
      timeout: Duration.minutes(5),
      environment: {
        REPORT_BUCKET: bucket.bucketName,
        DEFAULT_GRANULARITY: settings.granularity,
        DEFAULT_ENTITY_TYPES: settings.entityTypes.join(','),
        UNUSED_AFTER_DAYS: String(settings.unusedAfterDays),
        EXCLUDE_PATH_PREFIXES: settings.excludePathPrefixes.join(','),
        BATCH_SIZE: String(settings.batchSize),
        IAM_CALLS_PER_SECOND: String(settings.iamCallsPerSecond),
      },
    });
    const auditTimeoutSeconds = Math.min(900, settings.pollBudgetSeconds + SAFETY_MARGIN_SECONDS + 15);
    this.auditBatchFunction = new AuditFunction(this, 'AuditBatch', {
      ...common,
      handler: 'audit-batch',
      description: 'Generates and reads the access-advisor reports of one batch of IAM entities',
      timeout: Duration.seconds(auditTimeoutSeconds),
      environment: {
        REPORT_BUCKET: bucket.bucketName,
        // The ceiling is shared by the batches that run at once.
        IAM_CALLS_PER_SECOND: String(settings.iamCallsPerSecond / settings.maxConcurrency),
        MAX_ATTEMPTS: String(settings.maxAttempts),
        POLL_BUDGET_SECONDS: String(settings.pollBudgetSeconds),
        SAFETY_MARGIN_SECONDS: String(SAFETY_MARGIN_SECONDS),
        LEFTOVER_WAIT_SECONDS: String(settings.leftoverWaitSeconds),
        MAX_LEFTOVER_WAIT_SECONDS: String(MAX_LEFTOVER_WAIT_SECONDS),
      },
    });
    this.summarizeFunction = new AuditFunction(this, 'Summarize', {
      ...common,
      handler: 'summarize',
      description: 'Writes the run summary, the dataset rows and latest.json',
      timeout: Duration.minutes(5),
      memorySize: 1024,
      environment: { REPORT_BUCKET: bucket.bucketName },
    });

    this.grantStorage(bucket);
    this.planFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListEntities',
        actions: ['iam:ListUsers', 'iam:ListGroups', 'iam:ListRoles', 'iam:ListPolicies'],
        // IAM's List actions take no resource-level permissions.
        resources: ['*'],
      }),
    );
    const entityArn = (type: string) => stack.formatArn({ service: 'iam', region: '', resource: type, resourceName: '*' });
    this.auditBatchFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'GenerateAccessAdvisorReports',
        actions: ['iam:GenerateServiceLastAccessedDetails'],
        resources: ['user', 'group', 'role', 'policy'].map(entityArn),
      }),
    );
    this.auditBatchFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadAccessAdvisorReports',
        actions: ['iam:GetServiceLastAccessedDetails'],
        // Reports are addressed by JobId, not by a resource ARN.
        resources: ['*'],
      }),
    );

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(this.definition(settings, auditTimeoutSeconds)),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: Duration.hours(settings.executionTimeoutHours),
      comment: 'iam-access-audit: which AWS services every IAM identity really uses',
    });
  }

  private definition(settings: AuditSettings, auditTimeoutSeconds: number): sfn.IChainable {
    const failed = (id: string) =>
      new sfn.Fail(this, id, { errorPath: sfn.JsonPath.stringAt('$.error.Error'), causePath: sfn.JsonPath.stringAt('$.error.Cause') });

    const plan = new tasks.LambdaInvoke(this, 'Plan the audit', {
      lambdaFunction: this.planFunction.function,
      payload: sfn.TaskInput.fromObject({
        input: sfn.JsonPath.entirePayload,
        execution: { name: sfn.JsonPath.stringAt('$$.Execution.Name'), startTime: sfn.JsonPath.stringAt('$$.Execution.StartTime') },
      }),
      resultSelector: { 'run.$': '$.Payload.run', 'batches.$': '$.Payload.batches', 'listed.$': '$.Payload.listed' },
      taskTimeout: sfn.Timeout.duration(Duration.minutes(6)),
    });
    // A bad input or configuration will not get better by trying again.
    plan.addRetry({ errors: ['InvalidInput', 'ConfigurationError'], maxAttempts: 0 });
    plan.addRetry({ errors: [sfn.Errors.ALL], maxAttempts: 2, interval: Duration.seconds(10), backoffRate: 2, jitterStrategy: sfn.JitterType.FULL });
    plan.addCatch(failed('Audit could not start'), { resultPath: '$.error' });

    const auditBatch = new tasks.LambdaInvoke(this, 'Audit batch', {
      lambdaFunction: this.auditBatchFunction.function,
      outputPath: '$.Payload',
      taskTimeout: sfn.Timeout.duration(Duration.seconds(auditTimeoutSeconds + 30)),
    });
    // An invocation that dies is retried with the same input; its writes are idempotent.
    auditBatch.addRetry({ errors: [sfn.Errors.ALL], maxAttempts: 2, interval: Duration.seconds(30), backoffRate: 2, jitterStrategy: sfn.JitterType.FULL });
    auditBatch.addCatch(
      new sfn.Pass(this, 'Batch not audited', { parameters: { 'batchId.$': '$.batch.batchId', 'error.$': '$.error.Error' } }),
      { resultPath: '$.error' },
    );
    const waitForLeftovers = new sfn.Wait(this, 'Wait for leftovers', { time: sfn.WaitTime.secondsPath('$.waitSeconds') });
    const leftovers = new sfn.Choice(this, 'Leftovers to audit?')
      .when(
        sfn.Condition.and(sfn.Condition.booleanEquals('$.done', false), sfn.Condition.numberLessThanEquals('$.attempt', settings.maxAttempts)),
        waitForLeftovers.next(auditBatch),
      )
      .otherwise(new sfn.Succeed(this, 'Batch audited', { outputPath: '$.counts' }));

    const auditBatches = new sfn.DistributedMap(this, 'Audit batches', {
      itemsPath: sfn.JsonPath.stringAt('$.batches'),
      itemSelector: { 'run.$': '$.run', 'batch.$': '$$.Map.Item.Value', attempt: 1 },
      maxConcurrency: settings.maxConcurrency,
      toleratedFailurePercentage: settings.toleratedFailurePercentage,
      mapExecutionType: sfn.StateMachineType.STANDARD,
      label: 'AuditBatches',
      resultPath: sfn.JsonPath.DISCARD,
    });
    auditBatches.itemProcessor(auditBatch.next(leftovers));

    const summarizeTask = (id: string, payload: Record<string, unknown>) => {
      const task = new tasks.LambdaInvoke(this, id, {
        lambdaFunction: this.summarizeFunction.function,
        payload: sfn.TaskInput.fromObject(payload),
        resultSelector: { 'summaryKey.$': '$.Payload.summaryKey', 'status.$': '$.Payload.status', 'failedShare.$': '$.Payload.failedShare' },
        resultPath: '$.summary',
        taskTimeout: sfn.Timeout.duration(Duration.minutes(6)),
      });
      task.addRetry({ errors: [sfn.Errors.ALL], maxAttempts: 2, interval: Duration.seconds(10), backoffRate: 2 });
      return task;
    };
    const summarize = summarizeTask('Summarize the run', { run: sfn.JsonPath.objectAt('$.run') });
    const summarizeIncomplete = summarizeTask('Summarize the incomplete run', {
      run: sfn.JsonPath.objectAt('$.run'),
      auditError: sfn.JsonPath.objectAt('$.auditError'),
    });
    auditBatches.addCatch(summarizeIncomplete, { resultPath: '$.auditError' });

    const summaryFailed = failed('Summary could not be written');
    summarize.addCatch(summaryFailed, { resultPath: '$.error' });
    summarizeIncomplete.addCatch(summaryFailed, { resultPath: '$.error' });

    const outcome = new sfn.Choice(this, 'Audit complete?')
      .when(sfn.Condition.stringEquals('$.summary.status', 'COMPLETED'), new sfn.Succeed(this, 'Audit done'))
      .otherwise(new sfn.Fail(this, 'Audit incomplete', { error: 'AuditIncomplete', cause: 'Some batches could not be audited; the run summary lists every entity without a report.' }));
    summarize.next(outcome);
    summarizeIncomplete.next(outcome);

    return plan.next(auditBatches).next(summarize);
  }

  /** Each function may touch only the keys it writes or reads. */
  private grantStorage(bucket: s3.IBucket): void {
    const objects = (...prefixes: string[]) => prefixes.map((p) => bucket.arnForObjects(p));
    const put = (fn: AuditFunction, sid: string, ...prefixes: string[]) =>
      fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid, actions: ['s3:PutObject'], resources: objects(...prefixes) }));
    const get = (fn: AuditFunction, sid: string, ...prefixes: string[]) =>
      fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid, actions: ['s3:GetObject'], resources: objects(...prefixes) }));

    put(this.planFunction, 'WriteBatches', 'work/*');
    get(this.auditBatchFunction, 'ReadBatches', 'work/*');
    put(this.auditBatchFunction, 'WriteReports', 'work/*', 'runs/*');
    get(this.summarizeFunction, 'ReadOutcomes', 'work/*');
    this.summarizeFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListOutcomes',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': ['work/*'] } },
      }),
    );
    put(this.summarizeFunction, 'WriteSummary', 'runs/*', 'datasets/*', 'latest.json');
  }
}
