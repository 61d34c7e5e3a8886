/**
 * net/packet/af_packet.c: packet_create().
 *
 *   !ns_capable(net->user_ns, CAP_NET_RAW)     -> EPERM  (first: before the type)
 *   type not DGRAM, RAW or PACKET              -> ESOCKTNOSUPPORT
 *   sk_alloc (ENOBUFS), packet_alloc_pending (ENOMEM): memory pressure, not modelled
 *   po->num = (__be16)protocol: no range check, truncated to 16 bits; a non-zero protocol
 *   registers the prot hook at once. Added to net->packet.sklist (/proc/net/packet) and
 *   sock_prot_inuse_add(+1). sk_protocol is never set: SO_PROTOCOL reads 0.
 * PF_INET + SOCK_PACKET arrives here (rewritten in __sock_create) and uses packet_ops_spkt.
 */
import { ESOCKTNOSUPPORT, EPERM } from '../../../abi/errno';
import { CAP } from '../../../abi/constants';
import type { CreateCtx, NetProtoFamily, SockUnderConstruction } from '../../family';

const D_PACKET = Object.freeze({ PACKET: 1 });

export function packetCreate(ctx: CreateCtx, sock: SockUnderConstruction, protocol: number): number {
  const tr = ctx.tracing;
  if (!ctx.nsCapable('packet_create', CAP.CAP_NET_RAW)) {
    return ctx.fail('packet_create', tr ? 'no CAP_NET_RAW in the user namespace owning the netns' : '', EPERM);
  }
  const t = sock.type;
  if (t !== 2 && t !== 3 && t !== 10) {
    return ctx.fail('packet_create', tr ? `type ${t} is not DGRAM, RAW or PACKET` : '', ESOCKTNOSUPPORT);
  }
  if (tr) {
    const num = protocol & 0xffff;
    ctx.step({
      fn: 'packet_create',
      what: `sk_alloc("PACKET"), ${t === 10 ? 'packet_ops_spkt' : 'packet_ops'}; po->num = 0x${num.toString(16)}${num !== 0 ? ' (prot hook registered)' : ''}; on net->packet.sklist (/proc/net/packet)`,
      outcome: 'pass',
    });
  }
  sock.sk = {
    family: 17,
    type: t,
    protocol: 0,
    protoName: 'PACKET',
    procNet: 'packet',
    protocolsDelta: D_PACKET as Record<string, number>,
    sockstatUsedDelta: 1,
  };
  return 0;
}

export const packetFamily: NetProtoFamily = {
  family: 17,
  name: 'PF_PACKET',
  createFn: 'packet_create',
  source: 'net/packet/af_packet.c',
  configSym: 'CONFIG_PACKET',
  module: 'af_packet',
  create: packetCreate,
};
