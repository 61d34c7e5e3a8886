/**
 * AF_IUCV (32): net/iucv/af_iucv.c iucv_sock_create(). s390 only: CONFIG_AFIUCV depends
 * on S390, so on every other arch the symbol is unset and the family never registers.
 */
import { AF, SOCK } from '../../../abi/constants';
import { EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { NetProtoFamily } from '../../family';
import { skAlloc, skProtocol } from '../modular_common';

export const iucvFamily: NetProtoFamily = {
  family: AF.AF_IUCV,
  name: 'PF_IUCV',
  createFn: 'iucv_sock_create',
  source: 'net/iucv/af_iucv.c',
  configSym: 'CONFIG_AFIUCV',
  module: 'af_iucv',
  create(ctx, sock, protocol) {
    const fn = 'iucv_sock_create';
    if (protocol !== 0 && protocol !== AF.AF_IUCV) return ctx.fail(fn, `protocol ${protocol} not 0/PF_IUCV`, EPROTONOSUPPORT);
    if (sock.type !== SOCK.SOCK_STREAM && sock.type !== SOCK.SOCK_SEQPACKET) {
      return ctx.fail(fn, `sock->type ${sock.type} not STREAM/SEQPACKET`, ESOCKTNOSUPPORT);
    }
    // iucv_sock_alloc(): sk->sk_protocol = proto.
    return skAlloc(ctx, sock, { fn, protoName: 'AF_IUCV', protocol: skProtocol(ctx, protocol) });
  },
};
