/**
 * The diff's reports: text for a terminal, JSON Lines for machines (`sockbridge.diff/1`), and one
 * self-contained HTML page with the hosts side by side. The side-by-side host table is shared
 * with test:kernels' summary (scripts/kernels/summary.ts), so both show hosts the same way.
 */
import type { Column, DiffCase, DiffGroup, DiffResult, Side } from './index';

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

const esc = (s: string): string => s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[ch]!));

/** One page: the hosts as columns, then per group its steps side by side and its cases. */
export function renderDiffHtml(r: DiffResult, title = 'sockbridge diff'): string {
  const head = `<tr><th></th>${r.columns.map((c) => `<th>${esc(c.label)}</th>`).join('')}</tr>`;
  const hostRows = HOST_ROWS.map(([n, f]) => `<tr><th>${esc(n)}</th>${r.columns.map((c) => `<td>${esc(f(c))}</td>`).join('')}</tr>`).join('\n');
  const body: string[] = [];
  for (const g of r.groups) {
    const cells = (vals: string[], cls = ''): string => r.columns.map((_, ci) => {
      const i = g.columns.indexOf(ci);
      return i < 0 ? '<td class="none"></td>' : `<td class="${cls}">${esc(vals[i])}</td>`;
    }).join('');
    body.push(`<tr class="group" data-group="${g.id}" data-family="${g.family}" data-cause="${esc(g.causeKinds.join(','))}"><th>${esc(g.familyName)}${g.variant !== '*' ? ` [${esc(g.variant)}]` : ''}: ${g.cases} case${g.cases === 1 ? '' : 's'}<br><small>${esc(causeText(g, r.columns, g.columns))}</small></th>${cells(g.sides.map(stepText), 'step')}</tr>`);
    for (const c of r.cases.filter((x) => x.group === g.id).slice(0, 50)) {
      body.push(`<tr class="case" data-group="${g.id}"><th class="call">${esc(c.call)}</th>${cells(c.sides.map((s) => s.result), 'result')}</tr>`);
    }
  }
  const sets = r.sets.map((s) => `<li>${esc(s.variant === '*' ? 'model' : `variant ${s.variant}`)}: ${s.compared} cases compared${s.onlyInSome ? `, ${s.onlyInSome} in only some inputs` : ''}</li>`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin-bottom:1em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
thead th{background:#eee}tr.group th,tr.group td{background:#fdf1d6}td.step{font-size:12px}th.call{font-weight:normal;font-family:monospace;padding-left:2em}
td.none{background:#f7f7f7}
</style></head><body>
<h1>${esc(title)}</h1>
<ul>${sets}</ul>
<table class="hosts"><thead>${head}</thead><tbody>${hostRows}</tbody></table>
<p>${r.cases.length ? `${r.cases.length} cases differ, in ${r.groups.length} groups (family, and the step where each host's path parts).` : 'No difference.'}</p>
<table class="diff"><thead>${head}</thead><tbody>
${body.join('\n')}
</tbody></table>
${r.notes.length ? `<ul class="notes">${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
}
