/**
 * Pure parsers of tracefs text: the `trace` / `trace_pipe` lines of the three events
 * sockbridge enables (syscalls:sys_enter_socket, syscalls:sys_exit_socket,
 * capability:cap_capable) and the `format` file of an event.
 *
 * No I/O here: lib/ktrace/tracefs.ts reads the files, these functions read the text.
 *
 * Line shapes seen on this project's 6.18 host (test/fixtures/trace/):
 *   python3.11-6202    [001] .....   356.427139: sys_socket(family: 2, type: 0x80003, protocol: 1)
 *   python3.11-6202    [001] .....   356.427149: cap_capable: cred 000000000b3c1097, target_ns 00000000d0e6f2d6, capable_ns 00000000d0e6f2d6, cap 13, ret 0
 *   python3.11-6202    [001] .....   356.427156: sys_socket -> 0xffffffffffffffa3
 * The syscall arguments are printed in hex with a 0x prefix, except that 6.18 prints
 * values below 10 in plain decimal (where both read the same); older kernels print every
 * argument as 0x%lx. Optional columns (record-tgid's "(tgid)", the irq-info flags) may
 * be present or not.
 */

interface EventBase {
  /** The thread id (common_pid) the event was recorded for. */
  pid: number;
  /** The task name recorded with the event (may be "<...>" when the comm was not saved). */
  comm: string;
  cpu: number;
  /** Timestamp in seconds, in the instance's trace_clock. */
  ts: number;
  /** The line as read, for reports. */
  raw: string;
}

/** sys_enter_socket: socket(family, type, protocol) as the kernel received it (int32 values). */
export interface EnterSocketEvent extends EventBase {
  kind: 'enter';
  family: number;
  type: number;
  protocol: number;
}

/** sys_exit_socket: the syscall's return value (an fd, or -errno). */
export interface ExitSocketEvent extends EventBase {
  kind: 'exit';
  ret: number;
}

/** capability:cap_capable: one capability check made by the commoncap LSM. */
export interface CapCapableEvent extends EventBase {
  kind: 'cap';
  cap: number;
  /** cap_capable's return value: 0 granted, negative (-EPERM) denied; null when the format has no ret. */
  ret: number | null;
  /** ret === 0; null when the format has no ret. */
  granted: boolean | null;
  /** Every "name value" field printed (cred, target_ns, capable_ns, cap, ret, opts, audit, ...). */
  fields: Record<string, string>;
}

/** Events the ring buffer dropped (trace_pipe "CPU:n [LOST m EVENTS]", or the trace header's written > in buffer). */
export interface LostEvents {
  kind: 'lost';
  /** -1 when the count comes from the `trace` header (all CPUs). */
  cpu: number;
  count: number;
  raw: string;
}

/** An event of another kind (another syscall, another tracepoint): kept so nothing is silently dropped. */
export interface OtherEvent extends EventBase {
  kind: 'other';
  name: string;
  body: string;
}

export type TraceEvent = EnterSocketEvent | ExitSocketEvent | CapCapableEvent | LostEvents | OtherEvent;

const LINE = /^\s*(.+?)-(\d+)\s+(?:\(\s*(?:\d+|-+)\)\s+)?\[(\d+)\]\s+(?:(\S{4,6})\s+)?(\d+(?:\.\d+)?):\s+(.*)$/;
const LOST_PIPE = /^CPU:(\d+) \[LOST (\d+) EVENTS\]$/;
const HEADER_COUNTS = /^#\s*entries-in-buffer\/entries-written:\s*(\d+)\/(\d+)/;
const ENTER = /^sys_socket\((.*)\)\s*$/;
const EXIT = /^sys_socket -> (\S+)\s*$/;
const NAMED = /^(\w+):\s?(.*)$/;

/**
 * A number as the syscall events print it: "0x..." is hex, anything else decimal.
 * Returns a BigInt so 64-bit values (sign-extended negatives) survive.
 */
export function parseTraceNumber(text: string): bigint {
  const t = text.trim();
  if (/^0x[0-9a-fA-F]+$/.test(t)) return BigInt(t);
  if (/^-?\d+$/.test(t)) return BigInt(t);
  throw new Error(`not a trace number: "${text}" (expected 0x-prefixed hex or decimal digits)`);
}

/** "family: 2, type: 0x80003, protocol: 1" -> {family: 2n, ...} */
function parseSyscallArgs(text: string): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const part of text.split(',')) {
    const m = /^\s*(\w+):\s*(\S+)\s*$/.exec(part);
    if (!m) throw new Error(`cannot read syscall argument "${part.trim()}" in "${text}"`);
    out[m[1]] = parseTraceNumber(m[2]);
  }
  return out;
}

/**
 * The fields of a tracepoint printed as "name value, name value" (cap_capable on 6.x) or
 * "name=value name=value" (the shape many other tracepoints use; accepted so a kernel that
 * prints cap_capable that way still parses).
 */
