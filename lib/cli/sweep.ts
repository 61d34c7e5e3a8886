/**
 * sweep: a matrix of calls down both roads, in one or more variants, with reports.
 */
import { exitForCounts } from './exit';
import * as fs from 'fs';
import type { HostProfile, SocketCase, Verdict } from '../types';
import { parseArgs, helpText, flag, opt, intOpt, choiceOpt, UsageError, type OptionSpec, type Parsed } from './args';
import { EnvironmentError, requireProcfs, type Io } from './main';
import { defaultMatrix, matrixCases, matrixSize, parseAxis, type Matrix } from '../sweep/matrix';
import { fuzzCases } from '../sweep/fuzz';
import { runSweep, type SweepOptions } from '../sweep/run';
import { addPlainMatch, addVerdict, newTally, wantsExample, type VariantTally } from '../sweep/tally';
import { serializeTally, deserializeTally } from '../sweep/tally-json';
import { JsonlCaseWriter, type ByteSink } from '../sweep/jsonl';
import { VARIANTS, VARIANT_GROUPS, variantByName, spawnWorker, setNetnsSysctls, type VariantSpec, type Worker } from '../sweep/variants';
import {
  jsonlCounters, jsonlHeader, jsonlHost, jsonlProfile, jsonlSummary, junitReport,
  textSummary, textTotals, textVerdict, bold, dim, red, green, yellow, type TextStyle,
} from '../sweep/report';
import type { Screen } from '../sweep/report-text';
import { htmlReport } from '../sweep/report-html';
import { gatherHostProfile } from '../host';
import { native } from '../native';
import { DEFAULT_CLOSE_THREADS } from '../probe';
import { listOpenFds } from '../bridge/fdtable';
import type { KernelTrace } from '../ktrace';
import * as path from 'path';
import { POLICY_OPTS, policyProfile } from './policy';
import { compilePolicies, installFilters, withFilters } from '../host/seccomp';
import { variantPolicy } from '../sweep/variants';

const FORMATS = ['text', 'jsonl', 'junit', 'html'] as const;
type Format = typeof FORMATS[number];

const OPTS: Record<string, OptionSpec> = {
  domains: { value: true, arg: 'LIST', help: 'families: names or numbers, ranges like 0-49 (default 0 .. AF_MAX+3)' },
  types: { value: true, arg: 'LIST', help: 'base types: names or numbers (default 0-15)' },
  flags: { value: true, arg: 'LIST', help: 'flag sets: none, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_CLOEXEC|SOCK_NONBLOCK, invalid (default all five)' },
  protocols: { value: true, arg: 'LIST', help: 'protocols: 0, IPPROTO_*, NETLINK_*, htons(ETH_P_ALL), numbers (default: all those plus -1, 263, 65542)' },
  random: { value: true, arg: 'N', help: 'instead of the matrix, N seeded random cases (int32 extremes included)' },
  seed: { value: true, arg: 'S', help: 'seed for --random (default 1)' },
  variants: { value: true, arg: 'LIST', help: `who and where: ${VARIANTS.map((v) => v.name).join(', ')}, rlimit=N, seccomp:FILE, restrict-af:LIST, all (default: every variant not marked opt-in that this host can run), or the group ${Object.keys(VARIANT_GROUPS).join(', ')}` },
  'list-variants': { value: false, help: 'list the variants, one line each (default or opt-in, whether this host can run it), and exit' },
  format: { value: true, arg: 'FMT', help: 'text (default), jsonl, junit or html' },
  out: { value: true, arg: 'FILE', help: 'write the report to FILE instead of standard output' },
  batch: { value: true, arg: 'N', help: 'cases per crossing into the kernel road (default 2048)' },
  'close-threads': { value: true, arg: 'N', help: 'threads closing a batch\'s sockets at once (default 128: AF_PACKET closes each wait for an RCU grace period, and closes waiting together share one)' },
  'no-overlap': { value: false, help: 'one thing at a time: each batch\'s calls on the thread that compares, each variant\'s worker started when the one before is done (slower; the report is the same)' },
  'kernel-trace': { value: false, help: 'record the kernel\'s tracepoints (sys_enter/exit_socket, cap_capable) and line each call\'s path up with the model (root; slower)' },
  progress: { value: false, help: 'show a progress line even when standard error is not a terminal' },
  'no-progress': { value: false, help: 'never show the progress line' },
  grid: { value: false, help: 'text: a family x type grid per variant and every case that does not agree (the long report)' },
  color: { value: false, help: 'colour the text output even when it is not a terminal' },
  'no-color': { value: false, help: 'never colour the output' },
  help: { value: false, help: 'show this help' },
  emulator: { value: true, arg: 'NAME', help: 'run the kernel road under a syscall emulator (qemu-aarch64, qemu-mips64el, qemu-i386) and report its departures from Linux (exit 5 when there are any)' },
  route: { value: true, arg: 'R', help: 'with --emulator qemu-i386: enter by socket (359, default) or socketcall (102)' },
  'no-control': { value: false, help: 'with --emulator: skip the native control run on this kernel' },
  worker: { value: true, arg: 'VARIANT', help: '(internal) run as a variant\'s child process' },
  'emit-cases': { value: false, help: '(internal) with --worker: stream every case' },
  'wait-go': { value: false, help: '(internal) with --worker: wait for "go" on standard input before reading the host' },
  examples: { value: false, help: '(internal) with --worker: keep one traced example per distinct outcome per cell (html)' },
  ...POLICY_OPTS,
};

