/**
 * The html report: one self-contained file (no network, no external script or style) that
 * explains every cell.
 *
 * - A tab per variant (or per kernel and variant, or per side of a diff: `htmlSweepReport` takes
 *   any list of tabs, optionally grouped). Tabs are radio buttons and CSS, so they work without
 *   JavaScript.
 * - Each tab's grid is family x base type. A cell is a link to its panel; the panel is shown by
 *   CSS `:target`, again without JavaScript. It lists the cell's distinct outcomes (verdict, the
 *   kernel's answer, the model's answer) with counts, and for each one example case with the
 *   model's whole trace: the kernel functions in order as a path, every step with what it
 *   checked, the deciding step marked, and the host fact each step used with where it came from.
 * - Size: one trace per distinct outcome per cell (never per case), and a panel shared by every
 *   tab whose cell says exactly the same (same counts, same example, same trace): most cells
 *   read alike in several variants.
 *
 * `htmlTrace` draws the same path for one call (`explain --format html`).
 */
import type { Prediction, Step } from '../types';
import { domainName, errnoName } from '../abi/names';
import type { CaseExample, CellStats, OutcomeStats, VariantTally } from './tally';
import { baseTypeName } from './report';
import { count, kindInfo, kindsOf, VERDICT_KINDS } from './report-text';

export interface HtmlTab {
  /** The tab's name: a variant ("nobody"), or "root" under a kernel's group. */
  label: string;
  /** Tabs with the same group are shown together under its name (a kernel, a host of a diff). */
  group?: string;
  /** One line under the tab's totals: what this variant is. */
  about?: string;
  /** The grid's cases. A tab without one shows `html` instead. */
  tally?: VariantTally;
  /**
   * A tab of its own content instead of a grid (a run's summary, a diff's differences), made once
   * every grid's panels exist: `cell(key, domain, type)` is the address ("#p12") of the panel of
   * that cell in the grid tab with that key, so the content can open any host's cell.
   */
  html?: (cell: CellLink) => string;
  /** The name other tabs' content links to this one by (default: group + " " + label). */
  key?: string;
  /** For a content tab: a mark beside its label (a count), coloured by its tone. */
  badge?: { text: string; tone: 'good' | 'bad' | 'warn' };
}

/** The address of a grid tab's cell panel, or undefined when that tab has no such cell. */
export type CellLink = (key: string, domain: number, type: number) => string | undefined;

export interface HtmlReportInput {
  title: string;
  /** Free text under the title (the matrix, the host, the time). */
  subtitle?: string;
  tabs: HtmlTab[];
  /** Shown under the title, one paragraph each. */
  notes?: string[];
}

export function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]!));
}

const toneClass = (kind: string) => `t-${kindInfo(kind).tone}`;

/** The worst verdict kind in a cell (bad before warn), or null when every case matched (or was only predicted). */
function worstKind(c: CellStats, kinds: string[]): string | null {
  let warn: string | null = null;
  for (const k of kinds) {
    if (kindInfo(k).tone === 'good' || count(c, k) === 0) continue;
    if (kindInfo(k).tone === 'bad') return k;
    warn ??= k;
  }
  return warn;
}

// ---------------------------------------------------------------------------
// Traces
// ---------------------------------------------------------------------------

function stepOutcome(s: Step): string {
  if (s.outcome === 'fail') return s.errno !== undefined ? errnoName(s.errno) : 'fail';
  return s.outcome;
}

/**
 * A trace as a path: the kernel functions in order on one line, then every step - the function,
 * what it checked or did, its outcome, and the host fact it used with the fact's source. The
 * deciding step is marked (class "deciding", an arrow, and its row highlighted).
 */
export function htmlTrace(trace: Step[], deciding: number): string {
  if (trace.length === 0) return '<p class="none">(no trace)</p>';
  // Markup kept short: a sweep's report holds a few thousand traces (see the README on its size).
  const path = trace.map((s, i) => `<span${i === deciding ? ' class="pd"' : s.outcome === 'fail' ? ' class="pf"' : ''}>${esc(s.fn)}</span>`).join('');
  const steps = trace.map((s, i) => {
    const fact = s.fact ? `<span>host fact <b>${esc(s.fact.name)}</b> = <code>${esc(s.fact.value)}</code> <small>from ${esc(s.fact.source)}</small></span>` : '';
    const mod = s.module ? `<span>request_module("${esc(s.module.request)}") → ${s.module.loaded ? `loads ${esc(s.module.loaded)}` : 'no module loaded'}</span>` : '';
    return `<li class="${s.outcome[0]}${i === deciding ? ' d' : ''}"><b>${esc(s.fn)}</b><u>${esc(stepOutcome(s))}</u>${esc(s.what)}${fact}${mod}</li>`;
  }).join('');
  return `<p class="path">${path}</p><ol class="steps">${steps}</ol>`;
}

