/**
 * One run of the modelled path: the CreateCtx every modelled function reads host facts
 * through, and the trace it writes.
 *
 * Unknown facts make the model branch, not guess: a lookup of an unknown fact takes the
 * option the current choice vector names (the first, on the first run) and records how many
 * options there were; the driver (index.ts) re-runs the path for every combination
 * (bounded) and collects the possible results and the missing facts.
 *
 * With tracing off nothing is formatted and nothing is appended; the checks and results are
 * the same.
 */
import type { FactUse, Step } from '../types';
import { ABIS, type Abi } from '../abi/arch';
import type { CreateCtx } from './family';
import { normalizeModule } from './kernel/kmod';
import { compareRelease } from './release';
import type { KernelState } from './state';

/** Capability names for trace text. */
const CAP_NAMES: Record<number, string> = {
  0: 'CAP_CHOWN', 1: 'CAP_DAC_OVERRIDE', 10: 'CAP_NET_BIND_SERVICE', 11: 'CAP_NET_BROADCAST',
  12: 'CAP_NET_ADMIN', 13: 'CAP_NET_RAW', 16: 'CAP_SYS_MODULE', 21: 'CAP_SYS_ADMIN', 24: 'CAP_SYS_RESOURCE',
};
export function capName(cap: number): string {
  return CAP_NAMES[cap] ?? `cap ${cap}`;
}

/** Branch depth bound: deeper unknowns take their first option. */
const MAX_DEPTH = 12;

export class Run implements CreateCtx {
  readonly tracing: boolean;
  readonly state: KernelState;
  trace: Step[] = [];
  /** Index of the deciding step (tracing only). */
  deciding = -1;

  /** Branching: the options to take at each unknown, and how many each had. */
  choices: number[] = [];
  counts: number[] = [];
  private pos = 0;
  missing: string[] = [];

  /** Modules loaded during this run (committed by the driver). */
  runLoaded: string[] = [];
  /** Aliases that a module answered during this run while modules.alias was unknown. */
  guessedAliases: string[] = [];

  /**
   * The kernel's ABI (the profile's machine): what its own numbers look like where the model
   * prints one the kernel formats, e.g. the SOCK_* in request_module("net-pf-2-proto-132-type-T").
   */
  kernelAbi: Abi = ABIS.x86_64;
  /** The entry's kernel function names (lib/kernel/entry.ts resolveEntry). */
  entryFns: { socketFn: string; socketcallFn: string | null; compat: boolean } = { socketFn: '__x64_sys_socket', socketcallFn: null, compat: false };

  constructor(state: KernelState, tracing: boolean) {
    this.state = state;
    this.tracing = tracing;
  }

  reset(choices: number[]): void {
    if (this.tracing) this.trace = [];
    this.deciding = -1;
    this.choices = choices;
    // Setting an array's length goes through a V8 accessor even when it is already 0, and a
    // sweep resets a run for each of its 192,000 predictions: truncate only what grew.
    if (this.counts.length !== 0) this.counts.length = 0;
    this.pos = 0;
    if (this.missing.length !== 0) this.missing.length = 0;
    if (this.runLoaded.length !== 0) this.runLoaded.length = 0;
    if (this.guessedAliases.length !== 0) this.guessedAliases.length = 0;
  }

  // -------------------------------------------------------------------------
  // trace

  step(s: Step): void {
    if (this.tracing) this.trace.push(s);
  }

  fail(fn: string, what: string, errno: number, fact?: FactUse): number {
    if (this.tracing) {
      const s: Step = { fn, what, outcome: 'fail', errno };
      if (fact) s.fact = fact;
      this.trace.push(s);
      this.deciding = this.trace.length - 1;
    }
    return -errno;
  }

  /** Mark the last step as the deciding one (the final success). */
  decide(): void {
    if (this.tracing) this.deciding = this.trace.length - 1;
  }

  /** A FactUse for a named host fact (tracing only; callers guard with `tracing`). */
  use(name: string, shown?: string): FactUse {
    const f = this.state.lookup(name);
    return {
      name,
      value: shown ?? (f ? f.shown : 'unknown'),
      source: f ? f.source : this.state.sourceOf(name),
    };
  }

  // -------------------------------------------------------------------------
  // branching

  /** How many unknown facts this run has branched on so far (caches use it to tell). */
  get branchPos(): number {
    return this.pos;
  }

  /** Take one of `n` options for an unknown fact `name`; returns the option index. */
  choose(name: string, n: number): number {
    const i = this.pos++;
    if (!this.missing.includes(name)) this.missing.push(name);
    if (i >= MAX_DEPTH) return 0;
    this.counts[i] = n;
    const c = this.choices[i];
    return c === undefined ? 0 : c;
  }

