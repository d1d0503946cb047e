import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from './nag';

export interface ReportBucketProps {
  /** Reports, summaries and dataset rows are deleted this many days after they are written. @default 730 */
  readonly retentionDays?: number;
  /** Working files (batches, leftovers, outcomes) are deleted after this many days. @default 14 */
  readonly workRetentionDays?: number;
  /** Athena query results are deleted after this many days. @default 30 */
  readonly queryResultRetentionDays?: number;
  /** Overwritten or deleted versions are kept this many days. @default 30 */
  readonly noncurrentVersionDays?: number;
  /** Encrypt with this customer managed key instead of S3-managed keys. @default S3-managed keys */
  readonly encryptionKey?: kms.IKey;
  /** Keep S3 server access logs in a bucket of their own, for 365 days. @default true */
  readonly accessLogs?: boolean;
}

/** Prefix of Athena's query results in the report bucket. */
export const QUERY_RESULTS_PREFIX = 'athena-results/';

/**
 * The bucket that holds every run's reports, summary and dataset: private, TLS only, encrypted,
 * versioned, logged, and kept for a bounded time. It is retained when the stack is deleted: it is
 * audit history.
 */
export class ReportBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogsBucket?: s3.Bucket;

  constructor(scope: Construct, id: string, props: ReportBucketProps = {}) {
    super(scope, id);
    const retention = Duration.days(props.retentionDays ?? 730);
    if (props.accessLogs ?? true) {
      // S3 delivers access logs only to buckets encrypted with S3-managed keys.
      this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        encryption: s3.BucketEncryption.S3_MANAGED,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removalPolicy: RemovalPolicy.RETAIN,
        lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      });
    }
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: props.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: props.encryptionKey ? true : undefined,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: this.accessLogsBucket ? 'reports/' : undefined,
      lifecycleRules: [
        { id: 'expire-runs', prefix: 'runs/', expiration: retention },
        { id: 'expire-datasets', prefix: 'datasets/', expiration: retention },
        { id: 'expire-work', prefix: 'work/', expiration: Duration.days(props.workRetentionDays ?? 14) },
        { id: 'expire-query-results', prefix: QUERY_RESULTS_PREFIX, expiration: Duration.days(props.queryResultRetentionDays ?? 30) },
        {
          id: 'expire-old-versions',
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays ?? 30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
          expiredObjectDeleteMarker: true,
        },
      ],
    });
    if (!this.accessLogsBucket) {
      acknowledge(this.bucket, { finding: 'AwsSolutions-S1', reason: 'Server access logging is turned off in cdk.json (iamAccessAudit.accessLogs: false).' });
    }
  }
}
