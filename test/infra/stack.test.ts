import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { actionsOf, roleStatements, synthStack } from '../helpers/synth';

describe('the stack', () => {
  const { stack, template } = synthStack();
  const statements = roleStatements(template);
  const auditBatchRole = stack.resolve((stack.workflow.auditBatchFunction.role.node.defaultChild as any).logicalId) as string;
  /** The state machine's definition, its references to other resources written REF. */
  const stateMachineDefinition = () => {
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0] as any;
    return JSON.parse(stack.resolve(machine.Properties.DefinitionString)['Fn::Join'][1].map((p: unknown) => (typeof p === 'string' ? p : 'REF')).join(''));
  };

  it('gives exactly one role, AuditBatch\'s, the access-advisor Generate and Get', () => {
    const holders = new Set(
      statements
        .filter(({ statement }) => actionsOf(statement).some((a) => a === 'iam:GenerateServiceLastAccessedDetails' || a === 'iam:GetServiceLastAccessedDetails'))
        .map(({ role }) => role),
    );
    expect([...holders]).toEqual([auditBatchRole]);
    const generate = statements.find(({ statement }) => actionsOf(statement).includes('iam:GenerateServiceLastAccessedDetails'))!.statement;
    expect(JSON.stringify(generate.Resource)).toMatch(/:user\/\*/);
    expect(JSON.stringify(generate.Resource)).toMatch(/:policy\/\*/);
  });

  it('allows no iam:* and no IAM action but listing, the authorization details and the access-advisor reads', () => {
    const allowed = new Set([
      'iam:GetAccountAuthorizationDetails',
      'iam:ListUsers',
      'iam:ListGroups',
      'iam:ListRoles',
      'iam:ListPolicies',
      'iam:GenerateServiceLastAccessedDetails',
      'iam:GetServiceLastAccessedDetails',
    ]);
    for (const { statement } of statements) {
      for (const action of actionsOf(statement)) {
        expect(action).not.toBe('*');
        if (action.toLowerCase().startsWith('iam:')) expect(allowed).toContain(action);
      }
    }
  });

  /** The S3 statements of a function's role, and the keys (after the bucket) each action may touch. */
  function s3Access(fn: { role: { node: { defaultChild?: unknown } } }) {
    const role = stack.resolve((fn.role.node.defaultChild as any).logicalId) as string;
    const s3 = statements.filter((s) => s.role === role && actionsOf(s.statement).some((a) => a.startsWith('s3:')));
    const keysOf = (action: string) =>
      s3
        .filter(({ statement }) => actionsOf(statement).includes(action))
        .flatMap(({ statement }) => [statement.Resource].flat())
        .map((r: unknown) => JSON.stringify(r).match(/"\/([^"]*)"\]/)?.[1] ?? JSON.stringify(r));
    return { actions: [...new Set(s3.flatMap(({ statement }) => actionsOf(statement)))].sort(), keysOf };
  }

  it('lets Plan read of the runs only latest-long-jobs.json and the long-jobs files, of the working files only its own steps\' files, and write only working files', () => {
    const { actions, keysOf } = s3Access(stack.workflow.planFunction);
    expect(keysOf('s3:GetObject').sort()).toEqual(['latest-long-jobs.json', 'runs/*/long-jobs.json', 'work/*/accounts.json', 'work/*/listing-failures/*.txt', 'work/*/listings/*.json']);
    expect(keysOf('s3:PutObject')).toEqual(['work/*']);
    expect(actions).toEqual(['s3:GetObject', 's3:PutObject']);
  });

  it('lets the state machine itself write to the bucket only the error that ended a batch or a listing group', () => {
    const { actions, keysOf } = s3Access(stack.workflow.stateMachine);
    expect(keysOf('s3:PutObject').sort()).toEqual(['work/*/batch-failures/*.txt', 'work/*/listing-failures/*.txt']);
    expect(actions).toEqual(['s3:PutObject']);
  });

  it('lets Propose write only proposals, and read only the working files, the reports, the proposals of runs and latest.json', () => {
    const { actions, keysOf } = s3Access(stack.workflow.proposeFunction);
    expect(keysOf('s3:PutObject')).toEqual(['runs/*/proposals/*']);
    expect(keysOf('s3:GetObject').sort()).toEqual(['latest.json', 'runs/*/proposals/*', 'runs/*/reports/*', 'work/*']);
    expect(actions).toEqual(['s3:GetObject', 's3:ListBucket', 's3:PutObject']);
  });

  it('lets Summarize abort only the multipart uploads of dataset parts', () => {
    const { actions, keysOf } = s3Access(stack.workflow.summarizeFunction);
    expect(keysOf('s3:AbortMultipartUpload')).toEqual(['datasets/*']);
    // Outside the run's own prefixes, it writes only the two pointers.
    expect(keysOf('s3:PutObject').sort()).toEqual(['datasets/*', 'latest-long-jobs.json', 'latest.json', 'runs/*', 'work/*/gathered.json']);
    expect(keysOf('s3:GetObject').sort()).toEqual([
      'latest-long-jobs.json',
      'latest.json',
      'runs/*/long-jobs.json',
      'runs/*/proposals/index.json',
      'runs/*/proposals/templates.json',
      'runs/*/reports/*',
      'runs/*/summary.json',
      'work/*',
    ]);
    expect(actions).toEqual(['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:ListBucket', 's3:PutObject']);
  });

  it('keeps the report bucket private, TLS only, encrypted, versioned and expiring', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Prefix: 'runs/', ExpirationInDays: 730, Status: 'Enabled' }),
          Match.objectLike({ Prefix: 'work/', ExpirationInDays: 14 }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
  });

  it('runs every function on Node.js 24, arm64, traced', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as any[];
    // Plan, AuditBatch, Propose, Summarize, and the alarms' Notify.
    expect(functions).toHaveLength(5);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' } });
    }
  });

  it('starts the state machine nightly with {} from an EventBridge Scheduler schedule', () => {
    const machine = stack.resolve((stack.workflow.stateMachine.node.defaultChild as any).logicalId) as string;
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 3 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      State: 'ENABLED',
      Target: { Arn: { Ref: machine }, Input: '{}' },
    });
  });

  it('bounds the workflow: a timeout, a distributed Map at the configured concurrency, a bounded leftover loop', () => {
    const definition = stateMachineDefinition();
    expect(definition.TimeoutSeconds).toBe(12 * 3600);
    const map = definition.States['Audit batches'];
    expect(map).toMatchObject({ Type: 'Map', MaxConcurrency: 20, ItemsPath: '$.batches', ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' } } });
    expect(map.ItemReader).toBeUndefined();
    const loop = map.ItemProcessor.States['More to audit?'];
    for (const choice of loop.Choices) expect(JSON.stringify(choice)).toContain('{"Variable":"$.attempt","NumericLessThanEqualsPath":"$.batch.maxInvocations"}');
  });

  it('has every Lambda invocation that Lambda refuses for its concurrency quota wait its turn for as long as the execution may run', () => {
    const definition = stateMachineDefinition();
    const lambdaTasks: Array<[string, any]> = [];
    const visit = (states: Record<string, any>) => {
      for (const [name, state] of Object.entries(states)) {
        if (String(state.Resource).endsWith(':states:::lambda:invoke')) lambdaTasks.push([name, state]);
        if (state.ItemProcessor) visit(state.ItemProcessor.States);
        for (const branch of state.Branches ?? []) visit(branch.States);
      }
    };
    visit(definition.States);
    expect(lambdaTasks.map(([name]) => name).sort()).toEqual(['Audit batch', 'Gather the run', 'List accounts', 'Plan the audit', 'Propose least privilege', 'Summarize the incomplete run', 'Summarize the run', 'Write the batches']);
    for (const [name, state] of lambdaTasks) {
      const retriers: any[] = state.Retry;
      const throttled = retriers.findIndex((r) => r.ErrorEquals.includes('Lambda.TooManyRequestsException'));
      const all = retriers.findIndex((r) => r.ErrorEquals.includes('States.ALL'));
      expect({ name, throttled: throttled >= 0, beforeAll: all < 0 || throttled < all }).toEqual({ name, throttled: true, beforeAll: true });
      const r = retriers[throttled];
      expect(r).toMatchObject({ ErrorEquals: ['Lambda.TooManyRequestsException'], JitterStrategy: 'FULL', MaxDelaySeconds: 60 });
      // Full jitter averages half the longest pause: the attempts cover the execution's 12 hours.
      expect(r.MaxAttempts * (r.MaxDelaySeconds / 2)).toBeGreaterThanOrEqual(definition.TimeoutSeconds);
    }
  });
});

