/**
 * AF_CAN (29): net/can/af_can.c can_create() and the protocols that register in its
 * proto_tab[CAN_NPROTO]: raw.c (CAN_RAW), bcm.c (CAN_BCM), isotp.c (CAN_ISOTP),
 * j1939/socket.c (CAN_J1939). Each protocol is its own module, found by the alias
 * "can-proto-N" (MODULE_ALIAS in each file).
 */
import { AF, SOCK } from '../../../abi/constants';
import { EAFNOSUPPORT, EINVAL, EPROTONOSUPPORT, EPROTOTYPE } from '../../../abi/errno';
import type { CreateCtx, NetProtoFamily } from '../../family';
import { lookupWithAutoload, skAlloc } from '../modular_common';

/** include/uapi/linux/can.h */
export const CAN = { CAN_RAW: 1, CAN_BCM: 2, CAN_TP16: 3, CAN_TP20: 4, CAN_MCNET: 5, CAN_ISOTP: 6, CAN_J1939: 7 } as const;
export const CAN_NPROTO = 8;

export interface CanProto {
  protocol: number;
  /** cp->type: the only sock->type the protocol accepts. */
  type: number;
  /** struct proto .name */
  protoName: string;
  configSym: string;
  module: string;
  since?: string;
}

export const canProtos: CanProto[] = [
  { protocol: CAN.CAN_RAW, type: SOCK.SOCK_RAW, protoName: 'CAN_RAW', configSym: 'CONFIG_CAN_RAW', module: 'can_raw' },
  { protocol: CAN.CAN_BCM, type: SOCK.SOCK_DGRAM, protoName: 'CAN_BCM', configSym: 'CONFIG_CAN_BCM', module: 'can_bcm' },
  { protocol: CAN.CAN_ISOTP, type: SOCK.SOCK_DGRAM, protoName: 'CAN_ISOTP', configSym: 'CONFIG_CAN_ISOTP', module: 'can_isotp', since: '5.10' },
  { protocol: CAN.CAN_J1939, type: SOCK.SOCK_DGRAM, protoName: 'CAN_J1939', configSym: 'CONFIG_CAN_J1939', module: 'can_j1939', since: '5.4' },
];

function registered(ctx: CreateCtx, cp: CanProto | undefined): boolean {
  if (!cp) return false;
  if (cp.since && !ctx.kernelAtLeast(cp.since)) return false;
  return ctx.present(cp.configSym, cp.module);
}

export const canFamily: NetProtoFamily = {
  family: AF.AF_CAN,
  name: 'PF_CAN',
  createFn: 'can_create',
  source: 'net/can/af_can.c',
  configSym: 'CONFIG_CAN',
  module: 'can',
  create(ctx, sock, protocol) {
    const fn = 'can_create';
    if (protocol < 0 || protocol >= CAN_NPROTO) {
      return ctx.fail(fn, `protocol ${protocol} outside 0..${CAN_NPROTO - 1} (CAN_NPROTO)`, EINVAL);
    }
    // Network namespaces came with 8e8cda6d737d "can: initial support for network
    // namespaces" (v4.12); before it can_create refused any netns but init_net.
    if (!ctx.kernelAtLeast('4.12') && !ctx.netIsInit(fn)) {
      return ctx.fail(fn, 'netns is not init_net (CAN before 4.12)', EAFNOSUPPORT);
    }
    const cp = canProtos.find((p) => p.protocol === protocol);
    // can_get_proto(); under CONFIG_MODULES a miss requests "can-proto-%d" and looks again.
    // A failed request is only logged ("can: request_module (can-proto-%d) failed.").
    const found = lookupWithAutoload(ctx, fn, () => registered(ctx, cp), `can-proto-${protocol}`);
    if (!found || !cp) return ctx.fail(fn, `no CAN protocol ${protocol} registered`, EPROTONOSUPPORT);
    ctx.step({ fn, what: `proto_tab[${protocol}] = ${cp.protoName} (${cp.module})`, outcome: 'pass' });
    if (cp.type !== sock.type) {
      return ctx.fail(fn, `cp->type ${cp.type} != sock->type ${sock.type}`, EPROTOTYPE);
    }
    // can_create never sets sk_protocol, so SO_PROTOCOL reads 0 - except for J1939, whose
    // sk_prot->init (j1939_sk_init) sets sk->sk_protocol = CAN_J1939. (A 2026 RFC moves the
    // assignment into can_create for every protocol; not in any release modelled here.) No
    // sock_prot_inuse_add at create in the 6.x can_create read.
    const soProtocol = protocol === CAN.CAN_J1939 ? CAN.CAN_J1939 : 0;
    return skAlloc(ctx, sock, { fn, protoName: cp.protoName, protocol: soProtocol, note: cp.protocol === CAN.CAN_J1939 ? 'j1939_sk_init: sk_protocol = CAN_J1939' : 'sk_prot->init' });
  },
};
