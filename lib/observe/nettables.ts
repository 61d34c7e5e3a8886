/**
 * Parsers of the /proc/net socket tables, pure functions of their text.
 *
 * Column layouts follow the kernel's seq_show functions (6.18):
 *   unix            net/unix/af_unix.c unix_seq_show:
 *                   "%pK: %08X %08X %08X %04X %02X %5lu" then " path" when bound
 *                   (abstract names start with '@'; control characters print as '@')
 *   tcp, tcp6       net/ipv4/tcp_ipv4.c get_tcp4_sock (+ get_openreq4 / get_timewait4_sock),
 *                   net/ipv6/tcp_ipv6.c get_tcp6_sock
 *   udp*, raw*, icmp*  net/ipv4/udp.c udp4_format_sock, net/ipv4/raw.c __raw_sock_seq_show,
 *                   net/ipv4/ping.c ping_v4_format_sock, net/ipv6/datagram.c __ip6_dgram_sock_seq_show
 *   packet          net/packet/af_packet.c packet_seq_show:
 *                   "%pK %-6d %-4d %04x   %-5d %1d %-6u %-6u %-6lu"
 *   netlink         net/netlink/af_netlink.c netlink_native_seq_show:
 *                   "%pK %-3d %-10u %08x %-8d %-8d %-5d %-8d %-8u %-8lu"
 * The first line of every table is a header. Addresses in the inet tables are the raw
 * 32-bit words printed with %08X, so their byte order is the machine's.
 */
import * as os from 'os';
import { ProcParseError, dec, decimalAt, fieldStart, fields, hex, lines } from './text';

export type UnixTable = 'unix';
export type InetTable = 'tcp' | 'udp' | 'udplite' | 'raw' | 'icmp';
export type Inet6Table = 'tcp6' | 'udp6' | 'udplite6' | 'raw6' | 'icmp6';
/**
 * Tables printed as "sk RefCnt Rmem Wmem User Inode [Parent]": Bluetooth's per-protocol lists
 * (net/bluetooth/af_bluetooth.c bt_seq_show, registered by bt_procfs_init for l2cap, hci, sco,
 * rfcomm, bnep, cmtp, hidp, iso) and PF_KEY's (net/key/af_key.c pfkey_seq_show). They exist only
 * while the module that creates them is loaded.
 */
export type SkTable = 'l2cap' | 'hci' | 'sco' | 'rfcomm' | 'bnep' | 'cmtp' | 'hidp' | 'iso' | 'pfkey';
export type NetTableName = UnixTable | InetTable | Inet6Table | 'packet' | 'netlink' | SkTable;

export const SK_TABLES: readonly SkTable[] = ['l2cap', 'hci', 'sco', 'rfcomm', 'bnep', 'cmtp', 'hidp', 'iso', 'pfkey'];

/** Every socket table this module reads, in the order readSocketTables() reads them. */
export const NET_TABLES: readonly NetTableName[] = [
  'unix', 'tcp', 'tcp6', 'udp', 'udp6', 'udplite', 'udplite6', 'raw', 'raw6', 'icmp', 'icmp6', 'packet', 'netlink',
  ...SK_TABLES,
];

/** A row value is a flat scalar so a row converts to the Observation's string record losslessly. */
export type RowValue = number | string | null;

export interface UnixRow {
  [k: string]: RowValue;
  /** The kernel's (hashed) socket address, as printed. */
  num: string;
  refCount: number;
  /** Always 0: the kernel prints a literal 0. */
  protocol: number;
  /** __SO_ACCEPTCON (0x10000) when listening. */
  flags: number;
  /** SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_SEQPACKET 5. */
  type: number;
  /** socket_state: SS_UNCONNECTED 1, SS_CONNECTING 2, SS_CONNECTED 3, SS_DISCONNECTING 4. */
  st: number;
  inode: number;
  /** Bound path, "@name" for abstract names, null when unbound. */
  path: string | null;
}

