/**
 * AF_PPPOX (24): drivers/net/ppp/pppox.c pppox_create() and its pppox_protos[]:
 *   0 PX_PROTO_OE    drivers/net/ppp/pppoe.c pppoe_create      (pppoe.ko,    net-pf-24-proto-0)
 *   1 PX_PROTO_OL2TP net/l2tp/l2tp_ppp.c     pppol2tp_create   (l2tp_ppp.ko, net-pf-24-proto-1)
 *   2 PX_PROTO_PPTP  drivers/net/ppp/pptp.c  pptp_create       (pptp.ko,     net-pf-24-proto-2)
 * None of the sub-creates looks at sock->type: each sets sk->sk_type = SOCK_STREAM, so
 * SO_TYPE reads 1 whatever type socket() was given.
 */
import { AF, SOCK } from '../../../../abi/constants';
import { EPROTONOSUPPORT, EPROTOTYPE } from '../../../../abi/errno';
import type { CreateCtx, NetProtoFamily } from '../../../family';
import { lookupWithAutoload, skAlloc } from '../../../net/modular_common';

export const PX_PROTO = { OE: 0, OL2TP: 1, PPTP: 2 } as const;
/** PX_MAX_PROTO; pppox_protos[] has PX_MAX_PROTO + 1 slots and the range test is `>`. */
export const PX_MAX_PROTO = 3;

interface PppoxProto { protocol: number; createFn: string; protoName: string; configSym: string; module: string }

export const pppoxProtos: PppoxProto[] = [
  { protocol: PX_PROTO.OE, createFn: 'pppoe_create', protoName: 'PPPOE', configSym: 'CONFIG_PPPOE', module: 'pppoe' },
  { protocol: PX_PROTO.OL2TP, createFn: 'pppol2tp_create', protoName: 'PPPOL2TP', configSym: 'CONFIG_PPPOL2TP', module: 'l2tp_ppp' },
  { protocol: PX_PROTO.PPTP, createFn: 'pptp_create', protoName: 'PPTP', configSym: 'CONFIG_PPTP', module: 'pptp' },
];

const registered = (ctx: CreateCtx, p: PppoxProto | undefined): boolean => !!p && ctx.present(p.configSym, p.module);

export const pppoxFamily: NetProtoFamily = {
  family: AF.AF_PPPOX,
  name: 'PF_PPPOX',
  createFn: 'pppox_create',
  source: 'drivers/net/ppp/pppox.c',
  // pppox.o is linked by each of CONFIG_PPPOE / CONFIG_PPPOL2TP / CONFIG_PPTP; PPPOE is
  // the usual one. A kernel with only PPTP or L2TP would need this widened.
  configSym: 'CONFIG_PPPOE',
  module: 'pppox',
  create(ctx, sock, protocol) {
    const fn = 'pppox_create';
    // An out-of-range protocol is EPROTOTYPE here, not EPROTONOSUPPORT.
    if (protocol < 0 || protocol > PX_MAX_PROTO) {
      return ctx.fail(fn, `protocol ${protocol} outside 0..${PX_MAX_PROTO} (PX_MAX_PROTO)`, EPROTOTYPE);
    }
    const p = pppoxProtos.find((x) => x.protocol === protocol);
    const found = lookupWithAutoload(ctx, fn, () => registered(ctx, p), `net-pf-${AF.AF_PPPOX}-proto-${protocol}`);
    if (!found || !p) return ctx.fail(fn, `pppox_protos[${protocol}] not registered`, EPROTONOSUPPORT);
    ctx.step({ fn, what: `pppox_protos[${protocol}] -> ${p.createFn}`, outcome: 'pass' });
    return skAlloc(ctx, sock, {
      fn: p.createFn, protoName: p.protoName, protocol, type: SOCK.SOCK_STREAM,
    });
  },
};
