/**
 * net/ipv4/af_inet.c: inet_create() and inetsw[].
 *
 *   protocol < 0 || >= IPPROTO_MAX          -> EINVAL (263 since 5.6, 256 before)
 *   walk inetsw[type] (empty -> ESOCKTNOSUPPORT, no match -> EPROTONOSUPPORT), retrying
 *     after request_module("net-pf-2-proto-P-type-T") and ("net-pf-2-proto-P")
 *   SOCK_RAW && !ns_capable(net->user_ns, CAP_NET_RAW) -> EPERM   (after the lookup)
 *   sk_alloc; RAW: inet_num = protocol and ->hash now; ->init (ping: EACCES, MPTCP: ENOPROTOOPT)
 *   BPF cgroup sock_create
 */
import { EINVAL } from '../../../abi/errno';
import type { Run } from '../../ctx';
import type { CreateCtx, NetProtoFamily, SockUnderConstruction } from '../../family';
import { dccpV4Protosw } from '../dccp/ipv4';
import { l2tpIpProtosw } from '../l2tp/l2tp_ip';
import { mptcpProtosw } from '../mptcp/protocol';
import { sctpSeqpacketProtosw, sctpStreamProtosw } from '../sctp/protocol';
import { smcInetProtosw } from '../smc/smc_inet';
import { pingInitSock } from './ping';
import { type InetFamilyDesc, type InetProtosw, inetLookupAndCreate, inetswLists } from './protosw';
import { udpliteProtosw } from './udplite';

/** inetsw_array[]: the entries inet_init() registers. */
export const tcpProtosw: InetProtosw = {
  type: 1, protocol: 6, permanent: true, protoName: 'TCP', configSym: 'CONFIG_INET',
  procNet: null, inuseAtCreate: false, initFn: 'tcp_v4_init_sock', source: 'net/ipv4/af_inet.c',
};
export const udpProtosw: InetProtosw = {
  type: 2, protocol: 17, permanent: true, protoName: 'UDP', configSym: 'CONFIG_INET',
  procNet: null, inuseAtCreate: false, initFn: 'udp_init_sock', source: 'net/ipv4/af_inet.c',
};
export const pingProtosw: InetProtosw = {
  type: 2, protocol: 1, permanent: false, protoName: 'PING', configSym: 'CONFIG_INET', since: '3.0',
  procNet: null, inuseAtCreate: false, initFn: 'ping_init_sock', init: (run) => pingInitSock(run), source: 'net/ipv4/af_inet.c',
};
export const rawProtosw: InetProtosw = {
  type: 3, protocol: 0, permanent: false, protoName: 'RAW', configSym: 'CONFIG_INET',
  procNet: 'raw', inuseAtCreate: true, initFn: 'raw_sk_init', source: 'net/ipv4/af_inet.c',
};

export const inetsw = inetswLists([
  tcpProtosw, udpProtosw, pingProtosw, rawProtosw, udpliteProtosw, mptcpProtosw,
  sctpSeqpacketProtosw, sctpStreamProtosw, l2tpIpProtosw, smcInetProtosw, dccpV4Protosw,
]);

const desc: InetFamilyDesc = { pf: 2, fn: 'inet_create', lists: inetsw };

/** The protocol range check both inet_create and inet6_create start with. */
export function inetProtocolInRange(run: Run, fn: string, protocol: number): number {
  let max = run.state.ipprotoMax;
  if (max === null) max = run.kernelAtLeast('5.6') ? 263 : 256;
  if (protocol < 0 || protocol >= max) {
    return run.fail(fn, run.tracing ? `protocol ${protocol} outside 0..${max - 1} (IPPROTO_MAX = ${max})` : '', EINVAL, run.tracing ? run.use('kernel.release') : undefined);
  }
  return 0;
}

export function inetCreate(ctx: CreateCtx, sock: SockUnderConstruction, protocol: number): number {
  const run = ctx as Run;
  const r = inetProtocolInRange(run, 'inet_create', protocol);
  if (r < 0) return r;
  return inetLookupAndCreate(run, desc, sock, protocol);
}

export const inetFamily: NetProtoFamily = {
  family: 2,
  name: 'PF_INET',
  createFn: 'inet_create',
  source: 'net/ipv4/af_inet.c',
  configSym: 'CONFIG_INET',
  create: inetCreate,
};