describe('settings from cdk.json', () => {
  it('drop the schedule when it is disabled, and pass the rest down', () => {
    const { template } = synthStack({ schedule: { enabled: false }, batchSize: 50, maxConcurrency: 2, iamCallsPerSecond: 8 });
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ BATCH_SIZE: '50', IAM_CALLS_PER_SECOND: '8' }) } });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ IAM_CALLS_PER_SECOND: '8', MAX_ATTEMPTS: '6' }) } });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ MAX_FAILED_PERCENT: '5' }) } });
    // Batches audited at once are the Map's concurrency.
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0] as any;
    expect(JSON.stringify(machine.Properties.DefinitionString)).toContain('\\"MaxConcurrency\\":2');
  });

  it('reserve AuditBatch\'s concurrency when asked, and no function\'s otherwise', () => {
    const reservations = (template: ReturnType<typeof synthStack>['template']) =>
      Object.entries(template.findResources('AWS::Lambda::Function'))
        .filter(([, f]: [string, any]) => f.Properties.ReservedConcurrentExecutions !== undefined)
        .map(([id, f]: [string, any]) => [id.replace(/[0-9A-F]{8}$/, ''), f.Properties.ReservedConcurrentExecutions]);
    expect(reservations(synthStack({ maxConcurrency: 300, auditBatchReservedConcurrency: 40 }).template)).toEqual([['AuditAuditBatchFunction', 40]]);
    expect(reservations(synthStack().template)).toEqual([]);
  });
});

