/**
 * The diff's reports: text for a terminal, JSON Lines for machines (`sockbridge.diff/1`), and one
 * self-contained HTML page - the sweep's html report (lib/sweep/report-html) with the differences
 * as its first tab and a grid per host. The side-by-side host table is shared with test:kernels'
 * summary (scripts/kernels/summary.ts), so both show hosts the same way.
 */
import type { Column, DiffCase, DiffGroup, DiffResult, Side } from './index';
import { esc, htmlSweepReport, type CellLink, type HtmlTab } from '../sweep/report-html';
import { newTally, type VariantTally } from '../sweep/tally';
import { tallyFromModel, tallyFromReport } from '../sweep/report-read';
import { SOCK_TYPE_MASK } from '../abi/constants';

export const DIFF_SCHEMA = 'sockbridge.diff/1';

/** The rows that say which host a column is: one column per host. */
export const HOST_ROWS: Array<[string, (c: Column) => string]> = [
  ['node', (c) => c.node ?? '-'],
  ['kernel', (c) => c.release ?? '-'],
  ['flavour', (c) => c.flavour || '-'],
  ['architecture', (c) => c.machine ?? '-'],
  ['variant', (c) => (c.variant === '*' ? '-' : c.variant)],
  ['from', (c) => `${c.kind === 'report' ? 'report' : 'model on profile'} ${c.source}`],
];

