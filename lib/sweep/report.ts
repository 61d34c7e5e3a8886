/**
 * Report writers: text for people at a terminal, JSON Lines for machines, JUnit XML for CI
 * systems, and one self-contained HTML file with the family x type grid.
 *
 * Writers return strings or lines; the CLI decides where they go.
 */
import type { FieldDiff, HostProfile, Observation, Prediction, Step, Verdict } from '../types';
import { domainName, errnoName, callName, resultText } from '../abi/names';
import { SOCK } from '../abi/constants';
import type { CellStats, VariantTally } from './tally';

export const JSONL_SCHEMA = 'sockbridge.sweep/1';

const typeNames = new Map<number, string>(Object.entries(SOCK).map(([k, v]) => [v, k]));
export function baseTypeName(t: number): string {
  return typeNames.get(t) ?? String(t);
}

// ---------------------------------------------------------------------------
// JSON Lines
// ---------------------------------------------------------------------------

export function jsonlHeader(info: Record<string, unknown>): string {
  return JSON.stringify({ kind: 'header', schema: JSONL_SCHEMA, ...info });
}

/** One case. Field names and meanings are documented in README.md ("JSON Lines schema"). */
export function jsonlCase(variant: string, index: number, v: Verdict): string {
  const rec: Record<string, unknown> = {
    kind: 'case',
    variant,
    index,
    call: callName(v.case.domain, v.case.type, v.case.protocol),
    domain: v.case.domain,
    type: v.case.type,
    protocol: v.case.protocol,
    verdict: v.kind,
    predicted: predictedRecord(v.prediction),
    observed: observedRecord(v.observation),
  };
  if (v.diffs.length) rec.diffs = v.diffs;
  if (v.reason) rec.reason = v.reason;
  if (v.evidence) rec.evidence = v.evidence;
  if (v.kernelTrace) rec.kernelTrace = v.kernelTrace;
  const d = v.kind === 'MATCH' ? undefined : decidingStep(v.prediction);
  if (d) rec.deciding = { fn: d.fn, what: d.what, ...(d.fact ? { fact: d.fact } : {}) };
  return JSON.stringify(rec);
}

/**
 * The host profile a variant's model started from (what `sockbridge host --json` writes), one line
 * before the variant's first case: with it a report alone is enough to re-derive every case's
 * modelled path later (`sockbridge diff`), on any machine.
 */
export function jsonlProfile(variant: string, profile: HostProfile): string {
  return JSON.stringify({ kind: 'profile', variant, profile });
}

/** Who ran the sweep, for the header: the node name, kernel release and architecture (uname -n -r -m). */
export function jsonlHost(): { nodename: string; release: string; machine: string } {
  const os = require('os') as typeof import('os');
  return { nodename: os.hostname(), release: os.release(), machine: os.machine() };
}

export function jsonlCounters(variant: string, c: unknown): string {
  return JSON.stringify({ kind: 'counters', variant, ...(c as object) });
}

export function jsonlSummary(t: VariantTally): string {
  return JSON.stringify({
    kind: 'summary',
    variant: t.variant,
    completed: t.completed,
    ...t.totals,
    notes: t.notes,
  });
}

function predictedRecord(p: Prediction): Record<string, unknown> {
  const r: Record<string, unknown> = p.result.signal !== undefined
    ? { signal: p.result.signal, fatal: p.result.fatal }
    : p.result.errno !== undefined
      ? { errno: p.result.errno, errname: errnoName(p.result.errno) }
      : { fd: p.result.fd };
  if (p.seccomp) r.seccomp = p.seccomp;
  if (p.unknownFilters) r.unknownFilters = p.unknownFilters;
  if (p.facts) {
    const f = p.facts;
    Object.assign(r, {
      cloexec: f.cloexec, nonblock: f.nonblock, fdinfoFlags: '0' + f.fdinfoFlags.toString(8),
      soDomain: f.soDomain, soType: f.soType, soProtocol: f.soProtocol, protoName: f.protoName, procNet: f.procNet,
      protocolsDelta: f.protocolsDelta, sockstatUsedDelta: f.sockstatUsedDelta,
    });
  }
  if (p.possible) r.possible = p.possible.map((x) => (x.signal !== undefined ? `signal ${x.signal}${x.fatal ? ' (fatal)' : ''}` : x.errno !== undefined ? errnoName(x.errno) : `fd ${x.fd}`));
  if (p.missing) r.missing = p.missing;
  return r;
}

