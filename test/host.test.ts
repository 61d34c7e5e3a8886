import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import {
  AF_MAX, FAMILY_PROVIDERS, NETLINK_PROVIDERS, ProfileError, SOCKET_ALIAS_PREFIXES, depClosure, deriveFamilies, deriveNetlink,
  familiesOfProtoName, filterDeps, fnmatch, formatProfile, fullCapMask, gatherHostProfile, loadProfile, lsmsFromList,
  moduleNameFromPath, normalizeAlias, parseProfile, patternCouldMatchPrefix, releaseAtLeast, resolveAlias, saveProfile,
} from '../lib/host';
import type { HostIO, SyscallSource } from '../lib/host';
import {
  cmdlineParam, isFullIdentityMap, kernelNetlinkProtocols, normalizeCapHex, parseIdMap, parseKernelConfig, parseLimitsNofile,
  parseModulesAlias, parseModulesBuiltin, parseModulesDep, parsePingGroupRange, parseProcModules, parseProcNetNetlink,
  parseProcNetProtocols, parseStatus, statusNumbers,
} from '../lib/host/parse';
import type { HostProfile } from '../lib/types';

const REPO = path.resolve(__dirname, '..', '..');
const PROFILES = path.join(REPO, 'test', 'fixtures', 'profiles');
const ADDON = path.join(REPO, 'build', 'Release', 'sockbridge.node');

function tmpFile(name: string): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-host-')), name);
}

// ---------------------------------------------------------------------------
// Parsers
// ---------------------------------------------------------------------------

describe('host: parsers', () => {
  it('parseKernelConfig keeps =y/=m/values, unquotes strings, drops "is not set"', () => {
    const c = parseKernelConfig([
      '# comment', 'CONFIG_INET=y', 'CONFIG_CAN=m', '# CONFIG_MODULES is not set', 'CONFIG_NR_CPUS=64',
      'CONFIG_LSM="landlock,lockdown,bpf"', 'CONFIG_X="a \\"quoted\\" word"', '',
    ].join('\n'));
    assert.deepStrictEqual(c, {
      CONFIG_INET: 'y', CONFIG_CAN: 'm', CONFIG_NR_CPUS: '64', CONFIG_LSM: 'landlock,lockdown,bpf', CONFIG_X: 'a "quoted" word',
    });
    assert.ok(!('CONFIG_MODULES' in c));
  });

  it('parseModulesAlias keeps the socket-path prefixes (and patterns that could match them), module names with _', () => {
    const text = [
      'alias pci:v00008086d*sv*sd*bc*sc*i* e1000e', 'alias net-pf-38 af_alg', 'alias can-proto-1 can-raw',
      'alias bt-proto-3 rfcomm', 'alias tcp-ulp-tls tls', 'alias algif-hash algif_hash', 'alias net-pf-1[0-9] fake_wild',
      'alias *:net-pf-odd odd_pattern', 'alias pppox-proto-0 pppoe', '# x', 'alias net-pf-16-proto-21 crypto_user',
    ].join('\n');
    assert.deepStrictEqual(parseModulesAlias(text, SOCKET_ALIAS_PREFIXES), [
      ['net-pf-38', 'af_alg'], ['can-proto-1', 'can_raw'], ['bt-proto-3', 'rfcomm'], ['net-pf-1[0-9]', 'fake_wild'],
      ['*:net-pf-odd', 'odd_pattern'], ['pppox-proto-0', 'pppoe'], ['net-pf-16-proto-21', 'crypto_user'],
    ]);
    assert.strictEqual(parseModulesAlias(text).length, 10);
    const more = `${text}\nalias net_pf_5 under_scored\nalias net-p net_p_short\nalias ne? wild_early\nalias net-pf net_pf_short\n`;
    assert.deepStrictEqual(parseModulesAlias(more, SOCKET_ALIAS_PREFIXES),
      parseModulesAlias(more).filter(([pat]) => patternCouldMatchPrefix(pat, SOCKET_ALIAS_PREFIXES)),
      'the in-place filter agrees with patternCouldMatchPrefix');
  });

  it('parseModulesDep / parseModulesBuiltin / parseProcModules turn paths into module names', () => {
    const dep = parseModulesDep([
      'kernel/net/can/can-raw.ko.xz: kernel/net/can/can.ko.xz',
      'kernel/net/can/can.ko.xz:',
      'kernel/net/vmw_vsock/hv_sock.ko: kernel/drivers/hv/hv_vmbus.ko kernel/net/vmw_vsock/vsock.ko',
    ].join('\n'));
    assert.deepStrictEqual(dep, { can_raw: ['can'], can: [], hv_sock: ['hv_vmbus', 'vsock'] });
    assert.deepStrictEqual(parseModulesBuiltin('kernel/net/unix/unix.ko\nkernel/net/packet/af_packet.ko\n'), ['unix', 'af_packet']);
    assert.deepStrictEqual(parseProcModules('can_raw 20480 0 - Live 0x0\ncan 24576 1 can_raw, Live 0x0\n'), ['can_raw', 'can']);
    assert.strictEqual(moduleNameFromPath('kernel/drivers/net/usb/cdc-phonet.ko.zst'), 'cdc_phonet');
  });

  it('parseProcNetProtocols reads the name column and rejects other text', () => {
    const t = 'protocol  size sockets  memory press maxhdr  slab module     cl co di ac io in de sh ss gs se re sp bi br ha uh gp em\n' +
      'UNIX-STREAM 1024     4      -1   NI       0   yes  kernel      y  n  y  y  n  y  n  n  y  y  n  n  n  n  n  n  n  n  n\n' +
      'TCPv6     2560      0       0   no     320   yes  kernel      y  y  y  y  y  y  y  y  y  y  y  y  y  n  y  y  y  y  y\n';
    assert.deepStrictEqual(parseProcNetProtocols(t), ['UNIX-STREAM', 'TCPv6']);
    assert.throws(() => parseProcNetProtocols('sk Eth Pid\n'), /not \/proc\/net\/protocols text/);
  });

  it('parseProcNetNetlink + kernelNetlinkProtocols keep the Pid-0 rows, once per protocol', () => {
    const t = 'sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n' +
      '0000000077e14446 0   0          00000000 0        0        0     2        0        4\n' +
      '0000000077e14447 0   1234       00000000 0        0        0     2        0        99\n' +
      '000000003e6c711e 16  0          00000000 0        0        0     2        0        5\n' +
      '000000003e6c711f 16  0          00000000 0        0        0     2        0        6\n' +
      '000000003e6c7120 9   4321       00000000 0        0        0     2        0        7\n';
    const rows = parseProcNetNetlink(t);
    assert.strictEqual(rows.length, 5);
    assert.deepStrictEqual(rows[1], { protocol: 0, portid: 1234, inode: 99 });
    assert.deepStrictEqual(kernelNetlinkProtocols(rows), [0, 16]);
    assert.throws(() => parseProcNetNetlink('protocol size\n'), /not \/proc\/net\/netlink text/);
  });

  it('status, id maps, sysctls, limits, cmdline and capability masks', () => {
    const st = parseStatus('Name:\tnode\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\t6\t7\t8\nCapEff:\t000001fffeffffff\nSeccomp:\t2\n');
    assert.deepStrictEqual(statusNumbers(st, 'Uid'), [1000, 1001, 1002, 1003]);
    assert.strictEqual(statusNumbers(st, 'Nope'), null);
    assert.deepStrictEqual(parseIdMap('         0          0 4294967295\n'), [[0, 0, 4294967295]]);
    assert.ok(isFullIdentityMap(parseIdMap('0 0 4294967295')));
    assert.ok(!isFullIdentityMap(parseIdMap('0 1000 1\n')));
    assert.throws(() => parseIdMap('0 0\n'), /bad id map line "0 0"/);
    assert.deepStrictEqual(parsePingGroupRange('1\t0\n'), [1, 0]);
    assert.throws(() => parsePingGroupRange('1\n'), /ping_group_range: expected two integers "low high" \(got "1"\)/);
    assert.deepStrictEqual(parseLimitsNofile('Limit Soft Hard Units\nMax open files            1024                 unlimited            files\n'), [1024, -1]);
    assert.throws(() => parseLimitsNofile('Max cpu time unlimited unlimited seconds\n'), /no "Max open files" row/);
    assert.strictEqual(cmdlineParam('quiet lsm=a,b ipv6.disable=1 lsm=c -- lsm=init', 'lsm'), 'c');
    assert.strictEqual(cmdlineParam('quiet -- ipv6.disable=1', 'ipv6.disable'), undefined);
    assert.strictEqual(normalizeCapHex('3FFFFFFFFF'), '0000003fffffffff');
    assert.throws(() => normalizeCapHex('xyz'), /capability mask: expected up to 16 hex digits \(got "xyz"\)/);
  });
});

