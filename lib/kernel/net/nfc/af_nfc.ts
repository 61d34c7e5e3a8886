/**
 * AF_NFC (39): net/nfc/af_nfc.c nfc_sock_create() and the two protocols nfc.ko registers
 * itself (no request_module here):
 *   0 NFC_SOCKPROTO_RAW   net/nfc/rawsock.c   rawsock_create    SEQPACKET, RAW
 *   1 NFC_SOCKPROTO_LLCP  net/nfc/llcp_sock.c llcp_sock_create  STREAM, DGRAM, RAW
 */
import { AF, CAP, SOCK } from '../../../abi/constants';
import { EAFNOSUPPORT, EINVAL, EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { CreateCtx, NetProtoFamily, SockUnderConstruction } from '../../family';
import { skAlloc } from '../modular_common';

export const NFC_SOCKPROTO = { RAW: 0, LLCP: 1 } as const;
export const NFC_SOCKPROTO_MAX = 2;

/** rawsock_create(). */
export function rawsockCreate(ctx: CreateCtx, sock: SockUnderConstruction): number {
  const fn = 'rawsock_create';
  if (sock.type !== SOCK.SOCK_SEQPACKET && sock.type !== SOCK.SOCK_RAW) {
    return ctx.fail(fn, `sock->type ${sock.type} not SEQPACKET/RAW`, ESOCKTNOSUPPORT);
  }
  if (sock.type === SOCK.SOCK_RAW) {
    // 26896f01467a "net/nfc/rawsock.c: add CAP_NET_RAW check" (v5.7) used capable();
    // 8ab78863e9ef "net/nfc/rawsock.c: fix a permission check bug" (v5.13) made it
    // ns_capable(net->user_ns, ...). Both boundaries: UNVERIFIED release numbers.
    if (ctx.kernelAtLeast('5.13')) {
      if (!ctx.nsCapable(fn, CAP.CAP_NET_RAW)) return ctx.fail(fn, 'SOCK_RAW needs CAP_NET_RAW', EPERM);
    } else if (ctx.kernelAtLeast('5.7')) {
      if (!ctx.capable(fn, CAP.CAP_NET_RAW)) return ctx.fail(fn, 'SOCK_RAW needs CAP_NET_RAW', EPERM);
    }
  }
  // sk->sk_protocol = nfc_proto->id (0).
  return skAlloc(ctx, sock, { fn, protoName: 'NFC_RAW', protocol: NFC_SOCKPROTO.RAW });
}

/** llcp_sock_create(). */
export function llcpSockCreate(ctx: CreateCtx, sock: SockUnderConstruction): number {
  const fn = 'llcp_sock_create';
  if (sock.type !== SOCK.SOCK_STREAM && sock.type !== SOCK.SOCK_DGRAM && sock.type !== SOCK.SOCK_RAW) {
    return ctx.fail(fn, `sock->type ${sock.type} not STREAM/DGRAM/RAW`, ESOCKTNOSUPPORT);
  }
  // 3a359798b176 "nfc: enforce CAP_NET_RAW for raw sockets" (v5.4): capable().
  if (sock.type === SOCK.SOCK_RAW && ctx.kernelAtLeast('5.4') && !ctx.capable(fn, CAP.CAP_NET_RAW)) {
    return ctx.fail(fn, 'SOCK_RAW needs CAP_NET_RAW', EPERM);
  }
  // nfc_llcp_sock_alloc(): sk->sk_protocol = NFC_SOCKPROTO_LLCP, so SO_PROTOCOL reads 1.
  return skAlloc(ctx, sock, { fn, protoName: 'NFC_LLCP', protocol: NFC_SOCKPROTO.LLCP, note: 'nfc_llcp_sock_alloc' });
}

export const nfcFamily: NetProtoFamily = {
  family: AF.AF_NFC,
  name: 'PF_NFC',
  createFn: 'nfc_sock_create',
  source: 'net/nfc/af_nfc.c',
  configSym: 'CONFIG_NFC',
  module: 'nfc',
  since: '3.1',
  create(ctx, sock, proto) {
    const fn = 'nfc_sock_create';
    if (!ctx.netIsInit(fn)) return ctx.fail(fn, 'net != &init_net', EAFNOSUPPORT);
    if (proto < 0 || proto >= NFC_SOCKPROTO_MAX) {
      return ctx.fail(fn, `proto ${proto} outside 0..${NFC_SOCKPROTO_MAX - 1} (NFC_SOCKPROTO_MAX)`, EINVAL);
    }
    // Both protocols register from nfc_init(); proto_tab[] is full whenever nfc.ko is in.
    if (!ctx.present('CONFIG_NFC', 'nfc')) return ctx.fail(fn, `proto_tab[${proto}] empty`, EPROTONOSUPPORT);
    return proto === NFC_SOCKPROTO.RAW ? rawsockCreate(ctx, sock) : llcpSockCreate(ctx, sock);
  },
};
