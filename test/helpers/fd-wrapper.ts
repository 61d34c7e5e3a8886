/**
 * Run the CLI's main() in this process and check the process's own fd table around it.
 *
 *   node dist/test/helpers/fd-wrapper.js RESULT.json COMMAND [ARGS...]
 *
 * Lists /proc/self/fd (with each link's target) once the CLI module is loaded, runs
 * main(argv) with the real stdout/stderr, lists again when it resolves - also when it ends
 * by SIGINT/SIGTERM, which the sweep turns into exit 130/143 - and writes
 * {code, before, after, leaked, lost} to RESULT.json. The exit code is main()'s.
 * A kernel closing fds at process exit would hide a leak; this looks before exit.
 */
import * as fs from 'fs';
import { spawn } from 'child_process';
import { main } from '../../lib/cli/main';

type FdTable = Record<string, string>;

/** fd -> link target; the directory stream's own fd is gone by the time it is read back. */
function fdTable(): FdTable {
  const out: FdTable = {};
  for (const n of fs.readdirSync('/proc/self/fd')) {
    try {
      out[n] = fs.readlinkSync(`/proc/self/fd/${n}`);
    } catch {
      // The readdir stream's fd, closed once readdirSync returned.
    }
  }
  return out;
}

async function run(): Promise<void> {
  const [resultFile, ...argv] = process.argv.slice(2);
  if (resultFile === undefined) {
    process.stderr.write('usage: fd-wrapper RESULT.json COMMAND [ARGS...]\n');
    process.exitCode = 2;
    return;
  }
  // Node keeps one /dev/null fd open for good after its first child process (measured: one
  // fd, however many children follow). Start one child first so that fd is in "before".
  await new Promise<void>((resolve) => {
    spawn(process.execPath, ['-e', ''], { stdio: ['ignore', 'pipe', 'pipe'] }).on('close', () => resolve());
  });
  const before = fdTable();
  let code: number;
  let error: string | null = null;
  try {
    code = await main(argv);
  } catch (e) {
    code = 70;
    error = e instanceof Error ? e.stack ?? e.message : String(e);
  }
  const after = fdTable();
  const leaked = Object.keys(after).filter((k) => before[k] !== after[k]).map((k) => `${k} -> ${after[k]}`);
  const lost = Object.keys(before).filter((k) => !(k in after)).map((k) => `${k} -> ${before[k]}`);
  fs.writeFileSync(resultFile, JSON.stringify({ code, before, after, leaked, lost, error }));
  process.exitCode = code;
}

void run();
