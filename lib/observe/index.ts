/**
 * Readers of /proc (under the proc root, see procfs.ts) built on the pure parsers, and the
 * socket index: every socket table read once and joined by inode.
 */
import { parseFdinfo, Fdinfo } from './fdinfo';
import {
  NET_TABLES, NetRow, NetTableName, NetlinkRow, isNetTableName, netlinkKernelProtocols, parseNetTable,
  parseNetTableLine, parseNetlink, scanInodes,
} from './nettables';
import { procPath, readProcText, readProcTextIfPresent } from './procfs';
import { parseProtocols, ProtocolsRow } from './protocols';
import { parseSockstat, Sockstat } from './sockstat';

export * from './fdinfo';
export * from './nettables';
export * from './procfs';
export * from './protocols';
export * from './sockstat';
export { ProcParseError } from './text';

/**
 * One row of the index. The row is parsed from its line only when first asked for, so
 * indexing a table of 100,000 unix sockets allocates one small entry per row and parses none.
 */
export class SocketTableEntry {
  private parsed: NetRow | undefined;
  constructor(
    readonly table: NetTableName,
    private readonly text: string,
    private readonly start: number,
    private readonly end: number,
    readonly lineNo: number,
    private readonly header: string,
    private readonly file: string,
  ) {}

  /** The row's text as the kernel printed it (the table is read as latin1; paths are UTF-8). */
  get line(): string {
    return Buffer.from(this.text.slice(this.start, this.end), 'latin1').toString('utf8');
  }

  get row(): NetRow {
    if (this.parsed === undefined) this.parsed = parseNetTableLine(this.table, this.line, this.file, this.lineNo, this.header);
    return this.parsed;
  }

  toJSON(): { table: NetTableName; row: NetRow } {
    return { table: this.table, row: this.row };
  }
}

export interface ReadSocketTablesOptions {
  /**
   * Keep only these inodes (the sockets a batch just made): the map then holds at most this
   * many entries, however many sockets the namespace has.
   */
  inodes?: ReadonlySet<number>;
  /** Skip a named table this kernel lacks (no IPv6, UDP-Lite retired) instead of failing. */
  onlyPresent?: boolean;
}

function checkTables(tables: readonly string[]): NetTableName[] {
  if (!Array.isArray(tables)) throw new TypeError(`tables must be an array of /proc/net table names (${NET_TABLES.join(', ')})`);
  const seen = new Set<NetTableName>();
  for (const t of tables) {
    if (typeof t !== 'string' || !isNetTableName(t)) {
      throw new RangeError(`unknown /proc/net socket table ${JSON.stringify(t)}: valid names are ${NET_TABLES.join(', ')}`);
    }
    seen.add(t);
  }
  return [...seen];
}

/**
 * Read each socket table once and index its rows by inode. Without `tables`, every table in
 * NET_TABLES that this kernel has (a missing file, e.g. net/udplite on 7.1+, is skipped);
 * a table named explicitly must exist. Rows without an inode (TIME_WAIT) are left out.
 * When an inode appears in two tables the first table read wins.
 */
export function readSocketTables(
  tables?: readonly string[], opts: ReadSocketTablesOptions = {},
): Map<number, SocketTableEntry> {
  const explicit = tables !== undefined;
  const names = explicit ? checkTables(tables) : [...NET_TABLES];
  const want = opts.inodes;
  const index = new Map<number, SocketTableEntry>();
  for (const table of names) {
    const rel = `net/${table}`;
    const text = explicit && !opts.onlyPresent ? readProcText(rel, 'latin1') : readProcTextIfPresent(rel, 'latin1');
    if (text === null) continue;
    indexSocketTable(table, text, procPath(rel), want, index);
  }
  return index;
}

/**
 * The rows of one socket table's text (read from `file`) into `index` by inode, as
 * readSocketTables does: only the inodes in `want` (all without it), an inode already in
 * `index` kept. Rows are parsed when asked (SocketTableEntry).
 */
export function indexSocketTable(
  table: NetTableName, text: string, file: string, want: ReadonlySet<number> | undefined, index: Map<number, unknown>,
): void {
  const nl = text.indexOf('\n');
  const header = nl < 0 ? text : text.slice(0, nl);
  scanInodes(table, text, file, (inode, start, end, lineNo) => {
    if (want !== undefined && !want.has(inode)) return;
    if (!index.has(inode)) index.set(inode, new SocketTableEntry(table, text, start, end, lineNo, header, file));
  });
}

/** Read and parse one socket table: readNetTable('unix') -> UnixRow[] etc. */
export function readNetTable(table: NetTableName): NetRow[] {
  checkTables([table]);
  return parseNetTable(table, readProcText(`net/${table}`), procPath(`net/${table}`));
}

/** /proc/net/sockstat, or sockstat6 with v6 = true. */
export function readSockstat(v6 = false): Sockstat {
  const rel = v6 ? 'net/sockstat6' : 'net/sockstat';
  return parseSockstat(readProcText(rel), procPath(rel));
}

export function readProtocols(): ProtocolsRow[] {
  return parseProtocols(readProcText('net/protocols'), procPath('net/protocols'));
}

/** /proc/self/fdinfo/<fd> of this process. */
export function readFdinfo(fd: number): Fdinfo {
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
    throw new RangeError(`fd must be an integer from 0 to 2147483647 (got ${String(fd)})`);
  }
  const rel = `self/fdinfo/${fd}`;
  return parseFdinfo(readProcText(rel), procPath(rel));
}

export interface NetlinkKernelSockets {
  /** NETLINK_* protocols with a kernel socket (Pid 0) in the reader's netns, sorted. */
  protocols: number[];
  /** Where they were read from. */
  source: string;
  rows: NetlinkRow[];
}

/** The kernel sockets of /proc/net/netlink: evidence of which NETLINK protocols are registered. */
export function readNetlinkKernelSockets(): NetlinkKernelSockets {
  const file = procPath('net/netlink');
  const rows = parseNetlink(readProcText('net/netlink'), file).filter((r) => r.pid === 0);
  return { protocols: netlinkKernelProtocols(rows), source: file, rows };
}
