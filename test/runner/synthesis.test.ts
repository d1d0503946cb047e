/**
 * The local runner's kept synths: the same sources and settings use the app synthesized before, any
 * change is a synth of its own, a synth that fails leaves nothing behind, and old synths go.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pruneSyntheses, synthContext, synthesisDigest, synthesize, SynthesisError } from '../../local/runner/synthesis';
import { tempDir } from '../helpers/temp';

const ROOT = join(__dirname, '..', '..');

describe('kept synths of the app', () => {
  it('uses the synth kept for the same settings: the same template and bundles, no new synth process', () => {
    const cache = tempDir('synth-cache-');
    const first = synthesize({ maxConcurrency: 7 }, cache);
    expect(first.reused).toBe(false);
    expect(first.peakRssBytes).toBeGreaterThan(0);
    const template = JSON.parse(readFileSync(join(first.directory, first.templateFile), 'utf8')) as { Resources: Record<string, { Type: string }> };
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function').length).toBeGreaterThanOrEqual(4);
    // Nothing of the synthesis process's own is kept: no HOME, no memory record, no staging directory.
    expect(existsSync(join(first.directory, '.home'))).toBe(false);
    expect(readdirSync(cache)).toEqual([first.directory.split('/').pop()]);

    const again = synthesize({ maxConcurrency: 7 }, cache);
    expect(again).toMatchObject({ directory: first.directory, reused: true, peakRssBytes: 0 });
    again.release();
    expect(existsSync(join(first.directory, first.templateFile))).toBe(true);
  }, 120_000);

  it('keeps nothing of a synth that fails, and says why', () => {
    const cache = tempDir('synth-cache-');
    expect(() => synthesize({ maxConcurrency: 0 }, cache)).toThrow(SynthesisError);
    expect(() => synthesize({ maxConcurrency: 0 }, cache)).toThrow(/iamAccessAudit\.maxConcurrency must be a whole number from 1 to 1000, got 0/);
    expect(readdirSync(cache)).toEqual([]);
  }, 120_000);

  it('without a cache, synthesizes afresh into a directory that release removes', () => {
    const own = synthesize({}, null);
    expect(own.reused).toBe(false);
    expect(existsSync(join(own.directory, own.templateFile))).toBe(true);
    own.release();
    expect(existsSync(own.directory)).toBe(false);
  }, 120_000);

  it('names a synth by its settings and by every source file it is made from', () => {
    const context = synthContext({ maxConcurrency: 7 });
    expect(synthesisDigest(context)).toBe(synthesisDigest(synthContext({ maxConcurrency: 7 })));
    expect(synthesisDigest(synthContext({ maxConcurrency: 8 }))).not.toBe(synthesisDigest(context));

    const root = tempDir('synth-sources-');
    for (const source of ['bin', 'lib', 'package-lock.json', 'tsconfig.json']) cpSync(join(ROOT, source), join(root, source), { recursive: true });
    mkdirSync(join(root, 'lambda', 'core'), { recursive: true });
    writeFileSync(join(root, 'lambda', 'core', 'plan.ts'), 'export const a = 1;\n');
    const before = synthesisDigest(context, root);
    expect(synthesisDigest(context, root)).toBe(before);
    writeFileSync(join(root, 'lambda', 'core', 'plan.ts'), 'export const a = 2;\n');
    const edited = synthesisDigest(context, root);
    expect(edited).not.toBe(before);
    writeFileSync(join(root, 'lambda', 'core', 'new-module.ts'), 'export const b = 1;\n');
    expect(synthesisDigest(context, root)).not.toBe(edited);
  });

  it('removes the synths beyond the newest sixteen that nobody used for an hour', () => {
    const cache = tempDir('synth-cache-');
    const now = Date.now();
    const hour = 60 * 60 * 1000;
    // 20 synths used an hour and more ago (the newest first), 3 used a minute ago, and the current one.
    const names: string[] = [];
    for (let i = 0; i < 23; i++) {
      const name = `synth-${String(i).padStart(2, '0')}`;
      names.push(name);
      mkdirSync(join(cache, name));
      const usedAt = new Date(i < 3 ? now - 60_000 : now - hour - (i - 2) * 60_000);
      utimesSync(join(cache, name), usedAt, usedAt);
    }
    mkdirSync(join(cache, 'current'));
    pruneSyntheses(cache, join(cache, 'current'), now);
    // The current one and the newest 15 others stay; of the rest, those unused for an hour go.
    expect(readdirSync(cache).sort()).toEqual(['current', ...names.slice(0, 15)].sort());
  });
});
