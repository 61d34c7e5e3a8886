/**
 * The two comparisons of one guest sweep.
 *
 * live:    the verdicts the guest's own sweep wrote (model and kernel side by side, in the guest).
 * offline: the model on this host, given only the guest's profile (release, config, modules.alias
 *          and modules.dep, sysctls, creds, fd table), predicts every case the guest observed;
 *          each prediction is aligned with the guest's observation by the same bridge.
 *
 * The offline model replays the cases in the guest's order and batches, so its simulated kernel
 * loads modules (request_module) and holds fds exactly where the guest's did. It never reads an
 * observed outcome: observations enter only alignCase, after the prediction is made.
 */
import * as path from 'path';
import type { HostProfile, Observation, SocketCase, Verdict } from '../../lib/types';
import type { KernelModel } from '../../lib/kernel';
import { observationFromLine, type CaseLine } from '../../lib/sweep/report-read';
import type { Agreement } from './summary';

/** The model and the bridge, as compiled in one copy of the package. */
export interface ModelLib {
  KernelModel: typeof KernelModel;
  parseProfile: typeof import('../../lib/host').parseProfile;
  resolveAlias: typeof import('../../lib/host').resolveAlias;
  alignCase: typeof import('../../lib/bridge/align').alignCase;
  alignEnvFromProfile: typeof import('../../lib/bridge/align').alignEnvFromProfile;
  familyImpl: typeof import('../../lib/kernel/net/registry').familyImpl;
}

/**
 * Load the model from a package snapshot's dist/ (the copy the guest ran), so that both
 * comparisons judge the same model even while the working tree's dist/ is being rebuilt.
 */
export function loadModelLib(packageRoot: string): ModelLib {
  const d = (m: string): string => path.join(packageRoot, 'dist', 'lib', m);
  /* eslint-disable @typescript-eslint/no-var-requires */
  const kernel = require(d('kernel')) as typeof import('../../lib/kernel');
  const host = require(d('host')) as typeof import('../../lib/host');
  const align = require(d('bridge/align')) as typeof import('../../lib/bridge/align');
  const registry = require(d('kernel/net/registry')) as typeof import('../../lib/kernel/net/registry');
  return {
    KernelModel: kernel.KernelModel, parseProfile: host.parseProfile, resolveAlias: host.resolveAlias,
    alignCase: align.alignCase, alignEnvFromProfile: align.alignEnvFromProfile, familyImpl: registry.familyImpl,
  };
}

/** A "case" line of `sockbridge sweep --format jsonl`, as far as this file reads it (the report reader's, its model answer aside). */
export type CaseRecord = Omit<CaseLine, 'predicted'> & { predicted?: CaseLine['predicted'] };

export interface SweepReport {
  cases: CaseRecord[];
  summaries: Array<{ variant: string; completed: boolean; total: number; [k: string]: unknown }>;
  header?: Record<string, unknown>;
}

/** Parse a jsonl sweep report; a line that is not JSON is an error naming the line. */
export function parseSweepJsonl(text: string, where: string): SweepReport {
  const out: SweepReport = { cases: [], summaries: [] };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    let rec: { kind?: string };
    try {
      rec = JSON.parse(lines[i]) as { kind?: string };
    } catch (e) {
      throw new Error(`${where}:${i + 1}: not JSON (${(e as Error).message}): ${lines[i].slice(0, 120)}`);
    }
    if (rec.kind === 'case') out.cases.push(rec as CaseRecord);
    else if (rec.kind === 'summary') out.summaries.push(rec as SweepReport['summaries'][number]);
    else if (rec.kind === 'header') out.header = rec as Record<string, unknown>;
  }
  return out;
}

/** The observation a jsonl record carries, in the bridge's shape (the report reader's own). */
export function observationFromRecord(r: CaseRecord): Observation {
  return observationFromLine(r);
}

export function newAgreement(): Agreement {
  return { cases: 0, match: 0, mismatch: 0, other: {}, examples: [] };
}

function count(a: Agreement, kind: string, example: () => string): void {
  a.cases++;
  if (kind === 'MATCH') {
    a.match++;
    return;
  }
  if (kind === 'MISMATCH') a.mismatch++;
  else a.other[kind] = (a.other[kind] ?? 0) + 1;
  if (a.examples.length < 8) a.examples.push(`${kind} ${example()}`);
}

const diffText = (d: Array<{ field: string; predicted: unknown; observed: unknown }> | undefined): string =>
  (d ?? []).map((x) => `${x.field}: model ${JSON.stringify(x.predicted)}, kernel ${JSON.stringify(x.observed)}`).join('; ');

