/**
 * AF_RXRPC (33): net/rxrpc/af_rxrpc.c rxrpc_create(). The protocol names the transport
 * family (PF_INET, or PF_INET6 with CONFIG_AF_RXRPC_IPV6). The test is written
 * `protocol != PF_INET && IS_ENABLED(CONFIG_AF_RXRPC_IPV6) && protocol != PF_INET6`,
 * so without AF_RXRPC_IPV6 no protocol is refused at all.
 */
import { AF, SOCK } from '../../../abi/constants';
import { EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { NetProtoFamily } from '../../family';
import { skAlloc } from '../modular_common';

export const rxrpcFamily: NetProtoFamily = {
  family: AF.AF_RXRPC,
  name: 'PF_RXRPC',
  createFn: 'rxrpc_create',
  source: 'net/rxrpc/af_rxrpc.c',
  configSym: 'CONFIG_AF_RXRPC',
  module: 'rxrpc',
  create(ctx, sock, protocol) {
    const fn = 'rxrpc_create';
    const v6 = ctx.present('CONFIG_AF_RXRPC_IPV6');
    if (protocol !== AF.AF_INET && v6 && protocol !== AF.AF_INET6) {
      return ctx.fail(fn, `protocol ${protocol} not PF_INET/PF_INET6`, EPROTONOSUPPORT);
    }
    if (sock.type !== SOCK.SOCK_DGRAM) return ctx.fail(fn, `sock->type ${sock.type} != SOCK_DGRAM`, ESOCKTNOSUPPORT);
    // The protocol is kept as rx->family; sk_protocol stays 0.
    return skAlloc(ctx, sock, { fn, protoName: 'RXRPC', protocol: 0 });
  },
};
