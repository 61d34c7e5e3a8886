/**
 * AF_RDS (21): net/rds/af_rds.c rds_create(). One test for type and protocol, so a
 * non-zero protocol is ESOCKTNOSUPPORT, not EPROTONOSUPPORT.
 */
import { AF, SOCK } from '../../../abi/constants';
import { ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { NetProtoFamily } from '../../family';
import { skAlloc } from '../modular_common';

export const rdsFamily: NetProtoFamily = {
  family: AF.AF_RDS,
  name: 'PF_RDS',
  createFn: 'rds_create',
  source: 'net/rds/af_rds.c',
  configSym: 'CONFIG_RDS',
  module: 'rds',
  create(ctx, sock, protocol) {
    const fn = 'rds_create';
    if (sock.type !== SOCK.SOCK_SEQPACKET || protocol !== 0) {
      return ctx.fail(fn, `sock->type ${sock.type} != SOCK_SEQPACKET or protocol ${protocol} != 0`, ESOCKTNOSUPPORT);
    }
    // __rds_create(): sk->sk_protocol = protocol (0), added to rds_sock_list.
    return skAlloc(ctx, sock, { fn: '__rds_create', protoName: 'RDS', protocol: 0 });
  },
};
