/**
 * net/dccp/ipv4.c, ipv6.c: DCCP, {SOCK_DCCP = 6, IPPROTO_DCCP = 33}, the only entry of
 * inetsw[SOCK_DCCP] (so protocol 0 picks it). Modules dccp_ipv4 / dccp_ipv6 (CONFIG_IP_DCCP).
 * Removed from Linux in 6.16 (2a63dd0edf38): from then on SOCK_DCCP has an empty list.
 */
import type { InetProtosw } from '../ipv4/protosw';

const base = { type: 6, protocol: 33, permanent: false, procNet: null, inuseAtCreate: false, configSym: 'CONFIG_IP_DCCP', removedAfter: '6.15' } as const;

export const dccpV4Protosw: InetProtosw = { ...base, protoName: 'DCCP', module: 'dccp_ipv4', initFn: 'dccp_v4_init_sock', source: 'net/dccp/ipv4.c' };
export const dccpV6Protosw: InetProtosw = { ...base, protoName: 'DCCPv6', module: 'dccp_ipv6', requires: ['CONFIG_IPV6'], initFn: 'dccp_v6_init_sock', source: 'net/dccp/ipv6.c' };