/** A text grid: a header row, a rule, then rows; columns padded to their widest cell. */
export function sideBySide(head: string[], rows: string[][]): string {
  const table = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
  const lines = table.map((r) => r.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return lines.join('\n');
}

export function hostTable(cols: Column[]): string {
  return sideBySide(['', ...cols.map((c) => c.label)], HOST_ROWS.map(([name, f]) => [name, ...cols.map(f)]));
}

function stepText(s: Side): string {
  if (s.unknown) return `${s.result} (deciding step not known: ${s.unknown})`;
  const st = s.step;
  const d = s.result !== 'fd' && s.deciding && (!st || s.deciding.fn !== st.fn || s.deciding.what !== st.what) ? ` ... ${s.deciding.fn}: ${s.deciding.what}` : '';
  const fact = st?.fact ? ` [${st.fact.name} = ${st.fact.value}]` : '';
  return `${s.result}${st ? ` - ${st.fn}: ${st.what}${fact}` : ''}${d}${s.modelDisagrees ? ' (the model disagreed with this kernel here)' : ''}`;
}

export function causeText(g: { causes: DiffGroup['causes']; causeKinds: string[] }, cols: Column[], colIdx: number[]): string {
  if (!g.causes.length) {
    const k = g.causeKinds[0];
    return k === 'path' ? 'the modelled paths part on the same host facts (a code path of the release)' : k;
  }
  return g.causes.map((c) => {
    const vals = c.values.map((v, i) => `${v ?? '?'} on ${cols[colIdx[i]].label}`).join(', ');
    return `${c.kind}: ${c.fact} ${c.kind === 'release' && c.values.every((v, i) => v === (cols[colIdx[i]].release ?? null)) ? c.values.join(' vs ') : vals}` +
      `${c.moved?.length ? ` (${c.moved.join('; ')})` : ''}`;
  }).join('; ');
}

/** The text report; `limit` cases listed per group (the rest counted). */
export function renderDiffText(r: DiffResult, limit = 12): string {
  const out: string[] = [];
  out.push(hostTable(r.columns));
  const differing = r.cases.length;
  for (const s of r.sets) {
    const cols = s.columns.map((i) => r.columns[i]);
    const n = r.cases.filter((c) => c.variant === s.variant).length;
    out.push('', `${s.variant === '*' ? 'model' : `variant ${s.variant}`}: ${s.compared} cases in all of ${cols.map((c) => c.label).join(', ')}` +
      `${s.onlyInSome ? ` (${s.onlyInSome} more in only some: not compared)` : ''}; ${n ? `${n} differ` : 'no difference'}`);
    const groups = r.groups.filter((g) => g.variant === s.variant);
    let family = -1;
    for (const g of groups) {
      if (g.family !== family) {
        family = g.family;
        out.push('', `${g.familyName} (${g.family})`);
      }
      out.push(`  ${g.cases} case${g.cases === 1 ? '' : 's'}: ${causeText(g, r.columns, g.columns)}`);
      g.columns.forEach((ci, i) => out.push(`    ${r.columns[ci].label}: ${stepText(g.sides[i])}`));
      const cs = r.cases.filter((c) => c.group === g.id);
      for (const c of cs.slice(0, limit)) out.push(`      ${c.call}: ${c.sides.map((x, i) => `${x.result} on ${r.columns[c.columns[i]].label}`).join(', ')}${c.fields.filter((f) => f !== 'result').length ? ` (${c.fields.filter((f) => f !== 'result').join(', ')} differ)` : ''}`);
      if (cs.length > limit) out.push(`      ... and ${cs.length - limit} more`);
    }
  }
  for (const n of r.notes) out.push('', `note: ${n}`);
  out.push('', differing ? `${differing} case${differing === 1 ? '' : 's'} differ, in ${r.groups.length} group${r.groups.length === 1 ? '' : 's'}` : 'no difference');
  return out.join('\n') + '\n';
}

/** JSON Lines: header (columns), one group line per group, one case line per differing case, summary. */
export function renderDiffJsonl(r: DiffResult): string {
  const lines: string[] = [];
  lines.push(JSON.stringify({
    kind: 'header', schema: DIFF_SCHEMA,
    columns: r.columns.map((c) => ({
      label: c.label, source: c.source, from: c.kind, node: c.node ?? null, release: c.release ?? null, flavour: c.flavour || null,
      machine: c.machine ?? null, variant: c.variant === '*' ? null : c.variant, cases: c.cases.length, notMatching: c.notMatching.size,
      ...(c.noProfile ? { noProfile: c.noProfile } : {}), ...(c.incomplete ? { incomplete: true } : {}),
    })),
    sets: r.sets, notes: r.notes,
  }));
  for (const g of r.groups) {
    lines.push(JSON.stringify({
      kind: 'group', id: g.id, variant: g.variant === '*' ? null : g.variant, family: g.family, familyName: g.familyName,
      columns: g.columns, cases: g.cases, causeKinds: g.causeKinds, causes: g.causes, sides: g.sides,
    }));
  }
  for (const c of r.cases) lines.push(JSON.stringify(caseRecord(c)));
  lines.push(JSON.stringify({ kind: 'summary', differing: r.cases.length, groups: r.groups.length, compared: r.sets.reduce((n, s) => n + s.compared, 0) }));
  return lines.join('\n') + '\n';
}

function caseRecord(c: DiffCase): Record<string, unknown> {
  return {
    kind: 'case', group: c.group, call: c.call, domain: c.case.domain, type: c.case.type, protocol: c.case.protocol,
    variant: c.variant === '*' ? null : c.variant, columns: c.columns, fields: c.fields,
    results: c.sides.map((s) => s.result),
    steps: c.sides.map((s) => (s.step ? `${s.step.fn}: ${s.step.what}` : null)),
    ...(c.causes.length ? { causes: c.causes } : {}),
    ...(c.sides.some((s) => s.modelDisagrees) ? { modelDisagrees: c.sides.map((s) => Boolean(s.modelDisagrees)) } : {}),
  };
}

// ---------------------------------------------------------------------------
// html: the sweep's report (lib/sweep/report-html), with the differences as its first tab
// ---------------------------------------------------------------------------

/** "6.12.118+deb13-cloud-amd64 · cloud · x86_64": the kernel, its flavour and architecture. */
export function hostName(c: Column): string {
  return [c.node, c.release ?? (c.kind === 'profile' ? `profile ${c.source}` : c.source), c.flavour, c.machine].filter(Boolean).join(' · ');
}

export interface DiffTabOptions {
  /** Prefix of the tabs' keys, so that several diffs can share one page (test:kernels: root and user). */
  key?: string;
  /** The differences tab's label (default "differences"). */
  label?: string;
  /** A column's group (its host) and label (its variant) in the tab bar. */
  group?: (c: Column, i: number) => string;
  tabLabel?: (c: Column) => string;
  /** Cases listed per group in the differences tab (the rest are counted; every case is in the jsonl). */
  limit?: number;
  /** A column's line under its grid's totals (default: where its answers and paths come from). */
  about?: (c: Column, i: number) => string;
}

/** A column's grid: a report's own verdicts (traces replayed on its profile), or a profile's predictions. */
export function columnTally(c: Column): VariantTally {
  if (c.kind === 'report' && c.lines) {
    return tallyFromReport({ variant: c.variant, lines: c.lines, profile: c.profile, batch: c.batch, completed: !c.incomplete });
  }
  if (c.profile) return tallyFromModel(c.variant === '*' ? 'model' : c.variant, c.profile, c.cases, c.batch);
  const t = newTally(c.variant);
  t.completed = !c.incomplete;
  return t;
}

/**
 * The tabs of a diff: first the differences (grouped as the text groups them: per variant, per
 * family, per the step where each host's path parts, each group with its parting and deciding
 * steps on every side and a link to that host's cell), then a grid per column (host and variant).
 */
export function diffHtmlTabs(r: DiffResult, opts: DiffTabOptions = {}): HtmlTab[] {
  const k = opts.key ?? '';
  const colKey = (i: number) => `${k}col${i}`;
  const names = r.columns.map(hostName);
  const group = opts.group ?? ((c: Column, i: number) => (names.filter((n) => n === names[i]).length > 1 && r.columns.some((o, j) => names[j] === names[i] && o.source !== c.source) ? `${names[i]} · ${c.source}` : names[i]));
  const tabLabel = opts.tabLabel ?? ((c: Column) => (c.variant === '*' ? 'model' : c.variant) + (c.kind === 'profile' ? ' (model)' : ''));
  const limit = opts.limit ?? 50;
  // Every report gets its grid, compared or not (a variant only one input has); a profile only
  // where it was predicted over some cases.
  const shown = (c: Column) => c.kind === 'report' || c.cases.length > 0;
  const differences: HtmlTab = {
    label: opts.label ?? 'differences',
    key: `${k}differences`,
    badge: r.cases.length ? { text: String(r.cases.length), tone: 'bad' } : { text: '✓', tone: 'good' },
    html: (cell) => diffSection(r, cell, colKey, limit),
  };
  const grids: HtmlTab[] = r.columns.map((c, i) => ({ c, i })).filter(({ c }) => shown(c)).map(({ c, i }) => ({
    label: tabLabel(c),
    group: group(c, i),
    key: colKey(i),
    about: opts.about ? opts.about(c, i) : c.kind === 'report'
      ? `${c.source}: the kernel's answers and verdicts as the report has them${c.profile ? '; each example\'s path is the model replayed on the report\'s own profile' : ''}`
      : `the model on the host profile ${c.source}: no kernel was asked`,
    tally: columnTally(c),
  }));
  // Each host's tabs together, hosts in the order of the inputs.
  const order = [...new Set(grids.map((t) => t.group))];
  return [differences, ...grids.map((t, i) => ({ t, i })).sort((a, b) => order.indexOf(a.t.group) - order.indexOf(b.t.group) || a.i - b.i).map((x) => x.t)];
}

function sideRow(r: DiffResult, side: Side, ci: number, href: string | undefined): string {
  const c = r.columns[ci];
  const st = side.step;
  const where = side.unknown ? `<small>not known: ${esc(side.unknown)}</small>`
    : st ? `<b>${esc(st.fn)}</b>: ${esc(st.what)}${st.fact ? `<br><small>host fact <b>${esc(st.fact.name)}</b> = <code>${esc(st.fact.value)}</code></small>` : ''}` : '';
  const dec = side.deciding ? `<b>${esc(side.deciding.fn)}</b>: ${esc(side.deciding.what)}` : '';
  return `<tr data-column="${ci}"><th>${esc(c.label)}</th><td class="${side.result === 'fd' ? 'ok' : ''}"><b>${esc(side.result)}</b>${side.modelDisagrees ? '<br><small class="t-bad">the model disagreed with this kernel here</small>' : ''}</td>` +
    `<td>${where}</td><td>${dec}</td><td class="go">${href ? `<a href="${href}">its cell</a>` : ''}</td></tr>`;
}

function diffSection(r: DiffResult, cell: CellLink, colKey: (i: number) => string, limit: number): string {
  const out: string[] = [];
  const cols = r.columns.filter((_, i) => r.sets.some((s) => s.columns.includes(i)));
  out.push(`<table class="t hosts"><thead><tr><th></th>${cols.map((c) => `<th>${esc(c.label)}</th>`).join('')}</tr></thead><tbody>` +
    HOST_ROWS.map(([n, f]) => `<tr><th>${esc(n)}</th>${cols.map((c) => `<td>${esc(f(c))}</td>`).join('')}</tr>`).join('') + '</tbody></table>');
  for (const s of r.sets) {
    const n = r.cases.filter((c) => c.variant === s.variant).length;
    out.push(`<h3 class="set" data-variant="${esc(s.variant)}">${esc(s.variant === '*' ? 'model' : `variant ${s.variant}`)}: ${s.compared} cases in all of ${esc(s.columns.map((i) => r.columns[i].label).join(', '))}` +
      `${s.onlyInSome ? ` (${s.onlyInSome} more in only some: not compared)` : ''}; ${n ? `<b class="t-bad">${n} differ</b>` : '<b class="t-good">no difference</b>'}</h3>`);
    let family = -1;
    for (const g of r.groups.filter((x) => x.variant === s.variant)) {
      if (g.family !== family) {
        family = g.family;
        out.push(`<h3>${esc(g.familyName)} (${g.family})</h3>`);
      }
      const cs = r.cases.filter((c) => c.group === g.id);
      const ex = cs[0];
      const base = ex.case.type & SOCK_TYPE_MASK;
      const sides = g.columns.map((ci, i) => sideRow(r, g.sides[i], ci, cell(colKey(ci), ex.case.domain, base))).join('');
      const rows = cs.slice(0, limit).map((c) => `<tr class="case" data-group="${g.id}"><td class="call">${esc(c.call)}</td>${c.sides.map((x) => `<td>${esc(x.result)}</td>`).join('')}` +
        `<td>${esc(c.fields.filter((f) => f !== 'result').join(', '))}</td></tr>`).join('');
      out.push(`<div class="dgroup" data-group="${g.id}" data-family="${g.family}" data-cause="${esc(g.causeKinds.join(','))}">` +
        `<p><b>${g.cases} case${g.cases === 1 ? '' : 's'}</b>: ${esc(causeText(g, r.columns, g.columns))}</p>` +
        `<table class="t sides"><thead><tr><th>host</th><th>result</th><th>where its path parts</th><th>deciding step</th><th></th></tr></thead><tbody>${sides}</tbody></table>` +
        `<details><summary>the ${g.cases === 1 ? 'case' : `${g.cases} cases`}${cs.length > limit ? ` (the first ${limit}; every case is in --format jsonl)` : ''}</summary>` +
        `<table class="t cases"><thead><tr><th>call</th>${g.columns.map((ci) => `<th>${esc(r.columns[ci].label)}</th>`).join('')}<th>other fields that differ</th></tr></thead><tbody>${rows}</tbody></table></details></div>`);
    }
  }
  if (r.notes.length) out.push(`<div class="notes">${r.notes.map((n) => `<p>note: ${esc(n)}</p>`).join('')}</div>`);
  out.push(`<p>${r.cases.length ? `${r.cases.length} case${r.cases.length === 1 ? '' : 's'} differ, in ${r.groups.length} group${r.groups.length === 1 ? '' : 's'} (family, and the step where each host's path parts).` : 'No difference.'} ` +
    'Each host has its own tab: the grid of its cases, every cell opening to its outcomes with an example and the model\'s whole path.</p>');
  return out.join('\n');
}

/** The diff as one self-contained page: the differences, then a tab per host and variant. */
export function renderDiffHtml(r: DiffResult, title = 'sockbridge diff'): string {
  return htmlSweepReport({ title, subtitle: `${r.columns.length} inputs; ${r.sets.reduce((n, s) => n + s.compared, 0)} cases compared`, tabs: diffHtmlTabs(r) });
}
