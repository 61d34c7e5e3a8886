/**
 * What socket() does differently on one host than on another, and which kernel step makes the
 * difference: `sockbridge diff A B [C ...]`.
 *
 * Each input is a column (one per variant of a report): a sweep report (`sweep --format jsonl`;
 * what the kernel of that host answered) or a host profile (what the model predicts there). The
 * cases every column of a variant holds are compared by result (fd or errno) and by what is
 * visible about a new socket (SO_DOMAIN/TYPE/PROTOCOL, sockprotoname, /proc/net table,
 * close-on-exec, O_NONBLOCK, fdinfo flags; never the fd number or inode, which say nothing about
 * the kernel). For each case that differs, the model is replayed on each column's profile (the
 * report's own `profile` line, or the profile itself) to find the first step where the paths
 * part, and the host facts cited there name the cause: the release, the kernel config (flavour),
 * a module, a capability, a sysctl, a namespace, a limit. Cases are grouped by family and by
 * that step on every side.
 *
 * The model never sees the reports' observations: it is only asked why each path went the way
 * it did, from each host's profile.
 */
import type { HostProfile, Prediction, SocketCase, Step } from '../types';
import { parseProfile } from '../host/profile-io';
import { resolveAlias } from '../host/modalias';
import { callName, domainName, errnoName } from '../abi/names';
import { afMax, ipprotoMax, parseRelease } from '../kernel/release';
import { replayCases, type CaseLine as ReportLine } from '../sweep/report-read';

/** What is visible about one call's outcome: the result, and the facts of a new socket. */
export interface Outcome {
  /** "fd" or the errno name. */
  result: string;
  /** Visible facts of a new socket (absent for an errno). */
  facts?: Record<string, unknown>;
}

/** The fields of a new socket that are compared between hosts. */
export const VISIBLE_FIELDS = ['soDomain', 'soType', 'soProtocol', 'protoName', 'procNet', 'cloexec', 'nonblock', 'fdinfoFlags'] as const;

/** One column: one host (and variant) as a report showed it or as the model predicts it. */
export interface Column {
  /** Short name shown as the column head. */
  label: string;
  /** The input file (or a caller's name for it). */
  source: string;
  kind: 'report' | 'profile';
  variant: string;
  node?: string;
  release?: string;
  machine?: string;
  /** generic, cloud, rt (Debian's flavours, from the release), or "" when the release does not say. */
  flavour: string;
  profile?: HostProfile;
  /** Why the column has no profile (the deciding steps are then not known). */
  noProfile?: string;
  /** Cases per crossing in the sweep (the model's replay keeps fds the same way). */
  batch: number;
  /** Cases in sweep order, and what each did. */
  cases: SocketCase[];
  outcomes: Outcome[];
  /** Cases where the report's own model and kernel disagreed (verdict other than MATCH). */
  notMatching: Set<string>;
  /** The report did not complete (interrupted). */
  incomplete?: boolean;
  /** A report's case lines as written, in order (the html report draws each host's grid from them). */
  lines?: ReportLine[];
}

export const caseKey = (c: SocketCase): string => `${c.domain},${c.type},${c.protocol}`;

/** Debian's flavour from a release string ("6.1.0-50-cloud-amd64" -> cloud). */
export function flavourOf(release: string | undefined): string {
  if (!release) return '';
  const m = /-(cloud|rt)-[a-z0-9]+$/.exec(release);
  if (m) return m[1];
  return /-(amd64|arm64|armmp|686|686-pae|powerpc64le|s390x|5kc-malta|octeon|loongson-3|riscv64)$/.test(release) ? 'generic' : '';
}

// ---------------------------------------------------------------------------
// Reading inputs
// ---------------------------------------------------------------------------

export class DiffInputError extends Error {
  constructor(message: string, readonly unreadable = false) {
    super(message);
    this.name = 'DiffInputError';
  }
}

interface CaseLine {
  variant: string; domain: number; type: number; protocol: number; verdict?: string;
  observed?: Record<string, unknown>;
}

/** The outcome a report line records as observed. */
export function outcomeOfObserved(o: Record<string, unknown> | undefined): Outcome {
  if (!o || typeof o !== 'object') return { result: 'unknown' };
  if (typeof o.fd === 'number' && o.fd >= 0) {
    const facts: Record<string, unknown> = {};
    for (const f of VISIBLE_FIELDS) facts[f] = o[f] ?? null;
    return { result: 'fd', facts };
  }
  return { result: typeof o.errno === 'number' ? errnoName(o.errno) : 'unknown' };
}