describe('watched services', () => {
  const warnings = (settings: Record<string, unknown>) =>
    Annotations.fromStack(synthStack(settings).stack)
      .findWarning('*', Match.stringLikeRegexp('watchServices'))
      .map((w) => String(w.entry.data));

  it('warn at synth of a prefix the IAM catalogue does not hold, naming it, and of no other', () => {
    const [warning, ...more] = warnings({ watchServices: ['iam', 'organisations', 'kms'] });
    expect(more).toEqual([]);
    expect(warning).toMatch(/^iamAccessAudit\.watchServices\[1\] "organisations" is not a service prefix of the IAM catalogue \(@cloud-copilot\/iam-data \d/);
    expect(warnings({})).toEqual([]);
  });
});

describe('operations', () => {
  const { stack, template } = synthStack();
  const machine = stack.resolve((stack.workflow.stateMachine.node.defaultChild as any).logicalId) as string;
  const topic = stack.resolve((stack.notifications.topic.node.defaultChild as any).logicalId) as string;
  const notify = stack.resolve((stack.alarms.notify.function.node.defaultChild as any).logicalId) as string;
  const notifyArn = { 'Fn::GetAtt': [notify, 'Arn'] };

  it('logs every state machine transition to a log group with retention, and traces with X-Ray', () => {
    const logGroup = stack.resolve((stack.workflow.logGroup.node.defaultChild as any).logicalId) as string;
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false, Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logGroup, 'Arn'] } } }] },
    });
    // Under /aws/vendedlogs/: the account's CloudWatch Logs resource policy (5,120 characters) then covers
    // it by a wildcard, rather than growing by its ARN until a deployment fails.
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/vendedlogs/states/IamAccessAudit-executions' });
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup')) as any[];
    expect(groups).toHaveLength(6);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(90);
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function')) as any[]) {
      expect(fn.Properties.LoggingConfig.LogGroup).toEqual({ Ref: expect.stringMatching(/Logs/) });
    }
  });

  it('alarms to the topic on failed, timed-out or aborted executions', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'failed + timedOut + aborted' }),
        Match.objectLike({ Id: 'failed', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ExecutionsFailed', Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: machine } }] }) }) }),
        Match.objectLike({ Id: 'timedOut', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ExecutionsTimedOut' }) }) }),
        Match.objectLike({ Id: 'aborted', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ExecutionsAborted' }) }) }),
      ]),
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [notifyArn],
      OKActions: [notifyArn],
    });
  });

  it('publishes its alarms through a function that may only publish to the topic: CloudWatch cannot use the topic\'s AWS managed key', () => {
    const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm')) as Array<[string, any]>;
    expect(alarms).toHaveLength(3);
    for (const [, alarm] of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([notifyArn]);
      expect(alarm.Properties.OKActions).toEqual([notifyArn]);
    }
    const fn = template.findResources('AWS::Lambda::Function')[notify] as any;
    expect(fn.Properties.Environment.Variables.TOPIC_ARN).toEqual({ Ref: topic });
    // Its role: publish to the topic, write its own logs, X-Ray's tracing; nothing else.
    const role = fn.Properties.Role['Fn::GetAtt'][0];
    const statements = roleStatements(template).filter((s) => s.role === role).map((s) => s.statement);
    expect(statements.flatMap(actionsOf).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 'sns:Publish', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    expect(JSON.stringify(statements.find((s) => actionsOf(s).includes('logs:PutLogEvents'))!.Resource)).toContain(fn.Properties.LoggingConfig.LogGroup.Ref);
    expect(statements.find((s) => actionsOf(s).includes('sns:Publish'))!.Resource).toEqual({ Ref: topic });
    // Only CloudWatch's alarms of this stack may invoke it, each by its own ARN.
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter((p: any) => JSON.stringify(p.Properties.FunctionName).includes(notify)) as any[];
    expect(permissions).toHaveLength(alarms.length);
    for (const p of permissions) {
      expect(p.Properties.Principal).toBe('lambda.alarms.cloudwatch.amazonaws.com');
      expect(p.Properties.Action).toBe('lambda:InvokeFunction');
      expect(p.Properties.SourceAccount).toEqual({ Ref: 'AWS::AccountId' });
      expect(alarms.map(([id]) => id)).toContain(p.Properties.SourceArn['Fn::GetAtt'][0]);
    }
  });

  it('alarms when a run fails to report more than the configured share, from the metric Summarize publishes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'IamAccessAudit',
      MetricName: 'FailedEntitiesPercent',
      Dimensions: [{ Name: 'Stack', Value: 'IamAccessAudit' }],
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [notifyArn],
    });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ METRICS_DIMENSION: 'IamAccessAudit' }) } });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ExecutionsSucceeded', Threshold: 1, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching' });
  });

  it('has an encrypted, TLS-only topic that the workflow publishes run summaries to', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: 'alias/aws/sns' });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'sns:Publish', Resource: { Ref: topic } })]) },
    });
  });

  it('catalogs the dataset in Glue with projected run_date and run_id partitions, and gives Athena its own result prefix', () => {
    template.hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: 'iamaccessaudit',
      TableInput: Match.objectLike({
        Name: 'service_last_accessed',
        PartitionKeys: [
          { Name: 'run_date', Type: 'string' },
          { Name: 'run_id', Type: 'string' },
        ],
        Parameters: Match.objectLike({
          'projection.enabled': 'true',
          'projection.run_date.type': 'date',
          'projection.run_id.type': 'injected',
          'storage.location.template': Match.objectLike({ 'Fn::Join': ['', Match.arrayWith(['/datasets/service_last_accessed/run_date=${run_date}/run_id=${run_id}/'])] }),
        }),
        StorageDescriptor: Match.objectLike({ SerdeInfo: { SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe', Parameters: { 'case.insensitive': 'TRUE' } } }),
      }),
    });
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        ResultConfiguration: { OutputLocation: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith(['/athena-results/'])] }), EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } },
      }),
    });
  });

  it('outputs the state machine, bucket, topic, workgroup and database', () => {
    for (const output of ['StateMachineArn', 'ReportBucketName', 'TopicArn', 'AthenaWorkGroup', 'GlueDatabase']) template.hasOutput(output, {});
  });
});

