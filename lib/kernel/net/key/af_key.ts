/**
 * AF_KEY (15): net/key/af_key.c pfkey_create(). The capability comes first, so an
 * unprivileged caller sees EPERM whatever type and protocol it passed.
 */
import { AF, CAP, SOCK } from '../../../abi/constants';
import { EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { NetProtoFamily } from '../../family';
import { skAlloc } from '../modular_common';

/** PF_KEY_V2 (include/uapi/linux/pfkeyv2.h). */
export const PF_KEY_V2 = 2;

export const keyFamily: NetProtoFamily = {
  family: AF.AF_KEY,
  name: 'PF_KEY',
  createFn: 'pfkey_create',
  source: 'net/key/af_key.c',
  configSym: 'CONFIG_NET_KEY',
  module: 'af_key',
  create(ctx, sock, protocol) {
    const fn = 'pfkey_create';
    // ns_capable(net->user_ns, ...) since "net: Allow userns root to control ipsec" (v3.8);
    // before that capable(CAP_NET_ADMIN) in the initial user namespace.
    const ok = ctx.kernelAtLeast('3.8')
      ? ctx.nsCapable(fn, CAP.CAP_NET_ADMIN)
      : ctx.capable(fn, CAP.CAP_NET_ADMIN);
    if (!ok) return ctx.fail(fn, 'CAP_NET_ADMIN missing', EPERM);
    if (sock.type !== SOCK.SOCK_RAW) {
      return ctx.fail(fn, `sock->type ${sock.type} != SOCK_RAW`, ESOCKTNOSUPPORT);
    }
    if (protocol !== PF_KEY_V2) {
      return ctx.fail(fn, `protocol ${protocol} != PF_KEY_V2 (2)`, EPROTONOSUPPORT);
    }
    // pfkey_insert() links the sock into the per-netns table that /proc/net/pfkey prints
    // (one row per socket, with its inode). sk_protocol is never set.
    return skAlloc(ctx, sock, { fn, protoName: 'KEY', protocol: 0, procNet: 'pfkey', note: 'pfkey_insert' });
  },
};
