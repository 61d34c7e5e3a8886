/**
 * The contracts where sockbridge's two roads meet.
 *
 *   model road:  HostProfile -> predict (lib/kernel/) -> Prediction
 *   kernel road: real socket() (native/ + lib/probe.ts) -> Observation
 *   bridge:      (Prediction, Observation) -> Verdict
 *
 * The model never sees an Observation. Everything here is plain data (JSON-safe),
 * so profiles, predictions and observations can be saved and compared later.
 */

/** One socket() call: exactly the three integers passed to the syscall. */
export interface SocketCase {
  domain: number;
  /** The type argument as passed, flag bits (SOCK_CLOEXEC, SOCK_NONBLOCK, ...) included. */
  type: number;
  protocol: number;
  /**
   * Raw mode (issue 11): the three 64-bit registers as passed to syscall(SYS_socket, ...),
   * as decimal or 0x strings. seccomp sees them whole; socket() sees `domain`, `type` and
   * `protocol`, which must be their low 32 bits as signed ints. Absent: each int is passed
   * zero-extended.
   */
  raw?: [string, string, string];
}

/** Cases as three int32 columns (case i is domains[i], types[i], protocols[i]; no raw registers). */
export interface CaseColumns {
  domains: Int32Array;
  types: Int32Array;
  protocols: Int32Array;
}

// ---------------------------------------------------------------------------
// Host profile: every fact the model may use, each with where it came from.
// ---------------------------------------------------------------------------

/** A fact and its source. `value === null` means the fact could not be read (unknown). */
export interface Fact<T> {
  value: T | null;
  /** Where it came from: a path ("/proc/sys/net/ipv4/ping_group_range"), a syscall ("capget(2)"), or "assumed: ...". */
  source: string;
  /** Why the value is null, when it is. */
  error?: string;
  /**
   * The value was read through a user namespace that has no mapping for the real one: the kernel
   * showed the overflow id instead (from_kuid_munged / from_kgid_munged). `value` is then null
   * (the real value is unknown) and `shown` is what the kernel printed. Comparisons of views made
   * through the same namespace (an inode's owner in fstat against the fsuid in /proc/self/status)
   * may still use `shown`; a decision of the kernel's, made on kernel ids, may not.
   */
  hidden?: { shown: T; why: string };
}

/**
 * One extent of /proc/self/uid_map or gid_map: ids `first .. first+count-1` of this user namespace
 * are ids `lowerFirst ..` of the parent user namespace (as the kernel prints them to a reader in
 * this namespace: uid_m_show shows the lower side through the parent).
 */
export interface IdMapExtent {
  first: number;
  lowerFirst: number;
  count: number;
}

/** The caller's user namespace as seen from inside it: what it maps, and what it shows for the rest. */
export interface UsernsMaps {
  uidMap: Fact<IdMapExtent[]>;
  gidMap: Fact<IdMapExtent[]>;
  /** /proc/self/setgroups: "allow" or "deny". */
  setgroups: Fact<'allow' | 'deny'>;
  /** /proc/sys/kernel/overflowuid and overflowgid: what an unmapped id is shown as (default 65534). */
  overflowUid: Fact<number>;
  overflowGid: Fact<number>;
}

/** An LSM (or BPF) policy that could refuse socket() for this process, by name. */
export interface PolicyOnPath {
  /** What it is called where it lives: "BPF program deny_inet6 (id 42)", "AppArmor profile /usr/bin/x (enforce)". */
  name: string;
  detail: string;
  /** The hooks of socket() it can act on: 'socket_create' (before the family's create) and/or 'socket_post_create'. */
  hooks: Array<'socket_create' | 'socket_post_create'>;
  /** When it can only touch some families (a cgroup sock_create program: AF_INET, AF_INET6). Absent: every family. */
  families?: number[];
}

/** Per LSM: whether a policy could refuse socket creation for this process, and how that is known. */
export interface LsmEvidence {
  /** 'apparmor' | 'selinux' | 'bpf' | 'landlock' | 'smack' | 'tomoyo' (the name /sys/kernel/security/lsm uses). */
  lsm: string;
  /** true: a named policy below could refuse; false: proven that none can; null: could not be told (why says). */
  canRefuse: boolean | null;
  /** In words, with the facts: "ABI 7: struct landlock_ruleset_attr has no socket-creation right (E2BIG beyond scoped)". */
  why: string;
  /** Where it was read: paths, syscalls. */
  source: string;
  policies: PolicyOnPath[];
}