/** The outcome a model prediction gives. */
export function outcomeOfPrediction(p: Prediction): Outcome {
  if (p.result.errno !== undefined) return { result: errnoName(p.result.errno) };
  const f = p.facts!;
  return {
    result: 'fd',
    facts: {
      soDomain: f.soDomain, soType: f.soType, soProtocol: f.soProtocol, protoName: f.protoName, procNet: f.procNet,
      cloexec: f.cloexec, nonblock: f.nonblock, fdinfoFlags: '0' + f.fdinfoFlags.toString(8),
    },
  };
}

/**
 * Columns from one input's text: a jsonl report gives one column per variant, a profile one
 * column (its cases are filled in later from the other columns or the matrix).
 */
export function columnsFromText(text: string, source: string, sibling?: (variant: string) => HostProfile | undefined): Column[] {
  const first = text.trimStart();
  if (first.startsWith('{"kind"') || (first.startsWith('{') && /\n\s*\{/.test(first.slice(0, 1 << 20)) && /"kind"\s*:/.test(first.slice(0, 200)))) {
    return columnsFromReport(text, source, sibling);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new DiffInputError(`${source}: neither a sweep report (jsonl lines with "kind") nor a host profile (JSON): ${(e as Error).message}`);
  }
  let profile: HostProfile;
  try {
    profile = parseProfile(parsed, source);
  } catch (e) {
    throw new DiffInputError(`${source}: not a host profile: ${(e as Error).message}`);
  }
  const release = profile.kernel.release.value ?? undefined;
  return [{
    label: '', source, kind: 'profile', variant: '*', release, machine: profile.kernel.machine.value ?? undefined,
    flavour: flavourOf(release), profile, batch: 2048, cases: [], outcomes: [], notMatching: new Set(),
  }];
}

function columnsFromReport(text: string, source: string, sibling?: (variant: string) => HostProfile | undefined): Column[] {
  const byVariant = new Map<string, Column>();
  let header: Record<string, unknown> | undefined;
  const profiles = new Map<string, HostProfile>();
  const incomplete = new Set<string>();
  const col = (variant: string): Column => {
    let c = byVariant.get(variant);
    if (!c) {
      c = { label: '', source, kind: 'report', variant, flavour: '', batch: 2048, cases: [], outcomes: [], notMatching: new Set(), lines: [] };
      byVariant.set(variant, c);
    }
    return c;
  };
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (!line.trim()) continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      throw new DiffInputError(`${source}:${lineNo}: not JSON (${(e as Error).message}): ${line.slice(0, 100)}`);
    }
    if (rec.kind === 'case') {
      const r = rec as unknown as CaseLine;
      if (typeof r.domain !== 'number' || typeof r.type !== 'number' || typeof r.protocol !== 'number' || typeof r.variant !== 'string') {
        throw new DiffInputError(`${source}:${lineNo}: a case line needs variant, domain, type and protocol`);
      }
      const c = col(r.variant);
      const sc = { domain: r.domain, type: r.type, protocol: r.protocol };
      c.cases.push(sc);
      c.outcomes.push(outcomeOfObserved(r.observed));
      c.lines!.push(rec as unknown as ReportLine);
      if (r.verdict !== undefined && r.verdict !== 'MATCH') c.notMatching.add(caseKey(sc));
    } else if (rec.kind === 'header') {
      header = rec;
    } else if (rec.kind === 'profile' && typeof rec.variant === 'string') {
      try {
        profiles.set(rec.variant, parseProfile(rec.profile, `${source}:${lineNo} (profile of ${rec.variant})`));
      } catch (e) {
        throw new DiffInputError(`${source}:${lineNo}: the profile line is not a valid host profile: ${(e as Error).message}`);
      }
    } else if (rec.kind === 'summary' && rec.completed === false && typeof rec.variant === 'string') {
      incomplete.add(rec.variant);
    }
  }
  if (!header && byVariant.size === 0) throw new DiffInputError(`${source}: no header and no case lines: not a sweep report`);
  if (byVariant.size === 0) throw new DiffInputError(`${source}: the report holds no cases`);
  const host = (header?.host ?? {}) as { nodename?: string; release?: string; machine?: string };
  const batch = typeof header?.batch === 'number' && header.batch > 0 ? header.batch : 2048;
  for (const [v, c] of byVariant) {
    const p = profiles.get(v) ?? sibling?.(v);
    if (p) c.profile = p;
    else {
      c.noProfile = `${source} carries no profile line for variant ${v} (written by sockbridge before the fleet work)` +
        '; the deciding steps are not known - give the host profile beside it (see the README)';
    }
    // A guest without a host name says "(none)" (uname -n): no node to name.
    c.node = host.nodename && host.nodename !== '(none)' ? host.nodename : undefined;
    c.release = p?.kernel.release.value ?? host.release;
    c.machine = p?.kernel.machine.value ?? host.machine;
    c.flavour = flavourOf(c.release);
    c.batch = batch;
    if (incomplete.has(v)) c.incomplete = true;
  }
  return [...byVariant.values()];
}

