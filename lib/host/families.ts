/**
 * Which piece of the kernel provides each address family and each NETLINK_* protocol:
 * the config symbol that builds it, the module that holds it when that symbol is =m, and
 * the /proc/net/protocols names (struct proto .name) its sockets register.
 *
 * Used by the host gatherer (to tell which families are registered without calling socket())
 * and by the model (ctx.present(configSym, module)). Sources: the kernel Makefiles
 * (obj-$(CONFIG_X) += module.o), each family's sock_register() site and its struct proto
 * definitions, cross-checked against the module files of Debian's 6.1 kernel packages.
 */

/** One address family: who registers net_families[family]. */
export interface FamilyProvider {
  family: number;
  /** AF_* name as in include/linux/socket.h. */
  name: string;
  /**
   * The config symbol whose object calls sock_register() for this family, or null when no
   * kernel code registers it (the family number is reserved, address-only, or long removed),
   * or when the family is always present (AF_NETLINK: see `always`).
   */
  configSym: string | null;
  /** Module that registers the family when configSym is =m; null for bool symbols (builtin only). */
  module: string | null;
  /** The family is registered by core code whenever the kernel has networking (AF_NETLINK). */
  always?: true;
  /**
   * struct proto .name values whose presence in /proc/net/protocols proves the family is
   * registered (the proto and the family are registered by the same module or by a module
   * that depends on the family's module).
   */
  protoNames: string[];
  /** First release with the family, when later than 4.x. */
  since?: string;
  /** Last release that still had the family, when it was removed. */
  removedAfter?: string;
  /** What a reader should know (why module differs from the alias target, and so on). */
  note?: string;
}

