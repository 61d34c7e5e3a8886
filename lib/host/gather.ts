/**
 * gatherHostProfile(): read every fact the model may use from the running kernel and this
 * process, each with its source. Reads files and makes a handful of read-only syscalls; it
 * never calls socket() (the model must not learn from socket() outcomes) and changes nothing.
 *
 * Everything is synchronous. The file reads go through HostIO and the syscall-backed facts
 * through SyscallSource, so tests can run the whole gatherer on a fake host.
 */
import * as fs from 'fs';
import { getProcRoot } from '../observe/procfs';
import type { Fact, HostProfile, IdMapExtent, SeccompFilterInfo, UsernsMaps } from '../types';
import { ownFilters } from './seccomp/self';
import { gatherLsmEvidence, type LsmSyscalls } from './lsm';
import { native } from '../native';
import type { NativeCaps, NativeIds } from '../native';
import { FAMILY_PROVIDERS, LSM_CONFIG, NETLINK_PROVIDERS, SOCKET_ALIAS_PREFIXES, familiesOfProtoName } from './families';
import { depClosure } from './modalias';
import {
  cmdlineParam, isFullIdentityMap, kernelNetlinkProtocols, normalizeCapHex, parseIdMap, parseIntSysctl, parseKernelConfig,
  parseLimitsNofile, parseModulesAlias, parseModulesBuiltin, parseModulesDep, parseProcModules, parseProcNetNetlink,
  parseProcNetProtocols, parsePingGroupRange, parseStatus, statusNumbers,
} from './parse';

/** The file operations the gatherer uses. Each throws like fs does (err.code = 'ENOENT', ...). */
export interface HostIO {
  readText(path: string): string;
  readBytes(path: string): Buffer;
  readdir(path: string): string[];
  readlink(path: string): string;
  /** st_ino of the file a path resolves to (following symlinks, as stat(2)). */
  statIno(path: string): number;
}

/** The syscall-backed facts (the addon's uname/getids/capget/getrlimit/nsOwnerInode). */
export interface SyscallSource {
  uname(): { release: string; machine: string };
  getids(): NativeIds;
  capget(): NativeCaps;
  getrlimit(resource: number): [number, number];
  /** Inode of the user namespace owning the namespace at `path`, or -errno. */
  nsOwnerInode(path: string): number;
  /** The LSM probes (lib/host/lsm.ts); a source without them gives unknown LSM evidence. */
  landlockProbe?: LsmSyscalls['landlockProbe'];
  bpfObjects?: LsmSyscalls['bpfObjects'];
  bpfCgroupQuery?: LsmSyscalls['bpfCgroupQuery'];
  /** The nested-namespace count of native/userns.cc; a source without it leaves the level unknown. */
  usernsLevelProbe?: () => UsernsLevelProbe;
}

/** What native/userns.cc's usernsLevelProbe answers. */
export interface UsernsLevelProbe { created?: number; errno: number; stage: string }

/** /proc/... paths follow the proc root override (SOCKBRIDGE_PROC_ROOT, setProcRoot) like every other reader. */
function procPathOf(p: string): string {
  const root = getProcRoot();
  return root !== '/proc' && (p === '/proc' || p.startsWith('/proc/')) ? root + p.slice(5) : p;
}

export const fsHostIO: HostIO = {
  readText: (p) => fs.readFileSync(procPathOf(p), 'utf8'),
  readBytes: (p) => fs.readFileSync(procPathOf(p)),
  readdir: (p) => fs.readdirSync(procPathOf(p)),
  readlink: (p) => fs.readlinkSync(procPathOf(p)),
  statIno: (p) => fs.statSync(procPathOf(p)).ino,
};

export interface GatherOptions {
  io?: HostIO;
  /**
   * Where the syscall facts come from. Default: the addon (lib/native.ts). null: none (the
   * facts fall back to /proc files where one exists, else are unknown).
   */
  sys?: SyscallSource | null;
  /** Free text for takenOn; default: "live: <hostname> <ISO time>, pid N". */
  takenOn?: string;
}

/** RLIMIT_NOFILE on Linux (all architectures). */
const RLIMIT_NOFILE = 7;
/** Fixed inode numbers of the initial namespaces (uapi linux/nsfs.h; USER since 3.8, NET since 6.18 - older kernels number init_net dynamically, from 0xF0000000 up). */
export const USER_NS_INIT_INO = 0xeffffffd;
export const PID_NS_INIT_INO = 0xeffffffc;
export const NET_NS_INIT_INO = 0xeffffff9;