function observedRecord(o: Observation): Record<string, unknown> {
  if (o.signal) return { signal: o.signal.signal, fatal: o.signal.fatal };
  if (o.notRun) return { fd: o.fd, notRun: true };
  if (o.errno !== 0) return { errno: o.errno, errname: errnoName(o.errno) };
  return {
    fd: o.fd,
    cloexec: o.fdFlags === undefined ? null : (o.fdFlags & 1) !== 0,
    nonblock: o.flFlags === undefined ? null : (o.flFlags & 0o4000) !== 0,
    fdinfoFlags: o.fdinfo ? '0' + o.fdinfo.flags.toString(8) : null,
    soDomain: o.soDomain ?? null, soType: o.soType ?? null, soProtocol: o.soProtocol ?? null,
    link: o.link ?? null, ino: o.stat?.ino ?? null, fdinfoIno: o.fdinfo ? (o.fdinfo.ino >= 0 ? o.fdinfo.ino : null) : null,
    mode: o.stat ? '0' + o.stat.mode.toString(8) : null,
    uid: o.stat?.uid ?? null, gid: o.stat?.gid ?? null,
    protoName: o.protoName ?? null, procNet: o.procNet === undefined ? null : o.procNet?.table ?? null,
  };
}

export function decidingStep(p: Prediction): Step | undefined {
  return p.deciding >= 0 ? p.trace[p.deciding] : undefined;
}

// ---------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------

export interface TextStyle { color: boolean }

const paint = (s: TextStyle, code: string, text: string) => (s.color ? `\x1b[${code}m${text}\x1b[0m` : text);
export const green = (s: TextStyle, t: string) => paint(s, '32', t);
export const red = (s: TextStyle, t: string) => paint(s, '31', t);
export const yellow = (s: TextStyle, t: string) => paint(s, '33', t);
export const bold = (s: TextStyle, t: string) => paint(s, '1', t);
export const dim = (s: TextStyle, t: string) => paint(s, '2', t);

/** Pad to a visible width, ignoring colour escapes. */
export function pad(text: string, width: number, right = false): string {
  const visible = text.replace(/\x1b\[[0-9;]*m/g, '').length;
  const fill = ' '.repeat(Math.max(0, width - visible));
  return right ? fill + text : text + fill;
}

export function table(rows: string[][], style: TextStyle, rightAlign: boolean[] = []): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, c.replace(/\x1b\[[0-9;]*m/g, '').length); });
  return rows.map((r, ri) => {
    const line = r.map((c, i) => pad(c, widths[i], rightAlign[i])).join('  ').trimEnd();
    return ri === 0 ? bold(style, line) : line;
  }).join('\n');
}

function cellMark(c: CellStats | undefined, style: TextStyle): string {
  if (!c) return dim(style, '·');
  if (c.MISMATCH) return red(style, 'X');
  if (c.EXPLAINED || c.UNSUPPORTED) return yellow(style, '~');
  return c.outcomes.has('fd') ? green(style, '●') : green(style, '○');
}

/** The summary: per family, one row; a grid column per base type; counts; what the kernel said. */
export function textSummary(t: VariantTally, style: TextStyle): string {
  const types = [...new Set([...t.cells.values()].flatMap((row) => [...row.keys()]))].sort((a, b) => a - b);
  const header = ['family', ...types.map((x) => (x < 10 ? String(x) : String.fromCharCode(87 + x))), 'cases', 'match', 'mismatch', 'other', 'the kernel said'];
  const rows: string[][] = [header];
  for (const domain of [...t.cells.keys()].sort((a, b) => a - b)) {
    const row = t.cells.get(domain)!;
    let total = 0; let match = 0; let mismatch = 0; let other = 0;
    const outcomes = new Map<string, number>();
    for (const c of row.values()) {
      total += c.total; match += c.MATCH; mismatch += c.MISMATCH; other += c.UNSUPPORTED + c.EXPLAINED;
      for (const [k, n] of c.outcomes) outcomes.set(k, (outcomes.get(k) ?? 0) + n);
    }
    const said = [...outcomes.entries()].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, n]) => `${k}×${n}`).join(' ');
    rows.push([
      `${domain} ${domainName(domain)}`,
      ...types.map((x) => cellMark(row.get(x), style)),
      String(total), String(match), mismatch ? red(style, String(mismatch)) : '0', String(other), said,
    ]);
  }
  const right = header.map((_, i) => i > types.length && i <= types.length + 4);
  const legend = dim(style, `columns 0-f: base type (SOCK_STREAM=1 … SOCK_PACKET=a); ${'●'} all agree, some created a socket; ${'○'} all agree, every call failed; X mismatch; ~ explained or unsupported`);
  return `${table(rows, style, right)}\n${legend}`;
}

