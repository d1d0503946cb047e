import { Duration, RemovalPolicy, Stack, type CfnElement } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { DEFAULTS } from '../lambda/core/defaults';
import { keys } from '../lambda/core/model';
import { AuditFunction } from './audit-function';
import { acknowledgeGenerateReports, generateReportsStatement, hubRoleNames, listEntitiesStatement, readAuthorizationStatement, readReportsStatement } from './audit-permissions';
import { acknowledge, nagRef } from './nag';
import type { AuditSettings } from './settings';

export interface AuditWorkflowProps {
  readonly bucket: s3.IBucket;
  readonly settings: AuditSettings;
  /** Receives each run's summary, and the error of a run that fails. */
  readonly topic: sns.ITopic;
  /** The key the bucket and topic are encrypted with, when it is a customer managed key. @default none */
  readonly encryptionKey?: kms.IKey;
}

const SAFETY_MARGIN_SECONDS = DEFAULTS.safetyMarginSeconds;

/**
 * Plan's listing invocations at once, each listing its group of 20 accounts (lambda/core/plan.ts), 10 of
 * them at a time: up to 100 accounts are being listed at any moment, each throttled by IAM on its own.
 */
const LISTINGS_AT_ONCE = 10;

/** Longest pause between two tries of an invocation Lambda refused for its concurrency quota. */
const LAMBDA_THROTTLE_MAX_DELAY_SECONDS = 60;

interface LambdaRetries {
  /** The first pause before trying again after a failure. */
  readonly interval: Duration;
  readonly jitter?: boolean;
  /** Errors that trying again will not mend: the task fails at once. */
  readonly notRetried?: readonly string[];
}

/**
 * The retriers of every Lambda task, in the order they are matched: the errors not worth retrying, then
 * Lambda's refusals, then any other error twice more.
 *
 * Lambda refuses an invocation beyond the account's concurrency quota before running it (new accounts
 * may have as few as 10 concurrent executions, and other workloads share them), and Step Functions
 * reports that as Lambda.TooManyRequestsException. Nothing ran, so trying again is safe: the invocation
 * waits its turn with jittered back-off for as long as the execution may run (the pauses average half
 * the longest one), rather than failing its batch after a minute or two.
 */
