/**
 * A variant's tally as one JSON line, so a worker process can hand it to the parent.
 */
import type { VariantTally, CellStats } from './tally';

export function serializeTally(t: VariantTally): string {
  const cells: Array<[number, number, Omit<CellStats, 'outcomes'> & { outcomes: Array<[string, number]> }]> = [];
  for (const [d, row] of t.cells) for (const [ty, c] of row) cells.push([d, ty, { ...c, outcomes: [...c.outcomes] }]);
  return JSON.stringify({ kind: 'tally', ...t, cells });
}

export function deserializeTally(line: string): VariantTally {
  const o = JSON.parse(line) as Omit<VariantTally, 'cells'> & { cells: Array<[number, number, CellStats & { outcomes: Array<[string, number]> }]> };
  const cells = new Map<number, Map<number, CellStats>>();
  for (const [d, ty, c] of o.cells) {
    if (!cells.has(d)) cells.set(d, new Map());
    cells.get(d)!.set(ty, { ...c, outcomes: new Map(c.outcomes) });
  }
  return {
    variant: o.variant, cells, totals: o.totals, notMatching: o.notMatching, notMatchingDropped: o.notMatchingDropped,
    completed: o.completed, counters: o.counters, notes: o.notes,
  };
}
