/**
 * The contract between the generic path (net/socket.ts: __sock_create and friends) and each
 * address family's `create` (net/ipv4/af_inet.ts, net/unix/af_unix.ts, ...), the shape of the
 * kernel's `struct net_proto_family`.
 *
 * A family's create() reads host facts only through CreateCtx, so that every fact it uses is
 * quoted in the trace with its source, and so that an unknown fact makes the model branch
 * (a set of possible results) instead of guessing.
 */
import type { FactUse, Step } from '../types';

/** What a successful create leaves in sock->sk, i.e. everything visible about the socket. */
export interface SkInfo {
  /** sk->sk_family: what SO_DOMAIN reads. */
  family: number;
  /** sock->type after any rewrite (AF_UNIX SOCK_RAW -> SOCK_DGRAM): what SO_TYPE reads. */
  type: number;
  /** sk->sk_protocol: what SO_PROTOCOL reads (0 for families that never set it). */
  protocol: number;
  /** sk->sk_prot_creator->name: the dentry name and system.sockprotoname ("TCP", "UNIX-STREAM"). */
  protoName: string;
  /** /proc/net table that lists the socket at creation ("unix", "raw", "raw6", "packet"), or null. */
  procNet: string | null;
  /** /proc/net/protocols rows whose "sockets" count moves at creation (name -> +n). */
  protocolsDelta: Record<string, number>;
  /** /proc/net/sockstat "sockets: used" delta (sk_alloc of a user socket: +1). */
  sockstatUsedDelta: number;
}

/** The socket being created, as __sock_create hands it to ->create. */
export interface SockUnderConstruction {
  /** The family after the PF_INET/SOCK_PACKET rewrite. */
  family: number;
  /** sock->type (masked, no flag bits). A create may rewrite it. */
  type: number;
  sk?: SkInfo;
}

export interface CreateCtx {
  /**
   * Whether steps are being recorded. When false, step()/fail() texts are never read, so a
   * create on a hot path should skip formatting them (`ctx.tracing ? \`...\` : ''`).
   */
  readonly tracing: boolean;
  /** Append a step to the trace. */
  step(s: Step): void;
  /** Append a failing step and return -errno, so a create can `return ctx.fail(...)`. */
  fail(fn: string, what: string, errno: number, fact?: FactUse): number;

  /** ns_capable(net->user_ns, cap): capability in the user namespace that owns the socket's netns. */
  nsCapable(fn: string, cap: number): boolean;
  /** capable(cap): capability in the initial user namespace. */
  capable(fn: string, cap: number): boolean;
  /**
   * A capability check in the initial user namespace whose answer does not decide the result
   * (vsock's vsk->trusted = ns_capable_noaudit(&init_user_ns, CAP_NET_ADMIN)): recorded, for the
   * kernel's cap_capable tracepoint fires for it, but never as a failing step.
   */
  capableQuiet(fn: string, cap: number, why: string): boolean;
  /** Whether the socket's netns is init_net (net_eq(net, &init_net)). */
  netIsInit(fn: string): boolean;

  /** The kernel release is at least `version` ("5.6", "6.16"). */
  kernelAtLeast(version: string): boolean;
  /**
   * Is a piece of kernel present right now: CONFIG_sym=y, or =m with `module` loaded
   * (loaded at profile time or by an earlier request_module in this run).
   */
  present(configSym: string, module?: string): boolean;
  /**
   * request_module(alias): resolves against modules.alias/modules.dep when CONFIG_MODULES=y,
   * loads the module and its dependencies into the simulated kernel, records the step.
   * Returns true when a module was loaded (the caller then looks again, as the kernel does).
   */
  requestModule(fn: string, alias: string): boolean;
  /**
   * Whether a proto of this name (struct proto .name) was registered when the profile was taken:
   * /proc/net/protocols lists it. null when that file was not read (a package profile).
   */
  protoListed(name: string): boolean | null;
  /**
   * Whether a piece of kernel was there when the profile was taken: CONFIG_sym=y, or =m with
   * `module` loaded then (not loaded later by this run). null when that cannot be told.
   */
  presentAtProfile(configSym: string, module: string): boolean | null;
  /** A FactUse for a named host fact, for a step's `fact` (tracing only). */
  use(name: string, shown?: string): FactUse;

  /**
   * A host fact by name, for family-specific sysctls and the like
   * ("net.ipv4.ping_group_range", "net.mptcp.enabled", "groups", "egid", "fs.file-max").
   * Returns the value with its source; an unknown fact makes the model branch on `options`.
   */
  fact<T>(name: string, options?: T[]): { value: T; use: FactUse };
}

export interface NetProtoFamily {
  /** AF_* number. */
  family: number;
  /** Name as in pf_family_names[]: "PF_INET". */
  name: string;
  /** The kernel function modelled, e.g. "inet_create". */
  createFn: string;
  /** The kernel source file modelled, e.g. "net/ipv4/af_inet.c". */
  source: string;
  /** The config symbol that builds this family ("CONFIG_INET") and the module that holds it when =m. */
  configSym: string;
  module?: string;
  /** First kernel release that has this family at all (AF_MCTP: "5.15"), if it matters. */
  since?: string;
  /** Last release before it was removed (AF_DECnet: "6.0"), if it matters. */
  removedAfter?: string;
  /**
   * ->create(net, sock, protocol, kern). Returns 0 (sock.sk set) or -errno (sock.sk unset).
   * `kern` is always 0 for socket(2).
   */
  create(ctx: CreateCtx, sock: SockUnderConstruction, protocol: number): number;
}
