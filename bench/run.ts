/**
 * `npm run bench`: sockbridge's sweep against the kernel's own floor.
 *
 * In one run it builds bench/baseline.c (cc -O2, into a temporary directory), writes
 * sockbridge's defaultMatrix() to a file both sides read, and times:
 *
 *  - the C baseline, naive (socket, observe, close, one case after another) and near the floor
 *    (same batch size and close threads as the sweep; every fd of a batch left open, each
 *    /proc/net table read once and joined by inode, then the fds closed concurrently);
 *  - sockbridge's sweep in this process (runSweep: model, kernel road, alignment, every
 *    observation), and the CLI as a whole process, whose peak RSS is read too;
 *  - the model alone, predictions per second (trace off; trace on as information);
 *  - both sweeps again in a new network namespace (unshare -n), first as it is, then crowded
 *    by 100,000 AF_UNIX sockets and 10,000 UDP sockets bound to 127.0.0.1 held by helper
 *    processes (bench/baseline.c in "crowd" mode), to show the per-case cost does not grow
 *    with what else is open.
 *
 * For information, two more C floors show what other ways of finding a batch's sockets cost:
 * reading only the tables of the families the batch made ("family"), and that with sock_diag
 * dumps instead of the unix/tcp/udp/udplite text ("diag"). Each is checked to find the same
 * sockets as sockbridge.
 *
 * Timed figures are the best of --runs runs (default 3), C and sockbridge interleaved so load
 * from other processes falls on both. It prints a table (figure, value, target, ratio,
 * PASS/FAIL) and exits 1 when a target fails, 2 when the bench itself could not run.
 *
 * Internal: `run.js --netns-phase DIR` is the part that runs inside the new netns.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { HostProfile, SocketCase, Verdict } from '../lib/types';
import { defaultMatrix, matrixCases, matrixSize, type Matrix } from '../lib/sweep/matrix';
import { runSweep } from '../lib/sweep/run';
import { DEFAULT_CLOSE_THREADS } from '../lib/probe';
import { KernelModel } from '../lib/kernel';
import { gatherHostProfile } from '../lib/host';
import { listOpenFds } from '../lib/bridge/fdtable';
import { native } from '../lib/native';
import { variantByName } from '../lib/sweep/variants';

// ---------------------------------------------------------------------------------------------
// settings and targets
// ---------------------------------------------------------------------------------------------

const ROOT = path.resolve(__dirname, '..', '..');
const BASELINE_SRC = path.join(ROOT, 'bench', 'baseline.c');
const CLI = path.join(ROOT, 'bin', 'sockbridge.js');
const PRELOAD = path.join(__dirname, 'rss-preload.js');

/** The sweep's own defaults (lib/sweep/run.ts batchSize, lib/probe.ts DEFAULT_CLOSE_THREADS). */
const BATCH = 2048;
const CLOSE_THREADS = DEFAULT_CLOSE_THREADS;

const CROWD_UNIX = 100_000;
const CROWD_UDP = 10_000;

const TARGET = {
  /** sockbridge in-process / the best C floor (tables by family + sock_diag), at most. */
  vsFloor: 1.3,
  /** whole-process `sweep --variants self --format jsonl` / the best C floor, at most. */
  cliVsFloor: 2.0,
  /** the default `sweep` (every variant) / the sum of the best C floor run in each variant's condition, at most. */
  defaultVsFloors: 2.0,
  /** crowded / uncrowded per-case cost, at most. */
  crowded: 1.3,
  /** model predictions per second, at least (also with a seccomp filter in the profile). */
  modelRate: 1_000_000,
  /** peak RSS of a default CLI sweep, MB (10^6 bytes), at most. */
  rssMB: 150,
};

// ---------------------------------------------------------------------------------------------
// small helpers
// ---------------------------------------------------------------------------------------------

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

function ms(ns: number): string {
  return `${(ns / 1e6).toFixed(0)} ms`;
}

function secs(ns: number): string {
  return `${(ns / 1e9).toFixed(3)} s`;
}

function nowNs(): number {
  return Number(process.hrtime.bigint());
}

