/**
 * AF_ALG (38): crypto/af_alg.c alg_create(). No capability and no netns check; the
 * algorithm is chosen later at bind() (request_module("algif-%s") happens there, not here).
 */
import { AF, SOCK } from '../../abi/constants';
import { EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../abi/errno';
import type { NetProtoFamily } from '../family';
import { skAlloc } from '../net/modular_common';

export const algFamily: NetProtoFamily = {
  family: AF.AF_ALG,
  name: 'PF_ALG',
  createFn: 'alg_create',
  source: 'crypto/af_alg.c',
  configSym: 'CONFIG_CRYPTO_USER_API',
  module: 'af_alg',
  since: '2.6.38',
  create(ctx, sock, protocol) {
    const fn = 'alg_create';
    // Type first, then protocol: (AF_ALG, SOCK_STREAM, 7) is ESOCKTNOSUPPORT.
    if (sock.type !== SOCK.SOCK_SEQPACKET) {
      return ctx.fail(fn, `sock->type ${sock.type} != SOCK_SEQPACKET`, ESOCKTNOSUPPORT);
    }
    if (protocol !== 0) return ctx.fail(fn, `protocol ${protocol} != 0`, EPROTONOSUPPORT);
    return skAlloc(ctx, sock, { fn, protoName: 'ALG', protocol: 0 });
  },
};
