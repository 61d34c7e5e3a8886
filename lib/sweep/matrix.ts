/**
 * Sweep matrices: domain x type x flags x protocol.
 *
 * The default matrix covers domains 0 .. AF_MAX+3, types 0 .. 15, every combination of
 * SOCK_CLOEXEC and SOCK_NONBLOCK plus one invalid flag bit, and protocols 0, each IPPROTO_*,
 * each NETLINK_*, htons(ETH_P_ALL) and out-of-range values.
 */
import type { CaseColumns, SocketCase } from '../types';
import { IPPROTO, NETLINK, ETH_P, SOCK_CLOEXEC, SOCK_NONBLOCK, htons } from '../abi/constants';
import { NameError, parseDomain, parseProtocol, parseType, parseInt32 } from '../abi/names';

/** A flag bit outside SOCK_TYPE_MASK | SOCK_CLOEXEC | SOCK_NONBLOCK: __sys_socket refuses it (EINVAL). */
export const INVALID_FLAG = 0x40;

export interface Matrix {
  domains: number[];
  /** Base types (0..15); combined with each entry of `flags`. */
  types: number[];
  flags: number[];
  protocols: number[];
}

/** AF_MAX of the release the sweep runs on (46 since 5.15), so the matrix reaches past the end. */
export function defaultMatrix(afMax = 46): Matrix {
  const protocols = new Set<number>([0]);
  for (const v of Object.values(IPPROTO)) protocols.add(v);
  for (const v of Object.values(NETLINK)) protocols.add(v);
  protocols.add(htons(ETH_P.ETH_P_ALL));
  // Out of range: negative, IPPROTO_MAX (263 since 5.6), and above 65535 (AF_PACKET truncates to 16 bits).
  protocols.add(-1);
  protocols.add(263);
  protocols.add(65536 + 6);
  return {
    domains: range(0, afMax + 3),
    types: range(0, 15),
    flags: [0, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_CLOEXEC | SOCK_NONBLOCK, INVALID_FLAG],
    protocols: [...protocols].sort((a, b) => a - b),
  };
}

export function matrixSize(m: Matrix): number {
  return m.domains.length * m.types.length * m.flags.length * m.protocols.length;
}

/** Cases in a fixed order: domain, then type, then flags, then protocol. */
export function matrixCases(m: Matrix): MatrixCases {
  return new MatrixCases(m);
}

/**
 * The cases of a matrix, iterable as often as wanted; takeColumns(n) hands out the next n of one
 * walk as columns (a sweep's batch), with no iterator result or case object per case.
 */
export class MatrixCases implements Iterable<SocketCase> {
  private readonly d: number[];
  private readonly t: number[];
  private readonly f: number[];
  private readonly p: number[];
  // takeColumns' position: indexes into the four axes, protocol fastest.
  private di = 0;
  private ti = 0;
  private fi = 0;
  private pi = 0;

  constructor(m: Matrix) {
    this.d = m.domains.slice();
    this.t = m.types.slice();
    this.f = m.flags.slice();
    this.p = m.protocols.slice();
  }

  *[Symbol.iterator](): Iterator<SocketCase> {
    for (const domain of this.d) {
      for (const t of this.t) {
        for (const f of this.f) {
          for (const protocol of this.p) yield { domain, type: t | f, protocol };
        }
      }
    }
  }

  /**
   * The next (up to) n cases of takeColumns' walk, in iteration order, as three int32 columns:
   * no case object is made (a sweep makes a batch's objects only when it predicts it,
   * casesOfColumns); null at the end.
   */
  takeColumns(n: number): CaseColumns | null {
    const domains = new Int32Array(n);
    const types = new Int32Array(n);
    const protocols = new Int32Array(n);
    let k = 0;
    const { d, t, f, p } = this;
    if (p.length === 0 || f.length === 0 || t.length === 0) return null;
    while (k < n && this.di < d.length) {
      const domain = d[this.di];
      const type = t[this.ti] | f[this.fi];
      while (k < n && this.pi < p.length) {
        domains[k] = domain;
        types[k] = type;
        protocols[k++] = p[this.pi++];
      }
      if (this.pi < p.length) break;
      this.pi = 0;
      if (++this.fi < f.length) continue;
      this.fi = 0;
      if (++this.ti < t.length) continue;
      this.ti = 0;
      this.di++;
    }
    if (k === 0) return null;
    return k === n ? { domains, types, protocols } : { domains: domains.subarray(0, k), types: types.subarray(0, k), protocols: protocols.subarray(0, k) };
  }

}

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i <= b; i++) out.push(i);
  return out;
}

/**
 * Parse an axis given on the command line: comma-separated names or numbers, and ranges "0-49".
 * Empty axes and repeated values are errors naming the value.
 */
export function parseAxis(text: string, axis: 'domains' | 'types' | 'flags' | 'protocols'): number[] {
  const items = text.split(',').map((s) => s.trim());
  if (text.trim() === '' || items.some((s) => s === '')) {
    throw new NameError(`--${axis}: empty value in "${text}"; give a comma-separated list, e.g. --${axis} ${example(axis)}`);
  }
  const out: number[] = [];
  for (const item of items) {
    const r = /^(-?\d+)\s*(?:-|\.\.)\s*(-?\d+)$/.exec(item);
    if (r && axis !== 'flags') {
      const a = parseInt32(r[1], axis);
      const b = parseInt32(r[2], axis);
      if (b < a) throw new NameError(`--${axis}: range "${item}" runs backwards; write it low-high`);
      if (b - a > 100000) throw new NameError(`--${axis}: range "${item}" holds ${b - a + 1} values; at most 100001 per range`);
      for (let i = a; i <= b; i++) out.push(i);
      continue;
    }
    switch (axis) {
      case 'domains': out.push(parseDomain(item)); break;
      case 'types': out.push(parseType(item)); break;
      case 'protocols': out.push(parseProtocol(item)); break;
      case 'flags': out.push(parseFlags(item)); break;
    }
  }
  const seen = new Set<number>();
  for (const v of out) {
    if (seen.has(v)) throw new NameError(`--${axis}: ${v} is listed twice in "${text}"`);
    seen.add(v);
  }
  return out;
}

/** "0", "SOCK_CLOEXEC", "SOCK_CLOEXEC|SOCK_NONBLOCK", "none", "0x40". */
function parseFlags(item: string): number {
  if (/^none$/i.test(item)) return 0;
  let v = 0;
  for (const part of item.split('|').map((p) => p.trim())) {
    const up = part.toUpperCase();
    if (up === 'SOCK_CLOEXEC' || up === 'CLOEXEC') v |= SOCK_CLOEXEC;
    else if (up === 'SOCK_NONBLOCK' || up === 'NONBLOCK') v |= SOCK_NONBLOCK;
    else if (up === 'INVALID') v |= INVALID_FLAG;
    else if (/^-?(\d+|0x[0-9a-f]+)$/i.test(part)) v |= parseInt32(part, 'flags');
    else throw new NameError(`--flags: unknown flag "${part}"; valid: none, SOCK_CLOEXEC, SOCK_NONBLOCK, invalid, or a number`);
  }
  return v;
}

function example(axis: string): string {
  switch (axis) {
    case 'domains': return 'AF_INET,AF_UNIX,40-45';
    case 'types': return 'SOCK_STREAM,SOCK_RAW,0-15';
    case 'flags': return 'none,SOCK_CLOEXEC,SOCK_CLOEXEC|SOCK_NONBLOCK';
    default: return '0,IPPROTO_TCP,htons(ETH_P_ALL)';
  }
}
