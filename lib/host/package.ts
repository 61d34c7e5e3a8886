/**
 * A host profile for a kernel that is not running here: made from an unpacked kernel package
 * (boot/config-RELEASE and [usr/]lib/modules/RELEASE/modules.{alias,dep,builtin}; modules may be
 * plain .ko or .ko.xz/.ko.zst/.ko.gz - only their names matter here), with the process
 * facts of a root shell on a freshly booted machine. Every fact that does not come from the
 * package says "assumed:" in its source.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Fact, HostProfile } from '../types';
import { SOCKET_ALIAS_PREFIXES } from './families';
import { deriveFamilies, deriveNetlink, filterDeps, lsmsFromList, releaseAtLeast, USER_NS_INIT_INO } from './gather';
import { parseKernelConfig, parseModulesAlias, parseModulesBuiltin, parseModulesDep } from './parse';

export interface PackageProfileOptions {
  /** The folder the package was unpacked into (holds boot/ and lib/modules/ or usr/lib/modules/). */
  root: string;
  /** Kernel release; default: the only folder under lib/modules. */
  release?: string;
  /** uname -m of the package's architecture. */
  machine: string;
  /** Where the files came from, for takenOn (package name and version). */
  origin: string;
}

/** Capability masks with every capability up to CAP_LAST_CAP of the release. */
export function fullCapMask(release: string): string {
  // CAP_LAST_CAP: 37 AUDIT_READ (3.16), 38 PERFMON and 39 BPF (5.8), 40 CHECKPOINT_RESTORE (5.9).
  const last = releaseAtLeast(release, '5.9') ? 40 : releaseAtLeast(release, '5.8') ? 39 : 37;
  return ((1n << BigInt(last + 1)) - 1n).toString(16).padStart(16, '0');
}

function readIn(root: string, rel: string): { text: string; src: string } {
  const p = path.join(root, rel);
  return { text: fs.readFileSync(p, 'utf8'), src: rel.startsWith('/') ? rel : `/${rel}` };
}

/**
 * Where an unpacked package keeps its modules: lib/modules (up to bookworm) or usr/lib/modules
 * (merged /usr: trixie on), relative to the package root.
 */
export function packageModulesDir(root: string): string {
  // A lib -> usr/lib link (made for depmod) is not where the package put them.
  const libIsLink = fs.existsSync(path.join(root, 'lib')) && fs.lstatSync(path.join(root, 'lib')).isSymbolicLink();
  for (const rel of libIsLink ? ['usr/lib/modules'] : ['lib/modules', 'usr/lib/modules']) {
    const p = path.join(root, rel);
    if (fs.existsSync(p) && fs.statSync(p).isDirectory()) return rel;
  }
  throw new Error(`${root}: neither lib/modules nor usr/lib/modules (is this an unpacked linux-image package?)`);
}

