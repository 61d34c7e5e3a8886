/**
 * The side-by-side report of a kernels run: one column per kernel, as text and as the sweep's
 * html report (the run side by side, the differences, a tab per kernel and user), plus the same
 * data as JSON.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { GuestOutput } from './frames';
import type { Accel } from './qemu';
import type { Calibration } from './jobs';
import { columnsFromText, diffColumns, type Column } from '../../lib/diff';
import { causeText, diffHtmlTabs, renderDiffJsonl, renderDiffText, sideBySide } from '../../lib/diff/render';
import { esc, htmlSweepReport, type HtmlTab } from '../../lib/sweep/report-html';
import { tallyFromReport } from '../../lib/sweep/report-read';
import { alignEnvFromProfile } from '../../lib/bridge/align';
import { siblingProfile } from '../../lib/cli/diff';

/** Agreement counts of one comparison (live or offline) of one variant (root or user). */
export interface Agreement {
  cases: number;
  match: number;
  mismatch: number;
  /** Verdicts that are neither (UNSUPPORTED, EXPLAINED), by kind. */
  other: Record<string, number>;
  /** The first mismatches, for the reader. */
  examples: string[];
}

export interface KernelOutcome {
  id: string;
  /** Debian architecture of the kernel (amd64, arm64, mips64el) and its flavour (generic, cloud, 5kc-malta). */
  arch?: string;
  flavour?: string;
  outDir: string;
  package?: string;
  /** The modules in the initramfs: how many, how compressed, and what was decompressed for the guest. */
  modules?: string;
  /** Why the package is not the archive's newest (a mirror that lacked its file). */
  packageNote?: string;
  release?: string;
  accel?: Accel;
  /** Seconds spent per phase (download, extract, initramfs, boot, compare). */
  phases: Record<string, number>;
  /** Guest uptime when /init started: the kernel's own boot time. */
  readyUptime?: number;
  guest?: GuestOutput;
  jobs?: Record<string, { rc: number; seconds: number; who: string }>;
  calibration?: Record<string, { uid: number; timings: Calibration[]; builtinMeanMs: number }>;
  /** comparison ("live" | "offline") -> variant ("root" | "user") -> agreement. */
  agreement?: Record<string, Record<string, Agreement>>;
  /** Families by what autoload made of them (see offline.ts familyCoverage): status -> names. */
  coverage?: Record<string, string[]>;
  /** Modules loaded in the guest at the end of the run. */
  modulesLoaded?: number;
  /** Cases that did not MATCH, over every comparison and variant. */
  mismatches?: number;
  infra?: { stage: string; message: string };
}

export interface Summary { text: string; html: string }

