/**
 * The ABI layer: the numbers that move between architectures and between a 64-bit kernel's
 * native and compat entries. The model's logic is one; it runs on the *generic* numbers of
 * lib/abi/constants.ts and lib/abi/errno.ts, and an Abi translates at the edges:
 *
 *   caller's type argument  --typeIn-->       generic type + generic flag bits  (model)
 *   model's generic errno   --errnoOut-->     the caller's errno number
 *   model's SO_TYPE         --sockTypeOut-->  the caller's SOCK_* number
 *   model's file flags      --fileFlagsOut--> O_* bits as fdinfo / F_GETFL show them there
 *
 * Also the syscall facts seccomp sees (struct seccomp_data.nr and .arch) for each entry.
 *
 * Every number was checked against the kernel's headers (torvalds/linux):
 *   include/linux/net.h                    enum sock_type, SOCK_MAX, SOCK_TYPE_MASK, SOCK_CLOEXEC = O_CLOEXEC,
 *                                          SOCK_NONBLOCK = O_NONBLOCK (unless ARCH_HAS_SOCKET_TYPES)
 *   include/uapi/asm-generic/{errno-base,errno,fcntl,socket}.h   the generic ABI (x86, arm64)
 *   arch/mips/include/asm/socket.h         ARCH_HAS_SOCKET_TYPES: SOCK_DGRAM 1, SOCK_STREAM 2
 *   arch/mips/include/uapi/asm/socket.h    SOL_SOCKET 0xffff, SO_TYPE 0x1008, SO_PROTOCOL 0x1028, SO_DOMAIN 0x1029
 *   arch/mips/include/uapi/asm/fcntl.h     O_NONBLOCK 0x80 (O_CLOEXEC stays the generic 02000000)
 *   arch/mips/include/uapi/asm/errno.h     errno 35 and up renumbered (EDQUOT 1133)
 *   arch/mips/kernel/syscalls/syscall_n64.tbl  socket 40 + __NR_Linux 5000
 *   arch/x86/entry/syscalls/syscall_32.tbl socket 359, socketcall 102; include/uapi/asm-generic/unistd.h socket 198
 *   include/uapi/linux/audit.h             AUDIT_ARCH_* = EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
 * arm64 and i386 use the generic numbers throughout (their asm/socket.h, sockios.h, errno.h and
 * the parts of fcntl.h socket() shows are asm-generic's).
 *
 * SHARED CONTRACT (issues 11, 13, 17): add architectures here, do not fork the table.
 */

export type AbiName = 'x86_64' | 'i386' | 'aarch64' | 'mips64el';

/** How a call reaches __sys_socket on this ABI. */
export type EntryRoute = 'socket' | 'socketcall';

export interface Abi {
  name: AbiName;
  /** uname -m values of kernels that run this ABI natively (the profile's kernel.machine). */
  machines: string[];
  /** Debian's name of the architecture (dpkg --print-architecture). */
  debianArch: string;
  /** AUDIT_ARCH_* (struct seccomp_data.arch). */
  auditArch: number;
  /** Syscall numbers (struct seccomp_data.nr); null when the ABI has no such entry. */
  nr: { socket: number | null; socketcall: number | null };
  /** Whether arguments are 32-bit registers (compat / 32-bit ABIs): seccomp sees them zero-extended. */
  args32: boolean;
  /** Whether every number below equals the generic one (the translations are the identity). */
  generic: boolean;
  /** SOCK_* base types as this ABI numbers them, by name. */
  sockTypes: Readonly<Record<string, number>>;
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
  /** errno name -> this ABI's number (every name the ABI defines). */
  errnos: Readonly<Record<string, number>>;
  /** generic errno number -> this ABI's number (index = generic number; identity where equal). */
  errnoOutTable: Int32Array;
  /** this ABI's errno number -> generic number. */
  errnoInTable: Map<number, number>;
}

// ---------------------------------------------------------------------------
// errno tables
// ---------------------------------------------------------------------------

