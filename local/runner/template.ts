/**
 * Reads what `cdk synth` wrote: the state machine definition and the functions it invokes, with the
 * CloudFormation references in both resolved to local values.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LocalFunction {
  readonly logicalId: string;
  /** The ARN the definition names it by, made local. */
  readonly arn: string;
  /** The bundled file and the exported handler, from `Handler: index.handler`. */
  readonly entry: string;
  readonly handlerName: string;
  readonly environment: Record<string, string>;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  /** Concurrent executions reserved for it (its most), when the template reserves any. */
  readonly reservedConcurrency?: number;
}

export interface SynthesizedWorkflow {
  readonly definition: Record<string, unknown>;
  readonly stateMachineLogicalId: string;
  readonly functions: ReadonlyMap<string, LocalFunction>;
  /** Functions by the ARN the definition uses. */
  readonly functionsByArn: ReadonlyMap<string, LocalFunction>;
  readonly template: Record<string, any>;
}

export const LOCAL_REGION = 'us-east-1';

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
  readonly Metadata?: Record<string, any>;
}

export function readSynthesizedWorkflow(cdkOut: string, templateFile: string, accountId: string): SynthesizedWorkflow {
  const template = JSON.parse(readFileSync(join(cdkOut, templateFile), 'utf8')) as { Resources: Record<string, Resource> };
  const resources = template.Resources;
  const functionArn = (logicalId: string) => `arn:aws:lambda:${LOCAL_REGION}:${accountId}:function:${logicalId}`;

  const resolve = (value: any): any => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [fn] = keys;
      const arg = value[fn];
      switch (fn) {
        case 'Ref':
          return pseudo(arg, accountId) ?? `local-${String(arg).toLowerCase()}`;
        case 'Fn::GetAtt': {
          const [id, attribute] = arg as [string, string];
          if (resources[id]?.Type === 'AWS::Lambda::Function' && attribute === 'Arn') return functionArn(id);
          return `local-${id.toLowerCase()}-${attribute.toLowerCase()}`;
        }
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, any[]];
          return resolve(parts).join(separator);
        }
        case 'Fn::Sub':
          return String(Array.isArray(arg) ? arg[0] : arg).replace(/\$\{([^}]+)\}/g, (_, name: string) => pseudo(name, accountId) ?? `local-${name.toLowerCase()}`);
        case 'Fn::Select': {
          const [index, list] = arg as [number, any[]];
          return resolve(list)[index];
        }
      }
    }
    return Object.fromEntries(keys.map((k) => [k, resolve(value[k])]));
  };

  const machines = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`expected one state machine in ${templateFile}, found ${machines.length}`);
  const [stateMachineLogicalId, machine] = machines[0];
  const definitionString = resolve(machine.Properties!.DefinitionString) as string;

  const functions = new Map<string, LocalFunction>();
  for (const [logicalId, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const props = r.Properties!;
    const assetDir = r.Metadata?.['aws:asset:path'] ?? `asset.${String(props.Code?.S3Key ?? '').replace(/\.zip$/, '')}`;
    const [file, handlerName] = String(props.Handler).split('.');
    const entry = join(cdkOut, assetDir, `${file}.js`);
    if (!existsSync(entry)) throw new Error(`the bundle of ${logicalId} is not at ${entry}: was the app synthesized with its assets?`);
    functions.set(logicalId, {
      logicalId,
      arn: functionArn(logicalId),
      entry,
      handlerName,
      environment: resolve(props.Environment?.Variables ?? {}),
      timeoutSeconds: props.Timeout ?? 3,
      memorySize: props.MemorySize ?? 128,
      ...(props.ReservedConcurrentExecutions === undefined ? {} : { reservedConcurrency: props.ReservedConcurrentExecutions }),
    });
  }
  return {
    definition: JSON.parse(definitionString),
    stateMachineLogicalId,
    functions,
    functionsByArn: new Map([...functions.values()].map((f) => [f.arn, f])),
    template,
  };
}

function pseudo(name: string, accountId: string): string | undefined {
  switch (name) {
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::Region':
      return LOCAL_REGION;
    case 'AWS::AccountId':
      return accountId;
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::StackName':
      return 'local';
    default:
      return undefined;
  }
}