export interface Plan {
  matrixText: string;
  cases: () => Iterable<SocketCase>;
  count: number;
  batch: number;
  closeThreads: number;
}

export function buildPlan(p: Parsed): Plan {
  const random = intOpt(p, 'random', 1, 10_000_000);
  const seed = intOpt(p, 'seed', -2147483648, 2147483647);
  const batch = intOpt(p, 'batch', 1, 65536) ?? 2048;
  const closeThreads = intOpt(p, 'close-threads', 1, 256) ?? DEFAULT_CLOSE_THREADS;
  const axes = ['domains', 'types', 'flags', 'protocols'].filter((a) => p.options.has(a));
  if (random !== undefined && axes.length) throw new UsageError(`--random draws its own cases; it cannot go with --${axes[0]}`);
  if (seed !== undefined && random === undefined) throw new UsageError('--seed goes with --random N');
  if (random !== undefined) {
    const s = seed ?? 1;
    return { matrixText: `${random} random cases, seed ${s}`, cases: () => fuzzCases(random, s), count: random, batch, closeThreads };
  }
  const m: Matrix = defaultMatrix();
  if (opt(p, 'domains') !== undefined) m.domains = parseAxis(opt(p, 'domains')!, 'domains');
  if (opt(p, 'types') !== undefined) m.types = parseAxis(opt(p, 'types')!, 'types');
  if (opt(p, 'flags') !== undefined) m.flags = parseAxis(opt(p, 'flags')!, 'flags');
  if (opt(p, 'protocols') !== undefined) m.protocols = parseAxis(opt(p, 'protocols')!, 'protocols');
  const size = matrixSize(m);
  if (size > 50_000_000) throw new UsageError(`the matrix holds ${size} cases; at most 50,000,000 (narrow an axis)`);
  return {
    matrixText: `${m.domains.length} domains x ${m.types.length} types x ${m.flags.length} flag sets x ${m.protocols.length} protocols`,
    cases: () => matrixCases(m),
    count: size,
    batch,
    closeThreads,
  };
}

/** The argv a worker needs to rebuild the same plan. */
function planArgs(p: Parsed): string[] {
  const out: string[] = [];
  for (const k of ['domains', 'types', 'flags', 'protocols', 'random', 'seed', 'batch', 'close-threads', 'seccomp-caps', 'seccomp-in-force']) {
    const v = opt(p, k);
    if (v !== undefined) out.push(`--${k}=${v}`);
  }
  if (flag(p, 'kernel-trace')) out.push('--kernel-trace');
  if (flag(p, 'no-overlap')) out.push('--no-overlap');
  return out;
}

function chooseVariants(p: Parsed): { run: VariantSpec[]; skipped: string[] } {
  // --seccomp FILE and --restrict-address-families LIST are the variants seccomp:FILE and
  // restrict-af:LIST (alone, or after those --variants names).
  const extra = [
    ...(p.options.get('seccomp') ?? []).map((f) => `seccomp:${path.resolve(f)}`),
    ...(opt(p, 'restrict-address-families') !== undefined ? [`restrict-af:${opt(p, 'restrict-address-families')!.trim().replace(/\s+/g, '+')}`] : []),
  ];
  const chosen = extra.length === 0 ? chooseNamedVariants(p) : opt(p, 'variants') === undefined ? { run: [], skipped: [] } : chooseNamedVariants(p);
  for (const n of extra) {
    if (chosen.run.some((v) => v.name === n)) continue;
    const v = variantByName(n)!;
    const why = v.unavailable();
    if (why) throw new EnvironmentError(`variant "${n}" cannot run here: ${why}`);
    chosen.run.push(v);
  }
  // A policy variant's profile or list is checked here, so a bad one is exit 2 before any worker.
  for (const v of chosen.run) {
    const spec = variantPolicy(v.name, p);
    if (spec) compilePolicies(gatherHostProfile(), spec);
  }
  return chosen;
}

