// Preloaded into the synthesis process by the local runner: records the process's peak memory at exit.
const { writeFileSync } = require('node:fs');

process.on('exit', () => {
  if (process.env.REPORT_PEAK_RSS_FILE) writeFileSync(process.env.REPORT_PEAK_RSS_FILE, String(process.resourceUsage().maxRSS));
});