export interface HostProfile {
  /** Bumped on incompatible changes; loaders reject other versions with a clear error. */
  schema: 1;
  /** Free text: where and when this profile was taken. */
  takenOn: string;
  kernel: {
    /** uname -r, e.g. "6.18.44-fc-v595" */
    release: Fact<string>;
    /** uname -m, e.g. "x86_64" */
    machine: Fact<string>;
    /** The kernel config: CONFIG_FOO -> "y" | "m" | string value. Absent key = not set. */
    config: Fact<Record<string, string>>;
  };
  modules: {
    /** /proc/sys/kernel/modprobe ("" when disabled). */
    modprobe: Fact<string>;
    /** /proc/sys/kernel/modules_disabled */
    modulesDisabled: Fact<number>;
    /** modules.alias: [pattern (may hold fnmatch wildcards), module name], in file order. */
    aliases: Fact<Array<[string, string]>>;
    /** modules.dep: module name -> names of the modules it depends on. A module listed here has a file. */
    deps: Fact<Record<string, string[]>>;
    /** modules.builtin: names of modules built into the kernel. */
    builtin: Fact<string[]>;
    /** /proc/modules: modules loaded when the profile was taken. */
    loaded: Fact<string[]>;
    /**
     * Modules known to fail to load on this host even though their file exists
     * (e.g. init fails for lack of hardware). Usually empty/unknown; a profile may record it.
     */
    failing?: Fact<string[]>;
  };
  net: {
    /**
     * Address families registered in net_families[] when the profile was taken, derived
     * from /proc/net/protocols names and the config (never from calling socket()).
     */
    families: Fact<number[]>;
    /** Protocol names in /proc/net/protocols (TCP, UDP, UNIX-STREAM, ...). */
    protocols: Fact<string[]>;
    /** NETLINK_* protocols registered (kernel sockets in /proc/net/netlink, plus config). */
    netlink: Fact<number[]>;
    /** net.ipv4.ping_group_range of the caller's netns: [low, high]. */
    pingGroupRange: Fact<[number, number]>;
    /** net.mptcp.enabled of the caller's netns. */
    mptcpEnabled: Fact<number>;
    /** Whether the caller is in the initial network namespace. */
    netnsIsInit: Fact<boolean>;
    /** Whether the user namespace that owns the caller's netns is the caller's own user namespace. */
    netnsOwnedByCallerUserns: Fact<boolean>;
    /** netns inode (from /proc/self/ns/net), to tell namespaces apart. */
    netnsInode: Fact<number>;
  };
  creds: {
    ruid: Fact<number>; euid: Fact<number>; suid: Fact<number>; fsuid: Fact<number>;
    rgid: Fact<number>; egid: Fact<number>; sgid: Fact<number>; fsgid: Fact<number>;
    groups: Fact<number[]>;
    /** Capability sets as hex strings of the 64-bit mask ("000001ffffffffff"). */
    capEffective: Fact<string>;
    capPermitted: Fact<string>;
    capBounding: Fact<string>;
    /** Whether the caller is in the initial user namespace. */
    usernsIsInit: Fact<boolean>;
    usernsInode: Fact<number>;
    /**
     * The level of the caller's user namespace (kernel `user_namespace.level`: 0 the initial one,
     * 1 a child of it), known only when proven (optional: older profiles lack it, and then the
     * level is unknown). The lower ids of /proc/self/gid_map are kernel ids only at level 1: above
     * it they are ids of a parent that is itself mapped (uid_m_show prints them through the
     * parent), so a decision made on kernel ids cannot be derived from them.
     */
    usernsLevel?: Fact<number>;
    /** The user namespace's id maps and setgroups state (optional: older profiles lack them). */
    usernsMaps?: UsernsMaps;
  };
  limits: {
    /** RLIMIT_NOFILE soft and hard. Infinity is written as -1. */
    nofileSoft: Fact<number>;
    nofileHard: Fact<number>;
    fileMax: Fact<number>;
    nrOpen: Fact<number>;
    /** Open fds of the process when the profile was taken (sorted). */
    openFds: Fact<number[]>;
  };
  security: {
    /** /proc/self/status Seccomp: 0 none, 1 strict, 2 filter. */
    seccomp: Fact<number>;
    /** Active LSMs (/sys/kernel/security/lsm), e.g. ["capability","landlock",...]. */
    lsms: Fact<string[]>;
    /** /proc/self/status Seccomp_filters: how many filters the process runs (issue 11). */
    seccompFilterCount?: Fact<number>;
    /**
     * The seccomp filters in force, in install order (issue 11): read from the process, compiled
     * from an OCI profile, or generated for RestrictAddressFamilies=. `value: null` with `error`
     * when the process has filters whose programs cannot be read (and why).
     */
    filters?: Fact<SeccompFilterInfo[]>;
    /**
     * Per active LSM that has socket hooks: whether a policy could refuse socket() for this
     * process, with the evidence (optional: older profiles lack it; then no divergence is EXPLAINED by an LSM).
     */
    lsmEvidence?: Fact<LsmEvidence[]>;
  };
}

