/**
 * The simulated kernel and process: everything the model knows, read once from a HostProfile
 * into the shapes the hot path wants, plus what changes as predictions run (modules that
 * request_module loaded, the fd table).
 */
import type { Fact, HostProfile } from '../types';
import { FdTable } from './fs/file';
import { ModuleDb, normalizeModule } from './kernel/kmod';
import { afMax, ipprotoMax, parseRelease } from './release';
import { type SeccompState, seccompStateFrom } from './kernel/seccomp';
import { pingThroughUserns, type PingThroughUserns } from './userns';

export interface KnownFact {
  value: unknown;
  /** As a person reads it ("1 0", "y"). */
  shown: string;
  source: string;
}

function show(v: unknown): string {
  if (Array.isArray(v)) return v.join(' ');
  return String(v);
}

function validateProfile(p: HostProfile): void {
  if (p === null || typeof p !== 'object') {
    throw new TypeError(`bad host profile: expected an object with schema 1, got ${String(p)}`);
  }
  if ((p as { schema?: unknown }).schema !== 1) {
    throw new RangeError(
      `bad host profile schema ${String((p as { schema?: unknown }).schema)}: this model reads schema 1`,
    );
  }
  for (const k of ['kernel', 'modules', 'net', 'creds', 'limits', 'security'] as const) {
    if (typeof p[k] !== 'object' || p[k] === null) {
      throw new TypeError(`bad host profile: section "${k}" is missing; a schema-1 profile has kernel, modules, net, creds, limits, security`);
    }
  }
}

export class KernelState {
  readonly profile: HostProfile;
  readonly release: [number, number, number] | null;
  readonly afMax: number | null;
  readonly ipprotoMax: number | null;
  readonly config: Record<string, string> | null;
  readonly configSource: string;
  /** CONFIG_MODULES: true / false / null (unknown). */
  readonly modulesOn: boolean | null;
  readonly modulesSource: string;

  /** CapEff as two 32-bit halves; capKnown false when unreadable. */
  readonly capKnown: boolean;
  readonly capLo: number;
  readonly capHi: number;

  /** Modules loaded: at profile time plus every load committed by a prediction. */
  readonly loaded = new Set<string>();
  /** Modules loaded when the profile was taken (a module's own init-time state starts there). */
  readonly loadedAtProfile = new Set<string>();
  readonly loadedKnown: boolean;
  readonly db: ModuleDb | null;
  readonly failing: Set<string>;

  /** The seccomp filters the syscall entry runs (null: none). */
  readonly seccomp: SeccompState | null;
  /** ping_init_sock's inputs when some were hidden by the user namespace (null: none were). */
  readonly pingUserns: PingThroughUserns | null;

  readonly fds: FdTable;
  readonly fdsKnown: boolean;
  readonly nofileSoft: number | null;
  readonly nrOpen: number;

  /** Bumped whenever the set of loaded modules changes (caches key on it). */
  generation = 0;
  /** net_families[] registration per family, when it needs no unknown fact: -1 not computed, 0/1. */
  readonly famCache = new Int8Array(64).fill(-1);
  /** Whether a module in `loaded` answers an alias (cleared when `loaded` changes). */
  readonly aliasCache = new Map<string, boolean>();

  private readonly facts = new Map<string, KnownFact | null>();
  private readonly factSources = new Map<string, string>();

