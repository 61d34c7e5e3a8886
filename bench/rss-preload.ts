/**
 * Loaded with `node --require` into the CLI run that bench/run.ts measures: at exit it writes
 * the process's peak resident set (getrusage ru_maxrss, via process.resourceUsage) to the
 * file named by SOCKBRIDGE_BENCH_RSS_FILE. Nothing else changes in the measured process.
 */
import * as fs from 'fs';

const out = process.env.SOCKBRIDGE_BENCH_RSS_FILE;
if (out !== undefined && out !== '') {
  process.on('exit', (code) => {
    const r = process.resourceUsage();
    fs.writeFileSync(out, JSON.stringify({ maxRssKiB: r.maxRSS, exitCode: code, pid: process.pid }) + '\n');
  });
}
