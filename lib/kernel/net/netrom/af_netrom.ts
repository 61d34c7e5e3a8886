/** AF_NETROM (6): net/netrom/af_netrom.c nr_create(). */
import { AF, SOCK } from '../../../abi/constants';
import { EAFNOSUPPORT, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { NetProtoFamily } from '../../family';
import { skAlloc } from '../modular_common';

export const netromFamily: NetProtoFamily = {
  family: AF.AF_NETROM,
  name: 'PF_NETROM',
  createFn: 'nr_create',
  source: 'net/netrom/af_netrom.c',
  configSym: 'CONFIG_NETROM',
  module: 'netrom',
  create(ctx, sock, protocol) {
    const fn = 'nr_create';
    if (!ctx.netIsInit(fn)) return ctx.fail(fn, 'netns is not init_net', EAFNOSUPPORT);
    // One test for both: a bad protocol is ESOCKTNOSUPPORT too.
    if (sock.type !== SOCK.SOCK_SEQPACKET || protocol !== 0) {
      return ctx.fail(fn, `sock->type ${sock.type} != SOCK_SEQPACKET or protocol ${protocol} != 0`, ESOCKTNOSUPPORT);
    }
    return skAlloc(ctx, sock, { fn, protoName: 'NETROM', protocol: 0 });
  },
};
