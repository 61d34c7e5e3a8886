/** Address family names for RestrictAddressFamilies= (include/linux/socket.h). */
export const AF_NAMES_FOR_SYSTEMD: string[] = [
  'AF_UNSPEC', 'AF_UNIX', 'AF_INET', 'AF_AX25', 'AF_IPX', 'AF_APPLETALK', 'AF_NETROM', 'AF_BRIDGE', 'AF_ATMPVC', 'AF_X25',
  'AF_INET6', 'AF_ROSE', 'AF_DECnet', 'AF_NETBEUI', 'AF_SECURITY', 'AF_KEY', 'AF_NETLINK', 'AF_PACKET', 'AF_ASH', 'AF_ECONET',
  'AF_ATMSVC', 'AF_RDS', 'AF_SNA', 'AF_IRDA', 'AF_PPPOX', 'AF_WANPIPE', 'AF_LLC', 'AF_IB', 'AF_MPLS', 'AF_CAN',
  'AF_TIPC', 'AF_BLUETOOTH', 'AF_IUCV', 'AF_RXRPC', 'AF_ISDN', 'AF_PHONET', 'AF_IEEE802154', 'AF_CAIF', 'AF_ALG', 'AF_NFC',
  'AF_VSOCK', 'AF_KCM', 'AF_QIPCRTR', 'AF_SMC', 'AF_XDP', 'AF_MCTP',
];
const ALIASES: Record<string, number> = { AF_LOCAL: 1, AF_FILE: 1, AF_ROUTE: 16 };

/** AF_* name (or PF_*, or a number) -> number, or null. */
export function afNumber(name: string): number | null {
  if (/^\d+$/.test(name)) return Number(name);
  const n = name.replace(/^PF_/, 'AF_');
  const i = AF_NAMES_FOR_SYSTEMD.indexOf(n);
  if (i >= 0) return i;
  return ALIASES[n] ?? null;
}

/** systemd 252 (Debian bookworm) knows families below AF_MAX 46 (AF_MCTP is 45). */
export const SYSTEMD_AF_MAX = 46;
