/**
 * A private tracefs instance that records socket() entries and exits and the
 * capability checks made in between, for one thread.
 *
 * Nothing global is touched: the events are enabled in instances/sockbridge-<pid>-<hex>
 * only, the pid filter and buffer size are the instance's own. What this module changes
 * it restores: close() disables the events and removes the instance, and unmounts tracefs
 * if it was this process that mounted it. The same cleanup runs on process 'exit' and on
 * SIGINT / SIGTERM (then the signal is raised again so the process still dies of it).
 * A process killed with SIGKILL cannot clean up; the next openKernelTrace() removes
 * instances whose owner pid is gone (sweepStaleInstances).
 *
 * All I/O is synchronous on purpose: cleanup must work from an 'exit' handler.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { capCapableLayout, parseEventFormat, parseTrace, TraceEvent } from './parse';

// crypto is loaded only when a trace is opened: every sweep loads this module, and crypto
// alone took longer to load than the rest of lib/ktrace.
function randomBytes(n: number): Buffer {
  return (require('crypto') as typeof import('crypto')).randomBytes(n);
}

/** The three events, as system/event. */
export const SOCKET_EVENTS = ['syscalls/sys_enter_socket', 'syscalls/sys_exit_socket', 'capability/cap_capable'] as const;
/** Without these two there is nothing to line up. cap_capable alone may be missing (older kernels). */
const REQUIRED = ['syscalls/sys_enter_socket', 'syscalls/sys_exit_socket'];

export const INSTANCE_PREFIX = 'sockbridge-';
/**
 * sockbridge-<pid>-<hex>, with "-m" when tracefs was mounted by a sockbridge process (this
 * one, or one whose instances were still there): the last "-m" instance to close unmounts.
 */
const INSTANCE_NAME = /^sockbridge-(\d+)-([0-9a-f]+)(-m)?$/;

export interface KernelTraceOptions {
  /** Thread to record (set_event_pid). Default process.pid: the addon calls socket() on the main thread. */
  pid?: number;
  /** Per-CPU ring buffer size of the instance in KiB. Default 4096 (about 60000 events per CPU). */
  bufferKb?: number;
  /** Mount tracefs at /sys/kernel/tracing when it is not mounted anywhere. Default true. */
  mount?: boolean;
}

export interface KernelTrace {
  /** The tracefs mount point used. */
  readonly tracefs: string;
  /** instances/<name> */
  readonly name: string;
  readonly dir: string;
  /**
   * Whether tracefs was mounted by sockbridge (this process, or another sockbridge process whose
   * instance was there when this one opened): then close() unmounts it if no other sockbridge
   * instance remains.
   */
  readonly mountedByUs: boolean;
  /** The events enabled (system/event) and those this kernel lacks. */
  readonly events: string[];
  readonly missing: string[];
  /** Whether cap_capable is traced and whether its format has `ret` (granted/denied). */
  readonly capTraced: boolean;
  readonly capHasRet: boolean;
  /** Stale instances of dead sockbridge processes removed when this trace was opened. */
  readonly swept: string[];
  /** The thread recorded. */
  readonly pid: number;
  /** Record another thread from now on (e.g. a child process that has not called socket() yet). */
  setPid(pid: number): void;
  /** Read and consume everything recorded so far (trace_pipe, non-blocking) and parse it. */
  collect(): TraceEvent[];
  /** The raw text of the last collect(), for fixtures and reports. */
  readonly lastText: string;
  /** Disable, remove the instance, unmount if ours. Safe to call twice. Returns problems met (empty when clean). */
  close(): string[];
  readonly closed: boolean;
}

export type Unavailable = { unavailable: string };

function readText(p: string): string {
  return fs.readFileSync(p, 'utf8');
}

function writeText(p: string, text: string): void {
  // One write() per value, as tracefs expects; O_TRUNC matters for set_event_pid and trace.
  fs.writeFileSync(p, text);
}

function errCode(e: unknown): string {
  return e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : String(e);
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}

/** Mount points of tracefs and debugfs from /proc/mounts text (pure). */
export function mountsOf(procMounts: string): { tracefs: string[]; debugfs: string[] } {
  const out = { tracefs: [] as string[], debugfs: [] as string[] };
  for (const line of procMounts.split('\n')) {
    const f = line.split(' ');
    if (f.length < 3) continue;
    // /proc/mounts escapes spaces and the like as \040.
    const where = f[1].replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (f[2] === 'tracefs') out.tracefs.push(where);
    else if (f[2] === 'debugfs') out.debugfs.push(where);
  }
  return out;
}

