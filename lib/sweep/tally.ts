/**
 * Sweep results grouped the way people read them: per family, per base type, per verdict, with
 * the results seen in each cell. Reporters (text, junit, html) read a Tally; the jsonl writer
 * streams every case instead.
 */
import type { FieldDiff, SocketCase, Step, Verdict, VerdictKind } from '../types';
import { SOCK_TYPE_MASK } from '../abi/constants';
import { callName, errnoName, resultText } from '../abi/names';

export interface CellStats {
  total: number;
  MATCH: number;
  MISMATCH: number;
  UNSUPPORTED: number;
  EXPLAINED: number;
  DEPARTURE: number;
  /** Observed result label -> count ("EAFNOSUPPORT", "fd"). */
  outcomes: Map<string, number>;
  /**
   * The cell's distinct outcomes (verdict, the kernel's answer, the model's answer), each with
   * its count and its first case as an example with the model's whole trace. Kept only when the
   * tally was made with `examples` (the html report): one trace per outcome per cell, not per case.
   */
  distinct?: Map<string, OutcomeStats>;
}

/** One distinct outcome of a cell. */
export interface OutcomeStats {
  kind: VerdictKind;
  /** The kernel's answer: "fd" or an errno name. */
  kernel: string;
  /** The model's answer, in the same form. */
  model: string;
  count: number;
  example: CaseExample;
}

/** A case in full enough to explain it: the call, both answers, and the model's trace. */
export interface CaseExample {
  /** The case's index within its variant (the jsonl report's `index`). */
  index: number;
  case: SocketCase;
  call: string;
  /** "= 5" or "= -1 EPERM (Operation not permitted)". */
  model: string;
  kernel: string;
  trace: Step[];
  deciding: number;
  diffs: FieldDiff[];
  reason?: string;
  /** Unknown facts: every result the path could give, and what is missing. */
  possible?: string[];
  missing?: string[];
  /** Whatever else the verdict carries for a reader (evidence, kernelTrace): shown as given. */
  extra?: Record<string, unknown>;
}

export interface VariantTally {
  variant: string;
  cells: Map<number, Map<number, CellStats>>;
  totals: Record<VerdictKind, number> & { total: number };
  /** Every verdict that is not a MATCH, in full (bounded by `keepLimit`). */
  notMatching: Verdict[];
  notMatchingDropped: number;
  completed: boolean;
  counters?: Array<{ firstCase: number; cases: number; predicted: unknown; observed: unknown; agree: boolean | null; note?: string }>;
  notes: string[];
  /** Whether cells keep their distinct outcomes with an example each (see CellStats.distinct). */
  examples?: boolean;
}

export function newTally(variant: string, opts: { examples?: boolean } = {}): VariantTally {
  return {
    ...(opts.examples ? { examples: true } : {}),
    variant,
    cells: new Map(),
    totals: { total: 0, MATCH: 0, MISMATCH: 0, UNSUPPORTED: 0, EXPLAINED: 0, DEPARTURE: 0 },
    notMatching: [],
    notMatchingDropped: 0,
    completed: false,
    notes: [],
  };
}

const KEEP_LIMIT = 2000;

const labelOf = (r: { fd?: number; errno?: number }) => (r.errno !== undefined ? errnoName(r.errno) : 'fd');

/** The key of a verdict's distinct outcome in its cell. */
function outcomeKey(v: Verdict, kernel: string): string {
  return v.kind === 'MATCH' ? kernel : `${v.kind} ${kernel} ${labelOf(v.prediction.result)}`;
}

/**
 * Whether the tally wants this verdict's trace: it is the first of its outcome in its cell, so it
 * becomes the example. The sweep then re-runs the model with the trace on for this case only.
 */
export function wantsExample(t: VariantTally, v: Verdict): boolean {
  if (!t.examples) return false;
  const cell = t.cells.get(v.case.domain)?.get(v.case.type & SOCK_TYPE_MASK);
  if (!cell?.distinct) return true;
  const kernel = v.observation.errno === 0 ? 'fd' : errnoName(v.observation.errno);
  return !cell.distinct.has(outcomeKey(v, kernel));
}