/** include/uapi/asm-generic/errno-base.h: the same on every architecture. */
const ERRNO_BASE: Record<string, number> = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9, ECHILD: 10,
  EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, ENOTBLK: 15, EBUSY: 16, EEXIST: 17, EXDEV: 18, ENODEV: 19,
  ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23, EMFILE: 24, ENOTTY: 25, ETXTBSY: 26, EFBIG: 27, ENOSPC: 28,
  ESPIPE: 29, EROFS: 30, EMLINK: 31, EPIPE: 32, EDOM: 33, ERANGE: 34,
};

/** include/uapi/asm-generic/errno.h (x86, arm64, riscv, ...). */
export const GENERIC_ERRNOS: Readonly<Record<string, number>> = {
  ...ERRNO_BASE,
  EDEADLK: 35, ENAMETOOLONG: 36, ENOLCK: 37, ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40, ENOMSG: 42, EIDRM: 43,
  ECHRNG: 44, EL2NSYNC: 45, EL3HLT: 46, EL3RST: 47, ELNRNG: 48, EUNATCH: 49, ENOCSI: 50, EL2HLT: 51, EBADE: 52,
  EBADR: 53, EXFULL: 54, ENOANO: 55, EBADRQC: 56, EBADSLT: 57, EBFONT: 59, ENOSTR: 60, ENODATA: 61, ETIME: 62,
  ENOSR: 63, ENONET: 64, ENOPKG: 65, EREMOTE: 66, ENOLINK: 67, EADV: 68, ESRMNT: 69, ECOMM: 70, EPROTO: 71,
  EMULTIHOP: 72, EDOTDOT: 73, EBADMSG: 74, EOVERFLOW: 75, ENOTUNIQ: 76, EBADFD: 77, EREMCHG: 78, ELIBACC: 79,
  ELIBBAD: 80, ELIBSCN: 81, ELIBMAX: 82, ELIBEXEC: 83, EILSEQ: 84, ERESTART: 85, ESTRPIPE: 86, EUSERS: 87,
  ENOTSOCK: 88, EDESTADDRREQ: 89, EMSGSIZE: 90, EPROTOTYPE: 91, ENOPROTOOPT: 92, EPROTONOSUPPORT: 93,
  ESOCKTNOSUPPORT: 94, EOPNOTSUPP: 95, EPFNOSUPPORT: 96, EAFNOSUPPORT: 97, EADDRINUSE: 98, EADDRNOTAVAIL: 99,
  ENETDOWN: 100, ENETUNREACH: 101, ENETRESET: 102, ECONNABORTED: 103, ECONNRESET: 104, ENOBUFS: 105,
  EISCONN: 106, ENOTCONN: 107, ESHUTDOWN: 108, ETOOMANYREFS: 109, ETIMEDOUT: 110, ECONNREFUSED: 111,
  EHOSTDOWN: 112, EHOSTUNREACH: 113, EALREADY: 114, EINPROGRESS: 115, ESTALE: 116, EUCLEAN: 117, ENOTNAM: 118,
  ENAVAIL: 119, EISNAM: 120, EREMOTEIO: 121, EDQUOT: 122, ENOMEDIUM: 123, EMEDIUMTYPE: 124, ECANCELED: 125,
  ENOKEY: 126, EKEYEXPIRED: 127, EKEYREVOKED: 128, EKEYREJECTED: 129, EOWNERDEAD: 130, ENOTRECOVERABLE: 131,
  ERFKILL: 132, EHWPOISON: 133,
};

