/**
 * The conformance summary of an emulated sweep, for an emulator's maintainers: which entry was
 * emulated, what backs the oracle, and the departure classes with counts and reproducers.
 * Text, JSON Lines and one self-contained HTML page. (The variant reports of a plain sweep are
 * lib/sweep/report.ts's; this is a separate writer for the emulator section.)
 */
import { ABIS } from '../abi/arch';
import { callName, domainName } from '../abi/names';
import { bold, dim, green, red, table, yellow, type TextStyle } from '../sweep/report';
import type { DepartureClass, EmulatedOutcome } from './conformance';

/** What a class means in words, from what Linux and the emulator answered. */
export function classHeadline(c: DepartureClass, emulator: string): string {
  if (c.fields.length) return `${emulator} makes the socket, but ${c.fields.join(', ')} differ${c.fields.length === 1 ? 's' : ''}`;
  if (c.linux === 'a new socket') return `${emulator} refuses (${c.emulator}) a call Linux accepts`;
  if (c.emulator === 'a new socket') return `${emulator} accepts a call Linux refuses (${c.linux})`;
  return `${emulator} answers ${c.emulator} where Linux answers ${c.linux}`;
}

function topDomains(c: DepartureClass, n: number): string {
  const e = Object.entries(c.domains).map(([d, k]) => [Number(d), k] as [number, number]).sort((a, b) => b[1] - a[1]);
  const shown = e.slice(0, n).map(([d, k]) => `${domainName(d)} ${k}`);
  return shown.join(', ') + (e.length > n ? `, ... (${e.length} families)` : '');
}

export function conformanceVerdictLine(o: EmulatedOutcome, style: TextStyle): string {
  const t = o.totals;
  const parts = [`${t.MATCH} conform`];
  parts.push(t.DEPARTURE ? red(style, `${t.DEPARTURE} DEPARTURE${t.DEPARTURE === 1 ? '' : 'S'} in ${o.classes.length} class${o.classes.length === 1 ? '' : 'es'}`) : green(style, 'no departure'));
  if (t.MISMATCH) parts.push(red(style, `${t.MISMATCH} model mismatch${t.MISMATCH === 1 ? '' : 'es'}`));
  if (t.EXPLAINED) parts.push(yellow(style, `${t.EXPLAINED} explained (host policy)`));
  if (t.UNSUPPORTED) parts.push(yellow(style, `${t.UNSUPPORTED} unsupported`));
  return `${bold(style, `[${o.emulator}]`)} ${t.total} cases: ${parts.join(', ')}`;
}

/** The text report. `matrix` says what was swept. */
export function conformanceText(o: EmulatedOutcome, matrix: string, style: TextStyle, maxClasses = 50): string {
  const L: string[] = [];
  L.push(bold(style, `sockbridge sweep --emulator ${o.emulator}: ${matrix} = ${o.totals.total} cases`) + dim(style, ` (${o.seconds.toFixed(1)} s)`));
  L.push(`emulator  ${o.emulatorVersion}  (${o.emulatorPath}); guest ABI ${o.abi}, entry ${o.route}`);
  L.push(`kernel    ${o.hostRelease}, this host's: the emulator forwards the guest's syscalls to it`);
  L.push(`oracle    ${o.proof.proven ? green(style, 'proven') : yellow(style, 'unproven')}: ${o.proof.statement}`);
  L.push(`control   ${o.control.ran ? '' : 'not run: '}${o.control.detail}`);
  L.push('');
  L.push(conformanceVerdictLine(o, style));
  if (o.classes.length) {
    L.push('');
    const rows: string[][] = [['class', 'cases', 'the model\'s deciding step (Linux)', 'Linux', o.emulator]];
    for (const c of o.classes.slice(0, maxClasses)) {
      const step = `${c.fn}: ${c.what}`;
      rows.push([String(c.id), String(c.count), step.length > 70 ? step.slice(0, 67) + '...' : step, c.linux, c.fields.length ? `socket; ${c.fields.join(', ')} differ` : c.emulator]);
    }
    L.push(table(rows, style, [false, true]));
    for (const c of o.classes.slice(0, maxClasses)) {
      L.push('');
      L.push(`${red(style, 'DEPARTURE')} class ${c.id}: ${c.count} case${c.count === 1 ? '' : 's'}. ${classHeadline(c, o.emulator)}`);
      L.push(`  Linux (model): ${c.linux}, decided by ${c.fn}: ${c.what}`);
      L.push(`  ${o.emulator}: ${c.emulator}${c.fields.length ? ` (${c.fields.join(', ')} differ)` : ''}`);
      L.push(`  families: ${topDomains(c, 6)}`);
      L.push(`  e.g. ${c.examples.slice(0, 3).map((x) => `${callName(x.domain, x.type, x.protocol, ABIS[o.abi])} [${x.domain} ${x.type} ${x.protocol}]`).join('; ')}`);
      L.push(`  reproduce: ${c.reproduce.emulator}`);
      if (c.reproduce.native) L.push(`             ${c.reproduce.native}   ${dim(style, '(the same call on this kernel, natively)')}`);
      L.push(`             ${c.reproduce.sockbridge}`);
    }
    if (o.classes.length > maxClasses) L.push('', dim(style, `... and ${o.classes.length - maxClasses} more classes (use --format jsonl for every class and case)`));
  }
  L.push('');
  L.push(o.totals.MISMATCH ? red(style, `${o.totals.MISMATCH} model mismatches: the model is wrong for those calls on this kernel`)
    : o.totals.DEPARTURE ? red(style, `${o.emulator} departs from Linux in ${o.totals.DEPARTURE} of ${o.totals.total} cases`)
      : green(style, `${o.emulator} answers as Linux in every case`));
  return L.join('\n') + '\n';
}

