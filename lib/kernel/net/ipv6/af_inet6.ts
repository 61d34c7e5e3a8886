/**
 * net/ipv6/af_inet6.c: inet6_create() and inetsw6[]. The same checks in the same order as
 * inet_create (the kernel duplicates the loop), with the INET6 entries: TCPv6, UDPv6,
 * PINGv6 (ping_init_sock, reading the IPv4 net.ipv4.ping_group_range), RAWv6 (hashed at
 * create: /proc/net/raw6), UDPLITEv6, MPTCPv6, and SCTPv6 / L2TP/IPv6 / INET6_SMC / DCCPv6
 * when built. No SOCK_PACKET rewrite reaches here: inetsw6[SOCK_PACKET] is empty.
 */
import type { Run } from '../../ctx';
import type { CreateCtx, NetProtoFamily, SockUnderConstruction } from '../../family';
import { dccpV6Protosw } from '../dccp/ipv4';
import { inetProtocolInRange } from '../ipv4/af_inet';
import { pingInitSock } from '../ipv4/ping';
import { type InetFamilyDesc, type InetProtosw, inetLookupAndCreate, inetswLists } from '../ipv4/protosw';
import { udpliteV6Protosw } from '../ipv4/udplite';
import { l2tpIp6Protosw } from '../l2tp/l2tp_ip';
import { mptcpV6Protosw } from '../mptcp/protocol';
import { sctpV6SeqpacketProtosw, sctpV6StreamProtosw } from '../sctp/protocol';
import { smcInet6Protosw } from '../smc/smc_inet';

const v6 = { configSym: 'CONFIG_IPV6', module: 'ipv6' } as const;

export const tcpv6Protosw: InetProtosw = {
  ...v6, type: 1, protocol: 6, permanent: true, protoName: 'TCPv6', procNet: null, inuseAtCreate: false,
  initFn: 'tcp_v6_init_sock', source: 'net/ipv6/tcp_ipv6.c',
};
export const udpv6Protosw: InetProtosw = {
  ...v6, type: 2, protocol: 17, permanent: true, protoName: 'UDPv6', procNet: null, inuseAtCreate: false,
  initFn: 'udpv6_init_sock', source: 'net/ipv6/udp.c',
};
export const pingv6Protosw: InetProtosw = {
  ...v6, type: 2, protocol: 58, permanent: false, protoName: 'PINGv6', since: '3.11', procNet: null, inuseAtCreate: false,
  initFn: 'ping_init_sock', init: (run) => pingInitSock(run), source: 'net/ipv6/ping.c',
};
export const rawv6Protosw: InetProtosw = {
  ...v6, type: 3, protocol: 0, permanent: false, protoName: 'RAWv6', procNet: 'raw6', inuseAtCreate: true,
  initFn: 'rawv6_init_sk', source: 'net/ipv6/raw.c',
};

export const inetsw6 = inetswLists([
  tcpv6Protosw, udpv6Protosw, pingv6Protosw, rawv6Protosw, udpliteV6Protosw, mptcpV6Protosw,
  sctpV6SeqpacketProtosw, sctpV6StreamProtosw, l2tpIp6Protosw, smcInet6Protosw, dccpV6Protosw,
]);

const desc: InetFamilyDesc = { pf: 10, fn: 'inet6_create', lists: inetsw6 };

export function inet6Create(ctx: CreateCtx, sock: SockUnderConstruction, protocol: number): number {
  const run = ctx as Run;
  const r = inetProtocolInRange(run, 'inet6_create', protocol);
  if (r < 0) return r;
  return inetLookupAndCreate(run, desc, sock, protocol);
}

export const inet6Family: NetProtoFamily = {
  family: 10,
  name: 'PF_INET6',
  createFn: 'inet6_create',
  source: 'net/ipv6/af_inet6.c',
  configSym: 'CONFIG_IPV6',
  module: 'ipv6',
  create: inet6Create,
};
