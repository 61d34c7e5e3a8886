/**
 * net/ipv4/udplite.c, net/ipv6/udplite.c: UDP-Lite (SOCK_DGRAM, IPPROTO_UDPLITE = 136),
 * registered by inet_init()/inet6_init() with the rest of INET, no config of its own. Its
 * protos are "UDP-Lite" and "UDPLITEv6". Retired after 7.0 (commits 56520b398e5e and
 * 62554a51c584, per the project reference; the date is UNVERIFIED here).
 */
import type { InetProtosw } from './protosw';

const base = { type: 2, protocol: 136, permanent: false, procNet: null, inuseAtCreate: false, removedAfter: '7.0' } as const;

export const udpliteProtosw: InetProtosw = { ...base, protoName: 'UDP-Lite', configSym: 'CONFIG_INET', source: 'net/ipv4/udplite.c' };
export const udpliteV6Protosw: InetProtosw = { ...base, protoName: 'UDPLITEv6', configSym: 'CONFIG_IPV6', module: 'ipv6', source: 'net/ipv6/udplite.c' };
