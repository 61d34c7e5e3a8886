/**
 * Small pieces the modular families share: what sk_alloc() leaves visible, and how
 * sk->sk_protocol truncates the protocol argument. Kept apart from lib/kernel/net/modular.ts
 * (the registry list) so that family files can import it without an import cycle.
 */
import type { CreateCtx, SkInfo, SockUnderConstruction } from '../family';

/**
 * sk->sk_protocol as SO_PROTOCOL reads it. The field was an 8-bit bitfield until
 * "sock: Make sk_protocol a 16-bit value" (v5.6, MPTCP series); the store truncates.
 */
export function skProtocol(ctx: CreateCtx, protocol: number): number {
  return ctx.kernelAtLeast('5.6') ? protocol & 0xffff : protocol & 0xff;
}

export interface SkAllocArgs {
  /** The kernel function that calls sk_alloc (for the trace). */
  fn: string;
  /** `struct proto` .name: sockprotoname and the /proc/net/protocols row. */
  protoName: string;
  /** sk->sk_protocol after the create ran (0 when the family never sets it). */
  protocol: number;
  /** sk->sk_type when the family overrides what sock_init_data copied from sock->type. */
  type?: number;
  /** /proc/net table that lists the socket's inode right after create. */
  procNet?: string | null;
  /** sock_prot_inuse_add() calls made during create (hash at create, etc.). */
  protocolsDelta?: Record<string, number>;
  /** Extra words for the trace step. */
  note?: string;
}

/**
 * sk_alloc(net, family, GFP_*, prot, kern=0) + sock_init_data(): a user socket, so
 * sk_net_refcnt is set and sock_inuse_add(net, 1) moves "sockets: used" by one.
 * Allocation failure (ENOMEM/ENOBUFS) is not modelled: it needs memory pressure.
 */
export function skAlloc(ctx: CreateCtx, sock: SockUnderConstruction, a: SkAllocArgs): number {
  const sk: SkInfo = {
    family: sock.family,
    type: a.type ?? sock.type,
    protocol: a.protocol,
    protoName: a.protoName,
    procNet: a.procNet ?? null,
    protocolsDelta: a.protocolsDelta ?? {},
    sockstatUsedDelta: 1,
  };
  // Without a trace, skip formatting texts nobody reads.
  if (!ctx.tracing) {
    sock.sk = sk;
    return 0;
  }
  ctx.step({
    fn: a.fn,
    what: `sk_alloc(proto "${a.protoName}") and sock_init_data` + (a.note ? `; ${a.note}` : ''),
    outcome: 'pass',
  });
  if (a.type !== undefined && a.type !== sock.type) {
    ctx.step({ fn: a.fn, what: `sk->sk_type = ${a.type} (SO_TYPE reads ${a.type}, not ${sock.type})`, outcome: 'rewrite' });
  }
  sock.sk = sk;
  return 0;
}

/**
 * A sub-protocol table lookup with module autoload, the shape shared by can_create,
 * bt_sock_create, pppox_create and pn_socket_create: look, request_module(alias) when
 * absent, look again only when the load succeeded.
 */
export function lookupWithAutoload(
  ctx: CreateCtx, fn: string, present: () => boolean, alias: string,
): boolean {
  if (present()) return true;
  if (ctx.requestModule(fn, alias)) return present();
  return false;
}