/**
 * Where tracefs is: an existing tracefs mount (preferring /sys/kernel/tracing), else the
 * debugfs automount at <debugfs>/tracing, else null (not mounted).
 */
export function findTracefs(procMounts?: string): string | null {
  let text = procMounts;
  if (text === undefined) {
    try { text = readText('/proc/mounts'); } catch { text = ''; }
  }
  const m = mountsOf(text);
  const pref = m.tracefs.find(p => p === '/sys/kernel/tracing') ?? m.tracefs.find(p => !p.endsWith('/debug/tracing')) ?? m.tracefs[0];
  if (pref) return pref;
  for (const d of m.debugfs) {
    const t = path.join(d, 'tracing');
    if (fs.existsSync(path.join(t, 'instances'))) return t;
  }
  return null;
}

/** PROC_PID_INIT_INO (include/linux/proc_ns.h): the inode of the initial pid namespace since 3.8. */
export const PID_NS_INIT_INO = 0xeffffffc;

/** The inode of this process's pid namespace, or null when /proc/self/ns/pid cannot be read. */
function pidNamespace(): number | null {
  try {
    const m = /^pid:\[(\d+)\]$/.exec(fs.readlinkSync('/proc/self/ns/pid'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Is process `pid` alive, and did it start before `since` (ms since epoch)? */
function ownerAlive(pid: number, sinceMs: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (errCode(e) === 'ESRCH') return false;
  }
  // The pid is in use. If that process started after the instance was made, the pid was reused.
  try {
    const stat = readText(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readText('/proc/stat'))?.[1]);
    if (Number.isFinite(startTicks) && Number.isFinite(btime)) {
      // USER_HZ is 100 on every Linux ABI node runs on.
      const startMs = (btime + startTicks / 100) * 1000;
      if (startMs > sinceMs + 2000) return false;
    }
  } catch {
    // Cannot tell: assume alive, leave the instance alone.
  }
  return true;
}

/**
 * Remove instances/sockbridge-<pid>-* whose process is gone. Returns the names removed and
 * whether any of them had mounted tracefs (so the caller can take over unmounting it).
 */
export function sweepStaleInstances(tracefs: string): { removed: string[]; problems: string[]; hadMounted: boolean } {
  const removed: string[] = [];
  const problems: string[] = [];
  let hadMounted = false;
  let names: string[] = [];
  try { names = fs.readdirSync(path.join(tracefs, 'instances')); } catch (e) {
    return { removed, problems: [`cannot list ${tracefs}/instances: ${errText(e)}`], hadMounted };
  }
  for (const name of names) {
    const m = INSTANCE_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid) continue;
    const dir = path.join(tracefs, 'instances', name);
    let since = 0;
    try { since = fs.statSync(dir).mtimeMs; } catch { continue; }
    if (ownerAlive(pid, since)) continue;
    try {
      try { writeText(path.join(dir, 'tracing_on'), '0'); } catch { /* removal is what matters */ }
      try { writeText(path.join(dir, 'events', 'enable'), '0'); } catch { /* idem */ }
      fs.rmdirSync(dir);
      removed.push(name);
      if (m[3]) hadMounted = true;
    } catch (e) {
      problems.push(`cannot remove stale trace instance ${dir}: ${errText(e)}`);
    }
  }
  return { removed, problems, hadMounted };
}

function mountNs(pid: number | 'self'): string | null {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return null;
  }
}

/**
 * Sockbridge instances other than `except` whose owner is alive and in this mount namespace,
 * i.e. that use the same tracefs mount. (Instances are global, mounts are not: a process in
 * another mount namespace uses a mount of its own, and a dead owner's instance is stale.)
 */
function otherInstances(tracefs: string, except: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(tracefs, 'instances')).filter(n => INSTANCE_NAME.test(n) && n !== except);
  } catch {
    return [];
  }
  const ours = mountNs('self');
  return names.filter(n => {
    const pid = Number(INSTANCE_NAME.exec(n)![1]);
    if (pid === process.pid) return true;
    const theirs = mountNs(pid);
    return theirs === null ? false : ours === null || theirs === ours;
  });
}