  fact<T>(name: string, options?: T[]): { value: T; use: FactUse } {
    const f = this.state.lookup(name);
    if (f) {
      return { value: f.value as T, use: { name, value: f.shown, source: f.source } };
    }
    if (f === undefined && !name.startsWith('CONFIG_')) {
      throw new RangeError(`the model has no host fact named "${name}"`);
    }
    if (!options || options.length === 0) {
      throw new RangeError(`host fact "${name}" is unknown and the caller gave no options to branch on`);
    }
    const v = options[this.choose(name, options.length)];
    return {
      value: v,
      use: { name, value: `unknown (assumed ${Array.isArray(v) ? v.join(' ') : String(v)})`, source: this.state.sourceOf(name) },
    };
  }

  // -------------------------------------------------------------------------
  // capabilities (security/commoncap.c cap_capable)

  private capBit(cap: number): boolean {
    const st = this.state;
    if (!st.capKnown) return this.choose(`${capName(cap)} in CapEff`, 2) === 0;
    return cap < 32 ? ((st.capLo >>> cap) & 1) === 1 : ((st.capHi >>> (cap - 32)) & 1) === 1;
  }

  private bool(name: string): boolean {
    const f = this.state.lookup(name);
    if (f) return f.value as boolean;
    return this.choose(name, 2) === 0;
  }

  nsCapable(fn: string, cap: number): boolean {
    // cap_capable walks from the target namespace (the one owning the netns) up to the
    // caller's: if the caller's own user namespace owns the netns, or is an ancestor of its
    // owner (the initial one is everyone's ancestor), the caller's effective set decides.
    // A caller in a child user namespace with an older netns has no capability over it.
    let granted: boolean;
    let how: string;
    if (this.bool('net.netns_owned_by_caller_userns')) {
      granted = this.capBit(cap);
      how = 'netns owned by the caller\'s user namespace';
    } else if (this.bool('creds.userns_is_init')) {
      granted = this.capBit(cap);
      how = 'caller in the initial user namespace, an ancestor of the netns owner';
    } else {
      granted = false;
      how = 'netns owned by a user namespace the caller is not in (caller has no capabilities there)';
    }
    if (this.tracing) {
      this.trace.push({
        fn: 'ns_capable',
        what: `${fn}: ns_capable(net->user_ns, ${capName(cap)}) -> ${granted ? 'granted' : 'denied'} (${how})`,
        outcome: granted ? 'pass' : 'fail',
        fact: this.use('creds.cap_effective'),
        cap: { cap, granted, userns: 'netns-owner' },
      });
    }
    return granted;
  }

  capableQuiet(fn: string, cap: number, why: string): boolean {
    const init = this.bool('creds.userns_is_init');
    const granted = init && this.capBit(cap);
    if (this.tracing) {
      this.trace.push({
        fn: 'ns_capable_noaudit',
        what: `${fn}: ${why}: ns_capable_noaudit(&init_user_ns, ${capName(cap)}) -> ${granted ? 'granted' : 'denied'} (does not decide the result)`,
        outcome: 'info',
        fact: this.use('creds.cap_effective'),
        cap: { cap, granted, userns: 'init' },
      });
    }
    return granted;
  }

  capable(fn: string, cap: number): boolean {
    const init = this.bool('creds.userns_is_init');
    const granted = init && this.capBit(cap);
    if (this.tracing) {
      this.trace.push({
        fn: 'capable',
        what: `${fn}: capable(${capName(cap)}) in the initial user namespace -> ${granted ? 'granted' : 'denied'}${init ? '' : ' (caller not in the initial user namespace)'}`,
        outcome: granted ? 'pass' : 'fail',
        fact: this.use('creds.cap_effective'),
        cap: { cap, granted, userns: 'init' },
      });
    }
    return granted;
  }

  netIsInit(fn: string): boolean {
    const init = this.bool('net.netns_is_init');
    if (this.tracing) {
      this.trace.push({
        fn,
        what: `net_eq(net, &init_net) -> ${init}`,
        outcome: 'info',
        fact: this.use('net.netns_is_init'),
      });
    }
    return init;
  }

  // -------------------------------------------------------------------------
  // the kernel's build and release

  kernelAtLeast(version: string): boolean {
    const rel = this.state.release;
    if (!rel) return this.choose(`kernel.release >= ${version}`, 2) === 0;
    return compareRelease(rel, version) >= 0;
  }

  /** CONFIG_sym: its value, 'n' when unset, null when the config is unknown. */
  configValue(sym: string): string | null {
    const c = this.state.config;
    if (!c) return null;
    const v = c[sym];
    return v === undefined ? 'n' : v;
  }

  moduleLoaded(module: string): boolean {
    const m = normalizeModule(module);
    return this.state.loaded.has(m) || this.runLoaded.includes(m);
  }

