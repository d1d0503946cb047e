import { Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { QUERY_RESULTS_PREFIX } from './report-bucket';

export interface AuditHistoryProps {
  readonly bucket: s3.IBucket;
  /** Encrypt query results with this key. @default S3-managed keys */
  readonly encryptionKey?: kms.IKey;
  /** The first run date partition projection considers. @default 2024-01-01 */
  readonly firstRunDate?: string;
  /** Queries that would scan more than this are cancelled. @default 10 GiB */
  readonly bytesScannedCutoffPerQuery?: number;
}

export const DATASET_TABLE = 'service_last_accessed';
export const CHANGES_TABLE = 'changes';

/** The dataset rows' columns (DESIGN.md "Dataset row"); the JSON SerDe matches names without case. */
const COLUMNS: glue.CfnTable.ColumnProperty[] = [
  { name: 'runid', type: 'string', comment: 'Run id (the execution name)' },
  { name: 'rundate', type: 'string', comment: 'Run date, YYYY-MM-DD' },
  { name: 'accountid', type: 'string' },
  { name: 'granularity', type: 'string', comment: 'SERVICE_LEVEL or ACTION_LEVEL' },
  { name: 'entityarn', type: 'string' },
  { name: 'entitytype', type: 'string', comment: 'user, group, role or policy' },
  { name: 'entityname', type: 'string' },
  { name: 'servicenamespace', type: 'string', comment: 'IAM service prefix, e.g. s3' },
  { name: 'servicename', type: 'string' },
  { name: 'lastauthenticated', type: 'string', comment: 'ISO-8601, null when never used in the tracking window' },
  { name: 'lastauthenticatedentity', type: 'string' },
  { name: 'lastauthenticatedregion', type: 'string' },
  { name: 'totalauthenticatedentities', type: 'int' },
  { name: 'unused', type: 'boolean', comment: 'Not used within the run\'s unusedAfterDays' },
  { name: 'neverused', type: 'boolean', comment: 'lastAuthenticated is null' },
];

/** The changes rows' columns (DESIGN.md "Changes since the previous run"), one row per change. */
const CHANGE_COLUMNS: glue.CfnTable.ColumnProperty[] = [
  { name: 'runid', type: 'string' },
  { name: 'rundate', type: 'string' },
  { name: 'previousrunid', type: 'string', comment: 'The latest COMPLETED run before this one' },
  { name: 'accountid', type: 'string' },
  { name: 'entityarn', type: 'string' },
  { name: 'servicenamespace', type: 'string', comment: 'null for an identity added or removed' },
  { name: 'change', type: 'string', comment: 'added, removed, first-use, newly-unused, granted or revoked' },
  { name: 'lastauthenticated', type: 'string' },
  { name: 'previouslastauthenticated', type: 'string' },
  { name: 'watched', type: 'boolean', comment: 'A first use of a service in the watchServices setting' },
];

/**
 * History you can query: a Glue database and table over the dataset rows, partitioned by run_date and
 * run_id with partition projection (no crawler, no partitions to maintain), and an Athena workgroup
 * that keeps its results, encrypted, under their own prefix of the report bucket.
 */
export class AuditHistory extends Construct {
  readonly database: glue.CfnDatabase;
  readonly table: glue.CfnTable;
  readonly changesTable: glue.CfnTable;
  readonly workGroup: athena.CfnWorkGroup;
  readonly databaseName: string;

  constructor(scope: Construct, id: string, props: AuditHistoryProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // Named after the stack, so two deployments in one account do not collide.
    this.databaseName = stack.stackName.toLowerCase().replace(/[^a-z0-9_]/g, '_');
    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: { name: this.databaseName, description: 'iam-access-audit history: which services each IAM identity used, per run' },
    });
    this.table = this.datasetTable('Table', DATASET_TABLE, 'One row per IAM entity and granted service, per run', COLUMNS, props);
    this.changesTable = this.datasetTable('ChangesTable', CHANGES_TABLE, 'One row per change since the previous complete run, per run', CHANGE_COLUMNS, props);
    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: `${stack.stackName}`,
      description: 'Queries over iam-access-audit history',
      recursiveDeleteOption: true,
      state: 'ENABLED',
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery ?? 10 * 1024 ** 3,
        resultConfiguration: {
          outputLocation: `s3://${props.bucket.bucketName}/${QUERY_RESULTS_PREFIX}`,
          encryptionConfiguration: props.encryptionKey
            ? { encryptionOption: 'SSE_KMS', kmsKey: props.encryptionKey.keyArn }
            : { encryptionOption: 'SSE_S3' },
        },
      },
    });
  }

  /** A JSON-lines table under `datasets/<name>/`, partitioned by run_date and run_id with partition projection. */
  private datasetTable(id: string, name: string, description: string, columns: glue.CfnTable.ColumnProperty[], props: AuditHistoryProps): glue.CfnTable {
    const stack = Stack.of(this);
    const location = `s3://${props.bucket.bucketName}/datasets/${name}/`;
    const table = new glue.CfnTable(this, id, {
      catalogId: stack.account,
      databaseName: this.databaseName,
      tableInput: {
        name,
        description,
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [
          { name: 'run_date', type: 'string' },
          { name: 'run_id', type: 'string' },
        ],
        parameters: {
          classification: 'json',
          'projection.enabled': 'true',
          'projection.run_date.type': 'date',
          'projection.run_date.format': 'yyyy-MM-dd',
          'projection.run_date.range': `${props.firstRunDate ?? '2024-01-01'},NOW`,
          'projection.run_date.interval': '1',
          'projection.run_date.interval.unit': 'DAYS',
          // Run ids are not known in advance: queries name the runs they read.
          'projection.run_id.type': 'injected',
          'storage.location.template': `${location}run_date=\${run_date}/run_id=\${run_id}/`,
        },
        storageDescriptor: {
          location,
          columns,
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe', parameters: { 'case.insensitive': 'TRUE' } },
        },
      },
    });
    table.node.addDependency(this.database);
    return table;
  }
}