// ---------------------------------------------------------------------------
// Comparing
// ---------------------------------------------------------------------------

/** Why one step of a path went differently from the other side's: the facts cited there. */
export interface Cause {
  /** release, kernel config, module, capability, sysctl, namespace, limit, security, fact */
  kind: string;
  fact: string;
  /** The value on each side (per column; null where the path did not cite it). */
  values: Array<string | null>;
  /** For a release: the limits of the socket ABI that moved between the two releases. */
  moved?: string[];
}

/** One column's side of a differing case: its result and the step where its path parts. */
export interface Side {
  result: string;
  /** The first step where this column's path leaves the reference path (or the reference's own). */
  step?: { fn: string; what: string; outcome: string; errno?: number; fact?: { name: string; value: string } };
  /** The step that decided this column's result (the failing check; the fd install). */
  deciding?: { fn: string; what: string };
  /** The model on this column's profile disagreed with the report's kernel on this case. */
  modelDisagrees?: boolean;
  unknown?: string;
}

export interface DiffCase {
  case: SocketCase;
  call: string;
  /** The variant set it belongs to. */
  variant: string;
  /** Column indexes (into DiffResult.columns) of the set, in order. */
  columns: number[];
  sides: Side[];
  /** Visible fields that differ (result included). */
  fields: string[];
  causes: Cause[];
  group: number;
}

export interface DiffGroup {
  id: number;
  variant: string;
  family: number;
  familyName: string;
  columns: number[];
  /** The step on each side, as the first case showed it. */
  sides: Side[];
  causes: Cause[];
  /** "release", "kernel config", ...: what the difference comes from; "model" when the model cannot say. */
  causeKinds: string[];
  cases: number;
}

export interface DiffResult {
  columns: Column[];
  /** Per variant set: columns compared, cases in all of them, cases in some only. */
  sets: Array<{ variant: string; columns: number[]; compared: number; onlyInSome: number }>;
  groups: DiffGroup[];
  cases: DiffCase[];
  /** Things the reader should know (a single-column variant, a column without profile). */
  notes: string[];
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  if (a.result !== b.result) return false;
  if (!a.facts || !b.facts) return true;
  return VISIBLE_FIELDS.every((f) => a.facts![f] === b.facts![f]);
}

function differingFields(outs: Outcome[]): string[] {
  const fields: string[] = [];
  if (outs.some((o) => o.result !== outs[0].result)) fields.push('result');
  const withFacts = outs.filter((o) => o.facts);
  if (withFacts.length > 1) {
    for (const f of VISIBLE_FIELDS) if (withFacts.some((o) => o.facts![f] !== withFacts[0].facts![f])) fields.push(f);
  }
  return fields;
}

/** Replay the model over a column's cases as its sweep ran them; keep traces for `want` only. */
function replay(col: Column, want: Set<string>, predictAll: boolean): Map<string, Prediction> {
  const out = new Map<string, Prediction>();
  if (!col.profile) return out;
  replayCases(col.profile, col.cases, col.batch, (i, p) => {
    if (predictAll) col.outcomes[i] = outcomeOfPrediction(p);
    const k = caseKey(col.cases[i]);
    if (want.has(k)) out.set(k, p);
  });
  return out;
}

