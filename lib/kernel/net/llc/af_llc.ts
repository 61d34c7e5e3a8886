/**
 * AF_LLC (26): net/llc/af_llc.c llc_ui_create(). The capability is checked before the
 * netns, so an unprivileged caller in a child netns sees EPERM, not EAFNOSUPPORT.
 * The protocol argument is unused.
 */
import { AF, CAP, SOCK } from '../../../abi/constants';
import { EAFNOSUPPORT, EPERM, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { NetProtoFamily } from '../../family';
import { skAlloc } from '../modular_common';

export const llcFamily: NetProtoFamily = {
  family: AF.AF_LLC,
  name: 'PF_LLC',
  createFn: 'llc_ui_create',
  source: 'net/llc/af_llc.c',
  configSym: 'CONFIG_LLC2',
  module: 'llc2',
  create(ctx, sock) {
    const fn = 'llc_ui_create';
    // The versions read (3.x to 6.x signatures) all use capable(): the init user namespace.
    if (!ctx.capable(fn, CAP.CAP_NET_RAW)) return ctx.fail(fn, 'CAP_NET_RAW missing', EPERM);
    if (!ctx.netIsInit(fn)) return ctx.fail(fn, 'netns is not init_net', EAFNOSUPPORT);
    if (sock.type !== SOCK.SOCK_DGRAM && sock.type !== SOCK.SOCK_STREAM) {
      return ctx.fail(fn, `sock->type ${sock.type} not DGRAM/STREAM`, ESOCKTNOSUPPORT);
    }
    return skAlloc(ctx, sock, { fn, protoName: 'LLC', protocol: 0, note: 'llc_sk_alloc' });
  },
};
