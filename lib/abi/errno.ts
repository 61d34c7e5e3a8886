/**
 * errno numbers of the Linux generic ABI (x86-64, arm64, riscv, ...), the ones socket()
 * can return. Compare errnos by number: 95 is ENOTSUP to Node and EOPNOTSUPP to glibc.
 */
export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const ENXIO = 6;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENFILE = 23;
export const EMFILE = 24;
export const ENOSPC = 28;
export const ENOSYS = 38;
export const ENOTSOCK = 88;
export const EPROTOTYPE = 91;
export const ENOPROTOOPT = 92;
export const EPROTONOSUPPORT = 93;
export const ESOCKTNOSUPPORT = 94;
export const EOPNOTSUPP = 95;
export const EPFNOSUPPORT = 96;
export const EAFNOSUPPORT = 97;
export const EADDRINUSE = 98;
export const ENOBUFS = 105;
export const EUNATCH = 49;
export const EHOSTUNREACH = 113;
export const ENOKEY = 126;