function stepOf(s: Step): NonNullable<Side['step']> {
  return {
    fn: s.fn, what: s.what, outcome: s.outcome, ...(s.errno !== undefined ? { errno: s.errno } : {}),
    ...(s.fact ? { fact: { name: s.fact.name, value: s.fact.value } } : {}),
  };
}

/**
 * The first step where two paths part: a different function or outcome, or the same check citing
 * a fact of the same name with another value.
 */
/**
 * The steps that can part two paths: checks (pass/fail/rewrite) and the informational steps that
 * cite a host fact. An informational step without one (a hook that exists only from some release
 * on and changes nothing, such as 6.6's update_socket_protocol) would misalign the comparison.
 */
export function significantSteps(t: Step[]): Step[] {
  return t.filter((s) => s.outcome !== 'info' || (s.fact && !NOISE_FACTS.has(s.fact.name)));
}

export function divergence(a: Step[], b: Step[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x.fn !== y.fn || x.outcome !== y.outcome || x.errno !== y.errno) return i;
    if (x.fact && y.fact && x.fact.name === y.fact.name && x.fact.value !== y.fact.value && !NOISE_FACTS.has(x.fact.name)) return i;
  }
  // The same checks with the same outcomes: the first step that says something else (a socket's
  // name, table or flags), numbers aside (limits and fd numbers differ without mattering here).
  const shape = (s: Step): string => s.what.replace(/\d+/g, '#');
  for (let i = 0; i < n; i++) if (shape(a[i]) !== shape(b[i])) return i;
  return n;
}

/** Facts that differ between any two hosts without making socket() differ. */
const NOISE_FACTS = new Set(['security.lsms', 'RLIMIT_NOFILE']);

/** What kind of host fact a fact name is. */
export function factKind(name: string): string {
  if (name === 'kernel.release') return 'release';
  if (/^CONFIG_/.test(name)) return 'kernel config';
  if (/^modules\.|^PF_/.test(name)) return 'module';
  if (/^creds\.(cap|uid|gid|euid|egid|groups)|^CAP_/.test(name)) return 'capability';
  if (/^net\.netns|^creds\.userns/.test(name)) return 'namespace';
  if (/^net\.(ipv4|ipv6|mptcp|core)\./.test(name)) return 'sysctl';
  if (/^RLIMIT|^fs\.|^limits\./.test(name)) return 'limit';
  if (/^security\./.test(name)) return 'security';
  return 'fact';
}

/** Limits of the socket ABI keyed on the release, with the releases they moved at. */
const RELEASE_LIMITS: Array<{ name: string; of: (r: [number, number, number]) => number; at: string[] }> = [
  { name: 'AF_MAX', of: afMax, at: ['3.9', '4.6', '4.7', '4.11', '4.18', '5.15'] },
  { name: 'IPPROTO_MAX', of: ipprotoMax, at: ['5.6'] },
];

/** "IPPROTO_MAX 256 -> 263 at 5.6" for each limit that differs between two releases. */
export function movedLimits(a: string | undefined, b: string | undefined): string[] {
  const ra = a ? parseRelease(a) : null;
  const rb = b ? parseRelease(b) : null;
  if (!ra || !rb) return [];
  const out: string[] = [];
  for (const l of RELEASE_LIMITS) {
    const va = l.of(ra);
    const vb = l.of(rb);
    if (va === vb) continue;
    const [lo, hi] = va < vb ? [ra, rb] : [rb, ra];
    const at = l.at.filter((v) => { const p = parseRelease(v)!; return cmp(p, lo) > 0 && cmp(p, hi) <= 0; });
    out.push(`${l.name} ${va} -> ${vb}${at.length ? ` at ${at.join(', ')}` : ''}`);
  }
  return out;
}

