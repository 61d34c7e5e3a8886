/**
 * The kernel model's public face: predict what socket(domain, type, protocol) does on the
 * host a profile describes, with the reasons, step by step.
 *
 * A KernelModel is a simulated kernel and process: modules that a prediction's
 * request_module loads stay loaded for later predictions, and with keepFd the new fd stays
 * in the simulated fd table (a sweep is a sequence, as on the real machine).
 */
import { O_CLOEXEC, O_NONBLOCK, O_RDWR } from '../abi/constants';
import { type Abi, abiForMachine, fileFlagsOut, sockTypeOut } from '../abi/arch';
import type { HostProfile, Prediction, SocketCase, SocketFacts, SocketResult } from '../types';
import { Run } from './ctx';
import type { SockUnderConstruction } from './family';
import type { SocketOut } from './net/socket';
import { type Entry, ENTRY_SIGNALLED, nativeEntry, resolveEntry, syscallEntry } from './entry';
import { parseReg, type SeccompVerdict } from './kernel/seccomp';
import { KernelState } from './state';

/** At most this many runs per prediction when facts are unknown. */
const MAX_BRANCH_RUNS = 64;

function checkInt32(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
    throw new RangeError(`bad ${name} ${String(v)}: socket() takes a 32-bit signed integer`);
  }
  return v;
}

function validateCase(c: SocketCase): void {
  if (c === null || typeof c !== 'object') throw new TypeError(`bad socket case ${String(c)}: expected {domain, type, protocol}`);
  checkInt32('domain', c.domain);
  checkInt32('type', c.type);
  checkInt32('protocol', c.protocol);
  if (c.raw !== undefined) {
    if (!Array.isArray(c.raw) || c.raw.length !== 3) throw new TypeError('bad raw registers: expected three 64-bit values [domain, type, protocol]');
    const names = ['domain', 'type', 'protocol'] as const;
    c.raw.forEach((v, i) => {
      const [lo] = parseReg(String(v));
      if ((lo | 0) !== c[names[i]]) throw new RangeError(`bad raw ${names[i]} ${v}: its low 32 bits are ${lo | 0}, but ${names[i]} is ${c[names[i]]}`);
    });
  }
}

function sameResult(a: SocketResult, b: SocketResult): boolean {
  if (a.signal !== undefined || b.signal !== undefined) return a.signal === b.signal && a.fatal === b.fatal;
  return a.fd === b.fd && a.errno === b.errno;
}

export interface KernelModelOptions {
  /** Record the trace (default true). Without it predictions are much faster; deciding = -1, trace []. */
  trace?: boolean;
  /**
   * The caller's ABI and route to __sys_socket (lib/kernel/entry.ts). Default: socket(2) of the
   * profile's machine (kernel.machine; x86_64 when unknown). Cases and results are in the
   * caller's ABI's numbers (a mips SOCK_STREAM is 2, its EAFNOSUPPORT 124).
   */
  entry?: Entry;
}

export class KernelModel {
  private readonly state: KernelState;
  private readonly run: Run;
  private readonly out: SocketOut;
  private readonly sock: SockUnderConstruction;
  private readonly entry: Entry;
  /** The kernel's ABI (the profile's machine). */
  readonly kernelAbi: Abi;
  private readonly sv: SeccompVerdict = { signal: 0, fatal: false, notRun: false, decision: null };

  constructor(profile: HostProfile, options: KernelModelOptions = {}) {
    this.state = new KernelState(profile);
    this.kernelAbi = abiForMachine(profile.kernel.machine.value);
    this.entry = options.entry ?? nativeEntry(this.kernelAbi);
    const cfg = profile.kernel.config.value;
    const fns = resolveEntry(this.entry, this.kernelAbi, cfg ? cfg.CONFIG_IA32_EMULATION ?? 'n' : null);
    this.run = new Run(this.state, options.trace !== false);
    this.run.kernelAbi = this.kernelAbi;
    this.run.entryFns = fns;
    this.sock = { family: 0, type: 0 };
    this.out = { sock: this.sock, flags: 0, regs: null, seccomp: this.sv };
  }

