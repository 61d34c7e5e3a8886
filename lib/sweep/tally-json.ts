/**
 * A variant's tally as one JSON line, so a worker process can hand it to the parent.
 */
import type { VariantTally, CellStats, OutcomeStats } from './tally';

type CellJson = Omit<CellStats, 'outcomes' | 'distinct'> & { outcomes: Array<[string, number]>; distinct?: Array<[string, OutcomeStats]> };

export function serializeTally(t: VariantTally): string {
  const cells: Array<[number, number, CellJson]> = [];
  for (const [d, row] of t.cells) {
    for (const [ty, c] of row) {
      const { distinct, outcomes, ...counts } = c;
      cells.push([d, ty, { ...counts, outcomes: [...outcomes], ...(distinct ? { distinct: [...distinct] } : {}) }]);
    }
  }
  return JSON.stringify({ kind: 'tally', ...t, cells });
}

export function deserializeTally(line: string): VariantTally {
  const o = JSON.parse(line) as Omit<VariantTally, 'cells'> & { cells: Array<[number, number, CellJson]> };
  const cells = new Map<number, Map<number, CellStats>>();
  for (const [d, ty, c] of o.cells) {
    if (!cells.has(d)) cells.set(d, new Map());
    const { distinct, outcomes, ...counts } = c;
    cells.get(d)!.set(ty, { ...counts, outcomes: new Map(outcomes), ...(distinct ? { distinct: new Map(distinct) } : {}) });
  }
  return {
    variant: o.variant, cells, totals: o.totals, notMatching: o.notMatching, notMatchingDropped: o.notMatchingDropped,
    completed: o.completed, counters: o.counters, notes: o.notes, ...(o.examples ? { examples: true } : {}),
  };
}