function fnv(h: bigint, v: number): bigint {
  let x = h;
  const u = v >>> 0;
  for (let k = 0; k < 4; k++) {
    x ^= BigInt((u >>> (8 * k)) & 0xff);
    x = (x * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return x;
}

/** The errno of every case, hashed the way baseline.c hashes it (errnoHash). */
class ErrnoHash {
  private h = 0xcbf29ce484222325n;
  add(errno: number): void { this.h = fnv(this.h, errno); }
  hex(): string { return this.h.toString(16).padStart(16, '0'); }
}

interface CResult {
  mode: string;
  cases: number;
  created: number;
  foundInProcNet: number;
  errnoHash: string;
  fdHash: string;
  batch: number;
  threads: number;
  ns: number;
  makeNs: number;
  tablesNs: number;
  closeNs: number;
  tableBytes: number;
}

interface SweepResult {
  ns: number;
  cases: number;
  created: number;
  foundInProcNet: number;
  errnoHash: string;
  kinds: Record<string, number>;
}

function best<T extends { ns: number }>(rs: T[]): T {
  return rs.reduce((a, b) => (b.ns < a.ns ? b : a));
}

// ---------------------------------------------------------------------------------------------
// C baseline
// ---------------------------------------------------------------------------------------------

function buildBaseline(dir: string): string {
  const exe = path.join(dir, 'baseline');
  const cc = process.env.CC ?? 'cc';
  const r = spawnSync(cc, ['-O2', '-Wall', '-o', exe, BASELINE_SRC, '-lpthread'], { encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run the C compiler "${cc}" (${r.error.message}); install gcc or set CC`);
  if (r.status !== 0) throw new Error(`${cc} -O2 ${BASELINE_SRC} failed:\n${r.stderr}`);
  return exe;
}

/** The matrix as baseline.c reads it: int32 count, then (domain, type, protocol) triples. */
function writeMatrix(file: string, m: Matrix): number {
  const n = matrixSize(m);
  const buf = Buffer.alloc(4 + n * 12);
  buf.writeInt32LE(n, 0);
  let off = 4;
  for (const c of matrixCases(m)) {
    buf.writeInt32LE(c.domain, off);
    buf.writeInt32LE(c.type, off + 4);
    buf.writeInt32LE(c.protocol, off + 8);
    off += 12;
  }
  fs.writeFileSync(file, buf);
  return n;
}

/**
 * tables 'family': read only the tables of the families a batch made sockets of; 'diag': that,
 * and sock_diag dumps instead of the unix/tcp/udp/udplite text (both for information).
 */
function runC(exe: string, matrixFile: string, mode: 'naive' | 'floor', tables: 'all' | 'family' | 'diag' = 'all'): CResult {
  const args = mode === 'naive' ? ['sweep', matrixFile, 'naive'] : ['sweep', matrixFile, 'floor', String(BATCH), String(CLOSE_THREADS), tables];
  return runCArgv([exe, ...args]).result;
}

function runCArgv(argv: string[]): { result: CResult; wallNs: number } {
  const t0 = nowNs();
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 20 });
  const wallNs = nowNs() - t0;
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return { result: JSON.parse(lines[lines.length - 1]) as CResult, wallNs };
}

/**
 * How the best C floor runs in a variant's own condition: under the same setpriv/unshare argv
 * the sweep wraps its worker in, and for rlimit with RLIMIT_NOFILE's soft limit at the lowest
 * free fd. A variant whose worker sets up something the C program cannot copy is run plain,
 * and said so.
 */
function floorCondition(name: string): { wrapper: string[]; extra: string[]; note?: string } {
  const v = variantByName(name);
  if (!v) return { wrapper: [], extra: [], note: `${name}: not a variant the bench knows; its C floor ran as this process is` };
  if (name === 'rlimit') return { wrapper: [], extra: ['nofile=lowest'] };
  if (v.wrapper.length > 0 || name === 'self') return { wrapper: v.wrapper, extra: [] };
  return { wrapper: [], extra: [], note: `${name}: its worker sets up its own condition, which the C floor does not copy; the C floor ran as this process is` };
}

function runCInCondition(exe: string, matrixFile: string, variant: string): { result: CResult; wallNs: number } {
  const c = floorCondition(variant);
  return runCArgv([...c.wrapper, exe, 'sweep', matrixFile, 'floor', String(BATCH), String(CLOSE_THREADS), 'diag', ...c.extra]);
}

// ---------------------------------------------------------------------------------------------
// sockbridge
// ---------------------------------------------------------------------------------------------

async function sweepInProcess(m: Matrix, profile: HostProfile): Promise<SweepResult> {
  // The callback keeps only what the checks need, as cheaply as it can: the hash is computed
  // after the clock stops, so the figure is the sweep's, not the bench's bookkeeping.
  const errnos = new Int32Array(matrixSize(m));
  const kinds: Record<string, number> = {};
  let created = 0;
  let found = 0;
  let cases = 0;
  const onVerdict = (v: Verdict, i: number): void => {
    const o = v.observation;
    errnos[i] = o.errno;
    if (o.errno === 0) created++;
    if (o.procNet) found++;
    kinds[v.kind] = (kinds[v.kind] ?? 0) + 1;
    cases++;
  };
  const t0 = nowNs();
  const outcome = await runSweep(matrixCases(m), { profile, batchSize: BATCH, closeThreads: CLOSE_THREADS, overlap: true }, onVerdict);
  const ns = nowNs() - t0;
  if (!outcome.completed) throw new Error(`runSweep stopped after ${outcome.cases} of ${matrixSize(m)} cases`);
  const hash = new ErrnoHash();
  for (let i = 0; i < cases; i++) hash.add(errnos[i]);
  return { ns, cases, created, foundInProcNet: found, errnoHash: hash.hex(), kinds };
}

interface ModelResult { ns: number; predictions: number; created: number }

/** The model alone, batch by batch as the sweep drives it (keepFd, then closeFds). */
function modelRun(cases: readonly SocketCase[], profile: HostProfile, trace: boolean): ModelResult {
  const model = new KernelModel(profile, { trace });
  const startFds = listOpenFds();
  let created = 0;
  const t0 = nowNs();
  for (let b = 0; b < cases.length; b += BATCH) {
    model.setOpenFds(startFds);
    const kept: number[] = [];
    const e = Math.min(cases.length, b + BATCH);
    for (let i = b; i < e; i++) {
      const p = model.predict(cases[i], { keepFd: true });
      if (p.result.fd !== undefined) kept.push(p.result.fd);
    }
    created += kept.length;
    model.closeFds(kept);
  }
  return { ns: nowNs() - t0, predictions: cases.length, created };
}

/**
 * A seccomp filter in the profile, as a container runtime would install one: the x86-64 arch
 * checked (else KILL_PROCESS), socket(2) with AF_VSOCK -> ERRNO(EAFNOSUPPORT), AF_PACKET ->
 * ERRNO(EPERM), everything else allowed. Classic BPF, [code, jt, jf, k] (the shared
 * SeccompFilterInfo shape of issue 11).
 */
function withSeccompFilter(profile: HostProfile): HostProfile {
  const LD_ABS_W = 0x20, JEQ_K = 0x15, RET_K = 0x06;
  const insns: Array<[number, number, number, number]> = [
    [LD_ABS_W, 0, 0, 4], // seccomp_data.arch
    [JEQ_K, 0, 8, 0xc000003e], // AUDIT_ARCH_X86_64, else KILL (pc + 1 + 8)
    [LD_ABS_W, 0, 0, 0], // seccomp_data.nr
    [JEQ_K, 0, 3, 41], // __NR_socket, else ALLOW
    [LD_ABS_W, 0, 0, 16], // args[0], low 32 bits: the domain
    [JEQ_K, 2, 0, 40], // AF_VSOCK -> ERRNO(EAFNOSUPPORT)
    [JEQ_K, 2, 0, 17], // AF_PACKET -> ERRNO(EPERM)
    [RET_K, 0, 0, 0x7fff0000], // ALLOW
    [RET_K, 0, 0, 0x00050000 | 97], // ERRNO(EAFNOSUPPORT)
    [RET_K, 0, 0, 0x00050000 | 1], // ERRNO(EPERM)
    [RET_K, 0, 0, 0x80000000], // KILL_PROCESS
  ];
  const p = JSON.parse(JSON.stringify(profile)) as HostProfile;
  const sec = p.security as HostProfile['security'] & { filters?: unknown };
  sec.seccomp = { value: 2, source: 'bench: a filter made up for the model figure' };
  sec.filters = { value: [{ name: 'bench-container', source: 'bench/run.ts withSeccompFilter', insns }], source: 'bench/run.ts' };
  return p;
}

type SeccompModel = ModelResult | { why: string };

/** The model with withSeccompFilter's profile, best of `runs`; or why it cannot be measured yet. */
function seccompModelRun(cases: readonly SocketCase[], profile: HostProfile, runs: number): SeccompModel {
  const p = withSeccompFilter(profile);
  let traced;
  try {
    traced = new KernelModel(p, { trace: true }).predict({ domain: 40, type: 1, protocol: 0 });
  } catch (e) {
    return { why: `the model refused the profile with a seccomp filter: ${(e as Error).message}` };
  }
  if (!traced.trace.some((st) => st.fn === '__secure_computing' || st.fn === 'seccomp_run_filters')) {
    return { why: 'not yet measurable: the model on this checkout has no seccomp stage (issue 11)' };
  }
  if (traced.result.errno !== 97) {
    return { why: `the filter did not decide socket(AF_VSOCK, SOCK_STREAM, 0): the model said ${JSON.stringify(traced.result)}, the filter says EAFNOSUPPORT` };
  }
  const rs: ModelResult[] = [];
  for (let r = 0; r < runs; r++) rs.push(modelRun(cases, p, false));
  return best(rs);
}

function seccompRow(m: SeccompModel, target: number): { figure: string; value: string; target: string; ratio: string; result: 'PASS' | 'FAIL' | 'SKIP' } {
  const figure = 'model alone, seccomp filter loaded';
  if ('why' in m) return { figure, value: 'n/a', target: `>= ${target.toLocaleString('en-US')}/s`, ratio: '', result: 'SKIP' };
  const rate = m.predictions / (m.ns / 1e9);
  return {
    figure, value: `${Math.round(rate).toLocaleString('en-US')}/s`, target: `>= ${target.toLocaleString('en-US')}/s`,
    ratio: `${(rate / target).toFixed(2)}x`, result: rate >= target ? 'PASS' : 'FAIL',
  };
}

interface CliResult { ns: number; exitCode: number | null; maxRssKiB: number | null; vmHwmKiB: number | null; stderr: string }

/**
 * `sockbridge sweep --variants self --format jsonl --out FILE` as a child process: wall time, and
 * peak RSS two ways. The report goes to a real file (47 MB), as a person's would.
 */
async function cliRun(dir: string): Promise<CliResult> {
  const rssFile = path.join(dir, 'rss.json');
  const report = path.join(dir, 'report.jsonl');
  try { fs.unlinkSync(rssFile); } catch { /* not there */ }
  try { fs.unlinkSync(report); } catch { /* not there */ }
  const args = ['--require', PRELOAD, CLI, 'sweep', '--variants', 'self', '--format', 'jsonl', '--out', report, '--no-progress'];
  const t0 = nowNs();
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SOCKBRIDGE_BENCH_RSS_FILE: rssFile },
  });
  track(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  let vmHwm: number | null = null;
  const poll = setInterval(() => {
    try {
      const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) vmHwm = Math.max(vmHwm ?? 0, Number(m[1]));
    } catch { /* exited between polls */ }
  }, 20);
  const exitCode = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ns = nowNs() - t0;
  clearInterval(poll);
  try { fs.unlinkSync(report); } catch { /* not written */ }
  let maxRss: number | null = null;
  try { maxRss = (JSON.parse(fs.readFileSync(rssFile, 'utf8')) as { maxRssKiB: number }).maxRssKiB; } catch { /* no file */ }
  return { ns, exitCode, maxRssKiB: maxRss, vmHwmKiB: vmHwm, stderr };
}

interface DefaultRun { ns: number; exitCode: number | null; variants: string[]; stderr: string }

/** `sockbridge sweep` with no options (text to stdout): every variant this machine allows. */
async function defaultRun(): Promise<DefaultRun> {
  const t0 = nowNs();
  const child = spawn(process.execPath, [CLI, 'sweep', '--no-progress'], { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const ns = nowNs() - t0;
  return { ns, exitCode, variants: variantsOfTextReport(stdout), stderr };
}

/**
 * The variants a text report covers: the rows of its variant table ("variant  cases  agree ..."
 * then one "<name>  N  N  N ..." row each), or its older "[name] N cases:" totals lines.
 */
export function variantsOfTextReport(text: string): string[] {
  const lines = text.split('\n');
  const head = lines.findIndex((l) => /^variant\s+cases\s+agree\b/.test(l));
  if (head >= 0) {
    const out: string[] = [];
    for (const l of lines.slice(head + 1)) {
      const m = /^(\S+)\s+\d+\s+\d+\s+\d+/.exec(l);
      if (!m) break;
      out.push(m[1]);
    }
    return out;
  }
  return [...text.matchAll(/^\[([^\]\s]+)\] \d+ cases:/gm)].map((m) => m[1]);
}

/** A command's wall time as a child process (startup figures). */
function wallOf(argv: string[]): number {
  const t0 = nowNs();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: 'ignore' });
  const ns = nowNs() - t0;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}`);
  return ns;
}

// ---------------------------------------------------------------------------------------------
// test:kernels: the last summary, as figures (no target)
// ---------------------------------------------------------------------------------------------

interface KernelFigure { id: string; seconds: number; guestCases: number }

/** Seconds per kernel and guest cases from out/kernels/summary.json, or why there are none. */
function kernelsFigures(): { file: string; figures: KernelFigure[]; totalSeconds?: number; mtime?: Date; why?: string } {
  const file = path.join(ROOT, 'out', 'kernels', 'summary.json');
  let text: string;
  let mtime: Date;
  try {
    text = fs.readFileSync(file, 'utf8');
    mtime = fs.statSync(file).mtime;
  } catch {
    return { file, figures: [], why: `no ${path.relative(ROOT, file)}: run npm run test:kernels first` };
  }
  try {
    const j = JSON.parse(text) as {
      totalSeconds?: number;
      kernels?: Array<{ id: string; phases?: Record<string, number>; agreement?: Record<string, Record<string, { cases: number }>> }>;
    };
    const figures = (j.kernels ?? []).map((k) => {
      const seconds = Object.values(k.phases ?? {}).reduce((a, b) => a + b, 0);
      // Guest cases: the calls made in the guest (the live comparisons), every variant.
      const live = k.agreement?.live ?? {};
      const guestCases = Object.values(live).reduce((a, x) => a + (x.cases ?? 0), 0);
      return { id: k.id, seconds, guestCases };
    });
    return { file, figures, totalSeconds: j.totalSeconds, mtime };
  } catch (e) {
    return { file, figures: [], why: `${path.relative(ROOT, file)} cannot be read as a summary: ${(e as Error).message}` };
  }
}

// ---------------------------------------------------------------------------------------------
// child processes: tracked so every one is ended on exit, error or a signal
// ---------------------------------------------------------------------------------------------

const children = new Set<ChildProcess>();
const tempDirs: string[] = [];

function track(c: ChildProcess): void {
  children.add(c);
  c.on('exit', () => children.delete(c));
}

function cleanup(): void {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* gone */ }
  }
  for (const d of tempDirs) {
    try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ }
  }
}