function errMsg(e: unknown): string {
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    const ee = e as NodeJS.ErrnoException;
    return `${ee.code}${ee.path ? ` (${ee.path})` : ''}`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** A short reason for a fallback source: the addon's long "not built" message is said once, in kernel.release. */
function short(why: string): string {
  return /addon is not built/.test(why) ? 'addon not built' : why;
}

function isEnoent(e: unknown): boolean {
  return !!e && typeof e === 'object' && (e as NodeJS.ErrnoException).code === 'ENOENT';
}

function known<T>(value: T, source: string): Fact<T> {
  return { value, source };
}

function unknown<T>(source: string, error: string): Fact<T> {
  return { value: null, source, error };
}

/** Run fn; a throw becomes an unknown fact naming the source and the error. */
function attempt<T>(source: string, fn: () => T): Fact<T> {
  try {
    return known(fn(), source);
  } catch (e) {
    return unknown(source, errMsg(e));
  }
}

/** Load the addon as a SyscallSource, or say why it is unavailable. */
function defaultSys(): { sys: SyscallSource | null; why?: string } {
  try {
    return { sys: native() };
  } catch (e) {
    return { sys: null, why: (e instanceof Error ? e.message : String(e)).split('\n')[0] };
  }
}

/** Compare kernel releases by their leading numbers: "6.1.0-56-amd64" >= "6.1". */
export function releaseAtLeast(release: string, version: string): boolean {
  const a = (release.match(/^\d+(\.\d+)*/)?.[0] ?? '').split('.').map(Number);
  const b = version.split('.').map(Number);
  for (let i = 0; i < b.length; i++) {
    const x = a[i] ?? 0;
    if (x !== b[i]) return x > b[i];
  }
  return true;
}

// ---------------------------------------------------------------------------
// Derivations (pure; exported for the fixture builder and for tests)
// ---------------------------------------------------------------------------

export interface FamilyInputs {
  /** /proc/net/protocols names, or null when unknown (a package, not a running kernel). */
  protocols: string[] | null;
  config: Record<string, string> | null;
  loaded: string[] | null;
  cmdline: string | null;
}

/**
 * Families registered in net_families[]: proven by a /proc/net/protocols name, built in
 * (config =y; AF_NETLINK always), or held by a loaded module. ipv6.disable=1 on the command
 * line keeps a built-in AF_INET6 unregistered (inet6_init returns before sock_register).
 */
export function deriveFamilies(inp: FamilyInputs): number[] {
  const set = new Set<number>();
  const ipv6Disabled = inp.cmdline !== null && cmdlineParam(inp.cmdline, 'ipv6.disable') === '1';
  for (const p of FAMILY_PROVIDERS) {
    if (p.always) set.add(p.family);
    if (p.configSym && inp.config && inp.config[p.configSym] === 'y') set.add(p.family);
    if (p.module && inp.loaded && inp.loaded.includes(p.module)) set.add(p.family);
  }
  if (ipv6Disabled) set.delete(10);
  for (const n of inp.protocols ?? []) for (const f of familiesOfProtoName(n)) set.add(f);
  return [...set].sort((a, b) => a - b);
}

export interface NetlinkInputs {
  /** Protocols with a Pid-0 row in /proc/net/netlink, or null. */
  kernelRows: number[] | null;
  config: Record<string, string> | null;
  loaded: string[] | null;
}

/**
 * NETLINK_* protocols registered (nl_table[].registered, which is global): the kernel
 * sockets of the caller's netns, plus what /proc/net/netlink cannot show there - USERSOCK
 * (registered without a kernel socket), protocols whose kernel socket lives in init_net only
 * (SELINUX, CONNECTOR, ... when the caller is in another netns) - from the config and the
 * loaded modules.
 */
export function deriveNetlink(inp: NetlinkInputs): number[] {
  const set = new Set<number>(inp.kernelRows ?? []);
  for (const p of NETLINK_PROVIDERS) {
    if (p.configSym === null) set.add(p.protocol);
    else if (inp.config && inp.config[p.configSym] === 'y' && (!p.builtInOnlyWith || inp.config[p.builtInOnlyWith] === 'y')) set.add(p.protocol);
    else if (p.module && inp.loaded && inp.loaded.includes(p.module)) set.add(p.protocol);
  }
  return [...set].sort((a, b) => a - b);
}

/**
 * LSMs marked LSM_FLAG_EXCLUSIVE (security/security.c enables only the first of them in
 * the ordered list).
 */
const EXCLUSIVE_LSMS = ['selinux', 'smack', 'apparmor'];

/**
 * The LSMs the kernel initialises from a CONFIG_LSM or lsm= list: "capability" first, then
 * those built in, in list order, with at most one of the exclusive ones.
 */
export function lsmsFromList(list: string, config: Record<string, string> | null): string[] {
  const out = ['capability'];
  for (const name of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (out.includes(name)) continue;
    const sym = LSM_CONFIG[name];
    if (sym === undefined) continue; // not an LSM this table knows: the kernel ignores unknown names too
    if (sym !== null && config && config[sym] !== 'y') continue;
    if (EXCLUSIVE_LSMS.includes(name) && out.some((n) => EXCLUSIVE_LSMS.includes(n))) continue;
    out.push(name);
  }
  return out;
}

/** Keep the modules.dep entries the socket path can need: the alias targets, the family and netlink modules, and all they depend on. */
export function filterDeps(deps: Record<string, string[]>, aliases: Array<[string, string]>): Record<string, string[]> {
  const roots = new Set<string>(aliases.map(([, m]) => m));
  for (const p of FAMILY_PROVIDERS) if (p.module) roots.add(p.module);
  for (const p of NETLINK_PROVIDERS) if (p.module) roots.add(p.module);
  const { order } = depClosure([...roots].filter((m) => Object.prototype.hasOwnProperty.call(deps, m)), deps);
  const out: Record<string, string[]> = {};
  for (const m of [...order].sort()) out[m] = deps[m];
  return out;
}

// ---------------------------------------------------------------------------
// The gatherer
// ---------------------------------------------------------------------------

export function gatherHostProfile(opts: GatherOptions = {}): HostProfile {
  const io = opts.io ?? fsHostIO;
  let sys: SyscallSource | null;
  let noSys: string;
  if (opts.sys === undefined) {
    const d = defaultSys();
    sys = d.sys;
    noSys = d.why ?? '';
  } else {
    sys = opts.sys;
    noSys = 'no syscall source given';
  }

  const text = (p: string): string => io.readText(p);
  const status = attempt('/proc/self/status', () => parseStatus(text('/proc/self/status')));
  const cmdline = attempt('/proc/cmdline', () => text('/proc/cmdline'));

  // --- kernel -------------------------------------------------------------
  let uname: { release: string; machine: string } | null = null;
  let unameErr = noSys;
  if (sys) {
    try { uname = sys.uname(); } catch (e) { unameErr = errMsg(e); }
  }
  const release: Fact<string> = uname
    ? known(uname.release, 'uname(2)')
    : attempt('/proc/sys/kernel/osrelease', () => text('/proc/sys/kernel/osrelease').trim());
  const machine: Fact<string> = uname
    ? known(uname.machine, 'uname(2)')
    : attempt('/proc/sys/kernel/arch', () => text('/proc/sys/kernel/arch').trim());
  if (!uname && unameErr) {
    if (release.value !== null) release.source += ` (uname(2) unavailable: ${unameErr})`;
    if (machine.value !== null) machine.source += ` (uname(2) unavailable: ${unameErr})`;
  }
  const rel = release.value;

  let config: Fact<Record<string, string>>;
  {
    const errors: string[] = [];
    let got: Fact<Record<string, string>> | null = null;
    try {
      got = known(parseKernelConfig((require('zlib') as typeof import('zlib')).gunzipSync(io.readBytes('/proc/config.gz')).toString('utf8')), '/proc/config.gz');
    } catch (e) {
      errors.push(`/proc/config.gz: ${errMsg(e)}`);
    }
    if (!got && rel !== null) {
      const p = `/boot/config-${rel}`;
      try { got = known(parseKernelConfig(text(p)), p); } catch (e) { errors.push(`${p}: ${errMsg(e)}`); }
    }
    config = got ?? unknown(rel !== null ? '/proc/config.gz, /boot/config-RELEASE' : '/proc/config.gz', errors.join('; '));
  }
  const cfg = config.value;
  const noModules = cfg !== null && cfg.CONFIG_MODULES !== 'y';
  const noModulesWhy = `CONFIG_MODULES is not set (${config.source}): the kernel cannot load modules`;

  // --- modules ------------------------------------------------------------
  const absentBecauseNoModules = <T>(p: string, e: unknown, empty: T | null): Fact<T> =>
    isEnoent(e) && noModules
      ? (empty === null ? unknown<T>(p, `absent: ${noModulesWhy}`) : known(empty, `${p} absent: ${noModulesWhy}`))
      : unknown<T>(p, errMsg(e));

  const readFactOr = <T>(p: string, parse: (t: string) => T, empty: T | null): Fact<T> => {
    try { return known(parse(text(p)), p); } catch (e) { return absentBecauseNoModules(p, e, empty); }
  };

  const modprobe = readFactOr('/proc/sys/kernel/modprobe', (t) => t.replace(/\n$/, ''), '');
  const modulesDisabled = readFactOr('/proc/sys/kernel/modules_disabled', (t) => parseIntSysctl(t, 'kernel.modules_disabled'), null);
  const modDir = rel !== null ? `/lib/modules/${rel}` : null;
  const aliases: Fact<Array<[string, string]>> = modDir
    ? readFactOr(`${modDir}/modules.alias`, (t) => parseModulesAlias(t, SOCKET_ALIAS_PREFIXES), [])
    : unknown('/lib/modules/RELEASE/modules.alias', 'kernel release unknown');
  if (aliases.value !== null && aliases.source.endsWith('modules.alias')) {
    aliases.source += ` (only aliases starting ${SOCKET_ALIAS_PREFIXES.join(', ')})`;
  }
  let deps: Fact<Record<string, string[]>> = modDir
    ? readFactOr(`${modDir}/modules.dep`, parseModulesDep, {})
    : unknown('/lib/modules/RELEASE/modules.dep', 'kernel release unknown');
  if (deps.value !== null && deps.source.endsWith('modules.dep')) {
    deps = known(filterDeps(deps.value, aliases.value ?? []), `${deps.source} (closure of the socket-path aliases and family modules)`);
  }
  const builtin: Fact<string[]> = modDir
    ? readFactOr(`${modDir}/modules.builtin`, parseModulesBuiltin, null)
    : unknown('/lib/modules/RELEASE/modules.builtin', 'kernel release unknown');
  const loaded = readFactOr('/proc/modules', parseProcModules, []);

  // --- net ----------------------------------------------------------------
  const protocols = attempt('/proc/net/protocols', () => parseProcNetProtocols(text('/proc/net/protocols')));
  const families: Fact<number[]> = (protocols.value === null && cfg === null)
    ? unknown('/proc/net/protocols + kernel config', `${protocols.error}; ${config.error}`)
    : known(deriveFamilies({ protocols: protocols.value, config: cfg, loaded: loaded.value, cmdline: cmdline.value }),
      [protocols.value !== null ? '/proc/net/protocols names' : null, cfg !== null ? `=y in ${config.source}` : null,
        loaded.value !== null && loaded.value.length ? 'modules in /proc/modules' : null,
        cmdline.value !== null ? 'ipv6.disable in /proc/cmdline' : null].filter(Boolean).join(' + '));
  if (protocols.value === null && families.value !== null) families.error = `/proc/net/protocols: ${protocols.error} (families from the config only)`;

  const nlRows = attempt('/proc/net/netlink', () => kernelNetlinkProtocols(parseProcNetNetlink(text('/proc/net/netlink'))));
  const netlink: Fact<number[]> = (nlRows.value === null && cfg === null)
    ? unknown('/proc/net/netlink + kernel config', `${nlRows.error}; ${config.error}`)
    : known(deriveNetlink({ kernelRows: nlRows.value, config: cfg, loaded: loaded.value }),
      [nlRows.value !== null ? 'Pid-0 rows of /proc/net/netlink' : null, 'always-registered (ROUTE, USERSOCK, SOCK_DIAG, KOBJECT_UEVENT, GENERIC)',
        cfg !== null ? `=y in ${config.source}` : null].filter(Boolean).join(' + '));

  const pingGroupRange = attempt('/proc/sys/net/ipv4/ping_group_range', () => parsePingGroupRange(text('/proc/sys/net/ipv4/ping_group_range')));
  const mptcpEnabled = attempt('/proc/sys/net/mptcp/enabled', () => parseIntSysctl(text('/proc/sys/net/mptcp/enabled'), 'net.mptcp.enabled'));
  if (mptcpEnabled.value === null && cfg !== null && cfg.CONFIG_MPTCP !== 'y') mptcpEnabled.error += ` (CONFIG_MPTCP is not set in ${config.source})`;

  const netnsInode = attempt('stat(/proc/self/ns/net)', () => io.statIno('/proc/self/ns/net'));
  const usernsInode = attempt('stat(/proc/self/ns/user)', () => io.statIno('/proc/self/ns/user'));
  const netnsIsInit = netnsIsInitFact(io, netnsInode, rel);

  let netnsOwnedByCallerUserns: Fact<boolean>;
  const ownerSrc = 'ioctl(NS_GET_USERNS) on /proc/self/ns/net vs stat(/proc/self/ns/user)';
  if (sys && usernsInode.value !== null) {
    try {
      const owner = sys.nsOwnerInode('/proc/self/ns/net');
      // ns_get_owner() answers EPERM exactly when the owning user namespace is not the
      // caller's or a descendant of it, i.e. an ancestor owns the netns: not ours.
      netnsOwnedByCallerUserns = owner === -1
        ? known(false, `${ownerSrc} (EPERM: the netns belongs to an ancestor user namespace)`)
        : owner < 0 ? unknown(ownerSrc, `NS_GET_USERNS failed: errno ${-owner}`) : known(owner === usernsInode.value, ownerSrc);
    } catch (e) {
      netnsOwnedByCallerUserns = unknown(ownerSrc, errMsg(e));
    }
  } else {
    netnsOwnedByCallerUserns = unknown(ownerSrc, sys ? `stat(/proc/self/ns/user): ${usernsInode.error}` : `no syscall source: ${noSys}`);
  }

  // --- creds --------------------------------------------------------------
  let ids: NativeIds | null = null;
  let idsErr = noSys;
  if (sys) { try { ids = sys.getids(); } catch (e) { idsErr = errMsg(e); } }
  const idSrc = 'getresuid(2)/getresgid(2)/getgroups(2)';
  const stNum = (key: string, col: number, label: string): Fact<number> => {
    if (status.value === null) return unknown(`/proc/self/status ${label}`, status.error ?? 'unreadable');
    const n = statusNumbers(status.value, key);
    return n && n.length > col ? known(n[col], `/proc/self/status ${label}`) : unknown(`/proc/self/status ${label}`, `no ${key} line with ${col + 1} columns`);
  };
  const fromIds = (k: keyof Omit<NativeIds, 'groups'>, key: string, col: number, label: string): Fact<number> => {
    if (ids) return known(ids[k], idSrc);
    const f = stNum(key, col, label);
    if (f.value !== null) f.source += ` (${short(idsErr)})`;
    return f;
  };
  let groups: Fact<number[]>;
  if (ids) groups = known([...ids.groups], 'getgroups(2)');
  else if (status.value && status.value.Groups !== undefined) {
    groups = known(status.value.Groups.split(/\s+/).filter(Boolean).map(Number), `/proc/self/status Groups (${short(idsErr)})`);
  } else groups = unknown('getgroups(2)', idsErr);

  let caps: NativeCaps | null = null;
  let capsErr = noSys;
  if (sys) { try { caps = sys.capget(); } catch (e) { capsErr = errMsg(e); } }
  const capFact = (k: 'effective' | 'permitted' | 'bounding', key: string, syscall: string): Fact<string> => {
    if (caps) return known(normalizeCapHex(caps[k]), syscall);
    const src = `/proc/self/status ${key}`;
    if (!status.value || status.value[key] === undefined) return unknown(src, status.error ?? `no ${key} line`);
    return attempt(`${src} (${short(capsErr)})`, () => normalizeCapHex(status.value![key]));
  };

  let usernsIsInit: Fact<boolean>;
  if (usernsInode.value !== null) {
    usernsIsInit = known(usernsInode.value === USER_NS_INIT_INO, 'stat(/proc/self/ns/user) inode vs USER_NS_INIT_INO 0xEFFFFFFD');
  } else {
    usernsIsInit = attempt('/proc/self/uid_map ("0 0 4294967295" in the initial user namespace)',
      () => isFullIdentityMap(parseIdMap(text('/proc/self/uid_map'))));
  }

  let probe: UsernsLevelProbe | string;
  if (usernsIsInit.value !== false) probe = 'not needed';
  else if (!sys?.usernsLevelProbe) probe = sys ? 'the syscall source has no user namespace probe' : `no syscall source: ${noSys}`;
  else if (io !== fsHostIO || getProcRoot() !== '/proc') probe = 'not tried: the profile was gathered from files, not from this process';
  else {
    try { probe = sys.usernsLevelProbe(); } catch (e) { probe = errMsg(e); }
  }
  const usernsLevel = usernsLevelFact(usernsIsInit, probe);

  // --- limits -------------------------------------------------------------
  let nofile: Fact<[number, number]>;
  if (sys) nofile = attempt('getrlimit(RLIMIT_NOFILE)', () => sys!.getrlimit(RLIMIT_NOFILE));
  else nofile = attempt(`/proc/self/limits Max open files (${short(noSys)})`, () => parseLimitsNofile(text('/proc/self/limits')));
  const nofileSoft: Fact<number> = nofile.value ? known(nofile.value[0], nofile.source) : unknown(nofile.source, nofile.error ?? '');
  const nofileHard: Fact<number> = nofile.value ? known(nofile.value[1], nofile.source) : unknown(nofile.source, nofile.error ?? '');

  // --- security -----------------------------------------------------------
  const seccomp = stNum('Seccomp', 0, 'Seccomp');
  const lsms = lsmFact(io, cmdline.value, config);
  const seccompFilterCount = stNum('Seccomp_filters', 0, 'Seccomp_filters');
  // The programs can only be read live (ptrace on a helper child), never from a proc root.
  const filters: Fact<SeccompFilterInfo[]> = opts.sys === undefined && sys && io === fsHostIO
    ? ownFilters(seccompFilterCount, seccomp)
    : seccomp.value === 0 || seccompFilterCount.value === 0
      ? known([], `${seccompFilterCount.source}: 0`)
      : unknown('PTRACE_SECCOMP_GET_FILTER', 'not tried: the profile was gathered from files, not from this process');
  const lsmSys: LsmSyscalls | null = sys && sys.landlockProbe && sys.bpfObjects && sys.bpfCgroupQuery
    ? { landlockProbe: sys.landlockProbe.bind(sys), bpfObjects: sys.bpfObjects.bind(sys), bpfCgroupQuery: sys.bpfCgroupQuery.bind(sys) } : null;
  const capEffective = capFact('effective', 'CapEff', 'capget(2) effective');
  const lsmEvidence = gatherLsmEvidence({
    io, sys: lsmSys, noSys: sys ? 'the syscall source has no LSM probes' : noSys,
    lsms: lsms.value, lsmsSource: lsms.source, capEffective: capEffective.value, usernsIsInit: usernsIsInit.value,
  });

  // --- ids seen through the user namespace ----------------------------------
  const usernsMaps = usernsMapsOf(io);
  const credsIds = {
    ruid: fromIds('ruid', 'Uid', 0, 'Uid (real)'), euid: fromIds('euid', 'Uid', 1, 'Uid (effective)'),
    suid: fromIds('suid', 'Uid', 2, 'Uid (saved)'), fsuid: stNum('Uid', 3, 'Uid (fs, 4th column)'),
    rgid: fromIds('rgid', 'Gid', 0, 'Gid (real)'), egid: fromIds('egid', 'Gid', 1, 'Gid (effective)'),
    sgid: fromIds('sgid', 'Gid', 2, 'Gid (saved)'), fsgid: stNum('Gid', 3, 'Gid (fs, 4th column)'),
  };
  const hidU = (f: Fact<number>) => hideOverflow(f, usernsMaps.uidMap, usernsMaps.overflowUid, usernsIsInit.value, 'uid');
  const hidG = (f: Fact<number>) => hideOverflow(f, usernsMaps.gidMap, usernsMaps.overflowGid, usernsIsInit.value, 'gid');

  const profile: HostProfile = {
    schema: 1,
    takenOn: opts.takenOn ?? `live: ${safeHostname(io)} ${new Date().toISOString()}, pid ${process.pid}`,
    kernel: { release, machine, config },
    modules: { modprobe, modulesDisabled, aliases, deps, builtin, loaded },
    net: {
      families, protocols, netlink,
      pingGroupRange: hideOverflowList(pingGroupRange, usernsMaps.gidMap, usernsMaps.overflowGid, usernsIsInit.value) as Fact<[number, number]>,
      mptcpEnabled,
      netnsIsInit, netnsOwnedByCallerUserns, netnsInode,
    },
    creds: {
      ruid: hidU(credsIds.ruid), euid: hidU(credsIds.euid), suid: hidU(credsIds.suid), fsuid: hidU(credsIds.fsuid),
      rgid: hidG(credsIds.rgid), egid: hidG(credsIds.egid), sgid: hidG(credsIds.sgid), fsgid: hidG(credsIds.fsgid),
      groups: hideOverflowList(groups, usernsMaps.gidMap, usernsMaps.overflowGid, usernsIsInit.value),
      capEffective,
      capPermitted: capFact('permitted', 'CapPrm', 'capget(2) permitted'),
      capBounding: capFact('bounding', 'CapBnd', 'prctl(PR_CAPBSET_READ) for each capability'),
      usernsIsInit, usernsInode, usernsLevel, usernsMaps,
    },
    limits: {
      nofileSoft, nofileHard,
      fileMax: attempt('/proc/sys/fs/file-max', () => parseIntSysctl(text('/proc/sys/fs/file-max'), 'fs.file-max')),
      nrOpen: attempt('/proc/sys/fs/nr_open', () => parseIntSysctl(text('/proc/sys/fs/nr_open'), 'fs.nr_open')),
      openFds: openFdsFact(io),
    },
    security: { seccomp, lsms, seccompFilterCount, filters, lsmEvidence },
  };
  return profile;
}

// ---------------------------------------------------------------------------
// User namespaces: what an id shown as the overflow id really is, the kernel does not say
// ---------------------------------------------------------------------------

function parseExtents(text: string): IdMapExtent[] {
  return parseIdMap(text).map(([first, lowerFirst, count]) => ({ first, lowerFirst, count }));
}

/** /proc/self/uid_map, gid_map, setgroups and the overflow ids, as this process sees them. */
export function usernsMapsOf(io: HostIO): UsernsMaps {
  const rd = <T>(p: string, parse: (t: string) => T): Fact<T> => {
    try { return known(parse(io.readText(p)), p); } catch (e) { return unknown(p, errMsg(e)); }
  };
  return {
    uidMap: rd('/proc/self/uid_map', parseExtents),
    gidMap: rd('/proc/self/gid_map', parseExtents),
    setgroups: rd('/proc/self/setgroups', (t) => {
      const v = t.trim();
      if (v !== 'allow' && v !== 'deny') throw new Error(`expected "allow" or "deny" (got ${JSON.stringify(v)})`);
      return v as 'allow' | 'deny';
    }),
    overflowUid: rd('/proc/sys/kernel/overflowuid', (t) => parseIntSysctl(t, 'kernel.overflowuid')),
    overflowGid: rd('/proc/sys/kernel/overflowgid', (t) => parseIntSysctl(t, 'kernel.overflowgid')),
  };
}

const ENOSPC = 28;
const EUSERS = 87;
/** create_user_ns() refuses a child of a namespace whose level is above this (kernel/user_namespace.c). */
const USERNS_MAX_PARENT_LEVEL = 32;

/**
 * The level of the caller's user namespace (0 initial, 1 its child), from usernsIsInit and the
 * count of nested namespaces a child of the caller could make (native/userns.cc). From level L the
 * kernel lets a chain reach level 33 and no further, so a count c proves L <= 33 - c: 32 proves
 * level 1. A smaller count does not prove nesting (an ancestor's user.max_user_namespaces gives
 * the same ENOSPC), so the level is then unknown, with the bound in the error. `probe` is the
 * probe's answer or why it was not run.
 */
export function usernsLevelFact(usernsIsInit: Fact<boolean>, probe: UsernsLevelProbe | string): Fact<number> {
  if (usernsIsInit.value === true) return known(0, `${usernsIsInit.source}: the initial user namespace`);
  const src = 'unshare(CLONE_NEWUSER) nested in a child until the kernel refuses (create_user_ns: no level above 33)';
  if (usernsIsInit.value === null) return unknown(src, `whether this is the initial user namespace is unknown: ${usernsIsInit.error ?? ''}`);
  if (typeof probe === 'string') return unknown(src, probe);
  if (probe.created === undefined) return unknown(src, `the probe's child did not report (${probe.stage}: errno ${probe.errno})`);
  const c = probe.created;
  if (probe.stage !== 'unshare' || (probe.errno !== ENOSPC && probe.errno !== EUSERS)) {
    return unknown(src, `stopped after ${c} nested namespace${c === 1 ? '' : 's'} by ${probe.stage} errno ${probe.errno}, not by the level limit (ENOSPC): the level is not measured`);
  }
  const bound = USERNS_MAX_PARENT_LEVEL + 1 - c;
  if (bound === 1) return known(1, `${src}: ${c} nested namespaces, then ENOSPC: level 33 - ${c} = 1, a child of the initial user namespace`);
  if (bound < 1) return unknown(src, `${c} nested namespaces from a namespace that is not the initial one: more than the kernel's limit allows (32), so the limit is not what this derivation assumes`);
  return unknown(src, `only ${c} nested namespaces, then ENOSPC: level ${bound === 2 ? '2' : `2 to ${bound}`} (nested in another user namespace), or level 1 with an ancestor's user.max_user_namespaces reached - either way not provably a child of the initial user namespace`);
}

/** Whether id (of this namespace) has a mapping in `map`. */
export function mapsId(map: readonly IdMapExtent[], id: number): boolean {
  return map.some((e) => id >= e.first && id - e.first < e.count);
}

/**
 * Why a shown id may be the overflow id standing for an id this namespace cannot name, or null
 * when it is provably the id it says. from_kuid_munged/from_kgid_munged print the overflow id
 * (kernel.overflowuid/overflowgid) for an id with no mapping; an id equal to the overflow id is
 * real only when the overflow id itself is mapped.
 */
function overflowWhy(shown: number, map: Fact<IdMapExtent[]>, overflow: Fact<number>, usernsIsInit: boolean | null, what: 'uid' | 'gid'): string | null {
  if (usernsIsInit === true) return null; // the initial namespace maps every id to itself
  const ov = overflow.value ?? 65534;
  if (shown !== ov) return null;
  if (map.value !== null && mapsId(map.value, ov)) return null;
  return `shown as ${shown}, the overflow ${what} (${overflow.value === null ? `assumed: ${overflow.source} unreadable` : overflow.source}), which ${map.value === null ? `may be unmapped (${map.source} unreadable)` : `has no mapping in ${map.source} (${map.value.length ? map.value.map((e) => `${e.first} ${e.lowerFirst} ${e.count}`).join('; ') : 'empty'})`}: the kernel's real value is not visible from this user namespace`;
}

function hideOverflow(f: Fact<number>, map: Fact<IdMapExtent[]>, overflow: Fact<number>, usernsIsInit: boolean | null, what: 'uid' | 'gid'): Fact<number> {
  if (f.value === null) return f;
  const why = overflowWhy(f.value, map, overflow, usernsIsInit, what);
  if (!why) return f;
  return { value: null, source: f.source, error: `hidden by the user namespace: ${why}`, hidden: { shown: f.value, why } };
}

/** A list of gids (groups, ping_group_range) is hidden when any of its members is. */
function hideOverflowList(f: Fact<number[]>, map: Fact<IdMapExtent[]>, overflow: Fact<number>, usernsIsInit: boolean | null): Fact<number[]> {
  if (f.value === null) return f;
  const whys = f.value.map((g) => overflowWhy(g, map, overflow, usernsIsInit, 'gid')).filter((w): w is string => w !== null);
  if (whys.length === 0) return f;
  return { value: null, source: f.source, error: `hidden by the user namespace: ${whys[0]}`, hidden: { shown: f.value, why: whys[0] } };
}

function safeHostname(io: HostIO): string {
  try { return io.readText('/proc/sys/kernel/hostname').trim(); } catch { return '(hostname unknown)'; }
}

/**
 * Whether the caller's netns is init_net. Since 6.18 init_net has the fixed inode
 * NET_NS_INIT_INO; before, its inode is dynamic and the only clue is pid 1's netns, which is
 * init_net only when /proc/1 is the real init (its pid namespace is the initial one).
 */
function netnsIsInitFact(io: HostIO, netnsInode: Fact<number>, release: string | null): Fact<boolean> {
  if (netnsInode.value === null) return unknown('stat(/proc/self/ns/net)', netnsInode.error ?? '');
  if (netnsInode.value === NET_NS_INIT_INO) return known(true, 'stat(/proc/self/ns/net) inode = NET_NS_INIT_INO 0xEFFFFFF9');
  if (release !== null && releaseAtLeast(release, '6.18')) {
    return known(false, `stat(/proc/self/ns/net) inode ${netnsInode.value} != NET_NS_INIT_INO 0xEFFFFFF9 (fixed since 6.18; release ${release})`);
  }
  const src = 'stat(/proc/self/ns/net) vs stat(/proc/1/ns/net), /proc/1 being the initial pid namespace init';
  try {
    const pid1PidNs = io.statIno('/proc/1/ns/pid');
    if (pid1PidNs !== PID_NS_INIT_INO) return unknown(src, '/proc/1 is not the global init (this /proc belongs to a child pid namespace)');
    return known(io.statIno('/proc/1/ns/net') === netnsInode.value, src);
  } catch (e) {
    return unknown(src, errMsg(e));
  }
}

/** Active LSMs: securityfs if mounted, else the lsm= boot parameter, else CONFIG_LSM (both filtered to the LSMs built in). */
function lsmFact(io: HostIO, cmdline: string | null, config: Fact<Record<string, string>>): Fact<string[]> {
  const tried: string[] = [];
  try {
    const t = io.readText('/sys/kernel/security/lsm');
    return known(t.trim().split(',').filter(Boolean), '/sys/kernel/security/lsm');
  } catch (e) {
    tried.push(`/sys/kernel/security/lsm: ${errMsg(e)}`);
  }
  const cfg = config.value;
  const param = cmdline !== null ? cmdlineParam(cmdline, 'lsm') : undefined;
  if (param !== undefined) {
    return known(lsmsFromList(param, cfg), `lsm= in /proc/cmdline${cfg ? `, filtered to the LSMs built in (${config.source})` : ''} (${tried.join('; ')})`);
  }
  if (cfg && cfg.CONFIG_LSM !== undefined) {
    const security = cmdline !== null ? cmdlineParam(cmdline, 'security') : undefined;
    if (security === undefined) {
      return known(lsmsFromList(cfg.CONFIG_LSM, cfg),
        `CONFIG_LSM in ${config.source}, filtered to the LSMs built in (${tried.join('; ')}; no lsm= in /proc/cmdline)`);
    }
    tried.push(`security=${security} on the command line changes the CONFIG_LSM order in ways not modelled`);
  } else {
    tried.push(cfg ? 'no CONFIG_LSM in the config' : `config: ${config.error}`);
  }
  return unknown('/sys/kernel/security/lsm, lsm= in /proc/cmdline, CONFIG_LSM', tried.join('; '));
}

/**
 * The fds open in this process. readdir opens the directory itself, so its fd shows up in
 * the listing although it is closed by the time the listing returns: entries whose
 * readlink fails with ENOENT afterwards are dropped.
 */
function openFdsFact(io: HostIO): Fact<number[]> {
  const src = 'readdir(/proc/self/fd), minus the directory stream\'s own fd';
  try {
    const names = io.readdir('/proc/self/fd');
    const fds: number[] = [];
    for (const n of names) {
      if (!/^\d+$/.test(n)) continue;
      try {
        io.readlink(`/proc/self/fd/${n}`);
        fds.push(Number(n));
      } catch (e) {
        if (!isEnoent(e)) throw e;
      }
    }
    return known(fds.sort((a, b) => a - b), src);
  } catch (e) {
    return unknown(src, errMsg(e));
  }
}