  constructor(profile: HostProfile) {
    validateProfile(profile);
    this.profile = profile;
    const k = profile.kernel;
    this.release = k.release.value === null ? null : parseRelease(k.release.value);
    this.afMax = this.release ? afMax(this.release) : null;
    this.ipprotoMax = this.release ? ipprotoMax(this.release) : null;
    this.config = k.config.value;
    this.configSource = k.config.source;

    const m = profile.modules;
    if (this.config) {
      this.modulesOn = this.config.CONFIG_MODULES === 'y';
      this.modulesSource = this.configSource;
    } else if (m.modprobe.value !== null) {
      // /proc/sys/kernel/modprobe exists only in kernels built with CONFIG_MODULES.
      this.modulesOn = true;
      this.modulesSource = m.modprobe.source;
    } else {
      this.modulesOn = null;
      this.modulesSource = m.modprobe.source;
    }

    const cap = profile.creds.capEffective.value;
    if (cap !== null && /^[0-9a-fA-F]{1,16}$/.test(cap)) {
      const padded = cap.padStart(16, '0');
      this.capKnown = true;
      this.capHi = parseInt(padded.slice(0, 8), 16) >>> 0;
      this.capLo = parseInt(padded.slice(8), 16) >>> 0;
    } else {
      if (cap !== null) {
        throw new RangeError(`bad creds.capEffective "${cap}": expected up to 16 hex digits like "000001ffffffffff"`);
      }
      this.capKnown = false;
      this.capHi = 0;
      this.capLo = 0;
    }

    this.loadedKnown = m.loaded.value !== null;
    for (const name of m.loaded.value ?? []) this.loaded.add(normalizeModule(name));
    for (const name of this.loaded) this.loadedAtProfile.add(name);
    this.db = m.aliases.value !== null && m.deps.value !== null ? new ModuleDb(m.aliases.value, m.deps.value) : null;
    this.failing = new Set((m.failing?.value ?? []).map(normalizeModule));

    const l = profile.limits;
    this.fdsKnown = l.openFds.value !== null;
    this.fds = new FdTable(l.openFds.value ?? [0, 1, 2]);
    const soft = l.nofileSoft.value;
    this.nofileSoft = soft === null ? null : soft;
    this.nrOpen = l.nrOpen.value === null ? -1 : l.nrOpen.value;

    this.pingUserns = pingThroughUserns(profile);

    const n = profile.net;
    const c = profile.creds;
    this.addFact('kernel.release', k.release);
    this.addFact('net.ipv4.ping_group_range', n.pingGroupRange);
    this.addFact('net.mptcp.enabled', n.mptcpEnabled);
    this.addFact('net.netns_is_init', n.netnsIsInit);
    this.addFact('net.netns_owned_by_caller_userns', n.netnsOwnedByCallerUserns);
    this.addFact('net.families', n.families);
    this.addFact('net.protocols', n.protocols);
    this.addFact('modules.loaded', m.loaded);
    // Switched at run time by bluetoothd through mgmt; no file shows it but the ISO row of
    // /proc/net/protocols (lib/kernel/net/bluetooth/af_bluetooth.ts isoInited).
    this.facts.set('bluetooth.iso_sockets', null);
    this.factSources.set('bluetooth.iso_sockets', 'mgmt ISO socket experimental feature (seen only as ISO in /proc/net/protocols, not read)');
    this.addFact('net.netlink', n.netlink);
    this.addFact('creds.egid', c.egid);
    this.addFact('creds.groups', c.groups);
    this.addFact('creds.userns_is_init', c.usernsIsInit);
    this.addFact('creds.cap_effective', c.capEffective);
    this.addFact('fs.file-max', l.fileMax);
    this.addFact('fs.nr_open', l.nrOpen);
    this.addFact('RLIMIT_NOFILE', l.nofileSoft);
    this.addFact('kernel.modprobe', m.modprobe);
    this.addFact('kernel.modules_disabled', m.modulesDisabled);
    this.addFact('security.lsms', profile.security.lsms);
    this.addFact('security.seccomp', profile.security.seccomp);
    this.seccomp = seccompStateFrom(profile);
  }

  private addFact<T>(name: string, f: Fact<T> | undefined): void {
    if (!f) {
      this.facts.set(name, null);
      this.factSources.set(name, 'absent from profile');
      return;
    }
    this.factSources.set(name, f.source);
    this.facts.set(name, f.value === null ? null : { value: f.value, shown: show(f.value), source: f.source });
  }

  /** A named host fact: the value, null when unknown, undefined when the model has no such fact. */
  lookup(name: string): KnownFact | null | undefined {
    if (name.startsWith('CONFIG_')) {
      if (!this.config) return null;
      const v = this.config[name];
      return { value: v === undefined ? 'n' : v, shown: v === undefined ? 'not set' : v, source: this.configSource };
    }
    return this.facts.get(name);
  }

  sourceOf(name: string): string {
    if (name.startsWith('CONFIG_')) return this.configSource;
    return this.factSources.get(name) ?? 'model';
  }

  /** Replace the set of loaded modules (re-running one case in the state another model reached). */
  setLoaded(mods: readonly string[]): void {
    this.loaded.clear();
    for (const m of mods) this.loaded.add(m);
    this.generation++;
    this.famCache.fill(-1);
    this.aliasCache.clear();
  }

  /** Commit modules loaded by a prediction. */
  commitLoaded(mods: readonly string[]): void {
    if (mods.length === 0) return;
    for (const m of mods) this.loaded.add(m);
    this.generation++;
    this.famCache.fill(-1);
    this.aliasCache.clear();
  }
}