function onSignals(): void {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      log(`${sig}: ending helper processes`);
      cleanup();
      process.exit(130);
    });
  }
  process.on('exit', cleanup);
}

// ---------------------------------------------------------------------------------------------
// the crowd
// ---------------------------------------------------------------------------------------------

/** Split `total` sockets into chunks of at most `max` (even chunks, for socketpairs). */
export function splitCrowd(total: number, max: number, even: boolean): number[] {
  if (total <= 0) return [];
  const unit = even ? 2 : 1;
  const cap = Math.floor(max / unit) * unit;
  if (cap < unit) throw new Error(`cannot hold ${total} sockets with at most ${max} per helper`);
  const k = Math.ceil(total / cap);
  const units = Math.ceil(total / unit);
  const out: number[] = [];
  for (let i = 0; i < k; i++) out.push((Math.floor(units / k) + (i < units % k ? 1 : 0)) * unit);
  return out;
}

async function startHelper(exe: string, unix: number, udp: number): Promise<ChildProcess> {
  const c = spawn(exe, ['crowd', String(unix), String(udp)], { stdio: ['pipe', 'pipe', 'inherit'] });
  track(c);
  return new Promise<ChildProcess>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`crowd helper (${unix} unix, ${udp} udp) not ready after 60 s`)), 60_000);
    c.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) {
        clearTimeout(timer);
        if (/^ready \d+ \d+/.test(out)) resolve(c);
        else reject(new Error(`crowd helper said "${out.trim()}"`));
      }
    });
    c.on('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`crowd helper exited (${code ?? sig}) before it was ready`)); });
  });
}