export interface InetRow {
  [k: string]: RowValue;
  sl: number;
  /** The address as printed (hex words), and decoded ("127.0.0.1", "::1"). */
  localAddressHex: string;
  localAddress: string;
  localPort: number;
  remAddressHex: string;
  remAddress: string;
  remPort: number;
  /** sk_state (TCP_* numbering: 0x0A LISTEN, 0x07 CLOSE, ...). */
  st: number;
  txQueue: number;
  rxQueue: number;
  /** Timer kind and its expiry in jiffies (tr:tm->when). */
  tr: number;
  tmWhen: number;
  retrnsmt: number;
  uid: number;
  timeout: number;
  /** 0 for TIME_WAIT and request sockets, which have no inode. */
  inode: number;
  ref: number;
  pointer: string;
  /** udp, raw, icmp tables: sk_drops. null in the tcp tables. */
  drops: number | null;
  /** tcp tables, full sockets only: rto, ato, (quick<<1|pingpong), snd_cwnd, ssthresh (-1 while initial). */
  rto: number | null;
  ato: number | null;
  quickAck: number | null;
  sndCwnd: number | null;
  ssthresh: number | null;
}

export interface PacketRow {
  [k: string]: RowValue;
  sk: string;
  refCnt: number;
  /** SOCK_RAW 3, SOCK_DGRAM 2, SOCK_PACKET 10. */
  type: number;
  /** ntohs(po->num): the ethertype in host order (3 = ETH_P_ALL). */
  proto: number;
  iface: number;
  /** 1 while the protocol hook is registered (protocol != 0). */
  running: number;
  rmem: number;
  user: number;
  inode: number;
  /** Only on kernels whose header has a Drops column. */
  drops: number | null;
}

export interface NetlinkRow {
  [k: string]: RowValue;
  sk: string;
  /** The NETLINK_* protocol. */
  eth: number;
  /** The port id; 0 for kernel sockets. */
  pid: number;
  groups: number;
  rmem: number;
  wmem: number;
  dump: number;
  locks: number;
  drops: number;
  inode: number;
}

export interface SkRow {
  [k: string]: RowValue;
  sk: string;
  refcnt: number;
  rmem: number;
  wmem: number;
  /** from_kuid of sock_i_uid: the owner's uid. */
  user: number;
  inode: number;
  /** Bluetooth only: the parent socket's inode (0 when none); null for pfkey. */
  parent: number | null;
}

export type NetRow = UnixRow | InetRow | PacketRow | NetlinkRow | SkRow;

interface TableShape {
  /** First header field, to recognise the file. */
  header: string;
  /** 0-based field index of the inode column in a data row. */
  inodeField: number;
  /** Fewest fields a data row can have. */
  minFields: number;
}

const UNIX_SHAPE: TableShape = { header: 'Num', inodeField: 6, minFields: 7 };
const INET_SHAPE: TableShape = { header: 'sl', inodeField: 9, minFields: 12 };
const PACKET_SHAPE: TableShape = { header: 'sk', inodeField: 8, minFields: 9 };
const NETLINK_SHAPE: TableShape = { header: 'sk', inodeField: 9, minFields: 10 };
const SK_SHAPE: TableShape = { header: 'sk', inodeField: 5, minFields: 6 };

function isSkTable(table: NetTableName): table is SkTable {
  return (SK_TABLES as readonly string[]).includes(table);
}

function shapeOf(table: NetTableName): TableShape {
  switch (table) {
    case 'unix': return UNIX_SHAPE;
    case 'packet': return PACKET_SHAPE;
    case 'netlink': return NETLINK_SHAPE;
    default: return isSkTable(table) ? SK_SHAPE : INET_SHAPE;
  }
}

export function isNetTableName(name: string): name is NetTableName {
  return (NET_TABLES as readonly string[]).includes(name);
}