// ---------------------------------------------------------------------------
// modalias
// ---------------------------------------------------------------------------

describe('host: modalias (modprobe semantics)', () => {
  it('fnmatch: literals, *, ?, sets, ranges, negation, escapes, unclosed [', () => {
    const yes: Array<[string, string]> = [
      ['net-pf-38', 'net-pf-38'], ['net-pf-*', 'net-pf-16-proto-4'], ['*', ''], ['a*b*c', 'aXXbYYc'], ['a?c', 'abc'],
      ['net-pf-1[0-9]', 'net-pf-17'], ['x[!0-9]', 'xa'], ['x[^a]', 'xb'], ['x[]]', 'x]'], ['x[!]]', 'xa'], ['a\\*', 'a*'],
      ['a[', 'a['], ['*/b', 'a/x/b'], ['pci:v*d*', 'pci:v00008086d00001234'], ['x[[:digit:]]', 'x7'],
    ];
    const no: Array<[string, string]> = [
      ['net-pf-38', 'net-pf-3'], ['net-pf-3', 'net-pf-38'], ['a?c', 'ac'], ['net-pf-1[0-9]', 'net-pf-1a'], ['x[!0-9]', 'x5'],
      ['a\\*', 'ab'], ['a*b', 'acbd'], ['x[[:digit:]]', 'xa'],
    ];
    for (const [p, s] of yes) assert.ok(fnmatch(p, s), `${p} should match ${s}`);
    for (const [p, s] of no) assert.ok(!fnmatch(p, s), `${p} should not match ${s}`);
  });

  it('normalizeAlias turns - into _ outside brackets only', () => {
    assert.strictEqual(normalizeAlias('net-pf-1[0-9]'), 'net_pf_1[0-9]');
    assert.strictEqual(normalizeAlias('a[]-]-b'), 'a[]-]_b');
  });

  it('resolveAlias returns every matching module once, or the module itself when the name is a module', () => {
    const aliases: Array<[string, string]> = [
      ['net-pf-40', 'vmw_vsock_vmci_transport'], ['net-pf-40', 'hv_sock'], ['net-pf-4*', 'wild'], ['net-pf-40', 'hv_sock'],
      ['net_pf_10', 'ipv6'],
    ];
    assert.deepStrictEqual(resolveAlias('net-pf-40', aliases), ['vmw_vsock_vmci_transport', 'hv_sock', 'wild']);
    assert.deepStrictEqual(resolveAlias('net-pf-10', aliases), ['ipv6'], 'dashes and underscores are the same to modprobe');
    assert.deepStrictEqual(resolveAlias('net-pf-99', aliases), []);
    assert.deepStrictEqual(resolveAlias('can-raw', aliases, { can_raw: ['can'] }), ['can_raw']);
  });

  it('depClosure lists dependencies before their users, once, and reports missing modules', () => {
    const deps = { a: ['b', 'c'], b: ['c'], c: [], d: ['a', 'zz'] };
    assert.deepStrictEqual(depClosure(['a'], deps), { order: ['c', 'b', 'a'], missing: [] });
    assert.deepStrictEqual(depClosure(['d', 'nope'], deps), { order: ['c', 'b', 'a', 'd'], missing: ['zz', 'nope'] });
  });

  it('patternCouldMatchPrefix and filterDeps keep only what the socket path can reach', () => {
    assert.ok(patternCouldMatchPrefix('net-pf-*', ['net-pf-']));
    assert.ok(patternCouldMatchPrefix('net*', ['net-pf-']));
    assert.ok(!patternCouldMatchPrefix('acpi*:PNP0A03:*', ['net-pf-']));
    assert.ok(!patternCouldMatchPrefix('tcp-ulp-tls', SOCKET_ALIAS_PREFIXES));
    const deps = { can_raw: ['can'], can: [], e1000e: ['ptp'], ptp: [], vsock: [], hv_sock: ['vsock'] };
    assert.deepStrictEqual(filterDeps(deps, [['can-proto-1', 'can_raw']]), { can: [], can_raw: ['can'], vsock: [] },
      'alias targets, their deps, and family modules that exist (vsock); not unrelated modules');
  });
});

