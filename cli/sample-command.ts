/**
 * `iam-access-audit sample`: writes a generated sample account file.
 */
import { generateSampleAccount, loadAccount } from '../local/emulator';
import { asOfFlag } from './account-source';
import { numberFlag, parseFlags, requireFlag } from './flags';
import { writeFileAtomically } from './files';

export const SAMPLE_USAGE = `iam-access-audit sample --entities N [--seed S] [--as-of YYYY-MM-DD] [--out FILE]

  Writes a realistic account file (the emulator's input) to FILE or standard output. The same
  entities, seed and as-of date always give the same bytes; as-of defaults to today (UTC).`;

export function sampleCommand(args: string[], out: NodeJS.WritableStream): void {
  const flags = parseFlags(args, {
    entities: { type: 'string' },
    seed: { type: 'string' },
    'as-of': { type: 'string' },
    out: { type: 'string' },
  });
  const entities = numberFlag('entities', requireFlag('entities', flags.entities), { integer: true, min: 0, max: 1_000_000 })!;
  const file = generateSampleAccount({ entities, seed: flags.seed ?? '1', asOf: asOfFlag(flags['as-of']) });
  loadAccount(file, 'generated sample');
  const text = `${JSON.stringify(file, null, 1)}\n`;
  if (flags.out === undefined) out.write(text);
  else writeFileAtomically(flags.out, text);
}