export function caseExample(v: Verdict, index: number): CaseExample {
  const p = v.prediction;
  const o = v.observation;
  const ex: CaseExample = {
    index,
    case: { domain: v.case.domain, type: v.case.type, protocol: v.case.protocol },
    call: callName(v.case.domain, v.case.type, v.case.protocol),
    model: resultText(p.result),
    kernel: resultText(o.errno === 0 ? { fd: o.fd } : { errno: o.errno }),
    trace: p.trace,
    deciding: p.deciding,
    diffs: v.diffs,
  };
  if (v.reason) ex.reason = v.reason;
  if (p.possible) ex.possible = p.possible.map((x) => (x.errno !== undefined ? errnoName(x.errno) : `fd ${x.fd}`));
  if (p.missing) ex.missing = p.missing;
  const extra: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (!['case', 'kind', 'fields', 'diffs', 'reason', 'prediction', 'observation'].includes(k) && x !== undefined) extra[k] = x;
  }
  if (Object.keys(extra).length) ex.extra = extra;
  return ex;
}

/** The cell of a (domain, type) in the tally, made empty the first time. */
function cellOf(t: VariantTally, domain: number, type: number): CellStats {
  const base = type & SOCK_TYPE_MASK;
  let row = t.cells.get(domain);
  if (!row) { row = new Map(); t.cells.set(domain, row); }
  let cell = row.get(base);
  if (!cell) {
    cell = { total: 0, MATCH: 0, MISMATCH: 0, UNSUPPORTED: 0, EXPLAINED: 0, DEPARTURE: 0, outcomes: new Map() };
    row.set(base, cell);
  }
  return cell;
}

export function addVerdict(t: VariantTally, v: Verdict, index = -1): void {
  const cell = cellOf(t, v.case.domain, v.case.type);
  cell.total++;
  // A verdict kind this tally has no counter for yet (a new kind) starts one.
  (cell as unknown as Record<string, number>)[v.kind] = ((cell as unknown as Record<string, number>)[v.kind] ?? 0) + 1;
  const label = v.observation.errno === 0 ? 'fd' : errnoName(v.observation.errno);
  cell.outcomes.set(label, (cell.outcomes.get(label) ?? 0) + 1);
  if (t.examples) {
    cell.distinct ??= new Map();
    const key = outcomeKey(v, label);
    const d = cell.distinct.get(key);
    if (d) d.count++;
    else cell.distinct.set(key, { kind: v.kind, kernel: label, model: labelOf(v.prediction.result), count: 1, example: caseExample(v, index) });
  }
  t.totals.total++;
  (t.totals as Record<string, number>)[v.kind] = ((t.totals as Record<string, number>)[v.kind] ?? 0) + 1;
  if (v.kind !== 'MATCH') {
    if (t.notMatching.length < KEEP_LIMIT) t.notMatching.push(v);
    else t.notMatchingDropped++;
  }
}

/**
 * addVerdict for a plain match (runSweep's onPlainMatch): the case and the errno both roads gave.
 * The same counts as addVerdict(t, plainMatch(c, errno)); a tally that keeps examples needs the
 * verdict itself.
 */
export function addPlainMatch(t: VariantTally, c: SocketCase, errno: number): void {
  if (t.examples) throw new Error('addPlainMatch: a tally that keeps examples takes whole verdicts (addVerdict)');
  const cell = cellOf(t, c.domain, c.type);
  cell.total++;
  cell.MATCH++;
  const label = errnoName(errno);
  cell.outcomes.set(label, (cell.outcomes.get(label) ?? 0) + 1);
  t.totals.total++;
  t.totals.MATCH++;
}

export function verdictCall(v: Verdict): string {
  return callName(v.case.domain, v.case.type, v.case.protocol);
}
