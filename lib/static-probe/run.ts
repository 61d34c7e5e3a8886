/**
 * Run the static probe (native/static-probe.cc; its source documents the input and output)
 * and turn its JSON lines into Observations, the same shape lib/probe.ts gives for the addon.
 *
 * The binary can run natively, under an emulator (`launcher: ['qemu-aarch64-static']`), or
 * anywhere else its output was captured (a foreign guest's console): parseProbeOutput takes
 * the text alone. Numbers stay as the probe's ABI reported them (a mips errno, SO_TYPE and
 * O_* bits are mips numbers); translating is the Abi's job (lib/abi/arch.ts), not the runner's.
 */
import { spawn, spawnSync } from 'child_process';
import type { AbiName, EntryRoute } from '../abi/arch';
import { type NetTableName, isNetTableName, parseFdinfo, parseNetTableLine } from '../observe';
import type { Observation, SocketCase } from '../types';

export const PROBE_SCHEMA = 'sockbridge.probe/1';

export interface ProbeHeader {
  kind: 'probe';
  schema: string;
  abi: AbiName;
  route: EntryRoute;
  /** uname -m and -r as the probe saw them (an emulator reports the emulated machine). */
  machine: string;
  release: string;
  pid: number;
  ids: { uid: number; euid: number; gid: number; egid: number };
  /** The ABI's numbers as the probe's build headers define them. */
  consts: Record<string, number>;
  batch: number;
}

export interface ProbeBatch {
  batch: number;
  first: number;
  /** The fds open before the batch's first socket(): the model's fd table for the batch. */
  openFds: number[];
  observations: Observation[];
  /** close() failures of the batch's fds: [fd, errno]. */
  closeErrors: Array<[number, number]>;
}

export interface ProbeRun {
  header: ProbeHeader;
  batches: ProbeBatch[];
  /** Every observation in input order. */
  observations: Observation[];
  /** Whether the end line arrived (false: the probe died or the output was cut). */
  complete: boolean;
}

/** Bytes as the probe wrote them (\u0080..\u00ff = one byte each), decoded as UTF-8. */
function bytes(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0080-\u00ff]/.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s;
}

function fail(lineNo: number, msg: string, line: string): never {
  throw new Error(`probe output line ${lineNo}: ${msg}: ${line.length > 200 ? line.slice(0, 200) + '...' : line}`);
}

type Line = Record<string, unknown>;

function caseObservation(l: Line, lineNo: number, raw: string): Observation {
  const c = l.case as SocketCase | undefined;
  if (!c || typeof c.domain !== 'number' || typeof c.type !== 'number' || typeof c.protocol !== 'number') fail(lineNo, 'a case line without case {domain, type, protocol}', raw);
  const errno = l.errno as number;
  const o: Observation = { case: { domain: c.domain, type: c.type, protocol: c.protocol }, errno, fd: errno === 0 ? (l.fd as number) : -1 };
  if (errno !== 0) return o;
  if (typeof l.link === 'string' && l.link !== '') o.link = bytes(l.link);
  if (typeof l.fdinfo === 'string' && l.fdinfo !== '') o.fdinfo = parseFdinfo(bytes(l.fdinfo), `/proc/self/fdinfo/${o.fd} (probe)`);
  const st = l.stat as { mode: number; uid: number; gid: number; ino: number } | undefined;
  if (st) o.stat = { mode: st.mode, uid: st.uid, gid: st.gid, ino: st.ino };
  // As lib/probe.ts: -1 (the call failed) leaves the field out.
  for (const k of ['fdFlags', 'flFlags', 'soDomain', 'soType', 'soProtocol'] as const) {
    const v = l[k];
    if (typeof v === 'number' && v !== -1) o[k] = v;
  }
  if (typeof l.protoName === 'string' && l.protoName !== '') o.protoName = bytes(l.protoName);
  return o;
}

/**
 * Parse the probe's whole output. Observations get procNet as lib/probe.ts gives it: the row
 * of the /proc/net table listing the socket's inode, or null; left undefined when the probe
 * ran with --no-procnet. Throws on a line that is not the probe's.
 */