export function textTotals(t: VariantTally, style: TextStyle): string {
  const x = t.totals;
  const status = x.MISMATCH === 0 ? green(style, 'all agree') : red(style, `${x.MISMATCH} mismatch${x.MISMATCH === 1 ? '' : 'es'}`);
  const extra = [x.EXPLAINED ? `${x.EXPLAINED} explained` : '', x.UNSUPPORTED ? `${x.UNSUPPORTED} unsupported` : ''].filter(Boolean).join(', ');
  return `${bold(style, `[${t.variant}]`)} ${x.total} cases: ${x.MATCH} match, ${status}${extra ? `, ${extra}` : ''}${t.completed ? '' : red(style, ' (INCOMPLETE: interrupted)')}`;
}

/** Every mismatch in full: the call, each differing field, and the model's deciding step. */
export function textVerdict(v: Verdict, style: TextStyle): string {
  const lines: string[] = [];
  const tag = v.kind === 'MISMATCH' ? red(style, v.kind) : yellow(style, v.kind);
  lines.push(`${tag} ${callName(v.case.domain, v.case.type, v.case.protocol)}`);
  lines.push(`  model  ${resultText(v.prediction.result)}`);
  lines.push(`  kernel ${resultText(v.observation.errno === 0 ? { fd: v.observation.fd } : { errno: v.observation.errno })}`);
  for (const d of v.diffs) lines.push(`  ${pad(d.field, 14)} model ${fmt(d.predicted)}  kernel ${fmt(d.observed)}`);
  const s = decidingStep(v.prediction);
  if (s) lines.push(`  deciding step: ${s.fn}: ${s.what}${s.fact ? ` [${s.fact.name} = ${s.fact.value}, from ${s.fact.source}]` : ''}`);
  if (v.reason) lines.push(`  ${v.reason}`);
  for (const e of v.evidence ?? []) lines.push(`  evidence: [${e.policy}] ${e.name}: ${e.detail} (from ${e.source})`);
  return lines.join('\n');
}

function fmt(x: unknown): string {
  return typeof x === 'string' ? x : JSON.stringify(x);
}

export function diffLine(d: FieldDiff): string {
  return `${d.field}: model ${fmt(d.predicted)}, kernel ${fmt(d.observed)}`;
}

// ---------------------------------------------------------------------------
// JUnit
// ---------------------------------------------------------------------------

/** One testsuite per variant, one testcase per family x base type cell. */
export function junitReport(tallies: VariantTally[]): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  let tests = 0; let failures = 0;
  const suites: string[] = [];
  for (const t of tallies) {
    const cases: string[] = [];
    let suiteFailures = 0;
    for (const domain of [...t.cells.keys()].sort((a, b) => a - b)) {
      for (const [type, c] of [...t.cells.get(domain)!.entries()].sort((a, b) => a[0] - b[0])) {
        const name = `${domainName(domain)} ${baseTypeName(type)}`;
        const bad = t.notMatching.filter((v) => v.kind === 'MISMATCH' && v.case.domain === domain && (v.case.type & 0xf) === type);
        tests++;
        if (c.MISMATCH) {
          failures++; suiteFailures++;
          const body = bad.map((v) => textVerdict(v, { color: false })).join('\n\n');
          cases.push(`    <testcase classname="sockbridge.${esc(t.variant)}" name="${esc(name)} (${c.total} cases)"><failure message="${c.MISMATCH} of ${c.total} cases disagree">${esc(body)}</failure></testcase>`);
        } else {
          cases.push(`    <testcase classname="sockbridge.${esc(t.variant)}" name="${esc(name)} (${c.total} cases)"/>`);
        }
      }
    }
    if (!t.completed) {
      // An interrupted sweep must not read as a green run in CI: its cells are only part of the matrix.
      tests++; failures++; suiteFailures++;
      cases.push(`    <testcase classname="sockbridge.${esc(t.variant)}" name="sweep completed"><failure message="INCOMPLETE: the sweep stopped after ${t.totals.total} cases">${esc(t.notes.join('\n'))}</failure></testcase>`);
    }
    suites.push(`  <testsuite name="sockbridge ${esc(t.variant)}" tests="${cases.length}" failures="${suiteFailures}">\n${cases.join('\n')}\n  </testsuite>`);
  }
  out.push(`<testsuites name="sockbridge sweep" tests="${tests}" failures="${failures}">`);
  out.push(...suites);
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// HTML: lib/sweep/report-html.ts
// ---------------------------------------------------------------------------