export function profileFromPackage(o: PackageProfileOptions): HostProfile {
  const modulesRel = packageModulesDir(o.root);
  const modulesRoot = path.join(o.root, modulesRel);
  const release = o.release ?? (() => {
    const dirs = fs.readdirSync(modulesRoot);
    if (dirs.length !== 1) throw new Error(`${modulesRoot}: expected exactly one kernel release folder (found ${dirs.join(', ') || 'none'}); pass release`);
    return dirs[0];
  })();
  const pkg = `package ${o.origin}`;
  const cfgFile = readIn(o.root, `boot/config-${release}`);
  const config = parseKernelConfig(cfgFile.text);
  const modDir = `${modulesRel}/${release}`;
  for (const f of ['modules.alias', 'modules.dep']) {
    if (!fs.existsSync(path.join(o.root, modDir, f))) {
      // Debian's packages do not ship them: the package's postinst runs depmod on the installed system.
      throw new Error(`${path.join(o.root, modDir)} has no ${f}: the package ships none (its postinst runs depmod); ` +
        `make it with "depmod -b ${o.root} ${release}"${modulesRel.startsWith('usr/') ? ' after "ln -s usr/lib ' + path.join(o.root, 'lib') + '" (depmod before kmod 31 looks in lib/modules)' : ''}`);
    }
  }
  const aliasFile = readIn(o.root, `${modDir}/modules.alias`);
  const aliases = parseModulesAlias(aliasFile.text, SOCKET_ALIAS_PREFIXES);
  const depFile = readIn(o.root, `${modDir}/modules.dep`);
  const deps = filterDeps(parseModulesDep(depFile.text), aliases);
  const builtinFile = readIn(o.root, `${modDir}/modules.builtin`);
  const builtin = parseModulesBuiltin(builtinFile.text);
  const loaded: string[] = [];

  const k = <T>(value: T, source: string): Fact<T> => ({ value, source });
  const u = <T>(source: string, error: string): Fact<T> => ({ value: null, source, error });
  const assumed = (what: string): string => `assumed: ${what}`;
  const root = 'root shell on a freshly booted machine';
  const fullCaps = fullCapMask(release);

  return {
    schema: 1,
    takenOn: `built from ${pkg} (not a running kernel); process facts assumed for a ${root}`,
    kernel: {
      release: k(release, `${pkg}: ${modDir}`),
      machine: k(o.machine, `${pkg}: package architecture`),
      config: k(config, `${pkg}: ${cfgFile.src}`),
    },
    modules: {
      modprobe: k('/sbin/modprobe', assumed('kernel default /sbin/modprobe')),
      modulesDisabled: k(0, assumed('kernel default 0')),
      aliases: k(aliases, `${pkg}: ${aliasFile.src} (only aliases starting ${SOCKET_ALIAS_PREFIXES.join(', ')})`),
      deps: k(deps, `${pkg}: ${depFile.src} (closure of the socket-path aliases and family modules)`),
      builtin: k(builtin, `${pkg}: ${builtinFile.src}`),
      loaded: k(loaded, assumed('no module loaded yet')),
    },
    net: {
      families: k(deriveFamilies({ protocols: null, config, loaded, cmdline: null }),
        `=y in ${cfgFile.src} (${pkg}) + ${assumed('no module loaded yet')}`),
      protocols: u('/proc/net/protocols', `not a running kernel (${pkg})`),
      netlink: k(deriveNetlink({ kernelRows: null, config, loaded }),
        `always-registered + =y in ${cfgFile.src} (${pkg}) + ${assumed('no module loaded yet')}`),
      pingGroupRange: k([1, 0], assumed('kernel default "1 0"')),
      mptcpEnabled: config.CONFIG_MPTCP === 'y'
        ? k(1, assumed('kernel default 1'))
        : u('/proc/sys/net/mptcp/enabled', `CONFIG_MPTCP is not set in ${cfgFile.src}: no net.mptcp sysctls`),
      netnsIsInit: k(true, assumed(`${root}, in the initial network namespace`)),
      netnsOwnedByCallerUserns: k(true, assumed('init_net is owned by the initial user namespace, the shell\'s own')),
      netnsInode: releaseAtLeast(release, '6.18')
        ? k(0xeffffff9, assumed('init_net, fixed inode NET_NS_INIT_INO'))
        : u('stat(/proc/self/ns/net)', `init_net's inode is assigned at boot before 6.18 (${release})`),
    },
    creds: {
      ruid: k(0, assumed(root)), euid: k(0, assumed(root)), suid: k(0, assumed(root)), fsuid: k(0, assumed(root)),
      rgid: k(0, assumed(root)), egid: k(0, assumed(root)), sgid: k(0, assumed(root)), fsgid: k(0, assumed(root)),
      groups: k([0], assumed(`${root} (initgroups: root's only group is 0)`)),
      capEffective: k(fullCaps, assumed(`${root}: every capability up to CAP_LAST_CAP of ${release}`)),
      capPermitted: k(fullCaps, assumed(`${root}: every capability up to CAP_LAST_CAP of ${release}`)),
      capBounding: k(fullCaps, assumed(`${root}: every capability up to CAP_LAST_CAP of ${release}`)),
      usernsIsInit: k(true, assumed(`${root}, in the initial user namespace`)),
      usernsInode: k(USER_NS_INIT_INO, assumed('initial user namespace, fixed inode USER_NS_INIT_INO')),
    },
    limits: {
      nofileSoft: k(1024, assumed('systemd default RLIMIT_NOFILE soft limit 1024')),
      nofileHard: k(524288, assumed('systemd default RLIMIT_NOFILE hard limit 524288')),
      fileMax: u('/proc/sys/fs/file-max', 'sized from the machine\'s memory at boot: unknown for a package'),
      nrOpen: k(1048576, assumed('kernel default fs.nr_open 1048576')),
      openFds: k([0, 1, 2], assumed('stdin, stdout and stderr only')),
    },
    security: {
      seccomp: k(0, assumed('no seccomp filter in a login shell')),
      lsms: config.CONFIG_LSM !== undefined
        ? k(lsmsFromList(config.CONFIG_LSM, config), `CONFIG_LSM in ${cfgFile.src} (${pkg}), filtered to the LSMs built in; ${assumed('no lsm= boot parameter')}`)
        : u('CONFIG_LSM', `not in ${cfgFile.src}`),
    },
  };
}
