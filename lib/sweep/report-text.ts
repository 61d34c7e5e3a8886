/**
 * The terminal report of a sweep, on one screen: a line per variant, one grid of families x
 * variants for the families worth a look, then the disagreements grouped by their deciding step.
 *
 * Everything here is driven by the tallies' data: a new variant is a new row and column, a new
 * verdict kind (EXPLAINED, UNSUPPORTED, DEPARTURE, ...) is a new column of the variant table
 * and a new group of disagreements, without a change here. `VERDICT_KINDS` only names and
 * colours the kinds it knows; an unknown one is shown with its own name.
 *
 * A Screen says where the text goes. On a terminal (`columns` set) lines are fitted to its
 * width and the disagreement list is cut to a screenful, saying how to see the rest; into a
 * file or pipe (`columns` null) nothing is cut.
 */
import type { Verdict } from '../types';
import { callName, domainName, errnoName } from '../abi/names';
import { SOCK_TYPE_MASK } from '../abi/constants';
import type { CellStats, VariantTally } from './tally';
import { baseTypeName, bold, decidingStep, dim, green, red, yellow, type TextStyle } from './report';

export interface Screen extends TextStyle {
  /** Terminal width; null when the output is a file or a pipe (no line is cut or wrapped). */
  columns: number | null;
}

export type Tone = 'good' | 'bad' | 'warn';

/** What each verdict kind is called in reports, and how it is coloured. Order = column order. */
export interface KindInfo { label: string; tone: Tone; about: string; /** One character for grids. */ mark: string }

export const VERDICT_KINDS: Record<string, KindInfo> = {
  MATCH: { label: 'agree', tone: 'good', mark: '=', about: 'every compared field agrees' },
  MISMATCH: { label: 'disagree', tone: 'bad', mark: '✗', about: 'the model and the kernel disagree' },
  DEPARTURE: { label: 'departure', tone: 'bad', mark: '≠', about: 'an emulator answered differently from the model proven for that ABI' },
  EXPLAINED: { label: 'explained', tone: 'warn', mark: '~', about: 'the kernel refused where a named policy (a seccomp filter, an LSM profile or BPF program) could have decided that very call' },
  UNSUPPORTED: { label: 'unsupported', tone: 'warn', mark: '?', about: 'the profile lacks a fact the path needs; the kernel gave one of the possible results' },
  // Not a verdict: a host given as a profile (sockbridge diff), whose cases only the model answered.
  MODEL: { label: 'model only', tone: 'good', mark: '·', about: 'a host given as a profile: the model\'s answer, no kernel asked' },
};

export function kindInfo(kind: string): KindInfo {
  return VERDICT_KINDS[kind] ?? { label: kind.toLowerCase(), tone: 'warn', mark: '!', about: kind };
}

/** The verdict kinds a set of tallies has counters for, known ones first in their order. */
export function kindsOf(tallies: VariantTally[]): string[] {
  const seen = new Set<string>(['MATCH', 'MISMATCH']);
  for (const t of tallies) for (const k of Object.keys(t.totals)) if (k !== 'total') seen.add(k);
  const known = Object.keys(VERDICT_KINDS).filter((k) => seen.has(k));
  return [...known, ...[...seen].filter((k) => !(k in VERDICT_KINDS)).sort()];
}

export function count(x: object, kind: string): number {
  const n = (x as Record<string, unknown>)[kind];
  return typeof n === 'number' ? n : 0;
}

export function tone(s: TextStyle, t: Tone, text: string): string {
  return t === 'good' ? green(s, text) : t === 'bad' ? red(s, text) : yellow(s, text);
}

const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
export const visibleLength = (s: string) => [...visible(s)].length;

function padTo(text: string, width: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, width - visibleLength(text)));
  return right ? fill + text : text + fill;
}

/** 192000 -> "192000"; answers are counted in full where there is room. */
function n(x: number): string {
  return String(x);
}

/** A compact count for lists that must fit a line: 1234 -> "1.2k", 98000 -> "98k". */
export function shortCount(x: number): string {
  if (x < 1000) return String(x);
  if (x < 10_000) return `${(x / 1000).toFixed(1).replace(/\.0$/, '')}k`;
  if (x < 1_000_000) return `${Math.round(x / 1000)}k`;
  return `${(x / 1_000_000).toFixed(1).replace(/\.0$/, '')}M`;
}

