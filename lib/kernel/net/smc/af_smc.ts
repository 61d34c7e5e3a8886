/**
 * AF_SMC (43): net/smc/af_smc.c smc_create() -> __smc_create(). Besides its own sock,
 * SMC creates an internal kernel TCP socket (the "clcsock") of family AF_INET, or
 * AF_INET6 for SMCPROTO_SMC6; that creation can fail on its own (no IPv6).
 */
import { AF, SOCK } from '../../../abi/constants';
import { EAFNOSUPPORT, EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { NetProtoFamily } from '../../family';
import { skAlloc } from '../modular_common';

export const SMCPROTO = { SMC: 0, SMC6: 1 } as const;

export const smcFamily: NetProtoFamily = {
  family: AF.AF_SMC,
  name: 'PF_SMC',
  createFn: 'smc_create',
  source: 'net/smc/af_smc.c',
  configSym: 'CONFIG_SMC',
  module: 'smc',
  since: '4.11',
  create(ctx, sock, protocol) {
    const fn = '__smc_create';
    if (sock.type !== SOCK.SOCK_STREAM) return ctx.fail(fn, `sock->type ${sock.type} != SOCK_STREAM`, ESOCKTNOSUPPORT);
    if (protocol !== SMCPROTO.SMC && protocol !== SMCPROTO.SMC6) {
      return ctx.fail(fn, `protocol ${protocol} not SMCPROTO_SMC (0) / SMCPROTO_SMC6 (1)`, EPROTONOSUPPORT);
    }
    const v6 = protocol === SMCPROTO.SMC6;
    const protoName = v6 ? 'SMC6' : 'SMC';
    ctx.step({ fn, what: `smc_sock_alloc: sk_alloc(proto "${protoName}"), sk_prot->hash (inuse +1)`, outcome: 'pass' });
    // smc_create_clcsk(): sock_create_kern(net, PF_INET[6], SOCK_STREAM, IPPROTO_TCP).
    // A kernel socket: it does not move "sockets: used", and TCP's protocols row moves
    // only at hash. What can fail is the family: __sock_create asks for net-pf-N first.
    const famSym = v6 ? 'CONFIG_IPV6' : 'CONFIG_INET';
    const famMod = v6 ? 'ipv6' : undefined;
    const famNum = v6 ? AF.AF_INET6 : AF.AF_INET;
    let have = ctx.present(famSym, famMod);
    if (!have && ctx.requestModule('__sock_create', `net-pf-${famNum}`)) have = ctx.present(famSym, famMod);
    if (!have) {
      return ctx.fail('smc_create_clcsk', `internal TCP socket: family ${famNum} not registered`, EAFNOSUPPORT);
    }
    ctx.step({ fn: 'smc_create_clcsk', what: `sock_create_kern(family ${famNum}, SOCK_STREAM, IPPROTO_TCP) -> clcsock`, outcome: 'pass' });
    return skAlloc(ctx, sock, { fn: 'smc_sock_alloc', protoName, protocol, protocolsDelta: { [protoName]: 1 } });
  },
};
