/**
 * AF_PHONET (35): net/phonet/af_phonet.c pn_socket_create() and its proto_tab[]:
 *   1 PN_PROTO_PHONET  datagram.c  SOCK_DGRAM      (phonet.ko)
 *   2 PN_PROTO_PIPE    pep.c       SOCK_SEQPACKET  (pn_pep.ko, net-pf-35-proto-2)
 */
import { AF, CAP, SOCK } from '../../../abi/constants';
import { EPERM, EPROTONOSUPPORT } from '../../../abi/errno';
import type { CreateCtx, NetProtoFamily } from '../../family';
import { lookupWithAutoload, skAlloc } from '../modular_common';

export const PN_PROTO = { TRANSPORT: 0, PHONET: 1, PIPE: 2 } as const;
export const PHONET_NPROTO = 3;

interface PnProto { protocol: number; type: number; protoName: string; module: string }
export const pnProtos: PnProto[] = [
  { protocol: PN_PROTO.PHONET, type: SOCK.SOCK_DGRAM, protoName: 'PHONET', module: 'phonet' },
  { protocol: PN_PROTO.PIPE, type: SOCK.SOCK_SEQPACKET, protoName: 'PNPIPE', module: 'pn_pep' },
];

const registered = (ctx: CreateCtx, p: PnProto | undefined): boolean => !!p && ctx.present('CONFIG_PHONET', p.module);

export const phonetFamily: NetProtoFamily = {
  family: AF.AF_PHONET,
  name: 'PF_PHONET',
  createFn: 'pn_socket_create',
  source: 'net/phonet/af_phonet.c',
  configSym: 'CONFIG_PHONET',
  module: 'phonet',
  create(ctx, sock, protocol) {
    const fn = 'pn_socket_create';
    // capable(CAP_SYS_ADMIN), first. (2.6.28 had an init_net test before it; gone since.)
    if (!ctx.capable(fn, CAP.CAP_SYS_ADMIN)) return ctx.fail(fn, 'CAP_SYS_ADMIN missing', EPERM);
    let p = protocol;
    if (p === 0) {
      if (sock.type === SOCK.SOCK_DGRAM) p = PN_PROTO.PHONET;
      else if (sock.type === SOCK.SOCK_SEQPACKET) p = PN_PROTO.PIPE;
      else return ctx.fail(fn, `no default protocol for sock->type ${sock.type}`, EPROTONOSUPPORT);
      ctx.step({ fn, what: `protocol 0 -> ${p}`, outcome: 'rewrite' });
    }
    // phonet_proto_get() returns NULL for protocol >= PHONET_NPROTO, and the kernel still
    // asks modprobe for "net-pf-35-proto-<protocol>" before giving up.
    const pp = p >= 0 && p < PHONET_NPROTO ? pnProtos.find((x) => x.protocol === p) : undefined;
    const found = lookupWithAutoload(ctx, fn, () => registered(ctx, pp), `net-pf-${AF.AF_PHONET}-proto-${p}`);
    if (!found || !pp) return ctx.fail(fn, `no Phonet protocol ${p}`, EPROTONOSUPPORT);
    if (sock.type !== pp.type) {
      return ctx.fail(fn, `sock->type ${sock.type} != pnp->sock_type ${pp.type}`, EPROTONOSUPPORT);
    }
    // Hashed into /proc/net/phonet only at bind/autobind.
    return skAlloc(ctx, sock, { fn, protoName: pp.protoName, protocol: p });
  },
};