/**
 * The host fact behind the deciding step: its own, or else that of the nearest earlier failing
 * check (inet_create's EPERM step is decided by the ns_capable check before it, which read the
 * capability sets).
 */
export function decidingFact(trace: Step[], deciding: number): { step: number; fact: NonNullable<Step['fact']> } | undefined {
  if (deciding < 0) return undefined;
  if (trace[deciding].fact) return { step: deciding, fact: trace[deciding].fact! };
  for (let i = deciding - 1; i >= 0; i--) {
    const s = trace[i];
    if (s.outcome === 'fail' && s.fact) return { step: i, fact: s.fact };
  }
  return undefined;
}

function decidingHtml(trace: Step[], deciding: number): string {
  const d = deciding >= 0 ? trace[deciding] : undefined;
  if (!d) return '';
  const f = decidingFact(trace, deciding);
  const via = f && f.step !== deciding ? ` (checked by ${esc(trace[f.step].fn)}, step ${f.step + 1})` : '';
  return `<p class="dec">deciding step ${deciding + 1}: <b>${esc(d.fn)}</b>: ${esc(d.what)}${f ? `<br>because <b>${esc(f.fact.name)}</b> = <code>${esc(f.fact.value)}</code>${via} <small>from ${esc(f.fact.source)}</small>` : ''}</p>`;
}

function exampleHtml(e: CaseExample): string {
  const parts: string[] = [];
  parts.push(`<p class="ex">e.g. case <b>#${e.index}</b>: <code class="call">${esc(e.call)}</code><br>model <code>${esc(e.model)}</code> · kernel <code>${esc(e.kernel)}</code></p>`);
  parts.push(decidingHtml(e.trace, e.deciding));
  const diffs = e.diffs.filter((x) => x.field !== 'result');
  if (diffs.length) parts.push(`<ul class="diffs">${diffs.map((x) => `<li><b>${esc(x.field)}</b>: model <code>${esc(show(x.predicted))}</code>, kernel <code>${esc(show(x.observed))}</code></li>`).join('')}</ul>`);
  if (e.reason) parts.push(`<p class="reason">${esc(e.reason)}</p>`);
  if (e.possible) parts.push(`<p class="reason">unknown host facts: ${esc((e.missing ?? []).join(', '))}; possible results: ${esc(e.possible.join(' | '))}</p>`);
  for (const [k, x] of Object.entries(e.extra ?? {})) parts.push(`<p class="extra"><b>${esc(k)}</b>: ${extraHtml(x)}</p>`);
  parts.push(htmlTrace(e.trace, e.deciding));
  return parts.join('');
}

function show(x: unknown): string {
  return typeof x === 'string' ? x : JSON.stringify(x);
}

/** Anything else a verdict carries (evidence, kernelTrace): lists of records as lines. */
function extraHtml(x: unknown): string {
  if (Array.isArray(x)) return `<ul>${x.map((y) => `<li>${extraHtml(y)}</li>`).join('')}</ul>`;
  if (x && typeof x === 'object') return Object.entries(x as Record<string, unknown>).map(([k, y]) => `${esc(k)} <code>${esc(show(y))}</code>`).join(', ');
  return esc(String(x));
}

/** The distinct outcomes of a cell: disagreements first (bad, then warn), then by count. */
function outcomesOf(c: CellStats): OutcomeStats[] {
  const rank = (o: OutcomeStats) => ({ bad: 0, warn: 1, good: 2 }[kindInfo(o.kind).tone]);
  return [...(c.distinct?.values() ?? [])].sort((a, b) => rank(a) - rank(b) || b.count - a.count || a.kernel.localeCompare(b.kernel));
}

