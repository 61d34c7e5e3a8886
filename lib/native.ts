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
  /**
   * 0; SIGSYS (31) when a seccomp TRAP was caught (after seccompInstall), errno and fd are then
   * 0 and -1; -1 when socket() returned 0 while fd 0 was open (seccomp ERRNO(0): no call ran).
   */
  signal: Int32Array;
}

/** A batch started by probeBatchStart (an opaque external value). */
export type NativeBatchHandle = { readonly __nativeBatch: unique symbol };

export interface ProbeOptions {
  /**
   * 'now': close each new fd right after observing it (the fd table is the same for every case).
   * 'defer': leave every new fd open; the caller closes them (closeFds) after reading /proc/net,
   *  and each case sees the fds the earlier cases of the batch left open.
   */
  close: 'now' | 'defer';
  /** Raw mode: 3 full 64-bit registers per case, passed to syscall(SYS_socket, ...) as they are. */
  raw?: BigUint64Array;
  /**
   * A sweep's pipeline: the kernel side of a batch, whole, on the batch's thread. Before the
   * calls, in this order: close these fds (the previous batch's) from up to closeThreads threads
   * (1..256, default 1); with settleTo, wait (up to 2 s) for countersRoot/net/sockstat's
   * "sockets: used" to be at most settleTo; with fdTable, read the fd table as openFds does; with
   * countersRoot, read its net/protocols and net/sockstat. After the calls, with countersRoot, the
   * same two files again while the new fds are open.
   */
  closeFirst?: Int32Array;
  closeThreads?: number;
  fdTable?: boolean;
  countersRoot?: string;
  settleTo?: number;
  /**
   * After the calls (and the counters), while the new fds are open: each new socket's inode looked
   * up in the tables that can list its family (a table is asked when some new socket's SO_DOMAIN
   * is in its domains), in this order. 'unix' and 'inet' (family, protocol) ask sock_diag as
   * diagUnix (mode 'auto') and diagInet do, and read `path` as text when sock_diag answers an
   * errno; 'text' reads `path`. The result's `lookup` has what each said.
   */
  netTables?: NativeNetTable[];
  /**
   * A batch started earlier that has none started after it yet: this batch runs after it,
   * closing the fds it left open first (closeThreads threads), in place of closeFirst (which may
   * not be given too). While that batch's thread is at work, or waits after it (up to 50 ms),
   * this batch runs on that thread the moment the batch before is done. Of those fds, a family's
   * whose release is quick is closed on the batch's thread; an AF_PACKET socket (its release
   * waits for an RCU grace period) is duplicated far above any number the batch can get, its
   * own number closed at once, and the duplicate closed by the addon's reaper threads in the
   * background (closeFds waits for them) - or, with no room below RLIMIT_NOFILE for that, by the
   * close pool before the calls.
   */
  after?: NativeBatchHandle;
}

/** One /proc/net table of ProbeOptions.netTables. */
export interface NativeNetTable {
  kind: 'text' | 'unix' | 'inet';
  family: number;
  protocol: number;
  path: string;
  domains: Int32Array;
}

/** What the lookup found (ProbeOptions.netTables). */
export interface NativeLookup {
  /** The new sockets' inodes, each once, in case order: what diag's arrays are indexed by. */
  inodes: Float64Array;
  /** The tables asked, in netTables order: `table` indexes netTables. */
  tables: Array<{ table: number; diag?: NativeDiagResult<NativeDiagUnix> | NativeDiagResult<NativeDiagInet>; text?: string; textErrno?: number }>;
}

/** The counters' two files as text, or the errno of the first that could not be read. */
export type NativeCounterTexts = { protocols: string; sockstat: string; errno?: undefined } | { errno: number; path: string };

