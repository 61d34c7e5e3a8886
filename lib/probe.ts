/**
 * The kernel road: real socket() calls through the addon (lib/native.ts), each new fd
 * observed in full and found in /proc/net by its inode.
 *
 * A batch is one crossing into the addon. With close: 'defer' (the default) every new fd
 * stays open until the batch's sockets have been looked up once in /proc/net and joined by
 * inode; then all of them are closed together from worker threads (an AF_PACKET close
 * waits for an RCU grace period, and concurrent closes share one). Every fd is closed even
 * when reading or parsing throws.
 *
 * The unix, tcp, udp and udplite tables (v4 and v6) are asked of sock_diag rather than read
 * as text (lookupSocketRows): a /proc/net text table restarts its walk at every ~4 KB read, so
 * in a namespace crowded with other sockets one read costs hundreds of ms, while one netlink
 * dump walks the same hash once and lists the same sockets. raw, icmp, packet and netlink
 * stay text (small tables; raw_diag is often not built). When sock_diag cannot answer for a
 * table, that table is read as text; socketLookupSources() says which way each table went.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as util from 'util';
import { native } from './native';
import type { NativeAddon, NativeBatchHandle, NativeBatchResult, NativeLookup, NativeNetTable, NativePipelineResult, ProbeOptions } from './native';
import { formatIPv6, getProcRoot, indexSocketTable, NET_TABLES, NetTableName, parseFdinfo, procPath, ProcReadError, readSocketTables, SocketTableEntry } from './observe';
import type { CaseColumns, Observation, SocketCase } from './types';
import { EACCES, EAFNOSUPPORT, EINVAL, ENOENT, EOPNOTSUPP, EPERM, EPROTONOSUPPORT } from './abi/errno';

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
   * Called once while the batch's fds are still open, with the observations, e.g. to read
   * counters or to check an fd from outside the addon. It runs before the batch's sockets are
   * looked up in /proc/net, because that lookup opens a NETLINK_SOCK_DIAG socket of its own:
   * closed again at once, but freed only after an RCU grace period, so "sockets: used" in
   * /proc/net/sockstat would still count it. procNet is filled in afterwards, in the same
   * observation objects.
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
    // The names are built only for a bad value: a batch checks 6,000 of them.
    if (!isInt32(o.domain)) checkInt32(o.domain, `cases[${i}].domain`);
    if (!isInt32(o.type)) checkInt32(o.type, `cases[${i}].type`);
    if (!isInt32(o.protocol)) checkInt32(o.protocol, `cases[${i}].protocol`);
  }
}

function isInt32(v: unknown): boolean {
  return typeof v === 'number' && (v | 0) === v;
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
function rowRecord(entry: SocketTableEntry): { table: NetTableName; row: Record<string, string> } {
  const row: Record<string, string> = {};
  // for-in over the parsed row (a plain object): the same keys in the same order as Object.entries.
  const parsed = entry.row as unknown as Record<string, unknown>;
  for (const k in parsed) {
    const v = parsed[k];
    if (v !== null) row[k] = typeof v === 'string' ? v : String(v);
  }
  return { table: entry.table, row };
}

// ---------------------------------------------------------------------------
// finding sockets: sock_diag, or the /proc/net text
// ---------------------------------------------------------------------------

/** The diag calls of the addon (lib/native.ts), or a stand-in for them. */
export type SockDiag = Pick<NativeAddon, 'diagUnix' | 'diagInet'>;

/** How one table's rows were found by the last lookup that needed that table. */
export interface TableSource {
  table: NetTableName;
  source: 'sock_diag' | 'text';
  /** unix_diag only: 'exact' lookups by inode or one 'dump'. */
  via?: 'exact' | 'dump';
  /** Read as text although sock_diag serves this table: the errno sock_diag answered (0 when not asked). */
  errno?: number;
  why?: string;
}

/** The tables sock_diag answers for, and how to ask it: family and, for inet, the protocol. */
const DIAG_OF_TABLE: Partial<Record<NetTableName, { family: 1 | 2 | 10; protocol: number }>> = {
  unix: { family: 1, protocol: 0 },
  tcp: { family: 2, protocol: 6 },
  tcp6: { family: 10, protocol: 6 },
  udp: { family: 2, protocol: 17 },
  udp6: { family: 10, protocol: 17 },
  udplite: { family: 2, protocol: 136 },
  udplite6: { family: 10, protocol: 136 },
};

/** The tables lookupSocketRows asks sock_diag for (the others are read as text). */
export const SOCK_DIAG_TABLES: readonly NetTableName[] = NET_TABLES.filter((t) => DIAG_OF_TABLE[t] !== undefined);