function cell(o: KernelOutcome, row: string): string {
  if (row === 'status') {
    if (o.infra) return `FAILED to run (${o.infra.stage})`;
    if (o.mismatches === undefined) return 'ran (no comparison)';
    return o.mismatches === 0 ? 'all agree' : `${o.mismatches} cases disagree`;
  }
  if (row === 'package') return o.package ?? '-';
  if (row === 'architecture') return o.arch ? `${o.arch}${o.flavour ? ` (${o.flavour})` : ''}` : 'amd64';
  if (row === 'release') return o.release ?? '-';
  if (row === 'initramfs modules') return o.modules ?? '-';
  if (row === 'accel') return o.accel ?? '-';
  if (row === 'kernel boot (guest uptime at /init)') return o.readyUptime !== undefined ? `${o.readyUptime.toFixed(1)} s` : '-';
  if (row.startsWith('families ')) {
    const list = o.coverage?.[row.slice(9)];
    return list ? `${list.length}: ${list.join(', ')}` : '-';
  }
  if (row === 'modules loaded at the end') return o.modulesLoaded !== undefined ? String(o.modulesLoaded) : '-';
  if (row.startsWith('phase ')) {
    const p = o.phases[row.slice(6)];
    return p !== undefined ? `${p.toFixed(1)} s` : '-';
  }
  if (row.startsWith('job ')) {
    const j = o.jobs?.[row.slice(4)];
    return j ? `${j.seconds.toFixed(1)} s (rc ${j.rc})` : '-';
  }
  if (row.startsWith('agree ')) {
    const [, cmp, variant] = row.split(' ');
    const a = o.agreement?.[cmp]?.[variant];
    if (!a) return '-';
    const other = Object.entries(a.other).map(([k, n]) => `${n} ${k}`).join(', ');
    return `${a.match}/${a.cases} match${a.mismatch ? `, ${a.mismatch} MISMATCH` : ''}${other ? `, ${other}` : ''}`;
  }
  if (row === 'socket() built-in AF_INET') {
    const c = o.calibration?.calibrate;
    return c ? `${c.builtinMeanMs.toFixed(3)} ms` : '-';
  }
  if (row.startsWith('socket() ')) {
    const m = /^socket\(\) (\S+) family (\d+) (first|repeat)$/.exec(row);
    if (!m) return '-';
    const c = o.calibration?.[m[1]]?.timings.find((t) => t.family === Number(m[2]));
    if (!c) return '-';
    return m[3] === 'first' ? `${c.firstMs.toFixed(1)} ms (errno ${c.firstErrno})` : `${c.meanMs.toFixed(2)} ms (errno ${c.errno})`;
  }
  return '-';
}

function rowsFor(outcomes: KernelOutcome[]): string[] {
  const rows = ['status', 'architecture', 'package', 'release', 'initramfs modules', 'accel', 'kernel boot (guest uptime at /init)'];
  const phases = new Set<string>();
  const jobs = new Set<string>();
  const agree = new Set<string>();
  const calib = new Set<string>();
  for (const o of outcomes) {
    Object.keys(o.phases).forEach((p) => phases.add(`phase ${p}`));
    Object.keys(o.jobs ?? {}).forEach((j) => jobs.add(`job ${j}`));
    for (const [cmp, vs] of Object.entries(o.agreement ?? {})) Object.keys(vs).forEach((v) => agree.add(`agree ${cmp} ${v}`));
    for (const [job, c] of Object.entries(o.calibration ?? {})) {
      for (const t of c.timings) calib.add(`socket() ${job} family ${t.family} first`).add(`socket() ${job} family ${t.family} repeat`);
    }
  }
  const cov = outcomes.some((o) => o.coverage)
    ? ['families registered', 'families autoloaded', 'families failed', 'families unaliased', 'families absent', 'modules loaded at the end'] : [];
  return [...rows, ...agree, ...cov, ...phases, ...jobs, ...calib, ...(calib.size ? ['socket() built-in AF_INET'] : [])];
}

export function renderText(outcomes: KernelOutcome[], totalS: number, note?: string, diff?: string): string {
  const rows = rowsFor(outcomes);
  // The same side-by-side grid as sockbridge diff's host table (lib/diff/render).
  const lines = [sideBySide(['', ...outcomes.map((o) => o.id)], rows.map((r) => [r, ...outcomes.map((o) => cell(o, r))]))];
  const notes: string[] = [];
  for (const o of outcomes) {
    if (o.infra) notes.push(`${o.id}: ${o.infra.stage} failure: ${o.infra.message}`);
    if (o.packageNote) notes.push(`${o.id}: ${o.package}: ${o.packageNote}`);
    for (const [cmp, vs] of Object.entries(o.agreement ?? {})) {
      for (const [v, a] of Object.entries(vs)) {
        for (const e of a.examples) notes.push(`${o.id} ${cmp} ${v}: ${e}`);
      }
    }
  }
  return `sockbridge on other kernels (qemu), ${note ?? `${totalS.toFixed(0)} s in all`}\n\n${lines.join('\n')}\n` +
    (notes.length ? `\n${notes.join('\n')}\n` : '') + (diff ? `\n${diff}` : '');
}