/**
 * Wrap words to the screen width with a hanging indent; unchanged when the screen has no width.
 * Colour escapes are not counted.
 */
export function wrap(text: string, screen: Screen, indent = 2): string[] {
  if (screen.columns === null || visibleLength(text) <= screen.columns) return [text];
  const width = Math.max(20, screen.columns);
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    const candidate = line === '' ? w : `${line} ${w}`;
    if (visibleLength(candidate) <= width || line === '' || line.trim() === '') {
      line = candidate;
    } else {
      lines.push(line);
      line = ' '.repeat(indent) + w;
    }
  }
  if (line.trim() !== '') lines.push(line);
  // A single word longer than the screen is cut, so no line wraps on the terminal.
  return lines.map((l) => (visibleLength(l) > width ? cut(l, width) : l));
}

/** Cut to `width` visible characters, ending with "…" (colour escapes kept balanced by a reset). */
export function cut(text: string, width: number): string {
  if (visibleLength(text) <= width) return text;
  let out = '';
  let shown = 0;
  const hasColour = /\x1b\[/.test(text);
  for (let i = 0; i < text.length && shown < width - 1;) {
    const m = /^\x1b\[[0-9;]*m/.exec(text.slice(i));
    if (m) { out += m[0]; i += m[0].length; continue; }
    const ch = String.fromCodePoint(text.codePointAt(i)!);
    out += ch; i += ch.length; shown++;
  }
  return out + '…' + (hasColour ? '\x1b[0m' : '');
}

/** Rows of cells into aligned lines; `right[i]` right-aligns column i. The first row is a header. */
export function columns(rows: string[][], style: TextStyle, right: boolean[] = []): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, visibleLength(c)); });
  return rows.map((r, ri) => {
    const last = r.length - 1;
    const line = r.map((c, i) => (i === last && !right[i] ? c : padTo(c, widths[i], right[i] ?? false))).join('  ').trimEnd();
    return ri === 0 ? bold(style, line) : line;
  });
}

// ---------------------------------------------------------------------------
// What the kernel said, per variant and per family
// ---------------------------------------------------------------------------

