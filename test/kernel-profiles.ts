/**
 * Small host profiles for the kernel-model tests, built from facts (config, sysctls,
 * capabilities), never from socket() outcomes. `builtin618()` is a 6.18 kernel built like
 * the project's test machine (CONFIG_MODULES unset); `modular61()` a Debian-like 6.1 with
 * most families as modules.
 */
import type { Fact, HostProfile } from '../lib/types';

function f<T>(value: T | null, source: string): Fact<T> {
  return value === null ? { value: null, source, error: 'unknown in this test profile' } : { value, source };
}

const ALL_CAPS = '000001ffffffffff';
export const NO_CAPS = '0000000000000000';

export interface ProfileOptions {
  release?: string | null;
  config?: Record<string, string> | null;
  modprobe?: string | null;
  modulesDisabled?: number | null;
  aliases?: Array<[string, string]> | null;
  deps?: Record<string, string[]> | null;
  loaded?: string[] | null;
  failing?: string[];
  families?: number[] | null;
  protocols?: string[] | null;
  netlink?: number[] | null;
  pingGroupRange?: [number, number] | null;
  mptcpEnabled?: number | null;
  netnsIsInit?: boolean | null;
  netnsOwnedByCallerUserns?: boolean | null;
  usernsIsInit?: boolean | null;
  capEffective?: string | null;
  egid?: number | null;
  groups?: number[] | null;
  nofileSoft?: number | null;
  nrOpen?: number | null;
  openFds?: number[] | null;
}

export const CONFIG_618: Record<string, string> = {
  CONFIG_NET: 'y', CONFIG_UNIX: 'y', CONFIG_INET: 'y', CONFIG_IPV6: 'y', CONFIG_MPTCP: 'y',
  CONFIG_MPTCP_IPV6: 'y', CONFIG_PACKET: 'y', CONFIG_VSOCKETS: 'y', CONFIG_VIRTIO_VSOCKETS: 'y',
  CONFIG_XDP_SOCKETS: 'y', CONFIG_XFRM_USER: 'y', CONFIG_AUDIT: 'y', CONFIG_CONNECTOR: 'y',
  CONFIG_NETFILTER_NETLINK: 'y', CONFIG_SECURITY_SELINUX: 'y',
};

export function makeProfile(o: ProfileOptions = {}): HostProfile {
  const has = <K extends keyof ProfileOptions>(k: K): boolean => Object.prototype.hasOwnProperty.call(o, k);
  const pick = <K extends keyof ProfileOptions>(k: K, d: ProfileOptions[K]): ProfileOptions[K] => (has(k) ? o[k] : d);
  return {
    schema: 1,
    takenOn: 'test profile',
    kernel: {
      release: f(pick('release', '6.18.44-test') ?? null, 'uname(2)'),
      machine: f('x86_64', 'uname(2)'),
      config: f(pick('config', CONFIG_618) ?? null, '/proc/config.gz'),
    },
    modules: {
      modprobe: f(pick('modprobe', null) ?? null, '/proc/sys/kernel/modprobe'),
      modulesDisabled: f(pick('modulesDisabled', 0) ?? null, '/proc/sys/kernel/modules_disabled'),
      aliases: f(pick('aliases', []) ?? null, '/lib/modules/R/modules.alias'),
      deps: f(pick('deps', {}) ?? null, '/lib/modules/R/modules.dep'),
      builtin: f<string[]>([], '/lib/modules/R/modules.builtin'),
      loaded: f(pick('loaded', []) ?? null, '/proc/modules'),
      failing: f(o.failing ?? [], 'test'),
    },
    net: {
      families: f(pick('families', [1, 2, 10, 16, 17, 40, 44]) ?? null, '/proc/net/protocols + config'),
      protocols: f(pick('protocols', ['TCP', 'UDP', 'RAW', 'PING', 'UNIX', 'UNIX-STREAM', 'NETLINK', 'PACKET']) ?? null, '/proc/net/protocols'),
      netlink: f(pick('netlink', [0, 4, 6, 7, 9, 10, 11, 12, 15, 16]) ?? null, '/proc/net/netlink'),
      pingGroupRange: f(pick('pingGroupRange', [1, 0] as [number, number]) ?? null, '/proc/sys/net/ipv4/ping_group_range'),
      mptcpEnabled: f(pick('mptcpEnabled', 1) ?? null, '/proc/sys/net/mptcp/enabled'),
      netnsIsInit: f(pick('netnsIsInit', true) ?? null, '/proc/self/ns/net'),
      netnsOwnedByCallerUserns: f(pick('netnsOwnedByCallerUserns', true) ?? null, 'ioctl(NS_GET_USERNS)'),
      netnsInode: f(4026531840, '/proc/self/ns/net'),
    },
    creds: {
      ruid: f(0, 'status'), euid: f(0, 'status'), suid: f(0, 'status'), fsuid: f(0, 'status'),
      rgid: f(0, 'status'), egid: f(pick('egid', 0) ?? null, '/proc/self/status'), sgid: f(0, 'status'), fsgid: f(0, 'status'),
      groups: f(pick('groups', []) ?? null, '/proc/self/status'),
      capEffective: f(pick('capEffective', ALL_CAPS) ?? null, 'capget(2)'),
      capPermitted: f(ALL_CAPS, 'capget(2)'),
      capBounding: f(ALL_CAPS, 'prctl(PR_CAPBSET_READ)'),
      usernsIsInit: f(pick('usernsIsInit', true) ?? null, '/proc/self/ns/user'),
      usernsInode: f(4026531837, '/proc/self/ns/user'),
    },
    limits: {
      nofileSoft: f(pick('nofileSoft', 1024) ?? null, 'getrlimit(RLIMIT_NOFILE)'),
      nofileHard: f(1048576, 'getrlimit(RLIMIT_NOFILE)'),
      fileMax: f(9223372036854775807, '/proc/sys/fs/file-max'),
      nrOpen: f(pick('nrOpen', 1048576) ?? null, '/proc/sys/fs/nr_open'),
      openFds: f(pick('openFds', [0, 1, 2]) ?? null, '/proc/self/fd'),
    },
    security: {
      seccomp: f(0, '/proc/self/status'),
      lsms: f(['capability', 'landlock', 'lockdown', 'bpf'], '/sys/kernel/security/lsm'),
    },
  };
}

