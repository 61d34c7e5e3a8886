/**
 * The ABI layer: the numbers that move between architectures and between a 64-bit kernel's
 * native and compat entries. The model's logic is one; it runs on the *generic* numbers of
 * lib/abi/constants.ts and lib/abi/errno.ts, and an Abi translates at the edges:
 *
 *   caller's type argument  --typeIn-->   generic type + generic flag bits  (model)
 *   model's generic errno   --errnoOut--> the caller's errno number
 *   model's SO_TYPE         --sockTypeOut--> the caller's SOCK_* number
 *   model's file flags      --fileFlagsOut--> O_* bits as fdinfo / F_GETFL show them there
 *
 * Also the syscall facts seccomp sees (struct seccomp_data.nr and .arch) for each entry.
 *
 * SHARED CONTRACT (issues 11, 13, 17): add architectures here, do not fork the table.
 * Values marked `verify` come from ../shared/reference/policies-and-abis.md and must be
 * checked against arch/<arch>/include/uapi/asm/*.h before they are relied on.
 */

export type AbiName = 'x86_64' | 'i386' | 'aarch64' | 'mips64el';

/** How a call reaches __sys_socket on this ABI. */
export type EntryRoute = 'socket' | 'socketcall';

export interface Abi {
  name: AbiName;
  /** uname -m values of kernels that run this ABI natively (the profile's kernel.machine). */
  machines: string[];
  /** AUDIT_ARCH_* (struct seccomp_data.arch). */
  auditArch: number;
  /** Syscall numbers (struct seccomp_data.nr); null when the ABI has no such entry. */
  nr: { socket: number | null; socketcall: number | null };
  /** Whether arguments are 32-bit registers (compat / 32-bit ABIs): seccomp sees them zero-extended. */
  args32: boolean;
  /** SOCK_* base types as this ABI numbers them, by generic name. */
  sockTypes: Record<string, number>;
  SOCK_NONBLOCK: number;
  SOCK_CLOEXEC: number;
  O_NONBLOCK: number;
  O_CLOEXEC: number;
  O_RDWR: number;
  /** SOL_SOCKET and the SO_* options the kernel road reads. */
  SOL_SOCKET: number;
  SO_TYPE: number;
  SO_PROTOCOL: number;
  SO_DOMAIN: number;
  /** generic errno number -> this ABI's number, only where they differ. */
  errnoRenumber: Record<number, number>;
}

const GENERIC_TYPES = { SOCK_STREAM: 1, SOCK_DGRAM: 2, SOCK_RAW: 3, SOCK_RDM: 4, SOCK_SEQPACKET: 5, SOCK_DCCP: 6, SOCK_PACKET: 10 };

const GENERIC = {
  sockTypes: GENERIC_TYPES,
  SOCK_NONBLOCK: 0o4000, SOCK_CLOEXEC: 0o2000000, O_NONBLOCK: 0o4000, O_CLOEXEC: 0o2000000, O_RDWR: 2,
  SOL_SOCKET: 1, SO_TYPE: 3, SO_PROTOCOL: 38, SO_DOMAIN: 39,
  errnoRenumber: {},
};

export const ABIS: Record<AbiName, Abi> = {
  x86_64: { name: 'x86_64', machines: ['x86_64'], auditArch: 0xc000003e, nr: { socket: 41, socketcall: null }, args32: false, ...GENERIC },
  // i386 natively, or a 32-bit process on an x86-64 kernel (CONFIG_IA32_EMULATION): 359 -> __ia32_sys_socket,
  // 102 -> __ia32_compat_sys_socketcall.
  i386: { name: 'i386', machines: ['i386', 'i486', 'i586', 'i686'], auditArch: 0x40000003, nr: { socket: 359, socketcall: 102 }, args32: true, ...GENERIC },
  aarch64: { name: 'aarch64', machines: ['aarch64'], auditArch: 0xc00000b7, nr: { socket: 198, socketcall: null }, args32: false, ...GENERIC },
  // verify (issue 13): mips n64, little endian.
  mips64el: {
    name: 'mips64el', machines: ['mips64'], auditArch: 0xc0000008, nr: { socket: 5040, socketcall: null }, args32: false,
    sockTypes: { ...GENERIC_TYPES, SOCK_STREAM: 2, SOCK_DGRAM: 1 },
    SOCK_NONBLOCK: 0x80, SOCK_CLOEXEC: 0x80000, O_NONBLOCK: 0x80, O_CLOEXEC: 0x80000, O_RDWR: 2,
    SOL_SOCKET: 0xffff, SO_TYPE: 0x1008, SO_PROTOCOL: 0x1028, SO_DOMAIN: 0x1029,
    errnoRenumber: { 91: 98, 92: 99, 93: 120, 94: 121, 95: 122, 96: 123, 97: 124, 105: 132, 38: 89 },
  },
};

/** The ABI of a profile's kernel (uname -m), for a native caller. */
export function abiForMachine(machine: string | null): Abi {
  if (machine === null) return ABIS.x86_64;
  for (const a of Object.values(ABIS)) if (a.machines.includes(machine)) return a;
  throw new RangeError(`unknown machine "${machine}": sockbridge models ${Object.values(ABIS).flatMap((a) => a.machines).join(', ')}`);
}

export function abiByName(name: string): Abi {
  const a = (ABIS as Record<string, Abi>)[name];
  if (!a) throw new RangeError(`unknown ABI "${name}": expected one of ${Object.keys(ABIS).join(', ')}`);
  return a;
}
