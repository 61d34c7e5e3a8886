/**
 * An emulator under test: the static probe for the emulated ABI runs inside the emulator, the
 * model predicts with this host's live profile and that ABI, and every case where the two part
 * is the emulator's DEPARTURE from Linux - provided the model is right for those numbers, which
 * a control checks in the same run where it can: the same cases through this host's own kernel
 * with the x86-64 probe (possible when the emulated ABI uses the generic numbers: aarch64, i386).
 * A case where the control disagrees with the model is the model's MISMATCH, never counted
 * against the emulator.
 *
 * Departures are grouped into classes by the model's deciding step (its check with the numbers
 * taken out), what Linux gives and what the emulator gives, and the fields that differ.
 */
import * as path from 'path';
import type { Abi, AbiName, EntryRoute } from '../abi/arch';
import { ABIS, typeIn } from '../abi/arch';
import { errnoName } from '../abi/names';
import type { Entry } from '../kernel/entry';
import { alignCase, alignEnvFromProfile } from '../bridge/align';
import { KernelModel } from '../kernel';
import type { HostProfile, Observation, Prediction, SocketCase, Step, Verdict } from '../types';
import { buildProbe, PACKAGE_ROOT } from '../static-probe/build';
import { startProbe, type ProbeRun, type StartedProbe } from '../static-probe/run';
import type { FoundEmulator } from './emulators';
import { findAbiProof, type AbiProof } from './proof';

export interface DepartureClass {
  /** 1-based, by count (largest first). */
  id: number;
  /** The model's step the class is about. */
  fn: string;
  /** Its check, numbers replaced by N (so one class spans many cases). */
  what: string;
  /** What Linux gives (the model): an errno name or "a new socket". */
  linux: string;
  /** What the emulator gave. */
  emulator: string;
  /** Fields that differ when both made a socket (SO_TYPE, fdinfo.flags, ...); [] when the result differs. */
  fields: string[];
  count: number;
  /** Cases per family (domain). */
  domains: Record<number, number>;
  /** The first cases (at most 5), in sweep order. */
  examples: SocketCase[];
  /** Commands that show the departure with the first example. */
  reproduce: { emulator: string; native: string | null; sockbridge: string };
}

export interface EmulatedTotals {
  total: number;
  MATCH: number;
  DEPARTURE: number;
  MISMATCH: number;
  UNSUPPORTED: number;
  EXPLAINED: number;
}

export interface ControlResult {
  ran: boolean;
  /** Why it did not run, or what it was. */
  detail: string;
  cases: number;
  /** Cases where the model and this host's kernel disagree natively (model MISMATCH). */
  mismatches: number;
}

export interface EmulatedOutcome {
  emulator: string;
  emulatorPath: string;
  emulatorVersion: string;
  abi: AbiName;
  route: EntryRoute;
  probe: string;
  totals: EmulatedTotals;
  classes: DepartureClass[];
  control: ControlResult;
  proof: AbiProof;
  /** Kernel release the emulator forwarded to. */
  hostRelease: string;
  seconds: number;
}

export interface EmulatedSweepOptions {
  emulator: FoundEmulator;
  route: EntryRoute;
  profile: HostProfile;
  batch?: number;
  closeThreads?: number;
  /** Run the native control where possible (default true). */
  control?: boolean;
  /** Every case's verdict, in order, with its departure class key (or null). */
  onVerdict?: (v: Verdict, index: number, classKey: string | null) => void;
  /** Called with each probe process started, so a signal handler can stop it. */
  onStart?: (p: StartedProbe) => void;
}

/** Numbers out of a check's text: "type 65 (0x41) has bits" -> "type N (N) has bits". */
export function normalizeWhat(what: string): string {
  return what.replace(/0x[0-9a-f]+|0o[0-7]+|\d+/gi, 'N');
}

/**
 * The step a departure is about. For a failure, the failing check. For a success, the family's
 * own acceptance (the first check its create function passed), which says more than fd_install.
 */
export function classStep(p: Prediction): Step | undefined {
  if (p.deciding < 0) return undefined;
  const d = p.trace[p.deciding];
  if (p.result.errno !== undefined) return d;
  const calling = p.trace.findIndex((s) => s.fn === '__sock_create' && /calling /.test(s.what));
  if (calling >= 0) {
    for (let i = calling + 1; i < p.trace.length; i++) {
      const s = p.trace[i];
      if (s.outcome === 'pass' && s.fn !== '__sock_create') return s;
    }
  }
  return d;
}

function resultWord(r: { errno?: number; fd?: number } | Observation, abi?: Abi): string {
  const errno = 'case' in r ? (r.errno === 0 ? undefined : r.errno) : r.errno;
  return errno === undefined ? 'a new socket' : errnoName(errno, abi);
}

