/**
 * net/unix/af_unix.c: unix_create() / unix_create1().
 *
 *   protocol != 0 && != PF_UNIX      -> EPROTONOSUPPORT  (before the type)
 *   STREAM | RAW (rewritten to DGRAM: "Believe it or not BSD has AF_UNIX, SOCK_RAW") |
 *   DGRAM | SEQPACKET, else          -> ESOCKTNOSUPPORT
 *   unix_nr_socks > 2 * fs.file-max  -> ENFILE (ENOMEM before 5.15); not modelled: the count
 *                                        of AF_UNIX sockets system-wide is not a profile fact
 *   sk_alloc(unix_stream_proto "UNIX-STREAM" | unix_dgram_proto "UNIX"; one "UNIX" proto
 *   before 5.15), inserted in the unbound table (/proc/net/unix), sock_prot_inuse_add(+1).
 * sk_protocol is never set: SO_PROTOCOL reads 0 even for protocol 1.
 */
import { EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { CreateCtx, NetProtoFamily, SockUnderConstruction } from '../../family';

const PF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_RAW = 3;
const SOCK_SEQPACKET = 5;

const D_STREAM = Object.freeze({ 'UNIX-STREAM': 1 });
const D_UNIX = Object.freeze({ UNIX: 1 });

export function unixCreate(ctx: CreateCtx, sock: SockUnderConstruction, protocol: number): number {
  const tr = ctx.tracing;
  if (protocol !== 0 && protocol !== PF_UNIX) {
    return ctx.fail('unix_create', tr ? `protocol ${protocol} is neither 0 nor PF_UNIX` : '', EPROTONOSUPPORT);
  }
  switch (sock.type) {
    case SOCK_STREAM:
      break;
    case SOCK_RAW:
      if (tr) ctx.step({ fn: 'unix_create', what: 'SOCK_RAW rewritten to SOCK_DGRAM', outcome: 'rewrite' });
      sock.type = SOCK_DGRAM;
      break;
    case SOCK_DGRAM:
    case SOCK_SEQPACKET:
      break;
    default:
      return ctx.fail('unix_create', tr ? `type ${sock.type} is not STREAM, DGRAM, RAW or SEQPACKET` : '', ESOCKTNOSUPPORT);
  }
  const split = ctx.kernelAtLeast('5.15');
  const stream = split && sock.type === SOCK_STREAM;
  const name = stream ? 'UNIX-STREAM' : 'UNIX';
  if (tr) {
    ctx.step({
      fn: 'unix_create1',
      what: `sk_alloc(${stream ? 'unix_stream_proto' : split ? 'unix_dgram_proto' : 'unix_proto'} "${name}"), unix_insert_unbound_socket (/proc/net/unix), sock_prot_inuse_add(${name}, 1)`,
      outcome: 'pass',
    });
  }
  sock.sk = {
    family: 1,
    type: sock.type,
    protocol: 0,
    protoName: name,
    procNet: 'unix',
    protocolsDelta: (stream ? D_STREAM : D_UNIX) as Record<string, number>,
    sockstatUsedDelta: 1,
  };
  return 0;
}

export const unixFamily: NetProtoFamily = {
  family: 1,
  name: 'PF_UNIX',
  createFn: 'unix_create',
  source: 'net/unix/af_unix.c',
  configSym: 'CONFIG_UNIX',
  module: 'unix',
  create: unixCreate,
};
