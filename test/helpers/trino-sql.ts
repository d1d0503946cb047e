/**
 * Checks SQL against a Trino grammar (Athena's engine v3 is Trino), with dt-sql-parser: reads a JSON
 * array of SQL texts on standard input (statements ended by semicolons) and prints, for each, the
 * statements found with the grammar's errors, and the errors of the text as a whole. Run with tsx, not
 * in jest: the parser ships ES modules whose imports name directories, which esbuild resolves and
 * jest's module loader does not.
 */
import { readFileSync } from 'node:fs';
import { TrinoSQL } from 'dt-sql-parser';

const parser = new TrinoSQL();
const errorsOf = (sql: string): string[] => parser.validate(sql).map((e) => `line ${e.startLine}, column ${e.startColumn}: ${e.message}`);
const texts = JSON.parse(readFileSync(0, 'utf8')) as string[];
const checked = texts.map((sql) => ({
  statements: (parser.splitSQLByStatement(sql) ?? []).map((s) => ({ text: s.text, errors: errorsOf(s.text) })),
  // The text as a whole, too: a fault the splitter stepped over still shows.
  errors: errorsOf(sql),
}));
process.stdout.write(`${JSON.stringify(checked)}\n`);
