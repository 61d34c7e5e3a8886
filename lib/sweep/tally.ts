/**
 * Sweep results grouped the way people read them: per family, per base type, per verdict, with
 * the results seen in each cell. Reporters (text, junit, html) read a Tally; the jsonl writer
 * streams every case instead.
 */
import type { Verdict, VerdictKind } from '../types';
import { SOCK_TYPE_MASK } from '../abi/constants';
import { callName, errnoName } from '../abi/names';

export interface CellStats {
  total: number;
  MATCH: number;
  MISMATCH: number;
  UNSUPPORTED: number;
  EXPLAINED: number;
  /** Observed result label -> count ("EAFNOSUPPORT", "fd"). */
  outcomes: Map<string, number>;
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
}

export function newTally(variant: string): VariantTally {
  return {
    variant,
    cells: new Map(),
    totals: { total: 0, MATCH: 0, MISMATCH: 0, UNSUPPORTED: 0, EXPLAINED: 0 },
    notMatching: [],
    notMatchingDropped: 0,
    completed: false,
    notes: [],
  };
}

const KEEP_LIMIT = 2000;

export function addVerdict(t: VariantTally, v: Verdict): void {
  const domain = v.case.domain;
  const base = v.case.type & SOCK_TYPE_MASK;
  let row = t.cells.get(domain);
  if (!row) { row = new Map(); t.cells.set(domain, row); }
  let cell = row.get(base);
  if (!cell) {
    cell = { total: 0, MATCH: 0, MISMATCH: 0, UNSUPPORTED: 0, EXPLAINED: 0, outcomes: new Map() };
    row.set(base, cell);
  }
  cell.total++;
  cell[v.kind]++;
  const label = v.observation.errno === 0 ? 'fd' : errnoName(v.observation.errno);
  cell.outcomes.set(label, (cell.outcomes.get(label) ?? 0) + 1);
  t.totals.total++;
  t.totals[v.kind]++;
  if (v.kind !== 'MATCH') {
    if (t.notMatching.length < KEEP_LIMIT) t.notMatching.push(v);
    else t.notMatchingDropped++;
  }
}

export function verdictCall(v: Verdict): string {
  return callName(v.case.domain, v.case.type, v.case.protocol);
}
