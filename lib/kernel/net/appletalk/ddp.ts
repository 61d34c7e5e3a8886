/**
 * AF_APPLETALK (5): net/appletalk/ddp.c atalk_create(). DGRAM, and RAW as "an extension
 * that gives the full ELAP frame". The protocol argument is ignored.
 */
import { AF, CAP, SOCK } from '../../../abi/constants';
import { EAFNOSUPPORT, EPERM, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { NetProtoFamily } from '../../family';
import { skAlloc } from '../modular_common';

export const appletalkFamily: NetProtoFamily = {
  family: AF.AF_APPLETALK,
  name: 'PF_APPLETALK',
  createFn: 'atalk_create',
  source: 'net/appletalk/ddp.c',
  configSym: 'CONFIG_ATALK',
  module: 'appletalk',
  create(ctx, sock) {
    const fn = 'atalk_create';
    if (!ctx.netIsInit(fn)) return ctx.fail(fn, 'netns is not init_net', EAFNOSUPPORT);
    if (sock.type !== SOCK.SOCK_RAW && sock.type !== SOCK.SOCK_DGRAM) {
      return ctx.fail(fn, `sock->type ${sock.type} not RAW/DGRAM`, ESOCKTNOSUPPORT);
    }
    // 6cc03e8aa36c "appletalk: enforce CAP_NET_RAW for raw sockets" (Ori Nimron's series,
    // v5.4): `sock->type == SOCK_RAW && !kern && !capable(CAP_NET_RAW)`.
    if (sock.type === SOCK.SOCK_RAW && ctx.kernelAtLeast('5.4') && !ctx.capable(fn, CAP.CAP_NET_RAW)) {
      return ctx.fail(fn, 'SOCK_RAW needs CAP_NET_RAW', EPERM);
    }
    // Not in /proc/net/atalk/socket until bind/autobind (atalk_insert_socket).
    return skAlloc(ctx, sock, { fn, protoName: 'DDP', protocol: 0 });
  },
};
