import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface ReportBucketProps {
  /** Reports, summaries and dataset rows are deleted this many days after they are written. @default 730 */
  readonly retentionDays?: number;
  /** Working files (batches, leftovers, outcomes) are deleted after this many days. @default 14 */
  readonly workRetentionDays?: number;
  /** Overwritten or deleted versions are kept this many days. @default 30 */
  readonly noncurrentVersionDays?: number;
}

/**
 * The bucket that holds every run's reports, summary and dataset: private, TLS only, encrypted,
 * versioned, and kept for a bounded time. It is retained when the stack is deleted: it is audit history.
 */
export class ReportBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ReportBucketProps = {}) {
    super(scope, id);
    const retention = Duration.days(props.retentionDays ?? 730);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'expire-runs', prefix: 'runs/', expiration: retention },
        { id: 'expire-datasets', prefix: 'datasets/', expiration: retention },
        { id: 'expire-work', prefix: 'work/', expiration: Duration.days(props.workRetentionDays ?? 14) },
        {
          id: 'expire-old-versions',
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays ?? 30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
          expiredObjectDeleteMarker: true,
        },
      ],
    });
  }
}