function checkHeader(file: string, shape: TableShape, header: string | undefined): void {
  if (header === undefined) {
    throw new ProcParseError(file, 1, `empty file: expected a header line starting with "${shape.header}"`, '');
  }
  const first = fields(header)[0];
  if (first !== shape.header) {
    throw new ProcParseError(file, 1, `not the expected header (it should start with "${shape.header}")`, header);
  }
}

/** Every table: check the header line, then parse each data line (numbered from 2 for errors). */
function parseRows<R>(
  text: string, file: string, shape: TableShape,
  parseLine: (line: string, file: string, lineNo: number, header: string) => R,
): R[] {
  const ls = lines(text);
  checkHeader(file, shape, ls[0]);
  const rows: R[] = [];
  for (let i = 1; i < ls.length; i++) rows.push(parseLine(ls[i], file, i + 1, ls[0]));
  return rows;
}

// ---------------------------------------------------------------------------
// unix
// ---------------------------------------------------------------------------

export function parseUnix(text: string, file = '/proc/net/unix'): UnixRow[] {
  return parseRows(text, file, UNIX_SHAPE, parseUnixLine);
}

function parseUnixLine(line: string, file: string, lineNo: number): UnixRow {
  const f = fields(line);
  if (f.length < UNIX_SHAPE.minFields) {
    throw new ProcParseError(file, lineNo, `truncated row: expected at least 7 fields (Num RefCount Protocol Flags Type St Inode), got ${f.length}`, line);
  }
  if (!f[0].endsWith(':')) throw new ProcParseError(file, lineNo, 'the Num field should end with ":"', line);
  // The path is everything after the single space that follows the inode: it may hold spaces.
  const inodeAt = fieldStart(line, 0, line.length, 6);
  let end = inodeAt;
  while (end < line.length && line.charCodeAt(end) !== 32 && line.charCodeAt(end) !== 9) end++;
  const path = end < line.length ? line.slice(end + 1) : null;
  return {
    num: f[0].slice(0, -1),
    refCount: hex(f[1], file, lineNo, line, 'RefCount'),
    protocol: hex(f[2], file, lineNo, line, 'Protocol'),
    flags: hex(f[3], file, lineNo, line, 'Flags'),
    type: hex(f[4], file, lineNo, line, 'Type'),
    st: hex(f[5], file, lineNo, line, 'St'),
    inode: dec(f[6], file, lineNo, line, 'Inode'),
    path: path === '' ? null : path,
  };
}

// ---------------------------------------------------------------------------
// tcp, udp, udplite, raw, icmp (v4 and v6)
// ---------------------------------------------------------------------------

const LITTLE_ENDIAN = os.endianness() === 'LE';

/** Bytes of one %08X word as the kernel stored them (network order in memory). */
function wordBytes(word: number, out: number[]): void {
  if (LITTLE_ENDIAN) out.push(word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, (word >>> 24) & 0xff);
  else out.push((word >>> 24) & 0xff, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff);
}

/** Decode the hex address of an inet table ("0100007F" -> "127.0.0.1", 32 digits -> IPv6 text). */
export function decodeInetAddress(hexText: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < hexText.length; i += 8) wordBytes(parseInt(hexText.slice(i, i + 8), 16) >>> 0, bytes);
  if (bytes.length === 4) return bytes.join('.');
  return formatIPv6(bytes);
}

/** RFC 5952 text of 16 bytes: lower case, longest run of zero groups (>= 2) as "::". */
export function formatIPv6(b: number[]): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1]);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hexs = g.map((x) => x.toString(16));
  if (bestAt < 0) return hexs.join(':');
  return `${hexs.slice(0, bestAt).join(':')}::${hexs.slice(bestAt + bestLen).join(':')}`;
}

function splitPair(s: string, file: string, lineNo: number, line: string, what: string): [string, string] {
  const colon = s.indexOf(':');
  if (colon < 0) throw new ProcParseError(file, lineNo, `${what} should be two values joined by ":" (${JSON.stringify(s)})`, line);
  return [s.slice(0, colon), s.slice(colon + 1)];
}

