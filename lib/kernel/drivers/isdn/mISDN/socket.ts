/**
 * AF_ISDN (34): drivers/isdn/mISDN/socket.c mISDN_sock_create(): the protocol picks
 * base_sock_create (ISDN_P_BASE, SOCK_RAW) or data_sock_create (layer 1/2 and B-channel
 * protocols, SOCK_DGRAM).
 */
import { AF, CAP, SOCK } from '../../../../abi/constants';
import { EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../../../abi/errno';
import type { NetProtoFamily } from '../../../family';
import { skAlloc, skProtocol } from '../../../net/modular_common';

/** include/linux/mISDNif.h */
export const ISDN_P = {
  BASE: 0x00, TE_S0: 0x01, NT_S0: 0x02, TE_E1: 0x03, NT_E1: 0x04, LAPD_TE: 0x10, LAPD_NT: 0x11,
  B_RAW: 0x21, B_HDLC: 0x22, B_X75SLP: 0x23, B_L2DTMF: 0x30, B_L2DSP: 0x31, B_L2DSPHDLC: 0x32,
} as const;
const DATA_PROTOS: number[] = [
  ISDN_P.TE_S0, ISDN_P.NT_S0, ISDN_P.TE_E1, ISDN_P.NT_E1, ISDN_P.LAPD_TE, ISDN_P.LAPD_NT,
  ISDN_P.B_RAW, ISDN_P.B_HDLC, ISDN_P.B_X75SLP, ISDN_P.B_L2DTMF, ISDN_P.B_L2DSP, ISDN_P.B_L2DSPHDLC,
];

export const isdnFamily: NetProtoFamily = {
  family: AF.AF_ISDN,
  name: 'PF_ISDN',
  createFn: 'mISDN_sock_create',
  source: 'drivers/isdn/mISDN/socket.c',
  configSym: 'CONFIG_MISDN',
  module: 'mISDN_core',
  create(ctx, sock, protocol) {
    const fn = 'mISDN_sock_create';
    if (protocol === ISDN_P.BASE) {
      const b = 'base_sock_create';
      if (sock.type !== SOCK.SOCK_RAW) return ctx.fail(b, `sock->type ${sock.type} != SOCK_RAW`, ESOCKTNOSUPPORT);
      // b91ee4aa2a21 "mISDN: enforce CAP_NET_RAW for raw sockets" (v5.4): capable().
      if (ctx.kernelAtLeast('5.4') && !ctx.capable(b, CAP.CAP_NET_RAW)) {
        return ctx.fail(b, 'CAP_NET_RAW missing', EPERM);
      }
      return skAlloc(ctx, sock, { fn: b, protoName: 'misdn', protocol: 0, note: 'mISDN_sock_link(base_sockets)' });
    }
    if (!DATA_PROTOS.includes(protocol)) return ctx.fail(fn, `protocol ${protocol} is no ISDN_P_* layer`, EPROTONOSUPPORT);
    const d = 'data_sock_create';
    if (sock.type !== SOCK.SOCK_DGRAM) return ctx.fail(d, `sock->type ${sock.type} != SOCK_DGRAM`, ESOCKTNOSUPPORT);
    return skAlloc(ctx, sock, { fn: d, protoName: 'misdn', protocol: skProtocol(ctx, protocol), note: 'mISDN_sock_link(data_sockets)' });
  },
};
