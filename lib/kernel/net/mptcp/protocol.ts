/**
 * net/mptcp/protocol.c: the MPTCP inet_protosw entries (SOCK_STREAM, IPPROTO_MPTCP = 262,
 * non-permanent, so protocol 0 still gives TCP) and mptcp_init_sock(), which refuses with
 * ENOPROTOOPT when net.mptcp.enabled is 0 in the socket's netns. Since 5.6; CONFIG_MPTCP is
 * a bool (never a module), MPTCPv6 needs CONFIG_MPTCP_IPV6.
 */
import { ENOPROTOOPT } from '../../../abi/errno';
import type { Run } from '../../ctx';
import type { InetProtosw } from '../ipv4/protosw';

export function mptcpInitSock(run: Run): number {
  const en = run.fact<number>('net.mptcp.enabled', [1, 0]);
  if (!en.value) {
    return run.fail('mptcp_init_sock', run.tracing ? 'mptcp_is_enabled(net) is false' : '', ENOPROTOOPT, en.use);
  }
  if (run.tracing) run.step({ fn: 'mptcp_init_sock', what: 'net.mptcp.enabled -> allowed', outcome: 'pass', fact: en.use });
  return 0;
}

const base = {
  type: 1, protocol: 262, permanent: false, procNet: null, inuseAtCreate: false,
  since: '5.6', initFn: 'mptcp_init_sock', init: mptcpInitSock, source: 'net/mptcp/protocol.c',
} as const;

export const mptcpProtosw: InetProtosw = { ...base, protoName: 'MPTCP', configSym: 'CONFIG_MPTCP' };
export const mptcpV6Protosw: InetProtosw = { ...base, protoName: 'MPTCPv6', configSym: 'CONFIG_MPTCP_IPV6' };