// ---------------------------------------------------------------------------
// Cleanup on exit and on signals.
// ---------------------------------------------------------------------------

const open = new Set<TraceImpl>();
let handlersInstalled = false;

function closeAll(): void {
  for (const t of [...open]) t.close();
}

function onExit(): void { closeAll(); }

function onSignal(sig: NodeJS.Signals): void {
  closeAll();
  removeHandlers();
  // With our listener gone and no other, node's default action applies: die of the signal.
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

const onSigint = (): void => onSignal('SIGINT');
const onSigterm = (): void => onSignal('SIGTERM');

function installHandlers(): void {
  if (handlersInstalled) return;
  process.on('exit', onExit);
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  handlersInstalled = true;
}

function removeHandlers(): void {
  if (!handlersInstalled) return;
  process.removeListener('exit', onExit);
  process.removeListener('SIGINT', onSigint);
  process.removeListener('SIGTERM', onSigterm);
  handlersInstalled = false;
}

// ---------------------------------------------------------------------------
// A lock shared by sockbridge processes around mount/instance/umount decisions.
// ---------------------------------------------------------------------------

/** Where the lock directory lives: /run when writable (root), else the temp directory. */
function lockPath(): string {
  try {
    fs.accessSync('/run', fs.constants.W_OK);
    return '/run/sockbridge-ktrace.lock';
  } catch {
    return path.join(os.tmpdir(), 'sockbridge-ktrace.lock');
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errCode(e) !== 'ESRCH';
  }
}

let lockDepth = 0;

/**
 * Run f holding the lock (mkdir is atomic). Held for milliseconds; a holder that died is
 * detected by its pid and the lock taken over; after 10 s of waiting, or when the lock cannot
 * be made at all, f runs unlocked rather than hang a cleanup. Re-entrant within this process.
 */
export function withLock<T>(f: () => T): T {
  if (lockDepth > 0) return f();
  const dir = lockPath();
  const deadline = Date.now() + 10_000;
  let held = false;
  for (;;) {
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
      held = true;
      break;
    } catch (e) {
      if (errCode(e) !== 'EEXIST') break; // cannot lock here at all: go on unlocked
    }
    let owner = NaN;
    try { owner = Number(readText(path.join(dir, 'pid'))); } catch { /* not written yet, or gone */ }
    let ageMs = 0;
    try { ageMs = Date.now() - fs.statSync(dir).mtimeMs; } catch { continue; }
    const stale = Number.isInteger(owner) && owner > 0 ? !pidAlive(owner) : ageMs > 5_000;
    if (Date.now() > deadline) break; // go on unlocked rather than hang a cleanup
    if (stale) {
      try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* someone else took it */ }
      continue;
    }
    sleepMs(2);
  }
  if (held) {
    try { fs.writeFileSync(path.join(dir, 'pid'), String(process.pid)); } catch { /* the age rule covers it */ }
  }
  lockDepth++;
  try {
    return f();
  } finally {
    lockDepth--;
    if (held) {
      try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* nothing to do */ }
    }
  }
}

/** What the locked part of openKernelTrace made. */
interface Made {
  root: string;
  name: string;
  dir: string;
  mountedByUs: boolean;
  have: string[];
  missing: string[];
  capHasRet: boolean;
  swept: string[];
}

class TraceImpl implements KernelTrace {
  closed = false;
  lastText = '';
  pid: number;
  constructor(
    readonly tracefs: string,
    readonly name: string,
    readonly dir: string,
    public mountedByUs: boolean,
    readonly events: string[],
    readonly missing: string[],
    readonly capHasRet: boolean,
    readonly swept: string[],
    pid: number,
  ) {
    this.pid = pid;
  }

  get capTraced(): boolean { return this.events.includes('capability/cap_capable'); }

