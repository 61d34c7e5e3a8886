/**
 * AF_BLUETOOTH (31): net/bluetooth/af_bluetooth.c bt_sock_create() and the bt_proto[]
 * sub-protocols, each with its own create:
 *   0 L2CAP  l2cap_sock.c  l2cap_sock_create   (bluetooth.ko)
 *   1 HCI    hci_sock.c    hci_sock_create     (bluetooth.ko)
 *   2 SCO    sco.c         sco_sock_create     (bluetooth.ko, CONFIG_BT_BREDR)
 *   3 RFCOMM rfcomm/sock.c rfcomm_sock_create  (rfcomm.ko, alias bt-proto-3)
 *   4 BNEP   bnep/sock.c   bnep_sock_create    (bnep.ko, bt-proto-4)
 *   5 CMTP   cmtp/sock.c   cmtp_sock_create    (cmtp.ko, bt-proto-5)
 *   6 HIDP   hidp/sock.c   hidp_sock_create    (hidp.ko, bt-proto-6)
 *   7 AVDTP  (never registered by the kernel)
 *   8 ISO    iso.c         iso_sock_create     (bluetooth.ko, CONFIG_BT_LE, 6.0+)
 * Every sub-protocol links the new sock into its bt_sock_list, which bt_procfs_init()
 * prints as /proc/net/<name> with the socket inode: the socket is listed at creation.
 */