function retryLambda(task: tasks.LambdaInvoke, executionTimeoutHours: number, retries: LambdaRetries): void {
  if (retries.notRetried) task.addRetry({ errors: [...retries.notRetried], maxAttempts: 0 });
  task.addRetry({
    errors: ['Lambda.TooManyRequestsException'],
    interval: Duration.seconds(5),
    backoffRate: 2,
    maxDelay: Duration.seconds(LAMBDA_THROTTLE_MAX_DELAY_SECONDS),
    jitterStrategy: sfn.JitterType.FULL,
    maxAttempts: Math.ceil((executionTimeoutHours * 3600) / (LAMBDA_THROTTLE_MAX_DELAY_SECONDS / 2)),
  });
  task.addRetry({ errors: [sfn.Errors.ALL], maxAttempts: 2, interval: retries.interval, backoffRate: 2, ...(retries.jitter ? { jitterStrategy: sfn.JitterType.FULL } : {}) });
}

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
  readonly proposeFunction: AuditFunction;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AuditWorkflowProps) {
    super(scope, id);
    const { bucket, settings, topic } = props;
    const stack = Stack.of(this);
    // The settings the functions' environments are made from, named if one makes an environment too large.
    const environmentSettings = { ACCOUNTS: 'accounts', EXEMPTIONS: 'exemptions', EXCLUDE_PATH_PREFIXES: 'excludePathPrefixes', WATCH_SERVICES: 'watchServices', DEFAULT_ENTITY_TYPES: 'entityTypes' };
    const common = { logRetentionDays: settings.logRetentionDays, environmentSettings };
    const accounts = settings.accounts;
    const crossAccount = accounts.source !== 'self';
    // Member roles in other accounts trust the hub's Plan and AuditBatch roles by ARN: those need fixed names.
    const roleNames = crossAccount ? hubRoleNames(stack.stackName) : undefined;
    const accountsEnvironment: Record<string, string> = crossAccount ? { ACCOUNTS: JSON.stringify(accounts) } : {};

    this.planFunction = new AuditFunction(this, 'Plan', {
      ...common,
      handler: 'plan',
      description: 'Lists the IAM entities to audit and writes them in batches',
      wildcardReason: crossAccount
        ? 'Organizations ListAccounts, ListAccountsForParent and ListOrganizationalUnitsForParent take no resource-level permissions.'
        : 'iam:ListUsers, ListGroups, ListRoles, ListPolicies and GetAccountAuthorizationDetails take no resource-level permissions.',
      // Lambda's longest: a listing invocation lists up to 20 accounts, 10 at a time, and reads each one's
      // authorization details, whose pages may take seconds in AWS and seconds of this small function's CPU.
      timeout: Duration.minutes(15),
      roleName: roleNames?.plan,
      environment: {
        ...accountsEnvironment,
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
      wildcardReason: crossAccount ? undefined : 'iam:GetServiceLastAccessedDetails reads a report by JobId and takes no resource-level permissions.',
      timeout: Duration.seconds(auditTimeoutSeconds),
      roleName: roleNames?.auditBatch,
      reservedConcurrentExecutions: settings.auditBatchReservedConcurrency ?? undefined,
      environment: {
        ...accountsEnvironment,
        REPORT_BUCKET: bucket.bucketName,
        // The pipeline's ceiling: each invocation takes the share its Map's concurrency leaves it.
        IAM_CALLS_PER_SECOND: String(settings.iamCallsPerSecond),
        MAX_ATTEMPTS: String(settings.maxAttempts),
        POLL_BUDGET_SECONDS: String(settings.pollBudgetSeconds),
        SAFETY_MARGIN_SECONDS: String(SAFETY_MARGIN_SECONDS),
        LEFTOVER_WAIT_SECONDS: String(settings.leftoverWaitSeconds),
        MAX_LEFTOVER_WAIT_SECONDS: String(DEFAULTS.maxLeftoverWaitSeconds),
      },
    });
    this.proposeFunction = new AuditFunction(this, 'Propose', {
      ...common,
      handler: 'propose',
      description: 'Writes least-privilege proposals for every policy that grants something unused, each proven never broader',
      timeout: Duration.minutes(10),
      memorySize: 1536,
      withCatalog: true,
      environment: { REPORT_BUCKET: bucket.bucketName, EXEMPTIONS: JSON.stringify(settings.exemptions) },
    });
    this.summarizeFunction = new AuditFunction(this, 'Summarize', {
      ...common,
      handler: 'summarize',
      description: 'Writes the run summary, the dataset rows, the changes since the previous run, the HTML report and latest.json',
      // As long as Propose: its gather reads the same reports, on less CPU (Lambda's share grows with memory).
      timeout: Duration.minutes(10),
      memorySize: 1024,
      withChartJs: true,
      environment: {
        REPORT_BUCKET: bucket.bucketName,
        METRICS_DIMENSION: stack.stackName,
        MAX_FAILED_PERCENT: String(settings.maxFailedPercent),
        WATCH_SERVICES: settings.watchServices.join(','),
      },
    });

    this.grantStorage(bucket);
    if (props.encryptionKey) {
      // Reading and writing SSE-KMS objects: no more than these two actions, named exactly.
      for (const fn of [this.planFunction, this.auditBatchFunction, this.proposeFunction, this.summarizeFunction]) props.encryptionKey.grant(fn.role, 'kms:Decrypt', 'kms:GenerateDataKey');
    }
    if (accounts.source === 'self') {
      // IAM in this account, with the functions' own credentials.
      this.planFunction.role.addToPrincipalPolicy(listEntitiesStatement());
      this.planFunction.role.addToPrincipalPolicy(readAuthorizationStatement());
      this.auditBatchFunction.role.addToPrincipalPolicy(generateReportsStatement(this));
      this.auditBatchFunction.role.addToPrincipalPolicy(readReportsStatement());
      acknowledgeGenerateReports(this.auditBatchFunction.role);
    } else {
      // IAM in every audited account only through its member role, and nothing else across accounts.
      const memberRoles = stack.formatArn({ service: 'iam', region: '', account: '*', resource: 'role', resourceName: accounts.memberRoleName });
      for (const fn of [this.planFunction, this.auditBatchFunction]) {
        fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'EnterMemberAccounts', actions: ['sts:AssumeRole'], resources: [memberRoles] }));
        acknowledge(fn.role, {
          finding: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${accounts.memberRoleName}]`,
          reason: 'The audit enters every account it audits through that account\'s member role, which has this one name in each; the accounts are found at run time.',
        });
      }
      if (accounts.source === 'organization') {
        this.planFunction.role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            sid: 'ListOrganizationAccounts',
            actions: ['organizations:ListAccounts', 'organizations:ListAccountsForParent', 'organizations:ListOrganizationalUnitsForParent'],
            resources: ['*'],
          }),
        );
      }
    }

    this.logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      // Step Functions adds the log group to the account's CloudWatch Logs resource policy, which holds
      // 5,120 characters; in an account with many logging state machines the deployment then fails,
      // unless the name starts with /aws/vendedlogs/, which the policy covers by a wildcard.
      logGroupName: `/aws/vendedlogs/states/${stack.stackName}-executions`,
      retention: settings.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(this.definition(settings, auditTimeoutSeconds, topic, bucket)),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: Duration.hours(settings.executionTimeoutHours),
      comment: 'iam-access-audit: which AWS services every IAM identity really uses',
      tracingEnabled: true,
      // Every state transition, without the data: entity lists stay in S3, not in the logs.
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    // Publishing to the encrypted topic.
    if (props.encryptionKey) props.encryptionKey.grant(this.stateMachine, 'kms:Decrypt', 'kms:GenerateDataKey');
    this.acknowledgeFindings(bucket);
  }

  /** The wildcards that remain are scoped as far as IAM allows; each is acknowledged with its reason. */
  private acknowledgeFindings(bucket: s3.IBucket): void {
    const bucketArn = nagRef(bucket.node.defaultChild!);
    const prefix = (p: string) => `AwsSolutions-IAM5[Resource::${bucketArn}/${p}]`;
    const perRun = 'Keys under this prefix are named per run, batch and entity at run time; the function may touch no other prefix.';
    acknowledge(
      this.planFunction.role,
      { finding: prefix('work/*'), reason: `Plan writes the run's batches. ${perRun}` },
      { finding: prefix('runs/*/long-jobs.json'), reason: "Plan reads the latest run's long jobs (one small file) to generate them first; the run id is known only at run time." },
      { finding: prefix('work/*/accounts.json'), reason: `Plan's later steps read the accounts its first step wrote, one file per run. ${perRun}` },
      { finding: prefix('work/*/listings/*.json'), reason: `Plan's batches step reads each account's listing. ${perRun}` },
      { finding: prefix('work/*/listing-failures/*.txt'), reason: `Plan's batches step reads the error that ended a listing group, if one did. ${perRun}` },
    );
    acknowledge(
      this.auditBatchFunction.role,
      { finding: prefix('work/*'), reason: `AuditBatch reads batches and writes leftovers and outcomes. ${perRun}` },
      { finding: prefix('runs/*'), reason: `AuditBatch writes one report per entity. ${perRun}` },
    );
    acknowledge(
      this.summarizeFunction.role,
      { finding: prefix('work/*'), reason: `Summarize reads every batch's outcomes. ${perRun}` },
      { finding: prefix('runs/*'), reason: `Summarize writes the run summary. ${perRun}` },
      { finding: prefix('datasets/*'), reason: `Summarize writes the run's dataset partition. ${perRun}` },
      {
        finding: prefix('runs/*/reports/*'),
        reason: `Summarize reads each reported entity's report for the dataset rows and removes reports the run does not count, and reads the previous complete run's reports for the changes. ${perRun}`,
      },
      { finding: prefix('runs/*/summary.json'), reason: 'Summarize reads the summaries of the previous complete run (changes) and of the last 30 runs (the report\'s trend); run ids are found at run time.' },
      { finding: prefix('runs/*/proposals/index.json'), reason: 'Summarize reads the run\'s proposal index for the summary and the HTML report; the run id is known only at run time.' },
      { finding: prefix('runs/*/proposals/templates.json'), reason: 'Summarize reads the run\'s template proposals for the HTML report; the run id is known only at run time.' },
      { finding: prefix('work/*/gathered.json'), reason: `Summarize keeps what it gathered beside Propose for its finish, in one file per run. ${perRun}` },
      { finding: prefix('runs/*/long-jobs.json'), reason: 'Summarize reads the latest long jobs (one small file), to carry forward what the run did not measure; the run id is known only at run time.' },
    );
    acknowledge(
      this.proposeFunction.role,
      { finding: prefix('work/*'), reason: `Propose reads the run's plan, batches and authorization details. ${perRun}` },
      { finding: prefix('runs/*/reports/*'), reason: `Propose reads the reports the proposals are made from. ${perRun}` },
      { finding: prefix('runs/*/proposals/*'), reason: `Propose writes one file per proposal, their index and the template proposals, and reads back the document of each template the accounts agree on. ${perRun}` },
    );
    const role = this.stateMachine.role;
    acknowledge(
      role,
      { finding: prefix('work/*/batch-failures/*.txt'), reason: `The workflow writes the error that ended a batch, one file per run and batch. ${perRun}` },
      { finding: prefix('work/*/listing-failures/*.txt'), reason: `The workflow writes the error that ended a listing group, one file per run and group. ${perRun}` },
      {
        finding: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray tracing and CloudWatch Logs vended log delivery (CreateLogDelivery and friends) take no resource-level permissions.',
      },
      ...[this.planFunction, this.auditBatchFunction, this.proposeFunction, this.summarizeFunction].map((fn) => ({
        finding: `AwsSolutions-IAM5[Resource::${nagRef(fn.function.node.defaultChild!)}:*]`,
        reason: 'LambdaInvoke grants the function and its versions; the workflow invokes only this function.',
      })),
    );
    const machine = JSON.stringify({ 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: Stack.of(this).getLogicalId(this.stateMachine.node.defaultChild as CfnElement) }] }] });
    const executions = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${machine}`;
    const childExecutions = 'The Distributed Map starts, describes and stops its own child executions, whose names are made at run time.';
    acknowledge(
      this.stateMachine,
      { finding: `AwsSolutions-IAM5[Resource::${executions}:*]`, reason: childExecutions },
      { finding: `AwsSolutions-IAM5[Resource::${executions}/AuditBatches:*]`, reason: childExecutions },
    );
  }

  private definition(settings: AuditSettings, auditTimeoutSeconds: number, topic: sns.ITopic, bucket: s3.IBucket): sfn.IChainable {
    // A failed run tells the topic why, then fails with the error it met.
    const notifyFailure = new tasks.SnsPublish(this, 'Notify the failure', {
      topic,
      subject: 'iam-access-audit run failed',
      message: sfn.TaskInput.fromJsonPathAt(sfn.JsonPath.format('iam-access-audit run {} failed: {}: {}', sfn.JsonPath.stringAt('$$.Execution.Name'), sfn.JsonPath.stringAt('$.error.Error'), sfn.JsonPath.stringAt('$.error.Cause'))),
      resultPath: sfn.JsonPath.DISCARD,
    });
    const auditFailed = new sfn.Fail(this, 'Audit failed', { errorPath: sfn.JsonPath.stringAt('$.error.Error'), causePath: sfn.JsonPath.stringAt('$.error.Cause') });
    notifyFailure.addCatch(auditFailed, { resultPath: '$.notifyError' });
    notifyFailure.next(auditFailed);

    // Plan in three steps (lambda/core/plan.ts): the accounts, each group of them listed side by side by
    // its own invocation, then the batches. No one invocation holds a whole organization.
    const planTask = (id: string, payload: Record<string, unknown>, props: Partial<tasks.LambdaInvokeProps>) => {
      const task = new tasks.LambdaInvoke(this, id, {
        lambdaFunction: this.planFunction.function,
        payload: sfn.TaskInput.fromObject(payload),
        taskTimeout: sfn.Timeout.duration(Duration.minutes(16)),
        ...props,
      });
      // A bad input or configuration will not get better by trying again.
      retryLambda(task, settings.executionTimeoutHours, { interval: Duration.seconds(10), jitter: true, notRetried: ['InvalidInput', 'ConfigurationError'] });
      return task;
    };
    const plan = planTask(
      'Plan the audit',
      { phase: 'start', input: sfn.JsonPath.entirePayload, execution: { name: sfn.JsonPath.stringAt('$$.Execution.Name'), startTime: sfn.JsonPath.stringAt('$$.Execution.StartTime') } },
      { resultSelector: { 'run.$': '$.Payload.run', 'listings.$': '$.Payload.listings' } },
    );
    plan.addCatch(notifyFailure, { resultPath: '$.error' });

    // Each group's output is its number alone: the Map gathers them all, and a state holds 256 KiB.
    const listGroup = planTask(
      'List accounts',
      { phase: 'list', run: sfn.JsonPath.objectAt('$.run'), group: sfn.JsonPath.numberAt('$.group'), accountIds: sfn.JsonPath.listAt('$.accountIds') },
      { resultPath: sfn.JsonPath.DISCARD, outputPath: '$.group' },
    );
    // A group whose listing cannot be made fails its accounts alone: the workflow writes down the error
    // for the batches step to name, as it does for a batch.
    const recordListingFailure = this.recordFailure(
      'Record why the listing failed',
      bucket,
      sfn.JsonPath.format(keys.listingFailure('{}', '{}'), sfn.JsonPath.stringAt('$.run.runId'), sfn.JsonPath.stringAt('$.group')),
      keys.listingFailure('*', '*'),
    );
    const groupNotListed = new sfn.Pass(this, 'Accounts not listed', { parameters: { 'group.$': '$.group', 'error.$': '$.error.Error' } });
    recordListingFailure.addCatch(groupNotListed, { resultPath: '$.recordError' });
    listGroup.addCatch(recordListingFailure.next(groupNotListed), { resultPath: '$.error' });
    const listAccounts = new sfn.Map(this, 'List the accounts', {
      itemsPath: sfn.JsonPath.stringAt('$.listings'),
      itemSelector: { 'run.$': '$.run', 'group.$': '$$.Map.Item.Index', 'accountIds.$': '$$.Map.Item.Value' },
      maxConcurrency: LISTINGS_AT_ONCE,
      resultPath: sfn.JsonPath.DISCARD,
    });
    listAccounts.itemProcessor(listGroup);
    listAccounts.addCatch(notifyFailure, { resultPath: '$.error' });

    const writeBatches = planTask('Write the batches', { phase: 'batches', run: sfn.JsonPath.objectAt('$.run') }, {
      resultSelector: { 'run.$': '$.Payload.run', 'batches.$': '$.Payload.batches', 'listed.$': '$.Payload.listed' },
    });
    writeBatches.addCatch(notifyFailure, { resultPath: '$.error' });

    // A batch is audited by a chain of invocations: the next starts at once while entities remain to
    // start, after a Wait (back-off) while only slow jobs remain; the chain is bounded by the batch's
    // maxInvocations (set by its first invocation) and by the execution's timeout.
    const auditBatch = new tasks.LambdaInvoke(this, 'Audit batch', {
      lambdaFunction: this.auditBatchFunction.function,
      outputPath: '$.Payload',
      taskTimeout: sfn.Timeout.duration(Duration.seconds(auditTimeoutSeconds + 30)),
    });
    // An invocation that dies is retried with the same input; its writes are idempotent.
    retryLambda(auditBatch, settings.executionTimeoutHours, { interval: Duration.seconds(30), jitter: true });
    // A batch that cannot go on is left to Summarize, which fails each entity no invocation settled: those
    // failures count against maxFailedPercent like any other, so the run's status tells the truth. The
    // workflow itself writes down the error for Summarize to name (no Lambda: Lambda may be what failed);
    // the batch ends the same way if even that cannot be written.
    const batchNotAudited = new sfn.Pass(this, 'Batch not audited', { parameters: { 'batchId.$': '$.batch.batchId', 'error.$': '$.error.Error' } });
    const recordBatchFailure = this.recordFailure(
      'Record why the batch failed',
      bucket,
      sfn.JsonPath.format(keys.batchFailure('{}', '{}'), sfn.JsonPath.stringAt('$.run.runId'), sfn.JsonPath.stringAt('$.batch.batchId')),
      keys.batchFailure('*', '*'),
    );
    recordBatchFailure.addCatch(batchNotAudited, { resultPath: '$.recordError' });
    auditBatch.addCatch(recordBatchFailure.next(batchNotAudited), { resultPath: '$.error' });
    const moreToAudit = sfn.Condition.and(
      sfn.Condition.booleanEquals('$.done', false),
      sfn.Condition.numberLessThanEqualsJsonPath('$.attempt', '$.batch.maxInvocations'),
    );
    const waitForSlowJobs = new sfn.Wait(this, 'Wait for slow jobs', { time: sfn.WaitTime.secondsPath('$.waitSeconds') });
    const next = new sfn.Choice(this, 'More to audit?')
      .when(sfn.Condition.and(moreToAudit, sfn.Condition.numberEquals('$.waitSeconds', 0)), auditBatch)
      .when(moreToAudit, waitForSlowJobs.next(auditBatch))
      .otherwise(new sfn.Succeed(this, 'Batch audited', { outputPath: '$.batch.batchId' }));

    // The items are the batches' ids, and each child's output is its id: the Map's input and the results
    // it gathers are then some 9 bytes a batch against the state's 256 KiB (the batch's file says the rest).
    const auditBatches = new sfn.DistributedMap(this, 'Audit batches', {
      itemsPath: sfn.JsonPath.stringAt('$.batches'),
      itemSelector: { 'run.$': '$.run', batch: { 'batchId.$': '$$.Map.Item.Value' }, attempt: 1 },
      maxConcurrency: settings.maxConcurrency,
      mapExecutionType: sfn.StateMachineType.STANDARD,
      label: 'AuditBatches',
      resultPath: sfn.JsonPath.DISCARD,
    });
    auditBatches.itemProcessor(auditBatch.next(next));

    const summarizeTask = (id: string, payload: Record<string, unknown>) => {
      const task = new tasks.LambdaInvoke(this, id, {
        lambdaFunction: this.summarizeFunction.function,
        payload: sfn.TaskInput.fromObject(payload),
        resultSelector: {
          'summaryKey.$': '$.Payload.summaryKey',
          'location.$': '$.Payload.location',
          'status.$': '$.Payload.status',
          'reason.$': '$.Payload.reason',
          'listed.$': '$.Payload.listed',
          'reported.$': '$.Payload.reported',
          'skipped.$': '$.Payload.skipped',
          'failed.$': '$.Payload.failed',
          'failedShare.$': '$.Payload.failedShare',
          'watched.$': '$.Payload.watched',
          'reportKey.$': '$.Payload.reportKey',
        },
        resultPath: '$.summary',
        taskTimeout: sfn.Timeout.duration(Duration.minutes(11)),
      });
      retryLambda(task, settings.executionTimeoutHours, { interval: Duration.seconds(10) });
      return task;
    };
    const summarize = summarizeTask('Summarize the run', { run: sfn.JsonPath.objectAt('$.run'), phase: 'finish' });
    const summarizeIncomplete = summarizeTask('Summarize the incomplete run', {
      run: sfn.JsonPath.objectAt('$.run'),
      auditError: sfn.JsonPath.objectAt('$.auditError'),
    });
    auditBatches.addCatch(summarizeIncomplete, { resultPath: '$.auditError' });

    // Proposals come from the reports and the authorization details Plan kept; without them the audit still stands.
    const proposeTask = new tasks.LambdaInvoke(this, 'Propose least privilege', {
      lambdaFunction: this.proposeFunction.function,
      payload: sfn.TaskInput.fromObject({ run: sfn.JsonPath.objectAt('$.run') }),
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(Duration.minutes(11)),
    });
    retryLambda(proposeTask, settings.executionTimeoutHours, { interval: Duration.seconds(10) });
    proposeTask.addCatch(new sfn.Pass(this, 'Proposals not made'), { resultPath: '$.proposeError' });

    // Summarize reads every report for the dataset rows, the changes and the HTML report's data while
    // Propose reads them for the proposals; its finish then adds the proposals and writes the summary.
    const gather = new tasks.LambdaInvoke(this, 'Gather the run', {
      lambdaFunction: this.summarizeFunction.function,
      payload: sfn.TaskInput.fromObject({ run: sfn.JsonPath.objectAt('$.run'), phase: 'gather' }),
      resultPath: sfn.JsonPath.DISCARD,
      taskTimeout: sfn.Timeout.duration(Duration.minutes(11)),
    });
    retryLambda(gather, settings.executionTimeoutHours, { interval: Duration.seconds(10) });
    const proposeAndGather = new sfn.Parallel(this, 'Propose and gather', { resultPath: sfn.JsonPath.DISCARD });
    proposeAndGather.branch(proposeTask);
    proposeAndGather.branch(gather);
    proposeAndGather.addCatch(notifyFailure, { resultPath: '$.error' });

    summarize.addCatch(notifyFailure, { resultPath: '$.error' });
    summarizeIncomplete.addCatch(notifyFailure, { resultPath: '$.error' });

    const notifySummary = new tasks.SnsPublish(this, 'Notify the run summary', {
      topic,
      subject: 'iam-access-audit run summary',
      message: sfn.TaskInput.fromJsonPathAt(
        sfn.JsonPath.format(
          'iam-access-audit run {} {} ({}): {} listed, {} reported, {} skipped, {} failed.{} Summary: {}/{} Report: {}/{}',
          sfn.JsonPath.stringAt('$.run.runId'),
          sfn.JsonPath.stringAt('$.summary.status'),
          sfn.JsonPath.stringAt('$.summary.reason'),
          sfn.JsonPath.stringAt('$.summary.listed'),
          sfn.JsonPath.stringAt('$.summary.reported'),
          sfn.JsonPath.stringAt('$.summary.skipped'),
          sfn.JsonPath.stringAt('$.summary.failed'),
          sfn.JsonPath.stringAt('$.summary.watched'),
          sfn.JsonPath.stringAt('$.summary.location'),
          sfn.JsonPath.stringAt('$.summary.summaryKey'),
          sfn.JsonPath.stringAt('$.summary.location'),
          sfn.JsonPath.stringAt('$.summary.reportKey'),
        ),
      ),
      resultPath: sfn.JsonPath.DISCARD,
    });
    const outcome = new sfn.Choice(this, 'Audit complete?')
      .when(sfn.Condition.stringEquals('$.summary.status', 'COMPLETED'), new sfn.Succeed(this, 'Audit done', { outputPath: '$.summary' }))
      .otherwise(new sfn.Fail(this, 'Audit incomplete', { error: 'AuditIncomplete', causePath: sfn.JsonPath.stringAt('$.summary.reason') }));
    // A notification that cannot be sent does not undo the audit.
    notifySummary.addCatch(outcome, { resultPath: '$.notifyError' });
    summarize.next(notifySummary);
    summarizeIncomplete.next(notifySummary);
    notifySummary.next(outcome);

    return plan.next(listAccounts).next(writeBatches).next(auditBatches).next(proposeAndGather).next(summarize);
  }

  /**
   * The workflow's own S3 PutObject of the error that ended a batch or a listing group, as text, to the
   * key the `key` expression makes: no Lambda, since Lambda may be what failed.
   */
  private recordFailure(id: string, bucket: s3.IBucket, key: string, keyPattern: string): tasks.CallAwsService {
    const record = new tasks.CallAwsService(this, id, {
      service: 's3',
      action: 'putObject',
      parameters: {
        Bucket: bucket.bucketName,
        Key: key,
        // Text, not JSON: the error's name cannot hold ': ', and a Cause is text of its own.
        Body: sfn.JsonPath.format('{}: {}', sfn.JsonPath.stringAt('$.error.Error'), sfn.JsonPath.stringAt('$.error.Cause')),
        ContentType: 'text/plain',
      },
      iamResources: [bucket.arnForObjects(keyPattern)],
      iamAction: 's3:PutObject',
      resultPath: sfn.JsonPath.DISCARD,
    });
    record.addRetry({ errors: [sfn.Errors.ALL], maxAttempts: 2, interval: Duration.seconds(5), backoffRate: 2 });
    return record;
  }

  /** Each function may touch only the keys it writes or reads. */
  private grantStorage(bucket: s3.IBucket): void {
    const objects = (...prefixes: string[]) => prefixes.map((p) => bucket.arnForObjects(p));
    const put = (fn: AuditFunction, sid: string, ...prefixes: string[]) =>
      fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid, actions: ['s3:PutObject'], resources: objects(...prefixes) }));
    const get = (fn: AuditFunction, sid: string, ...prefixes: string[]) =>
      fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid, actions: ['s3:GetObject'], resources: objects(...prefixes) }));

    put(this.planFunction, 'WriteBatches', 'work/*');
    // Its later steps read what the earlier ones wrote: the accounts, their listings, a listing group's error.
    get(this.planFunction, 'ReadPlanSteps', keys.accounts('*'), keys.listing('*', '*'), keys.listingFailure('*', '*'));
    // The latest run's long jobs, generated first.
    get(this.planFunction, 'ReadLongJobs', keys.latestLongJobs(), 'runs/*/long-jobs.json');
    get(this.auditBatchFunction, 'ReadBatches', 'work/*');
    put(this.auditBatchFunction, 'WriteReports', 'work/*', 'runs/*');
    get(this.summarizeFunction, 'ReadOutcomes', 'work/*');
    this.summarizeFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListOutcomes',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        // The run's own outcomes and reports, a previous run's reports (for the changes) and the dataset's partitions (for the trend).
        conditions: { StringLike: { 's3:prefix': ['work/*', 'runs/*/reports/*', 'datasets/service_last_accessed/*'] } },
      }),
    );
    put(this.summarizeFunction, 'WriteSummary', 'runs/*', 'datasets/*', 'latest.json', keys.latestLongJobs(), 'work/*/gathered.json');
    // A batch's dataset part goes as a multipart upload; one that fails is aborted, leaving nothing.
    this.summarizeFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'AbortDatasetUploads', actions: ['s3:AbortMultipartUpload'], resources: objects('datasets/*') }),
    );
    // Its own proposals too: one read back for each template the accounts agree on, for its document; and
    // latest.json, which names the run before, whose proposals it continues (runs in a row).
    get(this.proposeFunction, 'ReadRunFiles', 'work/*', 'runs/*/reports/*', 'runs/*/proposals/*', 'latest.json');
    put(this.proposeFunction, 'WriteProposals', 'runs/*/proposals/*');
    this.proposeFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ListReports', actions: ['s3:ListBucket'], resources: [bucket.bucketArn], conditions: { StringLike: { 's3:prefix': ['runs/*/reports/*'] } } }),
    );
    // Reports of this run and the previous complete one; the summaries of earlier runs (changes, trend); the run's proposal index and template proposals; the latest long jobs, carried forward.
    get(this.summarizeFunction, 'ReadRuns', 'runs/*/reports/*', 'runs/*/summary.json', 'runs/*/proposals/index.json', 'runs/*/proposals/templates.json', 'latest.json', keys.latestLongJobs(), 'runs/*/long-jobs.json');
    // Reconciling: a report of an entity the run does not count as reported is removed.
    this.summarizeFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'RemoveUncountedReports', actions: ['s3:DeleteObject'], resources: objects('runs/*/reports/*') }),
    );
  }
}
