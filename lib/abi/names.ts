/**
 * Numbers <-> the names strace prints, for socket()'s three arguments and its errno.
 *
 *   socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP) = 3
 *   socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) = -1 EPERM (Operation not permitted)
 *
 * Parsing accepts those names, the PF_ spellings, names without their prefix where that is
 * unambiguous (INET, STREAM, TCP), and plain integers (decimal, 0x hex, 0o octal, negative).
 * A number outside int32 is refused, never wrapped.
 */
import * as os from 'os';
import { AF, SOCK, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_TYPE_MASK, IPPROTO, NETLINK, ETH_P, htons } from './constants';
import { type Abi, errnoIn } from './arch';

export const INT32_MIN = -0x80000000;
export const INT32_MAX = 0x7fffffff;

export class NameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NameError';
  }
}

const afByNumber = new Map<number, string>();
for (const [k, v] of Object.entries(AF)) if (!afByNumber.has(v)) afByNumber.set(v, k);
const sockByNumber = new Map<number, string>();
for (const [k, v] of Object.entries(SOCK)) sockByNumber.set(v, k);
const ipprotoByNumber = new Map<number, string>();
for (const [k, v] of Object.entries(IPPROTO)) if (!ipprotoByNumber.has(v)) ipprotoByNumber.set(v, k);
const netlinkByNumber = new Map<number, string>();
for (const [k, v] of Object.entries(NETLINK)) if (!netlinkByNumber.has(v)) netlinkByNumber.set(v, k);
const ethpByNumber = new Map<number, string>();
for (const [k, v] of Object.entries(ETH_P)) ethpByNumber.set(v, k);

/** Extra spellings people type: PF_*, AF_LOCAL, AF_ROUTE. */
const afAliases: Record<string, number> = { AF_LOCAL: 1, AF_FILE: 1, AF_ROUTE: 16, AF_UNSPEC: 0 };

export function domainName(domain: number): string {
  return afByNumber.get(domain) ?? String(domain);
}

/** SOCK_* names by this ABI's numbers (strace prints the swapped pair on mips). */
const sockByNumberFor = new Map<string, Map<number, string>>();
function sockNames(abi: Abi): Map<number, string> {
  let m = sockByNumberFor.get(abi.name);
  if (!m) {
    m = new Map<number, string>();
    for (const [k, v] of Object.entries(abi.sockTypes)) m.set(v, k);
    sockByNumberFor.set(abi.name, m);
  }
  return m;
}

/**
 * strace's rendering of the type argument: base type, then flag names, then leftover bits in
 * hex. With an ABI, in that ABI's numbers (mips: 2 is SOCK_STREAM, 0x80 SOCK_NONBLOCK).
 */
export function typeName(type: number, abi?: Abi): string {
  const names = abi && !abi.generic ? sockNames(abi) : sockByNumber;
  const cloexec = abi ? abi.SOCK_CLOEXEC : SOCK_CLOEXEC;
  const nonblock = abi ? abi.SOCK_NONBLOCK : SOCK_NONBLOCK;
  const base = type & SOCK_TYPE_MASK;
  let rest = type & ~SOCK_TYPE_MASK;
  const parts: string[] = [names.get(base) ?? String(base)];
  if (rest & cloexec) { parts.push('SOCK_CLOEXEC'); rest &= ~cloexec; }
  if (rest & nonblock) { parts.push('SOCK_NONBLOCK'); rest &= ~nonblock; }
  if (rest) parts.push(hexFlags(rest));
  return parts.join('|');
}

function hexFlags(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}

/** The protocol argument as strace prints it for the given domain. */
export function protocolName(domain: number, protocol: number): string {
  if (domain === AF.AF_INET || domain === AF.AF_INET6) return ipprotoByNumber.get(protocol) ?? String(protocol);
  if (domain === AF.AF_NETLINK) return netlinkByNumber.get(protocol) ?? String(protocol);
  if (domain === AF.AF_PACKET) {
    const host = htons(protocol & 0xffff);
    if (protocol >= 0 && protocol <= 0xffff && ethpByNumber.has(host)) return `htons(${ethpByNumber.get(host)})`;
    return String(protocol);
  }
  return String(protocol);
}

export function callName(domain: number, type: number, protocol: number, abi?: Abi): string {
  return `socket(${domainName(domain)}, ${typeName(type, abi)}, ${protocolName(domain, protocol)})`;
}

// ---------------------------------------------------------------------------
// errno names
// ---------------------------------------------------------------------------

/** glibc's names where Node's differ (95: Node says ENOTSUP, glibc and strace EOPNOTSUPP). */
const errnoPreferred: Record<number, string> = { 95: 'EOPNOTSUPP', 11: 'EAGAIN' };

/** errno names by this ABI's numbers. */
const errnoByNumberFor = new Map<string, Map<number, string>>();

/** Generic names already looked up: a sweep asks for the same few errnos hundreds of thousands of times. */
const errnoNames = new Map<number, string>();