describe('the customer managed key option', () => {
  const { stack, template } = synthStack({ customerManagedKey: true, notificationEmail: 'security@example.com' });
  const key = stack.resolve((stack.key!.node.defaultChild as any).logicalId) as string;

  it('encrypts the bucket, topic and query results with one rotated key, and subscribes the e-mail address', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [key, 'Arn'] } }, BucketKeyEnabled: true }] },
    });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] } });
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({ ResultConfiguration: Match.objectLike({ EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: { 'Fn::GetAtt': [key, 'Arn'] } } }) }),
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'security@example.com' });
  });

  it('grants exactly the key actions the functions and the workflow use, the alarms\' function among them, and no service', () => {
    for (const { statement } of roleStatements(template)) {
      const kms = actionsOf(statement).filter((a) => a.startsWith('kms:'));
      if (kms.length > 0) expect(kms.sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    }
    const notifyRole = (Object.entries(template.findResources('AWS::IAM::Role')) as Array<[string, any]>).find(([id]) => id.startsWith('AlarmsNotify'))![0];
    expect(roleStatements(template).filter((s) => s.role === notifyRole).flatMap((s) => actionsOf(s.statement)).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey', 'logs:CreateLogStream', 'logs:PutLogEvents', 'sns:Publish', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    // The alarms publish through the function: CloudWatch itself needs nothing of the key.
    const keyPolicy = JSON.stringify((Object.values(template.findResources('AWS::KMS::Key'))[0] as any).Properties.KeyPolicy);
    expect(keyPolicy).not.toContain('cloudwatch.amazonaws.com');
  });
});