/** The jsonl header line of an emulated sweep. */
export function conformanceJsonlHeader(info: { schema: string; matrix: string; cases: number; emulator: string; abi: string; route: string; started: string; host: unknown; batch: number }): string {
  return JSON.stringify({ kind: 'header', ...info, variants: [info.emulator], skipped: [] });
}

/** The jsonl lines written after the cases: one per class, then the conformance summary. */
export function conformanceJsonlTail(o: EmulatedOutcome, completed = true): string[] {
  const out: string[] = [];
  for (const c of o.classes) {
    out.push(JSON.stringify({ kind: 'departure-class', emulatorName: o.emulator, headline: classHeadline(c, o.emulator), ...c }));
  }
  out.push(JSON.stringify({
    kind: 'conformance', emulator: o.emulator, emulatorVersion: o.emulatorVersion, emulatorPath: o.emulatorPath,
    abi: o.abi, route: o.route, kernel: o.hostRelease, probe: o.probe, proof: o.proof, control: o.control,
    totals: o.totals, classes: o.classes.length, seconds: o.seconds,
  }));
  out.push(JSON.stringify({ kind: 'summary', variant: o.emulator, completed, ...o.totals, notes: [o.proof.statement, o.control.detail] }));
  return out;
}

export function conformanceHtml(o: EmulatedOutcome, matrix: string): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const t = o.totals;
  const rows = o.classes.map((c) => `<tr class="class" data-class="${c.id}" data-count="${c.count}" data-linux="${esc(c.linux)}" data-emulator="${esc(c.emulator)}">
<td>${c.id}</td><td class="n">${c.count}</td><td><b>${esc(classHeadline(c, o.emulator))}</b><br><code>${esc(c.fn)}</code>: ${esc(c.what)}</td>
<td>${esc(c.linux)}</td><td>${esc(c.fields.length ? `socket; ${c.fields.join(', ')} differ` : c.emulator)}</td>
<td>${esc(topDomains(c, 4))}</td>
<td><code>${esc(c.reproduce.emulator)}</code>${c.reproduce.native ? `<br><code>${esc(c.reproduce.native)}</code>` : ''}<br><code>${esc(c.reproduce.sockbridge)}</code></td></tr>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>sockbridge: ${esc(o.emulator)} conformance</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}
td.n{text-align:right}code{font-size:12px}.bad{color:#c9302c}.good{color:#2d862d}.warn{color:#b36b00}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{font-weight:bold}
</style></head><body>
<h1>sockbridge: ${esc(o.emulator)} against Linux</h1>
<dl id="facts">
<dt>swept</dt><dd>${esc(matrix)} = ${t.total} cases</dd>
<dt>emulator</dt><dd>${esc(o.emulatorVersion)} (${esc(o.emulatorPath)}); guest ABI ${esc(o.abi)}, entry ${esc(o.route)}</dd>
<dt>kernel</dt><dd>${esc(o.hostRelease)} (this host's: the emulator forwards the guest's syscalls to it)</dd>
<dt>oracle</dt><dd class="${o.proof.proven ? 'good' : 'warn'}">${o.proof.proven ? 'proven' : 'unproven'}: ${esc(o.proof.statement)}</dd>
<dt>control</dt><dd>${esc(o.control.detail)}</dd>
</dl>
<p id="totals" data-total="${t.total}" data-match="${t.MATCH}" data-departure="${t.DEPARTURE}" data-mismatch="${t.MISMATCH}">${t.MATCH} conform,
<b class="${t.DEPARTURE ? 'bad' : 'good'}">${t.DEPARTURE} departures</b> in ${o.classes.length} classes, ${t.MISMATCH} model mismatches, ${t.EXPLAINED} explained, ${t.UNSUPPORTED} unsupported.</p>
${o.classes.length ? `<table id="classes"><tr><th>class</th><th>cases</th><th>what departs (the model's deciding step)</th><th>Linux</th><th>${esc(o.emulator)}</th><th>families</th><th>reproduce</th></tr>
${rows}
</table>` : '<p class="good">No departure: the emulator answered as Linux in every case.</p>'}
</body></html>
`;
}
