/**
 * AF_IEEE802154 (36): net/ieee802154/socket.c ieee802154_create(). Both protos hash the
 * new sock at create (raw_hash / dgram_hash), and each hash does sock_prot_inuse_add(+1).
 */
import { AF, CAP, SOCK } from '../../../abi/constants';
import { EAFNOSUPPORT, EPERM, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { NetProtoFamily } from '../../family';
import { skAlloc } from '../modular_common';

export const ieee802154Family: NetProtoFamily = {
  family: AF.AF_IEEE802154,
  name: 'PF_IEEE802154',
  createFn: 'ieee802154_create',
  source: 'net/ieee802154/socket.c',
  configSym: 'CONFIG_IEEE802154_SOCKET',
  module: 'ieee802154_socket',
  create(ctx, sock) {
    const fn = 'ieee802154_create';
    if (!ctx.netIsInit(fn)) return ctx.fail(fn, 'netns is not init_net', EAFNOSUPPORT);
    let protoName: string;
    switch (sock.type) {
      case SOCK.SOCK_RAW:
        // e69dbd4619e7 "ieee802154: enforce CAP_NET_RAW for raw sockets" (v5.4): capable().
        if (ctx.kernelAtLeast('5.4') && !ctx.capable(fn, CAP.CAP_NET_RAW)) {
          return ctx.fail(fn, 'SOCK_RAW needs CAP_NET_RAW', EPERM);
        }
        protoName = 'IEEE-802.15.4-RAW';
        break;
      case SOCK.SOCK_DGRAM:
        protoName = 'IEEE-802.15.4-MAC';
        break;
      default:
        return ctx.fail(fn, `sock->type ${sock.type} not RAW/DGRAM`, ESOCKTNOSUPPORT);
    }
    return skAlloc(ctx, sock, {
      fn, protoName, protocol: 0, protocolsDelta: { [protoName]: 1 }, note: 'sk_prot->hash',
    });
  },
};
