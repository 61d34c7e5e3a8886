/**
 * AF_CAIF (37): net/caif/caif_socket.c caif_create(). Two capability checks in the init
 * user namespace, SYS_ADMIN first: a caller without CAP_SYS_ADMIN shows two cap_capable
 * events (SYS_ADMIN denied, then NET_ADMIN).
 */
import { AF, CAP, SOCK } from '../../../abi/constants';
import { EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { NetProtoFamily } from '../../family';
import { skAlloc } from '../modular_common';

/** include/uapi/linux/caif/caif_socket.h: AT, DATAGRAM, DATAGRAM_LOOP, UTIL, RFM, DEBUG. */
export const CAIFPROTO_MAX = 6;

export const caifFamily: NetProtoFamily = {
  family: AF.AF_CAIF,
  name: 'PF_CAIF',
  createFn: 'caif_create',
  source: 'net/caif/caif_socket.c',
  configSym: 'CONFIG_CAIF',
  module: 'caif_socket',
  since: '2.6.35',
  create(ctx, sock, protocol) {
    const fn = 'caif_create';
    if (!ctx.capable(fn, CAP.CAP_SYS_ADMIN) && !ctx.capable(fn, CAP.CAP_NET_ADMIN)) {
      return ctx.fail(fn, 'neither CAP_SYS_ADMIN nor CAP_NET_ADMIN', EPERM);
    }
    if (sock.type !== SOCK.SOCK_SEQPACKET && sock.type !== SOCK.SOCK_STREAM) {
      return ctx.fail(fn, `sock->type ${sock.type} not SEQPACKET/STREAM`, ESOCKTNOSUPPORT);
    }
    if (protocol < 0 || protocol >= CAIFPROTO_MAX) {
      return ctx.fail(fn, `protocol ${protocol} outside 0..${CAIFPROTO_MAX - 1} (CAIFPROTO_MAX)`, EPROTONOSUPPORT);
    }
    // sk->sk_protocol = (unsigned char) protocol
    return skAlloc(ctx, sock, { fn, protoName: 'PF_CAIF', protocol: protocol & 0xff });
  },
};
