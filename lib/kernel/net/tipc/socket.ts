/**
 * AF_TIPC (30): net/tipc/socket.c tipc_sk_create(). Protocol before type; an unknown
 * type is EPROTOTYPE (not ESOCKTNOSUPPORT, as most families answer).
 */
import { AF, SOCK } from '../../../abi/constants';
import { EPROTONOSUPPORT, EPROTOTYPE } from '../../../abi/errno';
import type { NetProtoFamily } from '../../family';
import { skAlloc } from '../modular_common';

export const tipcFamily: NetProtoFamily = {
  family: AF.AF_TIPC,
  name: 'PF_TIPC',
  createFn: 'tipc_sk_create',
  source: 'net/tipc/socket.c',
  configSym: 'CONFIG_TIPC',
  module: 'tipc',
  create(ctx, sock, protocol) {
    const fn = 'tipc_sk_create';
    if (protocol !== 0) return ctx.fail(fn, `protocol ${protocol} != 0`, EPROTONOSUPPORT);
    const ops: Record<number, string> = {
      [SOCK.SOCK_STREAM]: 'stream_ops', [SOCK.SOCK_SEQPACKET]: 'packet_ops',
      [SOCK.SOCK_DGRAM]: 'msg_ops', [SOCK.SOCK_RDM]: 'msg_ops',
    };
    const o = ops[sock.type];
    if (!o) return ctx.fail(fn, `sock->type ${sock.type} not STREAM/SEQPACKET/DGRAM/RDM`, EPROTOTYPE);
    ctx.step({ fn, what: `sock->ops = ${o}`, outcome: 'pass' });
    // tipc_sk_insert() can fail with EINVAL ("port number exhausted") only when all
    // 2^32 port numbers are taken: not modelled.
    return skAlloc(ctx, sock, { fn, protoName: 'TIPC', protocol: 0, note: 'tipc_sk_insert' });
  },
};
