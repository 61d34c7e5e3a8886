/** AF_ROSE (11): net/rose/af_rose.c rose_create(). Same shape as nr_create. */
import { AF, SOCK } from '../../../abi/constants';
import { EAFNOSUPPORT, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { NetProtoFamily } from '../../family';
import { skAlloc } from '../modular_common';

export const roseFamily: NetProtoFamily = {
  family: AF.AF_ROSE,
  name: 'PF_ROSE',
  createFn: 'rose_create',
  source: 'net/rose/af_rose.c',
  configSym: 'CONFIG_ROSE',
  module: 'rose',
  create(ctx, sock, protocol) {
    const fn = 'rose_create';
    if (!ctx.netIsInit(fn)) return ctx.fail(fn, 'netns is not init_net', EAFNOSUPPORT);
    if (sock.type !== SOCK.SOCK_SEQPACKET || protocol !== 0) {
      return ctx.fail(fn, `sock->type ${sock.type} != SOCK_SEQPACKET or protocol ${protocol} != 0`, ESOCKTNOSUPPORT);
    }
    return skAlloc(ctx, sock, { fn, protoName: 'ROSE', protocol: 0 });
  },
};
