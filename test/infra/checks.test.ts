/**
 * The checks a platform team runs on the synthesized output, run on every test: cdk-nag (AWS Solutions),
 * cfn-lint on the template, asl-validator on the state machine definition, and a golden copy of the
 * definition so any change to the workflow shows up in review.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STACK_NAME } from '../../lib/app';
import { readSynthesizedWorkflow } from '../../local/runner/template';
import { run } from '../helpers/processes';
import { synthStack } from '../helpers/synth';
import { tempDir } from '../helpers/temp';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => { isValid: boolean; errorsText: (sep?: string) => string };

const GOLDEN = join(__dirname, 'golden', 'state-machine.asl.json');

describe('checks on the synthesized app', () => {
  // Synthesis runs every cdk-nag rule; it throws on any finding that is not acknowledged. Bundled: the
  // definition is read as the local runner reads it, with the functions' code.
  const { app, stack } = synthStack({}, { bundled: true });
  const assembly = app.synth();
  const templateFile = join(assembly.directory, `${STACK_NAME}.template.json`);
  const workflow = readSynthesizedWorkflow(assembly.directory, `${STACK_NAME}.template.json`, '123456789012');

  it('passes cdk-nag AWS Solutions, every acknowledgment giving its reason', () => {
    const acknowledged = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ id, reason })));
    expect(acknowledged.length).toBeGreaterThan(10);
    for (const ack of acknowledged) {
      expect(ack.id).toMatch(/^AwsSolutions::AwsSolutions-\w+(\[.+\])?$/);
      expect(ack.reason.length).toBeGreaterThan(40);
    }
    // Findings are acknowledged one by one, never by rule.
    expect(acknowledged.some((a) => a.id === 'AwsSolutions::AwsSolutions-IAM5')).toBe(false);
  });

  it('is checked by cdk-nag, which fails the synth on a finding nobody acknowledged', () => {
    const bad = new App({ outdir: tempDir('nag-') });
    new s3.Bucket(new Stack(bad, 'Bad'), 'Unlogged');
    Validations.of(bad).addPlugins(new AwsSolutionsChecks(bad));
    expect(() => bad.synth()).toThrow(/AwsSolutions-S1/);
  });

  describe('cfn-lint', () => {
    // The template and a copy broken on purpose, in one cfn-lint (its start-up is most of its time); each
    // line it prints begins with the file it is about.
    const broken = join(tempDir('lint-'), 'broken.json');
    let lines: string[];
    beforeAll(async () => {
      const copy = JSON.parse(readFileSync(templateFile, 'utf8'));
      const fn = Object.values(copy.Resources).find((r: any) => r.Type === 'AWS::Lambda::Function') as any;
      fn.Properties.Runtime = 'nodejs0.x';
      writeFileSync(broken, JSON.stringify(copy));
      const result = await run('cfn-lint', ['--format', 'parseable', templateFile, broken]);
      // cfn-lint's exit code is a bit mask: 2 means errors (4 warnings, 8 informational).
      expect(result.code! & 2).toBe(2);
      lines = result.stdout.split('\n').filter((l) => /:E\d+:/.test(l));
    }, 120_000);

    it('passes with no errors', () => {
      expect(lines.filter((l) => l.startsWith(`${templateFile}:`))).toEqual([]);
    });

    it('would report an error in a broken template', () => {
      expect(lines.filter((l) => l.startsWith(`${broken}:`)).join('\n')).toMatch(/:E\d+:.*nodejs0\.x/);
    });
  });

  it('has a state machine definition that asl-validator accepts', () => {
    // asl-validator fills in defaults (QueryLanguage) on what it is given: give it a copy.
    const verdict = aslValidator(structuredClone(workflow.definition));
    expect(verdict.errorsText('\n')).toBe('');
    expect(verdict.isValid).toBe(true);
    expect(aslValidator({ ...structuredClone(workflow.definition), StartAt: 'No such state' }).isValid).toBe(false);
  });

  it('matches the golden copy of the definition (UPDATE_GOLDEN=1 to accept a change)', () => {
    const current = `${JSON.stringify(workflow.definition, null, 2)}\n`;
    // Only a person accepts a change; a missing golden copy fails rather than being written by the test.
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, current);
    expect(existsSync(GOLDEN)).toBe(true);
    expect(current).toBe(readFileSync(GOLDEN, 'utf8'));
  });
});
