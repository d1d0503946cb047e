import { Match } from 'aws-cdk-lib/assertions';
import { actionsOf, roleStatements, synthStack } from '../helpers/synth';

describe('the stack', () => {
  const { stack, template } = synthStack();
  const statements = roleStatements(template);
  const auditBatchRole = stack.resolve((stack.workflow.auditBatchFunction.role.node.defaultChild as any).logicalId) as string;

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

  it('allows no iam:* and no IAM action but listing and the access-advisor reads', () => {
    const allowed = new Set([
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

  it('runs every function on Node.js 22, arm64, traced', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as any[];
    expect(functions).toHaveLength(3);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' } });
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
    const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0] as any;
    const definition = JSON.parse(stack.resolve(machine.Properties.DefinitionString)['Fn::Join'][1].map((p: unknown) => (typeof p === 'string' ? p : 'REF')).join(''));
    expect(definition.TimeoutSeconds).toBe(12 * 3600);
    const map = definition.States['Audit batches'];
    expect(map).toMatchObject({ Type: 'Map', MaxConcurrency: 5, ItemsPath: '$.batches', ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' } } });
    expect(map.ItemReader).toBeUndefined();
    const loop = map.ItemProcessor.States['Leftovers to audit?'];
    expect(loop.Choices[0].And).toContainEqual({ Variable: '$.attempt', NumericLessThanEquals: 6 });
  });
});

describe('settings from cdk.json', () => {
  it('drop the schedule when it is disabled, and pass the rest down', () => {
    const { template } = synthStack({ schedule: { enabled: false }, batchSize: 50, maxConcurrency: 2, iamCallsPerSecond: 8 });
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ BATCH_SIZE: '50', IAM_CALLS_PER_SECOND: '8' }) } });
    // The pipeline's ceiling is shared by the batches that run at once.
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ IAM_CALLS_PER_SECOND: '4', MAX_ATTEMPTS: '6' }) } });
  });
});