function chooseNamedVariants(p: Parsed): { run: VariantSpec[]; skipped: string[] } {
  const text = opt(p, 'variants');
  if (text === undefined || text === 'all') {
    const run: VariantSpec[] = [];
    const skipped: string[] = [];
    for (const v of VARIANTS) {
      if (v.optIn) continue;
      const why = v.unavailable();
      if (why) skipped.push(`${v.name}: ${why}`);
      else run.push(v);
    }
    return { run, skipped };
  }
  const given = text.split(',').map((s) => s.trim());
  if (given.some((n) => n === '')) throw new UsageError(`--variants: empty name in "${text}"`);
  const names = given.flatMap((n) => VARIANT_GROUPS[n] ?? [n]);
  const seen = new Set<string>();
  const run: VariantSpec[] = [];
  for (const n of names) {
    if (seen.has(n)) throw new UsageError(`--variants: "${n}" is listed twice`);
    seen.add(n);
    const v = variantByName(n);
    if (!v) {
      const { suggest } = require('../abi/names') as typeof import('../abi/names');
      throw new UsageError(`--variants: unknown variant "${n}"${suggest(n, VARIANTS.map((x) => x.name), '')}; valid: ${VARIANTS.map((x) => x.name).join(', ')}, rlimit=N, seccomp:FILE, restrict-af:LIST, all, ${Object.keys(VARIANT_GROUPS).join(', ')}; --list-variants describes them`);
    }
    const why = v.unavailable();
    if (why) throw new EnvironmentError(`variant "${n}" cannot run here: ${why}`);
    run.push(v);
  }
  return { run, skipped: [] };
}

/** Open the report file before any work, so an unwritable --out fails at once. */
export function openOut(file: string | undefined): BufferedOut {
  if (file === undefined) return new BufferedOut(1, false);
  let fd: number;
  try {
    fd = fs.openSync(file, 'w');
  } catch (e) {
    throw new EnvironmentError(`cannot write the report to --out ${file}: ${(e as Error).message}`);
  }
  return new BufferedOut(fd, true);
}

/**
 * Lines gathered into 1 MiB writes: a jsonl sweep is 192,000 lines, and a write(2) per line
 * cost more than the model. Lines are joined into 64 Ki-character strings, each encoded straight
 * into one reused buffer. Flushed when full and on close (also after an interruption).
 */
export class BufferedOut implements ByteSink {
  private readonly buf = Buffer.allocUnsafe(1 << 20);
  /** Bytes of buf in use (JsonlCaseWriter.plainLineTo writes there after room()). */
  used = 0;
  /**
   * Lines not yet encoded, joined as one JS string: a line is a rope of a dozen pieces, and
   * encoding each on its own made V8 flatten 192,000 small ropes; one 64 Ki-character rope is
   * flattened once.
   */
  private pending = '';
  constructor(private readonly fd: number, private readonly owned: boolean) {}
  write(s: string): void {
    this.pending += s;
    if (this.pending.length >= 65536) this.encodePending();
  }
  text(s: string): void {
    this.write(s);
  }
  room(n: number): Buffer {
    this.encodePending();
    if (this.used + n > this.buf.length) this.writeOut();
    if (n > this.buf.length) throw new RangeError(`BufferedOut.room: ${n} bytes do not fit a ${this.buf.length}-byte buffer`);
    return this.buf;
  }
  /** Bytes already encoded (a worker's lines). */
  writeBytes(b: Buffer): void {
    this.encodePending();
    if (this.used + b.length > this.buf.length) {
      this.writeOut();
      if (b.length > this.buf.length) { writeAll(this.fd, b); return; }
    }
    this.used += b.copy(this.buf, this.used);
  }
  flush(): void {
    this.encodePending();
    this.writeOut();
  }
  close(): void {
    this.flush();
    if (this.owned) fs.closeSync(this.fd);
  }
  private encodePending(): void {
    const s = this.pending;
    if (s.length === 0) return;
    this.pending = '';
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    if (this.used + s.length * 3 > this.buf.length) {
      this.writeOut();
      if (s.length * 3 > this.buf.length) { writeAll(this.fd, Buffer.from(s, 'utf8')); return; }
    }
    this.used += this.buf.write(s, this.used, 'utf8');
  }
  private writeOut(): void {
    if (this.used === 0) return;
    writeAll(this.fd, this.buf.subarray(0, this.used));
    this.used = 0;
  }
}

