/**
 * Reading the html report as Chromium shows it (test/helpers/cdp.ts drives the browser): open a
 * tab, click a cell, read the panel that opens, and hold it against the jsonl report and the
 * model's trace (`explain --json`). Shared by the sweep's report test and the fleet's.
 */
import { strict as assert } from 'assert';
import type { Browser } from './cdp';
import { errnoName } from '../../lib/abi/names';

export interface ShownStep { fn: string; outcome: string; what: string; deciding: boolean; fact: { name: string; value: string; source: string } | null }
export interface ShownOutcome {
  kind: string; kernel: string; model: string; count: number; index: number; shownCount: string; call: string;
  path: string[]; pathDeciding: number; steps: ShownStep[]; rendered: boolean; dec: string | null; reason: string | null;
}
export interface ShownPanel { id: string; visible: boolean; domain: number; type: number; where: string; outcomes: ShownOutcome[] }

/** What the opened panel shows, read from the DOM Chromium rendered. */
export const READ_PANEL = `(() => {
  const p = document.querySelector(location.hash);
  const r = p.getBoundingClientRect();
  const text = (e) => (e ? e.textContent : null);
  return {
    id: p.id, visible: getComputedStyle(p).display !== 'none' && r.width > 100 && r.height > 100 && r.left < innerWidth && r.top < innerHeight,
    domain: Number(p.dataset.domain), type: Number(p.dataset.type), where: text(p.querySelector('.where')),
    outcomes: [...p.querySelectorAll('.outcome')].map((o) => ({
      kind: o.dataset.kind, kernel: o.dataset.kernel, model: o.dataset.model, count: Number(o.dataset.count), index: Number(o.dataset.index),
      shownCount: text(o.querySelector('h3 .n')), call: text(o.querySelector('code.call')), rendered: o.getClientRects().length > 0,
      dec: text(o.querySelector('.dec')), reason: text(o.querySelector('.reason')),
      path: [...o.querySelectorAll('.path span')].map((s) => s.textContent),
      pathDeciding: [...o.querySelectorAll('.path span')].findIndex((s) => s.classList.contains('pd')),
      steps: [...o.querySelectorAll('ol.steps > li')].map((li) => {
        const f = [...li.querySelectorAll(':scope > span')].find((s) => s.textContent.startsWith('host fact '));
        return {
          fn: text(li.querySelector(':scope > b')), outcome: text(li.querySelector(':scope > u')),
          what: [...li.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join(''),
          deciding: li.classList.contains('d'),
          fact: f ? { name: text(f.querySelector('b')), value: text(f.querySelector('code')), source: text(f.querySelector('small')).replace(/^from /, '') } : null,
        };
      }),
    })),
  };
})()`;

/** The fd a process gets depends on its own fd table; everything else in a trace must be equal. */
export const sameFd = (s: string): string => s.replace(/(\bfd |alloc_fd -> )\d+/g, '$1N');

/**
 * Click the tab whose label matches `tab` (a selector attribute part: `[data-tab="nobody"]`, or
 * `[data-key="..."]`), then the cell (domain, base type) of its grid; return the panel shown.
 */
export async function openCell(b: Browser, tab: string, domain: number, type: number): Promise<ShownPanel> {
  await b.clickOn(`nav label${tab}`);
  const section = `section.tab${tab}`;
  await b.waitFor(`getComputedStyle(document.querySelector('${section}')).display === 'block'`);
  const col = await b.eval<number>(`[...document.querySelectorAll('${section} table.grid tr:first-child > th')].findIndex((th) => th.dataset.type === '${type}')`);
  assert.ok(col > 0, `the ${tab} grid has a column for type ${type}`);
  await b.clickOn(`${section} tr[data-domain="${domain}"] > :nth-child(${col + 1}) a`);
  await b.waitFor(`location.hash.length > 1 && getComputedStyle(document.querySelector(location.hash)).display === 'block'`);
  return b.eval<ShownPanel>(READ_PANEL);
}

/** A case line of a jsonl report, as these checks read it. */
export type JsonlCase = Record<string, any>;

/**
 * The panel against the jsonl report: every outcome and its count, each example the first case
 * of its outcome, and the path, the deciding step and the box naming its host fact consistent.
 * `cases`: the case lines of the tab's variant (of that report only).
 */
export function checkAgainstJsonl(p: ShownPanel, cases: JsonlCase[], where: RegExp, domain: number, type: number): void {
  assert.ok(p.visible, 'the panel is on the screen');
  assert.equal(p.domain, domain);
  assert.equal(p.type, type);
  assert.match(p.where, where);
  const mine = cases.filter((c) => c.domain === domain && (c.type & 0xf) === type);
  assert.ok(mine.length > 0, 'the report has cases in that cell');
  const want = new Map<string, { count: number; first: JsonlCase }>();
  for (const c of mine) {
    const key = `${c.verdict} ${c.observed.errname ?? 'fd'} ${c.predicted.errname ?? 'fd'}`;
    const w = want.get(key);
    if (w) w.count++; else want.set(key, { count: 1, first: c });
  }
  const shownMap = new Map(p.outcomes.map((o) => [`${o.kind} ${o.kernel} ${o.model}`, o.count]));
  assert.deepEqual(new Map([...shownMap].sort()), new Map([...want].map(([k, w]) => [k, w.count] as [string, number]).sort()), 'outcomes and counts');
  for (const o of p.outcomes) {
    assert.ok(o.rendered, 'the outcome is rendered');
    assert.equal(o.shownCount, `×${o.count}`);
    const w = want.get(`${o.kind} ${o.kernel} ${o.model}`)!;
    assert.equal(o.index, w.first.index, 'the example is the first such case');
    assert.equal(o.call, w.first.call);
    assert.deepEqual(o.path, o.steps.map((s) => s.fn), 'the path is the steps\' functions in order');
    assert.equal(o.pathDeciding, o.steps.findIndex((s) => s.deciding), 'the path marks the deciding step');
    assert.equal(o.steps.filter((s) => s.deciding).length, 1, 'one deciding step');
    // The box on top names the deciding step and the host fact behind it, with its source.
    const di = o.steps.findIndex((s) => s.deciding);
    assert.ok(o.dec?.startsWith(`deciding step ${di + 1}: ${o.steps[di].fn}: ${o.steps[di].what}`), `${o.dec}`);
    const factStep = o.steps[di].fact ? di : o.steps.slice(0, di).map((s, i) => (s.outcome !== 'pass' && s.outcome !== 'info' && s.outcome !== 'rewrite' && s.fact ? i : -1)).filter((i) => i >= 0).pop();
    if (factStep !== undefined) {
      const f = o.steps[factStep].fact!;
      assert.ok(o.dec!.includes(`because ${f.name} = ${f.value}`) && o.dec!.endsWith(`from ${f.source}`), `${o.dec}`);
    }
  }
}

/** The steps `explain --json` printed, as the panel shows them (fd numbers aside). */
export function explainSteps(e: { prediction: { trace: Array<Record<string, any>>; deciding: number } }): ShownStep[] {
  return e.prediction.trace.map((s, i) => ({
    fn: s.fn,
    outcome: s.outcome === 'fail' ? (s.errno !== undefined ? errnoName(s.errno) : 'fail') : s.outcome,
    what: sameFd(s.what),
    deciding: i === e.prediction.deciding,
    fact: s.fact ? { name: s.fact.name, value: s.fact.value, source: s.fact.source } : null,
  }));
}

/** An example's trace as shown, fd numbers aside. */
export const shownSteps = (o: ShownOutcome): ShownStep[] => o.steps.map((s) => ({ ...s, what: sameFd(s.what) }));
