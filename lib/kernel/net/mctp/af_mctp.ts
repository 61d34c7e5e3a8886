/** AF_MCTP (45): net/mctp/af_mctp.c mctp_pf_create(). Protocol before type. */
import { AF, SOCK } from '../../../abi/constants';
import { EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { NetProtoFamily } from '../../family';
import { skAlloc } from '../modular_common';

export const mctpFamily: NetProtoFamily = {
  family: AF.AF_MCTP,
  name: 'PF_MCTP',
  createFn: 'mctp_pf_create',
  source: 'net/mctp/af_mctp.c',
  // CONFIG_MCTP is a bool: built in or absent, never a module.
  configSym: 'CONFIG_MCTP',
  since: '5.15',
  create(ctx, sock, protocol) {
    const fn = 'mctp_pf_create';
    if (protocol !== 0) return ctx.fail(fn, `protocol ${protocol} != 0`, EPROTONOSUPPORT);
    if (sock.type !== SOCK.SOCK_DGRAM) return ctx.fail(fn, `sock->type ${sock.type} != SOCK_DGRAM (only datagram sockets)`, ESOCKTNOSUPPORT);
    return skAlloc(ctx, sock, { fn, protoName: 'MCTP', protocol: 0, note: 'sk_prot->init' });
  },
};