/**
 * errnos that say this kernel cannot answer for a table by sock_diag at all (no
 * NETLINK_SOCK_DIAG, no diag handler for the family or protocol, refused by policy): the
 * table is then read as text for the rest of the process without asking again. Any other
 * errno (EMFILE, ENOMEM, ENOBUFS, ...) sends only this lookup to the text.
 */
const DIAG_UNAVAILABLE = new Set([EPROTONOSUPPORT, ENOENT, EAFNOSUPPORT, EOPNOTSUPP, EINVAL, EACCES, EPERM]);
const diagUnavailable = new Map<NetTableName, number>();
const lastSources = new Map<NetTableName, TableSource>();

/**
 * How each table was read by the most recent observeBatch that needed it, in NET_TABLES
 * order: 'sock_diag' or 'text', and for a sock_diag table read as text, the errno and why.
 */
export function socketLookupSources(): TableSource[] {
  return NET_TABLES.filter((t) => lastSources.has(t)).map((t) => ({ ...(lastSources.get(t) as TableSource) }));
}

function whyText(errno: number): string {
  switch (errno) {
    case EPROTONOSUPPORT: return 'the kernel has no NETLINK_SOCK_DIAG';
    case ENOENT: return 'the kernel has no sock_diag handler for this table (diag not built)';
    default: return `sock_diag answered ${errnoName(errno)}`;
  }
}

/** "/proc/net/unix" prints a name: a path without its NUL, an abstract name as "@..."; NUL bytes as '@'. */
function unixPath(name: string): string {
  let s = name;
  if (s.charCodeAt(0) !== 0 && s.endsWith('\0')) s = s.slice(0, -1);
  s = s.replace(/\0/g, '@');
  return Buffer.from(s, 'latin1').toString('utf8');
}

function inetAddress(bytes: Uint8Array, i: number, v6: boolean): string {
  const b = Array.from(bytes.subarray(16 * i, 16 * i + (v6 ? 16 : 4)));
  return v6 ? formatIPv6(b) : b.join('.');
}

type Found = Map<number, { table: NetTableName; row: Record<string, string> }>;

/** What lookupSocketRows found: the row of each inode found, and how each table was read. */
export interface SocketLookup {
  rows: Found;
  /** One per table asked about, in NET_TABLES order. */
  sources: TableSource[];
}

/** One sock_diag table into `out` (first table wins); the errno when sock_diag could not answer. */
function diagTable(diag: SockDiag, table: NetTableName, inodes: Float64Array, out: Found | LazyFound, src: TableSource): number {
  const how = DIAG_OF_TABLE[table] as { family: 1 | 2 | 10; protocol: number };
  if (how.family === 1) {
    const r = diag.diagUnix(inodes);
    if (r.found === undefined) return r.errno === 0 ? ENOENT : r.errno;
    src.via = r.via;
    for (let i = 0; i < inodes.length; i++) {
      if (r.found[i] !== 1 || out.has(inodes[i])) continue;
      // st and flags as unix_seq_show derives them from sk_state for a socket with a file.
      const state = r.state[i];
      const row: Record<string, string> = {
        flags: String(state === 10 ? 0x10000 : 0), type: String(r.type[i]), st: String(state === 1 ? 3 : 1),
        inode: String(inodes[i]), state: String(state),
      };
      if (r.name[i] !== '') row.path = unixPath(r.name[i]);
      if (r.shutdown[i] !== -1) row.shutdown = String(r.shutdown[i]);
      out.set(inodes[i], { table, row });
    }
    return 0;
  }
  const r = diag.diagInet(how.family, how.protocol, inodes);
  if (r.found === undefined) return r.errno === 0 ? ENOENT : r.errno;
  const v6 = how.family === 10;
  for (let i = 0; i < inodes.length; i++) {
    if (r.found[i] !== 1 || out.has(inodes[i])) continue;
    const row: Record<string, string> = {
      localAddress: inetAddress(r.src, i, v6), localPort: String(r.sport[i]),
      remAddress: inetAddress(r.dst, i, v6), remPort: String(r.dport[i]), st: String(r.state[i]),
    };
    // For a TCP listener tcp_diag reports the accept queue and its backlog where the text has
    // rx_queue = the accept queue and tx_queue = the (empty) send queue.
    if (how.protocol === 6 && r.state[i] === 10) row.backlog = String(r.wqueue[i]);
    else row.txQueue = String(r.wqueue[i]);
    row.rxQueue = String(r.rqueue[i]);
    row.tr = String(r.timer[i]);
    row.retrnsmt = String(r.retrans[i]);
    row.expiresMs = String(r.expires[i]);
    row.uid = String(r.uid[i]);
    row.inode = String(inodes[i]);
    row.ifindex = String(r.ifindex[i]);
    out.set(inodes[i], { table, row });
  }
  return 0;
}