let stopRequested: NodeJS.Signals | null = null;
function installStopHandlers(onSignal: (s: NodeJS.Signals) => void): () => void {
  const h = (s: NodeJS.Signals) => { stopRequested = s; onSignal(s); };
  process.on('SIGINT', h);
  process.on('SIGTERM', h);
  return () => { process.off('SIGINT', h); process.off('SIGTERM', h); };
}

const exitForSignal = (s: NodeJS.Signals) => (s === 'SIGINT' ? 130 : 143);

export async function runSweepCommand(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, OPTS, 'sweep');
  if (flag(p, 'help')) {
    io.out(helpText('sweep', '[OPTIONS]', 'Run a matrix of socket() calls down both roads and report where the model and the kernel agree.\nExit 0 when every case MATCHes, 1 on any mismatch, 4 when none mismatches but some are EXPLAINED or\nUNSUPPORTED, 2 on a usage error, 3 when the machine cannot run it, 130/143 when interrupted.', Object.fromEntries(Object.entries(OPTS).filter(([k]) => k !== 'worker' && k !== 'emit-cases' && k !== 'wait-go'))) + '\n');
    return 0;
  }
  if (p.positional.length) throw new UsageError(`sweep takes no arguments, only options (got "${p.positional[0]}"); e.g. sockbridge sweep --domains AF_INET --types SOCK_RAW`);
  const worker = opt(p, 'worker');
  if (worker !== undefined) return runWorker(worker, p);
  if (flag(p, 'list-variants')) {
    const w = Math.max(...VARIANTS.map((v) => v.name.length));
    for (const v of VARIANTS) {
      const why = v.unavailable();
      io.out(`${v.name.padEnd(w)}  ${v.optIn ? 'opt-in ' : 'default'}  ${v.about}${why ? ` [cannot run here: ${why}]` : ''}\n`);
    }
    io.out(`${'rlimit=N'.padEnd(w)}  opt-in   RLIMIT_NOFILE soft limit N\n`);
    io.out(`${'seccomp:FILE'.padEnd(w)}  opt-in   the seccomp filter of an OCI profile (Docker, containerd, Podman JSON) installed in the worker as runc installs it (--seccomp FILE)\n`);
    io.out(`${'restrict-af:LIST'.padEnd(w)}  opt-in   systemd's RestrictAddressFamilies=LIST (e.g. AF_INET+AF_UNIX) installed in the worker as systemd does (--restrict-address-families LIST)\n`);
    for (const [g, names] of Object.entries(VARIANT_GROUPS)) io.out(`${g.padEnd(w)}  group    ${names.join(', ')}\n`);
    return 0;
  }
  if (opt(p, 'emulator') !== undefined) return (require('./emulate') as typeof import('./emulate')).runEmulatedSweep(p, io);
  for (const o of ['route', 'no-control']) if (p.options.has(o)) throw new UsageError(`--${o} goes with --emulator NAME`);
  if (flag(p, 'progress') && flag(p, 'no-progress')) throw new UsageError('--progress and --no-progress contradict each other');
  if (flag(p, 'color') && flag(p, 'no-color')) throw new UsageError('--color and --no-color contradict each other');
  if (flag(p, 'grid') && (opt(p, 'format') ?? 'text') !== 'text') throw new UsageError(`--grid shapes the text report; it cannot go with --format ${opt(p, 'format')}`);

  const format: Format = choiceOpt(p, 'format', FORMATS, 'text');
  const plan = buildPlan(p);
  const { run, skipped } = chooseVariants(p);
  requireProcfs();
  const out = openOut(opt(p, 'out'));
  const toTerminal = opt(p, 'out') === undefined && io.isTTY;
  // The text writers are loaded only for a text report: a variant's worker never needs them.
  const style: TextStyle = format === 'text' ? (require('./explain') as typeof import('./explain')).styleFor(p, { ...io, isTTY: toTerminal }) : { color: false };
  // On a terminal the report fits its width; into a file nothing is cut.
  const screen: Screen = { ...style, columns: toTerminal ? (io.columns && io.columns > 0 ? io.columns : 80) : null };
  // process.stderr is made here, before any batch runs, whether or not a progress line is
  // shown: node makes a stream on first use, and its first stream opens libuv's reserve fd - an
  // fd opened while a batch's calls are made would take a number the model gave a socket.
  const stderrIsTTY = Boolean(process.stderr.isTTY);
  const showProgress = !flag(p, 'no-progress') && (flag(p, 'progress') || stderrIsTTY);
  const progress = new ProgressLine(showProgress, io);

  const tallies: VariantTally[] = [];
  const children = new Set<{ kill(sig: NodeJS.Signals): void }>();
  stopRequested = null;
  const uninstall = installStopHandlers((s) => { for (const c of children) c.kill(s); });
  const started = Date.now();
  try {
    if (format === 'jsonl') {
      out.write(jsonlHeader({
        matrix: plan.matrixText, cases: plan.count, variants: run.map((v) => v.name), skipped, started: new Date(started).toISOString(),
        host: jsonlHost(), batch: plan.batch,
      }) + '\n');
    }
    const onCase = format === 'jsonl' ? (line: string) => out.write(line + '\n') : undefined;
    /** A variant's worker with its tally, started ahead (held) while the variant before it runs. */
    const startWorker = (v: VariantSpec, held: boolean): { t: VariantTally; child: Worker } => {
      const t = newTally(v.name, { examples: format === 'html' });
      const child = spawnWorker(v, [...planArgs(p), ...(onCase ? ['--emit-cases'] : []), ...(t.examples ? ['--examples'] : [])], {
        onLine: (line) => {
          if (line.startsWith('{"kind":"tally"')) Object.assign(t, deserializeTally(line));
          else if (onCase) onCase(line);
        },
        // The worker's jsonl lines go into the report as the bytes it wrote.
        onBytes: onCase ? (bytes) => out.writeBytes(bytes) : undefined,
        onProgress: (done) => progress.update(v.name, done, plan.count),
        onStderr: (text) => { progress.clear(); io.err(text); },
      }, held);
      children.add(child);
      return { t, child };
    };
    type Ahead = { t: VariantTally; child: Worker };
    let ahead = null as Ahead | null;
    for (let k = 0; k < run.length; k++) {
      const v = run[k];
      if (stopRequested) break;
      // A worker's tally is made with it (started ahead, or now); self's here.
      const mine: Ahead | null = ahead ?? (v.name === 'self' ? null : startWorker(v, false));
      ahead = null;
      const t = mine ? mine.t : newTally(v.name, { examples: format === 'html' });
      tallies.push(t);
      // While a worker sweeps, the next variant's worker starts (node and its modules load on the
      // other CPU) and reads the host only when this one is done. Not while self sweeps in this
      // process: the pipes to a worker would take fd numbers, and the fds are compared.
      const next = run[k + 1];
      const startNext = (): void => { if (next && next.name !== 'self' && !stopRequested && !flag(p, 'no-overlap')) ahead = startWorker(next, true); };
      if (v.name === 'self') {
        const lines = new JsonlCaseWriter(v.name);
        await sweepInProcess(plan, t, v.name, {
          adjustProfile: (prof) => policyProfile(prof, p, t.notes, { spec: false }),
          onVerdict: onCase ? (verdict, i) => onCase(lines.line(i, verdict)) : undefined,
          onPlainMatch: onCase ? (c, errno, i) => lines.plainLineTo(out, i, c, errno) : undefined,
          onCounters: onCase ? (c) => onCase(jsonlCounters(v.name, c)) : undefined,
          onProfile: onCase ? (prof) => onCase(jsonlProfile(v.name, prof)) : undefined,
          onProgress: (done) => progress.update(v.name, done, plan.count),
        }, { overlap: !flag(p, 'no-overlap') }, flag(p, 'kernel-trace'));
      } else {
        const child = mine!.child;
        child.go();
        startNext();
        const code = await child.done;
        children.delete(child);
        if (code !== 0 && code !== 1 && !stopRequested) {
          t.notes.push(`the ${v.name} worker exited with status ${code}`);
          t.completed = false;
        }
      }
      progress.clear();
      if (format === 'jsonl') out.write(jsonlSummary(t) + '\n');
    }
    if (ahead) {
      // Stopped before the worker started ahead could go: it exits without a word.
      const left: { t: VariantTally; child: Worker } = ahead;
      left.child.kill('SIGTERM');
      await left.child.done;
      children.delete(left.child);
    }
    progress.clear();
    const seconds = (Date.now() - started) / 1000;
    if (format === 'text' && flag(p, 'grid')) out.write(textReport(tallies, skipped, plan, seconds, style));
    else if (format === 'text') out.write((require('../sweep/report-text') as typeof import('../sweep/report-text')).oneScreenReport({ title: `sockbridge sweep, ${seconds.toFixed(1)} s: ${plan.matrixText}`, tallies, skipped, screen }));
    else if (format === 'junit') out.write(junitReport(tallies));
    else if (format === 'html') {
      out.write(htmlReport(tallies, `sockbridge sweep: ${plan.matrixText}${stopRequested ? ' (INCOMPLETE)' : ''}`, {
        subtitle: `${plan.count} cases per variant, ${seconds.toFixed(1)} s, ${new Date(started).toISOString()}${skipped.length ? `; skipped ${skipped.join('; ')}` : ''}`,
        about: (name) => variantByName(name)?.about,
      }));
    }
    if (format !== 'text' || opt(p, 'out') !== undefined) {
      // People still want the verdict on the terminal when the report went elsewhere.
      for (const t of tallies) io.err(textTotals(t, { color: false }) + '\n');
      for (const s of skipped) io.err(`skipped ${s}\n`);
    }
  } finally {
    uninstall();
    out.close();
  }
  if (stopRequested) return exitForSignal(stopRequested);
  if (tallies.some((t) => !t.completed)) return 1;
  const sum = (k: 'MISMATCH' | 'EXPLAINED' | 'UNSUPPORTED') => tallies.reduce((n, t) => n + t.totals[k], 0);
  return exitForCounts({ MISMATCH: sum('MISMATCH'), EXPLAINED: sum('EXPLAINED'), UNSUPPORTED: sum('UNSUPPORTED') });
}