/** arch/mips/include/uapi/asm/errno.h (every MIPS ABI: o32, n32, n64). EINIT and EREMDEV exist only here. */
const MIPS_ERRNOS: Readonly<Record<string, number>> = {
  ...ERRNO_BASE,
  ENOMSG: 35, EIDRM: 36, ECHRNG: 37, EL2NSYNC: 38, EL3HLT: 39, EL3RST: 40, ELNRNG: 41, EUNATCH: 42, ENOCSI: 43,
  EL2HLT: 44, EDEADLK: 45, ENOLCK: 46, EBADE: 50, EBADR: 51, EXFULL: 52, ENOANO: 53, EBADRQC: 54, EBADSLT: 55,
  EDEADLOCK: 56, EBFONT: 59, ENOSTR: 60, ENODATA: 61, ETIME: 62, ENOSR: 63, ENONET: 64, ENOPKG: 65, EREMOTE: 66,
  ENOLINK: 67, EADV: 68, ESRMNT: 69, ECOMM: 70, EPROTO: 71, EDOTDOT: 73, EMULTIHOP: 74, EBADMSG: 77,
  ENAMETOOLONG: 78, EOVERFLOW: 79, ENOTUNIQ: 80, EBADFD: 81, EREMCHG: 82, ELIBACC: 83, ELIBBAD: 84, ELIBSCN: 85,
  ELIBMAX: 86, ELIBEXEC: 87, EILSEQ: 88, ENOSYS: 89, ELOOP: 90, ERESTART: 91, ESTRPIPE: 92, ENOTEMPTY: 93,
  EUSERS: 94, ENOTSOCK: 95, EDESTADDRREQ: 96, EMSGSIZE: 97, EPROTOTYPE: 98, ENOPROTOOPT: 99,
  EPROTONOSUPPORT: 120, ESOCKTNOSUPPORT: 121, EOPNOTSUPP: 122, EPFNOSUPPORT: 123, EAFNOSUPPORT: 124,
  EADDRINUSE: 125, EADDRNOTAVAIL: 126, ENETDOWN: 127, ENETUNREACH: 128, ENETRESET: 129, ECONNABORTED: 130,
  ECONNRESET: 131, ENOBUFS: 132, EISCONN: 133, ENOTCONN: 134, EUCLEAN: 135, ENOTNAM: 137, ENAVAIL: 138,
  EISNAM: 139, EREMOTEIO: 140, EINIT: 141, EREMDEV: 142, ESHUTDOWN: 143, ETOOMANYREFS: 144, ETIMEDOUT: 145,
  ECONNREFUSED: 146, EHOSTDOWN: 147, EHOSTUNREACH: 148, EALREADY: 149, EINPROGRESS: 150, ESTALE: 151,
  ECANCELED: 158, ENOMEDIUM: 159, EMEDIUMTYPE: 160, ENOKEY: 161, EKEYEXPIRED: 162, EKEYREVOKED: 163,
  EKEYREJECTED: 164, EOWNERDEAD: 165, ENOTRECOVERABLE: 166, ERFKILL: 167, EHWPOISON: 168, EDQUOT: 1133,
};

/** Highest generic errno (EHWPOISON); above it (kernel-internal ERESTARTSYS 512.., ENOTSUPP 524) numbers do not move. */
const GENERIC_ERRNO_MAX = 133;

function errnoTables(errnos: Readonly<Record<string, number>>): { out: Int32Array; back: Map<number, number> } {
  const out = new Int32Array(GENERIC_ERRNO_MAX + 1);
  for (let i = 0; i <= GENERIC_ERRNO_MAX; i++) out[i] = i;
  const back = new Map<number, number>();
  for (const [name, g] of Object.entries(GENERIC_ERRNOS)) {
    const a = errnos[name];
    if (a === undefined) throw new Error(`abi table bug: ${name} has no number`);
    out[g] = a;
    back.set(a, g);
  }
  return { out, back };
}

// ---------------------------------------------------------------------------
// the ABIs
// ---------------------------------------------------------------------------

const GENERIC_TYPES = Object.freeze({ SOCK_STREAM: 1, SOCK_DGRAM: 2, SOCK_RAW: 3, SOCK_RDM: 4, SOCK_SEQPACKET: 5, SOCK_DCCP: 6, SOCK_PACKET: 10 });

/** The generic numbers every ABI here starts from. */
export const GENERIC_NUMBERS = Object.freeze({
  SOCK_NONBLOCK: 0o4000, SOCK_CLOEXEC: 0o2000000, O_NONBLOCK: 0o4000, O_CLOEXEC: 0o2000000, O_RDWR: 2,
  SOL_SOCKET: 1, SO_TYPE: 3, SO_PROTOCOL: 38, SO_DOMAIN: 39,
});

type AbiSpec = Omit<Abi, 'errnoOutTable' | 'errnoInTable' | 'generic'>;