function cmp(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

export interface DiffOptions {
  /** The cases a profile column is predicted over when no report column of its variant has cases. */
  matrix?: () => Iterable<SocketCase>;
  /** Only these variants. */
  variants?: string[];
}

/**
 * Compare columns. Columns are grouped by variant (a profile column joins every variant); in
 * each group the cases all columns hold are compared.
 */
export function diffColumns(columns: Column[], opts: DiffOptions = {}): DiffResult {
  const notes: string[] = [];
  labelColumns(columns);
  const reportVariants = [...new Set(columns.filter((c) => c.kind === 'report').map((c) => c.variant))];
  let variants = reportVariants.length ? reportVariants : ['*'];
  if (opts.variants) {
    const unknown = opts.variants.filter((v) => !variants.includes(v));
    if (unknown.length) throw new DiffInputError(`--variants: no input has variant ${unknown.join(', ')} (the inputs have ${variants.join(', ')})`);
    variants = opts.variants;
  }
  const result: DiffResult = { columns, sets: [], groups: [], cases: [], notes };
  // Profile columns are per variant set: one copy each, predicted over that set's cases.
  const all: Column[] = [];
  const sets: Array<{ variant: string; cols: number[] }> = [];
  for (const v of variants) {
    const cols: number[] = [];
    for (const c of columns) {
      if (c.kind === 'report' && c.variant !== v) continue;
      if (c.kind === 'profile') {
        const copy: Column = { ...c, variant: v, cases: [], outcomes: [], notMatching: new Set() };
        all.push(copy);
      } else all.push(c);
      cols.push(all.length - 1);
    }
    sets.push({ variant: v, cols });
  }
  result.columns = all;
  for (const s of sets) {
    if (s.cols.length < 2) {
      notes.push(`variant ${s.variant}: only ${all[s.cols[0]].label} has it; nothing to compare it with`);
      continue;
    }
    // A profile column is predicted over the first report column's cases (or the matrix).
    const ref = s.cols.map((i) => all[i]).find((c) => c.kind === 'report');
    for (const i of s.cols) {
      const c = all[i];
      if (c.kind !== 'profile') continue;
      if (ref) { c.cases = ref.cases.slice(); c.batch = ref.batch; } else c.cases = [...(opts.matrix ?? (() => []))()];
      c.outcomes = new Array(c.cases.length);
      replay(c, new Set(), true);
    }
    compareSet(all, s.variant, s.cols, result);
  }
  for (const c of all) {
    if (c.noProfile && result.cases.some((d) => d.columns.includes(all.indexOf(c)))) notes.push(c.noProfile);
    if (c.incomplete) notes.push(`${c.label}: the sweep did not complete (interrupted); only the cases it reached are compared`);
  }
  return result;
}

function compareSet(all: Column[], variant: string, cols: number[], result: DiffResult): void {
  const maps = cols.map((i) => {
    const m = new Map<string, number>();
    all[i].cases.forEach((c, j) => m.set(caseKey(c), j));
    return m;
  });
  const order = all[cols[0]].cases;
  const keys: string[] = [];
  let onlyInSome = 0;
  const seen = new Set<string>();
  for (let ci = 0; ci < cols.length; ci++) {
    for (const c of all[cols[ci]].cases) {
      const k = caseKey(c);
      if (seen.has(k)) continue;
      seen.add(k);
      if (maps.every((m) => m.has(k))) keys.push(k); else onlyInSome++;
    }
  }
  const differing: string[] = [];
  for (const k of keys) {
    const outs = cols.map((i, ci) => all[i].outcomes[maps[ci].get(k)!]);
    if (!outs.every((o) => sameOutcome(o, outs[0]))) differing.push(k);
  }
  result.sets.push({ variant, columns: cols, compared: keys.length, onlyInSome });
  if (differing.length === 0) return;
  const want = new Set(differing);
  const preds = cols.map((i) => replay(all[i], want, false));
  const byKey = new Map(order.map((c) => [caseKey(c), c]));
  const groupIndex = new Map<string, DiffGroup>();
  for (const k of differing) {
    const sc = byKey.get(k) ?? all[cols.find((_, ci) => maps[ci].has(k))!].cases[maps[0].get(k) ?? 0];
    const outs = cols.map((i, ci) => all[i].outcomes[maps[ci].get(k)!]);
    const traces = preds.map((m) => m.get(k));
    const sides: Side[] = cols.map((i, ci) => {
      const side: Side = { result: outs[ci].result };
      const col = all[i];
      if (col.notMatching.has(k)) side.modelDisagrees = true;
      if (!traces[ci]) side.unknown = col.noProfile ? 'no profile' : 'not replayed';
      return side;
    });
    // Reference path: the first column with a trace; each other side parts from it at its own step;
    // the reference's step is where the first side with another outcome parts from it.
    const refCi = traces.findIndex((t) => t);
    const causes: Cause[] = [];
    const sig = traces.map((t) => (t ? significantSteps(t.trace) : []));
    if (refCi >= 0) {
      const refT = sig[refCi];
      let refStep: number | undefined;
      for (let ci = 0; ci < cols.length; ci++) {
        const t = traces[ci];
        if (!t) continue;
        const d = t.deciding >= 0 ? t.trace[t.deciding] : undefined;
        if (d) sides[ci].deciding = { fn: d.fn, what: d.what };
        if (ci === refCi) continue;
        const at = divergence(refT, sig[ci]);
        if (at < sig[ci].length) sides[ci].step = stepOf(sig[ci][at]);
        if (refStep === undefined && !sameOutcome(outs[ci], outs[refCi])) refStep = at;
        for (const f of partingFacts(refT, sig[ci], at, all[cols[refCi]], all[cols[ci]])) addCause(causes, f, cols.length, refCi, ci);
      }
      const other = sig.findIndex((t, ci) => ci !== refCi && traces[ci]);
      const rs = refStep ?? (other >= 0 ? divergence(refT, sig[other]) : 0);
      if (rs < refT.length) sides[refCi].step = stepOf(refT[rs]);
      releaseCause(causes, cols.map((i) => all[i]), sides);
    }
    const fields = differingFields(outs);
    const family = sc.domain;
    const gkey = [variant, family, ...sides.map((s) => `${s.result}|${s.step?.fn ?? '?'}|${s.step?.outcome ?? ''}|${s.step?.fact?.name ?? ''}=${s.step?.fact?.value ?? ''}`),
      ...causes.map((c) => `${c.fact}:${c.values.join('/')}`)].join('\u0001');
    let g = groupIndex.get(gkey);
    if (!g) {
      g = {
        id: result.groups.length, variant, family, familyName: domainName(family), columns: cols, sides, causes,
        causeKinds: causeKinds(causes, sides), cases: 0,
      };
      groupIndex.set(gkey, g);
      result.groups.push(g);
    }
    g.cases++;
    result.cases.push({ case: sc, call: callName(sc.domain, sc.type, sc.protocol), variant, columns: cols, sides, fields, causes, group: g.id });
  }
}

/**
 * A host fact's value on a column, read from its profile (so a fact only one path cites can still
 * be compared): undefined when the fact is not one the diff can read from a profile.
 */
export function factOn(col: Column, name: string, cited: string): string | undefined {
  const p = col.profile;
  if (name === 'kernel.release') return col.release ?? p?.kernel.release.value ?? undefined;
  if (!p) return undefined;
  if (/^CONFIG_/.test(name)) {
    const cfg = p.kernel.config.value;
    return cfg ? cfg[name] ?? 'not set' : undefined;
  }
  if (name === 'modules.alias') {
    const aliases = p.modules.aliases.value;
    if (!aliases) return undefined;
    const mods = resolveAlias(cited, aliases);
    return mods.length ? `${cited} -> ${mods.join('+')}` : `${cited}: no module`;
  }
  const plain: Record<string, { value: unknown } | undefined> = {
    'creds.cap_effective': p.creds.capEffective, 'net.ipv4.ping_group_range': p.net.pingGroupRange,
    'net.mptcp.enabled': p.net.mptcpEnabled, 'net.netns_is_init': p.net.netnsIsInit,
    'net.netns_owned_by_caller_userns': p.net.netnsOwnedByCallerUserns, 'creds.userns_is_init': p.creds.usernsIsInit,
    'creds.egid': p.creds.egid, 'creds.groups': p.creds.groups, 'RLIMIT_NOFILE': p.limits.nofileSoft,
  };
  const f = plain[name];
  if (!f || f.value === null || f.value === undefined) return undefined;
  return Array.isArray(f.value) ? f.value.join(' ') : String(f.value);
}

/** The facts cited at the parting step (on either path) whose values differ between the two columns. */
function partingFacts(a: Step[], b: Step[], at: number, ca: Column, cb: Column): Array<{ name: string; va: string | null; vb: string | null }> {
  const cited = (t: Step[], name: string): string | null => {
    let v: string | null = null;
    for (let i = 0; i <= Math.min(at, t.length - 1); i++) if (t[i].fact?.name === name) v = t[i].fact!.value;
    return v;
  };
  const names = new Map<string, string>();
  const out: Array<{ name: string; va: string | null; vb: string | null }> = [];
  for (const t of [a, b]) {
    const s = at < t.length ? t[at] : undefined;
    if (!s?.fact) continue;
    if (s.cap) {
      // A capability check: the one capability, on each column's effective set.
      const name = `CAP ${s.cap.cap}`;
      if (names.has(name)) continue;
      names.set(name, '');
      const va = capOn(ca, s.cap.cap);
      const vb = capOn(cb, s.cap.cap);
      if (va !== vb) out.push({ name: `creds.cap_effective: ${capName(s.cap.cap)}`, va, vb });
      continue;
    }
    names.set(s.fact.name, s.fact.value);
  }
  for (const [n, v] of names) {
    if (NOISE_FACTS.has(n) || n.startsWith('CAP ')) continue;
    const fa = factOn(ca, n, v);
    const fb = factOn(cb, n, v);
    const va = fa !== undefined ? fa : cited(a, n);
    const vb = fb !== undefined ? fb : cited(b, n);
    if (va !== vb) out.push({ name: n, va, vb });
  }
  return out;
}

const CAP_NAMES: Record<number, string> = { 12: 'CAP_NET_ADMIN', 13: 'CAP_NET_RAW', 21: 'CAP_SYS_ADMIN', 16: 'CAP_SYS_MODULE' };
function capName(cap: number): string {
  return CAP_NAMES[cap] ?? `capability ${cap}`;
}

/** "granted" / "denied": whether the column's effective set holds the capability. */
function capOn(col: Column, cap: number): string | null {
  const hex = col.profile?.creds.capEffective.value;
  if (!hex || !/^[0-9a-fA-F]{1,16}$/.test(hex)) return null;
  return (BigInt(`0x${hex}`) >> BigInt(cap)) & 1n ? 'granted' : 'denied';
}

function addCause(causes: Cause[], f: { name: string; va: string | null; vb: string | null }, n: number, refCi: number, ci: number): void {
  let c = causes.find((x) => x.fact === f.name);
  if (!c) {
    c = { kind: factKind(f.name), fact: f.name, values: new Array(n).fill(null) };
    causes.push(c);
  }
  c.values[refCi] = f.va;
  c.values[ci] = f.vb;
}

/**
 * When the releases of the columns differ and nothing else was found (or the release was): every
 * column's release, and the ABI limits that moved between them that the paths mention.
 */
function releaseCause(causes: Cause[], cols: Column[], sides: Side[]): void {
  const rels = cols.map((c) => c.release ?? null);
  if (new Set(rels).size < 2) return;
  let c = causes.find((x) => x.kind === 'release');
  if (!c && causes.length) return;
  if (!c) {
    c = { kind: 'release', fact: 'kernel.release', values: rels };
    causes.push(c);
  }
  c.values = rels;
  const texts = sides.map((s) => `${s.step?.what ?? ''} ${s.deciding?.what ?? ''}`).join(' ');
  const moved = new Set<string>();
  for (let i = 1; i < cols.length; i++) {
    for (const m of movedLimits(cols[0].release, cols[i].release)) if (texts.includes(m.split(' ')[0])) moved.add(m);
  }
  if (moved.size) c.moved = [...moved];
}

function causeKinds(causes: Cause[], sides: Side[]): string[] {
  const kinds = [...new Set(causes.map((c) => c.kind))];
  if (kinds.length) return kinds;
  if (sides.some((s) => s.unknown)) return ['not known'];
  if (sides.some((s) => s.modelDisagrees)) return ['model and kernel disagree on a side'];
  return ['path'];
}

/** Column labels: the shortest of node / release / variant that tells the columns apart. */
export function labelColumns(cols: Column[]): void {
  const base = (c: Column): string => {
    const parts = [c.node, c.release ?? (c.kind === 'profile' ? 'profile' : undefined)].filter(Boolean) as string[];
    return parts.join(' ') || c.source;
  };
  const used = new Map<string, number>();
  for (const c of cols) {
    if (c.label) continue;
    let l = base(c);
    if (c.variant !== '*' && cols.some((o) => o !== c && base(o) === base(c) && o.variant !== c.variant)) l += ` [${c.variant}]`;
    if ([...cols].filter((o) => base(o) === base(c) && o.variant === c.variant).length > 1) l = `${c.source}${c.variant !== '*' ? ` [${c.variant}]` : ''}`;
    const n = used.get(l) ?? 0;
    used.set(l, n + 1);
    c.label = n ? `${l} #${n + 1}` : l;
  }
}
