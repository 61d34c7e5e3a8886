/**
 * net/smc/smc_inet.c (6.11+): SMC reachable as {AF_INET/AF_INET6, SOCK_STREAM, IPPROTO_SMC = 256}.
 * smc_inet_init_sock -> smc_sk_init hashes the socket (smc_hash_sk: sock_prot_inuse_add),
 * and creates the internal TCP clcsock as a kernel socket. Module "smc" (CONFIG_SMC).
 * (AF_SMC, family 43, is a separate family: lib/kernel/net/smc/af_smc.ts.)
 */
import type { InetProtosw } from '../ipv4/protosw';

const base = {
  type: 1, protocol: 256, permanent: false, procNet: null, inuseAtCreate: true,
  configSym: 'CONFIG_SMC', module: 'smc', since: '6.11', initFn: 'smc_inet_init_sock', source: 'net/smc/smc_inet.c',
} as const;

export const smcInetProtosw: InetProtosw = { ...base, protoName: 'INET_SMC' };
export const smcInet6Protosw: InetProtosw = { ...base, protoName: 'INET6_SMC', requires: ['CONFIG_IPV6'] };
