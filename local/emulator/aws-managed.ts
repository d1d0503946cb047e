/**
 * AWS managed policies the sample accounts attach, abridged to the statements that matter to an audit
 * (their actions, resources and the NotAction of PowerUserAccess). They are sample data for the
 * emulator, not a copy of AWS's current documents: AWS updates its managed policies, and a real account's
 * documents come from GetAccountAuthorizationDetails.
 */
import type { PolicyDocument } from '../../lambda/core/policy';

const doc = (...statements: PolicyDocument['Statement'][]): PolicyDocument => ({ Version: '2012-10-17', Statement: statements.flat() });
const allow = (Action: string | string[], Resource: string | string[] = '*') => ({ Effect: 'Allow' as const, Action, Resource });

export const SAMPLE_AWS_MANAGED_POLICIES: Readonly<Record<string, PolicyDocument>> = {
  'arn:aws:iam::aws:policy/AdministratorAccess': doc(allow('*')),
  'arn:aws:iam::aws:policy/PowerUserAccess': doc(
    { Effect: 'Allow', NotAction: ['iam:*', 'organizations:*', 'account:*'], Resource: '*' },
    allow(['iam:CreateServiceLinkedRole', 'iam:DeleteServiceLinkedRole', 'iam:ListRoles', 'organizations:DescribeOrganization', 'account:ListRegions', 'account:GetAccountInformation']),
  ),
  'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess': doc(allow(['s3:Get*', 's3:List*', 's3:Describe*', 's3-object-lambda:Get*', 's3-object-lambda:List*'])),
  'arn:aws:iam::aws:policy/AmazonS3FullAccess': doc(allow(['s3:*', 's3-object-lambda:*'])),
  'arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess': doc(
    allow(['ec2:Describe*', 'ec2:GetSecurityGroupsForVpc', 'elasticloadbalancing:Describe*', 'cloudwatch:ListMetrics', 'cloudwatch:GetMetricStatistics', 'cloudwatch:Describe*', 'autoscaling:Describe*']),
  ),
  'arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess': doc(
    allow(['dynamodb:*', 'dax:*', 'application-autoscaling:DescribeScalableTargets', 'application-autoscaling:RegisterScalableTarget', 'cloudwatch:GetMetricStatistics', 'cloudwatch:PutMetricAlarm', 'sns:ListTopics', 'kms:ListAliases', 'iam:GetRole']),
  ),
  'arn:aws:iam::aws:policy/AmazonSQSFullAccess': doc(allow('sqs:*')),
  'arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess': doc(
    allow(['cloudwatch:Describe*', 'cloudwatch:Get*', 'cloudwatch:List*', 'logs:Get*', 'logs:List*', 'logs:StartQuery', 'logs:StopQuery', 'logs:Describe*', 'logs:FilterLogEvents', 'sns:Get*', 'sns:List*']),
  ),
  'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole': doc(allow(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'])),
  'arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess': doc(allow(['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets', 'xray:GetSamplingStatisticSummaries'])),
  'arn:aws:iam::aws:policy/SecurityAudit': doc(
    allow(['access-analyzer:Get*', 'access-analyzer:List*', 'cloudtrail:Describe*', 'cloudtrail:Get*', 'cloudtrail:List*', 'config:Describe*', 'config:Get*', 'guardduty:Get*', 'guardduty:List*', 'iam:Get*', 'iam:List*', 'kms:Describe*', 'kms:List*', 's3:GetBucket*', 's3:ListAllMyBuckets', 'securityhub:Get*', 'securityhub:List*']),
  ),
};
