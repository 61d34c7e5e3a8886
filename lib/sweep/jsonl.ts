/**
 * The JSON Lines case writer at sweep speed.
 *
 * `jsonlCase` (report.ts) is the definition of a case line: one object built and passed to
 * JSON.stringify. A default sweep writes 192,000 of them, and building and stringifying each
 * one cost more than the model and the comparison together. Nearly every case of a sweep is the
 * same shape - both roads say the same errno, nothing else to report - and such a line is a
 * few cached pieces around three numbers:
 *
 *   {"kind":"case","variant":V,"index":I,"call":"socket(DOMAIN, TYPE, PROTOCOL)",
 *    "domain":D,"type":T,"protocol":P,TAIL
 *
 * where TAIL ("verdict":...,"predicted":{...},"observed":{...}}) depends only on the verdict
 * kind and the two errnos. Each piece is cached the first time it is needed, and the first
 * line built from any new piece is checked byte for byte against `jsonlCase`; the tails are
 * cut from `jsonlCase`'s own output. Any other verdict (a new socket, a mismatch, a field this
 * writer does not know) is written by `jsonlCase` itself. If a check ever fails - someone
 * changed `jsonlCase` and not this file - the writer says so in `diverged` and writes every
 * later line with `jsonlCase`: the bytes stay right, only the speed is lost (test/jsonl.test.ts
 * fails then, naming the line).
 */
import type { SocketCase, Verdict } from '../types';
import { plainMatch } from '../bridge/align';
import { domainName, typeName, protocolName } from '../abi/names';
import { jsonlCase } from './report';

/**
 * Every own enumerable key of the verdict and the objects it holds is one the fast path knows,
 * or has the value undefined (JSON.stringify drops those). A switch on the key compares
 * interned strings; a Set lookup per key cost more than the rest of the line.
 */
function verdictKeysKnown(v: Verdict): boolean {
  for (const k in v) {
    switch (k) {
      case 'case': case 'kind': case 'fields': case 'diffs': case 'reason': case 'prediction': case 'observation': continue;
      default: if ((v as unknown as Record<string, unknown>)[k] !== undefined) return false;
    }
  }
  const p = v.prediction;
  for (const k in p) {
    switch (k) {
      case 'case': case 'result': case 'trace': case 'deciding': continue;
      default: if ((p as unknown as Record<string, unknown>)[k] !== undefined) return false;
    }
  }
  for (const k in p.result) {
    if (k !== 'errno' && (p.result as Record<string, unknown>)[k] !== undefined) return false;
  }
  const o = v.observation;
  for (const k in o) {
    switch (k) {
      case 'case': case 'errno': case 'fd': continue;
      default: if ((o as unknown as Record<string, unknown>)[k] !== undefined) return false;
    }
  }
  for (const k in v.case) {
    switch (k) {
      case 'domain': case 'type': case 'protocol': continue;
      default: if ((v.case as unknown as Record<string, unknown>)[k] !== undefined) return false;
    }
  }
  return true;
}

/** A JSON string's inside: what JSON.stringify puts between the quotes. */
function inner(s: string): string {
  const j = JSON.stringify(s);
  return j.slice(1, j.length - 1);
}

/**
 * The pieces of a fast line, in one place: head, index, callPiece, protoPiece, type, protocolPiece,
 * tail. line(), plainLine() and the byte pieces of plainLineTo() are all made from these.
 */
const callPiece = (domainName: string, typeName: string): string => `,"call":"socket(${domainName}, ${typeName}, `;
const protoPiece = (protocolName: string, domain: number): string => `${protocolName})","domain":${domain},"type":`;
const protocolPiece = (protocol: number): string => `,"protocol":${protocol},`;

/** Protocol names cached per domain, and domain and type names cached, at most. */
const MAX_PROTOCOLS = 4096;
const MAX_NAMES = 4096;

/** Where JsonlCaseWriter.plainLineTo writes (the CLI's BufferedOut). */
export interface ByteSink {
  /** The buffer, with at least n bytes free from `used` on (text written before is encoded first). */
  room(n: number): Buffer;
  /** Where the next byte goes; the writer advances it. */
  used: number;
  /** A whole line as text. */
  text(s: string): void;
}