/** The errno's name as strace prints it; with an ABI, `errno` is in that ABI's numbering. */
export function errnoName(errno: number, abi?: Abi): string {
  if (abi && !abi.generic) {
    let m = errnoByNumberFor.get(abi.name);
    if (!m) {
      m = new Map<number, string>();
      // Prefer the generic table's spelling where a number has two names (EDEADLOCK = EDEADLK elsewhere).
      for (const [k, v] of Object.entries(abi.errnos)) if (!m.has(v) || k === 'EDEADLK') m.set(v, k);
      errnoByNumberFor.set(abi.name, m);
    }
    if (errno === 0) return 'OK';
    return m.get(errno) ?? `E${errno}`;
  }
  let name = errnoNames.get(errno);
  if (name === undefined) {
    name = genericErrnoName(errno);
    if (errnoNames.size < 4096) errnoNames.set(errno, name);
  }
  return name;
}

function genericErrnoName(errno: number): string {
  if (errno === 0) return 'OK';
  if (errnoPreferred[errno]) return errnoPreferred[errno];
  try {
    const util = require('util') as typeof import('util');
    const n = util.getSystemErrorName(-errno);
    if (n && !n.startsWith('Unknown system error')) return n;
  } catch { /* fall through */ }
  return `E${errno}`;
}

const errnoText: Record<number, string> = {};
/** strerror() text; with an ABI, `errno` is in that ABI's numbering. */
export function errnoMessage(errno: number, abi?: Abi): string {
  if (abi && !abi.generic) errno = errnoIn(abi, errno);
  if (errno in errnoText) return errnoText[errno];
  let text = `errno ${errno}`;
  try {
    const util = require('util') as typeof import('util') & { getSystemErrorMap?: () => Map<number, [string, string]> };
    const m = util.getSystemErrorMap?.();
    const e = m?.get(-errno);
    if (e) text = e[1].replace(/^./, (c) => c.toUpperCase());
  } catch { /* keep default */ }
  errnoText[errno] = text;
  return text;
}

/** errno number from a name ("EPERM", "ENOTSUP", "EOPNOTSUPP") or a number; undefined if unknown. With an ABI, its number. */
export function errnoFromName(name: string, abi?: Abi): number | undefined {
  const up = name.trim().toUpperCase();
  if (/^\d+$/.test(up)) return Number(up);
  if (abi && !abi.generic) {
    const n = up === 'ENOTSUP' ? 'EOPNOTSUPP' : up === 'EWOULDBLOCK' ? 'EAGAIN' : up;
    return abi.errnos[n];
  }
  if (up === 'EOPNOTSUPP' || up === 'ENOTSUP') return 95;
  if (up === 'EWOULDBLOCK') return 11;
  const c = (os.constants.errno as Record<string, number>)[up];
  return typeof c === 'number' ? c : undefined;
}

