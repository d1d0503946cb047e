/**
 * The README's Athena queries are Trino SQL (Athena's engine v3): each block is checked against a Trino
 * grammar. There is no Athena here, so their tables, columns and functions are not checked, only their
 * syntax.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../helpers/processes';

const ROOT = join(__dirname, '..', '..');

interface Checked {
  readonly statements: ReadonlyArray<{ readonly text: string; readonly errors: readonly string[] }>;
  readonly errors: readonly string[];
}

describe("the README's SQL", () => {
  const blocks = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]);
  const wrong = "SELECT entityname FROM service_last_accessed WHERE run_id = 'X' GROUP entityname;";
  let checked: Checked[];

  // One process checks them all: loading the grammar takes a second or two.
  beforeAll(async () => {
    const result = await run(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'test', 'helpers', 'trino-sql.ts')], {}, JSON.stringify([...blocks, wrong]));
    if (result.code !== 0) throw new Error(`the SQL checker failed: ${result.stderr}`);
    checked = JSON.parse(result.stdout) as Checked[];
  }, 60_000);

  it('parses as Trino SQL, every statement of every block', () => {
    // The changes query, and the four of "History with Athena".
    expect(blocks).toHaveLength(2);
    expect(checked.slice(0, 2).map((c) => c.statements.length)).toEqual([1, 4]);
    for (const c of checked.slice(0, 2)) {
      expect(c.errors).toEqual([]);
      for (const s of c.statements) expect({ statement: s.text, errors: s.errors }).toEqual({ statement: s.text, errors: [] });
    }
  });

  it('would say where a statement is wrong', () => {
    expect(checked[2].errors).toEqual(["line 1, column 71: missing 'BY' at 'entityname'"]);
  });
});