function makeAbi(s: AbiSpec): Abi {
  const t = errnoTables(s.errnos);
  const generic = s.errnos === GENERIC_ERRNOS && s.sockTypes === GENERIC_TYPES &&
    (Object.keys(GENERIC_NUMBERS) as Array<keyof typeof GENERIC_NUMBERS>).every((k) => s[k] === GENERIC_NUMBERS[k]);
  return Object.freeze({ ...s, generic, errnoOutTable: t.out, errnoInTable: t.back });
}

const GENERIC = { sockTypes: GENERIC_TYPES, ...GENERIC_NUMBERS, errnos: GENERIC_ERRNOS };

export const ABIS: Readonly<Record<AbiName, Abi>> = {
  x86_64: makeAbi({
    name: 'x86_64', machines: ['x86_64'], debianArch: 'amd64', auditArch: 0xc000003e,
    nr: { socket: 41, socketcall: null }, args32: false, ...GENERIC,
  }),
  // i386 natively, or a 32-bit process on an x86-64 kernel (CONFIG_IA32_EMULATION): 359 -> __ia32_sys_socket,
  // 102 -> __ia32_compat_sys_socketcall.
  i386: makeAbi({
    name: 'i386', machines: ['i386', 'i486', 'i586', 'i686'], debianArch: 'i386', auditArch: 0x40000003,
    nr: { socket: 359, socketcall: 102 }, args32: true, ...GENERIC,
  }),
  aarch64: makeAbi({
    name: 'aarch64', machines: ['aarch64'], debianArch: 'arm64', auditArch: 0xc00000b7,
    nr: { socket: 198, socketcall: null }, args32: false, ...GENERIC,
  }),
  // MIPS n64, little endian (uname -m says "mips64" for either byte order).
  mips64el: makeAbi({
    name: 'mips64el', machines: ['mips64'], debianArch: 'mips64el', auditArch: 0xc0000008,
    nr: { socket: 5040, socketcall: null }, args32: false,
    sockTypes: Object.freeze({ ...GENERIC_TYPES, SOCK_STREAM: 2, SOCK_DGRAM: 1 }),
    SOCK_NONBLOCK: 0x80, SOCK_CLOEXEC: 0o2000000, O_NONBLOCK: 0x80, O_CLOEXEC: 0o2000000, O_RDWR: 2,
    SOL_SOCKET: 0xffff, SO_TYPE: 0x1008, SO_PROTOCOL: 0x1028, SO_DOMAIN: 0x1029,
    errnos: MIPS_ERRNOS,
  }),
};

// ---------------------------------------------------------------------------
// translations (allocation-free: the model's untraced path calls them per prediction)
// ---------------------------------------------------------------------------

const G_STREAM = 1;
const G_DGRAM = 2;

/** This ABI's SOCK_* base number (0..15) -> the generic one. */
function baseIn(abi: Abi, base: number): number {
  const s = abi.sockTypes;
  if (base === s.SOCK_STREAM) return G_STREAM;
  if (base === s.SOCK_DGRAM) return G_DGRAM;
  return base;
}

/** Generic SOCK_* number -> this ABI's. */
export function sockTypeOut(abi: Abi, type: number): number {
  if (abi.generic) return type;
  if (type === G_STREAM) return abi.sockTypes.SOCK_STREAM;
  if (type === G_DGRAM) return abi.sockTypes.SOCK_DGRAM;
  return type;
}

/** Swap the bits `a` and `b` of v (a bijection, its own inverse). */
function swapBits(v: number, a: number, b: number): number {
  const hasA = (v & a) !== 0;
  const hasB = (v & b) !== 0;
  v &= ~(a | b);
  return v | (hasA ? b : 0) | (hasB ? a : 0);
}

/**
 * socket()'s type argument as this ABI passes it -> the generic one: the base type renumbered
 * and the flag bits moved to the generic SOCK_NONBLOCK/SOCK_CLOEXEC. A bijection on int32, so
 * a bit that is invalid here stays invalid in generic numbers (and the reverse).
 */
export function typeIn(abi: Abi, type: number): number {
  if (abi.generic) return type;
  let flags = type & ~0xf;
  if (abi.SOCK_NONBLOCK !== GENERIC_NUMBERS.SOCK_NONBLOCK) flags = swapBits(flags, abi.SOCK_NONBLOCK, GENERIC_NUMBERS.SOCK_NONBLOCK);
  if (abi.SOCK_CLOEXEC !== GENERIC_NUMBERS.SOCK_CLOEXEC) flags = swapBits(flags, abi.SOCK_CLOEXEC, GENERIC_NUMBERS.SOCK_CLOEXEC);
  return (flags | baseIn(abi, type & 0xf)) | 0;
}