function textReport(tallies: VariantTally[], skipped: string[], plan: Plan, seconds: number, style: TextStyle): string {
  const parts: string[] = [];
  parts.push(bold(style, `sockbridge sweep: ${plan.matrixText} = ${plan.count} cases per variant`) + dim(style, ` (${seconds.toFixed(1)} s)`));
  for (const t of tallies) {
    parts.push('');
    parts.push(textTotals(t, style) + dim(style, `  ${variantByName(t.variant)?.about ?? ''}`));
    parts.push(textSummary(t, style));
    for (const n of t.notes) parts.push(dim(style, `note: ${n}`));
    for (const v of t.notMatching) parts.push('', textVerdict(v, style));
    if (t.notMatchingDropped) parts.push(dim(style, `... and ${t.notMatchingDropped} more not shown (use --format jsonl for every case)`));
  }
  for (const s of skipped) parts.push(dim(style, `skipped ${s}`));
  const bad = tallies.reduce((n, t) => n + t.totals.MISMATCH, 0);
  parts.push('');
  const unvouched = tallies.reduce((n, t) => n + t.totals.EXPLAINED + t.totals.UNSUPPORTED, 0);
  parts.push(bad === 0 && tallies.every((t) => t.completed)
    ? (unvouched === 0
      ? green(style, `every case agrees in ${tallies.length} variant${tallies.length === 1 ? '' : 's'}`)
      : yellow(style, `no mismatch in ${tallies.length} variant${tallies.length === 1 ? '' : 's'}, but ${unvouched} case${unvouched === 1 ? ' is' : 's are'} EXPLAINED or UNSUPPORTED (exit 4)`))
    : red(style, bad ? `${bad} mismatch${bad === 1 ? '' : 'es'}` : 'incomplete'));
  return parts.join('\n') + '\n';
}

