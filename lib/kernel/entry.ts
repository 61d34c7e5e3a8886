/**
 * Syscall entry: how a call reaches __sys_socket, and what stands in front of it.
 *
 *   syscall_trace_enter -> __secure_computing (seccomp filters, issue 11)
 *     -> socket(2):      __x64_sys_socket, __arm64_sys_socket, sys_socket (mips n64), or on an
 *                        x86-64 kernel a 32-bit process's int $0x80 #359 -> __ia32_sys_socket
 *     -> socketcall(2):  #102 on i386: sys_socketcall (net/socket.c), or on an x86-64 kernel
 *                        __ia32_compat_sys_socketcall (net/compat.c); SYS_SOCKET only
 *       -> __sys_socket (net/socket.ts)
 *
 * SHARED CONTRACT (issues 11, 13, 17): every prediction enters here. The seccomp stage is
 * the first step of the trace; the route is chosen by `entry.route` on `entry.abi`.
 *
 * The ABI translation happens here and only here: the caller's type argument is turned into
 * the generic numbering the model runs on (lib/abi/arch.ts typeIn), and the model's errno back
 * into the caller's (errnoOut; a trace's failing steps too). A seccomp RET_ERRNO is the
 * filter's own number and is returned untranslated.
 */
import type { Abi, EntryRoute } from '../abi/arch';
import { ABIS, errnoOut, typeIn } from '../abi/arch';
import { EFAULT, EINVAL } from '../abi/errno';
import type { Run } from './ctx';
import { type SocketOut, sysSocket } from './net/socket';
import { SECCOMP_RUN, SECCOMP_SIGNALLED, secureComputing, type Regs, type SeccompVerdict } from './kernel/seccomp';

/** include/uapi/linux/net.h: socketcall's call numbers. */
export const SYS_SOCKET = 1;
export const SYS_SENDMMSG = 20;

export interface Entry {
  /** The caller's ABI (a 32-bit process on an x86-64 kernel: i386). */
  abi: Abi;
  route: EntryRoute;
  /**
   * socketcall only: the call number passed (default SYS_SOCKET), and whether the argument
   * block the second argument points at can be read (default true). The model predicts
   * socket(): a call number in range other than SYS_SOCKET is refused when the model is made.
   */
  call?: number;
  argsReadable?: boolean;
}

export const NATIVE_X86_64: Entry = { abi: ABIS.x86_64, route: 'socket' };

/** The native socket(2) entry of a kernel whose ABI is `abi`. */
export function nativeEntry(abi: Abi): Entry {
  return { abi, route: 'socket' };
}

/**
 * Check an entry against the kernel it enters (the profile's native ABI): the route must
 * exist for the caller's ABI, and a caller of another ABI needs that kernel's compat entry.
 * Returns the kernel function names the trace uses; throws RangeError naming what is wrong.
 */
export function resolveEntry(entry: Entry, kernel: Abi, ia32Emulation: string | null): { socketFn: string; socketcallFn: string | null; compat: boolean } {
  const a = entry.abi;
  const compat = a.name !== kernel.name;
  if (compat && !(kernel.name === 'x86_64' && a.name === 'i386')) {
    throw new RangeError(`a ${a.name} caller cannot run on a ${kernel.name} kernel (sockbridge models the compat entry of x86_64 kernels for i386 callers only)`);
  }
  if (compat && ia32Emulation !== null && ia32Emulation !== 'y') {
    throw new RangeError('an i386 caller needs CONFIG_IA32_EMULATION=y on the x86_64 kernel; the profile\'s config does not set it, so no 32-bit process can run there');
  }
  if (entry.route === 'socketcall') {
    if (a.nr.socketcall === null) throw new RangeError(`the ${a.name} ABI has no socketcall(2); its only route to __sys_socket is socket(2)`);
    const call = entry.call ?? SYS_SOCKET;
    if (!Number.isInteger(call) || call < -2147483648 || call > 2147483647) throw new RangeError(`bad socketcall call number ${String(call)}: a 32-bit signed integer`);
    if (call > SYS_SOCKET && call <= SYS_SENDMMSG) {
      throw new RangeError(`socketcall call ${call} is not SYS_SOCKET (1): sockbridge predicts socket() only (calls outside 1..${SYS_SENDMMSG} are predicted: EINVAL)`);
    }
  } else if (a.nr.socket === null) {
    throw new RangeError(`the ${a.name} ABI has no socket(2) syscall`);
  }
  const socketFn = compat ? '__ia32_sys_socket'
    : a.name === 'x86_64' ? '__x64_sys_socket' : a.name === 'aarch64' ? '__arm64_sys_socket' : a.name === 'i386' ? '__ia32_sys_socket' : 'sys_socket';
  const socketcallFn = a.nr.socketcall === null ? null : compat ? '__ia32_compat_sys_socketcall' : 'sys_socketcall';
  return { socketFn, socketcallFn, compat };
}

