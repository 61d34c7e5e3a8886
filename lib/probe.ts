/**
 * The kernel road: real socket() calls through the addon (lib/native.ts), each new fd
 * observed in full and found in /proc/net by its inode.
 *
 * A batch is one crossing into the addon. With close: 'defer' (the default) every new fd
 * stays open until the /proc/net tables have been read once for the whole batch and joined
 * by inode; then all of them are closed together from worker threads (an AF_PACKET close
 * waits for an RCU grace period, and concurrent closes share one). Every fd is closed even
 * when reading or parsing throws.
 */
import * as util from 'util';
import { native } from './native';
import type { NativeBatchResult } from './native';
import { NET_TABLES, parseFdinfo, readSocketTables, SocketTableEntry } from './observe';
import type { Observation, SocketCase } from './types';

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
/** The addon refuses more (native/probe.cc kMaxCloseThreads). */
export const MAX_CLOSE_THREADS = 256;
/**
 * An AF_PACKET close sleeps ~14 ms here waiting for an RCU grace period; the waits overlap, so
 * closing 2,000 of them took 28 s on 1 thread, 1.2 s on 32 and 0.2 s on 128. Cheap fds (unix)
 * close in the same time on 1 or 256 threads, and the addon starts no more threads than fds.
 */
export const DEFAULT_CLOSE_THREADS = 128;

export interface ObserveBatchOptions {
  /**
   * 'defer' (default): keep the new fds open until /proc/net is read, then close them all;
   * each case sees the fds that earlier cases of the batch left open.
   * 'now': the addon closes each fd right after observing it, so every case sees the same
   * fd table; /proc/net cannot be read then, and procNet stays undefined.
   */
  close?: 'now' | 'defer';
  /** Threads for the deferred close, 1..256 (default 128, never more than the fds to close). */
  closeThreads?: number;
  /** Look each new socket up in /proc/net (default: true with 'defer'; needs 'defer'). */
  procNet?: boolean;
  /**
   * Called once while the batch's fds are still open (after /proc/net was read), with the
   * observations so far, e.g. to read counters or to check an fd from outside the addon.
   */
  whileOpen?: (observations: readonly Observation[]) => void;
}

// ---------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------

/** The errno's name: Node's (libuv) name, else glibc's strerrorname_np, else "Unknown system error N". */
export function errnoName(errno: number): string {
  checkInt32(errno, 'errno');
  const e = Math.abs(errno);
  try {
    const name = util.getSystemErrorName(-e);
    if (!name.startsWith('Unknown system error')) return name;
  } catch {
    // getSystemErrorName throws for 0; fall through to the addon.
  }
  let fromLibc = '';
  try {
    fromLibc = native().strerrorname(e);
  } catch {
    // The addon is not built: the name stays unknown.
  }
  return fromLibc !== '' ? fromLibc : `Unknown system error ${e}`;
}

function errnoDescription(errno: number): string | undefined {
  const map = (util as unknown as { getSystemErrorMap?: () => Map<number, [string, string]> }).getSystemErrorMap;
  return map?.().get(-Math.abs(errno))?.[1];
}

/**
 * An Error shaped like the ones Node's own syscalls throw (fs, net): `code` ('EMFILE'),
 * negative `errno`, `syscall`, and a message "syscall CODE (description)".
 */
export function systemError(errno: number, syscall: string): NodeJS.ErrnoException {
  checkInt32(errno, 'errno');
  if (errno === 0) throw new RangeError('systemError: errno must be non-zero (0 means success)');
  if (typeof syscall !== 'string' || syscall === '') {
    throw new TypeError(`systemError: syscall must be a non-empty string such as "socket" (got ${describe(syscall)})`);
  }
  const code = errnoName(errno);
  const desc = errnoDescription(errno);
  const err = new Error(`${syscall} ${code}${desc ? ` (${desc})` : ''}`) as NodeJS.ErrnoException;
  err.code = code;
  err.errno = -Math.abs(errno);
  err.syscall = syscall;
  return err;
}

// ---------------------------------------------------------------------------
// argument checks
// ---------------------------------------------------------------------------

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function checkInt32(v: unknown, name: string): asserts v is number {
  if (typeof v !== 'number') throw new TypeError(`${name} must be an integer number (got ${typeof v} ${describe(v)})`);
  if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
    throw new RangeError(`${name} must be an integer from ${INT32_MIN} to ${INT32_MAX} (got ${describe(v)})`);
  }
}

