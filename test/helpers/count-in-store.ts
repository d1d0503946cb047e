/**
 * Run in a process of its own by the store tests: adds one to a counter in a directory store, `times`
 * times, each with a conditional write over the version it read (read again and try again when it lost),
 * as two runs moving `latest-long-jobs.json` do. Starts once all `processes` are ready (each leaves a
 * file in `barrier`), so that they run side by side however slowly they started. Prints how many of its
 * writes lost.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { DirectoryReportStore } from '../../lambda/core/store';

const KEY = 'counter.json';

async function main(): Promise<void> {
  const [location, times, barrier, processes] = process.argv.slice(2);
  const store = new DirectoryReportStore(location);
  writeFileSync(join(barrier, String(process.pid)), '');
  while (readdirSync(barrier).length < Number(processes)) await delay(5);
  let lost = 0;
  for (let i = 0; i < Number(times); i++) {
    for (;;) {
      const seen = await store.getTagged(KEY);
      const count = seen === null ? 0 : (JSON.parse(seen.text) as { count: number }).count;
      if (await store.putIfUnchanged(KEY, JSON.stringify({ count: count + 1 }), seen?.tag ?? null)) break;
      lost++;
    }
  }
  process.stdout.write(`${lost}\n`);
}

void main();
