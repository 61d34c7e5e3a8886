/**
 * Syscall entry: how a call reaches __sys_socket, and what stands in front of it.
 *
 *   syscall_trace_enter -> __secure_computing (seccomp filters, issue 11)
 *     -> sys_socket (native, or __ia32_sys_socket on a compat entry)
 *     -> or sys_socketcall(SYS_SOCKET, args) / __ia32_compat_sys_socketcall (issue 13)
 *       -> __sys_socket (net/socket.ts)
 *
 * SHARED CONTRACT (issues 11, 13, 17): every prediction enters here. The seccomp stage is
 * the first step of the trace; the route is chosen by `entry.route` on `entry.abi`.
 * Arguments reach __sys_socket as C ints already translated to generic numbers by the Abi.
 */
import type { Abi, EntryRoute } from '../abi/arch';
import { ABIS } from '../abi/arch';
import type { Run } from './ctx';
import { type SocketOut, sysSocket } from './net/socket';

export interface Entry {
  abi: Abi;
  route: EntryRoute;
}

export const NATIVE_X86_64: Entry = { abi: ABIS.x86_64, route: 'socket' };

/** One call from the syscall boundary: fd or -errno. */
export function syscallEntry(run: Run, entry: Entry, family: number, type: number, protocol: number, out: SocketOut): number {
  void entry;
  return sysSocket(run, family, type, protocol, out);
}