interface InProcessHooks {
  /** Change the gathered profile before the model sees it (seccomp policies, issue 11). */
  adjustProfile?: (p: HostProfile) => HostProfile;
  /** The profile the model starts from, before the first case. */
  onProfile?: (p: HostProfile) => void;
  onVerdict?: (v: Verdict, index: number) => void;
  /** A plain match (runSweep's onPlainMatch); without it they come through onVerdict. */
  onPlainMatch?: (c: SocketCase, errno: number, index: number) => void;
  onCounters?: (c: unknown) => void;
  onProgress?: (done: number) => void;
}

/** The sweep in this process: gather the profile here (these creds, these namespaces). */
export async function sweepInProcess(plan: Plan, t: VariantTally, variant: string, hooks: InProcessHooks, extra: Partial<SweepOptions> = {}, kernelTrace = false): Promise<void> {
  const gathered = gatherHostProfile();
  const profile = hooks.adjustProfile ? hooks.adjustProfile(gathered) : gathered;
  hooks.onProfile?.(profile);
  const netnsPrivate = variant === 'netns' || variant === 'userns' || variant === 'netns-sysctl' || variant === 'unpriv-userns-net';
  let trace: KernelTrace | undefined;
  if (kernelTrace) {
    // Loaded only here (tracefs, dmesg and child_process cost a sweep without a trace ~20 ms of start).
    const { openKernelTrace, isUnavailable } = require('../ktrace') as typeof import('../ktrace');
    const opened = openKernelTrace();
    if (isUnavailable(opened)) t.notes.push(`kernel trace unavailable: ${opened.unavailable}; the sweep ran without it`);
    else trace = opened;
  }
  let traced = 0; let traceAgree = 0; let traceUnknown = 0;
  const outcome = await runSweep(plan.cases(), {
    profile,
    batchSize: plan.batch,
    closeThreads: plan.closeThreads,
    // Shared counters are compared nowhere and shown only in the jsonl report: read them only then.
    counters: netnsPrivate ? 'exact' : hooks.onCounters ? 'shared' : 'off',
    onProgress: hooks.onProgress,
    shouldStop: () => stopRequested !== null,
    kernelTrace: trace,
    // The calls of each batch on a second thread while this one compares the previous batch: the
    // verdict handlers below only count and write to fds already open.
    overlap: true,
    ...(t.examples ? { wantTrace: (v: Verdict) => wantsExample(t, v) } : {
      onPlainMatch: hooks.onPlainMatch
        ? (c: SocketCase, errno: number, i: number) => { addPlainMatch(t, c, errno); hooks.onPlainMatch!(c, errno, i); }
        : hooks.onVerdict ? undefined : (c: SocketCase, errno: number) => addPlainMatch(t, c, errno),
    }),
    ...extra,
  }, (v, i) => {
    if (v.kernelTrace) {
      traced++;
      if (v.kernelTrace.agree === true) traceAgree++;
      else if (v.kernelTrace.agree === null) traceUnknown++;
    }
    addVerdict(t, v, i);
    hooks.onVerdict?.(v, i);
  }).finally(() => {
    const problems = trace?.close() ?? [];
    for (const pr of problems) t.notes.push(`kernel trace clean-up: ${pr}`);
  });
  if (trace) {
    t.notes.push(`kernel trace: ${traced} calls lined up with the tracepoints, ${traceAgree} on the same path (arguments, capability checks in order, result)` +
      (traceUnknown ? `, ${traceUnknown} not comparable (events lost or cap_capable not traced)` : '') +
      (trace.missing.length ? `; events missing on this kernel: ${trace.missing.join(', ')}` : ''));
  }
  t.completed = outcome.completed;
  t.counters = outcome.counters;
  for (const c of outcome.counters) {
    hooks.onCounters?.(c);
    if (c.agree === false) {
      t.totals.MISMATCH++;
      t.notes.push(`counters disagree for cases ${c.firstCase}..${c.firstCase + c.cases - 1}: model ${JSON.stringify(c.predicted)}, kernel ${JSON.stringify(c.observed)}`);
    }
  }
  if (!netnsPrivate) t.notes.push('counters (/proc/net/protocols, sockstat) shown, not compared: the network namespace is shared with other processes (netns and userns compare them)');
}