  /** One path run under the run's current choices: fd or -errno (ENTRY_SIGNALLED: see this.sv). */
  private once(c: SocketCase, choices: number[]): number {
    this.run.reset(choices);
    this.out.flags = 0;
    this.out.regs = c.raw === undefined ? null : c.raw.map((v) => parseReg(String(v)));
    this.sv.signal = 0;
    this.sv.notRun = false;
    return syscallEntry(this.run, this.entry, c.domain, c.type, c.protocol, this.out);
  }

  private resultOf(ret: number): SocketResult {
    if (ret === ENTRY_SIGNALLED) return { signal: this.sv.signal, fatal: this.sv.fatal };
    return ret >= 0 ? { fd: ret } : { errno: -ret };
  }

  /** A new socket exists (not a signal, not ERRNO(0)'s 0 without a call). */
  private created(ret: number): boolean {
    return ret >= 0 && !this.sv.notRun;
  }

  private facts(fd: number): SocketFacts {
    const sk = this.sock.sk;
    if (!sk) throw new Error('model bug: success without sock.sk');
    const flags = this.out.flags;
    const cloexec = (flags & O_CLOEXEC) !== 0;
    const nonblock = (flags & O_NONBLOCK) !== 0;
    const abi = this.entry.abi;
    return {
      fd,
      cloexec,
      nonblock,
      soDomain: sk.family,
      // The caller's numbering: sock_getsockopt(SO_TYPE) copies sk->sk_type, which the kernel
      // holds in its own numbering (the same as the caller's: a compat caller is i386 on x86_64).
      soType: sockTypeOut(abi, sk.type),
      soProtocol: sk.protocol,
      protoName: sk.protoName,
      procNet: sk.procNet,
      fdinfoFlags: fileFlagsOut(abi, O_RDWR | (nonblock ? O_NONBLOCK : 0) | (cloexec ? O_CLOEXEC : 0)),
      protocolsDelta: sk.protocolsDelta,
      sockstatUsedDelta: sk.sockstatUsedDelta,
    };
  }

  /**
   * Predict one socket() call. Mutates the simulated kernel: modules loaded by request_module
   * stay loaded; with keepFd a new fd stays open in the simulated fd table.
   */
  predict(c: SocketCase, opts: { keepFd?: boolean } = {}): Prediction {
    validateCase(c);
    return this.finish(c, this.once(c, []), opts.keepFd === true);
  }

  /**
   * predict(c, { keepFd }) for a sweep, from the same single run: when the result is plain - an
   * errno, reached on the one path the facts allow, with no seccomp action to report and the
   * trace off - only the errno comes back, and no Prediction is made (plainPrediction(c, errno)
   * is the one predict would have returned); any other result comes back as predict's Prediction.
   * The simulated kernel changes exactly as with predict.
   */
  predictLean(c: SocketCase, keepFd: boolean): number | Prediction {
    validateCase(c);
    const run = this.run;
    const ret = this.once(c, []);
    if (ret < 0 && ret !== ENTRY_SIGNALLED && !run.tracing && c.raw === undefined && run.counts.length === 0 &&
        run.missing.length === 0 && !this.sv.notRun && (this.state.seccomp === null || this.state.seccomp.unreadable === null)) {
      if (run.runLoaded.length !== 0) this.state.commitLoaded(run.runLoaded.slice(0));
      return -ret;
    }
    return this.finish(c, ret, keepFd);
  }