/** One seccomp filter as a host fact (kernel/seccomp.c runs it at syscall entry). */
export interface SeccompFilterInfo {
  /** A short name: "docker-29.json", "RestrictAddressFamilies=AF_INET AF_UNIX (x86_64)". */
  name: string;
  /** Where the program came from: a file and the compiler, or PTRACE_SECCOMP_GET_FILTER. */
  source: string;
  /** The classic BPF program: [code, jt, jf, k] per instruction. */
  insns: Array<[number, number, number, number]>;
  /** The source rules, for explain (lib/kernel/kernel/seccomp.ts SeccompRuleText). */
  rules?: Array<{ syscall: string; action: string; ret: number; conds: Array<[number, string, string, string]>; origin: string }>;
  /** What the default action was (for explain's "-> default action ..."). */
  defaultAction?: string;
}

// ---------------------------------------------------------------------------
// Prediction: what the model says, with its reasons.
// ---------------------------------------------------------------------------

/** A fact the model consulted, quoted in a trace step. */
export interface FactUse {
  /** e.g. "net.ipv4.ping_group_range", "CAP_NET_RAW in netns owner userns", "CONFIG_PACKET" */
  name: string;
  /** The value as shown to a person ("1 0", "granted", "y"). */
  value: string;
  /** Where the fact came from (the Fact's source). */
  source: string;
}

export type StepOutcome = 'pass' | 'fail' | 'rewrite' | 'info';

/** One step of the modelled path. */
export interface Step {
  /** The kernel function modelled, by its kernel name: "__sock_create", "inet_create", "ns_capable". */
  fn: string;
  /** What was checked or done, in words. */
  what: string;
  outcome: StepOutcome;
  /** Positive errno when outcome is 'fail'. */
  errno?: number;
  fact?: FactUse;
  /** Capability check detail, for lining up with the kernel's cap_capable tracepoint. */
  cap?: { cap: number; granted: boolean; userns: 'init' | 'netns-owner' | 'current' };
  /** Module autoload detail: request_module("name") and whether a module loaded. */
  module?: { request: string; loaded: string | null };
}

/** What a successful socket() makes visible, as predicted or observed. */
export interface SocketFacts {
  fd: number;
  cloexec: boolean;
  nonblock: boolean;
  soDomain: number;
  soType: number;
  soProtocol: number;
  /** system.sockprotoname xattr = the /proc/self/fd link's dentry name source: "TCP", "UNIX-STREAM", ... */
  protoName: string;
  /** /proc/net table that lists the socket right after creation ("unix", "raw6", "packet"), or null. */
  procNet: string | null;
  /** fdinfo "flags:" value (octal number parsed): f_flags | O_CLOEXEC if close-on-exec. */
  fdinfoFlags: number;
  /** /proc/net/protocols rows whose "sockets" column moves by creating this socket: name -> delta. */
  protocolsDelta: Record<string, number>;
  /** /proc/net/sockstat "sockets: used" delta. */
  sockstatUsedDelta: number;
}

/**
 * What socket() gave the caller: a new fd, an errno, or (seccomp TRAP / KILL_*) a signal
 * instead of a return (issue 11). `fatal`: the task dies (KILL_THREAD, KILL_PROCESS).
 */
export type SocketResult =
  | { fd: number; errno?: undefined; signal?: undefined; fatal?: undefined }
  | { errno: number; fd?: undefined; signal?: undefined; fatal?: undefined }
  | { signal: number; fatal: boolean; fd?: undefined; errno?: undefined };

