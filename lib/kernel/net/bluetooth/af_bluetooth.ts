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
 *   8 ISO    iso.c         iso_sock_create     (bluetooth.ko, CONFIG_BT_LE, 6.0+, only once the mgmt
 *                                              ISO socket experimental feature ran iso_init())
 * Every sub-protocol links the new sock into its bt_sock_list, which bt_procfs_init()
 * prints as /proc/net/<name> with the socket inode: the socket is listed at creation.
 */
import { AF, CAP, SOCK } from '../../../abi/constants';
import { EAFNOSUPPORT, EINVAL, EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { FactUse } from '../../../types';
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
  /**
   * A run-time switch that registers it besides its module being there (ISO: the mgmt
   * experimental feature). Asked once per call, so an unknown switch branches once.
   */
  runtimeSwitch?(ctx: CreateCtx): { on: boolean; what: string; fact?: FactUse };
  /** Checks after the type check (capabilities). Return 0 or -errno. */
  extra?(ctx: CreateCtx, fn: string, sock: SockUnderConstruction): number;
}

const core = (ctx: CreateCtx): boolean => ctx.present('CONFIG_BT', 'bluetooth');

/**
 * Whether iso_init() has run, i.e. bt_proto[BTPROTO_ISO] is set. bt_init() never calls it:
 * only the mgmt "ISO socket" experimental feature does (net/bluetooth/mgmt.c
 * set_iso_socket_func(): iso_init() on 0x01, iso_exit() on 0x00), sent by a privileged
 * HCI_CHANNEL_CONTROL socket (bluetoothd with its experimental features on). Checked in Debian's
 * 6.1 and 6.12 bluetooth.ko: init_module calls sco_init() then mgmt_init(), no iso_init().
 * iso_init() also proto_register()s "ISO", so /proc/net/protocols lists ISO exactly while the
 * sockets are registered. bluetooth.ko loaded later (this run's request_module) starts with it off.
 */
function isoInited(ctx: CreateCtx): { on: boolean; what: string; fact?: FactUse } {
  const listed = ctx.protoListed('ISO');
  if (listed !== null) {
    return {
      on: listed,
      what: listed
        ? 'ISO in /proc/net/protocols: iso_init() ran (mgmt ISO socket experimental feature on)'
        : 'no ISO in /proc/net/protocols: iso_init() has not run (only the mgmt ISO socket experimental feature calls it)',
      fact: ctx.use('net.protocols', listed ? 'lists ISO' : 'no ISO'),
    };
  }
  const before = ctx.presentAtProfile('CONFIG_BT', 'bluetooth');
  if (before === false) {
    return {
      on: false,
      what: 'bluetooth was not loaded when the profile was taken: loaded now by request_module, bt_init() leaves ISO sockets off (iso_init() runs only from the mgmt experimental feature)',
      fact: ctx.use('modules.loaded', 'no bluetooth'),
    };
  }
  // bluetooth was (or may have been) there already and nobody read /proc/net/protocols:
  // whether bluetoothd switched the experimental feature on is unknown.
  const on = ctx.fact<boolean>('bluetooth.iso_sockets', [false, true]);
  return { on: on.value, what: `ISO sockets ${on.value ? 'on' : 'off'}: ${on.use.value}`, fact: on.use };
}

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
    proto: 8, createFn: 'iso_sock_create', source: 'net/bluetooth/iso.c', protoName: 'ISO',
    procName: 'iso', types: [SOCK.SOCK_SEQPACKET],
    registered: (ctx) => core(ctx) && ctx.kernelAtLeast('6.0') && ctx.present('CONFIG_BT_LE'),
    runtimeSwitch: isoInited,
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
    // bt_sock_create runs inside bluetooth.ko, so a switch kept by that module is as it was
    // when this call started, whatever the request_module below loads.
    const sw = bp?.runtimeSwitch && bp.registered(ctx) ? bp.runtimeSwitch(ctx) : null;
    const found = lookupWithAutoload(ctx, fn, () => !!bp && bp.registered(ctx) && (sw === null || sw.on), `bt-proto-${proto}`);
    if (!found || !bp) {
      if (sw && !sw.on && bp?.registered(ctx)) return ctx.fail(fn, `bt_proto[${proto}] not registered: ${sw.what}`, EPROTONOSUPPORT, sw.fact);
      return ctx.fail(fn, `bt_proto[${proto}] not registered`, EPROTONOSUPPORT);
    }
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