/** A variant's child: set up what the variant needs, sweep, stream lines, send the tally last. */
async function runWorker(variant: string, p: Parsed): Promise<number> {
  const plan = buildPlan(p);
  // Started ahead while the previous variant sweeps: nothing of the host is read before "go".
  if (flag(p, 'wait-go') && !waitForGo()) return 0;
  const emit = flag(p, 'emit-cases');
  const t = newTally(variant, { examples: flag(p, 'examples') });
  const out = new BufferedOut(1, false);
  const write = (s: string) => out.write(s + '\n');
  const lines = new JsonlCaseWriter(variant);
  const uninstall = installStopHandlers(() => undefined);
  const extra: Partial<SweepOptions> = { overlap: !flag(p, 'no-overlap') };
  try {
    if (variant === 'rlimit' || variant.startsWith('rlimit=')) {
      const profileFds = listOpenFds();
      let soft: number;
      if (variant === 'rlimit') {
        // The lowest free fd: every socket() that would otherwise succeed must get EMFILE.
        soft = 0;
        while (profileFds.includes(soft)) soft++;
      } else {
        soft = Number(variant.slice(7));
      }
      const [, hard] = native().getrlimit(7);
      const profile = gatherHostProfile();
      const err = native().setrlimit(7, soft, hard);
      if (err) throw new EnvironmentError(`setrlimit(RLIMIT_NOFILE, ${soft}) failed with errno ${err}`);
      profile.limits.nofileSoft = { value: soft, source: 'setrlimit(2) by the rlimit variant' };
      // No new fd fits, so /proc cannot be read during the sweep: the fd table is frozen.
      profile.limits.openFds = { value: profileFds, source: '/proc/self/fd before the limit was set' };
      if (emit) write(jsonlProfile(variant, profile));
      const outcome = await runSweep(plan.cases(), {
        profile, batchSize: plan.batch, closeThreads: plan.closeThreads, counters: 'off',
        frozenFdTable: true, procNet: false, overlap: !flag(p, 'no-overlap'),
        onProgress: workerProgress,
        shouldStop: () => stopRequested !== null,
        ...(t.examples ? { wantTrace: (v: Verdict) => wantsExample(t, v) } : {
          onPlainMatch: (c: SocketCase, errno: number, i: number) => { addPlainMatch(t, c, errno); if (emit) lines.plainLineTo(out, i, c, errno); },
        }),
      }, (v, i) => { addVerdict(t, v, i); if (emit) write(lines.line(i, v)); });
      native().setrlimit(7, hard, hard);
      t.completed = outcome.completed;
      t.notes.push(`RLIMIT_NOFILE soft limit ${soft} with fds ${compactFds(profileFds)} open`);
    } else {
      if (variant === 'netns-sysctl') for (const d of setNetnsSysctls()) t.notes.push(`set in this variant's own network namespace: ${d}`);
      await sweepInProcess(plan, t, variant, {
        adjustProfile: (prof) => policyForVariant(variant, prof, p, t.notes),
        onProfile: emit ? (prof) => write(jsonlProfile(variant, prof)) : undefined,
        onVerdict: emit ? (v, i) => write(lines.line(i, v)) : undefined,
        onPlainMatch: emit ? (c, errno, i) => lines.plainLineTo(out, i, c, errno) : undefined,
        onCounters: emit ? (c) => write(jsonlCounters(variant, c)) : undefined,
        onProgress: workerProgress,
      }, extra, flag(p, 'kernel-trace'));
    }
    write(serializeTally(t));
  } finally {
    out.close();
    // Only now: Ctrl-C reaches a worker twice (from the terminal, and forwarded by the parent),
    // and the second SIGINT must not kill it before its tally is out.
    uninstall();
  }
  if (stopRequested) return exitForSignal(stopRequested);
  return t.totals.MISMATCH ? 1 : 0;
}

