/**
 * The only file that loads the C++ addon, and its typed contract.
 *
 * The addon knows syscalls, not Linux policy: it makes calls and returns what the
 * kernel said as data. A failed syscall is an errno in the result, never an exception.
 * Only misuse (wrong argument types, non-integers, numbers outside int32) throws a
 * TypeError or RangeError naming the argument.
 */

/** Per-case results of probeBatch, as parallel arrays of length n. */
export interface NativeBatchResult {
  /** 0 on success, else the positive errno of socket(). */
  errno: Int32Array;
  /** The new fd, or -1. */
  fd: Int32Array;
  /** fcntl(F_GETFD) / fcntl(F_GETFL); -1 when no fd. */
  fdFlags: Int32Array;
  flFlags: Int32Array;
  /** getsockopt SO_DOMAIN / SO_TYPE / SO_PROTOCOL; -1 when no fd or the getsockopt failed. */
  soDomain: Int32Array;
  soType: Int32Array;
  soProtocol: Int32Array;
  /** fstat st_mode, st_uid, st_gid; st_ino as a double (inode numbers fit in 2^53). */
  stMode: Uint32Array;
  stUid: Uint32Array;
  stGid: Uint32Array;
  stIno: Float64Array;
  /** readlink("/proc/self/fd/N"); "" when no fd. */
  link: string[];
  /** The raw text of /proc/self/fdinfo/N; "" when no fd. */
  fdinfo: string[];
  /** fgetxattr(fd, "system.sockprotoname"); "" when no fd or the call failed. */
  protoName: string[];
}

export interface ProbeOptions {
  /**
   * 'now': close each new fd right after observing it (the fd table is the same for every case).
   * 'defer': leave every new fd open; the caller closes them (closeFds) after reading /proc/net,
   *  and each case sees the fds the earlier cases of the batch left open.
   */
  close: 'now' | 'defer';
}

export interface NativeUname { sysname: string; nodename: string; release: string; version: string; machine: string; }

export interface NativeCaps {
  /** 64-bit masks as 16-digit lower-case hex strings. */
  effective: string;
  permitted: string;
  inheritable: string;
  /** Bounding set read with prctl(PR_CAPBSET_READ) for each cap up to CAP_LAST_CAP. */
  bounding: string;
}

export interface NativeIds {
  ruid: number; euid: number; suid: number;
  rgid: number; egid: number; sgid: number;
  groups: number[];
}

export interface NativeAddon {
  /**
   * socket(domains[i], types[i], protocols[i]) for each i, with every observation of a new
   * fd captured before anything else can touch the fd table. All three arrays must have the
   * same length.
   */
  probeBatch(domains: Int32Array, types: Int32Array, protocols: Int32Array, options: ProbeOptions): NativeBatchResult;
  /**
   * close() each fd, from up to `threads` worker threads at once (AF_PACKET closes each wait for
   * an RCU grace period; concurrent closes share them). Returns the errno of each close (0 = ok).
   */
  closeFds(fds: Int32Array, threads: number): Int32Array;
  uname(): NativeUname;
  /** getrlimit(resource): [soft, hard], RLIM_INFINITY as -1. */
  getrlimit(resource: number): [number, number];
  /** setrlimit(resource, soft, hard); returns 0 or the positive errno. -1 means RLIM_INFINITY. */
  setrlimit(resource: number, soft: number, hard: number): number;
  capget(): NativeCaps;
  getids(): NativeIds;
  /** AF_*, SOCK_*, IPPROTO_*, ETH_P_*, NETLINK_*, O_*, F_*, SO_*, RLIMIT_* values as compiled from the system headers. */
  constants(): Record<string, number>;
  /** strerrorname_np(errno), or "" when glibc has no name. */
  strerrorname(errno: number): string;
  /**
   * ioctl(NS_GET_USERNS) on the namespace file at `path` (e.g. "/proc/self/ns/net"), then fstat:
   * the inode of the user namespace that owns that namespace; or -errno on failure.
   */
  nsOwnerInode(path: string): number;
}

import * as path from 'path';

let cached: NativeAddon | undefined;

/** Load the addon once. Throws a clear error saying how to build it when it is missing. */
export function native(): NativeAddon {
  if (cached) return cached;
  if (process.platform !== 'linux') {
    throw new Error(`sockbridge works only on Linux: it calls the Linux socket() syscall and reads /proc (this is ${process.platform}).`);
  }
  // dist/lib/native.js -> the package root, where binding.gyp builds build/Release/sockbridge.node.
  const root = path.resolve(__dirname, '..', '..');
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const bindings = require('bindings') as (opts: { bindings: string; module_root: string }) => NativeAddon;
    cached = bindings({ bindings: 'sockbridge', module_root: root });
  } catch (e) {
    // bindings' first line ends in "Tried:"; the list after it is long, the root says enough.
    const why = e instanceof Error ? e.message.split('\n')[0].replace(/\.?\s*Tried:$/, '') : String(e);
    throw new Error(
      `sockbridge: the native addon is not built (${why} under ${path.join(root, 'build')}).\n` +
      `Build it with "npm rebuild sockbridge" (or "npx node-gyp rebuild" in the package folder); ` +
      `it needs python3, make and g++. npm may skip install scripts when run with --ignore-scripts.`);
  }
  return cached;
}