/** Families 0..45 (AF_MAX = 46 since 5.15). */
export const FAMILY_PROVIDERS: readonly FamilyProvider[] = [
  { family: 0, name: 'AF_UNSPEC', configSym: null, module: null, protoNames: [] },
  { family: 1, name: 'AF_UNIX', configSym: 'CONFIG_UNIX', module: 'unix', protoNames: ['UNIX', 'UNIX-STREAM'],
    note: 'UNIX-STREAM split out of UNIX in ~5.15 (unix_stream_proto for sockmap)' },
  { family: 2, name: 'AF_INET', configSym: 'CONFIG_INET', module: null,
    protoNames: ['TCP', 'UDP', 'UDP-Lite', 'RAW', 'PING', 'MPTCP', 'SCTP', 'L2TP/IP', 'DCCP'],
    note: 'CONFIG_INET is bool: built in or absent' },
  { family: 3, name: 'AF_AX25', configSym: 'CONFIG_AX25', module: 'ax25', protoNames: ['AX25'] },
  { family: 4, name: 'AF_IPX', configSym: null, module: null, protoNames: [],
    note: 'IPX was deleted in 2018 (~4.18); older kernels had CONFIG_IPX / ipx' },
  { family: 5, name: 'AF_APPLETALK', configSym: 'CONFIG_ATALK', module: 'appletalk', protoNames: ['DDP'] },
  { family: 6, name: 'AF_NETROM', configSym: 'CONFIG_NETROM', module: 'netrom', protoNames: ['NETROM'] },
  { family: 7, name: 'AF_BRIDGE', configSym: null, module: null, protoNames: [],
    note: 'address family only (rtnetlink); the bridge registers no socket family' },
  { family: 8, name: 'AF_ATMPVC', configSym: 'CONFIG_ATM', module: 'atm', protoNames: ['VCC'],
    note: 'net/atm/pvc.c, in atm.ko with AF_ATMSVC' },
  { family: 9, name: 'AF_X25', configSym: 'CONFIG_X25', module: 'x25', protoNames: ['X25'] },
  { family: 10, name: 'AF_INET6', configSym: 'CONFIG_IPV6', module: 'ipv6',
    protoNames: ['TCPv6', 'UDPv6', 'UDPLITEv6', 'RAWv6', 'PINGv6', 'MPTCPv6', 'SCTPv6', 'L2TP/IPv6', 'DCCPv6'],
    note: 'booting with ipv6.disable=1 leaves the family unregistered even when built in' },
  { family: 11, name: 'AF_ROSE', configSym: 'CONFIG_ROSE', module: 'rose', protoNames: ['ROSE'] },
  { family: 12, name: 'AF_DECnet', configSym: 'CONFIG_DECNET', module: 'decnet', protoNames: ['NSP'],
    removedAfter: '6.0', note: 'DECnet removed in 6.1' },
  { family: 13, name: 'AF_NETBEUI', configSym: null, module: null, protoNames: [] },
  { family: 14, name: 'AF_SECURITY', configSym: null, module: null, protoNames: [] },
  { family: 15, name: 'AF_KEY', configSym: 'CONFIG_NET_KEY', module: 'af_key', protoNames: ['KEY'] },
  { family: 16, name: 'AF_NETLINK', configSym: null, module: null, always: true, protoNames: ['NETLINK'],
    note: 'net/netlink/af_netlink.c is obj-y whenever CONFIG_NET is set' },
  { family: 17, name: 'AF_PACKET', configSym: 'CONFIG_PACKET', module: 'af_packet', protoNames: ['PACKET'] },
  { family: 18, name: 'AF_ASH', configSym: null, module: null, protoNames: [] },
  { family: 19, name: 'AF_ECONET', configSym: null, module: null, protoNames: [], note: 'Econet removed in 3.5' },
  { family: 20, name: 'AF_ATMSVC', configSym: 'CONFIG_ATM', module: 'atm', protoNames: ['VCC'],
    note: 'net/atm/svc.c, in atm.ko with AF_ATMPVC' },
  { family: 21, name: 'AF_RDS', configSym: 'CONFIG_RDS', module: 'rds', protoNames: ['RDS'] },
  { family: 22, name: 'AF_SNA', configSym: null, module: null, protoNames: [] },
  { family: 23, name: 'AF_IRDA', configSym: 'CONFIG_IRDA', module: 'irda', protoNames: [],
    removedAfter: '4.16', note: 'IrDA removed in 4.17' },
  { family: 24, name: 'AF_PPPOX', configSym: 'CONFIG_PPPOX', module: 'pppox', protoNames: ['PPPOE', 'PPTP', 'PPPOL2TP'],
    note: 'drivers/net/ppp/pppox.c registers the family; pppoe/pptp/l2tp_ppp register protocols 0/2/1 in it' },
  { family: 25, name: 'AF_WANPIPE', configSym: null, module: null, protoNames: [] },
  { family: 26, name: 'AF_LLC', configSym: 'CONFIG_LLC2', module: 'llc2', protoNames: ['LLC'],
    note: 'net/llc/af_llc.c is part of llc2.ko (CONFIG_LLC alone has no socket family)' },
  { family: 27, name: 'AF_IB', configSym: null, module: null, protoNames: [], note: 'address family only (rdma_cm)' },
  { family: 28, name: 'AF_MPLS', configSym: null, module: null, protoNames: [],
    note: 'address family only; distributions alias net-pf-28 to mpls_router, which registers no socket family' },
  { family: 29, name: 'AF_CAN', configSym: 'CONFIG_CAN', module: 'can', protoNames: ['CAN_RAW', 'CAN_BCM', 'CAN_ISOTP', 'CAN_J1939'] },
  { family: 30, name: 'AF_TIPC', configSym: 'CONFIG_TIPC', module: 'tipc', protoNames: ['TIPC'] },
  { family: 31, name: 'AF_BLUETOOTH', configSym: 'CONFIG_BT', module: 'bluetooth',
    protoNames: ['L2CAP', 'SCO', 'HCI', 'RFCOMM', 'BNEP', 'CMTP', 'HIDP', 'ISO'] },
  { family: 32, name: 'AF_IUCV', configSym: 'CONFIG_AFIUCV', module: 'af_iucv', protoNames: ['AF_IUCV'], note: 's390 only' },
  { family: 33, name: 'AF_RXRPC', configSym: 'CONFIG_AF_RXRPC', module: 'rxrpc', protoNames: ['RXRPC'] },
  { family: 34, name: 'AF_ISDN', configSym: 'CONFIG_MISDN', module: 'mISDN_core', protoNames: ['misdn'],
    note: 'drivers/isdn/mISDN/socket.c, linked into mISDN_core.ko' },
  { family: 35, name: 'AF_PHONET', configSym: 'CONFIG_PHONET', module: 'phonet', protoNames: ['PHONET', 'PNPIPE'] },
  { family: 36, name: 'AF_IEEE802154', configSym: 'CONFIG_IEEE802154_SOCKET', module: 'ieee802154_socket',
    protoNames: ['IEEE-802.15.4-RAW', 'IEEE-802.15.4-MAC'],
    note: 'before the socket code was split out (~4.x) it was af_802154.ko under CONFIG_IEEE802154' },
  { family: 37, name: 'AF_CAIF', configSym: 'CONFIG_CAIF', module: 'caif_socket', protoNames: ['PF_CAIF'],
    note: 'caif.ko is the core; caif_socket.ko (same symbol) registers the family' },
  { family: 38, name: 'AF_ALG', configSym: 'CONFIG_CRYPTO_USER_API', module: 'af_alg', protoNames: ['ALG'],
    note: 'crypto/af_alg.c; the algif_* modules are loaded at bind(), not at socket()' },
  { family: 39, name: 'AF_NFC', configSym: 'CONFIG_NFC', module: 'nfc', protoNames: ['NFC_RAW', 'NFC_LLCP'] },
  { family: 40, name: 'AF_VSOCK', configSym: 'CONFIG_VSOCKETS', module: 'vsock', protoNames: ['AF_VSOCK'],
    note: 'vsock.ko registers the family (since ~5.5); net-pf-40 is aliased to the transports, which depend on vsock' },
  { family: 41, name: 'AF_KCM', configSym: 'CONFIG_AF_KCM', module: 'kcm', protoNames: ['KCM'] },
  { family: 42, name: 'AF_QIPCRTR', configSym: 'CONFIG_QRTR', module: 'qrtr', protoNames: ['QIPCRTR'] },
  { family: 43, name: 'AF_SMC', configSym: 'CONFIG_SMC', module: 'smc', protoNames: ['SMC', 'SMC6'] },
  { family: 44, name: 'AF_XDP', configSym: 'CONFIG_XDP_SOCKETS', module: null, protoNames: ['XDP'],
    since: '4.18', note: 'CONFIG_XDP_SOCKETS is bool: built in or absent' },
  { family: 45, name: 'AF_MCTP', configSym: 'CONFIG_MCTP', module: 'mctp', protoNames: ['MCTP'], since: '5.15' },
];