/** Parse an inet table; `v6` selects 32-digit addresses (tcp6, udp6, ...). */
export function parseInet(text: string, file: string, v6: boolean): InetRow[] {
  return parseRows(text, file, INET_SHAPE, (line, f, n) => parseInetLine(line, f, n, v6));
}

function parseInetLine(line: string, file: string, lineNo: number, v6: boolean): InetRow {
  const f = fields(line);
  if (f.length < INET_SHAPE.minFields) {
    throw new ProcParseError(file, lineNo,
      `truncated row: expected at least 12 fields (sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer), got ${f.length}`, line);
  }
  if (!f[0].endsWith(':')) throw new ProcParseError(file, lineNo, 'the sl field should end with ":"', line);
  const addrDigits = v6 ? 32 : 8;
  const [lHex, lPort] = splitPair(f[1], file, lineNo, line, 'local_address');
  const [rHex, rPort] = splitPair(f[2], file, lineNo, line, 'rem_address');
  for (const [a, name] of [[lHex, 'local_address'], [rHex, 'rem_address']] as const) {
    if (a.length !== addrDigits || !/^[0-9A-Fa-f]+$/.test(a)) {
      throw new ProcParseError(file, lineNo, `${name} should be ${addrDigits} hex digits (an IPv${v6 ? 6 : 4} table)`, line);
    }
  }
  const [tx, rx] = splitPair(f[4], file, lineNo, line, 'tx_queue:rx_queue');
  const [tr, when] = splitPair(f[5], file, lineNo, line, 'tr:tm->when');
  const tcpExtra = f.length >= 17;
  const dgram = f.length === 13;
  return {
    sl: dec(f[0].slice(0, -1), file, lineNo, line, 'sl'),
    localAddressHex: lHex,
    localAddress: decodeInetAddress(lHex),
    localPort: hex(lPort, file, lineNo, line, 'local port'),
    remAddressHex: rHex,
    remAddress: decodeInetAddress(rHex),
    remPort: hex(rPort, file, lineNo, line, 'remote port'),
    st: hex(f[3], file, lineNo, line, 'st'),
    txQueue: hex(tx, file, lineNo, line, 'tx_queue'),
    rxQueue: hex(rx, file, lineNo, line, 'rx_queue'),
    tr: hex(tr, file, lineNo, line, 'tr'),
    tmWhen: hex(when, file, lineNo, line, 'tm->when'),
    retrnsmt: hex(f[6], file, lineNo, line, 'retrnsmt'),
    uid: dec(f[7], file, lineNo, line, 'uid'),
    timeout: dec(f[8], file, lineNo, line, 'timeout'),
    inode: dec(f[9], file, lineNo, line, 'inode'),
    ref: dec(f[10], file, lineNo, line, 'ref'),
    pointer: f[11],
    drops: dgram ? dec(f[12], file, lineNo, line, 'drops') : null,
    rto: tcpExtra ? dec(f[12], file, lineNo, line, 'rto') : null,
    ato: tcpExtra ? dec(f[13], file, lineNo, line, 'ato') : null,
    quickAck: tcpExtra ? dec(f[14], file, lineNo, line, 'quick/pingpong') : null,
    sndCwnd: tcpExtra ? dec(f[15], file, lineNo, line, 'snd_cwnd') : null,
    ssthresh: tcpExtra ? dec(f[16], file, lineNo, line, 'ssthresh') : null,
  };
}

// ---------------------------------------------------------------------------
// packet
// ---------------------------------------------------------------------------

export function parsePacket(text: string, file = '/proc/net/packet'): PacketRow[] {
  let hasDrops: boolean | undefined;
  return parseRows(text, file, PACKET_SHAPE, (line, f, n, header) => parsePacketLine(line, f, n, hasDrops ??= packetHeaderHasDrops(header)));
}