export interface LookupSocketRowsOptions {
  /**
   * The sock_diag calls: the addon's (default), a stand-in (tests), or null to read every
   * table as text. Only the addon's answers are remembered across calls.
   */
  diag?: SockDiag | null;
}

/**
 * Find these socket inodes in these /proc/net tables, each table asked once: unix, tcp, udp
 * and udplite (v4, v6) by sock_diag, the others (raw, icmp, packet, netlink) as text. A
 * table sock_diag cannot answer for, or every table when the proc root is not /proc
 * (setProcRoot, SOCKBRIDGE_PROC_ROOT), is read as text. When an inode is in two tables the
 * first in NET_TABLES order wins, as with readSocketTables.
 *
 * The row is the table's columns as strings. A text row has the parsed columns (UnixRow,
 * InetRow, ...). A sock_diag row has what the diag message carries:
 *  - unix: inode, type, st and flags (derived from sk_state as unix_seq_show does: st 3
 *    SS_CONNECTED when established else 1, flags 0x10000 when listening), state (sk_state),
 *    path (formatted as /proc/net/unix prints it; absent when unbound), shutdown. No num
 *    and refCount (diag has no kernel address or refcount).
 *  - tcp, udp, udplite: localAddress, localPort, remAddress, remPort, st, txQueue, rxQueue,
 *    tr (timer), retrnsmt, uid, inode as in the text, and expiresMs (the timer in ms, where
 *    the text has tmWhen in jiffies) and ifindex. A TCP listener has backlog (its listen()
 *    backlog) instead of txQueue. No sl, pointer, ref, drops.
 */
export function lookupSocketRows(
  tables: readonly NetTableName[], inodes: ReadonlySet<number>, opts: LookupSocketRowsOptions = {},
): SocketLookup {
  const found = lookupSocketRowsLazy(tables, inodes, opts);
  const rows: Found = new Map();
  for (const [ino, e] of found.rows) rows.set(ino, e instanceof SocketTableEntry ? rowRecord(e) : e);
  return { rows, sources: found.sources };
}

/** A row found, or (a text table) the line it is on, parsed when asked (rowOf). */
type LazyFound = Map<number, { table: NetTableName; row: Record<string, string> } | SocketTableEntry>;

function rowOf(e: { table: NetTableName; row: Record<string, string> } | SocketTableEntry): { table: NetTableName; row: Record<string, string> } {
  return e instanceof SocketTableEntry ? rowRecord(e) : e;
}

/**
 * lookupSocketRows with the text tables' lines not parsed yet: their text is read now (while the
 * batch's fds are open), their columns parsed by rowOf later (a sweep does it while the next
 * batch's calls run). A line that does not parse throws then.
 */
function lookupSocketRowsLazy(
  tables: readonly NetTableName[], inodes: ReadonlySet<number>, opts: LookupSocketRowsOptions = {},
): { rows: LazyFound; sources: TableSource[] } {
  if (!Array.isArray(tables)) throw new TypeError(`tables must be an array of /proc/net table names (${NET_TABLES.join(', ')}), got ${describe(tables)}`);
  for (const t of tables) {
    if (!(NET_TABLES as readonly unknown[]).includes(t)) {
      throw new RangeError(`unknown /proc/net socket table ${describe(t)}: valid names are ${NET_TABLES.join(', ')}`);
    }
  }
  if (!(inodes instanceof Set)) throw new TypeError(`inodes must be a Set of socket inode numbers, got ${describe(inodes)}`);
  const diag = opts.diag === undefined ? native() : opts.diag;
  const remember = opts.diag === undefined;
  const want = NET_TABLES.filter((t) => tables.includes(t));
  const inodeArray = Float64Array.from(inodes);
  const procRoot = getProcRoot();
  const out: LazyFound = new Map();
  const sources = new Map<NetTableName, TableSource>();
  const text: NetTableName[] = [];
  for (const table of want) {
    const src: TableSource = { table, source: 'text' };
    sources.set(table, src);
    if (DIAG_OF_TABLE[table] === undefined) {
      text.push(table);
      continue;
    }
    let errno = remember ? diagUnavailable.get(table) ?? 0 : 0;
    if (diag === null) {
      src.why = 'sock_diag not asked (diag: null)';
    } else if (procRoot !== '/proc') {
      src.why = `the proc root is ${procRoot}: tables are read from there`;
    } else if (errno !== 0) {
      src.why = `${whyText(errno)} (remembered)`;
    } else {
      errno = inodeArray.length === 0 ? 0 : diagTable(diag, table, inodeArray, out, src);
      if (errno === 0) {
        src.source = 'sock_diag';
        continue;
      }
      if (remember && DIAG_UNAVAILABLE.has(errno)) diagUnavailable.set(table, errno);
      src.why = whyText(errno);
    }
    src.errno = errno;
    text.push(table);
  }
  if (text.length > 0) {
    // The order of tables matters only when an inode is in two of them, which the kernel never does.
    for (const [ino, e] of readSocketTables(text, { inodes, onlyPresent: true })) if (!out.has(ino)) out.set(ino, e);
  }
  return { rows: out, sources: [...sources.values()] };
}