/** The test machine's kernel: 6.18, everything built in, no modules. */
export function builtin618(o: ProfileOptions = {}): HostProfile {
  return makeProfile(o);
}

/** An unprivileged caller on the 6.18 machine. */
export function unprivileged618(o: ProfileOptions = {}): HostProfile {
  return makeProfile({ capEffective: NO_CAPS, egid: 65534, ...o });
}

/**
 * A Debian-like 6.1 kernel: CONFIG_MODULES=y, most families modules with the aliases their
 * MODULE_ALIAS_NETPROTO lines give, nothing but the core loaded.
 */
export function modular61(o: ProfileOptions = {}): HostProfile {
  return makeProfile({
    release: '6.1.0-28-amd64',
    config: {
      CONFIG_MODULES: 'y', CONFIG_NET: 'y', CONFIG_UNIX: 'y', CONFIG_INET: 'y', CONFIG_IPV6: 'y',
      CONFIG_MPTCP: 'y', CONFIG_MPTCP_IPV6: 'y', CONFIG_PACKET: 'm', CONFIG_VSOCKETS: 'm',
      CONFIG_XDP_SOCKETS: 'y', CONFIG_IP_SCTP: 'm', CONFIG_L2TP: 'm', CONFIG_L2TP_IP: 'y',
      CONFIG_IP_DCCP: 'm', CONFIG_SMC: 'm', CONFIG_XFRM_USER: 'm', CONFIG_AUDIT: 'y',
      CONFIG_NETFILTER_NETLINK: 'm', CONFIG_CRYPTO_USER: 'm', CONFIG_VMWARE_VMCI_VSOCKETS: 'm',
    },
    modprobe: '/sbin/modprobe',
    aliases: [
      ['net-pf-17', 'af_packet'],
      ['net-pf-40', 'vsock'],
      ['net-pf-2-proto-132', 'sctp'],
      ['net-pf-10-proto-132', 'sctp'],
      ['net-pf-2-proto-115-type-2', 'l2tp_ip'],
      ['net-pf-2-proto-115', 'l2tp_ip'],
      ['net-pf-10-proto-115-type-2', 'l2tp_ip6'],
      ['net-pf-2-proto-33-type-6', 'dccp_ipv4'],
      ['net-pf-2-proto-33', 'dccp_ipv4'],
      ['net-pf-2-proto-0-type-6', 'dccp_ipv4'],
      ['net-pf-10-proto-33-type-6', 'dccp_ipv6'],
      ['net-pf-43', 'smc'],
      ['net-pf-16-proto-6', 'xfrm_user'],
      ['net-pf-16-proto-12', 'nfnetlink'],
      ['net-pf-16-proto-21', 'crypto_user'],
    ],
    deps: {
      af_packet: [], vsock: [], sctp: ['libcrc32c'], libcrc32c: [], l2tp_core: ['udp_tunnel', 'ip6_udp_tunnel'],
      udp_tunnel: [], ip6_udp_tunnel: [], l2tp_ip: ['l2tp_core'], l2tp_ip6: ['l2tp_core'],
      dccp: [], dccp_ipv4: ['dccp'], dccp_ipv6: ['dccp', 'dccp_ipv4'], smc: ['ib_core'], ib_core: [],
      xfrm_user: ['xfrm_algo'], xfrm_algo: [], nfnetlink: [], crypto_user: [],
    },
    loaded: [],
    families: [1, 2, 10, 16, 44],
    protocols: ['TCP', 'UDP', 'RAW', 'PING', 'UNIX', 'UNIX-STREAM', 'NETLINK', 'TCPv6', 'UDPv6', 'RAWv6', 'PINGv6', 'UDP-Lite', 'UDPLITEv6', 'MPTCP', 'MPTCPv6', 'XDP'],
    netlink: [0, 2, 4, 9, 10, 15, 16],
    ...o,
  });
}