  /** Whether a loaded module (or a guessed load) answers `alias`. */
  aliasSatisfied(alias: string): boolean {
    if (this.guessedAliases.includes(alias)) return true;
    const db = this.state.db;
    if (!db) return false;
    for (const m of this.runLoaded) if (db.provides(m, alias)) return true;
    const cache = this.state.aliasCache;
    let hit = cache.get(alias);
    if (hit === undefined) {
      hit = false;
      for (const m of this.state.loaded) {
        if (db.provides(m, alias)) {
          hit = true;
          break;
        }
      }
      cache.set(alias, hit);
    }
    return hit;
  }

  present(configSym: string, module?: string): boolean {
    const v = this.configValue(configSym);
    if (v === null) {
      if (module && this.state.loadedKnown && this.moduleLoaded(module)) return true;
      return this.choose(configSym, 2) === 0;
    }
    if (v === 'y') return true;
    if (v === 'm') return module !== undefined && this.moduleLoaded(module);
    return false;
  }

  presentAtProfile(configSym: string, module: string): boolean | null {
    const v = this.configValue(configSym);
    if (v === 'y') return true;
    if (v === 'n') return false;
    if (!this.state.loadedKnown) return null;
    if (this.state.loadedAtProfile.has(normalizeModule(module))) return true;
    return v === 'm' ? false : null;
  }

  /** Whether a proto of this name was registered at profile time (/proc/net/protocols). */
  protoListed(name: string): boolean | null {
    const f = this.state.lookup('net.protocols');
    if (!f) return null;
    return (f.value as string[]).includes(name);
  }

  // -------------------------------------------------------------------------
  // request_module (kernel/module/kmod.c) and modprobe

  requestModule(fn: string, alias: string): boolean {
    const st = this.state;
    let on = st.modulesOn;
    if (on === null) on = this.choose('CONFIG_MODULES', 2) === 0;
    if (!on) {
      if (this.tracing) {
        this.trace.push({
          fn,
          what: `request_module("${alias}"): CONFIG_MODULES is not set, nothing can load`,
          outcome: 'info',
          fact: { name: 'CONFIG_MODULES', value: st.modulesOn === null ? 'unknown' : 'not set', source: st.modulesSource },
          module: { request: alias, loaded: null },
        });
      }
      return false;
    }
    const why = this.modprobeBlocked();
    if (why) {
      if (this.tracing) {
        this.trace.push({ fn, what: `request_module("${alias}"): ${why}`, outcome: 'info', module: { request: alias, loaded: null } });
      }
      return false;
    }
    const db = st.db;
    if (!db) {
      const loads = this.choose(`modules.alias/modules.dep for "${alias}"`, 2) === 1;
      if (loads) this.guessedAliases.push(alias);
      if (this.tracing) {
        this.trace.push({
          fn,
          what: `request_module("${alias}"): modules.alias unknown, assumed ${loads ? 'a module loads' : 'nothing loads'}`,
          outcome: 'info',
          fact: this.use('modules.alias', 'unknown'),
          module: { request: alias, loaded: loads ? '?' : null },
        });
      }
      return loads;
    }
    const loadedNow: string[] = [];
    const notes: string[] = [];
    for (const m of db.match(alias)) {
      if (this.moduleLoaded(m)) {
        notes.push(`${m} already loaded`);
        continue;
      }
      const chain = db.closure(m);
      if (!chain) {
        notes.push(`${m}: no module file (not in modules.dep)`);
        continue;
      }
      const bad = chain.find((x) => st.failing.has(x));
      if (bad) {
        notes.push(`${m}: ${bad} fails to load`);
        continue;
      }
      for (const x of chain) {
        if (!this.moduleLoaded(x)) {
          this.runLoaded.push(x);
          loadedNow.push(x);
        }
      }
    }
    if (this.tracing) {
      const matched = loadedNow.length > 0 ? `loaded ${loadedNow.join(', ')}` : notes.length > 0 ? notes.join('; ') : 'no alias matches';
      this.trace.push({
        fn,
        what: `request_module("${alias}"): modprobe ${matched}`,
        outcome: 'info',
        fact: { name: 'modules.alias', value: alias, source: st.profile.modules.aliases.source },
        module: { request: alias, loaded: loadedNow.length > 0 ? loadedNow[loadedNow.length - 1] : null },
      });
    }
    return loadedNow.length > 0;
  }

  /** Why modprobe cannot load anything on this host, or null. */
  private modprobeBlocked(): string | null {
    const mp = this.state.lookup('kernel.modprobe');
    if (mp && mp.value === '') return 'kernel.modprobe is empty, usermode helper not run';
    if (mp === null && this.choose('kernel.modprobe', 2) === 1) return 'kernel.modprobe unknown, assumed empty';
    const dis = this.state.lookup('kernel.modules_disabled');
    if (dis && dis.value !== 0) return 'kernel.modules_disabled=1, init_module refuses';
    if (dis === null && this.choose('kernel.modules_disabled', 2) === 1) return 'kernel.modules_disabled unknown, assumed 1';
    return null;
  }
}