// ---------------------------------------------------------------------------
// Family / netlink / LSM tables and derivations
// ---------------------------------------------------------------------------

describe('host: family tables and derivations', () => {
  it('FAMILY_PROVIDERS covers 0..AF_MAX-1 in order, and proto names are unique to their families', () => {
    assert.strictEqual(FAMILY_PROVIDERS.length, AF_MAX);
    FAMILY_PROVIDERS.forEach((p, i) => assert.strictEqual(p.family, i));
    assert.deepStrictEqual(familiesOfProtoName('TCPv6'), [10]);
    assert.deepStrictEqual(familiesOfProtoName('VCC'), [8, 20]);
    assert.deepStrictEqual(familiesOfProtoName('NO-SUCH'), []);
    assert.ok(NETLINK_PROVIDERS.every((p, i, a) => i === 0 || a[i - 1].protocol < p.protocol));
  });

  it('deriveFamilies unites protocols names, =y symbols and loaded modules; ipv6.disable=1 drops a built-in AF_INET6', () => {
    const config = { CONFIG_INET: 'y', CONFIG_IPV6: 'y', CONFIG_UNIX: 'y', CONFIG_CAN: 'm', CONFIG_PACKET: 'm' };
    assert.deepStrictEqual(deriveFamilies({ protocols: null, config, loaded: [], cmdline: null }), [1, 2, 10, 16]);
    assert.deepStrictEqual(deriveFamilies({ protocols: null, config, loaded: ['can'], cmdline: null }), [1, 2, 10, 16, 29]);
    assert.deepStrictEqual(deriveFamilies({ protocols: ['PACKET', 'KEY'], config, loaded: [], cmdline: null }), [1, 2, 10, 15, 16, 17]);
    assert.deepStrictEqual(deriveFamilies({ protocols: null, config, loaded: [], cmdline: 'quiet ipv6.disable=1' }), [1, 2, 16]);
    assert.deepStrictEqual(deriveFamilies({ protocols: ['TCPv6'], config, loaded: [], cmdline: 'ipv6.disable=1' }), [1, 2, 10, 16],
      '/proc/net/protocols proves registration whatever the command line says');
  });

  it('deriveNetlink adds USERSOCK (no kernel socket) and init_net-only protocols from the config', () => {
    assert.deepStrictEqual(deriveNetlink({ kernelRows: [0, 4, 9, 16], config: { CONFIG_CONNECTOR: 'y', CONFIG_AUDIT: 'y' }, loaded: [] }),
      [0, 2, 4, 9, 11, 15, 16]);
    assert.deepStrictEqual(deriveNetlink({ kernelRows: null, config: { CONFIG_CRYPTO_USER: 'm' }, loaded: ['crypto_user'] }), [0, 2, 4, 15, 16, 21]);
  });

  it('lsmsFromList: capability first, only LSMs built in, one exclusive LSM', () => {
    const cfg = { CONFIG_SECURITY_APPARMOR: 'y', CONFIG_SECURITY_SELINUX: 'y', CONFIG_SECURITY_YAMA: 'y', CONFIG_BPF_LSM: 'y' };
    assert.deepStrictEqual(lsmsFromList('landlock,yama,apparmor,selinux,nonsense,bpf', cfg), ['capability', 'yama', 'apparmor', 'bpf']);
    assert.deepStrictEqual(lsmsFromList('selinux,apparmor', cfg), ['capability', 'selinux']);
  });

  it('releaseAtLeast and fullCapMask follow kernel versions', () => {
    assert.ok(releaseAtLeast('6.18.44-fc-v595', '6.18'));
    assert.ok(releaseAtLeast('6.1.0-56-amd64', '5.15'));
    assert.ok(!releaseAtLeast('6.1.0-56-amd64', '6.13'));
    assert.ok(!releaseAtLeast('4.19.0-27-amd64', '5.6'));
    assert.strictEqual(fullCapMask('6.1.0-56-amd64'), '000001ffffffffff');
    assert.strictEqual(fullCapMask('4.19.0'), '0000003fffffffff');
  });
});

// ---------------------------------------------------------------------------
// gather on a fake host
// ---------------------------------------------------------------------------

type FakeFs = Record<string, string | Buffer>;

function fakeIO(files: FakeFs, opts: { fdDir?: string[]; links?: Record<string, string>; inodes?: Record<string, number> } = {}): HostIO {
  const enoent = (p: string): Error => Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT', path: p });
  return {
    readText: (p) => { const v = files[p]; if (v === undefined) throw enoent(p); return v.toString(); },
    readBytes: (p) => { const v = files[p]; if (v === undefined) throw enoent(p); return Buffer.isBuffer(v) ? v : Buffer.from(v); },
    readdir: (p) => { if (p === '/proc/self/fd' && opts.fdDir) return opts.fdDir; throw enoent(p); },
    readlink: (p) => { const v = opts.links?.[p]; if (v === undefined) throw enoent(p); return v; },
    statIno: (p) => { const v = opts.inodes?.[p]; if (v === undefined) throw enoent(p); return v; },
  };
}

const fakeSys = (over: Partial<SyscallSource> = {}): SyscallSource => ({
  uname: () => ({ release: '6.1.0-test', machine: 'x86_64' }),
  getids: () => ({ ruid: 1000, euid: 1001, suid: 1002, rgid: 100, egid: 101, sgid: 102, groups: [100, 27] }),
  capget: () => ({ effective: '0000000000002000', permitted: '0000000000002000', inheritable: '0000000000000000', bounding: '000001ffffffffff' }),
  getrlimit: () => [1024, 4096],
  nsOwnerInode: () => 4026532000,
  ...over,
});