/** Returned (instead of an fd or -errno) when the seccomp stage sent a signal: see out.seccomp. */
export const ENTRY_SIGNALLED = -0x10000;

/**
 * One call from the syscall boundary: fd, or -errno in the caller's ABI's numbering, or
 * ENTRY_SIGNALLED (seccomp TRAP/KILL: out.seccomp says which).
 */
export function syscallEntry(run: Run, entry: Entry, family: number, type: number, protocol: number, out: SocketOut): number {
  const tr = run.tracing;
  const abi = entry.abi;
  // __secure_computing first: the filters see the registers as the caller passed them (the
  // caller's numbering), and their RET_ERRNO is returned as it is, untranslated.
  const sc = run.state.seccomp;
  if (sc !== null) {
    const v: SeccompVerdict = out.seccomp ?? (out.seccomp = { signal: 0, fatal: false, notRun: false, decision: null });
    const viaSocketcall = entry.route === 'socketcall';
    const nr = viaSocketcall ? abi.nr.socketcall : abi.nr.socket;
    if (nr === null) throw new RangeError(`ABI ${abi.name} has no ${entry.route} syscall`);
    // socketcall(call, &args): seccomp sees the call number and a pointer it cannot follow.
    let regs: Regs | null = out.regs ?? null;
    if (viaSocketcall) regs = [[(entry.call ?? SYS_SOCKET) >>> 0, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0]];
    // A compat entry's registers are 32 bits wide: seccomp_data holds them zero-extended.
    else if (regs !== null && (abi.args32 || run.entryFns.compat)) regs = regs.map(([lo]) => [lo, 0] as [number, number]);
    const r = secureComputing(run, sc, nr, abi.auditArch, viaSocketcall ? 'socketcall' : 'socket', family, type, protocol, regs, v);
    if (r === SECCOMP_SIGNALLED) return ENTRY_SIGNALLED;
    if (r !== SECCOMP_RUN) return r;
  } else if (out.seccomp) {
    out.seccomp.signal = 0;
    out.seccomp.notRun = false;
    out.seccomp.decision = null;
  }
  if (entry.route === 'socketcall') {
    const r = socketcall(run, entry);
    if (r < 0) return r;
  } else if (tr) {
    run.step({
      fn: run.entryFns.socketFn,
      what: `syscall ${abi.nr.socket} (${abi.name}${run.entryFns.compat ? ', compat entry of the x86_64 kernel' : ''}): socket(${family}, ${type}, ${protocol})`,
      outcome: 'pass',
    });
  }
  if (abi.generic) return sysSocket(run, family, type, protocol, out);
  const t = typeIn(abi, type);
  if (tr && t !== type) {
    run.step({
      fn: run.entryFns.socketFn,
      what: `${abi.name} numbers type ${type} (0x${(type >>> 0).toString(16)}); in the generic numbering the model runs on that is ${t} (0x${(t >>> 0).toString(16)})`,
      outcome: 'info',
    });
  }
  const ret = sysSocket(run, family, t, protocol, out);
  if (ret >= 0) return ret;
  if (tr) {
    for (const s of run.trace) if (s.errno !== undefined) s.errno = errnoOut(abi, s.errno);
  }
  return -errnoOut(abi, -ret);
}

/**
 * sys_socketcall (net/socket.c) / compat_sys_socketcall (net/compat.c):
 *   if (call < SYS_SOCKET || call > SYS_SENDMMSG) return -EINVAL;   (native: call < 1)
 *   len = nargs[call] (nas[] for compat: u32 words)
 *   if (copy_from_user(a, args, len)) return -EFAULT;
 *   audit_socketcall(...)  (fails only for a bad nargs, which a fixed table never has)
 *   case SYS_SOCKET: __sys_socket(a[0], a[1], a[2])
 * Returns 0 to go on, or -errno (EINVAL and EFAULT are errno-base: the same on every ABI).
 */
function socketcall(run: Run, entry: Entry): number {
  const tr = run.tracing;
  const fn = run.entryFns.socketcallFn ?? 'sys_socketcall';
  const call = entry.call ?? SYS_SOCKET;
  if (call < SYS_SOCKET || call > SYS_SENDMMSG) {
    return run.fail(fn, tr ? `call ${call} outside SYS_SOCKET..SYS_SENDMMSG (1..${SYS_SENDMMSG})` : '', EINVAL);
  }
  const words = run.entryFns.compat || entry.abi.args32 ? 'u32' : 'unsigned long';
  if (entry.argsReadable === false) {
    return run.fail(fn, tr ? `copy_from_user of the argument block (3 x ${words}) faults` : '', EFAULT);
  }
  if (tr) {
    run.step({
      fn,
      what: `syscall ${entry.abi.nr.socketcall}: call SYS_SOCKET; copy_from_user(a, args, 3 x ${words}) -> __sys_socket(a[0], a[1], a[2])`,
      outcome: 'pass',
    });
  }
  return 0;
}
