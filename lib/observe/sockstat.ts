/**
 * /proc/net/sockstat and sockstat6 (net/ipv4/proc.c sockstat_seq_show, net/ipv6/proc.c
 * sockstat6_seq_show): lines of "NAME: key value key value ...", e.g.
 *   sockets: used 21
 *   TCP: inuse 1 orphan 0 tw 0 alloc 4 mem 213
 * parsed to { sockets: { used: 21 }, TCP: { inuse: 1, orphan: 0, tw: 0, alloc: 4, mem: 213 }, ... }.
 */
import { ProcParseError, dec, fields, lines } from './text';

export type Sockstat = Record<string, Record<string, number>>;

export function parseSockstat(text: string, file = '/proc/net/sockstat'): Sockstat {
  const out: Sockstat = {};
  const ls = lines(text);
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i];
    if (line.trim() === '') continue;
    const f = fields(line);
    const name = f[0];
    if (!name.endsWith(':') || name.length < 2) {
      throw new ProcParseError(file, i + 1, 'expected "NAME: key value ..."', line);
    }
    if ((f.length - 1) % 2 !== 0 || f.length < 3) {
      throw new ProcParseError(file, i + 1, 'expected key value pairs after the name (an odd count means a truncated line)', line);
    }
    const rec: Record<string, number> = {};
    for (let k = 1; k < f.length; k += 2) rec[f[k]] = dec(f[k + 1], file, i + 1, line, f[k]);
    out[name.slice(0, -1)] = rec;
  }
  return out;
}