async function stopHelpers(hs: ChildProcess[]): Promise<void> {
  await Promise.all(hs.map((h) => new Promise<void>((resolve) => {
    if (h.exitCode !== null || h.signalCode !== null) { resolve(); return; }
    h.on('exit', () => resolve());
    h.stdin!.end();
    setTimeout(() => { try { h.kill('SIGKILL'); } catch { /* gone */ } }, 5000).unref();
  })));
}

function countRows(table: string): number {
  const t = fs.readFileSync(`/proc/net/${table}`, 'latin1');
  let n = 0;
  for (let i = t.indexOf('\n'); i >= 0 && i < t.length - 1; i = t.indexOf('\n', i + 1)) n++;
  return n;
}

function timeTableRead(table: string): number {
  const t0 = nowNs();
  fs.readFileSync(`/proc/net/${table}`, 'latin1');
  return nowNs() - t0;
}

interface NetnsMeasure {
  c: CResult;
  /** The C floor reading only the tables of the families each batch made (information). */
  cFamily: CResult;
  /** ... and asking sock_diag instead of reading the big text tables (information). */
  cDiag: CResult;
  sb: SweepResult;
  unixRows: number;
  udpRows: number;
  unixReadNs: number;
  udpReadNs: number;
}

interface NetnsPhase {
  runs: number;
  plain: NetnsMeasure;
  crowded: NetnsMeasure & { helpers: number; setupNs: number };
}

/** Inside `unshare -n`: both sweeps as the netns is, then crowded. Result as JSON on stdout. */
async function netnsPhase(dir: string, runs: number): Promise<void> {
  onSignals();
  const exe = path.join(dir, 'baseline');
  const matrixFile = path.join(dir, 'matrix.bin');
  const m = defaultMatrix();
  const profile = gatherHostProfile();
  const [soft, hard] = native().getrlimit(native().constants().RLIMIT_NOFILE);
  const perHelper = Math.min(hard < 0 ? 1 << 20 : hard, 1 << 20) - 64;
  if (perHelper < 2) throw new Error(`RLIMIT_NOFILE hard limit ${hard} (soft ${soft}) is too low for crowd helpers`);

  interface Runs { c: CResult[]; cf: CResult[]; cd: CResult[]; sb: SweepResult[] }
  const one = async (into: Runs): Promise<void> => {
    into.c.push(runC(exe, matrixFile, 'floor'));
    into.sb.push(await sweepInProcess(m, profile));
    into.cf.push(runC(exe, matrixFile, 'floor', 'family'));
    into.cd.push(runC(exe, matrixFile, 'floor', 'diag'));
  };
  const summary = (r: Runs): NetnsMeasure => ({
    c: best(r.c), cFamily: best(r.cf), cDiag: best(r.cd), sb: best(r.sb),
    unixRows: countRows('unix'), udpRows: countRows('udp'), unixReadNs: timeTableRead('unix'), udpReadNs: timeTableRead('udp'),
  });
  const plainRuns: Runs = { c: [], cf: [], cd: [], sb: [] };
  const crowdRuns: Runs = { c: [], cf: [], cd: [], sb: [] };
  let plain: NetnsMeasure | undefined;
  let crowded: NetnsPhase['crowded'] | undefined;
  // Plain and crowded alternate, the crowd made anew each run, so a change in the machine's
  // load during the phase falls on both.
  for (let r = 0; r < runs; r++) {
    await one(plainRuns);
    if (r === runs - 1) plain = summary(plainRuns);
    const helpers: ChildProcess[] = [];
    try {
      const t0 = nowNs();
      for (const n of splitCrowd(CROWD_UNIX, perHelper, true)) helpers.push(await startHelper(exe, n, 0));
      for (const n of splitCrowd(CROWD_UDP, perHelper, false)) helpers.push(await startHelper(exe, 0, n));
      const setupNs = nowNs() - t0;
      await one(crowdRuns);
      if (r === runs - 1) crowded = { ...summary(crowdRuns), helpers: helpers.length, setupNs };
    } finally {
      await stopHelpers(helpers);
    }
  }
  const out: NetnsPhase = { runs, plain: plain!, crowded: crowded! };
  process.stdout.write(JSON.stringify(out) + '\n');
}