  /** The rest of predict after the first run of the case (ret: its result). */
  private finish(c: SocketCase, ret: number, keepFd: boolean): Prediction {
    const run = this.run;
    const result: SocketResult = this.resultOf(ret);
    const pred: Prediction = {
      case: c.raw === undefined ? { domain: c.domain, type: c.type, protocol: c.protocol } : { domain: c.domain, type: c.type, protocol: c.protocol, raw: [c.raw[0], c.raw[1], c.raw[2]] },
      result,
      trace: run.tracing ? run.trace : [],
      deciding: run.tracing ? run.deciding : -1,
    };
    const createdFirst = this.created(ret);
    if (createdFirst) pred.facts = this.facts(ret);
    if (run.tracing && this.sv.decision) pred.seccomp = { ...this.sv.decision };
    else if (this.sv.notRun) pred.seccomp = { action: 'ERRNO(0)', ret: 0x50000, filter: null, rule: '', ran: false };
    const firstLoaded = run.runLoaded.slice(0);

    if (run.counts.length > 0 || run.missing.length > 0) {
      const possible: SocketResult[] = [result];
      const missing: string[] = [...run.missing];
      let choices: number[] = [];
      let counts = run.counts.slice(0);
      for (let runs = 1; runs < MAX_BRANCH_RUNS; runs++) {
        // Next choice vector: odometer over the branch points of the previous run.
        let i = counts.length - 1;
        while (i >= 0 && (choices[i] ?? 0) + 1 >= counts[i]) i--;
        if (i < 0) break;
        choices = choices.slice(0, i + 1);
        choices[i] = (choices[i] ?? 0) + 1;
        const r = this.once(c, choices);
        const res: SocketResult = this.resultOf(r);
        if (!possible.some((p) => sameResult(p, res))) possible.push(res);
        for (const m of run.missing) if (!missing.includes(m)) missing.push(m);
        counts = run.counts.slice(0);
      }
      pred.possible = possible;
      pred.missing = missing;
      // The branch runs overwrote the run's scratch state: run the first branch again so
      // the trace, facts and loaded modules are those of `result`.
      const again = this.once(c, []);
      if (run.tracing) {
        pred.trace = run.trace;
        pred.deciding = run.deciding;
      }
      if (this.created(again)) pred.facts = this.facts(again);
      if (run.tracing && this.sv.decision) pred.seccomp = { ...this.sv.decision };
    }
    const sc = this.state.seccomp;
    if (sc !== null && sc.unreadable !== null) {
      // Filters the model cannot run: every result is possible, and says so; never a guess.
      pred.unknownFilters = sc.unreadable;
      const possible = pred.possible ?? [result];
      for (const r of [{ signal: 31, fatal: false }, { signal: 31, fatal: true }, { fd: 0 }] as SocketResult[]) {
        if (!possible.some((p) => sameResult(p, r))) possible.push(r);
      }
      pred.possible = possible;
      pred.missing = [...(pred.missing ?? []), 'seccomp filter programs'];
    }
    this.state.commitLoaded(firstLoaded);
    if (keepFd && createdFirst) this.state.fds.install(ret);
    return pred;
  }

  /** The caller's ABI and route. */
  get entryPoint(): Entry {
    return this.entry;
  }

  /** The open fds of the simulated process, ascending. */
  openFds(): number[] {
    return this.state.fds.list();
  }

  setOpenFds(fds: number[]): void {
    if (!Array.isArray(fds)) throw new TypeError(`bad fd list ${String(fds)}: expected an array of fds`);
    for (const fd of fds) checkInt32('fd', fd);
    if (fds.some((fd) => fd < 0)) throw new RangeError(`bad fd list [${fds.join(',')}]: fds are >= 0`);
    this.state.fds.set(fds);
  }

  closeFds(fds: number[]): void {
    if (!Array.isArray(fds)) throw new TypeError(`bad fd list ${String(fds)}: expected an array of fds`);
    for (const fd of fds) this.state.fds.close(checkInt32('fd', fd));
  }

  /**
   * Make the simulated kernel's loaded modules exactly `names`, e.g. to re-run one case, traced,
   * in the state another model had reached (the sweep's example traces).
   */
  setLoadedModules(names: readonly string[]): void {
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) throw new TypeError('bad module list: expected an array of module names');
    this.state.setLoaded(names);
  }

  /** Modules loaded in the simulated kernel (profile-time plus loaded by predictions). */
  loadedModules(): string[] {
    return [...this.state.loaded].sort();
  }
}

/** The Prediction predict() makes for a plain errno result with the trace off (see predictLean). */
export function plainPrediction(c: SocketCase, errno: number): Prediction {
  return { case: { domain: c.domain, type: c.type, protocol: c.protocol }, result: { errno }, trace: [], deciding: -1 };
}

/** A fresh model, one case. */
export function predictSocket(profile: HostProfile, c: SocketCase): Prediction {
  return new KernelModel(profile).predict(c);
}

export { Run } from './ctx';
export { KernelState } from './state';
