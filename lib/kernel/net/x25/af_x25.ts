/** AF_X25 (9): net/x25/af_x25.c x25_create(). A non-zero protocol is EINVAL here. */
import { AF, SOCK } from '../../../abi/constants';
import { EAFNOSUPPORT, EINVAL, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { NetProtoFamily } from '../../family';
import { skAlloc } from '../modular_common';

export const x25Family: NetProtoFamily = {
  family: AF.AF_X25,
  name: 'PF_X25',
  createFn: 'x25_create',
  source: 'net/x25/af_x25.c',
  configSym: 'CONFIG_X25',
  module: 'x25',
  create(ctx, sock, protocol) {
    const fn = 'x25_create';
    if (!ctx.netIsInit(fn)) return ctx.fail(fn, 'netns is not init_net', EAFNOSUPPORT);
    if (sock.type !== SOCK.SOCK_SEQPACKET) return ctx.fail(fn, `sock->type ${sock.type} != SOCK_SEQPACKET`, ESOCKTNOSUPPORT);
    if (protocol !== 0) return ctx.fail(fn, `protocol ${protocol} != 0`, EINVAL);
    // x25_alloc_socket(); listed in /proc/net/x25/socket only after bind (x25_insert_socket).
    return skAlloc(ctx, sock, { fn, protoName: 'X25', protocol: 0 });
  },
};