export interface Prediction {
  case: SocketCase;
  /** The predicted result. When facts are missing, the first of `possible`. */
  result: SocketResult;
  /** Facts about the new socket; only when result.fd is set. */
  facts?: SocketFacts;
  trace: Step[];
  /** Index into trace of the step that decided the result (the failing check, or the final success). */
  deciding: number;
  /**
   * When a fact the path needs is unknown: every result the path could give, and
   * which facts are missing. `result` is then the first of them.
   */
  possible?: SocketResult[];
  missing?: string[];
  /**
   * The seccomp stage's decision (issue 11), when the process has filters: the action, the
   * filter that decided (null: every filter allowed), the rule in words, and whether the call
   * ran at all (ERRNO(0) returns 0 without running it).
   */
  seccomp?: { action: string; ret: number; filter: string | null; rule: string; ran: boolean };
  /**
   * Set when the process runs seccomp filters the model cannot read: any errno, a signal, or
   * 0 is possible besides `possible`; says why the programs are unreadable.
   */
  unknownFilters?: string;
}

// ---------------------------------------------------------------------------
// Observation: what the real kernel said, recorded exactly.
// ---------------------------------------------------------------------------

export interface Observation {
  case: SocketCase;
  /** 0 on success, else the positive errno. */
  errno: number;
  /** -1 when errno != 0. */
  fd: number;
  /**
   * A signal instead of a return (seccomp TRAP: caught, the call skipped; KILL_*: the process
   * running the call died of it). errno is then 0 and fd -1. Issue 11.
   */
  signal?: { signal: number; fatal: boolean };
  /**
   * The call returned without creating a socket (seccomp ERRNO(0) returns 0): fd holds the
   * value returned, which is not a new socket. Issue 11.
   */
  notRun?: boolean;
  /** The fds that were open when this call ran (only when the caller asks; sweeps record a digest). */
  /** readlink /proc/self/fd/N, e.g. "socket:[1234]". */
  link?: string;
  fdinfo?: { pos: number; flags: number; mntId: number; ino: number; extra: Record<string, string> };
  stat?: { mode: number; uid: number; gid: number; ino: number };
  /** fcntl(F_GETFD) and fcntl(F_GETFL). */
  fdFlags?: number;
  flFlags?: number;
  soDomain?: number;
  soType?: number;
  soProtocol?: number;
  /** system.sockprotoname xattr. */
  protoName?: string;
  /** The /proc/net table (and its parsed row) that lists this socket's inode, if any. */
  procNet?: { table: string; row: Record<string, string> } | null;
}

// ---------------------------------------------------------------------------
// Verdicts: the bridge's answer for one case.
// ---------------------------------------------------------------------------

/**
 * DEPARTURE: under a syscall emulator (sweep/compare --emulator), the emulator answered
 * differently from the model, which is Linux for that ABI on this host's facts: the emulator's
 * departure from Linux, not a model mismatch.
 */
export type VerdictKind = 'MATCH' | 'MISMATCH' | 'UNSUPPORTED' | 'EXPLAINED' | 'DEPARTURE';

/** A named policy that could have decided a case the model got wrong: what makes a verdict EXPLAINED. */
export interface PolicyEvidence {
  policy: 'seccomp' | 'apparmor' | 'selinux' | 'bpf-lsm' | 'landlock' | 'smack' | 'tomoyo';
  /** "BPF program sb_deny_af10 (id 57) on lsm/socket_create", "AppArmor profile foo (enforce)". */
  name: string;
  detail: string;
  /** Where the evidence was read (the host profile fact's source). */
  source: string;
}

export interface FieldDiff {
  field: string;
  predicted: unknown;
  observed: unknown;
}

export interface Verdict {
  case: SocketCase;
  kind: VerdictKind;
  /** Fields compared (names), so a reader knows what "MATCH" covered. */
  fields: string[];
  diffs: FieldDiff[];
  /** Why UNSUPPORTED, EXPLAINED, or (when an LSM was looked at and found unable to refuse) MISMATCH. */
  reason?: string;
  /** EXPLAINED only: the named policies that could have decided this very case. */
  evidence?: PolicyEvidence[];
  prediction: Prediction;
  observation: Observation;
  /**
   * With --kernel-trace: whether the kernel's own tracepoints followed the same path
   * (arguments in, capability checks in order with their outcome, value out). null when the
   * trace could not say (cap_capable not traced, events lost).
   */
  kernelTrace?: { agree: boolean | null; detail: string };
}
