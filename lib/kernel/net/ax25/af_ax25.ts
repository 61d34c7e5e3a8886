/**
 * AF_AX25 (3): net/ax25/af_ax25.c ax25_create(). The protocol is a PID; 0 and PF_AX25
 * become AX25_P_TEXT, and SEQPACKET refuses the PIDs that other layers own.
 */
import { AF, CAP, SOCK } from '../../../abi/constants';
import { EAFNOSUPPORT, EPERM, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { CreateCtx, NetProtoFamily } from '../../family';
import { skAlloc, skProtocol } from '../modular_common';

/** include/net/ax25.h */
export const AX25_P = { ROSE: 0x01, SEGMENT: 0x08, IP: 0xcc, ARP: 0xcd, NETROM: 0xcf, TEXT: 0xf0 } as const;

/**
 * Whether a SEQPACKET PID belongs to another layer. Built-in layers (CONFIG_INET,
 * CONFIG_NETROM=y, CONFIG_ROSE=y) always refuse; a modular NET/ROM or ROSE refuses only
 * while it has registered its PID (ax25_protocol_is_registered).
 */
function pidTaken(ctx: CreateCtx, pid: number): boolean {
  if (pid === AX25_P.SEGMENT) return true;
  if (pid === AX25_P.ARP || pid === AX25_P.IP) return ctx.present('CONFIG_INET');
  if (pid === AX25_P.NETROM) return ctx.present('CONFIG_NETROM', 'netrom');
  if (pid === AX25_P.ROSE) return ctx.present('CONFIG_ROSE', 'rose');
  return false;
}

export const ax25Family: NetProtoFamily = {
  family: AF.AF_AX25,
  name: 'PF_AX25',
  createFn: 'ax25_create',
  source: 'net/ax25/af_ax25.c',
  configSym: 'CONFIG_AX25',
  module: 'ax25',
  create(ctx, sock, protocol) {
    const fn = 'ax25_create';
    if (!ctx.netIsInit(fn)) return ctx.fail(fn, 'netns is not init_net', EAFNOSUPPORT);
    let p = protocol;
    switch (sock.type) {
      case SOCK.SOCK_DGRAM:
        if (p === 0 || p === AF.AF_AX25) p = AX25_P.TEXT;
        break;
      case SOCK.SOCK_SEQPACKET:
        if (p === 0 || p === AF.AF_AX25) p = AX25_P.TEXT;
        else if (pidTaken(ctx, p)) return ctx.fail(fn, `SEQPACKET PID 0x${p.toString(16)} belongs to another layer`, ESOCKTNOSUPPORT);
        break;
      case SOCK.SOCK_RAW:
        // 0614e2b73768 "ax25: enforce CAP_NET_RAW for raw sockets" (v5.4); capable(), init userns.
        if (ctx.kernelAtLeast('5.4') && !ctx.capable(fn, CAP.CAP_NET_RAW)) {
          return ctx.fail(fn, 'SOCK_RAW needs CAP_NET_RAW', EPERM);
        }
        break;
      default:
        return ctx.fail(fn, `sock->type ${sock.type} not DGRAM/SEQPACKET/RAW`, ESOCKTNOSUPPORT);
    }
    if (p !== protocol) ctx.step({ fn, what: `protocol ${protocol} -> AX25_P_TEXT (0xf0)`, outcome: 'rewrite' });
    // ax25_create_cb() may also fail with ENOMEM; sk->sk_protocol = protocol.
    return skAlloc(ctx, sock, { fn, protoName: 'AX25', protocol: skProtocol(ctx, p) });
  },
};