/** Which kernel step sets a compared field the same way for every family (the rest are the family's). */
const FIELD_SETTER: Record<string, string | undefined> = {
  fd: 'get_unused_fd_flags', cloexec: 'get_unused_fd_flags',
  nonblock: 'sock_alloc_file', 'fdinfo.flags': 'sock_alloc_file', sockprotoname: 'sock_alloc_file',
  link: 'sock_alloc', 'inode.mode': 'sock_alloc', 'inode.uid': 'sock_alloc', 'inode.gid': 'sock_alloc',
};

/** The class key of a departure verdict (with a traced prediction); errno names in the emulated ABI's numbering. */
export function classKey(v: Verdict, abi?: Abi): { key: string; fn: string; what: string; linux: string; emulator: string; fields: string[] } {
  const linux = resultWord(v.prediction.result, abi);
  const emulator = resultWord(v.observation, abi);
  const fields = v.diffs.some((d) => d.field === 'result') ? [] : v.diffs.map((d) => d.field);
  // Both made a socket and only some of its facts differ: the class is the kernel step that
  // sets those facts (fdinfo flags are sock_alloc_file's for every family), not the family.
  const setters = new Set(fields.map((f) => FIELD_SETTER[f]));
  if (fields.length && setters.size === 1 && !setters.has(undefined)) {
    const fn = [...setters][0] as string;
    return { key: [fn, fields.join(','), linux, emulator].join('\u0000'), fn, what: `sets ${fields.join(', ')}`, linux, emulator, fields };
  }
  const s = classStep(v.prediction);
  const fn = s?.fn ?? '(no trace)';
  const what = s ? normalizeWhat(s.what) : '';
  return { key: [fn, what, linux, emulator, fields.join(',')].join('\u0000'), fn, what, linux, emulator, fields };
}

function rel(p: string): string {
  const r = path.relative(process.cwd(), p);
  return r.startsWith('..') ? p : r;
}

/**
 * Predict a probe run batch by batch, each batch from the fd table the probe reported for it,
 * and line every case up. The model's fd table follows the process's real one: when a case
 * made a socket the model did not predict (or the reverse), the next case starts from the fds
 * really open, so one departure is one case and does not shift every later fd of the batch.
 */
function alignRun(run: ProbeRun, model: KernelModel, profile: HostProfile, each: (v: Verdict, i: number) => void, abi?: Abi): void {
  const env = alignEnvFromProfile(profile);
  if (abi) env.abi = abi;
  let i = 0;
  for (const b of run.batches) {
    const open = new Set(b.openFds);
    model.setOpenFds(b.openFds);
    for (const o of b.observations) {
      const p = model.predict(o.case, { keepFd: true });
      const fd = o.errno === 0 ? o.fd : undefined;
      if (fd !== undefined) open.add(fd);
      if (p.result.fd !== fd) model.setOpenFds([...open]);
      each(alignCase(p, o, env), i++);
    }
  }
}

/**
 * The model for an emulated ABI: Linux for that ABI on this host's facts. An emulated arm64 or
 * MIPS process is predicted as a native caller of a kernel of that architecture with this host's
 * profile (config, families, modules, creds, limits); an emulated i386 process as what it would
 * be on this host, a 32-bit caller of the x86-64 kernel's compat entry.
 */
export function emulatedModelSetup(profile: HostProfile, abi: AbiName, route: EntryRoute): { profile: HostProfile; entry: Entry } {
  const a = ABIS[abi];
  const hostMachine = profile.kernel.machine.value;
  if (abi === 'i386' && (hostMachine === 'x86_64' || hostMachine === null)) return { profile, entry: { abi: a, route } };
  if (a.machines.includes(hostMachine ?? '')) return { profile, entry: { abi: a, route } };
  const p: HostProfile = {
    ...profile,
    kernel: {
      ...profile.kernel,
      machine: { value: a.machines[0], source: `the emulated ABI (${abi}): Linux for ${abi} with this host's facts; the host itself is ${hostMachine ?? 'unknown'} (${profile.kernel.machine.source})` },
    },
  };
  return { profile: p, entry: { abi: a, route } };
}