/** A proposed (2024) Drops column after Inode; 6.18 does not print it. */
function packetHeaderHasDrops(header: string): boolean {
  return fields(header).includes('Drops');
}

function parsePacketLine(line: string, file: string, lineNo: number, hasDrops: boolean): PacketRow {
  const f = fields(line);
  const want = hasDrops ? 10 : 9;
  if (f.length < want) {
    throw new ProcParseError(file, lineNo, `truncated row: expected ${want} fields (sk RefCnt Type Proto Iface R Rmem User Inode${hasDrops ? ' Drops' : ''}), got ${f.length}`, line);
  }
  return {
    sk: f[0],
    refCnt: dec(f[1], file, lineNo, line, 'RefCnt'),
    type: dec(f[2], file, lineNo, line, 'Type'),
    proto: hex(f[3], file, lineNo, line, 'Proto'),
    iface: dec(f[4], file, lineNo, line, 'Iface'),
    running: dec(f[5], file, lineNo, line, 'R'),
    rmem: dec(f[6], file, lineNo, line, 'Rmem'),
    user: dec(f[7], file, lineNo, line, 'User'),
    inode: dec(f[8], file, lineNo, line, 'Inode'),
    drops: hasDrops ? dec(f[9], file, lineNo, line, 'Drops') : null,
  };
}

// ---------------------------------------------------------------------------
// netlink
// ---------------------------------------------------------------------------

export function parseNetlink(text: string, file = '/proc/net/netlink'): NetlinkRow[] {
  return parseRows(text, file, NETLINK_SHAPE, parseNetlinkLine);
}

function parseNetlinkLine(line: string, file: string, lineNo: number): NetlinkRow {
  const f = fields(line);
  if (f.length < NETLINK_SHAPE.minFields) {
    throw new ProcParseError(file, lineNo, `truncated row: expected 10 fields (sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode), got ${f.length}`, line);
  }
  return {
    sk: f[0],
    eth: dec(f[1], file, lineNo, line, 'Eth'),
    pid: dec(f[2], file, lineNo, line, 'Pid'),
    groups: hex(f[3], file, lineNo, line, 'Groups'),
    rmem: dec(f[4], file, lineNo, line, 'Rmem'),
    wmem: dec(f[5], file, lineNo, line, 'Wmem'),
    dump: dec(f[6], file, lineNo, line, 'Dump'),
    locks: dec(f[7], file, lineNo, line, 'Locks'),
    drops: dec(f[8], file, lineNo, line, 'Drops'),
    inode: dec(f[9], file, lineNo, line, 'Inode'),
  };
}

/**
 * NETLINK_* protocols that have a kernel socket (Pid 0) in this netns, sorted. A protocol
 * can be registered without one (NETLINK_USERSOCK never has a kernel socket, and some
 * kernel sockets exist only in the initial netns), so this is evidence, not the whole list.
 */