function fakeHost(extra: FakeFs = {}): FakeFs {
  const config = 'CONFIG_MODULES=y\nCONFIG_INET=y\nCONFIG_IPV6=y\nCONFIG_UNIX=y\nCONFIG_CAN=m\nCONFIG_MPTCP=y\nCONFIG_SECURITY_APPARMOR=y\nCONFIG_LSM="apparmor,bpf"\n';
  return {
    '/proc/config.gz': zlib.gzipSync(config),
    '/proc/cmdline': 'root=/dev/sda1 quiet\n',
    '/proc/self/status': 'Uid:\t1000\t1001\t1002\t1003\nGid:\t100\t101\t102\t103\nGroups:\t100 27\nCapEff:\t0000000000002000\nCapPrm:\t0000000000002000\nCapBnd:\t000001ffffffffff\nSeccomp:\t2\n',
    '/proc/sys/kernel/modprobe': '/sbin/modprobe\n',
    '/proc/sys/kernel/modules_disabled': '0\n',
    '/lib/modules/6.1.0-test/modules.alias': 'alias pci:v*d* e1000e\nalias net-pf-29 can\nalias can-proto-1 can_raw\nalias tcp-ulp-tls tls\n',
    '/lib/modules/6.1.0-test/modules.dep': 'kernel/net/can/can.ko:\nkernel/net/can/can-raw.ko: kernel/net/can/can.ko\nkernel/drivers/e1000e.ko:\n',
    '/lib/modules/6.1.0-test/modules.builtin': 'kernel/net/unix/unix.ko\n',
    '/proc/modules': 'can 24576 0 - Live 0x0\n',
    '/proc/net/protocols': 'protocol  size sockets\nCAN_RAW 1 0\nTCP 1 0\nNETLINK 1 0\n',
    '/proc/net/netlink': 'sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode\n0 0 0 0 0 0 0 2 0 4\n0 9 0 0 0 0 0 2 0 5\n',
    '/proc/sys/net/ipv4/ping_group_range': '100\t100\n',
    '/proc/sys/net/mptcp/enabled': '0\n',
    '/proc/sys/fs/file-max': '9223372036854775807\n',
    '/proc/sys/fs/nr_open': '1048576\n',
    '/proc/sys/kernel/hostname': 'fakehost\n',
    ...extra,
  };
}

