/**
 * Runs inside the guest: what the kernel looks like from node, and what socket() costs when
 * it goes through request_module(). Prints one JSON object.
 *
 *   node dist/scripts/kernels/guest-probe.js
 *
 * Measured per family: the first call (the one that may load a module), then `repeat` more
 * calls. A family without a module pays a modprobe run on every call; a family whose module
 * loaded pays it once.
 */
import * as fs from 'fs';
import * as os from 'os';
import { native } from '../../lib/native';

interface Timing {
  family: number;
  firstMs: number;
  firstErrno: number;
  repeat: number;
  /** Mean of the repeated calls. */
  meanMs: number;
  errno: number;
}

function time(domain: number, type: number, protocol: number, n: number): { ms: number; errno: number[] } {
  const d = new Int32Array(n).fill(domain);
  const t = new Int32Array(n).fill(type);
  const p = new Int32Array(n).fill(protocol);
  const t0 = process.hrtime.bigint();
  const r = native().probeBatch(d, t, p, { close: 'now' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, errno: [...r.errno] };
}

function main(): void {
  const families = (process.argv[2] ?? '5,15,25,31,38,40,43').split(',').map(Number);
  const repeat = Number(process.argv[3] ?? 20);
  const out: Record<string, unknown> = {
    release: os.release(), uid: process.getuid?.(), cpus: os.cpus().length,
    modprobe: fs.readFileSync('/proc/sys/kernel/modprobe', 'utf8').trim(),
    modulesBefore: fs.readFileSync('/proc/modules', 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')[0]),
  };
  const timings: Timing[] = [];
  // SOCK_DGRAM, protocol 0: accepted by most families that exist.
  for (const f of families) {
    const first = time(f, 2, 0, 1);
    const rep = time(f, 2, 0, repeat);
    timings.push({ family: f, firstMs: first.ms, firstErrno: first.errno[0], repeat, meanMs: rep.ms / repeat, errno: rep.errno[0] });
  }
  const inet = time(2, 2, 0, 200);
  out.timings = timings;
  out.builtinMeanMs = inet.ms / 200;
  out.modulesAfter = fs.readFileSync('/proc/modules', 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')[0]);
  out.protocols = fs.readFileSync('/proc/net/protocols', 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split(/\s+/)[0]);
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
}

main();