export function parseFieldList(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const t = text.trim();
  if (t === '') return out;
  if (/^\w+=/.test(t)) {
    for (const m of t.matchAll(/(\w+)=(\S+?)(?:,?\s+|,?$)/g)) out[m[1]] = m[2];
    return out;
  }
  for (const part of t.split(',')) {
    const m = /^\s*(\w+)\s+(.*?)\s*$/.exec(part);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

function int32(v: bigint): number { return Number(BigInt.asIntN(32, v)); }
function int64(v: bigint): number { return Number(BigInt.asIntN(64, v)); }

function parseCap(base: EventBase, body: string): CapCapableEvent {
  const fields = parseFieldList(body);
  if (fields.cap === undefined) {
    throw new Error(`cap_capable line without a "cap" field: "${base.raw.trim()}"`);
  }
  const cap = Number(parseTraceNumber(fields.cap));
  let ret: number | null = null;
  if (fields.ret !== undefined) ret = int32(parseTraceNumber(fields.ret));
  return { ...base, kind: 'cap', cap, ret, granted: ret === null ? null : ret === 0, fields };
}

/**
 * One line of `trace` or `trace_pipe`. Returns null for blank and comment lines.
 * Throws with the line quoted when a sockbridge event is malformed.
 */
export function parseTraceLine(line: string): TraceEvent | null {
  const raw = line.replace(/\r?\n$/, '');
  if (raw.trim() === '' || raw.startsWith('#')) return null;
  const lost = LOST_PIPE.exec(raw.trim());
  if (lost) return { kind: 'lost', cpu: Number(lost[1]), count: Number(lost[2]), raw };
  const m = LINE.exec(raw);
  if (!m) return { kind: 'other', pid: -1, comm: '', cpu: -1, ts: NaN, raw, name: '?', body: raw };
  const base: EventBase = { comm: m[1], pid: Number(m[2]), cpu: Number(m[3]), ts: Number(m[5]), raw };
  const body = m[6];
  const enter = ENTER.exec(body);
  if (enter) {
    const a = parseSyscallArgs(enter[1]);
    for (const k of ['family', 'type', 'protocol']) {
      if (a[k] === undefined) throw new Error(`sys_socket entry without "${k}": "${raw.trim()}"`);
    }
    return { ...base, kind: 'enter', family: int32(a.family), type: int32(a.type), protocol: int32(a.protocol) };
  }
  const exit = EXIT.exec(body);
  if (exit) return { ...base, kind: 'exit', ret: int64(parseTraceNumber(exit[1])) };
  const named = NAMED.exec(body);
  if (named && named[1] === 'cap_capable') return parseCap(base, named[2]);
  return { ...base, kind: 'other', name: named ? named[1] : body.split(/[\s(]/)[0], body };
}

/**
 * The whole text of `trace` (with its header) or of a `trace_pipe` read. The header's
 * "entries-in-buffer/entries-written: a/b" with b > a becomes a leading LostEvents.
 */
export function parseTrace(text: string): TraceEvent[] {
  const out: TraceEvent[] = [];
  for (const line of text.split('\n')) {
    const h = HEADER_COUNTS.exec(line);
    if (h) {
      const inBuffer = Number(h[1]);
      const written = Number(h[2]);
      if (written > inBuffer) out.push({ kind: 'lost', cpu: -1, count: written - inBuffer, raw: line });
      continue;
    }
    const ev = parseTraceLine(line);
    if (ev) out.push(ev);
  }
  return out;
}

/** One field of an event's `format` file. */
export interface FormatField {
  /** The C declaration as printed, e.g. "const struct cred * cred" or "int cap". */
  decl: string;
  name: string;
  offset: number;
  size: number;
  signed: boolean;
  /** Whether it is one of the common_* fields every event has. */
  common: boolean;
}

export interface EventFormat {
  name: string;
  id: number;
  fields: FormatField[];
  /** The print fmt line (without the "print fmt: " prefix). */
  printFmt: string;
}

/** Parse an event's tracefs `format` file (events/<system>/<event>/format). */
export function parseEventFormat(text: string): EventFormat {
  const name = /^name:\s*(\S+)/m.exec(text);
  const id = /^ID:\s*(\d+)/m.exec(text);
  if (!name || !id) throw new Error('not a tracefs event format file: it has no "name:" and "ID:" lines');
  const fields: FormatField[] = [];
  for (const m of text.matchAll(/^\s*field:([^;]+);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/gm)) {
    const decl = m[1].trim();
    const fname = /(\w+)(?:\[[^\]]*\])?$/.exec(decl);
    fields.push({
      decl, name: fname ? fname[1] : decl, offset: Number(m[2]), size: Number(m[3]),
      signed: m[4] === '1', common: /\bcommon_\w+$/.test(decl),
    });
  }
  const pf = /^print fmt:\s*(.*)$/m.exec(text);
  return { name: name[1], id: Number(id[1]), fields, printFmt: pf ? pf[1] : '' };
}

/**
 * What sockbridge can learn from this kernel's cap_capable: whether it records the
 * capability and the result. (The tracepoint came with the cred/target_ns/capable_ns/cap/ret
 * layout; a layout without `ret` would still show which checks ran, not their outcome.)
 */
export function capCapableLayout(fmt: EventFormat): { cap: boolean; ret: boolean; extra: string[] } {
  const names = fmt.fields.filter(f => !f.common).map(f => f.name);
  return {
    cap: names.includes('cap'),
    ret: names.includes('ret'),
    extra: names.filter(n => !['cap', 'ret'].includes(n)),
  };
}