/** AF_MAX (= NPROTO) of the 5.15+ kernels: families >= this are rejected by __sock_create. */
export const AF_MAX = 46;

/** The provider of one family, or undefined outside 0..AF_MAX-1. */
export function familyProvider(family: number): FamilyProvider | undefined {
  return Number.isInteger(family) && family >= 0 && family < FAMILY_PROVIDERS.length ? FAMILY_PROVIDERS[family] : undefined;
}

const byProtoName = new Map<string, number[]>();
for (const p of FAMILY_PROVIDERS) {
  for (const n of p.protoNames) byProtoName.set(n, [...(byProtoName.get(n) ?? []), p.family]);
}

/** Families whose registration a /proc/net/protocols name proves ("TCPv6" -> [10], "VCC" -> [8, 20]); [] if unknown. */
export function familiesOfProtoName(name: string): number[] {
  return byProtoName.get(name) ?? [];
}

/** One NETLINK_* protocol: who registers nl_table[protocol]. */
export interface NetlinkProvider {
  protocol: number;
  name: string;
  /** null: registered by core code on every kernel (ROUTE, USERSOCK, SOCK_DIAG, KOBJECT_UEVENT, GENERIC). */
  configSym: string | null;
  module: string | null;
  /**
   * The kernel socket exists in init_net only: the protocol is registered (registration is
   * global), but /proc/net/netlink of any other netns has no Pid-0 row for it.
   */
  initNetOnly?: true;
  /**
   * Registered without any kernel socket, so /proc/net/netlink never shows it
   * (NETLINK_USERSOCK: netlink_add_usersock_entry() in netlink_proto_init()).
   */
  noKernelSocket?: true;
  removedAfter?: string;
  /** configSym=y registers the protocol at boot only when this tristate is =y too (the code is part of its module). */
  builtInOnlyWith?: string;
}

