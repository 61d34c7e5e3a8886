/**
 * /proc/net/protocols (net/core/sock.c proto_seq_show): one row per registered struct proto:
 *   protocol  size sockets  memory press maxhdr  slab module     cl co di ac io in de sh ss gs se re bi br ha uh gp em
 *   TCP       2432      1       0   no     320   yes  kernel      y  y  y  y  y  y  y  y  y  y  y  y  y  n  y  y  y  y
 * "sockets" is sock_prot_inuse_get() in the reader's netns; "memory" is -1 and "press" is "NI"
 * when the proto does no memory accounting. The two-letter columns say which proto methods
 * exist (cl = close, co = connect, ...); their names come from the header.
 */
import { ProcParseError, dec, fields, lines } from './text';

export interface ProtocolsRow {
  name: string;
  size: number;
  sockets: number;
  memory: number;
  /** "yes", "no" or "NI" (not implemented). */
  press: string;
  maxhdr: number;
  slab: boolean;
  module: string;
  /** Method flags by their header abbreviation: { cl: true, co: false, ... }. */
  flags: Record<string, boolean>;
}

const FIXED = ['protocol', 'size', 'sockets', 'memory', 'press', 'maxhdr', 'slab', 'module'];

export function parseProtocols(text: string, file = '/proc/net/protocols'): ProtocolsRow[] {
  const ls = lines(text);
  if (ls.length === 0) throw new ProcParseError(file, 1, 'empty file: expected a header line starting with "protocol"', '');
  const header = fields(ls[0]);
  for (let i = 0; i < FIXED.length; i++) {
    if (header[i] !== FIXED[i]) {
      throw new ProcParseError(file, 1, `not the expected header (column ${i + 1} should be "${FIXED[i]}")`, ls[0]);
    }
  }
  const flagNames = header.slice(FIXED.length);
  const rows: ProtocolsRow[] = [];
  for (let i = 1; i < ls.length; i++) {
    const line = ls[i];
    const lineNo = i + 1;
    const f = fields(line);
    if (f.length !== header.length) {
      throw new ProcParseError(file, lineNo, `expected ${header.length} fields like the header, got ${f.length} (truncated line?)`, line);
    }
    if (f[6] !== 'yes' && f[6] !== 'no') throw new ProcParseError(file, lineNo, `slab should be "yes" or "no" (got ${JSON.stringify(f[6])})`, line);
    const flags: Record<string, boolean> = {};
    for (let k = 0; k < flagNames.length; k++) {
      const v = f[FIXED.length + k];
      if (v !== 'y' && v !== 'n') throw new ProcParseError(file, lineNo, `flag ${flagNames[k]} should be "y" or "n" (got ${JSON.stringify(v)})`, line);
      flags[flagNames[k]] = v === 'y';
    }
    rows.push({
      name: f[0],
      size: dec(f[1], file, lineNo, line, 'size'),
      sockets: dec(f[2], file, lineNo, line, 'sockets'),
      memory: dec(f[3], file, lineNo, line, 'memory'),
      press: f[4],
      maxhdr: dec(f[5], file, lineNo, line, 'maxhdr'),
      slab: f[6] === 'yes',
      module: f[7],
      flags,
    });
  }
  return rows;
}