/** What the pipeline's options add to a batch's result. */
export interface NativePipelineResult {
  /** The fds closed before the calls (closeFirst, or what the batch before left open: after) and the errno of each close (0 = ok). */
  closeFirst?: Int32Array;
  closeErrs?: Int32Array;
  /** With netTables. */
  lookup?: NativeLookup;
  /** With fdTable: the fds open before the calls, ascending; or the errno of reading them. */
  fdsBefore?: Int32Array;
  fdTableErrno?: number;
  /** With countersRoot: the files before and during the calls, and whether sockstat settled. */
  counters?: { before: NativeCounterTexts; during: NativeCounterTexts; settled: boolean };
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

/**
 * What sock_diag answered for one call. errno 0: the kernel was asked and every array has one
 * entry per inode asked about (found[i] 1 when the kernel lists inodes[i]; the other fields of
 * an entry not found keep their defaults). errno != 0: the kernel could not be asked (see
 * NativeAddon.diagUnix) and only errno is present.
 */
export type NativeDiagResult<T> = (T & { errno: 0 }) | { errno: number; found?: undefined };

/** unix_diag (net/unix/diag.c sk_diag_fill) per inode asked about. */
export interface NativeDiagUnix {
  /** How the kernel was asked: 'exact' lookups by inode, or one 'dump' joined by inode. */
  via: 'exact' | 'dump';
  found: Uint8Array;
  /** udiag_type (SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_SEQPACKET 5); -1 when not found. */
  type: Int32Array;
  /** udiag_state: sk_state (TCP_ESTABLISHED 1, TCP_CLOSE 7, TCP_LISTEN 10); -1 when not found. */
  state: Int32Array;
  /** UNIX_DIAG_SHUTDOWN: sk_shutdown (RCV_SHUTDOWN 1 | SEND_SHUTDOWN 2); -1 when absent. */
  shutdown: Int32Array;
  /**
   * UNIX_DIAG_NAME: the address's sun_path bytes as they are, one char per byte (latin1);
   * "" when unbound. An abstract name starts with "\0"; a path ends with its NUL.
   */
  name: string[];
}

/** inet_diag (struct inet_diag_msg) per inode asked about. */
export interface NativeDiagInet {
  found: Uint8Array;
  /** idiag_state: sk_state (TCP_* numbering); -1 when not found. */
  state: Int32Array;
  /** idiag_src / idiag_dst: 16 bytes per inode in network order (IPv4 uses the first 4). */
  src: Uint8Array;
  dst: Uint8Array;
  /** idiag_sport / idiag_dport in host order; -1 when not found. */
  sport: Int32Array;
  dport: Int32Array;
  /** idiag_if: the bound device (SO_BINDTODEVICE), 0 when none. */
  ifindex: Int32Array;
  /** idiag_timer, idiag_retrans, idiag_expires (ms): the TCP timer as tcp_diag reports it. */
  timer: Int32Array;
  retrans: Int32Array;
  expires: Float64Array;
  /** idiag_rqueue / idiag_wqueue: for a listener the accept queue and its backlog. */
  rqueue: Float64Array;
  wqueue: Float64Array;
  uid: Float64Array;
}

export interface NativeAddon {
  /**
   * socket(domains[i], types[i], protocols[i]) for each i, with every observation of a new
   * fd captured before anything else can touch the fd table. All three arrays must have the
   * same length.
   */
  probeBatch(domains: Int32Array, types: Int32Array, protocols: Int32Array, options: ProbeOptions): NativeBatchResult;
  /**
   * probeBatch on a thread of the addon's own: checks and copies the arguments, starts the
   * thread and returns at once. Until probeBatchJoin returns, the caller must open and close no
   * fd (the kernel's choice of fd numbers is compared). Asynchronous signals are blocked on that
   * thread. If no thread can be started, the batch runs before probeBatchStart returns.
   */
  probeBatchStart(domains: Int32Array, types: Int32Array, protocols: Int32Array, options: ProbeOptions): NativeBatchHandle;
  /** Wait for a probeBatchStart batch and return what probeBatch would have; once per handle. */
  probeBatchJoin(handle: NativeBatchHandle): NativeBatchResult & NativePipelineResult;
  /** Whether the batch's thread is done, so probeBatchJoin would not wait. */
  probeBatchDone(handle: NativeBatchHandle): boolean;
  /**
   * close() each fd, from up to `threads` threads at once, this one included (AF_PACKET closes
   * each wait for an RCU grace period; concurrent closes share them). The other threads are a
   * pool made on first use and kept for the process (they hold no fd and block asynchronous
   * signals). Returns the errno of each close (0 = ok), once these fds and every duplicate a
   * pipeline batch handed to the reaper (see ProbeOptions.after) are closed.
   */
  closeFds(fds: Int32Array, threads: number): Int32Array;
  /**
   * The fds open in this process, ascending: /proc/self/fd read with getdents64, less the
   * directory's own fd (opened O_CLOEXEC and closed before the call returns). { errno } when
   * /proc/self/fd cannot be read (EMFILE at RLIMIT_NOFILE, ENOENT without procfs).
   */
  openFds(): Int32Array | { errno: number };
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
  /**
   * How many user namespaces, each inside the last, a forked child of the caller could make
   * before the kernel refused, and the refusal (native/userns.cc): `stage` "unshare" with errno
   * ENOSPC (EUSERS before 4.9) is the level limit or a user.max_user_namespaces limit; "uid_map",
   * "setgroups" or "gid_map" a map the child could not write; "pipe", "fork" or "read": the child
   * did not run or did not report (no `created`). The child exits before this returns.
   */
  usernsLevelProbe(): { created?: number; errno: number; stage: string };
  /**
   * Which of these socket inodes unix_diag lists in the caller's network namespace (the same
   * set /proc/net/unix lists, less the embryo sockets of pending connections, which have no
   * inode), with their state and name. 'exact' sends one unix_diag_get_exact per inode (each
   * walks the namespace's unix hash); 'dump' asks for every unix socket once and joins by
   * inode; 'auto' (default) takes 'exact' for at most 4 inodes. The NETLINK_SOCK_DIAG socket
   * is opened with SOCK_CLOEXEC and closed before the call returns.
   *
   * errno, as data: EPROTONOSUPPORT when the kernel has no NETLINK_SOCK_DIAG, ENOENT when it
   * has no unix_diag (CONFIG_UNIX_DIAG), EMFILE and the like when the socket cannot be made.
   * Throws TypeError/RangeError for inodes that are not a Float64Array of integers
   * 1..4294967295, or another mode.
   */
  diagUnix(inodes: Float64Array, mode?: 'auto' | 'exact' | 'dump'): NativeDiagResult<NativeDiagUnix>;
  /**
   * Which of these socket inodes inet_diag lists for (family, protocol): one dump
   * (SOCK_DIAG_BY_FAMILY, inet_diag_req_v2, every state but the TCP_BOUND_INACTIVE
   * pseudo-state, which /proc/net/tcp never shows) joined by inode. family 2 or 10;
   * protocol IPPROTO_TCP 6, IPPROTO_UDP 17, IPPROTO_UDPLITE 136 (any 0..255 is sent as given).
   *
   * errno, as data: EPROTONOSUPPORT (no NETLINK_SOCK_DIAG), ENOENT (no diag handler for that
   * protocol: tcp_diag/udp_diag not built, raw_diag without CONFIG_INET_RAW_DIAG), EINVAL, ...
   * Throws TypeError/RangeError naming the argument for family or protocol outside 0..255 or
   * bad inodes.
   */
  diagInet(family: number, protocol: number, inodes: Float64Array): NativeDiagResult<NativeDiagInet>;
  /**
   * The Landlock ABI as the kernel answers landlock_create_ruleset: the version, the errata mask
   * (or -errno), the bits each field of struct landlock_ruleset_attr accepts (one ruleset per bit,
   * closed at once, never applied), and the errno for a 32-byte attr whose fourth u64 is set
   * (E2BIG: the kernel's struct ends at `scoped`). errno != 0 when the version query fails
   * (ENOSYS no Landlock, EOPNOTSUPP disabled at boot).
   */
  landlockProbe(): { errno: number; abi?: number; errata?: number; fsMask?: number; netMask?: number; scopedMask?: number; beyondErrno?: number };
  /** Every BPF program and link the kernel lists by id, with their info; errno EPERM without CAP_SYS_ADMIN. */
  bpfObjects(): {
    errno: number;
    progs?: Array<{ id: number; type: number; name: string; attachBtfObjId: number; attachBtfId: number }>;
    links?: Array<{ id: number; type: number; progId: number; attachType?: number; targetBtfId?: number; cgroupId?: number }>;
  };
  /** BPF_PROG_QUERY(BPF_F_QUERY_EFFECTIVE) on the cgroup v2 folder at `path`: the ids of the programs effective there for `attachType`. */
  bpfCgroupQuery(path: string, attachType: number): { errno: number; ids?: number[]; count?: number };