  setPid(pid: number): void {
    if (this.closed) throw new Error(`kernel trace ${this.name} is closed`);
    if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`setPid: pid must be a positive integer, got ${pid}`);
    writeText(path.join(this.dir, 'set_event_pid'), String(pid));
    this.pid = pid;
  }

  collect(): TraceEvent[] {
    if (this.closed) throw new Error(`kernel trace ${this.name} is closed`);
    const fd = fs.openSync(path.join(this.dir, 'trace_pipe'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const chunks: Buffer[] = [];
    try {
      const buf = Buffer.alloc(1 << 16);
      for (;;) {
        let n: number;
        try {
          n = fs.readSync(fd, buf, 0, buf.length, null);
        } catch (e) {
          if (errCode(e) === 'EAGAIN') break;
          throw e;
        }
        if (n === 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
    } finally {
      fs.closeSync(fd);
    }
    this.lastText = Buffer.concat(chunks).toString('utf8');
    return parseTrace(this.lastText);
  }

  close(): string[] {
    if (this.closed) return [];
    this.closed = true;
    open.delete(this);
    if (open.size === 0) removeHandlers();
    const problems: string[] = [];
    const attempt = (what: string, f: () => void): void => {
      try { f(); } catch (e) { problems.push(`${what}: ${errText(e)}`); }
    };
    attempt(`tracing_on of ${this.dir}`, () => writeText(path.join(this.dir, 'tracing_on'), '0'));
    for (const ev of this.events) {
      attempt(`disable ${ev}`, () => writeText(path.join(this.dir, 'events', ev, 'enable'), '0'));
    }
    withLock(() => {
      attempt(`remove ${this.dir}`, () => fs.rmdirSync(this.dir));
      // Stale instances of dead sockbridge processes go too, before they could hide under an unmount.
      const stale = sweepStaleInstances(this.tracefs);
      problems.push(...stale.problems);
      if (this.mountedByUs) {
        // Other sockbridge instances opened while tracefs was mounted for sockbridge carry "-m"
        // and share the duty: the last one to close unmounts.
        const others = otherInstances(this.tracefs, this.name);
        if (others.length === 0) {
          attempt(`umount ${this.tracefs}`, () => { execFileSync('umount', [this.tracefs], { stdio: 'pipe' }); });
        } else if (!others.some(n => n.endsWith('-m'))) {
          problems.push(`left ${this.tracefs} mounted: other sockbridge trace instances use it (${others.join(', ')})`);
        }
      }
    });
    return problems;
  }
}

/**
 * Open a private trace instance recording socket() entries/exits and cap_capable for one
 * thread. Returns {unavailable: why} (and changes nothing) when tracing cannot be used:
 * not root, no tracefs, the syscall events missing.
 */
export function openKernelTrace(options: KernelTraceOptions = {}): KernelTrace | Unavailable {
  const pid = options.pid ?? process.pid;
  if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`openKernelTrace: pid must be a positive integer, got ${options.pid}`);
  const bufferKb = options.bufferKb ?? 4096;
  if (!Number.isInteger(bufferKb) || bufferKb < 4 || bufferKb > 1 << 20) {
    throw new RangeError(`openKernelTrace: bufferKb must be an integer from 4 to 1048576 (KiB per CPU), got ${options.bufferKb}`);
  }
  if (process.platform !== 'linux') return { unavailable: `kernel tracing needs Linux tracefs (this is ${process.platform})` };
  const euid = typeof process.geteuid === 'function' ? process.geteuid() : -1;
  // set_event_pid compares with task->pid, the pid in the initial pid namespace; inside a child
  // pid namespace the pids this process knows are other numbers (and instance names would
  // carry them, so the stale-instance sweeper could not judge them either).
  const pidns = pidNamespace();
  if (pidns !== null && pidns !== PID_NS_INIT_INO) {
    return { unavailable: `this process is in a child pid namespace (pid:[${pidns}]): the trace pid filter needs pids as the initial pid namespace numbers them` };
  }

  // Mounting, choosing the "-m" duty and creating the instance happen under a lock shared by
  // every sockbridge process, and so do removing an instance and unmounting (close()): else a
  // trace opening while another closes could miss the duty to unmount and leave tracefs mounted.
  const made = withLock((): Made | Unavailable => {
    let tracefs = findTracefs();
    let mountedByUs = false;
    if (tracefs === null) {
      if (options.mount === false) return { unavailable: 'tracefs is not mounted (and mounting was not allowed)' };
      const target = '/sys/kernel/tracing';
      if (!fs.existsSync(target)) {
        return { unavailable: `tracefs is not mounted and ${target} does not exist (kernel built without CONFIG_TRACING?)` };
      }
      if (euid !== 0) return { unavailable: `tracefs is not mounted, and mounting it needs root (euid is ${euid})` };
      try {
        execFileSync('mount', ['-t', 'tracefs', 'nodev', target], { stdio: 'pipe' });
      } catch (e) {
        const stderr = e && typeof e === 'object' && 'stderr' in e ? String((e as { stderr: unknown }).stderr).trim() : '';
        return { unavailable: `tracefs is not mounted and "mount -t tracefs nodev ${target}" failed: ${stderr || errText(e)}` };
      }
      tracefs = target;
      mountedByUs = true;
    }
    const root = tracefs;
    const undoMount = (): void => {
      if (mountedByUs && otherInstances(root, '').length === 0) {
        try { execFileSync('umount', [root], { stdio: 'pipe' }); } catch { /* reported by the caller's reason */ }
      }
    };
    const unavailable = (why: string): Unavailable => { undoMount(); return { unavailable: why }; };

    const instances = path.join(root, 'instances');
    if (!fs.existsSync(instances)) return unavailable(`${root} has no instances/ directory (kernel too old for trace instances)`);
    try {
      fs.accessSync(instances, fs.constants.W_OK);
    } catch {
      return unavailable(`cannot create trace instances in ${instances}: permission denied (euid ${euid}; tracing needs root)`);
    }
    const have: string[] = [];
    const missing: string[] = [];
    for (const ev of SOCKET_EVENTS) {
      if (fs.existsSync(path.join(root, 'events', ev, 'enable'))) have.push(ev); else missing.push(ev);
    }
    const missingRequired = REQUIRED.filter(e => missing.includes(e));
    if (missingRequired.length > 0) {
      return unavailable(`this kernel has no ${missingRequired.map(e => e.replace('/', ':')).join(' and ')} tracepoint (needs CONFIG_FTRACE_SYSCALLS)`);
    }
    let capHasRet = false;
    if (have.includes('capability/cap_capable')) {
      try {
        const layout = capCapableLayout(parseEventFormat(readText(path.join(root, 'events', 'capability', 'cap_capable', 'format'))));
        if (!layout.cap) {
          have.splice(have.indexOf('capability/cap_capable'), 1);
          missing.push('capability/cap_capable');
        } else {
          capHasRet = layout.ret;
        }
      } catch {
        have.splice(have.indexOf('capability/cap_capable'), 1);
        missing.push('capability/cap_capable');
      }
    }

    const sweep = sweepStaleInstances(root);
    // Whoever mounted tracefs for sockbridge, the last sockbridge instance to close unmounts it:
    // a dead owner's "-m" instance (just swept) or a live one's hands that duty to us too.
    if (sweep.hadMounted || otherInstances(root, '').some(n => n.endsWith('-m'))) mountedByUs = true;

    const name = `${INSTANCE_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}${mountedByUs ? '-m' : ''}`;
    const dir = path.join(instances, name);
    try {
      fs.mkdirSync(dir);
    } catch (e) {
      return unavailable(`cannot create trace instance ${dir}: ${errText(e)}`);
    }
    return { root, name, dir, mountedByUs, have, missing, capHasRet, swept: sweep.removed };
  });
  if ('unavailable' in made) return made;
  const { dir } = made;
  const trace = new TraceImpl(made.root, made.name, dir, made.mountedByUs, made.have, made.missing, made.capHasRet, made.swept, pid);
  open.add(trace);
  installHandlers();
  try {
    writeText(path.join(dir, 'tracing_on'), '0');
    writeText(path.join(dir, 'buffer_size_kb'), String(bufferKb));
    // The default "local" clock is per CPU; a thread that migrates needs one clock for all.
    const clocks = readText(path.join(dir, 'trace_clock'));
    const clock = ['mono', 'global'].find(c => new RegExp(`(^|[\\s\\[])${c}([\\s\\]]|$)`).test(clocks));
    if (clock) writeText(path.join(dir, 'trace_clock'), clock);
    trace.setPid(pid);
    for (const ev of made.have) writeText(path.join(dir, 'events', ev, 'enable'), '1');
    writeText(path.join(dir, 'tracing_on'), '1');
  } catch (e) {
    const problems = trace.close();
    return { unavailable: `cannot set up trace instance ${dir}: ${errText(e)}${problems.length ? ` (cleanup: ${problems.join('; ')})` : ''}` };
  }
  return trace;
}

/** Whether openKernelTrace gave a trace. */
export function isUnavailable(t: KernelTrace | Unavailable): t is Unavailable {
  return 'unavailable' in t;
}