/** Observed result label -> count over a set of cells, largest first. */
export function answersOf(cells: Iterable<CellStats>): Array<[string, number]> {
  const m = new Map<string, number>();
  for (const c of cells) for (const [k, x] of c.outcomes) m.set(k, (m.get(k) ?? 0) + x);
  return [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export function allCells(t: VariantTally): CellStats[] {
  return [...t.cells.values()].flatMap((row) => [...row.values()]);
}

/** How a label reads in a list: the kernel's "fd" outcome is a new socket. */
function answerLabel(label: string): string {
  return label === 'fd' ? 'fd' : label;
}

/**
 * "EAFNOSUPPORT 98k, EINVAL 60k, fd 1.2k" laid into lines of at most `width` characters (one line
 * when width is null: a file gets every count in full).
 */
function answerLines(answers: Array<[string, number]>, width: number | null): string[] {
  const parts = answers.map(([k, x]) => `${answerLabel(k)} ${width === null ? n(x) : shortCount(x)}`);
  if (width === null) return [parts.join(', ')];
  const lines: string[] = [];
  let line = '';
  for (const part of parts) {
    const next = line ? `${line}, ${part}` : part;
    if (line && visibleLength(next) + 1 > width) { lines.push(line + ','); line = part; } else line = next;
  }
  if (line || !lines.length) lines.push(line);
  return lines;
}

/** A family's answers type by type, to tell whether two variants saw the same thing. */
function familySignature(t: VariantTally, domain: number): string {
  const row = t.cells.get(domain);
  if (!row) return '';
  return [...row.entries()].sort((a, b) => a[0] - b[0])
    .map(([ty, c]) => `${ty}:${[...c.outcomes.entries()].sort().map(([k, x]) => `${k}=${x}`).join(',')}`).join(';');
}

function familyTotals(t: VariantTally, domain: number): { made: number; total: number; kinds: Map<string, number> } {
  const row = t.cells.get(domain);
  const kinds = new Map<string, number>();
  let made = 0; let total = 0;
  for (const c of row?.values() ?? []) {
    made += c.outcomes.get('fd') ?? 0;
    total += c.total;
    for (const k of Object.keys(c)) {
      if (k === 'total' || k === 'MATCH' || typeof (c as unknown as Record<string, unknown>)[k] !== 'number') continue;
      kinds.set(k, (kinds.get(k) ?? 0) + count(c, k));
    }
  }
  return { made, total, kinds };
}

// ---------------------------------------------------------------------------
// The one-screen report
// ---------------------------------------------------------------------------

export interface OneScreenInput {
  /** First line: what was swept. */
  title: string;
  tallies: VariantTally[];
  /** "name: why" for variants that could not run here. */
  skipped: string[];
  screen: Screen;
}

/**
 * The variant table: a line per variant with its counts per verdict kind and the kernel's answers.
 * Answers every variant gave alike (same result, same count) are said once under the table, so
 * each row shows what sets its variant apart; on a terminal a long list wraps inside its column.
 */
export function variantTable(tallies: VariantTally[], screen: Screen): string[] {
  const kinds = kindsOf(tallies).filter((k) => k === 'MATCH' || k === 'MISMATCH' || tallies.some((t) => count(t.totals, k) > 0));
  const rows: string[][] = [['variant', 'cases', ...kinds.map((k) => kindInfo(k).label)]];
  for (const t of tallies) {
    rows.push([
      t.variant + (t.completed ? '' : '*'),
      n(t.totals.total),
      ...kinds.map((k) => {
        const x = count(t.totals, k);
        return k === 'MATCH' || x === 0 ? n(x) : tone(screen, kindInfo(k).tone, n(x));
      }),
    ]);
  }
  const answers = tallies.map((t) => answersOf(allCells(t)));
  const common = tallies.length > 1
    ? answers[0].filter(([k, x]) => answers.every((a) => a.some(([k2, x2]) => k2 === k && x2 === x))) : [];
  const own = answers.map((a) => a.filter(([k]) => !common.some(([c]) => c === k)));
  const fixed = columns(rows, screen, rows[0].map((_, i) => i > 0));
  const used = Math.max(...fixed.map(visibleLength));
  const room = screen.columns === null ? null : Math.max(16, screen.columns - used - 2);
  const out: string[] = [fixed[0].padEnd(0) + ' '.repeat(used - visibleLength(fixed[0]) + 2) + bold(screen, 'the kernel\'s answers')];
  tallies.forEach((_, i) => {
    const lines = own[i].length ? answerLines(own[i], room) : [dim(screen, common.length ? '(as every variant)' : '(none)')];
    out.push(padTo(fixed[i + 1], used, false) + '  ' + lines[0]);
    for (const l of lines.slice(1)) out.push(' '.repeat(used + 2) + l);
  });
  if (common.length) {
    out.push(...wrap(dim(screen, `every variant also: ${answerLines(common, null)[0]}`), screen, 2));
  }
  return out;
}

/**
 * Families x variants, for the families where some variant made sockets, where the variants'
 * answers differ, or where some case did not agree. A cell: sockets made; "*" when this
 * variant's answers for the family differ from the first variant's; a count per other verdict.
 */
export function familyGrid(tallies: VariantTally[], screen: Screen): string[] {
  if (tallies.length === 0) return [];
  const domains = [...new Set(tallies.flatMap((t) => [...t.cells.keys()]))].sort((a, b) => a - b);
  const ref = tallies[0];
  const marks = new Set<string>();
  const picked: Array<{ domain: number; cells: string[] }> = [];
  for (const d of domains) {
    const sig0 = familySignature(ref, d);
    let worth = false;
    const cells = tallies.map((t, i) => {
      const f = familyTotals(t, d);
      const differs = i > 0 && familySignature(t, d) !== sig0;
      const others = [...f.kinds.entries()].filter(([, x]) => x > 0);
      if (f.made > 0 || differs || others.length) worth = true;
      let s = f.total === 0 ? '-' : String(f.made);
      if (differs) { s += '*'; marks.add('*'); }
      for (const [k, x] of others) {
        const info = kindInfo(k);
        marks.add(k);
        s += tone(screen, info.tone, ` ${info.mark}${x}`);
      }
      return s;
    });
    if (worth) picked.push({ domain: d, cells });
  }
  if (picked.length === 0) {
    return [dim(screen, 'no family made a socket, and the variants answered alike family by family')];
  }
  const names = tallies.map((t) => t.variant);
  const famWidth = Math.max(6, ...picked.map((p) => `${p.domain} ${domainName(p.domain)}`.length));
  // Split the variant columns into blocks that fit the screen, each with the family column.
  const blocks: number[][] = [];
  let block: number[] = [];
  let width = famWidth;
  names.forEach((name, i) => {
    const w = Math.max(visibleLength(name), ...picked.map((p) => visibleLength(p.cells[i]))) + 2;
    if (screen.columns !== null && block.length && width + w > screen.columns) {
      blocks.push(block); block = []; width = famWidth;
    }
    block.push(i); width += w;
  });
  if (block.length) blocks.push(block);
  const out: string[] = [];
  const legend: string[] = ['number: sockets made'];
  if (marks.has('*')) legend.push(`*: the kernel's answers differ from ${ref.variant}'s`);
  for (const k of kindsOf(tallies)) {
    const info = kindInfo(k);
    if (marks.has(k)) legend.push(`${info.mark}n: ${info.label}`);
  }
  out.push(...wrap(bold(screen, 'families where sockets were made or the variants differ') + dim(screen, ` (${legend.join('; ')})`), screen, 2));
  for (const b of blocks) {
    const rows: string[][] = [['family', ...b.map((i) => names[i])]];
    for (const p of picked) rows.push([`${p.domain} ${domainName(p.domain)}`, ...b.map((i) => p.cells[i])]);
    out.push(...columns(rows, screen, rows[0].map((_, i) => i > 0)));
  }
  return out;
}

/** A group of verdicts that are not MATCH and share variant, kind, cell, answers and deciding step. */
export interface DisagreementGroup {
  variant: string;
  kind: string;
  domain: number;
  baseType: number;
  model: string;
  kernel: string;
  deciding: string;
  verdicts: Verdict[];
}

const resultLabelOf = (r: { fd?: number; errno?: number }) => (r.errno !== undefined ? errnoName(r.errno) : 'fd');
const observedLabelOf = (v: Verdict) => (v.observation.errno === 0 ? 'fd' : errnoName(v.observation.errno));

export function groupDisagreements(tallies: VariantTally[]): DisagreementGroup[] {
  const groups = new Map<string, DisagreementGroup>();
  for (const t of tallies) {
    for (const v of t.notMatching) {
      const d = decidingStep(v.prediction);
      const g = {
        variant: t.variant, kind: v.kind, domain: v.case.domain, baseType: v.case.type & SOCK_TYPE_MASK,
        model: resultLabelOf(v.prediction.result), kernel: observedLabelOf(v), deciding: d ? `${d.fn}: ${d.what}` : '',
      };
      const key = JSON.stringify([g.variant, g.kind, g.domain, g.baseType, g.model, g.kernel, d?.fn ?? '', v.diffs.map((x) => x.field).join(',')]);
      const have = groups.get(key);
      if (have) have.verdicts.push(v);
      else groups.set(key, { ...g, verdicts: [v] });
    }
  }
  const order = kindsOf(tallies);
  return [...groups.values()].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || b.verdicts.length - a.verdicts.length);
}

function groupLines(g: DisagreementGroup, screen: Screen, full: boolean): string[] {
  const info = kindInfo(g.kind);
  const v = g.verdicts[0];
  const head = `${tone(screen, info.tone, g.kind)} [${g.variant}] ${domainName(g.domain)} ${baseTypeName(g.baseType)} ×${g.verdicts.length}: ` +
    `model ${g.model}, kernel ${g.kernel}`;
  const lines = wrap(head, screen, 4);
  const s = decidingStep(v.prediction);
  const calls = full ? g.verdicts : [v];
  for (const x of calls) {
    const diffs = x.diffs.filter((d) => d.field !== 'result').map((d) => `${d.field} model ${fmt(d.predicted)} kernel ${fmt(d.observed)}`);
    lines.push(...wrap(`  ${full ? '' : 'e.g. '}${callName(x.case.domain, x.case.type, x.case.protocol)}${diffs.length ? `: ${diffs.join('; ')}` : ''}`, screen, 6));
  }
  if (s) lines.push(...wrap(`  deciding step: ${s.fn}: ${s.what}${s.fact ? ` [${s.fact.name} = ${s.fact.value}, from ${s.fact.source}]` : ''}`, screen, 6));
  if (v.reason) lines.push(...wrap(`  ${v.reason}`, screen, 4));
  for (const e of v.evidence ?? []) lines.push(...wrap(`  evidence: [${e.policy}] ${e.name}: ${e.detail} (from ${e.source})`, screen, 6));
  return lines;
}

function fmt(x: unknown): string {
  return typeof x === 'string' ? x : JSON.stringify(x);
}

/** Notes said by several variants are said once, naming them. */
function notesLines(tallies: VariantTally[], screen: Screen): string[] {
  const by = new Map<string, string[]>();
  for (const t of tallies) for (const note of t.notes) by.set(note, [...(by.get(note) ?? []), t.variant]);
  const out: string[] = [];
  for (const [note, vs] of by) {
    const who = vs.length === tallies.length && tallies.length > 1 ? 'all' : vs.join(', ');
    out.push(...wrap(dim(screen, `note (${who}): ${note}`), screen, 2));
  }
  return out;
}

/** How many disagreement groups a terminal shows before it says where the rest are. */
export const SCREEN_GROUPS = 8;

export function oneScreenReport(input: OneScreenInput): string {
  const { tallies, screen } = input;
  const out: string[] = [];
  out.push(...wrap(bold(screen, input.title), screen, 2));
  out.push('');
  out.push(...variantTable(tallies, screen));
  for (const t of tallies) {
    if (!t.completed) out.push(...wrap(red(screen, `[${t.variant}] ${t.totals.total} cases: ${t.totals.MATCH} match (INCOMPLETE: interrupted)`), screen));
  }
  out.push('');
  out.push(...familyGrid(tallies, screen));
  const groups = groupDisagreements(tallies);
  if (groups.length) {
    out.push('');
    const shown = screen.columns === null ? groups : groups.slice(0, SCREEN_GROUPS);
    const cases = groups.reduce((x, g) => x + g.verdicts.length, 0);
    out.push(bold(screen, `cases that do not agree (${cases}${tallies.some((t) => t.notMatchingDropped) ? '+' : ''}, in ${groups.length} group${groups.length === 1 ? '' : 's'} by deciding step)`));
    for (const g of shown) out.push(...groupLines(g, screen, screen.columns === null));
    if (shown.length < groups.length) {
      out.push(...wrap(dim(screen, `... ${groups.length - shown.length} more group${groups.length - shown.length === 1 ? '' : 's'}: write the report to a file (--out FILE), or see every case with --grid, --format jsonl or --format html`), screen));
    }
    const dropped = tallies.reduce((x, t) => x + t.notMatchingDropped, 0);
    if (dropped) out.push(...wrap(dim(screen, `... and ${dropped} more cases not kept in memory (use --format jsonl for every case)`), screen));
  }
  const notes = notesLines(tallies, screen);
  // Variants skipped for the same reason share one line ("skipped ia32, ia32-socketcall: ...").
  const byReason = new Map<string, string[]>();
  for (const s of input.skipped) {
    const i = s.indexOf(': ');
    const [name, why] = i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 2)];
    const names = byReason.get(why);
    if (names) names.push(name); else byReason.set(why, [name]);
  }
  const skipped = [...byReason].flatMap(([why, names]) => wrap(dim(screen, `skipped ${names.join(', ')}${why ? `: ${why}` : ''}`), screen, 2));
  if (notes.length || skipped.length) out.push('', ...notes, ...skipped);
  out.push('');
  out.push(finalLine(tallies, screen));
  return out.join('\n') + '\n';
}

/** The last line: the run's verdict in words (machine-stable). */
export function finalLine(tallies: VariantTally[], style: TextStyle): string {
  const bad = tallies.reduce((x, t) => x + t.totals.MISMATCH, 0);
  const plural = (k: number, w: string) => `${k} ${w}${k === 1 ? '' : 'es'}`;
  if (bad) return red(style, plural(bad, 'mismatch'));
  if (!tallies.every((t) => t.completed)) return red(style, 'incomplete');
  const others = kindsOf(tallies).filter((k) => k !== 'MATCH' && k !== 'MISMATCH')
    .map((k) => [k, tallies.reduce((x, t) => x + count(t.totals, k), 0)] as const).filter(([, x]) => x > 0);
  const where = `${tallies.length} variant${tallies.length === 1 ? '' : 's'}`;
  if (others.length) {
    const bads = others.filter(([k]) => kindInfo(k).tone === 'bad');
    const text = `no mismatch in ${where}; ${others.map(([k, x]) => `${x} ${kindInfo(k).label}`).join(', ')}${bads.length ? '' : ' (exit 4: not every case is a MATCH)'}`;
    return bads.length ? red(style, text) : yellow(style, text);
  }
  return green(style, `every case agrees in ${where}`);
}
