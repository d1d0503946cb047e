import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

/**
 * A fresh directory under the system's temporary directory, removed once the test file is done.
 * `KEEP_TEST_DIRS=1` keeps them, to look at what a failing test wrote.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

afterAll(() => {
  if (process.env.KEEP_TEST_DIRS === '1') return;
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});