  // --- seccomp (native/seccomp.cc; issue 11) ---------------------------------------------
  /** libseccomp.so.2, loaded with dlopen: its version and native arch token, or why it cannot load. */
  seccompLibrary(): { version: string; native: number; error?: undefined } | { error: string };
  /** Syscall numbers by name on a libseccomp arch ("x86_64", "x86", "native"...); negative: unknown. */
  seccompResolve(arch: string, names: string[]): { arch: number; nrs: Int32Array; error?: undefined } | { error: string };
  /** Build a filter with libseccomp and export it (seccomp_export_bpf): 4 words per instruction. */
  seccompCompile(spec: NativeSeccompSpec): { insns: Uint32Array; error?: undefined } | { error: string; errno?: number; rule?: number };
  /** no_new_privs, catch SIGSYS, install the filter on every thread: 0 or errno. Irreversible. */
  seccompInstall(insns: Uint32Array): number;
  /**
   * In a child process: install the programs in order, then syscall(SYS_socket, a0, a1, a2) per
   * case (3 registers per case). ret: the value returned or -errno; signal: SIGSYS for a caught
   * TRAP, or the signal that killed the child (fatal 1).
   */
  seccompTrial(programs: Uint32Array[], args: BigUint64Array): { ret: Float64Array; signal: Int32Array; fatal: Uint8Array; installErr: number; errno?: number };
  /** PTRACE_SECCOMP_GET_FILTER on pid (0: a helper child sharing this process's filters); index 0 is the newest. */
  seccompReadFilters(pid: number): { filters: Uint32Array[]; errno: number; error?: undefined } | { error: string; errno: number };
}

export interface NativeSeccompSpec {
  defaultAction: number;
  /** libseccomp arch names to add ("x86", "x32", ...). */
  arches: string[];
  /** Remove the native arch unless listed (systemd's seccomp_init_for_arch). */
  removeNative: boolean;
  /** seccomp_attr_set pairs: [SCMP_FLTATR_*, value]. */
  attrs: Array<[number, number]>;
  /** seccomp_rule_add_exact_array (systemd) instead of seccomp_rule_add_array (runc). */
  exact: boolean;
  /** conds: [arg, SCMP_CMP_*, datum_a lo, hi, datum_b lo, hi]. */
  rules: Array<{ nr: number; action: number; conds: Array<[number, number, number, number, number, number]> }>;
}

import * as fs from 'fs';
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
    // node-gyp's Release build, loaded by its path when bindings would pick it (no build/ or
    // build/Debug/ copy before it in bindings' order): bindings finds it by trying a list of
    // paths, each miss a thrown error, which cost more than the rest of loading the addon.
    const release = path.join(root, 'build', 'Release', 'sockbridge.node');
    const earlier = [path.join(root, 'build', 'sockbridge.node'), path.join(root, 'build', 'Debug', 'sockbridge.node')];
    if (fs.existsSync(release) && !earlier.some((f) => fs.existsSync(f))) {
      cached = require(release) as NativeAddon;
    } else {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const bindings = require('bindings') as (opts: { bindings: string; module_root: string }) => NativeAddon;
      cached = bindings({ bindings: 'sockbridge', module_root: root });
    }
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