describe('host: gatherHostProfile on a fake host', () => {
  const inodes = { '/proc/self/ns/net': 4026532100, '/proc/self/ns/user': 4026532000, '/proc/1/ns/pid': 0xeffffffc, '/proc/1/ns/net': 4026531992 };
  const fdOpts = { fdDir: ['0', '1', '2', '5', '7'], links: { '/proc/self/fd/0': '/dev/null', '/proc/self/fd/1': 'pipe:[1]', '/proc/self/fd/2': 'pipe:[2]', '/proc/self/fd/5': 'socket:[9]' }, inodes };

  it('reads every fact from its source, filters aliases and deps, and drops the readdir fd', () => {
    const p = gatherHostProfile({ io: fakeIO(fakeHost(), fdOpts), sys: fakeSys(), takenOn: 'test' });
    assert.strictEqual(p.kernel.release.value, '6.1.0-test');
    assert.strictEqual(p.kernel.release.source, 'uname(2)');
    assert.strictEqual(p.kernel.config.source, '/proc/config.gz');
    assert.strictEqual(p.kernel.config.value?.CONFIG_CAN, 'm');
    assert.strictEqual(p.modules.modprobe.value, '/sbin/modprobe');
    assert.strictEqual(p.modules.modulesDisabled.value, 0);
    assert.deepStrictEqual(p.modules.aliases.value, [['net-pf-29', 'can'], ['can-proto-1', 'can_raw']]);
    assert.deepStrictEqual(p.modules.deps.value, { can: [], can_raw: ['can'] });
    assert.deepStrictEqual(p.modules.builtin.value, ['unix']);
    assert.deepStrictEqual(p.modules.loaded.value, ['can']);
    assert.deepStrictEqual(p.net.families.value, [1, 2, 10, 16, 29]);
    assert.deepStrictEqual(p.net.netlink.value, [0, 2, 4, 9, 10, 15, 16]);
    assert.deepStrictEqual(p.net.pingGroupRange.value, [100, 100]);
    assert.strictEqual(p.net.mptcpEnabled.value, 0);
    assert.strictEqual(p.net.netnsIsInit.value, false, 'pid 1 (global init) is in another netns');
    assert.strictEqual(p.net.netnsOwnedByCallerUserns.value, true);
    assert.strictEqual(p.creds.ruid.value, 1000);
    assert.strictEqual(p.creds.euid.value, 1001);
    assert.strictEqual(p.creds.fsuid.value, 1003);
    assert.strictEqual(p.creds.fsgid.value, 103);
    assert.deepStrictEqual(p.creds.groups.value, [100, 27]);
    assert.strictEqual(p.creds.capEffective.value, '0000000000002000');
    assert.strictEqual(p.creds.capBounding.source, 'prctl(PR_CAPBSET_READ) for each capability');
    assert.strictEqual(p.creds.usernsIsInit.value, false);
    assert.strictEqual(p.limits.nofileSoft.value, 1024);
    assert.strictEqual(p.limits.nofileHard.value, 4096);
    assert.deepStrictEqual(p.limits.openFds.value, [0, 1, 2, 5], 'fd 7 (the readdir stream, gone after the read) is dropped');
    assert.strictEqual(p.security.seccomp.value, 2);
    assert.deepStrictEqual(p.security.lsms.value, ['capability', 'apparmor']);
    assert.match(p.security.lsms.source, /^CONFIG_LSM in \/proc\/config.gz/);
    assert.doesNotThrow(() => parseProfile(JSON.parse(JSON.stringify(p)), 'fake'));
  });

  it('without syscalls, falls back to /proc files and says so; what has no file is unknown', () => {
    const p = gatherHostProfile({
      io: fakeIO(fakeHost({ '/proc/sys/kernel/osrelease': '6.1.0-test\n', '/proc/sys/kernel/arch': 'x86_64\n', '/proc/self/limits': 'Max open files 512 1024 files\n' }), fdOpts),
      sys: null,
    });
    assert.strictEqual(p.kernel.release.value, '6.1.0-test');
    assert.match(p.kernel.release.source, /^\/proc\/sys\/kernel\/osrelease/);
    assert.strictEqual(p.creds.euid.value, 1001);
    assert.match(p.creds.euid.source, /^\/proc\/self\/status Uid/);
    assert.strictEqual(p.creds.capEffective.value, '0000000000002000');
    assert.match(p.creds.capEffective.source, /^\/proc\/self\/status CapEff/);
    assert.strictEqual(p.limits.nofileSoft.value, 512);
    assert.strictEqual(p.net.netnsOwnedByCallerUserns.value, null);
    assert.match(p.net.netnsOwnedByCallerUserns.error ?? '', /no syscall source/);
  });

  it('CONFIG_MODULES unset: modprobe "" and empty module lists with the reason in the source', () => {
    const config = zlib.gzipSync('CONFIG_INET=y\nCONFIG_UNIX=y\n');
    const files = fakeHost({ '/proc/config.gz': config });
    for (const k of ['/proc/sys/kernel/modprobe', '/proc/sys/kernel/modules_disabled', '/proc/modules',
      '/lib/modules/6.1.0-test/modules.alias', '/lib/modules/6.1.0-test/modules.dep', '/lib/modules/6.1.0-test/modules.builtin']) delete files[k];
    const p = gatherHostProfile({ io: fakeIO(files, fdOpts), sys: fakeSys() });
    assert.strictEqual(p.modules.modprobe.value, '');
    assert.match(p.modules.modprobe.source, /CONFIG_MODULES is not set/);
    assert.strictEqual(p.modules.modulesDisabled.value, null);
    assert.match(p.modules.modulesDisabled.error ?? '', /CONFIG_MODULES is not set/);
    assert.deepStrictEqual(p.modules.aliases.value, []);
    assert.deepStrictEqual(p.modules.loaded.value, []);
    assert.strictEqual(p.modules.builtin.value, null);
  });

  it('missing files on a modular kernel are unknown (not empty), config falls back to /boot', () => {
    const files = fakeHost({ '/boot/config-6.1.0-test': 'CONFIG_MODULES=y\nCONFIG_INET=y\n' });
    delete files['/proc/config.gz'];
    delete files['/lib/modules/6.1.0-test/modules.alias'];
    delete files['/proc/sys/net/mptcp/enabled'];
    const p = gatherHostProfile({ io: fakeIO(files, fdOpts), sys: fakeSys() });
    assert.strictEqual(p.kernel.config.source, '/boot/config-6.1.0-test');
    assert.strictEqual(p.modules.aliases.value, null);
    assert.match(p.modules.aliases.error ?? '', /ENOENT/);
    assert.strictEqual(p.net.mptcpEnabled.value, null);
    assert.match(p.net.mptcpEnabled.error ?? '', /CONFIG_MPTCP is not set/);
  });

  it('netnsIsInit: fixed init_net inode, or unknown when /proc/1 is not the global init', () => {
    const fixed = gatherHostProfile({ io: fakeIO(fakeHost(), { ...fdOpts, inodes: { ...inodes, '/proc/self/ns/net': 0xeffffff9 } }), sys: fakeSys() });
    assert.strictEqual(fixed.net.netnsIsInit.value, true);
    const child = gatherHostProfile({ io: fakeIO(fakeHost(), { ...fdOpts, inodes: { ...inodes, '/proc/1/ns/pid': 4026532500 } }), sys: fakeSys() });
    assert.strictEqual(child.net.netnsIsInit.value, null);
    assert.match(child.net.netnsIsInit.error ?? '', /child pid namespace/);
    const new618 = gatherHostProfile({ io: fakeIO(fakeHost(), fdOpts), sys: fakeSys({ uname: () => ({ release: '6.18.1', machine: 'x86_64' }) }) });
    assert.strictEqual(new618.net.netnsIsInit.value, false);
  });

  it('NS_GET_USERNS: EPERM means an ancestor user namespace owns the netns; other errors leave it unknown', () => {
    const eperm = gatherHostProfile({ io: fakeIO(fakeHost(), fdOpts), sys: fakeSys({ nsOwnerInode: () => -1 }) });
    assert.strictEqual(eperm.net.netnsOwnedByCallerUserns.value, false);
    assert.match(eperm.net.netnsOwnedByCallerUserns.source, /EPERM/);
    const einval = gatherHostProfile({ io: fakeIO(fakeHost(), fdOpts), sys: fakeSys({ nsOwnerInode: () => -22 }) });
    assert.strictEqual(einval.net.netnsOwnedByCallerUserns.value, null);
    assert.match(einval.net.netnsOwnedByCallerUserns.error ?? '', /errno 22/);
    const other = gatherHostProfile({ io: fakeIO(fakeHost(), fdOpts), sys: fakeSys({ nsOwnerInode: () => 4026532999 }) });
    assert.strictEqual(other.net.netnsOwnedByCallerUserns.value, false, 'a descendant user namespace owns it');
  });

  it('LSMs: securityfs first, then lsm= on the command line', () => {
    const a = gatherHostProfile({ io: fakeIO(fakeHost({ '/sys/kernel/security/lsm': 'lockdown,capability,apparmor' }), fdOpts), sys: fakeSys() });
    assert.deepStrictEqual(a.security.lsms.value, ['lockdown', 'capability', 'apparmor']);
    assert.strictEqual(a.security.lsms.source, '/sys/kernel/security/lsm');
    const b = gatherHostProfile({ io: fakeIO(fakeHost({ '/proc/cmdline': 'quiet lsm=bpf,apparmor' }), fdOpts), sys: fakeSys() });
    assert.deepStrictEqual(b.security.lsms.value, ['capability', 'apparmor']);
    assert.match(b.security.lsms.source, /^lsm= in \/proc\/cmdline/);
  });
});

// ---------------------------------------------------------------------------
// gather on this host
// ---------------------------------------------------------------------------

