/** AF_KCM (41): net/kcm/kcmsock.c kcm_create(). Type before protocol. */
import { AF, SOCK } from '../../../abi/constants';
import { EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { NetProtoFamily } from '../../family';
import { skAlloc } from '../modular_common';

export const KCMPROTO_CONNECTED = 0;

export const kcmFamily: NetProtoFamily = {
  family: AF.AF_KCM,
  name: 'PF_KCM',
  createFn: 'kcm_create',
  source: 'net/kcm/kcmsock.c',
  configSym: 'CONFIG_AF_KCM',
  module: 'kcm',
  since: '4.6',
  create(ctx, sock, protocol) {
    const fn = 'kcm_create';
    if (sock.type !== SOCK.SOCK_DGRAM && sock.type !== SOCK.SOCK_SEQPACKET) {
      return ctx.fail(fn, `sock->type ${sock.type} not DGRAM/SEQPACKET`, ESOCKTNOSUPPORT);
    }
    if (protocol !== KCMPROTO_CONNECTED) return ctx.fail(fn, `protocol ${protocol} != KCMPROTO_CONNECTED (0)`, EPROTONOSUPPORT);
    // A new kcm_mux comes with every socket; /proc/net/kcm prints muxes and sockets by
    // index, not inode, so no table lists the socket's inode.
    return skAlloc(ctx, sock, { fn, protoName: 'KCM', protocol: 0, note: 'kcm_mux allocated' });
  },
};