/**
 * The profile a worker's model uses, and for the seccomp:FILE / restrict-af:LIST variants the
 * filters installed in the worker itself (after the profile was gathered, before any case).
 */
function policyForVariant(variant: string, prof: HostProfile, p: Parsed, notes: string[]): HostProfile {
  const base = policyProfile(prof, p, notes, { spec: false });
  const spec = variantPolicy(variant, p);
  if (!spec) return base;
  const c = compilePolicies(prof, spec);
  notes.push(...c.notes);
  installFilters(c.filters);
  notes.push(`installed in this worker (no_new_privs, SECCOMP_SET_MODE_FILTER): ${c.filters.map((f) => `"${f.name}" (${f.insns.length} instructions)`).join(', ')}`);
  return withFilters(base, c.filters, `installed by the ${variant} variant`);
}

/**
 * A worker's progress line on standard error, written straight to fd 2 (a pipe to the parent):
 * process.stderr would make a stream and its machinery for it.
 */
function workerProgress(done: number): void {
  writeAll(2, Buffer.from(`@progress ${done}\n`, 'latin1'));
}

/**
 * A worker started ahead (--wait-go) waits here for the parent's "go" line on standard input,
 * reading fd 0 directly (process.stdin would open a stream of its own). false: the parent closed
 * it without "go" (it stopped), and the worker ends without reading the host. fd 0 stays open, so
 * the worker's fd table is what it would have been with standard input on /dev/null.
 */
function waitForGo(): boolean {
  const buf = Buffer.alloc(64);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let got = '';
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') { Atomics.wait(pause, 0, 0, 5); continue; }
      if (code === 'EOF') return false;
      throw e;
    }
    if (n === 0) return false;
    got += buf.toString('latin1', 0, n);
    const nl = got.indexOf('\n');
    if (nl >= 0) return got.slice(0, nl) === 'go';
  }
}

/**
 * Write everything to a pipe, however large: writeSync may write part of a buffer, or fail with
 * EAGAIN when the pipe is non-blocking and full; wait for the reader then.
 */
function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 2);
    }
  }
}

function compactFds(fds: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < fds.length; i++) {
    let j = i;
    while (j + 1 < fds.length && fds[j + 1] === fds[j] + 1) j++;
    parts.push(i === j ? String(fds[i]) : `${fds[i]}-${fds[j]}`);
    i = j;
  }
  return parts.join(',');
}

class ProgressLine {
  private last = 0;
  private shown = false;
  constructor(private readonly on: boolean, private readonly io: Io) {}
  update(variant: string, done: number, total: number): void {
    if (!this.on) return;
    const now = Date.now();
    if (now - this.last < 100 && done < total) return;
    this.last = now;
    const pct = total ? ((100 * done) / total).toFixed(1) : '100';
    process.stderr.write(`\r\x1b[K[${variant}] ${done}/${total} cases ${pct}%`);
    this.shown = true;
  }
  clear(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}