describe('host: gatherHostProfile on this host', function () {
  let p: HostProfile;
  before(() => { p = gatherHostProfile(); });
  const addonBuilt = (): boolean => fs.existsSync(ADDON);

  it('kernel facts match os.release()/os.machine() and the config file', () => {
    assert.strictEqual(p.kernel.release.value, os.release());
    assert.strictEqual(p.kernel.machine.value, os.machine());
    if (fs.existsSync('/proc/config.gz')) {
      assert.strictEqual(p.kernel.config.source, '/proc/config.gz');
      const direct = parseKernelConfig(zlib.gunzipSync(fs.readFileSync('/proc/config.gz')).toString());
      assert.deepStrictEqual(p.kernel.config.value, direct);
    } else {
      assert.strictEqual(p.kernel.config.source, `/boot/config-${os.release()}`);
    }
  });

  it('families include every family whose protocol appears in /proc/net/protocols; netlink every kernel socket', () => {
    const names = parseProcNetProtocols(fs.readFileSync('/proc/net/protocols', 'utf8'));
    assert.deepStrictEqual(p.net.protocols.value, names);
    for (const n of names) for (const f of familiesOfProtoName(n)) assert.ok(p.net.families.value?.includes(f), `${n} -> family ${f}`);
    const unknownNames = names.filter((n) => familiesOfProtoName(n).length === 0);
    assert.deepStrictEqual(unknownNames, [], 'every /proc/net/protocols name on this host is in FAMILY_PROVIDERS');
    const rows = kernelNetlinkProtocols(parseProcNetNetlink(fs.readFileSync('/proc/net/netlink', 'utf8')));
    for (const r of rows) assert.ok(p.net.netlink.value?.includes(r), `netlink ${r}`);
    assert.ok(p.net.netlink.value?.includes(2), 'NETLINK_USERSOCK is registered although it has no kernel socket');
  });

  it('sysctls are the files\' values', () => {
    assert.deepStrictEqual(p.net.pingGroupRange.value, parsePingGroupRange(fs.readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8')));
    assert.strictEqual(p.limits.fileMax.value, Number(fs.readFileSync('/proc/sys/fs/file-max', 'utf8')));
    assert.strictEqual(p.limits.nrOpen.value, Number(fs.readFileSync('/proc/sys/fs/nr_open', 'utf8')));
    if (fs.existsSync('/proc/sys/net/mptcp/enabled')) {
      assert.strictEqual(p.net.mptcpEnabled.value, Number(fs.readFileSync('/proc/sys/net/mptcp/enabled', 'utf8')));
    } else {
      assert.strictEqual(p.net.mptcpEnabled.value, null);
    }
  });

  it('creds match process.getuid()/getgid()/getgroups() and /proc/self/status', () => {
    const st = parseStatus(fs.readFileSync('/proc/self/status', 'utf8'));
    assert.strictEqual(p.creds.ruid.value, process.getuid!());
    assert.strictEqual(p.creds.euid.value, process.geteuid!());
    assert.strictEqual(p.creds.rgid.value, process.getgid!());
    assert.strictEqual(p.creds.egid.value, process.getegid!());
    // process.getgroups() adds the egid when getgroups(2) does not list it; /proc/self/status does not
    assert.deepStrictEqual(p.creds.groups.value, (st.Groups ?? '').split(/\s+/).filter(Boolean).map(Number));
    for (const g of p.creds.groups.value ?? []) assert.ok(process.getgroups!().includes(g));
    assert.strictEqual(p.creds.fsuid.value, statusNumbers(st, 'Uid')![3]);
    assert.strictEqual(p.creds.fsgid.value, statusNumbers(st, 'Gid')![3]);
    assert.strictEqual(p.creds.capEffective.value, st.CapEff);
    assert.strictEqual(p.creds.capPermitted.value, st.CapPrm);
    assert.strictEqual(p.creds.capBounding.value, st.CapBnd);
    assert.strictEqual(p.security.seccomp.value, Number(st.Seccomp));
  });

  it('syscall-backed facts come from the addon when it is built', function () {
    if (!addonBuilt()) {
      console.log(`      pending: ${ADDON} is not built, so the syscall sources cannot be checked`);
      this.skip();
    }
    assert.strictEqual(p.kernel.release.source, 'uname(2)');
    assert.strictEqual(p.creds.capEffective.source, 'capget(2) effective');
    assert.strictEqual(p.limits.nofileSoft.source, 'getrlimit(RLIMIT_NOFILE)');
    const lim = parseLimitsNofile(fs.readFileSync('/proc/self/limits', 'utf8'));
    assert.deepStrictEqual([p.limits.nofileSoft.value, p.limits.nofileHard.value], lim);
    assert.notStrictEqual(p.net.netnsOwnedByCallerUserns.value, null);
  });

  it('namespaces: inodes are the /proc/self/ns inodes; the initial user namespace has USER_NS_INIT_INO', () => {
    assert.strictEqual(p.net.netnsInode.value, fs.statSync('/proc/self/ns/net').ino);
    assert.strictEqual(p.creds.usernsInode.value, fs.statSync('/proc/self/ns/user').ino);
    const fullMap = isFullIdentityMap(parseIdMap(fs.readFileSync('/proc/self/uid_map', 'utf8')));
    if (p.creds.usernsIsInit.value) assert.ok(fullMap, 'the initial user namespace maps every id to itself');
  });

  it('open fds equal the fds fstat() finds open', () => {
    const fds = p.limits.openFds.value ?? [];
    const scanTo = Math.max(256, ...fds) + 64;
    const open: number[] = [];
    for (let fd = 0; fd < scanTo; fd++) {
      try { fs.fstatSync(fd); open.push(fd); } catch { /* EBADF: not open */ }
    }
    // gather again right before comparing: libuv may have opened or closed its own fds meanwhile
    assert.deepStrictEqual(gatherHostProfile().limits.openFds.value?.filter((fd) => fd < scanTo), open);
  });

  it('leaves no fd open', () => {
    const before = fs.readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 5; i++) gatherHostProfile();
    assert.strictEqual(fs.readdirSync('/proc/self/fd').length, before);
  });

  it('in a new network namespace: not init_net, netlink still has the init_net-only protocols', function () {
    if (process.getuid!() !== 0) {
      console.log('      pending: needs root to unshare a network namespace');
      this.skip();
    }
    const script = `const h=require(${JSON.stringify(path.resolve(__dirname, '..', 'lib', 'host'))});` +
      'const p=h.gatherHostProfile();process.stdout.write(JSON.stringify({n:p.net,u:p.creds.usernsIsInit,rows:require("fs").readFileSync("/proc/net/netlink","utf8")}))';
    const r = spawnSync('unshare', ['-n', process.execPath, '-e', script], { encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      console.log(`      pending: unshare -n failed here (${r.error?.message ?? r.stderr.trim()})`);
      this.skip();
    }
    const out = JSON.parse(r.stdout) as { n: HostProfile['net']; u: HostProfile['creds']['usernsIsInit']; rows: string };
    assert.strictEqual(out.n.netnsIsInit.value, false);
    assert.notStrictEqual(out.n.netnsInode.value, p.net.netnsInode.value);
    const childRows = kernelNetlinkProtocols(parseProcNetNetlink(out.rows));
    assert.deepStrictEqual(out.n.netlink.value, p.net.netlink.value, 'netlink registration is global');
    const initOnly = NETLINK_PROVIDERS.filter((q) => q.initNetOnly && p.net.netlink.value?.includes(q.protocol)).map((q) => q.protocol);
    for (const proto of initOnly) assert.ok(!childRows.includes(proto), `netlink ${proto} has no kernel socket in a new netns`);
    if (fs.existsSync(ADDON)) assert.strictEqual(out.n.netnsOwnedByCallerUserns.value, true, 'root made the netns: owned by the init userns');
  });

  it('in a new user namespace that keeps the netns: the netns is not owned by the caller\'s userns', function () {
    if (!fs.existsSync(ADDON)) {
      console.log(`      pending: ${ADDON} is not built (NS_GET_USERNS comes from the addon)`);
      this.skip();
    }
    const script = `const h=require(${JSON.stringify(path.resolve(__dirname, '..', 'lib', 'host'))});` +
      'const p=h.gatherHostProfile();process.stdout.write(JSON.stringify([p.creds.usernsIsInit.value,p.net.netnsOwnedByCallerUserns.value,p.net.netnsIsInit.value,p.creds.euid.value]))';
    const a = spawnSync('unshare', ['-U', '-r', process.execPath, '-e', script], { encoding: 'utf8' });
    const b = spawnSync('unshare', ['-U', '-r', '-n', process.execPath, '-e', script], { encoding: 'utf8' });
    if (a.status !== 0 || b.status !== 0) {
      console.log(`      pending: unshare -U failed here (${(a.stderr || b.stderr).trim()})`);
      this.skip();
    }
    assert.deepStrictEqual(JSON.parse(a.stdout), [false, false, p.net.netnsIsInit.value, 0]);
    assert.deepStrictEqual(JSON.parse(b.stdout), [false, true, false, 0]);
  });
});

// ---------------------------------------------------------------------------
// profile I/O
// ---------------------------------------------------------------------------

describe('host: saveProfile / loadProfile / parseProfile', () => {
  const base = (): HostProfile => JSON.parse(fs.readFileSync(path.join(PROFILES, 'debian-6.1-cloud.json'), 'utf8')) as HostProfile;
  const reject = (mutate: (j: Record<string, any>) => void, message: string | RegExp): void => {
    const j = base() as unknown as Record<string, any>;
    mutate(j);
    assert.throws(() => parseProfile(j, 'profile.json'), (e: unknown) => {
      assert.ok(e instanceof ProfileError, `a ProfileError, got ${String(e)}`);
      if (typeof message === 'string') assert.strictEqual((e as Error).message, message);
      else assert.match((e as Error).message, message);
      return true;
    });
  };

  it('a live profile roundtrips through a file unchanged', () => {
    const p = gatherHostProfile();
    const file = tmpFile('live.json');
    saveProfile(p, file);
    assert.deepStrictEqual(loadProfile(file), JSON.parse(JSON.stringify(p)));
    assert.deepStrictEqual(fs.readdirSync(path.dirname(file)), ['live.json'], 'no temporary file left behind');
  });

  it('names the file, the field path, what was expected and what it got', () => {
    reject((j) => { j.kernel.release.value = 42; }, 'profile.json: kernel.release.value must be a string or null (got 42)');
    reject((j) => { j.net.families.value = [1, 'x']; }, 'profile.json: net.families.value[1] must be an integer >= 0 (got "x")');
    reject((j) => { j.net.pingGroupRange.value = [1]; }, 'profile.json: net.pingGroupRange.value must be a pair [low, high] or null (got [1])');
    reject((j) => { j.creds.capEffective.value = '1ff'; }, /creds\.capEffective\.value must be 16 lower-case hex digits or null \(got "1ff"\)/);
    reject((j) => { j.kernel.config.value.CONFIG_INET = true; }, 'profile.json: kernel.config.value.CONFIG_INET must be a string (got true)');
    reject((j) => { j.modules.aliases.value[0] = ['only-one']; }, /modules\.aliases\.value\[0\] must be a pair \[pattern, module\] \(got \["only-one"\]\)/);
    reject((j) => { j.limits.nofileSoft.value = -2; }, /limits\.nofileSoft\.value must be an integer >= -1/);
    reject((j) => { j.creds.usernsIsInit.value = 'yes'; }, 'profile.json: creds.usernsIsInit.value must be true or false or null (got "yes")');
  });

  it('rejects missing, extra and malformed fields and facts', () => {
    reject((j) => { delete j.security; }, 'profile.json: security is required (got nothing: the field is missing)');
    reject((j) => { delete j.net.netlink; }, 'profile.json: net.netlink is required (got nothing: the field is missing)');
    reject((j) => { j.extra = 1; }, /^profile\.json: extra is not a field of a host profile \(known here: schema, takenOn, kernel/);
    reject((j) => { j.net.families = [1, 2]; }, 'profile.json: net.families must be a fact: an object {value, source, error?} (got [1,2])');
    reject((j) => { delete j.net.families.source; }, 'profile.json: net.families.source must be a string (got nothing: the field is missing)');
    reject((j) => { delete j.net.families.value; }, /net\.families\.value is required \(an array of family numbers, or null when unknown\)/);
    reject((j) => { j.net.families = { value: null, source: 'x' }; }, /net\.families\.error must say why the value is unknown/);
    reject((j) => { j.net.families.why = 'x'; }, /net\.families\.why is not a field of a fact/);
    reject((j) => { j.takenOn = 5; }, 'profile.json: takenOn must be a string (got 5)');
  });

  it('checks the schema version and says which are supported', () => {
    reject((j) => { j.schema = 2; }, 'profile.json: schema is not a supported profile schema version (supported: 1) (got 2)');
    reject((j) => { delete j.schema; }, /schema is required \(supported: 1\)/);
    assert.throws(() => parseProfile([], 'p.json'), /^ProfileError: p\.json: profile must be a JSON object \(got \[\]\)$|p\.json: profile must be a JSON object/);
  });

  it('accepts the optional modules.failing fact', () => {
    const j = base();
    j.modules.failing = { value: ['vmw_vsock_vmci_transport'], source: 'assumed: no VMCI device' };
    assert.deepStrictEqual(parseProfile(j, 'x').modules.failing?.value, ['vmw_vsock_vmci_transport']);
  });

  it('loadProfile names the file when it is missing or not JSON; saveProfile refuses an invalid profile', () => {
    assert.throws(() => loadProfile('/nonexistent/profile.json'), /^Error: \/nonexistent\/profile\.json: cannot read the host profile \(ENOENT\)$|\/nonexistent\/profile\.json: cannot read the host profile \(ENOENT\)/);
    const bad = tmpFile('bad.json');
    fs.writeFileSync(bad, '{"schema": 1,');
    assert.throws(() => loadProfile(bad), new RegExp(`${bad.replace(/[.]/g, '\\.')}: not valid JSON`));
    const out = tmpFile('out.json');
    const p = base();
    (p.kernel.release as { value: unknown }).value = 7;
    assert.throws(() => saveProfile(p, out), /profile to save as .*out\.json: kernel\.release\.value must be a string or null \(got 7\)/);
    assert.ok(!fs.existsSync(out));
  });
});

// ---------------------------------------------------------------------------
// Fixtures and formatting
// ---------------------------------------------------------------------------

describe('host: profile fixtures', () => {
  const files = fs.readdirSync(PROFILES).filter((f) => f.endsWith('.json'));

  it('has the live, Debian generic/cloud and synthetic profiles, and all load', () => {
    for (const want of ['live-host.json', 'debian-6.1-generic.json', 'debian-6.1-cloud.json', 'synthetic-4.19.json']) {
      assert.ok(files.includes(want), want);
    }
    for (const f of files) assert.doesNotThrow(() => loadProfile(path.join(PROFILES, f)), f);
  });

  it('Debian profiles come from the packages, and every assumed fact says so', () => {
    for (const f of ['debian-6.1-generic.json', 'debian-6.1-cloud.json']) {
      const p = loadProfile(path.join(PROFILES, f));
      assert.match(p.kernel.release.value ?? '', /^6\.1\.0-\d+-(cloud-)?amd64$/);
      assert.strictEqual(p.kernel.config.value?.CONFIG_MODULES, 'y');
      assert.ok(p.modules.aliases.value!.length > 0);
      for (const [pattern] of p.modules.aliases.value!) assert.ok(patternCouldMatchPrefix(pattern, SOCKET_ALIAS_PREFIXES), pattern);
      for (const [, mod] of p.modules.aliases.value!) assert.ok(mod in p.modules.deps.value!, `alias target ${mod} has a modules.dep entry`);
      for (const fact of [p.creds.euid, p.creds.capEffective, p.net.pingGroupRange, p.net.netnsIsInit, p.limits.nofileSoft]) {
        assert.match(fact.source, /^assumed:/);
      }
      assert.deepStrictEqual(p.net.pingGroupRange.value, [1, 0]);
      assert.strictEqual(p.net.mptcpEnabled.value, 1);
      // request_module("net-pf-40") loads the vsock transports, which pull in vsock itself
      const { order } = depClosure(resolveAlias('net-pf-40', p.modules.aliases.value!, p.modules.deps.value!), p.modules.deps.value!);
      assert.ok(order.includes('vsock'), `net-pf-40 -> ${order.join(', ')}`);
    }
  });

  it('the synthetic profile says it is synthetic and has 4.19 version facts', () => {
    const p = loadProfile(path.join(PROFILES, 'synthetic-4.19.json'));
    assert.match(p.takenOn, /^SYNTHETIC/);
    assert.ok(!releaseAtLeast(p.kernel.release.value!, '5.6'));
    assert.strictEqual(p.kernel.config.value?.CONFIG_MPTCP, undefined);
    assert.strictEqual(p.net.mptcpEnabled.value, null);
    assert.strictEqual(p.creds.capEffective.value, '0000003fffffffff');
    assert.deepStrictEqual(resolveAlias('net-pf-12', p.modules.aliases.value!), ['decnet']);
  });
});

describe('host: formatProfile', () => {
  it('shows sections, values with sources, and flags unknown facts with the reason', () => {
    const p = loadProfile(path.join(PROFILES, 'debian-6.1-cloud.json'));
    const text = formatProfile(p);
    for (const s of ['Kernel', 'Modules', 'Network', 'Credentials', 'Limits', 'Security']) assert.match(text, new RegExp(`^${s}$`, 'm'));
    assert.match(text, /release\s+6\.1\.0-\d+-cloud-amd64\n\s+from package /);
    assert.match(text, /\/proc\/net\/protocols\s+UNKNOWN: not a running kernel/);
    assert.match(text, /families registered\s+1 AF_UNIX, 2 AF_INET/);
    assert.match(text, /CapEff\s+000001ffffffffff \(all 41 known/);
    const unknowns = Object.values(p).filter((a) => typeof a === 'object').flatMap((a) => Object.values(a as Record<string, { value: unknown }>)).filter((f) => f.value === null).length;
    assert.match(text, new RegExp(`${unknowns} facts are UNKNOWN`));
  });

  it('a fully known profile says so', () => {
    const p = loadProfile(path.join(PROFILES, 'debian-6.1-cloud.json'));
    const filled = JSON.parse(JSON.stringify(p)) as HostProfile;
    filled.net.protocols = { value: ['TCP'], source: 'test' };
    filled.limits.fileMax = { value: 1, source: 'test' };
    if (filled.net.netnsInode.value === null) filled.net.netnsInode = { value: 1, source: 'test' };
    assert.match(formatProfile(filled), /Every fact is known\.\n$/);
  });
});