export const NETLINK_PROVIDERS: readonly NetlinkProvider[] = [
  { protocol: 0, name: 'NETLINK_ROUTE', configSym: null, module: null },
  { protocol: 2, name: 'NETLINK_USERSOCK', configSym: null, module: null, noKernelSocket: true },
  { protocol: 4, name: 'NETLINK_SOCK_DIAG', configSym: null, module: null },
  { protocol: 6, name: 'NETLINK_XFRM', configSym: 'CONFIG_XFRM_USER', module: 'xfrm_user' },
  { protocol: 7, name: 'NETLINK_SELINUX', configSym: 'CONFIG_SECURITY_SELINUX', module: null, initNetOnly: true },
  { protocol: 8, name: 'NETLINK_ISCSI', configSym: 'CONFIG_SCSI_ISCSI_ATTRS', module: 'scsi_transport_iscsi', initNetOnly: true },
  { protocol: 9, name: 'NETLINK_AUDIT', configSym: 'CONFIG_AUDIT', module: null },
  { protocol: 10, name: 'NETLINK_FIB_LOOKUP', configSym: 'CONFIG_INET', module: null },
  { protocol: 11, name: 'NETLINK_CONNECTOR', configSym: 'CONFIG_CONNECTOR', module: 'cn', initNetOnly: true },
  { protocol: 12, name: 'NETLINK_NETFILTER', configSym: 'CONFIG_NETFILTER_NETLINK', module: 'nfnetlink' },
  { protocol: 14, name: 'NETLINK_DNRTMSG', configSym: 'CONFIG_DECNET', module: 'decnet', removedAfter: '6.0' },
  { protocol: 15, name: 'NETLINK_KOBJECT_UEVENT', configSym: null, module: null },
  { protocol: 16, name: 'NETLINK_GENERIC', configSym: null, module: null },
  // scsi_netlink.o is part of scsi_mod (drivers/scsi/Makefile: scsi_mod-$(CONFIG_SCSI_NETLINK)):
  // the bool is =y on Debian's kernels while CONFIG_SCSI=m, and then nothing registers 18 until
  // scsi_mod loads (measured: EPROTONOSUPPORT in a 6.1 cloud guest without scsi_mod).
  { protocol: 18, name: 'NETLINK_SCSITRANSPORT', configSym: 'CONFIG_SCSI_NETLINK', module: 'scsi_mod', initNetOnly: true, builtInOnlyWith: 'CONFIG_SCSI' },
  { protocol: 20, name: 'NETLINK_RDMA', configSym: 'CONFIG_INFINIBAND', module: 'ib_core' },
  { protocol: 21, name: 'NETLINK_CRYPTO', configSym: 'CONFIG_CRYPTO_USER', module: 'crypto_user' },
];

/**
 * Alias prefixes that request_module() can be called with on the socket() path, i.e. from
 * __sock_create and the ->create functions (every format checked in the kernel sources):
 *   net/socket.c            "net-pf-%d"
 *   net/ipv4/af_inet.c      "net-pf-%d-proto-%d-type-%d", "net-pf-%d-proto-%d"   (PF_INET)
 *   net/ipv6/af_inet6.c     the same with PF_INET6
 *   net/netlink/af_netlink.c "net-pf-%d-proto-%d"                                (PF_NETLINK)
 *   drivers/net/ppp/pppox.c "net-pf-%d-proto-%d" (PF_PPPOX); older kernels "pppox-proto-%d"
 *   net/phonet/af_phonet.c  "net-pf-%d-proto-%d"                                 (PF_PHONET)
 *   net/can/af_can.c        "can-proto-%d"
 *   net/bluetooth/af_bluetooth.c "bt-proto-%d"
 * Not on the socket() path (so not kept): "algif-%s" (AF_ALG bind), "tcp-ulp-%s"
 * (setsockopt TCP_ULP); net/nfc/af_nfc.c requests no module at all.
 */
export const SOCKET_ALIAS_PREFIXES: readonly string[] = ['net-pf-', 'can-proto-', 'bt-proto-', 'pppox-proto-'];

/**
 * LSM names (as in /sys/kernel/security/lsm and CONFIG_LSM) -> the config symbol that builds
 * them. "capability" is always active and always first.
 */
export const LSM_CONFIG: Readonly<Record<string, string | null>> = {
  capability: null,
  selinux: 'CONFIG_SECURITY_SELINUX',
  smack: 'CONFIG_SECURITY_SMACK',
  tomoyo: 'CONFIG_SECURITY_TOMOYO',
  apparmor: 'CONFIG_SECURITY_APPARMOR',
  yama: 'CONFIG_SECURITY_YAMA',
  loadpin: 'CONFIG_SECURITY_LOADPIN',
  safesetid: 'CONFIG_SECURITY_SAFESETID',
  lockdown: 'CONFIG_SECURITY_LOCKDOWN_LSM',
  landlock: 'CONFIG_SECURITY_LANDLOCK',
  bpf: 'CONFIG_BPF_LSM',
  integrity: 'CONFIG_INTEGRITY',
  ima: 'CONFIG_IMA',
  evm: 'CONFIG_EVM',
  ipe: 'CONFIG_SECURITY_IPE',
};