/**
 * The html report: the sweep's html report (lib/sweep/report-html) for every kernel at once. The
 * first tab is this run side by side (the table above); then what the kernels do differently as
 * each user (`tabs` from kernelsDiff: sockbridge diff's own differences tab); then a tab per kernel
 * and user, the grid of that guest's own report.
 */
export function renderHtml(outcomes: KernelOutcome[], totalS: number, note?: string, tabs: HtmlTab[] = []): string {
  const rows = rowsFor(outcomes);
  const cls = (o: KernelOutcome, r: string, v: string): string => {
    if (r === 'status') return o.infra ? 'fail' : o.mismatches === 0 ? 'ok' : o.mismatches ? 'bad' : '';
    if (r.startsWith('agree ')) return v === '-' ? '' : /MISMATCH|EXPLAINED|UNSUPPORTED/.test(v) ? 'bad' : 'ok';
    return '';
  };
  const body = rows.map((r) => `<tr><th>${esc(r)}</th>${outcomes.map((o) => {
    const v = cell(o, r);
    return `<td class="${cls(o, r, v)}">${esc(v)}</td>`;
  }).join('')}</tr>`).join('\n');
  const notes = outcomes.flatMap((o) => [
    ...(o.infra ? [`<li class="t-warn">${esc(o.id)}: ${esc(o.infra.stage)} failure<pre>${esc(o.infra.message)}</pre></li>`] : []),
    ...Object.entries(o.agreement ?? {}).flatMap(([cmp, vs]) => Object.entries(vs).flatMap(([v, a]) =>
      a.examples.map((e) => `<li class="t-bad">${esc(`${o.id} ${cmp} ${v}: ${e}`)}</li>`))),
  ]);
  const failed = outcomes.filter((o) => o.infra).length;
  const disagree = outcomes.filter((o) => o.mismatches).length;
  const run: HtmlTab = {
    label: 'the run',
    key: 'run',
    badge: failed ? { text: `${failed} failed`, tone: 'warn' } : disagree ? { text: `${disagree} disagree`, tone: 'bad' } : { text: '✓', tone: 'good' },
    html: () => `<table class="t run"><thead><tr><th></th>${outcomes.map((o) => `<th>${esc(o.id)}</th>`).join('')}</tr></thead>
<tbody>
${body}
</tbody></table>
${notes.length ? `<ul>${notes.join('\n')}</ul>` : ''}`,
  };
  return htmlSweepReport({
    title: 'sockbridge on other kernels',
    subtitle: 'Each kernel booted under qemu; "live" compares the model with the guest kernel inside the guest, "offline" has ' +
      `the model on the host predict the guest's observations from the guest's profile alone. ${note ?? `${totalS.toFixed(0)} s in all`}.`,
    tabs: [run, ...tabs],
  });
}

/** A kernel's tab: its agreement counts under the grid's totals. */
function agreementAbout(o: KernelOutcome, v: string): string {
  const parts = Object.entries(o.agreement ?? {}).flatMap(([cmp, vs]) => {
    const a = vs[v];
    if (!a) return [];
    const other = Object.entries(a.other).map(([k, n]) => `${n} ${k}`).join(', ');
    return [`${cmp}: ${a.match}/${a.cases} match${a.mismatch ? `, ${a.mismatch} MISMATCH` : ''}${other ? `, ${other}` : ''}`];
  });
  return `${o.id}, as ${v}: the guest's own report (the live comparison's verdicts), each example's path the model replayed on the guest's profile${parts.length ? `; ${parts.join('; ')}` : ''}`;
}

/**
 * What the kernels do differently, by sockbridge diff's own code: the guests' reports (each with
 * its profile) side by side, per user, written as out/kernels/diff-<variant>.{txt,jsonl}; the
 * summary's text carries the groups (the cases are in the diff files), its html the differences
 * and a tab per kernel and user (`tabs`).
 */