function checkCases(cases: unknown): asserts cases is SocketCase[] {
  if (!Array.isArray(cases)) {
    throw new TypeError(`cases must be an array of {domain, type, protocol} (got ${describe(cases)})`);
  }
  for (let i = 0; i < cases.length; i++) {
    const c: unknown = cases[i];
    if (typeof c !== 'object' || c === null) {
      throw new TypeError(`cases[${i}] must be an object {domain, type, protocol} (got ${describe(c)})`);
    }
    const o = c as Record<string, unknown>;
    checkInt32(o.domain, `cases[${i}].domain`);
    checkInt32(o.type, `cases[${i}].type`);
    checkInt32(o.protocol, `cases[${i}].protocol`);
  }
}

interface CheckedOptions {
  close: 'now' | 'defer';
  closeThreads: number;
  procNet: boolean;
  whileOpen: ((observations: readonly Observation[]) => void) | undefined;
}

function checkOptions(opts: unknown): CheckedOptions {
  if (opts === undefined) return { close: 'defer', closeThreads: DEFAULT_CLOSE_THREADS, procNet: true, whileOpen: undefined };
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`options must be an object (got ${describe(opts)})`);
  const o = opts as Record<string, unknown>;
  const close = o.close ?? 'defer';
  if (close !== 'now' && close !== 'defer') {
    throw new RangeError(`options.close must be 'now' or 'defer' (got ${describe(o.close)})`);
  }
  const closeThreads = o.closeThreads ?? DEFAULT_CLOSE_THREADS;
  checkInt32(closeThreads, 'options.closeThreads');
  if (closeThreads < 1 || closeThreads > MAX_CLOSE_THREADS) {
    throw new RangeError(`options.closeThreads must be from 1 to ${MAX_CLOSE_THREADS} (got ${closeThreads})`);
  }
  const procNet = o.procNet ?? close === 'defer';
  if (typeof procNet !== 'boolean') throw new TypeError(`options.procNet must be a boolean (got ${describe(o.procNet)})`);
  if (procNet && close === 'now') {
    throw new RangeError("options.procNet needs close: 'defer': /proc/net can only list a socket while its fd is open");
  }
  const whileOpen = o.whileOpen;
  if (whileOpen !== undefined && typeof whileOpen !== 'function') {
    throw new TypeError(`options.whileOpen must be a function (got ${describe(whileOpen)})`);
  }
  if (whileOpen !== undefined && close === 'now') {
    throw new RangeError("options.whileOpen needs close: 'defer': with 'now' no fd of the batch is open after the call");
  }
  return { close, closeThreads, procNet, whileOpen: whileOpen as CheckedOptions['whileOpen'] };
}

// ---------------------------------------------------------------------------
// observations
// ---------------------------------------------------------------------------

/** The /proc/net row as the Observation's string record (null columns left out). */
function rowRecord(entry: SocketTableEntry): { table: string; row: Record<string, string> } {
  const row: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry.row)) if (v !== null) row[k] = String(v);
  return { table: entry.table, row };
}

function observationOf(c: SocketCase, r: NativeBatchResult, i: number): Observation {
  const errno = r.errno[i];
  const o: Observation = { case: { domain: c.domain, type: c.type, protocol: c.protocol }, errno, fd: errno === 0 ? r.fd[i] : -1 };
  if (errno !== 0) return o;
  const fd = r.fd[i];
  if (r.link[i] !== '') o.link = r.link[i];
  if (r.fdinfo[i] !== '') o.fdinfo = parseFdinfo(r.fdinfo[i], `/proc/self/fdinfo/${fd}`);
  o.stat = { mode: r.stMode[i], uid: r.stUid[i], gid: r.stGid[i], ino: r.stIno[i] };
  if (r.fdFlags[i] !== -1) o.fdFlags = r.fdFlags[i];
  if (r.flFlags[i] !== -1) o.flFlags = r.flFlags[i];
  if (r.soDomain[i] !== -1) o.soDomain = r.soDomain[i];
  if (r.soType[i] !== -1) o.soType = r.soType[i];
  if (r.soProtocol[i] !== -1) o.soProtocol = r.soProtocol[i];
  if (r.protoName[i] !== '') o.protoName = r.protoName[i];
  return o;
}