/** Run `cases` (the emulated ABI's raw numbers) under the emulator; classify every departure. */
export async function runEmulated(cases: readonly SocketCase[], opts: EmulatedSweepOptions): Promise<EmulatedOutcome> {
  const started = Date.now();
  const spec = opts.emulator.spec;
  const abi = spec.abi;
  const probe = buildProbe(abi);
  const launcher = [opts.emulator.path];
  const started1 = startProbe(probe.path, cases, { launcher, route: opts.route, batch: opts.batch, closeThreads: opts.closeThreads });
  opts.onStart?.(started1);
  const run = await started1.done;

  // The control: the same calls through this kernel natively (the type argument in this
  // kernel's numbering), against the model for this kernel.
  const control: ControlResult = { ran: false, detail: '', cases: 0, mismatches: 0 };
  const controlBad = new Set<number>();
  const a = ABIS[abi];
  const hostAbi = opts.profile.kernel.machine.value;
  const why = opts.control === false ? 'not asked (--no-control)'
    : hostAbi !== 'x86_64' ? `the control needs an x86-64 host (this one is ${hostAbi ?? 'unknown'})` : null;
  let nativeProbe: string | null = null;
  const nativeCases = a.generic ? cases : cases.map((c) => ({ domain: c.domain, type: typeIn(a, c.type), protocol: c.protocol }));
  if (why === null) {
    nativeProbe = buildProbe('x86_64').path;
    const started2 = startProbe(nativeProbe, nativeCases, { batch: opts.batch, closeThreads: opts.closeThreads });
    opts.onStart?.(started2);
    const nat = await started2.done;
    const m = new KernelModel(opts.profile, { trace: false });
    alignRun(nat, m, opts.profile, (v, i) => {
      if (v.kind === 'MISMATCH') controlBad.add(i);
    });
    control.ran = true;
    control.cases = cases.length;
    control.mismatches = controlBad.size;
    control.detail = `the same ${cases.length} calls through this host's kernel natively (x86-64 probe ${rel(nativeProbe)}${a.generic ? '' : `, the type argument renumbered from ${abi}'s`}), against the model for this kernel: ${controlBad.size === 0 ? 'every case agrees' : `${controlBad.size} cases disagree (the model's MISMATCH, not counted against the emulator)`}`;
  } else {
    control.detail = why;
  }

  const totals: EmulatedTotals = { total: 0, MATCH: 0, DEPARTURE: 0, MISMATCH: 0, UNSUPPORTED: 0, EXPLAINED: 0 };
  const classes = new Map<string, DepartureClass>();
  const setup = emulatedModelSetup(opts.profile, abi, opts.route);
  const model = new KernelModel(setup.profile, { trace: true, entry: setup.entry });
  const routeArg = opts.route !== 'socket' ? ` --route ${opts.route}` : '';
  alignRun(run, model, opts.profile, (v, i) => {
    let key: string | null = null;
    // align calls a divergence EXPLAINED when a named policy of this host (its LSM evidence)
    // could have refused the call. When the control made the same call on this kernel
    // and got the model's answer, the policy did not refuse it: the divergence is the emulator's.
    const policyOnly = v.kind === 'EXPLAINED' && control.ran && !controlBad.has(i);
    if (v.kind === 'MISMATCH' || policyOnly) {
      if (controlBad.has(i)) {
        v.reason = 'the model disagrees with this host\'s kernel for the same call natively (control): the model\'s mismatch, not the emulator\'s';
      } else {
        v.kind = 'DEPARTURE';
        v.reason = `${spec.name} answered differently from Linux (the model${control.ran ? ', which this host\'s kernel confirmed for the same call' : ''})`;
        const k = classKey(v, a);
        key = k.key;
        let cls = classes.get(k.key);
        if (!cls) {
          const c = v.case;
          const args = `${c.domain} ${c.type} ${c.protocol}`;
          const nativeArgs = `${c.domain} ${typeIn(a, c.type)} ${c.protocol}`;
          cls = {
            id: 0, fn: k.fn, what: k.what, linux: k.linux, emulator: k.emulator, fields: k.fields, count: 0, domains: {}, examples: [],
            reproduce: {
              emulator: `${path.basename(opts.emulator.path)} ${rel(probe.path)}${routeArg} ${args}`,
              native: nativeProbe ? `${rel(nativeProbe)} ${nativeArgs}` : null,
              sockbridge: `npx sockbridge compare ${args} --emulator ${spec.name}${routeArg}`,
            },
          };
          classes.set(k.key, cls);
        }
        cls.count++;
        cls.domains[v.case.domain] = (cls.domains[v.case.domain] ?? 0) + 1;
        if (cls.examples.length < 5) cls.examples.push(v.case);
      }
    }
    totals.total++;
    totals[v.kind]++;
    opts.onVerdict?.(v, i, key);
  }, a);
  const sorted = [...classes.values()].sort((a, b) => b.count - a.count);
  sorted.forEach((c, i) => { c.id = i + 1; });
  return {
    emulator: spec.name, emulatorPath: opts.emulator.path, emulatorVersion: opts.emulator.version,
    abi, route: opts.route, probe: probe.path, totals, classes: sorted, control,
    proof: findAbiProof(abi, { control }),
    hostRelease: run.header.release,
    seconds: (Date.now() - started) / 1000,
  };
}