export function kernelsDiff(outcomes: KernelOutcome[], dir: string): { text: string; tabs: HtmlTab[] } {
  const parts: string[] = [];
  const content: HtmlTab[] = [];
  const grids: Array<{ tab: HtmlTab; kernel: number; v: number }> = [];
  (['root', 'user'] as const).forEach((v, vi) => {
    const cols: Column[] = [];
    const of: KernelOutcome[] = [];
    for (const o of outcomes) {
      const f = path.join(o.outDir, `sweep-${v}.jsonl`);
      if (o.infra || !fs.existsSync(f)) continue;
      for (const c of columnsFromText(fs.readFileSync(f, 'utf8'), f, siblingProfile(f))) {
        c.label = o.id;
        cols.push(c);
        of.push(o);
      }
    }
    if (cols.length === 0) return;
    const r = diffColumns(cols);
    const tabs = diffHtmlTabs(r, {
      key: `${v}:`, label: `differences as ${v}`, tabLabel: () => v,
      about: (c) => agreementAbout(of[cols.indexOf(c)], v),
    });
    for (const t of tabs) {
      if (!t.tally) {
        if (cols.length > 1) content.push(t);
        continue;
      }
      const col = r.columns.find((c) => t.key === `${v}:col${r.columns.indexOf(c)}`)!;
      const o = of[cols.indexOf(col)];
      grids.push({ tab: t, kernel: outcomes.indexOf(o), v: vi });
      // Where the offline comparison did not agree in every case, its own grid beside the live one.
      const off = o.agreement?.offline?.[v];
      if (off && off.match < off.cases && col.profile && col.lines) {
        grids.push({
          kernel: outcomes.indexOf(o), v: vi + 0.5,
          tab: {
            label: `${v} offline`, group: t.group, key: `${t.key}:offline`,
            about: `${o.id}, as ${v}: the offline comparison - the model of this tree on the guest's profile alone, aligned with the guest's observations`,
            tally: tallyFromReport({ variant: col.variant, lines: col.lines, profile: col.profile, batch: col.batch, completed: !col.incomplete, align: alignEnvFromProfile(col.profile) }),
          },
        });
      }
    }
    if (cols.length < 2) return;
    fs.writeFileSync(path.join(dir, `diff-${v}.txt`), renderDiffText(r, 1000));
    fs.writeFileSync(path.join(dir, `diff-${v}.jsonl`), renderDiffJsonl(r));
    parts.push(`what the kernels do differently as ${v} (sockbridge diff; every case in diff-${v}.txt): ` +
      `${r.cases.length} of ${r.sets.reduce((n, s) => n + s.compared, 0)} cases differ, in ${r.groups.length} groups`);
    for (const g of r.groups) parts.push(`  ${g.familyName}: ${g.cases} case${g.cases === 1 ? '' : 's'}: ${causeText(g, r.columns, g.columns)}`);
    parts.push('');
  });
  // Each kernel's tabs together (root, then user), kernels in the run's order.
  grids.sort((a, b) => a.kernel - b.kernel || a.v - b.v);
  return { text: parts.join('\n'), tabs: [...content, ...grids.map((g) => g.tab)] };
}

export function writeSummary(outcomes: KernelOutcome[], dir: string, totalS: number, note?: string): Summary {
  fs.mkdirSync(dir, { recursive: true });
  let diff = '';
  let tabs: HtmlTab[] = [];
  try {
    ({ text: diff, tabs } = kernelsDiff(outcomes, dir));
  } catch (e) {
    diff = `the kernels could not be compared with each other: ${(e as Error).message}\n`;
  }
  const text = renderText(outcomes, totalS, note, diff);
  const html = renderHtml(outcomes, totalS, note, tabs);
  fs.writeFileSync(path.join(dir, 'summary.txt'), text);
  fs.writeFileSync(path.join(dir, 'summary.html'), html);
  fs.writeFileSync(path.join(dir, 'summary.json'),
    JSON.stringify({ totalSeconds: totalS, note, kernels: outcomes.map((o) => ({ ...o, guest: undefined })) }, null, 1) + '\n');
  return { text, html };
}