function panelBody(c: CellStats, kinds: string[]): string {
  const counts = kinds.filter((k) => count(c, k) > 0).map((k) => `<span class="${toneClass(k)}">${count(c, k)} ${esc(kindInfo(k).label)}</span>`).join(', ');
  const head = `<p class="cnt">${c.total} cases: ${counts}</p>`;
  const outcomes = outcomesOf(c);
  if (outcomes.length === 0) {
    // A tally made without examples: the answers and their counts only.
    const rows = [...c.outcomes.entries()].sort((a, b) => b[1] - a[1]).map(([k, x]) => `<li>kernel <b>${esc(k)}</b> ×${x}</li>`).join('');
    return `${head}<ul>${rows}</ul>`;
  }
  const body = outcomes.map((o) => {
    const same = o.kernel === o.model;
    const answers = (o.kind as string) === 'MODEL' ? `model <b>${esc(o.model)}</b> <small>(no kernel asked)</small>` : same ? `<b>${esc(o.kernel)}</b>` : `kernel <b>${esc(o.kernel)}</b>, model <b>${esc(o.model)}</b>`;
    return `<div class="outcome" data-kind="${esc(o.kind)}" data-kernel="${esc(o.kernel)}" data-model="${esc(o.model)}" data-count="${o.count}" data-index="${o.example.index}">` +
      `<h3><span class="badge ${toneClass(o.kind)}">${esc(o.kind)}</span> ${answers} <span class="n">×${o.count}</span></h3>` +
      exampleHtml(o.example) + '</div>';
  }).join('');
  return head + body;
}