/** strace's result column: "= 3" or "= -1 EPERM (Operation not permitted)"; with an ABI, errno in its numbering. */
export function resultText(r: { fd?: number; errno?: number; signal?: number; fatal?: boolean }, abi?: Abi): string {
  if (r.signal !== undefined) {
    const name = r.signal === 31 ? 'SIGSYS' : r.signal === 9 ? 'SIGKILL' : `signal ${r.signal}`;
    return r.fatal ? `(killed by ${name})` : `(${name}, the call skipped)`;
  }
  if (r.fd !== undefined) return `= ${r.fd}`;
  const e = r.errno ?? 0;
  return `= -1 ${errnoName(e, abi)} (${errnoMessage(e, abi)})`;
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/** Parse an integer literal; refuse anything outside int32 with a message naming the value. */
export function parseInt32(text: string, what: string): number {
  const t = text.trim();
  let v: number;
  if (/^-?\d+$/.test(t)) v = Number(t);
  else if (/^-?0x[0-9a-f]+$/i.test(t)) v = t.startsWith('-') ? -Number(t.slice(1)) : Number(t);
  else if (/^-?0o[0-7]+$/i.test(t)) v = t.startsWith('-') ? -Number(t.slice(1)) : Number(t);
  else throw new NameError(`${what}: "${text}" is not a number`);
  if (!Number.isSafeInteger(v) || v < INT32_MIN || v > INT32_MAX) {
    throw new NameError(`${what}: ${text} is outside int32 (${INT32_MIN} .. ${INT32_MAX}); socket() takes C ints, and sockbridge never wraps a number`);
  }
  return v;
}

function isNumeric(t: string): boolean {
  return /^-?(\d+|0x[0-9a-f]+|0o[0-7]+)$/i.test(t.trim());
}

function lookup(table: Record<string, number>, prefix: string, text: string): number | undefined {
  const up = text.trim().toUpperCase();
  for (const [k, v] of Object.entries(table)) {
    const ku = k.toUpperCase();
    if (ku === up || ku === prefix + up) return v;
  }
  return undefined;
}

export function parseDomain(text: string): number {
  if (isNumeric(text)) return parseInt32(text, 'domain');
  const up = text.trim().toUpperCase().replace(/^PF_/, 'AF_');
  const v = lookup({ ...AF, ...afAliases }, 'AF_', up);
  if (v !== undefined) return v;
  throw new NameError(`domain: unknown name "${text}"${suggest(up, [...Object.keys(AF), ...Object.keys(afAliases)], 'AF_')}; a number 0..2147483647 is accepted too`);
}

/** SOCK_STREAM|SOCK_CLOEXEC, STREAM, 1|0x80000, 0x80801 ...; with an ABI, names take its numbers (mips: SOCK_STREAM = 2). */
export function parseType(text: string, abi?: Abi): number {
  const types: Record<string, number> = abi ? abi.sockTypes : SOCK;
  const cloexec = abi ? abi.SOCK_CLOEXEC : SOCK_CLOEXEC;
  const nonblock = abi ? abi.SOCK_NONBLOCK : SOCK_NONBLOCK;
  const parts = text.split('|').map((p) => p.trim()).filter((p) => p.length > 0);
  if (parts.length === 0) throw new NameError(`type: empty; give a SOCK_* name or a number, e.g. SOCK_STREAM|SOCK_CLOEXEC`);
  let v = 0;
  for (const p of parts) {
    if (isNumeric(p)) { v |= parseInt32(p, 'type'); continue; }
    const up = p.toUpperCase();
    if (up === 'SOCK_CLOEXEC' || up === 'CLOEXEC') { v |= cloexec; continue; }
    if (up === 'SOCK_NONBLOCK' || up === 'NONBLOCK') { v |= nonblock; continue; }
    const t = lookup(types, 'SOCK_', up);
    if (t === undefined) {
      throw new NameError(`type: unknown name "${p}"${suggest(up, [...Object.keys(SOCK), 'SOCK_CLOEXEC', 'SOCK_NONBLOCK'], 'SOCK_')}`);
    }
    v |= t;
  }
  return v | 0;
}

/** IPPROTO_TCP, TCP, NETLINK_ROUTE, htons(ETH_P_ALL), ETH_P_ALL (meaning htons of it), numbers. */
export function parseProtocol(text: string, domain?: number): number {
  const t = text.trim();
  if (isNumeric(t)) return parseInt32(t, 'protocol');
  const h = /^htons\s*\((.*)\)$/i.exec(t);
  if (h) {
    const inner = h[1].trim();
    const n = isNumeric(inner) ? parseInt32(inner, 'protocol') : lookup(ETH_P, 'ETH_P_', inner);
    if (n === undefined) throw new NameError(`protocol: unknown name "${inner}" in htons()${suggest(inner.toUpperCase(), Object.keys(ETH_P), 'ETH_P_')}`);
    if (n < 0 || n > 0xffff) throw new NameError(`protocol: htons() takes 0..65535, got ${n}`);
    return htons(n);
  }
  const up = t.toUpperCase();
  if (up.startsWith('ETH_P_')) {
    const n = lookup(ETH_P, 'ETH_P_', up);
    if (n !== undefined) return htons(n);
  }
  const preferNetlink = domain === AF.AF_NETLINK;
  const order: Array<[Record<string, number>, string]> = preferNetlink
    ? [[NETLINK, 'NETLINK_'], [IPPROTO, 'IPPROTO_']]
    : [[IPPROTO, 'IPPROTO_'], [NETLINK, 'NETLINK_']];
  for (const [table, prefix] of order) {
    // Bare names (TCP, ROUTE) only resolve against the table the domain implies.
    if (!up.startsWith(prefix) && table !== order[0][0]) continue;
    const v = lookup(table, prefix, up);
    if (v !== undefined) return v;
  }
  throw new NameError(`protocol: unknown name "${text}"${suggest(up, [...Object.keys(IPPROTO), ...Object.keys(NETLINK), 'htons(ETH_P_ALL)'], '')}; a number is accepted too`);
}

/** " (did you mean AF_INET6, AF_INET?)" with the nearest names by edit distance. */
export function suggest(input: string, names: string[], prefix: string): string {
  const up = input.toUpperCase();
  const scored = names.map((n) => {
    const full = n.toUpperCase();
    const bare = prefix && full.startsWith(prefix) ? full.slice(prefix.length) : full;
    return { n, d: Math.min(editDistance(up, full), editDistance(up, bare)) };
  });
  scored.sort((a, b) => a.d - b.d || a.n.localeCompare(b.n));
  const best = scored.filter((s) => s.d <= Math.max(2, Math.floor(up.length / 3))).slice(0, 3).map((s) => s.n);
  return best.length ? ` (did you mean ${best.join(', ')}?)` : '';
}

/** Optimal string alignment distance: a swapped pair of letters ("TPC" for "TCP") costs one. */
function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = [];
  for (let i = 0; i <= m; i++) d.push(new Array<number>(n + 1).fill(0));
  for (let i = 0; i <= m; i++) d[i][0] = i;
  for (let j = 0; j <= n; j++) d[0][j] = j;
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[m][n];
}

/** Every known name, for help texts. */
export const knownNames = {
  domains: Object.keys(AF),
  types: Object.keys(SOCK),
  ipprotos: Object.keys(IPPROTO),
  netlinks: Object.keys(NETLINK),
};