function runNetnsPhase(dir: string, runs: number): Promise<NetnsPhase> {
  const unshare = ['/usr/bin/unshare', '/bin/unshare'].find((p) => fs.existsSync(p)) ?? 'unshare';
  const c = spawn(unshare, ['-n', process.execPath, __filename, '--netns-phase', dir, '--runs', String(runs)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(c);
  let out = '';
  let err = '';
  c.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  c.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; process.stderr.write(d); });
  return new Promise<NetnsPhase>((resolve, reject) => {
    c.on('error', reject);
    c.on('exit', (code, sig) => {
      if (code !== 0) {
        reject(new Error(`unshare -n ... --netns-phase exited ${code ?? sig}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
        return;
      }
      try { resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as NetnsPhase); } catch (e) { reject(e); }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// the report
// ---------------------------------------------------------------------------------------------

type Result = 'PASS' | 'FAIL' | 'info' | 'SKIP';
interface Row { figure: string; value: string; target: string; ratio: string; result: Result }

function table(rows: Row[]): string {
  const head: Row = { figure: 'figure', value: 'value', target: 'target', ratio: 'ratio', result: 'info' };
  const all = [head, ...rows];
  const w = (k: keyof Row): number => Math.max(...all.map((r) => String(k === 'result' && r === head ? 'result' : r[k]).length));
  const wf = w('figure'), wv = w('value'), wt = w('target'), wr = w('ratio');
  const line = (r: Row, res: string): string =>
    `${r.figure.padEnd(wf)}  ${r.value.padStart(wv)}  ${r.target.padEnd(wt)}  ${r.ratio.padStart(wr)}  ${res}`;
  return [line(head, 'result'), '-'.repeat(wf + wv + wt + wr + 16), ...rows.map((r) => line(r, r.result))].join('\n');
}

function machine(): string {
  const cpu = os.cpus();
  const model = cpu.length ? cpu[0].model.replace(/\s+/g, ' ').trim() : 'unknown CPU';
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  return `${model}, ${cpu.length} CPUs, Linux ${os.release()} ${os.arch()}, node ${process.versions.node}; load average at start ${load}`;
}

class UsageError extends Error {}

const ONLY = ['inproc', 'cli', 'default'] as const;
type Only = typeof ONLY[number];

function parseArgs(argv: string[]): { runs: number; crowd: boolean; netnsDir?: string; only?: Only } {
  let runs = 3;
  let crowd = true;
  let netnsDir: string | undefined;
  let only: Only | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1 || v > 20) throw new UsageError(`--runs must be an integer from 1 to 20 (got ${JSON.stringify(argv[i])})`);
      runs = v;
    } else if (a === '--no-crowd') {
      crowd = false;
    } else if (a === '--only') {
      const v = argv[++i];
      if (!(ONLY as readonly string[]).includes(v)) throw new UsageError(`--only takes one of ${ONLY.join(', ')} (got ${JSON.stringify(v)})`);
      only = v as Only;
    } else if (a === '--netns-phase') {
      netnsDir = argv[++i];
      if (!netnsDir) throw new UsageError('--netns-phase needs a directory (internal option)');
    } else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run bench -- [--runs N] [--no-crowd] [--only ROW]   (or: node dist/bench/run.js [options])\n' +
        '  --runs N     best of N runs for each timed figure (1..20, default 3)\n' +
        '  --no-crowd   skip the crowded-namespace figure (needs root for unshare -n)\n' +
        `  --only ROW   one row and the best C floor it is a ratio to, interleaved, for iterating (${ONLY.join(', ')}); exit 0/1 by that row\n`);
      process.exit(0);
    } else {
      throw new UsageError(`unknown option ${JSON.stringify(a)}; valid: --runs N, --no-crowd, --only ROW, --help`);
    }
  }
  return { runs, crowd, netnsDir, only };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.netnsDir !== undefined) {
    await netnsPhase(args.netnsDir, args.runs);
    return 0;
  }
  onSignals();
  const started = nowNs();
  const where = machine();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-bench-'));
  tempDirs.push(dir);

  log('building bench/baseline.c with cc -O2');
  const exe = buildBaseline(dir);
  const m = defaultMatrix();
  const matrixFile = path.join(dir, 'matrix.bin');
  const n = writeMatrix(matrixFile, m);
  log(`default matrix: ${n} cases; batch ${BATCH}, ${CLOSE_THREADS} close threads; best of ${args.runs}`);

  const tp = nowNs();
  const profile = gatherHostProfile();
  const profileNs = nowNs() - tp;

  if (args.only) return onlyRow(args.only, args.runs, exe, matrixFile, m, profile, dir, where, started);

  log('C naive sweep (one run: it waits out every AF_PACKET close in turn)');
  const naive = runC(exe, matrixFile, 'naive');

  // The whole-process figures are interleaved with the floors too, so the load of the moment
  // falls on both sides of each ratio.
  const floors: CResult[] = [];
  const diagFloors: CResult[] = [];
  const sweeps: SweepResult[] = [];
  const cliRuns: CliResult[] = [];
  const startNode: number[] = [];
  const startCli: number[] = [];
  for (let r = 0; r < args.runs; r++) {
    log(`C floors, sockbridge in-process and as a whole process, run ${r + 1}/${args.runs}`);
    floors.push(runC(exe, matrixFile, 'floor'));
    sweeps.push(await sweepInProcess(m, profile));
    diagFloors.push(runC(exe, matrixFile, 'floor', 'diag'));
    cliRuns.push(await cliRun(dir));
    diagFloors.push(runC(exe, matrixFile, 'floor', 'diag'));
    startNode.push(wallOf([process.execPath, '-e', '0']));
    startCli.push(wallOf([process.execPath, CLI, 'sweep', '--help']));
  }
  const floor = best(floors);
  const diagFloor = best(diagFloors);
  const sb = best(sweeps);
  const cli = best(cliRuns);
  const peakKiB = Math.max(...cliRuns.map((c) => Math.max(c.maxRssKiB ?? 0, c.vmHwmKiB ?? 0)));

  log('model alone');
  // Made only now, so the 192,000 case objects do not sit in the heap during the timed sweeps.
  const cases = [...matrixCases(m)];
  const modelRuns: ModelResult[] = [];
  for (let r = 0; r < args.runs; r++) modelRuns.push(modelRun(cases, profile, false));
  const model = best(modelRuns);
  const modelTrace = modelRun(cases, profile, true);
  const seccompModel = seccompModelRun(cases, profile, args.runs);
  // Issue 11: the same with Docker's current seccomp profile in force (compiled with libseccomp).
  let modelSeccomp: ModelResult | null = null;
  let seccompWhy = '';
  try {
    const { compilePolicies, withFilters } = require('../lib/host/seccomp') as typeof import('../lib/host/seccomp');
    const c = compilePolicies(profile, { seccomp: [path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'seccomp', 'docker-29.json')] });
    const filtered = withFilters(profile, c.filters, 'bench');
    const runs: ModelResult[] = [];
    for (let r = 0; r < args.runs; r++) runs.push(modelRun(cases, filtered, false));
    modelSeccomp = best(runs);
  } catch (e) {
    seccompWhy = (e as Error).message.split('\n')[0];
  }

  // The default sweep against the C floor run once per variant it ran, each in that variant's
  // condition (as uid 65534 the floor must read the baseline and the matrix: the folder opens).
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(matrixFile, 0o644);
  const defaults: DefaultRun[] = [];
  const variantFloors = new Map<string, Array<{ result: CResult; wallNs: number }>>();
  for (let r = 0; r < Math.min(args.runs, 2); r++) {
    log(`default sweep (every variant) and the C floor in each variant's condition, run ${r + 1}/${Math.min(args.runs, 2)}`);
    const d = await defaultRun();
    defaults.push(d);
    if (d.exitCode !== 0) break;
    for (const v of d.variants) {
      if (!variantFloors.has(v)) variantFloors.set(v, []);
      variantFloors.get(v)!.push(runCInCondition(exe, matrixFile, v));
    }
  }
  const def = defaults.reduce((a, b) => (b.exitCode === 0 && (a.exitCode !== 0 || b.ns < a.ns) ? b : a));
  const floorOf = [...variantFloors].map(([v, rs]) => ({ variant: v, ...rs.reduce((a, b) => (b.wallNs < a.wallNs ? b : a)) }));
  const floorSumNs = floorOf.reduce((a, f) => a + f.wallNs, 0);
  const floorNotes = def.variants.map((v) => floorCondition(v).note).filter((x): x is string => x !== undefined);

  let netns: NetnsPhase | null = null;
  let netnsWhy = '';
  if (args.crowd) {
    log(`new network namespace: both sweeps as it is, then crowded by ${CROWD_UNIX} AF_UNIX + ${CROWD_UDP} UDP sockets`);
    try {
      netns = await runNetnsPhase(dir, Math.min(args.runs, 2));
    } catch (e) {
      netnsWhy = e instanceof Error ? e.message : String(e);
      log(`crowded figure not measured: ${netnsWhy}`);
    }
  } else {
    netnsWhy = 'skipped (--no-crowd)';
  }

  // ----- checks: both sides swept the same cases and saw the same kernel results -----
  const checks: string[] = [];
  let checksOk = true;
  const check = (ok: boolean, what: string): void => {
    checks.push(`${ok ? 'ok  ' : 'BAD '} ${what}`);
    if (!ok) checksOk = false;
  };
  check(naive.cases === n && floor.cases === n && sb.cases === n, `all sweeps ran the ${n} cases of defaultMatrix()`);
  check(naive.errnoHash === floor.errnoHash && floor.errnoHash === sb.errnoHash,
    `same errno for every case: C naive ${naive.errnoHash}, C floor ${floor.errnoHash}, sockbridge ${sb.errnoHash}`);
  check(naive.created === floor.created && floor.created === sb.created,
    `same sockets created: C naive ${naive.created}, C floor ${floor.created}, sockbridge ${sb.created}`);
  check(floor.foundInProcNet === sb.foundInProcNet && diagFloor.foundInProcNet === floor.foundInProcNet,
    `same sockets found in /proc/net: C floor ${floor.foundInProcNet}, C floor by family + sock_diag ${diagFloor.foundInProcNet}, sockbridge ${sb.foundInProcNet}`);
  if (exitOk(cli)) check(true, `CLI sweep exited 0`);
  else check(false, `CLI sweep exited ${cli.exitCode}: ${cli.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  if (def.exitCode === 0 && def.variants.length > 0) {
    check(true, `default sweep exited 0 after ${def.variants.length} variants (${def.variants.join(', ')})`);
    const same = floorOf.every((f) => f.result.cases === n);
    check(same, `the C floor ran the ${n} cases in each variant's condition: ${floorOf.map((f) => `${f.variant} ${f.result.cases} cases, ${f.result.created} sockets`).join('; ')}`);
  } else {
    check(false, `default sweep exited ${def.exitCode} with ${def.variants.length} variants: ${def.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  }
  if (netns) {
    check(netns.crowded.unixRows >= CROWD_UNIX && netns.crowded.udpRows >= CROWD_UDP,
      `crowd visible in the netns: /proc/net/unix ${netns.crowded.unixRows} rows, /proc/net/udp ${netns.crowded.udpRows} rows ` +
      `(${netns.crowded.helpers} helpers, set up in ${ms(netns.crowded.setupNs)})`);
    check(netns.plain.sb.errnoHash === netns.crowded.sb.errnoHash && netns.plain.c.errnoHash === netns.crowded.c.errnoHash,
      'crowded sweeps saw the same errno for every case as uncrowded ones');
    const cw = netns.crowded;
    check(cw.c.foundInProcNet === cw.sb.foundInProcNet && cw.cFamily.foundInProcNet === cw.c.foundInProcNet && cw.cDiag.foundInProcNet === cw.c.foundInProcNet,
      `crowded: same sockets found in /proc/net by sockbridge (${cw.sb.foundInProcNet}), the C floor (${cw.c.foundInProcNet}), ` +
      `reading tables by family (${cw.cFamily.foundInProcNet}) and with sock_diag (${cw.cDiag.foundInProcNet})`);
  }

  // ----- the table -----
  const rows: Row[] = [];
  const ratio = (x: number): string => `${x.toFixed(2)}x`;
  rows.push({ figure: 'C naive sweep (socket, observe, close)', value: secs(naive.ns), target: '', ratio: '', result: 'info' });
  rows.push({ figure: 'C near-floor sweep (batched, deferred concurrent close)', value: secs(floor.ns), target: '', ratio: ratio(naive.ns / floor.ns) + ' vs naive', result: 'info' });
  rows.push({ figure: 'C near-floor, tables by family + sock_diag', value: secs(diagFloor.ns), target: '', ratio: ratio(naive.ns / diagFloor.ns) + ' vs naive', result: 'info' });
  const vsFloor = sb.ns / diagFloor.ns;
  rows.push({
    figure: 'sockbridge sweep, in-process', value: secs(sb.ns), target: `<= ${TARGET.vsFloor}x best C floor`,
    ratio: ratio(vsFloor), result: vsFloor <= TARGET.vsFloor ? 'PASS' : 'FAIL',
  });
  // Information now: how slow the naive sweep is depends on RCU grace periods, which a loaded
  // machine ends sooner (9.5 s quiet, 3 s at load 18), so it is no yardstick; the floors are.
  const vsNaive = naive.ns / sb.ns;
  rows.push({ figure: 'sockbridge speed-up over C naive', value: ratio(vsNaive), target: '', ratio: '', result: 'info' });
  const cliVs = cli.ns / diagFloor.ns;
  rows.push({
    figure: 'sweep --variants self --format jsonl, whole process', value: secs(cli.ns), target: `<= ${TARGET.cliVsFloor}x best C floor`,
    ratio: ratio(cliVs), result: exitOk(cli) && cliVs <= TARGET.cliVsFloor ? 'PASS' : 'FAIL',
  });
  const defVs = def.ns / floorSumNs;
  rows.push({
    figure: `default sweep, ${def.variants.length} variants, whole process`, value: secs(def.ns),
    target: `<= ${TARGET.defaultVsFloors}x sum of C floors (${secs(floorSumNs)})`,
    ratio: def.exitCode === 0 && floorSumNs > 0 ? ratio(defVs) : '',
    result: def.exitCode === 0 && floorSumNs > 0 && defVs <= TARGET.defaultVsFloors ? 'PASS' : 'FAIL',
  });
  if (netns) {
    const plainPer = netns.plain.sb.ns / n;
    const crowdPer = netns.crowded.sb.ns / n;
    const cr = crowdPer / plainPer;
    rows.push({
      figure: 'crowded netns, sockbridge per case', value: `${(crowdPer / 1e3).toFixed(2)} us`,
      target: `<= ${TARGET.crowded}x uncrowded (${(plainPer / 1e3).toFixed(2)} us)`, ratio: ratio(cr),
      result: cr <= TARGET.crowded ? 'PASS' : 'FAIL',
    });
    const cc = netns.crowded.c.ns / netns.plain.c.ns;
    rows.push({
      figure: 'crowded netns, C near-floor per case', value: `${(netns.crowded.c.ns / n / 1e3).toFixed(2)} us`,
      target: `(uncrowded ${(netns.plain.c.ns / n / 1e3).toFixed(2)} us)`, ratio: ratio(cc), result: 'info',
    });
    const cf = netns.crowded.cFamily.ns / netns.plain.cFamily.ns;
    rows.push({
      figure: 'crowded netns, C near-floor, tables by family', value: `${(netns.crowded.cFamily.ns / n / 1e3).toFixed(2)} us`,
      target: `(uncrowded ${(netns.plain.cFamily.ns / n / 1e3).toFixed(2)} us)`, ratio: ratio(cf), result: 'info',
    });
    const cd = netns.crowded.cDiag.ns / netns.plain.cDiag.ns;
    rows.push({
      figure: 'crowded netns, C near-floor, by family + sock_diag', value: `${(netns.crowded.cDiag.ns / n / 1e3).toFixed(2)} us`,
      target: `(uncrowded ${(netns.plain.cDiag.ns / n / 1e3).toFixed(2)} us)`, ratio: ratio(cd), result: 'info',
    });
  } else {
    rows.push({ figure: 'crowded netns, sockbridge per case', value: 'n/a', target: `<= ${TARGET.crowded}x uncrowded`, ratio: '', result: 'SKIP' });
  }
  const rate = model.predictions / (model.ns / 1e9);
  rows.push({
    figure: 'model alone, trace off', value: `${Math.round(rate).toLocaleString('en-US')}/s`,
    target: `>= ${TARGET.modelRate.toLocaleString('en-US')}/s`, ratio: ratio(rate / TARGET.modelRate),
    result: rate >= TARGET.modelRate ? 'PASS' : 'FAIL',
  });
  if (modelSeccomp) {
    const rs = modelSeccomp.predictions / (modelSeccomp.ns / 1e9);
    rows.push({
      figure: 'model alone, Docker 29 seccomp profile loaded', value: `${Math.round(rs).toLocaleString('en-US')}/s`,
      target: `>= ${TARGET.modelRate.toLocaleString('en-US')}/s`, ratio: ratio(rs / TARGET.modelRate),
      result: rs >= TARGET.modelRate ? 'PASS' : 'FAIL',
    });
  } else {
    rows.push({ figure: 'model alone, Docker 29 seccomp profile loaded', value: 'n/a', target: `>= ${TARGET.modelRate.toLocaleString('en-US')}/s (${seccompWhy})`, ratio: '', result: 'SKIP' });
  }
  const rateTrace = modelTrace.predictions / (modelTrace.ns / 1e9);
  rows.push({ figure: 'model alone, trace on', value: `${Math.round(rateTrace).toLocaleString('en-US')}/s`, target: '', ratio: '', result: 'info' });
  rows.push(seccompRow(seccompModel, TARGET.modelRate));
  const peakMB = (peakKiB * 1024) / 1e6;
  rows.push({
    figure: 'peak RSS, CLI default sweep', value: peakKiB > 0 ? `${peakMB.toFixed(1)} MB` : 'n/a',
    target: `<= ${TARGET.rssMB} MB`, ratio: peakKiB > 0 ? ratio(peakMB / TARGET.rssMB) : '',
    result: peakKiB > 0 && peakMB <= TARGET.rssMB ? 'PASS' : 'FAIL',
  });

  const out: string[] = [];
  out.push(`sockbridge bench: ${n} cases (defaultMatrix()), batch ${BATCH}, ${CLOSE_THREADS} close threads, best of ${args.runs}`);
  out.push(`machine: ${where}`);
  out.push('');
  out.push(table(rows));
  out.push('');
  out.push('where the time goes:');
  out.push(`  C naive:      socket+observe ${ms(naive.makeNs)}, close ${ms(naive.closeNs)} (${naive.created} sockets)`);
  out.push(`  C near-floor: socket+observe ${ms(floor.makeNs)}, /proc/net tables ${ms(floor.tablesNs)} (${(floor.tableBytes / 1e6).toFixed(1)} MB read), close ${ms(floor.closeNs)}`);
  out.push(`  ... sock_diag: socket+observe ${ms(diagFloor.makeNs)}, tables by family + sock_diag ${ms(diagFloor.tablesNs)}, close ${ms(diagFloor.closeNs)}`);
  out.push(`  sockbridge:   host profile ${ms(profileNs)} (not in the sweep figure); verdicts ${Object.entries(sb.kinds).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out.push(`  model:        ${(model.ns / model.predictions).toFixed(0)} ns per prediction (trace off), ${(modelTrace.ns / modelTrace.predictions).toFixed(0)} ns (trace on)`);
  out.push(`  CLI peak RSS: ru_maxrss ${cliRuns.map((c) => c.maxRssKiB ?? 'n/a').join('/')} KiB, VmHWM polled ${cliRuns.map((c) => c.vmHwmKiB ?? 'n/a').join('/')} KiB`);
  out.push(`  process:      node -e 0 ${ms(Math.min(...startNode))}, sockbridge sweep --help ${ms(Math.min(...startCli))} (start-up and loading, paid once per variant process)`);
  out.push(`  variants:     ${floorOf.map((f) => `${f.variant} C floor ${secs(f.wallNs)}`).join(', ') || 'none ran'} (each a whole process under the variant's wrapper)`);
  for (const note of floorNotes) out.push(`                ${note}`);
  if ('why' in seccompModel) out.push(`  seccomp:      ${seccompModel.why}`);
  const kf = kernelsFigures();
  if (kf.figures.length === 0) {
    out.push(`  test:kernels: ${kf.why ?? 'the last summary lists no kernel'}`);
  } else {
    out.push(`  test:kernels: last run ${kf.mtime?.toISOString() ?? '?'} (${path.relative(ROOT, kf.file)}), ${kf.totalSeconds !== undefined ? secs(kf.totalSeconds * 1e9) : '?'} in all:`);
    for (const k of kf.figures) {
      out.push(`                ${k.id}: ${k.seconds.toFixed(1)} s per kernel, ` +
        (k.guestCases > 0 ? `${((k.seconds * 1000) / k.guestCases).toFixed(2)} s per 1,000 guest cases (${k.guestCases} cases)` : 'no guest cases'));
    }
  }
  if (netns) {
    const p = netns.plain, c = netns.crowded;
    out.push(`  netns:        one read of /proc/net/unix ${ms(p.unixReadNs)} (${p.unixRows} rows) -> ${ms(c.unixReadNs)} (${c.unixRows} rows); ` +
      `/proc/net/udp ${ms(p.udpReadNs)} (${p.udpRows} rows) -> ${ms(c.udpReadNs)} (${c.udpRows} rows)`);
    out.push(`                sockbridge ${secs(p.sb.ns)} -> ${secs(c.sb.ns)}; C floor ${secs(p.c.ns)} -> ${secs(c.c.ns)} ` +
      `(its table reads ${ms(p.c.tablesNs)} -> ${ms(c.c.tablesNs)}); C floor reading tables by family ${secs(p.cFamily.ns)} -> ${secs(c.cFamily.ns)} ` +
      `(table reads ${ms(p.cFamily.tablesNs)} -> ${ms(c.cFamily.tablesNs)}); by family + sock_diag ${secs(p.cDiag.ns)} -> ${secs(c.cDiag.ns)} ` +
      `(${ms(p.cDiag.tablesNs)} -> ${ms(c.cDiag.tablesNs)})`);
  } else {
    out.push(`  netns:        not measured: ${netnsWhy}`);
  }
  out.push('');
  out.push('checks:');
  for (const c of checks) out.push(`  ${c}`);
  const failed = rows.filter((r) => r.result === 'FAIL').length;
  const skipped = rows.filter((r) => r.result === 'SKIP');
  const loadEnd = os.loadavg()[0];
  if (loadEnd > os.cpus().length) {
    out.push('');
    out.push(`note: the load average was ${loadEnd.toFixed(1)} on ${os.cpus().length} CPUs at the end: other processes competed for the CPUs ` +
      'and for RCU grace periods, so the figures are noisy; rerun on a quiet machine before quoting them.');
  }
  out.push('');
  out.push(`${failed === 0 && checksOk ? 'PASS' : 'FAIL'}: ${failed} target(s) failed` +
    `${skipped.length ? `, ${skipped.length} not measured (${skipped.map((r) => r.figure).join('; ')})` : ''}` +
    `${checksOk ? '' : ', and a check failed (the figures may not compare like with like)'}; bench took ${secs(nowNs() - started)}`);
  process.stdout.write(out.join('\n') + '\n');
  return failed === 0 && checksOk ? 0 : 1;
}

/**
 * --only ROW: that row's measure and the best C floor (tables by family + sock_diag; for the
 * default sweep, in each variant's condition), interleaved, best of `runs`. For iterating on one
 * figure; the full bench is what the README quotes.
 */
async function onlyRow(only: Only, runs: number, exe: string, matrixFile: string, m: Matrix, profile: HostProfile, dir: string, where: string, started: number): Promise<number> {
  const rows: Row[] = [];
  const ratio = (x: number): string => `${x.toFixed(2)}x`;
  const floors: CResult[] = [];
  const notes: string[] = [];
  let ok = true;
  if (only === 'inproc' || only === 'cli') {
    const ts: number[] = [];
    for (let r = 0; r < runs; r++) {
      log(`C floor and ${only}, run ${r + 1}/${runs}`);
      floors.push(runC(exe, matrixFile, 'floor', 'diag'));
      if (only === 'inproc') {
        ts.push((await sweepInProcess(m, profile)).ns);
      } else {
        const c = await cliRun(dir);
        if (!exitOk(c)) { ok = false; notes.push(`CLI sweep exited ${c.exitCode}: ${c.stderr.trim().split('\n').slice(-2).join(' | ')}`); }
        ts.push(c.ns);
      }
      floors.push(runC(exe, matrixFile, 'floor', 'diag'));
    }
    const floor = best(floors);
    const t = Math.min(...ts);
    const target = only === 'inproc' ? TARGET.vsFloor : TARGET.cliVsFloor;
    rows.push({ figure: 'C near-floor, tables by family + sock_diag', value: secs(floor.ns), target: '', ratio: '', result: 'info' });
    rows.push({
      figure: only === 'inproc' ? 'sockbridge sweep, in-process' : 'sweep --variants self --format jsonl, whole process',
      value: secs(t), target: `<= ${target}x best C floor`, ratio: ratio(t / floor.ns), result: ok && t / floor.ns <= target ? 'PASS' : 'FAIL',
    });
    notes.push(`all runs: ${ts.map((x) => secs(x)).join(', ')}; C floor ${floors.map((f) => secs(f.ns)).join(', ')}`);
  } else {
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(matrixFile, 0o644);
    const defaults: DefaultRun[] = [];
    const variantFloors = new Map<string, Array<{ result: CResult; wallNs: number }>>();
    for (let r = 0; r < runs; r++) {
      log(`default sweep and the C floor in each variant's condition, run ${r + 1}/${runs}`);
      const d = await defaultRun();
      defaults.push(d);
      if (d.exitCode !== 0) { ok = false; notes.push(`default sweep exited ${d.exitCode}: ${d.stderr.trim().split('\n').slice(-2).join(' | ')}`); break; }
      for (const v of d.variants) {
        if (!variantFloors.has(v)) variantFloors.set(v, []);
        variantFloors.get(v)!.push(runCInCondition(exe, matrixFile, v));
      }
    }
    const def = defaults.reduce((a, b) => (b.ns < a.ns ? b : a));
    const floorOf = [...variantFloors].map(([v, rs]) => ({ variant: v, ...rs.reduce((a, b) => (b.wallNs < a.wallNs ? b : a)) }));
    const sum = floorOf.reduce((a, f) => a + f.wallNs, 0);
    rows.push({
      figure: `default sweep, ${def.variants.length} variants, whole process`, value: secs(def.ns),
      target: `<= ${TARGET.defaultVsFloors}x sum of C floors (${secs(sum)})`, ratio: sum > 0 ? ratio(def.ns / sum) : '',
      result: ok && sum > 0 && def.ns / sum <= TARGET.defaultVsFloors ? 'PASS' : 'FAIL',
    });
    notes.push(`all runs: ${defaults.map((d) => secs(d.ns)).join(', ')}; C floors ${floorOf.map((f) => `${f.variant} ${secs(f.wallNs)}`).join(', ')}`);
  }
  const out = [`sockbridge bench --only ${only}: best of ${runs}`, `machine: ${where}; load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`, '', table(rows), '', ...notes];
  const failed = rows.some((r) => r.result === 'FAIL');
  out.push('', `${failed ? 'FAIL' : 'PASS'}: --only ${only}; bench took ${secs(nowNs() - started)}`);
  process.stdout.write(out.join('\n') + '\n');
  return failed ? 1 : 0;
}

function exitOk(c: CliResult): boolean {
  return c.exitCode === 0;
}

if (require.main === module) {
  main().then(
    (code) => { cleanup(); process.exitCode = code; },
    (err: unknown) => {
      cleanup();
      const usage = err instanceof UsageError;
      process.stderr.write(`bench: ${usage ? err.message : err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exitCode = 2;
    },
  );
}