/** The guest's own verdicts, counted. An incomplete sweep is a mismatch (cases were not compared). */
export function liveAgreement(rep: SweepReport): Agreement {
  const a = newAgreement();
  for (const r of rep.cases) count(a, r.verdict, () => `${r.call}: ${diffText(r.diffs)}`);
  for (const s of rep.summaries) {
    if (!s.completed) {
      a.mismatch++;
      a.examples.push(`the guest's sweep (${s.variant}) did not complete`);
    }
  }
  return a;
}

/**
 * Predict every case of `rep` from `profile` alone and align each with the guest's observation.
 * `batch` is the guest sweep's --batch: within a batch the guest kept every new fd open, and
 * before each batch it re-read its fd table, which the profile gives.
 */
export function offlineAgreement(lib: ModelLib, profile: HostProfile, rep: SweepReport, batch: number): { agreement: Agreement; verdicts: Verdict[] } {
  const a = newAgreement();
  const model = new lib.KernelModel(profile, { trace: false });
  const env = lib.alignEnvFromProfile(profile);
  const base = profile.limits.openFds.value ?? [0, 1, 2];
  const bad: Verdict[] = [];
  for (let start = 0; start < rep.cases.length; start += batch) {
    model.setOpenFds(base);
    const kept: number[] = [];
    for (const r of rep.cases.slice(start, start + batch)) {
      const c: SocketCase = { domain: r.domain, type: r.type, protocol: r.protocol };
      const p = model.predict(c, { keepFd: true });
      if (p.result.fd !== undefined) kept.push(p.result.fd);
      const v = lib.alignCase(p, observationFromRecord(r), env);
      if (v.kind !== 'MATCH') bad.push(v);
      count(a, v.kind, () => `${r.call}: ${diffText(v.diffs)}`);
    }
    model.closeFds(kept);
  }
  return { agreement: a, verdicts: bad };
}

export function loadGuestProfile(lib: ModelLib, text: string, where: string): HostProfile {
  return lib.parseProfile(JSON.parse(text), where);
}

/** How each address family fared in the guest: what socket() and modprobe made of it. */
export interface FamilyCoverage {
  family: number;
  /**
   * registered: in net_families[] when the profile was taken; autoloaded: a module that answers
   * net-pf-N was loaded by the end of the run; unaliased: the family's module is there but no
   * alias names it (Debian removes the aliases of rarely used, exploit-prone families so they
   * cannot be autoloaded); absent: no module at all; failed: modules answer net-pf-N but none
   * of them was loaded (modprobe or the module's init failed).
   */
  status: 'registered' | 'autoloaded' | 'unaliased' | 'absent' | 'failed';
  /** The family's own module (the model's family table) when its file is in modules.dep. */
  module?: string;
  /** Modules that answer net-pf-N in the guest's modules.alias, and those of them not loaded at the end. */
  modules: string[];
  notLoaded: string[];
  cases: number;
  created: number;
}

/** `loadedAfter`: /proc/modules names at the end of the guest's run. */
export function familyCoverage(lib: ModelLib, profile: HostProfile, rep: SweepReport, loadedAfter: string[]): FamilyCoverage[] {
  const registered = new Set(profile.net.families.value ?? []);
  const aliases = profile.modules.aliases.value ?? [];
  const loaded = new Set(loadedAfter);
  const byFamily = new Map<number, { cases: number; created: number }>();
  for (const r of rep.cases) {
    const f = byFamily.get(r.domain) ?? { cases: 0, created: 0 };
    f.cases++;
    if (r.observed.fd !== undefined && r.observed.fd >= 0) f.created++;
    byFamily.set(r.domain, f);
  }
  const out: FamilyCoverage[] = [];
  for (const [family, f] of [...byFamily].sort((x, y) => x[0] - y[0])) {
    const modules = lib.resolveAlias(`net-pf-${family}`, aliases);
    const notLoaded = modules.filter((m) => !loaded.has(m.replace(/-/g, '_')));
    const own = lib.familyImpl(family)?.module;
    const file = own !== undefined && Object.prototype.hasOwnProperty.call(profile.modules.deps.value ?? {}, own) ? own : undefined;
    const status: FamilyCoverage['status'] = registered.has(family) ? 'registered'
      : modules.length === 0 ? (file ? 'unaliased' : 'absent')
      : notLoaded.length < modules.length ? 'autoloaded' : 'failed';
    out.push({ family, status, module: file, modules, notLoaded, cases: f.cases, created: f.created });
  }
  return out;
}
