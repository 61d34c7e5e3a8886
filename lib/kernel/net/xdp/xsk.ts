/**
 * net/xdp/xsk.c: xsk_create() (AF_XDP since 4.18).
 *
 *   !ns_capable(net->user_ns, CAP_NET_RAW) -> EPERM (first)
 *   type != SOCK_RAW                       -> ESOCKTNOSUPPORT
 *   protocol != 0                          -> EPROTONOSUPPORT
 *   sk_alloc (ENOBUFS: not modelled); on net->xdp.list (no /proc/net file; xsk_diag only);
 *   sock_prot_inuse_add(XDP, 1).
 */
import { EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../../abi/errno';
import { CAP } from '../../../abi/constants';
import type { CreateCtx, NetProtoFamily, SockUnderConstruction } from '../../family';

const D_XDP = Object.freeze({ XDP: 1 });

export function xskCreate(ctx: CreateCtx, sock: SockUnderConstruction, protocol: number): number {
  const tr = ctx.tracing;
  if (!ctx.nsCapable('xsk_create', CAP.CAP_NET_RAW)) {
    return ctx.fail('xsk_create', tr ? 'no CAP_NET_RAW in the user namespace owning the netns' : '', EPERM);
  }
  if (sock.type !== 3) return ctx.fail('xsk_create', tr ? `type ${sock.type} is not SOCK_RAW` : '', ESOCKTNOSUPPORT);
  if (protocol !== 0) return ctx.fail('xsk_create', tr ? `protocol ${protocol} is not 0` : '', EPROTONOSUPPORT);
  if (tr) ctx.step({ fn: 'xsk_create', what: 'sk_alloc("XDP"), on net->xdp.list, sock_prot_inuse_add(XDP, 1)', outcome: 'pass' });
  sock.sk = {
    family: 44,
    type: 3,
    protocol: 0,
    protoName: 'XDP',
    procNet: null,
    protocolsDelta: D_XDP as Record<string, number>,
    sockstatUsedDelta: 1,
  };
  return 0;
}

export const xdpFamily: NetProtoFamily = {
  family: 44,
  name: 'PF_XDP',
  createFn: 'xsk_create',
  source: 'net/xdp/xsk.c',
  configSym: 'CONFIG_XDP_SOCKETS',
  since: '4.18',
  create: xskCreate,
};