export function parseProbeOutput(text: string, opts: { procNet?: boolean } = {}): ProbeRun {
  const procNet = opts.procNet ?? true;
  let header: ProbeHeader | null = null;
  const batches: ProbeBatch[] = [];
  const observations: Observation[] = [];
  let complete = false;
  let cur: ProbeBatch | null = null;
  let rows = new Map<number, { table: NetTableName; row: Record<string, string> }>();
  const finishRows = () => {
    if (!cur || !procNet) return;
    for (const ob of cur.observations) {
      if (!ob.stat) continue;
      ob.procNet = rows.get(ob.stat.ino) ?? null;
    }
  };
  const ls = text.split('\n');
  for (let i = 0; i < ls.length; i++) {
    const raw = ls[i];
    if (raw === '') continue;
    let l: Line;
    try {
      l = JSON.parse(raw) as Line;
    } catch {
      fail(i + 1, 'not JSON', raw);
    }
    switch (l.kind) {
      case 'probe':
        if (l.schema !== PROBE_SCHEMA) fail(i + 1, `schema ${JSON.stringify(l.schema)}, expected ${PROBE_SCHEMA}`, raw);
        header = l as unknown as ProbeHeader;
        break;
      case 'batch':
        if (!header) fail(i + 1, 'a batch before the probe line', raw);
        cur = { batch: l.batch as number, first: l.first as number, openFds: l.openFds as number[], observations: [], closeErrors: [] };
        rows = new Map();
        batches.push(cur);
        break;
      case 'case': {
        if (!cur) fail(i + 1, 'a case outside a batch', raw);
        const o = caseObservation(l, i + 1, raw);
        cur.observations.push(o);
        observations.push(o);
        break;
      }
      case 'procnet': {
        if (!cur) fail(i + 1, 'a procnet line outside a batch', raw);
        const table = l.table as string;
        if (!isNetTableName(table)) fail(i + 1, `unknown table ${JSON.stringify(table)}`, raw);
        if (l.errno !== undefined) break; // the table does not exist here: no socket is in it
        const header = bytes(l.header as string);
        for (const line of l.lines as string[]) {
          const row = parseNetTableLine(table, bytes(line), `/proc/net/${table} (probe)`, 0, header);
          const ino = Number(row.inode);
          if (rows.has(ino)) continue; // the first table in NET_TABLES order wins, as in lib/probe.ts
          const rec: Record<string, string> = {};
          for (const [k, v] of Object.entries(row)) if (v !== null) rec[k] = String(v);
          rows.set(ino, { table, row: rec });
        }
        break;
      }
      case 'closed':
        if (!cur) fail(i + 1, 'a closed line outside a batch', raw);
        cur.closeErrors = l.errors as Array<[number, number]>;
        finishRows();
        cur = null;
        break;
      case 'end':
        complete = true;
        break;
      default:
        fail(i + 1, `unknown kind ${JSON.stringify(l.kind)}`, raw);
    }
  }
  if (cur) finishRows();
  if (!header) throw new Error('probe output has no probe line (did the probe start?)');
  return { header, batches, observations, complete };
}

export interface RunProbeOptions {
  /** Run the probe through this (e.g. ['qemu-aarch64-static']); default: directly. */
  launcher?: string[];
  route?: EntryRoute;
  batch?: number;
  closeThreads?: number;
  procNet?: boolean;
  /** Milliseconds before the probe is killed (default 10 minutes). */
  timeoutMs?: number;
}

/** The argv that runs `binary` on `cases` (the cases go to stdin): for reproducers and spawn. */
export function probeArgv(binary: string, opts: RunProbeOptions = {}): string[] {
  const argv = [...(opts.launcher ?? []), binary];
  if (opts.route && opts.route !== 'socket') argv.push('--route', opts.route);
  if (opts.batch !== undefined) argv.push('--batch', String(opts.batch));
  if (opts.closeThreads !== undefined) argv.push('--close-threads', String(opts.closeThreads));
  if (opts.procNet === false) argv.push('--no-procnet');
  return argv;
}

/** The cases as the probe reads them on stdin. */
export function probeInput(cases: readonly SocketCase[]): string {
  let s = '';
  for (const c of cases) s += `${c.domain} ${c.type} ${c.protocol}\n`;
  return s;
}

/**
 * Run the probe on `cases` and parse what it wrote. Throws when it cannot start, exits non-zero
 * or is killed, with its stderr.
 */
export function runProbe(binary: string, cases: readonly SocketCase[], opts: RunProbeOptions = {}): ProbeRun {
  const argv = probeArgv(binary, opts);
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd, args, {
    input: probeInput(cases), encoding: 'utf8', maxBuffer: 1 << 30, timeout: opts.timeoutMs ?? 600_000,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`${argv.join(' ')} ${r.signal ? `was killed by ${r.signal}` : `exited ${r.status}`}: ${(r.stderr ?? '').trim() || '(no message)'}`);
  }
  const run = parseProbeOutput(r.stdout, { procNet: opts.procNet });
  if (!run.complete) throw new Error(`${argv.join(' ')}: the output ends before the probe's end line`);
  if (run.observations.length !== cases.length) throw new Error(`${argv.join(' ')}: ${run.observations.length} observations for ${cases.length} cases`);
  return run;
}

/** A probe started in the background: its parsed run, and a way to stop it (SIGINT, SIGTERM). */
export interface StartedProbe {
  done: Promise<ProbeRun>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * runProbe without blocking the event loop, so signal handlers run while the probe works (a
 * sweep under an emulator takes seconds to minutes) and can stop it. Rejects as runProbe throws.
 */
export function startProbe(binary: string, cases: readonly SocketCase[], opts: RunProbeOptions = {}): StartedProbe {
  const argv = probeArgv(binary, opts);
  const [cmd, ...args] = argv;
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  child.stdin.on('error', () => undefined); // the probe may exit before reading all (bad input): its exit says why
  child.stdin.end(probeInput(cases));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
  const done = new Promise<ProbeRun>((resolve, reject) => {
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      if (status !== 0) {
        reject(new Error(`${argv.join(' ')} ${signal ? `was killed by ${signal}` : `exited ${status}`}: ${Buffer.concat(err).toString('utf8').trim() || '(no message)'}`));
        return;
      }
      try {
        const run = parseProbeOutput(Buffer.concat(out).toString('utf8'), { procNet: opts.procNet });
        if (!run.complete) throw new Error(`${argv.join(' ')}: the output ends before the probe's end line`);
        if (run.observations.length !== cases.length) throw new Error(`${argv.join(' ')}: ${run.observations.length} observations for ${cases.length} cases`);
        resolve(run);
      } catch (e) {
        reject(e);
      }
    });
  });
  return { done, kill: (sig) => { child.kill(sig); } };
}