// ---------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{padding:1em 1.5em .3em}h1 code{font-size:.85em}h1{font-size:1.35em;margin:0 0 .2em}header p{margin:.2em 0;color:#555}
.tabr{position:absolute;opacity:0;pointer-events:none}
nav{display:flex;flex-wrap:wrap;gap:.3em;padding:0 1.5em;border-bottom:1px solid #ccc;align-items:flex-end}
nav label{padding:.35em .8em;border:1px solid #ccc;border-bottom:none;border-radius:6px 6px 0 0;background:#eee;cursor:pointer;white-space:nowrap}
nav .grp{font-weight:600;color:#555;padding:.35em .2em .35em .8em}
main{padding:.8em 1.5em}.tab{display:none}
table.grid{border-collapse:collapse;margin:.6em 0 1em;background:#fff}
.grid th,.grid td{border:1px solid #d0d0d0;min-width:2.3em;height:1.7em;text-align:center;font-size:12px;padding:0}
.grid th.fam{text-align:left;padding:0 .6em;white-space:nowrap;font-weight:normal}
.grid td a{display:block;color:inherit;text-decoration:none;line-height:1.7em;min-height:1.7em}
.grid td a:hover,.grid td.sel a{outline:2px solid #1a5fb4;outline-offset:-2px}
td.match{background:#e3f3e3}td.created{background:#4f9f4f;color:#fff;font-weight:600}
td.mismatch,td.departure{background:#d9534f;color:#fff;font-weight:bold}td.explained,td.unsupported{background:#f0ad4e}td.none{background:#f4f4f4}
.legend span.sw{display:inline-block;width:1.1em;height:.9em;vertical-align:middle;margin:0 .3em 0 .9em;border:1px solid #bbb}
.t-good{color:#2d7d2d}.t-bad{color:#c01c28;font-weight:600}.t-warn{color:#a05a00;font-weight:600}
.badge{font-size:11px;padding:.05em .45em;border-radius:3px;color:#fff;font-weight:600}.badge.t-good{background:#2d7d2d}.badge.t-bad{background:#c01c28}.badge.t-warn{background:#c77c00}
.panel{display:none}
.panel:target{display:block;position:fixed;top:0;right:0;bottom:0;width:min(48em,58vw);overflow:auto;background:#fff;border-left:1px solid #bbb;box-shadow:-4px 0 18px rgba(0,0,0,.15);padding:.6em 1.2em 2em;box-sizing:border-box}
.panel h2{font-size:1.15em;margin:.2em 0}.panel .where{color:#555;margin:.1em 0 .4em}.close{float:right;text-decoration:none;font-size:1.6em;color:#555}
.outcome{border-top:1px solid #ddd;padding:.5em 0}.outcome h3{font-size:1em;margin:.2em 0}.n{color:#555;font-weight:normal}
.ex,.dec{margin:.25em 0}.dec{background:#fff4d6;padding:.2em .5em;border-radius:4px}
code{font:12px ui-monospace,monospace;background:#f2f2f2;padding:0 .2em;border-radius:3px}
.path{font:12px ui-monospace,monospace;margin:.4em 0;display:flex;flex-wrap:wrap;gap:.35em 1.3em}.path span{background:#eef2f8;border:1px solid #c9d3e3;border-radius:3px;padding:.05em .3em;white-space:nowrap;position:relative}
.path span+span::before{content:"›";position:absolute;left:-1em;color:#888}.path .pf{border-color:#c01c28}.path .pd{background:#1a5fb4;color:#fff;border-color:#1a5fb4}
ol.steps{margin:.2em 0 .4em;padding-left:2.2em;font-size:12.5px}ol.steps li{margin:.1em 0;padding:.1em .3em}
ol.steps b{font:600 12px ui-monospace,monospace;margin-right:.5em}
ol.steps u{text-decoration:none;font-size:11px;border-radius:3px;padding:0 .3em;margin-right:.5em;background:#e8e8e8}
ol.steps .f u{background:#c01c28;color:#fff}ol.steps .p u{background:#d6ecd6}ol.steps .r u{background:#f6deb0}
ol.steps span{display:block;color:#444;font-size:12px;margin-left:.2em}ol.steps span b{font:inherit;font-weight:600;margin:0}ol.steps small{color:#666}
ol.steps li.d{background:#fff4d6;border-left:3px solid #1a5fb4}ol.steps li.d::marker{content:"→ ";color:#1a5fb4;font-weight:bold}
.notes{color:#555;font-size:13px}
table.t{border-collapse:collapse;background:#fff;margin:.4em 0 .9em}table.t th,table.t td{border:1px solid #d0d0d0;padding:2px 8px;text-align:left;vertical-align:top;font-size:13px}
table.t thead th{background:#eee}table.t td.ok{background:#e3f3e3}table.t td.bad{background:#f9d0d0}table.t td.fail{background:#f5c27a}table.t td.none{background:#f4f4f4}
.dgroup{border-top:1px solid #ddd;padding:.3em 0 .2em}.dgroup p{margin:.2em 0}.dgroup td small{color:#555}.content h3{margin:.9em 0 .2em;font-size:1.05em}
details summary{cursor:pointer;color:#1a5fb4}td.go a{white-space:nowrap}table.t td.call{font:12px ui-monospace,monospace}pre{white-space:pre-wrap;font-size:12px}
`;

/**
 * Grid + panels for any list of tabs: a sweep's variants, or several reports at once (a tab per
 * kernel and variant of test:kernels, per host of a diff), plus tabs of their own content (a
 * run's summary, a diff's differences) that can open any grid's cells.
 */
export function htmlSweepReport(input: HtmlReportInput): string {
  const tallies = input.tabs.flatMap((t) => (t.tally ? [t.tally] : []));
  const kinds = kindsOf(tallies);
  const keyOf = (tab: HtmlTab) => tab.key ?? (tab.group ? `${tab.group} ${tab.label}` : tab.label);
  // Panels: one per distinct (cell, content); tabs whose cell reads the same share it.
  const panels = new Map<string, { id: string; domain: number; type: number; tabs: string[]; body: string }>();
  const cellPanel = new Map<string, string>();
  const panelOf = (tab: HtmlTab, domain: number, type: number, c: CellStats): string => {
    const body = panelBody(c, kinds);
    const key = `${domain}/${type}/${body}`;
    let p = panels.get(key);
    if (!p) { p = { id: `p${panels.size + 1}`, domain, type, tabs: [], body }; panels.set(key, p); }
    p.tabs.push(tab.group ? `${tab.group} ${tab.label}` : tab.label);
    cellPanel.set(`${keyOf(tab)}\u0001${domain}/${type}`, p.id);
    return p.id;
  };

  const radios: string[] = [];
  const labels: string[] = [];
  const sections: string[] = [];
  const css: string[] = [];
  const content: Array<{ at: number; tab: HtmlTab; ti: number }> = [];
  let lastGroup: string | undefined;
  input.tabs.forEach((tab, ti) => {
    const t = tab.tally;
    radios.push(`<input type="radio" name="tab" class="tabr" id="tab${ti}"${ti === 0 ? ' checked' : ''}>`);
    if (tab.group !== undefined && tab.group !== lastGroup) labels.push(`<span class="grp">${esc(tab.group)}</span>`);
    lastGroup = tab.group;
    const bad = t ? kinds.filter((k) => kindInfo(k).tone !== 'good' && count(t.totals, k) > 0) : [];
    const mark = !t ? (tab.badge ? `<b class="t-${tab.badge.tone}">${esc(tab.badge.text)}</b>` : '')
      : !t.completed ? '<b class="t-bad">incomplete</b>' : bad.length ? bad.map((k) => `<b class="${toneClass(k)}">${count(t.totals, k)}</b>`).join(' ') : '<b class="t-good">✓</b>';
    const data = `data-tab="${esc(tab.label)}" data-key="${esc(keyOf(tab))}"${tab.group !== undefined ? ` data-group="${esc(tab.group)}"` : ''}`;
    labels.push(`<label for="tab${ti}" ${data}>${esc(tab.label)}${mark ? ` ${mark}` : ''}</label>`);
    css.push(`#tab${ti}:checked~main #tp${ti}{display:block}#tab${ti}:checked~nav label[for=tab${ti}]{background:#fff;font-weight:600;border-color:#999;position:relative;top:1px}`);
    const title = esc(tab.group ? `${tab.group} · ${tab.label}` : tab.label);
    if (!t) {
      // Filled in below, once every grid's panels are known.
      content.push({ at: sections.length, tab, ti });
      sections.push('');
      return;
    }

    const domains = [...t.cells.keys()].sort((a, b) => a - b);
    const types = [...new Set(domains.flatMap((d) => [...t.cells.get(d)!.keys()]))].sort((a, b) => a - b);
    const head = `<tr><th>family \\ type</th>${types.map((x) => `<th data-type="${x}" title="${esc(baseTypeName(x))}">${x}<br><small>${esc(baseTypeName(x).replace('SOCK_', ''))}</small></th>`).join('')}</tr>`;
    const rows = domains.map((d) => {
      const row = t.cells.get(d)!;
      const tds = types.map((x) => {
        const c = row.get(x);
        if (!c) return '<td class="none"></td>';
        const worst = worstKind(c, kinds);
        const cls = worst ? worst.toLowerCase() : c.outcomes.has('fd') ? 'created' : 'match';
        const id = panelOf(tab, d, x, c);
        const label = worst ? String(count(c, worst)) : c.outcomes.has('fd') ? String(c.outcomes.get('fd')) : '';
        // Kept short (thousands of cells): the family is the row's, the type the column's; the panel says the rest.
        return `<td class="${cls}"><a href="#${id}">${label}</a></td>`;
      }).join('');
      return `<tr data-domain="${d}"><th class="fam">${d} ${esc(domainName(d))}</th>${tds}</tr>`;
    }).join('\n');
    const x = t.totals;
    const counts = count(x, 'MODEL') === x.total && x.total > 0
      ? 'predicted by the model, no kernel asked'
      : kinds.filter((k) => k === 'MATCH' || k === 'MISMATCH' || count(x, k) > 0)
        .map((k) => k === 'MISMATCH' ? `<b class="${x.MISMATCH ? 't-bad' : 't-good'}">${x.MISMATCH} mismatch</b>` : `${count(x, k)} ${k === 'MATCH' ? 'match' : esc(kindInfo(k).label)}`).join(', ');
    sections.push(`<section class="tab variant" id="tp${ti}" data-variant="${esc(t.variant)}" ${data}><h2>${title}</h2>
<p>${x.total} cases: ${counts}${t.completed ? '' : ' — <b class="t-bad">incomplete (interrupted)</b>'}${tab.about ? `<br><small>${esc(tab.about)}</small>` : ''}</p>
<table class="grid">${head}\n${rows}</table>
${t.notes.length ? `<div class="notes">${t.notes.map((n) => `<p>note: ${esc(n)}</p>`).join('')}</div>` : ''}</section>`);
  });
  const link: CellLink = (key, domain, type) => {
    const id = cellPanel.get(`${key}\u0001${domain}/${type}`);
    return id ? `#${id}` : undefined;
  };
  for (const { at, tab, ti } of content) {
    const data = `data-tab="${esc(tab.label)}" data-key="${esc(keyOf(tab))}"${tab.group !== undefined ? ` data-group="${esc(tab.group)}"` : ''}`;
    sections[at] = `<section class="tab content" id="tp${ti}" ${data}><h2>${esc(tab.group ? `${tab.group} · ${tab.label}` : tab.label)}</h2>
${tab.about ? `<p><small>${esc(tab.about)}</small></p>` : ''}${tab.html ? tab.html(link) : ''}</section>`;
  }

  const panelHtml = [...panels.values()].map((p) =>
    `<section class="panel" id="${p.id}" data-domain="${p.domain}" data-type="${p.type}"><a class="close" href="#" title="close">×</a>` +
    `<h2>${esc(domainName(p.domain))} ${esc(baseTypeName(p.type))} <small>(family ${p.domain}, base type ${p.type}; every flag set and protocol of the sweep)</small></h2>` +
    `<p class="where">in ${esc(p.tabs.join(', '))}</p>${p.body}</section>`).join('\n');

  const legend = [
    '<span class="sw" style="background:#4f9f4f"></span>all agree, sockets made (count)',
    '<span class="sw" style="background:#e3f3e3"></span>all agree, every call failed',
    ...kinds.filter((k) => kindInfo(k).tone !== 'good').map((k) => {
      const colour = kindInfo(k).tone === 'bad' ? '#d9534f' : '#f0ad4e';
      return `<span class="sw" style="background:${colour}"></span>${esc(kindInfo(k).label)} (count)`;
    }),
  ].join('');
  const known = kinds.filter((k) => k in VERDICT_KINDS).map((k) => `<b>${k}</b>: ${esc(VERDICT_KINDS[k].about)}`).join('; ');

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${esc(input.title)}</title>
<style>${STYLE}${css.join('\n')}</style></head><body>
<header><h1>${esc(input.title)}</h1>${input.subtitle ? `<p>${esc(input.subtitle)}</p>` : ''}
${(input.notes ?? []).map((n) => `<p>${esc(n)}</p>`).join('')}
<p class="legend">Each cell is one family × base type; click it for its distinct outcomes, each with an example case and the model's whole path.${legend}</p>
<p class="legend"><small>${known}</small></p></header>
${radios.join('\n')}
<nav>${labels.join('')}</nav>
<main>
${sections.join('\n')}
</main>
${panelHtml}
<script>
// Optional: mark the open cell in the grid, and close the panel with Escape. Everything works without it.
(function(){function mark(){document.querySelectorAll('td.sel').forEach(function(e){e.classList.remove('sel')});
var id=location.hash.slice(1);if(!id)return;document.querySelectorAll('.tab td a[href="#'+id+'"]').forEach(function(a){a.parentNode.classList.add('sel')});}
addEventListener('hashchange',mark);mark();addEventListener('keydown',function(e){if(e.key==='Escape'&&location.hash)location.hash='';});})();
</script>
</body></html>
`;
}

/** The sweep's report: a tab per variant. */
export function htmlReport(tallies: VariantTally[], title: string, opts: { subtitle?: string; about?: (variant: string) => string | undefined } = {}): string {
  return htmlSweepReport({ title, subtitle: opts.subtitle, tabs: tallies.map((t) => ({ label: t.variant, about: opts.about?.(t.variant), tally: t })) });
}

/** One call's path, for `explain --format html`: the same drawing as a cell's example. */
export function htmlExplainPage(input: { call: string; prediction: Prediction; model?: string; kernel?: string; verdict?: string; note?: string }): string {
  const p = input.prediction;
  const { resultText } = require('../abi/names') as typeof import('../abi/names');
  const verdict = input.verdict ? ` <span class="badge ${toneClass(input.verdict)}">${esc(input.verdict)}</span>` : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(input.call)}</title><style>${STYLE}main{max-width:60em}</style></head><body>
<header><h1><code class="call">${esc(input.call)}</code>${verdict}</h1></header>
<main>
<p>model <code>${esc(input.model ?? resultText(p.result))}</code>${input.kernel !== undefined ? ` · kernel <code>${esc(input.kernel)}</code>` : ''}</p>
${input.note ? `<p class="notes">${esc(input.note)}</p>` : ''}
${decidingHtml(p.trace, p.deciding)}
${p.possible && p.possible.length > 1 ? `<p class="reason">unknown host facts: ${esc((p.missing ?? []).join(', '))}; possible results: ${esc(p.possible.map((r) => resultText(r).slice(2)).join(' | '))}</p>` : ''}
${htmlTrace(p.trace, p.deciding)}
</main></body></html>
`;
}