/** The inverse of typeIn: a generic type argument as this ABI writes it. */
export function typeOut(abi: Abi, type: number): number {
  if (abi.generic) return type;
  let flags = type & ~0xf;
  if (abi.SOCK_CLOEXEC !== GENERIC_NUMBERS.SOCK_CLOEXEC) flags = swapBits(flags, abi.SOCK_CLOEXEC, GENERIC_NUMBERS.SOCK_CLOEXEC);
  if (abi.SOCK_NONBLOCK !== GENERIC_NUMBERS.SOCK_NONBLOCK) flags = swapBits(flags, abi.SOCK_NONBLOCK, GENERIC_NUMBERS.SOCK_NONBLOCK);
  return (flags | sockTypeOut(abi, type & 0xf)) | 0;
}

/** A generic (positive) errno -> this ABI's number. */
export function errnoOut(abi: Abi, errno: number): number {
  const t = abi.errnoOutTable;
  return errno >= 0 && errno < t.length ? t[errno] : errno;
}

/** This ABI's errno -> the generic number (unknown numbers unchanged). */
export function errnoIn(abi: Abi, errno: number): number {
  if (abi.generic) return errno;
  return abi.errnoInTable.get(errno) ?? errno;
}

/** Generic file flags (f_flags | O_CLOEXEC, as fdinfo prints them) -> this ABI's bits. */
export function fileFlagsOut(abi: Abi, flags: number): number {
  if (abi.generic) return flags;
  let f = flags;
  if (abi.O_NONBLOCK !== GENERIC_NUMBERS.O_NONBLOCK) f = swapBits(f, GENERIC_NUMBERS.O_NONBLOCK, abi.O_NONBLOCK);
  if (abi.O_CLOEXEC !== GENERIC_NUMBERS.O_CLOEXEC) f = swapBits(f, GENERIC_NUMBERS.O_CLOEXEC, abi.O_CLOEXEC);
  return f;
}

// ---------------------------------------------------------------------------
// lookups
// ---------------------------------------------------------------------------

const ALL = Object.values(ABIS);

/** Every uname -m sockbridge models. */
export function knownMachines(): string[] {
  return ALL.flatMap((a) => a.machines);
}

/** The ABI of a profile's kernel (uname -m), for a native caller. null (unknown) -> x86_64. */
export function abiForMachine(machine: string | null): Abi {
  if (machine === null) return ABIS.x86_64;
  for (const a of ALL) if (a.machines.includes(machine)) return a;
  throw new RangeError(`unknown machine "${machine}": sockbridge models ${knownMachines().join(', ')}`);
}

/** An ABI by its name (x86_64, i386, aarch64, mips64el) or by Debian's architecture name (amd64, arm64, ...). */
export function abiByName(name: string): Abi {
  const a = (ABIS as Record<string, Abi>)[name] ?? ALL.find((x) => x.debianArch === name);
  if (!a) throw new RangeError(`unknown ABI "${name}": expected one of ${Object.keys(ABIS).join(', ')} (or Debian's ${ALL.map((x) => x.debianArch).join(', ')})`);
  return a;
}

/** uname -m of a kernel built for Debian architecture `arch` (for profileFromPackage). */
export function machineForDebianArch(arch: string): string {
  const a = ALL.find((x) => x.debianArch === arch);
  if (!a) throw new RangeError(`unknown Debian architecture "${arch}": expected one of ${ALL.map((x) => x.debianArch).join(', ')}`);
  return a.name === 'i386' ? 'i686' : a.machines[0];
}

/**
 * Which caller ABIs a kernel of this machine runs, native first: an x86-64 kernel also runs
 * i386 processes through its compat entry (CONFIG_IA32_EMULATION).
 */
export function callerAbis(machine: string | null): Abi[] {
  const native = abiForMachine(machine);
  return native.name === 'x86_64' ? [native, ABIS.i386] : [native];
}