export function netlinkKernelProtocols(rows: readonly NetlinkRow[]): number[] {
  const set = new Set<number>();
  for (const r of rows) if (r.pid === 0) set.add(r.eth);
  return [...set].sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------
// any table
// ---------------------------------------------------------------------------

/** Parse any socket table by its /proc/net name. */
export function parseNetTable(table: NetTableName, text: string, file = `/proc/net/${table}`): NetRow[] {
  switch (table) {
    case 'unix': return parseUnix(text, file);
    case 'packet': return parsePacket(text, file);
    case 'netlink': return parseNetlink(text, file);
    case 'tcp': case 'udp': case 'udplite': case 'raw': case 'icmp': return parseInet(text, file, false);
    case 'tcp6': case 'udp6': case 'udplite6': case 'raw6': case 'icmp6': return parseInet(text, file, true);
    default: return parseSk(text, file);
  }
}

/** A Bluetooth or PF_KEY socket list ("sk RefCnt Rmem Wmem User Inode [Parent]"). */
export function parseSk(text: string, file: string): SkRow[] {
  return parseRows(text, file, SK_SHAPE, parseSkLine);
}

function parseSkLine(line: string, file: string, lineNo: number): SkRow {
  const f = fields(line);
  if (f.length < SK_SHAPE.minFields) {
    throw new ProcParseError(file, lineNo, `truncated row: expected at least 6 fields (sk RefCnt Rmem Wmem User Inode), got ${f.length}`, line);
  }
  return {
    sk: f[0],
    refcnt: dec(f[1], file, lineNo, line, 'RefCnt'),
    rmem: dec(f[2], file, lineNo, line, 'Rmem'),
    wmem: dec(f[3], file, lineNo, line, 'Wmem'),
    user: dec(f[4], file, lineNo, line, 'User'),
    inode: dec(f[5], file, lineNo, line, 'Inode'),
    parent: f.length > 6 ? dec(f[6], file, lineNo, line, 'Parent') : null,
  };
}

/**
 * Parse one data line of a table. `header` is the table's first line (the packet header
 * decides whether a Drops column exists); lineNo is for the error message.
 */
export function parseNetTableLine(table: NetTableName, line: string, file: string, lineNo: number, header = ''): NetRow {
  switch (table) {
    case 'unix': return parseUnixLine(line, file, lineNo);
    case 'packet': return parsePacketLine(line, file, lineNo, packetHeaderHasDrops(header));
    case 'netlink': return parseNetlinkLine(line, file, lineNo);
    default: return isSkTable(table) ? parseSkLine(line, file, lineNo) : parseInetLine(line, file, lineNo, table.endsWith('6'));
  }
}

/**
 * Where the inode of a unix row starts. After "%pK: " the next five columns have fixed widths
 * ("%08X %08X %08X %04X %02X " = 35 characters), so the scan can jump over them; when the
 * row does not have that shape it falls back to counting fields.
 */
function unixInodeStart(text: string, start: number, end: number): number {
  const colon = text.indexOf(': ', start);
  if (colon >= 0 && colon < end) {
    let p = colon + 2 + 35;
    if (p < end && text.charCodeAt(p - 1) === 32 && text.charCodeAt(p - 4) === 32 && text.charCodeAt(p - 9) === 32) {
      while (p < end && text.charCodeAt(p) === 32) p++;
      if (p < end) return p;
    }
  }
  return fieldStart(text, start, end, UNIX_SHAPE.inodeField);
}

/**
 * Call `found(inode, lineStart, lineEnd, lineNo)` for every data row of a table, reading only
 * the inode column: no per-row allocation. Rows with inode 0 (TIME_WAIT, request sockets)
 * are skipped. A row without an inode column is a ProcParseError.
 */
export function scanInodes(
  table: NetTableName, text: string, file: string,
  found: (inode: number, lineStart: number, lineEnd: number, lineNo: number) => void,
): void {
  const shape = shapeOf(table);
  let nl = text.indexOf('\n');
  const headerEnd = nl < 0 ? text.length : nl;
  checkHeader(file, shape, text === '' ? undefined : text.slice(0, headerEnd));
  let start = headerEnd + 1;
  let lineNo = 2;
  const unix = table === 'unix';
  while (start < text.length) {
    nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl;
    const at = unix ? unixInodeStart(text, start, end) : fieldStart(text, start, end, shape.inodeField);
    const inode = at < 0 ? NaN : decimalAt(text, at, end);
    if (Number.isNaN(inode)) {
      const line = text.slice(start, end);
      throw new ProcParseError(file, lineNo,
        at < 0 ? `truncated row: no inode column (field ${shape.inodeField + 1})` : 'the inode column is not a decimal number', line);
    }
    if (inode !== 0) found(inode, start, end, lineNo);
    start = end + 1;
    lineNo++;
  }
}
