/**
 * net/sctp/protocol.c: SCTP registers {SOCK_SEQPACKET, IPPROTO_SCTP} (one-to-many) and
 * {SOCK_STREAM, IPPROTO_SCTP} (one-to-one) for INET, and the same for INET6 when IPv6 is
 * there. sctp_init_sock() counts the socket in /proc/net/protocols (sock_prot_inuse_add)
 * at create. The module "sctp" answers net-pf-2-proto-132 and net-pf-10-proto-132.
 */
import type { InetProtosw } from '../ipv4/protosw';

const base = {
  protocol: 132, permanent: false, procNet: null, inuseAtCreate: true,
  configSym: 'CONFIG_IP_SCTP', module: 'sctp', initFn: 'sctp_init_sock', source: 'net/sctp/protocol.c',
} as const;

export const sctpSeqpacketProtosw: InetProtosw = { ...base, type: 5, protoName: 'SCTP' };
export const sctpStreamProtosw: InetProtosw = { ...base, type: 1, protoName: 'SCTP' };
export const sctpV6SeqpacketProtosw: InetProtosw = { ...base, type: 5, protoName: 'SCTPv6', source: 'net/sctp/ipv6.c' };
export const sctpV6StreamProtosw: InetProtosw = { ...base, type: 1, protoName: 'SCTPv6', source: 'net/sctp/ipv6.c' };