function observationOf(c: SocketCase, r: NativeBatchResult, i: number): Observation {
  const errno = r.errno[i];
  const o: Observation = { case: { domain: c.domain, type: c.type, protocol: c.protocol }, errno, fd: errno === 0 ? r.fd[i] : -1 };
  if (c.raw !== undefined) o.case.raw = [c.raw[0], c.raw[1], c.raw[2]];
  const sig = r.signal[i];
  if (sig > 0) o.signal = { signal: sig, fatal: false };
  else if (sig === -1) o.notRun = true;
  if (errno !== 0 || sig !== 0) return o;
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
  15: ['pfkey'],
  16: ['netlink'],
  17: ['packet'],
  31: ['l2cap', 'hci', 'sco', 'rfcomm', 'bnep', 'cmtp', 'hidp', 'iso'],
};

/**
 * observeBatch, with the observations left to be built (observationsOf, observationAt): a sweep
 * builds only the observations it reports in full. `whileOpen` is called while the batch's fds
 * are open, as options.whileOpen is by observeBatch (which this function does not take).
 */
export function observeBatchRaw(cases: readonly SocketCase[], opts?: Omit<ObserveBatchOptions, 'whileOpen'>, whileOpen?: () => void): RawBatch {
  if (opts !== undefined && (opts as ObserveBatchOptions).whileOpen !== undefined) throw new TypeError('observeBatchRaw takes whileOpen as its third argument, not as an option');
  const b = prepareBatch(cases, opts);
  if (b.n === 0) return { cases, r: emptyResult(), rows: undefined };
  const r = native().probeBatch(b.domains, b.types, b.protocols, b.probeOpts);
  return completeRaw(cases, b.o, r, whileOpen);
}

export function observeBatch(cases: readonly SocketCase[], opts?: ObserveBatchOptions): Observation[] {
  const b = prepareBatch(cases, opts);
  if (b.n === 0) return [];
  return completeBatch(cases, b.o, native().probeBatch(b.domains, b.types, b.protocols, b.probeOpts));
}

/** A finished batch before its observations are built (observationsOf, observationAt). */
export interface RawBatch {
  cases: readonly SocketCase[];
  r: NativeBatchResult;
  /** Each new socket's /proc/net row by inode (text rows parsed when read); undefined when /proc/net was not asked. */
  rows: LazyFound | undefined;
}

function emptyResult(): NativeBatchResult {
  const i = new Int32Array(0);
  const u = new Uint32Array(0);
  return {
    errno: i, fd: i, fdFlags: i, flFlags: i, soDomain: i, soType: i, soProtocol: i, stMode: u, stUid: u, stGid: u,
    stIno: new Float64Array(0), link: [], fdinfo: [], protoName: [], signal: i,
  };
}

interface PreparedBatch {
  o: CheckedOptions;
  n: number;
  domains: Int32Array;
  types: Int32Array;
  protocols: Int32Array;
  probeOpts: ProbeOptions;
}

function prepareBatch(cases: readonly SocketCase[], opts?: ObserveBatchOptions): PreparedBatch {
  checkCases(cases);
  const o = checkOptions(opts);
  const n = cases.length;
  const domains = new Int32Array(n);
  const types = new Int32Array(n);
  const protocols = new Int32Array(n);
  let anyRaw = false;
  for (let i = 0; i < n; i++) {
    const c = cases[i];
    domains[i] = c.domain;
    types[i] = c.type;
    protocols[i] = c.protocol;
    if (c.raw !== undefined) anyRaw = true;
  }
  let raw: BigUint64Array | undefined;
  if (anyRaw) {
    raw = new BigUint64Array(3 * n);
    for (let i = 0; i < n; i++) {
      const c = cases[i];
      for (let j = 0; j < 3; j++) raw[3 * i + j] = c.raw !== undefined ? BigInt.asUintN(64, BigInt(c.raw[j])) : BigInt([c.domain, c.type, c.protocol][j] >>> 0);
    }
  }
  return { o, n, domains, types, protocols, probeOpts: raw ? { close: o.close, raw } : { close: o.close } };
}