/** The decimal digits of an int32, as String(n) writes them, into buf at `at`; returns the end. */
function writeInt(buf: Buffer, at: number, n: number): number {
  if (n < 0) {
    buf[at++] = 0x2d;
    n = -n;
  }
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  const end = at + digits;
  for (let i = end - 1; i >= at; i--) {
    buf[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return end;
}

/** A protocol's name piece, cached per domain for the matrix's few dozen protocols (not for a fuzz sweep's millions): callName's own. */
function protocolPieceName(dom: { protocols: Map<number, string> }, d: number, p: number): string {
  let pn = dom.protocols.get(p);
  if (pn === undefined) {
    pn = inner(protocolName(d, p));
    if (dom.protocols.size < MAX_PROTOCOLS) dom.protocols.set(p, pn);
  }
  return pn;
}

export class JsonlCaseWriter {
  /** Why the fast path was turned off (a line differed from jsonlCase's), or null. */
  diverged: string | null = null;
  /** Lines written by the fast path and by jsonlCase (for the tests and the bench). */
  fast = 0;
  slow = 0;

  private readonly head: string;
  /** Per domain: its name, and the names of the protocols seen with it (bounded: see MAX_PROTOCOLS). */
  private readonly domains = new Map<number, { name: string; protocols: Map<number, string> }>();
  private readonly types = new Map<number, string>();
  /** Keyed by kind, predicted errno and observed errno. */
  private readonly tails = new Map<string, string>();

  /** Byte pieces of plain lines (plainLineTo): per domain and type, per domain and protocol, per protocol, per errno. */
  private readonly headBytes: Buffer;
  private readonly aBytes = new Map<number, Map<number, Buffer>>();
  private readonly bBytes = new Map<number, Map<number, Buffer>>();
  private readonly cBytes = new Map<number, Buffer>();
  private readonly tailBytes = new Map<number, Buffer>();

  constructor(private readonly variant: string) {
    this.head = `{"kind":"case","variant":${JSON.stringify(variant)},"index":`;
    this.headBytes = Buffer.from(this.head, 'utf8');
  }

  /** The line for one verdict, byte for byte what jsonlCase(variant, index, v) returns. */
  line(index: number, v: Verdict): string {
    if (this.diverged !== null || !this.plain(v)) {
      this.slow++;
      return jsonlCase(this.variant, index, v);
    }
    const c = v.case;
    const d = c.domain, t = c.type, p = c.protocol;
    let fresh = false;
    // A new domain or type is checked against jsonlCase once; past MAX_NAMES (a fuzz sweep's
    // random numbers) names are made each time, unchecked: the same functions callName uses.
    let dom = this.domains.get(d);
    if (dom === undefined) {
      dom = { name: inner(domainName(d)), protocols: new Map() };
      if (this.domains.size < MAX_NAMES) { this.domains.set(d, dom); fresh = true; }
    }
    let tn = this.types.get(t);
    if (tn === undefined) {
      tn = inner(typeName(t));
      if (this.types.size < MAX_NAMES) { this.types.set(t, tn); fresh = true; }
    }
    const pn = protocolPieceName(dom, d, p);
    const pe = v.prediction.result.errno as number;
    const oe = v.observation.errno;
    const tk = `${v.kind} ${pe} ${oe}`;
    const prefix = `${this.head}${index}${callPiece(dom.name, tn)}${protoPiece(pn, d)}${t}${protocolPiece(p)}`;
    let tail = this.tails.get(tk);
    if (tail === undefined || fresh) {
      const ref = jsonlCase(this.variant, index, v);
      if (!ref.startsWith(prefix)) return this.diverge(ref, prefix, 'the line up to "verdict"');
      const refTail = ref.slice(prefix.length);
      if (tail !== undefined && tail !== refTail) return this.diverge(ref, prefix + tail, `the tail for ${tk}`);
      tail = refTail;
      this.tails.set(tk, tail);
    }
    this.fast++;
    return prefix + tail;
  }

  /**
   * The line of a plain match (runSweep's onPlainMatch): byte for byte
   * jsonlCase(variant, index, plainMatch(c, errno)), which is made only to check a new piece.
   */
  plainLine(index: number, c: SocketCase, errno: number): string {
    if (this.diverged === null && c.raw === undefined) {
      const d = c.domain, t = c.type, p = c.protocol;
      const dom = this.domains.get(d);
      const tn = this.types.get(t);
      const tail = this.tails.get(`MATCH ${errno} ${errno}`);
      if (dom !== undefined && tn !== undefined && tail !== undefined && Number.isInteger(p)) {
        this.fast++;
        return `${this.head}${index}${callPiece(dom.name, tn)}${protoPiece(protocolPieceName(dom, d, p), d)}${t}${protocolPiece(p)}${tail}`;
      }
    }
    return this.line(index, plainMatch(c, errno));
  }

  /**
   * plainLine(index, c, errno) + '\n' written as bytes into `sink`, with no string made: the line
   * is cached byte pieces around four numbers. A piece is cached only from a line built by
   * plainLine (checked against jsonlCase as every fast line is) that it reproduces exactly;
   * until then, and after any divergence, the line goes through plainLine as text.
   */
  plainLineTo(sink: ByteSink, index: number, c: SocketCase, errno: number): void {
    const d = c.domain, t = c.type, p = c.protocol;
    const a = this.aBytes.get(d)?.get(t);
    const b = this.bBytes.get(d)?.get(p);
    const cc = this.cBytes.get(p);
    const tail = this.tailBytes.get(errno);
    if (a === undefined || b === undefined || cc === undefined || tail === undefined || this.diverged !== null || c.raw !== undefined) {
      const line = this.plainLine(index, c, errno);
      this.learn(line, index, c, errno);
      sink.text(line + '\n');
      return;
    }
    const head = this.headBytes;
    const buf = sink.room(head.length + a.length + b.length + cc.length + tail.length + 24);
    let at = sink.used;
    at += head.copy(buf, at);
    at = writeInt(buf, at, index);
    at += a.copy(buf, at);
    at += b.copy(buf, at);
    at = writeInt(buf, at, t);
    at += cc.copy(buf, at);
    at += tail.copy(buf, at);
    sink.used = at;
    this.fast++;
  }

  /** Cache the byte pieces of a plain line that plainLine made, if they make exactly that line. */
  private learn(line: string, index: number, c: SocketCase, errno: number): void {
    if (this.diverged !== null || c.raw !== undefined || !Number.isInteger(c.protocol)) return;
    const d = c.domain, t = c.type, p = c.protocol;
    const dom = this.domains.get(d);
    const tn = this.types.get(t);
    const pn = dom?.protocols.get(p);
    const tail = this.tails.get(`MATCH ${errno} ${errno}`);
    if (dom === undefined || tn === undefined || pn === undefined || tail === undefined) return;
    const a = callPiece(dom.name, tn);
    const b = protoPiece(pn, d);
    const cc = protocolPiece(p);
    if (`${this.head}${index}${a}${b}${t}${cc}${tail}` !== line) return;
    // Only the pieces not cached yet (a line misses one or two of them).
    let aRow = this.aBytes.get(d);
    if (aRow === undefined && this.aBytes.size < MAX_NAMES) this.aBytes.set(d, aRow = new Map());
    if (aRow !== undefined && !aRow.has(t) && aRow.size < MAX_NAMES) aRow.set(t, Buffer.from(a, 'utf8'));
    let bRow = this.bBytes.get(d);
    if (bRow === undefined && this.bBytes.size < MAX_NAMES) this.bBytes.set(d, bRow = new Map());
    if (bRow !== undefined && !bRow.has(p) && bRow.size < MAX_PROTOCOLS) bRow.set(p, Buffer.from(b, 'utf8'));
    if (!this.cBytes.has(p) && this.cBytes.size < MAX_PROTOCOLS) this.cBytes.set(p, Buffer.from(cc, 'utf8'));
    if (!this.tailBytes.has(errno) && this.tailBytes.size < MAX_NAMES) this.tailBytes.set(errno, Buffer.from(tail + '\n', 'utf8'));
  }

  /** The verdict is on the cached shape: a MATCH, errno on both roads, nothing else to say. */
  private plain(v: Verdict): boolean {
    if (v.kind !== 'MATCH' || v.diffs.length !== 0 || v.reason !== undefined || v.kernelTrace !== undefined) return false;
    const p = v.prediction;
    const o = v.observation;
    if (p.result.errno === undefined || o.errno === 0 || p.facts !== undefined || p.possible !== undefined || p.missing !== undefined) return false;
    return verdictKeysKnown(v) && Number.isInteger(v.case.protocol);
  }

  private diverge(ref: string, ours: string, what: string): string {
    let i = 0;
    while (i < ref.length && i < ours.length && ref[i] === ours[i]) i++;
    this.diverged = `${what} differs from jsonlCase's at byte ${i}: jsonlCase ${JSON.stringify(ref.slice(Math.max(0, i - 20), i + 40))}, ` +
      `fast writer ${JSON.stringify(ours.slice(Math.max(0, i - 20), i + 40))}`;
    this.slow++;
    return ref;
  }
}