/** The socket inode of a "socket:[N]" link, or NaN. */
export function linkInode(link: string | undefined): number {
  const m = link === undefined ? null : /^socket:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : NaN;
}

/**
 * socket() for every case in one crossing into the addon, each result recorded exactly.
 * A failed socket() is an observation (errno set, fd -1), not an exception; only bad
 * arguments throw, and a failed close() of the batch's own fds (a SystemError after every
 * fd has been closed).
 */
/**
 * The /proc/net tables each family's sockets can appear in (SO_DOMAIN of the new socket: the
 * PF_INET/SOCK_PACKET rewrite reads 17 and lands in packet). Families with no table here
 * (vsock, xdp, ...) are shown only by sock_diag: in no /proc/net table.
 */
const TABLES_OF_FAMILY: Record<number, readonly string[]> = {
  1: ['unix'],
  2: ['tcp', 'udp', 'udplite', 'raw', 'icmp'],
  10: ['tcp6', 'udp6', 'udplite6', 'raw6', 'icmp6'],
  16: ['netlink'],
  17: ['packet'],
};

export function observeBatch(cases: readonly SocketCase[], opts?: ObserveBatchOptions): Observation[] {
  checkCases(cases);
  const o = checkOptions(opts);
  const n = cases.length;
  if (n === 0) return [];
  const domains = new Int32Array(n);
  const types = new Int32Array(n);
  const protocols = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    domains[i] = cases[i].domain;
    types[i] = cases[i].type;
    protocols[i] = cases[i].protocol;
  }
  const addon = native();
  const r = addon.probeBatch(domains, types, protocols, { close: o.close });
  if (o.close === 'now') {
    const out: Observation[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = observationOf(cases[i], r, i);
    return out;
  }

  let open = 0;
  for (let i = 0; i < n; i++) if (r.errno[i] === 0) open++;
  const fds = new Int32Array(open);
  for (let i = 0, k = 0; i < n; i++) if (r.errno[i] === 0) fds[k++] = r.fd[i];

  let done = false;
  try {
    const out: Observation[] = new Array(n);
    const inodes = new Set<number>();
    const tables = new Set<string>();
    for (let i = 0; i < n; i++) {
      const ob = observationOf(cases[i], r, i);
      out[i] = ob;
      if (ob.stat) {
        inodes.add(ob.stat.ino);
        for (const t of TABLES_OF_FAMILY[ob.soDomain ?? -1] ?? []) tables.add(t);
      }
    }
    if (o.procNet && tables.size > 0) {
      // Only the tables that can list a socket of the families this batch created: a crowded
      // namespace's 100,000-row unix table is not read for a batch that made no AF_UNIX socket.
      const index = readSocketTables(NET_TABLES.filter((t) => tables.has(t)), { inodes, onlyPresent: true });
      for (const ob of out) {
        if (!ob.stat) continue;
        const e = index.get(ob.stat.ino);
        ob.procNet = e ? rowRecord(e) : null;
      }
    } else if (o.procNet) {
      for (const ob of out) if (ob.stat) ob.procNet = null;
    }
    o.whileOpen?.(out);
    done = true;
    return out;
  } finally {
    if (open > 0) {
      const errs = addon.closeFds(fds, Math.min(o.closeThreads, open));
      if (done) {
        for (let k = 0; k < errs.length; k++) {
          if (errs[k] !== 0) {
            const err = systemError(errs[k], 'close');
            err.message += ` closing fd ${fds[k]} of this batch (every other fd was closed)`;
            // eslint-disable-next-line no-unsafe-finally
            throw err;
          }
        }
      }
    }
  }
}

/**
 * One socket(domain, type, protocol), observed and closed. The fd is kept open only for
 * the /proc/net read, so the observation is as complete as a batch's.
 */
export function observeSocket(domain: number, type: number, protocol: number): Observation {
  checkInt32(domain, 'domain');
  checkInt32(type, 'type');
  checkInt32(protocol, 'protocol');
  return observeBatch([{ domain, type, protocol }], { close: 'defer', closeThreads: 1, procNet: true })[0];
}
