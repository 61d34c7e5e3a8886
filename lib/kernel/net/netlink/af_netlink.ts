/**
 * net/netlink/af_netlink.c: netlink_create().
 *
 *   type not RAW and not DGRAM                -> ESOCKTNOSUPPORT (first)
 *   protocol < 0 || >= MAX_LINKS (32)         -> EPROTONOSUPPORT
 *   (array_index_nospec since 4.18: no visible effect)
 *   CONFIG_MODULES and nl_table[protocol] not registered: request_module("net-pf-16-proto-%d")
 *   not registered (or its module going away) -> EPROTONOSUPPORT
 *   __netlink_create: sk_alloc (ENOMEM: not modelled), sk_protocol = protocol;
 *   sock_prot_inuse_add(NETLINK, 1). Not in /proc/net/netlink until bound.
 *
 * nl_table registration is global (kernel sockets of any netns keep it). The model takes
 * the protocols the profile saw registered (net.netlink, from /proc/net/netlink); without
 * it, the config symbol that builds each protocol's kernel socket.
 */
import { EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { Run } from '../../ctx';
import type { CreateCtx, NetProtoFamily, SockUnderConstruction } from '../../family';
import { parseRelease } from '../../release';

const MAX_LINKS = 32;
const D_NETLINK = Object.freeze({ NETLINK: 1 });

/** Who registers each NETLINK_* protocol: [config symbol ('' = always with CONFIG_NET), module, removedAfter]. */
export const netlinkProviders: Record<number, [string, string | undefined, string | undefined]> = {
  0: ['', undefined, undefined], // NETLINK_ROUTE: rtnetlink
  2: ['', undefined, undefined], // NETLINK_USERSOCK: netlink_proto_init
  4: ['', undefined, undefined], // NETLINK_SOCK_DIAG: net/core/sock_diag.c
  6: ['CONFIG_XFRM_USER', 'xfrm_user', undefined],
  7: ['CONFIG_SECURITY_SELINUX', undefined, undefined],
  8: ['CONFIG_SCSI_ISCSI_ATTRS', 'scsi_transport_iscsi', undefined],
  9: ['CONFIG_AUDIT', undefined, undefined],
  10: ['CONFIG_INET', undefined, undefined], // NETLINK_FIB_LOOKUP
  11: ['CONFIG_CONNECTOR', 'cn', undefined],
  12: ['CONFIG_NETFILTER_NETLINK', 'nfnetlink', undefined],
  14: ['CONFIG_DECNET', 'decnet', '6.0'], // NETLINK_DNRTMSG: DECnet removed in 6.1
  15: ['', undefined, undefined], // NETLINK_KOBJECT_UEVENT
  16: ['', undefined, undefined], // NETLINK_GENERIC
  18: ['CONFIG_SCSI', 'scsi_mod', undefined], // scsi_netlink.o is part of scsi_mod (CONFIG_SCSI_NETLINK is a bool inside it)
  20: ['CONFIG_INFINIBAND', 'ib_core', undefined],
  21: ['CONFIG_CRYPTO_USER', 'crypto_user', undefined],
};

function nlRegistered(run: Run, protocol: number): { reg: boolean; why: string } {
  const tr = run.tracing;
  const prov = netlinkProviders[protocol];
  // A module loaded since the profile was taken (by this or an earlier prediction) that
  // answers net-pf-16-proto-N registered the protocol when it initialised.
  const loadedSince = (): boolean =>
    run.aliasSatisfied(`net-pf-16-proto-${protocol}`) || (prov?.[1] !== undefined && run.moduleLoaded(prov[1]));
  const seen = run.state.lookup('net.netlink');
  if (seen) {
    const reg = (seen.value as number[]).includes(protocol) || loadedSince();
    return { reg, why: tr ? `${reg ? '' : 'not '}registered (${seen.source}: ${seen.shown})` : '' };
  }
  if (!prov) {
    const reg = loadedSince();
    return { reg, why: tr ? (reg ? 'registered by a module loaded since' : `no kernel code registers NETLINK protocol ${protocol}`) : '' };
  }
  const [sym, mod, removedAfter] = prov;
  if (removedAfter) {
    const v = parseRelease(removedAfter);
    const rel = run.state.release;
    if (v && rel && (rel[0] > v[0] || (rel[0] === v[0] && rel[1] > v[1]))) {
      return { reg: false, why: tr ? `its provider was removed after ${removedAfter}` : '' };
    }
  }
  if (sym === '') return { reg: true, why: tr ? 'registered by core networking (always)' : '' };
  const reg = run.present(sym, mod) || loadedSince();
  return { reg, why: tr ? `${sym}${mod ? ` / module ${mod}` : ''}: ${reg ? 'present' : 'absent'}` : '' };
}

export function netlinkCreate(ctx: CreateCtx, sock: SockUnderConstruction, protocol: number): number {
  const run = ctx as Run;
  const tr = run.tracing;
  if (sock.type !== 3 && sock.type !== 2) {
    return run.fail('netlink_create', tr ? `type ${sock.type} is not RAW or DGRAM` : '', ESOCKTNOSUPPORT);
  }
  if (protocol < 0 || protocol >= MAX_LINKS) {
    return run.fail('netlink_create', tr ? `protocol ${protocol} outside 0..${MAX_LINKS - 1} (MAX_LINKS)` : '', EPROTONOSUPPORT);
  }
  let r = nlRegistered(run, protocol);
  if (!r.reg && run.state.modulesOn !== false) {
    if (run.requestModule('netlink_create', `net-pf-16-proto-${protocol}`)) r = nlRegistered(run, protocol);
  }
  if (!r.reg) {
    return run.fail('netlink_create', tr ? `nl_table[${protocol}] not registered: ${r.why}` : '', EPROTONOSUPPORT, tr ? run.use('net.netlink') : undefined);
  }
  if (tr) {
    run.step({ fn: 'netlink_create', what: `nl_table[${protocol}] ${r.why}`, outcome: 'pass', fact: run.use('net.netlink') });
    run.step({ fn: '__netlink_create', what: `sk_alloc("NETLINK"), sk_protocol = ${protocol}; sock_prot_inuse_add(NETLINK, 1)`, outcome: 'pass' });
  }
  sock.sk = {
    family: 16,
    type: sock.type,
    protocol,
    protoName: 'NETLINK',
    procNet: null,
    protocolsDelta: D_NETLINK as Record<string, number>,
    sockstatUsedDelta: 1,
  };
  return 0;
}

export const netlinkFamily: NetProtoFamily = {
  family: 16,
  name: 'PF_NETLINK',
  createFn: 'netlink_create',
  source: 'net/netlink/af_netlink.c',
  configSym: 'CONFIG_NET',
  create: netlinkCreate,
};