import { AF, CAP, SOCK } from '../../../abi/constants';
import { EAFNOSUPPORT, EINVAL, EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { CreateCtx, NetProtoFamily, SockUnderConstruction } from '../../family';
import { lookupWithAutoload, skAlloc } from '../modular_common';

export const BTPROTO = {
  BTPROTO_L2CAP: 0, BTPROTO_HCI: 1, BTPROTO_SCO: 2, BTPROTO_RFCOMM: 3, BTPROTO_BNEP: 4,
  BTPROTO_CMTP: 5, BTPROTO_HIDP: 6, BTPROTO_AVDTP: 7, BTPROTO_ISO: 8,
} as const;

/**
 * BT_MAX_PROTO: 8 until BTPROTO_ISO joined (v6.0, "Bluetooth: Add BTPROTO_ISO socket
 * type"), then BTPROTO_LAST + 1 = 9. The 6.0 boundary is UNVERIFIED.
 */
export function btMaxProto(ctx: CreateCtx): number {
  return ctx.kernelAtLeast('6.0') ? 9 : 8;
}

interface BtProto {
  proto: number;
  createFn: string;
  source: string;
  protoName: string;
  /** /proc/net/<procName> (bt_procfs_init). */
  procName: string;
  /** sock->type values the create accepts. */
  types: number[];
  /** Whether bt_proto[proto] is registered right now. */
  registered(ctx: CreateCtx): boolean;
  /** Checks after the type check (capabilities). Return 0 or -errno. */
  extra?(ctx: CreateCtx, fn: string, sock: SockUnderConstruction): number;
}

const core = (ctx: CreateCtx): boolean => ctx.present('CONFIG_BT', 'bluetooth');

export const btProtos: BtProto[] = [
  {
    proto: 0, createFn: 'l2cap_sock_create', source: 'net/bluetooth/l2cap_sock.c', protoName: 'L2CAP',
    procName: 'l2cap', types: [SOCK.SOCK_SEQPACKET, SOCK.SOCK_STREAM, SOCK.SOCK_DGRAM, SOCK.SOCK_RAW],
    registered: core,
    extra(ctx, fn, sock) {
      // `sock->type == SOCK_RAW && !kern && !capable(CAP_NET_RAW)`: the init user namespace,
      // which is also the only one Bluetooth sockets exist in (init_net only).
      if (sock.type === SOCK.SOCK_RAW && !ctx.capable(fn, CAP.CAP_NET_RAW)) {
        return ctx.fail(fn, 'SOCK_RAW needs CAP_NET_RAW', EPERM);
      }
      return 0;
    },
  },
  {
    // No capability at create: HCI channels are checked at bind().
    proto: 1, createFn: 'hci_sock_create', source: 'net/bluetooth/hci_sock.c', protoName: 'HCI',
    procName: 'hci', types: [SOCK.SOCK_RAW], registered: core,
  },
  {
    proto: 2, createFn: 'sco_sock_create', source: 'net/bluetooth/sco.c', protoName: 'SCO',
    procName: 'sco', types: [SOCK.SOCK_SEQPACKET],
    registered: (ctx) => core(ctx) && ctx.present('CONFIG_BT_BREDR'),
  },
  {
    proto: 3, createFn: 'rfcomm_sock_create', source: 'net/bluetooth/rfcomm/sock.c', protoName: 'RFCOMM',
    procName: 'rfcomm', types: [SOCK.SOCK_STREAM, SOCK.SOCK_RAW],
    registered: (ctx) => ctx.present('CONFIG_BT_RFCOMM', 'rfcomm'),
  },
  {
    proto: 4, createFn: 'bnep_sock_create', source: 'net/bluetooth/bnep/sock.c', protoName: 'BNEP',
    procName: 'bnep', types: [SOCK.SOCK_RAW], registered: (ctx) => ctx.present('CONFIG_BT_BNEP', 'bnep'),
  },
  {
    proto: 5, createFn: 'cmtp_sock_create', source: 'net/bluetooth/cmtp/sock.c', protoName: 'CMTP',
    procName: 'cmtp', types: [SOCK.SOCK_RAW], registered: (ctx) => ctx.present('CONFIG_BT_CMTP', 'cmtp'),
  },
  {
    proto: 6, createFn: 'hidp_sock_create', source: 'net/bluetooth/hidp/sock.c', protoName: 'HIDP',
    procName: 'hidp', types: [SOCK.SOCK_RAW], registered: (ctx) => ctx.present('CONFIG_BT_HIDP', 'hidp'),
  },
  {
    // iso_init() registers BTPROTO_ISO. At first (6.0) only the mgmt "ISO socket"
    // experimental feature called it; a later change moved it into bt_init(). The model
    // takes the bt_init() form from 6.4 and treats the experimental switch as off before
    // (both the 6.4 boundary and the switch's state are UNVERIFIED).
    proto: 8, createFn: 'iso_sock_create', source: 'net/bluetooth/iso.c', protoName: 'ISO',
    procName: 'iso', types: [SOCK.SOCK_SEQPACKET],
    registered: (ctx) => core(ctx) && ctx.kernelAtLeast('6.4') && ctx.present('CONFIG_BT_LE'),
  },
];

export const bluetoothFamily: NetProtoFamily = {
  family: AF.AF_BLUETOOTH,
  name: 'PF_BLUETOOTH',
  createFn: 'bt_sock_create',
  source: 'net/bluetooth/af_bluetooth.c',
  configSym: 'CONFIG_BT',
  module: 'bluetooth',
  create(ctx, sock, proto) {
    const fn = 'bt_sock_create';
    if (!ctx.netIsInit(fn)) return ctx.fail(fn, 'net != &init_net', EAFNOSUPPORT);
    const max = btMaxProto(ctx);
    if (proto < 0 || proto >= max) return ctx.fail(fn, `proto ${proto} outside 0..${max - 1} (BT_MAX_PROTO)`, EINVAL);
    const bp = btProtos.find((p) => p.proto === proto);
    // `if (!bt_proto[proto]) request_module("bt-proto-%d", proto);` then look again.
    const found = lookupWithAutoload(ctx, fn, () => !!bp && bp.registered(ctx), `bt-proto-${proto}`);
    if (!found || !bp) return ctx.fail(fn, `bt_proto[${proto}] not registered`, EPROTONOSUPPORT);
    ctx.step({ fn, what: `bt_proto[${proto}] -> ${bp.createFn}`, outcome: 'pass' });
    const sub = bp.createFn;
    if (!bp.types.includes(sock.type)) {
      return ctx.fail(sub, `sock->type ${sock.type} not accepted by ${bp.protoName}`, ESOCKTNOSUPPORT);
    }
    const e = bp.extra ? bp.extra(ctx, sub, sock) : 0;
    if (e < 0) return e;
    // bt_sock_alloc(): sk->sk_protocol = proto; bt_sock_link() puts it in /proc/net/<name>.
    return skAlloc(ctx, sock, {
      fn: sub, protoName: bp.protoName, protocol: proto, procNet: bp.procName, note: 'bt_sock_link',
    });
  },
};