/** Everything after the calls: observations, whileOpen, /proc/net, and the deferred close. */
function completeBatch(cases: readonly SocketCase[], o: CheckedOptions, r: NativeBatchResult): Observation[] {
  let early: Observation[] | null = null;
  const whileOpen = o.whileOpen;
  const raw = completeRaw(cases, o, r, whileOpen ? () => { early = buildObservations(cases, r); whileOpen(early); } : undefined);
  return observationsOf(raw, early);
}

function buildObservations(cases: readonly SocketCase[], r: NativeBatchResult): Observation[] {
  const n = cases.length;
  const out: Observation[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = observationOf(cases[i], r, i);
  return out;
}

/**
 * The observations of a finished batch (RawBatch), as observeBatch returns them. `built`: the
 * same observations made earlier (for whileOpen), given their procNet here.
 */
export function observationsOf(raw: RawBatch, built: Observation[] | null = null): Observation[] {
  const out = built ?? buildObservations(raw.cases, raw.r);
  if (raw.rows !== undefined) for (const ob of out) withProcNet(ob, raw.rows);
  return out;
}

/** A new socket's /proc/net row (or null: listed nowhere), from a batch's rows by inode. */
function withProcNet(ob: Observation, rows: LazyFound): void {
  if (!ob.stat) return;
  const found = rows.get(ob.stat.ino);
  const e = found === undefined ? undefined : rowOf(found);
  ob.procNet = e ? { table: e.table, row: e.row } : null;
}

/** The fds a finished batch left open (no errno, no signal, not seccomp's ERRNO(0)), in case order. */
function openFdsOf(r: NativeBatchResult): Int32Array {
  const n = r.errno.length;
  let open = 0;
  for (let i = 0; i < n; i++) if (r.errno[i] === 0 && r.signal[i] === 0) open++;
  const fds = new Int32Array(open);
  for (let i = 0, k = 0; i < n; i++) if (r.errno[i] === 0 && r.signal[i] === 0) fds[k++] = r.fd[i];
  return fds;
}

/** Each new socket's /proc/net row by inode, read while the batch's fds are open. */
function lookupRows(o: CheckedOptions, r: NativeBatchResult): LazyFound | undefined {
  if (!o.procNet) return undefined;
  const n = r.errno.length;
  const inodes = new Set<number>();
  const tables = new Set<string>();
  for (let i = 0; i < n; i++) {
    if (r.errno[i] !== 0 || r.signal[i] !== 0) continue;
    inodes.add(r.stIno[i]);
    for (const t of TABLES_OF_FAMILY[r.soDomain[i]] ?? []) tables.add(t);
  }
  if (tables.size === 0) return new Map();
  // Only the tables that can list a socket of the families this batch created: a crowded
  // namespace's 100,000-row unix table is not read for a batch that made no AF_UNIX socket.
  const found = lookupSocketRowsLazy([...tables] as NetTableName[], inodes);
  for (const src of found.sources) lastSources.set(src.table, src);
  return found.rows;
}

/** One table of a pipeline batch's native lookup (ProbeOptions.netTables), and why it is read as it is. */
interface PlannedTable {
  name: NetTableName;
  /** Its text file under the proc root (read when sock_diag is not asked or cannot answer). */
  path: string;
  /** Why a table sock_diag could answer is read as text, and the errno remembered (as lookupSocketRowsLazy says it). */
  why?: string;
  errno?: number;
}

/** The tables a batch's thread looks its new sockets up in: every table of TABLES_OF_FAMILY, in NET_TABLES order. */
interface NetPlan {
  key: string;
  tables: PlannedTable[];
  native: NativeNetTable[];
}

let netPlan: NetPlan | null = null;

/**
 * The lookup as lookupSocketRowsLazy would make it now: sock_diag for its tables unless the proc
 * root is not /proc or sock_diag was found unable to answer for the table, the text otherwise.
 */
function currentNetPlan(): NetPlan {
  const root = getProcRoot();
  const key = `${root}\0${[...diagUnavailable].map(([t, e]) => `${t}:${e}`).join(',')}`;
  if (netPlan !== null && netPlan.key === key) return netPlan;
  const domainsOf = new Map<NetTableName, number[]>();
  for (const [fam, ts] of Object.entries(TABLES_OF_FAMILY)) {
    for (const t of ts as readonly NetTableName[]) {
      if (!domainsOf.has(t)) domainsOf.set(t, []);
      domainsOf.get(t)!.push(Number(fam));
    }
  }
  const tables: PlannedTable[] = [];
  const native: NativeNetTable[] = [];
  for (const name of NET_TABLES) {
    const domains = domainsOf.get(name);
    if (domains === undefined) continue;
    const how = DIAG_OF_TABLE[name];
    const pt: PlannedTable = { name, path: procPath(`net/${name}`) };
    let kind: NativeNetTable['kind'] = 'text';
    if (how !== undefined) {
      const errno = diagUnavailable.get(name) ?? 0;
      if (root !== '/proc') {
        pt.why = `the proc root is ${root}: tables are read from there`;
        pt.errno = 0;
      } else if (errno !== 0) {
        pt.why = `${whyText(errno)} (remembered)`;
        pt.errno = errno;
      } else {
        kind = how.family === 1 ? 'unix' : 'inet';
      }
    }
    tables.push(pt);
    native.push({ kind, family: how?.family ?? 0, protocol: how?.protocol ?? 0, path: pt.path, domains: Int32Array.from(domains) });
  }
  netPlan = { key, tables, native };
  return netPlan;
}

/**
 * The rows a batch's thread found (NativeLookup), as lookupSocketRowsLazy would have found them
 * at that moment: sock_diag's rows first, then the text tables' in NET_TABLES order for the
 * inodes still missing. A table sock_diag could not answer for is remembered as
 * lookupSocketRowsLazy remembers it. Opens no file.
 */
function rowsOfLookup(plan: NetPlan, lk: NativeLookup): LazyFound {
  const out: LazyFound = new Map();
  const texts: Array<{ table: NetTableName; file: string; text: string | null; textErrno?: number }> = [];
  const inodes = lk.inodes;
  for (const t of lk.tables) {
    const pt = plan.tables[t.table];
    const src: TableSource = { table: pt.name, source: 'text' };
    if (t.diag !== undefined) {
      const d = t.diag;
      if (d.errno === 0) {
        const answer: SockDiag = { diagUnix: () => d as ReturnType<SockDiag['diagUnix']>, diagInet: () => d as ReturnType<SockDiag['diagInet']> };
        diagTable(answer, pt.name, inodes, out, src);
        src.source = 'sock_diag';
        lastSources.set(pt.name, src);
        continue;
      }
      if (DIAG_UNAVAILABLE.has(d.errno)) diagUnavailable.set(pt.name, d.errno);
      src.why = whyText(d.errno);
      src.errno = d.errno;
    } else if (pt.why !== undefined) {
      src.why = pt.why;
      src.errno = pt.errno;
    }
    lastSources.set(pt.name, src);
    texts.push({ table: pt.name, file: pt.path, text: t.text ?? null, textErrno: t.textErrno });
  }
  if (texts.length > 0) {
    const want = new Set(inodes);
    for (const { table, file, text, textErrno } of texts) {
      if (text === null) {
        // As readSocketTables with onlyPresent: a table this kernel lacks is skipped.
        if (textErrno === ENOENT && fs.existsSync(path.dirname(file))) continue;
        throw new ProcReadError(file, systemError(textErrno as number, 'open'));
      }
      indexSocketTable(table, text, file, want, out);
    }
  }
  return out;
}

/** Throw the first failed close of a batch's fds (after every one was closed). */
function throwCloseErrors(fds: Int32Array, errs: Int32Array): void {
  for (let k = 0; k < errs.length; k++) {
    if (errs[k] !== 0) {
      const err = systemError(errs[k], 'close');
      err.message += ` closing fd ${fds[k]} of this batch (every other fd was closed)`;
      throw err;
    }
  }
}

/** observationsOf(raw)[i] alone, made afresh (a sweep builds only the observations it reports in full). */
export function observationAt(raw: RawBatch, i: number): Observation {
  const ob = observationOf(raw.cases[i], raw.r, i);
  if (raw.rows !== undefined) withProcNet(ob, raw.rows);
  return ob;
}

/**
 * Everything after the calls that needs the batch's fds open - whileOpen, the /proc/net
 * lookup - and then the deferred close (also when one of them throws).
 */
function completeRaw(cases: readonly SocketCase[], o: CheckedOptions, r: NativeBatchResult, whileOpen: (() => void) | undefined): RawBatch {
  if (o.close === 'now') return { cases, r, rows: undefined };
  const fds = openFdsOf(r);
  let done = false;
  try {
    whileOpen?.();
    const rows = lookupRows(o, r);
    done = true;
    return { cases, r, rows };
  } finally {
    if (fds.length > 0) {
      const errs = native().closeFds(fds, Math.min(o.closeThreads, fds.length));
      // eslint-disable-next-line no-unsafe-finally
      if (done) throwCloseErrors(fds, errs);
    }
  }
}

/** What a sweep's pipeline asks of a batch's thread besides the calls (see ProbeOptions). */
export interface PipelineOptions {
  /** Threads for closing closeFirst, 1..256 (default 128). */
  closeThreads?: number;
  /** Look each new socket up in /proc/net (default true). */
  procNet?: boolean;
  /** The previous batch's fds (OpenBatch.openFds), closed on the batch's thread before its calls. */
  closeFirst?: Int32Array;
  /** Read the fd table on the batch's thread before the calls (after closeFirst). */
  fdTable?: boolean;
  /** Read /proc/net/protocols and sockstat before and during the calls, under this proc root. */
  countersRoot?: string;
  /** Before that, wait up to 2 s for sockstat's "sockets: used" to be at most this. */
  settleTo?: number;
  /**
   * A batch started before, with none started after it yet: this one runs after it on its
   * thread (without waiting for this thread to join it), closing the fds it left open first
   * (not with closeFirst). Those fds are then this batch's: the caller closes only the fds of
   * the last batch of such a chain.
   */
  after?: PipelineBatch;
}

/** A pipeline batch whose calls are done and whose fds are still open. */
export interface OpenBatch {
  raw: RawBatch;
  /** The batch's open fds: the next batch's closeFirst, or closeOpenBatch at the end. */
  openFds: Int32Array;
  /** The fd table before the calls (fdTable). */
  fdsBefore?: number[];
  counters?: NativePipelineResult['counters'];
}

/** A pipeline batch being run (startPipelineBatch). */
export interface PipelineBatch {
  /** Whether finishOpen() would not wait. */
  done(): boolean;
  /** Whether a batch was started after this one (its fds are that batch's to close). */
  followed(): boolean;
  /**
   * Wait for the batch's thread, then look the new sockets up in /proc/net, leaving the fds
   * open. Throws (once everything is closed that can be) when closeFirst's closes failed or the
   * fd table could not be read. Call it exactly once.
   */
  finishOpen(): OpenBatch;
}

/**
 * The whole kernel side of one batch of a sweep on a thread of the addon's own: the previous
 * batch's close, the fd table, the counters, the calls and their observations. Until finishOpen()
 * returns, nothing in this process may open or close an fd: the kernel hands each new socket the
 * lowest free fd, and that number is compared with the model's (reading a /proc file, a lazy
 * require(), a log file opened on the way all count; pure computation and writes to fds already
 * open do not). A sweep that keeps one such batch running at all times does all its other work
 * without opening a file.
 */
export function startPipelineBatch(batch: readonly SocketCase[] | PreparedPipelineBatch, opts: PipelineOptions): PipelineBatch {
  const { cases, b } = batch instanceof PreparedPipelineBatch ? batch : preparePipelineBatch(batch, opts);
  const probeOpts: ProbeOptions = { ...b.probeOpts };
  if (opts.closeFirst !== undefined && opts.closeFirst.length > 0) {
    probeOpts.closeFirst = opts.closeFirst;
    probeOpts.closeThreads = Math.min(b.o.closeThreads, opts.closeFirst.length);
  }
  if (opts.fdTable) probeOpts.fdTable = true;
  if (opts.countersRoot !== undefined) probeOpts.countersRoot = opts.countersRoot;
  if (opts.settleTo !== undefined) probeOpts.settleTo = opts.settleTo;
  let before: StartedBatch | undefined;
  if (opts.after !== undefined) {
    if (!(opts.after instanceof StartedBatch)) throw new TypeError(`options.after must be a batch startPipelineBatch returned (got ${describe(opts.after)})`);
    if (probeOpts.closeFirst !== undefined) throw new TypeError('options.after closes the fds that batch left open: options.closeFirst cannot be given too');
    before = opts.after;
    probeOpts.after = before.handle;
    probeOpts.closeThreads = b.o.closeThreads;
  }
  // The /proc/net lookup on the batch's thread, so this thread opens no file between batches.
  const plan = b.o.procNet && b.o.close === 'defer' ? currentNetPlan() : null;
  if (plan !== null) probeOpts.netTables = plan.native;
  const started = new StartedBatch(native().probeBatchStart(b.domains, b.types, b.protocols, probeOpts), cases, b.o, plan);
  if (before !== undefined) before.successor = true;
  return started;
}

/** A batch startPipelineBatch started. */
class StartedBatch implements PipelineBatch {
  successor = false;
  private taken = false;
  constructor(readonly handle: NativeBatchHandle, private readonly cases: readonly SocketCase[] | CaseColumns, private readonly o: CheckedOptions, private readonly plan: NetPlan | null) {}

  done(): boolean {
    return this.taken || native().probeBatchDone(this.handle);
  }

  followed(): boolean {
    return this.successor;
  }

  finishOpen(): OpenBatch {
    if (this.taken) throw new Error('PipelineBatch.finishOpen: this batch was already finished');
    this.taken = true;
    const r = native().probeBatchJoin(this.handle);
    const openFds = openFdsOf(r);
    try {
      if (r.closeErrs !== undefined) throwCloseErrors(r.closeFirst!, r.closeErrs);
      if (r.fdTableErrno !== undefined) throw systemError(r.fdTableErrno, 'open');
      const rows = r.lookup !== undefined && this.plan !== null ? rowsOfLookup(this.plan, r.lookup) : lookupRows(this.o, r);
      const cases = this.cases;
      const raw: RawBatch = Array.isArray(cases) ? { cases, r, rows } : new ColumnsRaw(cases as CaseColumns, r, rows);
      return { raw, openFds, fdsBefore: r.fdsBefore ? Array.from(r.fdsBefore) : undefined, counters: r.counters };
    } catch (e) {
      // A batch started after this one closes its fds.
      if (!this.successor) closeOpenBatch(openFds, this.o.closeThreads);
      throw e;
    }
  }
}

/** A batch's cases checked and laid out for the addon ahead of its start (preparePipelineBatch). */
export class PreparedPipelineBatch {
  /** @internal */
  constructor(readonly cases: readonly SocketCase[] | CaseColumns, readonly b: PreparedBatch) {}
}

/** The case objects of columns, in order. */
export function casesOfColumns(c: CaseColumns): SocketCase[] {
  const n = c.domains.length;
  const out = new Array<SocketCase>(n);
  for (let i = 0; i < n; i++) out[i] = { domain: c.domains[i], type: c.types[i], protocol: c.protocols[i] };
  return out;
}

/**
 * preparePipelineBatch for cases given as columns (a matrix's batch): nothing to check (every
 * value is an int32), and the case objects are made only when the batch's cases are first read
 * (RawBatch.cases), so a batch waiting its turn holds three arrays, not 2,048 objects.
 */
export function preparePipelineColumns(cols: CaseColumns, opts: Pick<PipelineOptions, 'closeThreads' | 'procNet'>): PreparedPipelineBatch {
  const o = checkOptions({ close: 'defer', closeThreads: opts.closeThreads, procNet: opts.procNet });
  const n = cols.domains.length;
  if (cols.types.length !== n || cols.protocols.length !== n) throw new RangeError(`case columns must have one length (got ${n}, ${cols.types.length}, ${cols.protocols.length})`);
  return new PreparedPipelineBatch(cols, { o, n, domains: cols.domains, types: cols.types, protocols: cols.protocols, probeOpts: { close: o.close } });
}

/** A RawBatch whose case objects are made from columns when first read. */
class ColumnsRaw implements RawBatch {
  private made: readonly SocketCase[] | null = null;
  constructor(private readonly cols: CaseColumns, readonly r: NativeBatchResult, readonly rows: LazyFound | undefined) {}
  get cases(): readonly SocketCase[] {
    return this.made ??= casesOfColumns(this.cols);
  }
}

/**
 * The part of startPipelineBatch that needs no kernel: check the cases and lay them out. A sweep
 * does it for the next batch while the running one's calls are made. Takes closeThreads and
 * procNet from opts (the rest is given to startPipelineBatch).
 */
export function preparePipelineBatch(cases: readonly SocketCase[], opts: Pick<PipelineOptions, 'closeThreads' | 'procNet'>): PreparedPipelineBatch {
  return new PreparedPipelineBatch(cases, prepareBatch(cases, { close: 'defer', closeThreads: opts.closeThreads, procNet: opts.procNet }));
}

/**
 * Close a pipeline batch's fds on this thread (the last batch's, or after an error), and wait
 * until the sockets earlier batches handed to the addon's reaper are closed too: when this
 * returns, no fd of the sweep is open.
 */
export function closeOpenBatch(fds: Int32Array, closeThreads = DEFAULT_CLOSE_THREADS): void {
  throwCloseErrors(fds, native().closeFds(fds, Math.max(1, Math.min(closeThreads, fds.length))));
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
