/**
 * struct inet_protosw and the inetsw[] / inetsw6[] lookup that inet_create() and
 * inet6_create() share (net/ipv4/af_inet.c, net/ipv6/af_inet6.c; the kernel has the same
 * loop twice, this model has it once with the function names kept).
 *
 * inet_register_protosw() inserts an entry after the last permanent entry of its type, so
 * protocol 0 always finds TCP (STREAM) or UDP (DGRAM) first; the order of non-permanent
 * entries only matters for the wildcard (RAW), which is alone in its list.
 */
import { EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../../abi/errno';
import { CAP } from '../../../abi/constants';
import { sockTypeOut } from '../../../abi/arch';
import type { Run } from '../../ctx';
import type { SkInfo, SockUnderConstruction } from '../../family';
import { inRelease } from '../registry';

const SOCK_RAW = 3;

export interface InetProtosw {
  type: number;
  /** IPPROTO_IP (0) is the wildcard (RAW). */
  protocol: number;
  /** INET_PROTOSW_PERMANENT */
  permanent: boolean;
  /** struct proto .name: sockprotoname and the /proc/net/protocols row. */
  protoName: string;
  /** The config symbol that builds the code, and the module that holds it when =m. */
  configSym: string;
  module?: string;
  /** Other symbols that must be set (y or m) for the code to be built. */
  requires?: string[];
  since?: string;
  removedAfter?: string;
  /** /proc/net table that lists the socket at create (RAW: hashed because inet_num is set). */
  procNet: string | null;
  /** Whether create moves this proto's /proc/net/protocols "sockets" (sock_prot_inuse_add in hash or init). */
  inuseAtCreate: boolean;
  /** sk->sk_prot->init, by kernel name, and its model (0 or -errno). */
  initFn?: string;
  init?: (run: Run, protocol: number) => number;
  /** The kernel file that registers the entry. */
  source: string;
}

const deltaCache = new Map<string, Readonly<Record<string, number>>>();
const NO_DELTA: Readonly<Record<string, number>> = Object.freeze({});

function deltaFor(e: InetProtosw): Readonly<Record<string, number>> {
  if (!e.inuseAtCreate) return NO_DELTA;
  let d = deltaCache.get(e.protoName);
  if (!d) {
    d = Object.freeze({ [e.protoName]: 1 });
    deltaCache.set(e.protoName, d);
  }
  return d;
}

/** Is this protosw entry registered right now (built in, or its module loaded)? */
export function protoswPresent(run: Run, pf: number, e: InetProtosw): boolean {
  if (!inRelease(run, e.since, e.removedAfter)) return false;
  if (e.requires) {
    for (const r of e.requires) {
      const v = run.configValue(r);
      if (v === 'n') return false;
    }
  }
  const v = run.configValue(e.configSym);
  if (v === 'y') return true;
  if (v === 'n') return false;
  const loaded =
    (e.module !== undefined && run.moduleLoaded(e.module)) ||
    run.aliasSatisfied(`net-pf-${pf}-proto-${e.protocol}-type-${sockTypeOut(run.kernelAbi, e.type)}`) ||
    run.aliasSatisfied(`net-pf-${pf}-proto-${e.protocol}`);
  if (v === 'm') return loaded;
  // No kernel config: /proc/net/protocols lists every registered proto by name.
  const listed = run.protoListed(e.protoName);
  if (listed !== null) return listed || loaded;
  return loaded || run.choose(`${e.configSym} (${e.protoName})`, 2) === 0;
}

/**
 * inetsw[] as inet_register_protosw builds it: one list per type; a new entry goes after the
 * last permanent one, so protocol 0 always picks the permanent TCP/UDP entry first.
 */
export function inetswLists(entries: InetProtosw[]): InetProtosw[][] {
  const l: InetProtosw[][] = [];
  for (let t = 0; t < 11; t++) l.push([]);
  for (const e of entries) if (e.permanent) l[e.type].push(e);
  for (const e of entries) if (!e.permanent) l[e.type].push(e);
  return l;
}

export interface InetFamilyDesc {
  pf: number;
  /** "inet_create" / "inet6_create" */
  fn: string;
  /** inetsw[type] lists, in list order. */
  lists: ReadonlyArray<ReadonlyArray<InetProtosw>>;
}

/**
 * The body of inet_create()/inet6_create() after the protocol range check: lookup with
 * module autoload retries, CAP_NET_RAW for SOCK_RAW, sk_alloc, hash, ->init, cgroup BPF.
 */
export function inetLookupAndCreate(run: Run, d: InetFamilyDesc, sock: SockUnderConstruction, protocol: number): number {
  const tr = run.tracing;
  const type = sock.type;
  const list = type < d.lists.length ? d.lists[type] : [];
  let tryLoadingModule = 0;
  let answer: InetProtosw | null = null;
  let err: number;
  const asked = protocol;
  for (;;) {
    // lookup_protocol:
    err = ESOCKTNOSUPPORT;
    answer = null;
    let proto = asked;
    for (const e of list) {
      if (!protoswPresent(run, d.pf, e)) continue;
      err = 0;
      if (proto === e.protocol) {
        if (proto !== 0) {
          answer = e;
          break;
        }
      } else {
        if (proto === 0) {
          proto = e.protocol;
          answer = e;
          break;
        }
        if (e.protocol === 0) {
          answer = e;
          break;
        }
      }
      err = EPROTONOSUPPORT;
    }
    if (answer) {
      protocol = proto;
      break;
    }
    if (tr) {
      run.step({
        fn: d.fn,
        what:
          err === ESOCKTNOSUPPORT
            ? `inetsw[${type}] is empty: no protocol registered for type ${type}`
            : `inetsw[${type}] has no entry for protocol ${asked}${asked === 0 ? ' (protocol 0 matches only a non-wildcard first entry; the RAW wildcard needs a protocol)' : ''}`,
        outcome: 'info',
      });
    }
    if (tryLoadingModule < 2) {
      // "Be more specific, e.g. net-pf-2-proto-132-type-1", then "fall back to generic". The kernel
      // prints sock->type in its own numbering, as MODULE_ALIAS_NET_PF_PROTO_TYPE compiled it
      // (on mips SOCK_STREAM is 2, so sctp answers net-pf-2-proto-132-type-2 there).
      tryLoadingModule++;
      if (tryLoadingModule === 1) run.requestModule(d.fn, `net-pf-${d.pf}-proto-${asked}-type-${sockTypeOut(run.kernelAbi, type)}`);
      else run.requestModule(d.fn, `net-pf-${d.pf}-proto-${asked}`);
      continue;
    }
    return run.fail(
      d.fn,
      tr ? (err === ESOCKTNOSUPPORT ? `no protocol for type ${type}` : `protocol ${asked} not supported for type ${type}`) : '',
      err,
    );
  }
  if (tr) {
    run.step({
      fn: d.fn,
      what: `inetsw[${type}] matches ${answer.protoName}${answer.protocol === 0 ? ` (wildcard, protocol ${protocol})` : asked === 0 ? ` (protocol 0 -> default ${protocol})` : ''}`,
      outcome: asked === 0 ? 'rewrite' : 'pass',
    });
  }

  if (type === SOCK_RAW && !run.nsCapable(d.fn, CAP.CAP_NET_RAW)) {
    return run.fail(d.fn, tr ? 'SOCK_RAW without CAP_NET_RAW in the user namespace owning the netns' : '', EPERM);
  }

  // sk_alloc (ENOMEM / ENOBUFS only under memory pressure: not modelled).
  const hashed = type === SOCK_RAW; // inet->inet_num = protocol, so ->hash runs now
  if (tr) {
    run.step({
      fn: d.fn,
      what: `sk_alloc(${answer.protoName}); sk->sk_protocol = ${protocol}${hashed ? `; inet_num = ${protocol}, sk_prot->hash: listed in /proc/net/${answer.procNet ?? '?'}` : ''}`,
      outcome: 'info',
    });
  }
  if (answer.init) {
    const r = answer.init(run, protocol);
    if (r < 0) return r; // sk_common_release(sk); sock->sk = NULL
  }
  if (tr) {
    run.step({
      fn: d.fn,
      what: 'BPF_CGROUP_RUN_PROG_INET_SOCK: no cgroup sock_create program assumed',
      outcome: 'info',
    });
  }
  const sk: SkInfo = {
    family: d.pf,
    type,
    protocol,
    protoName: answer.protoName,
    procNet: answer.procNet,
    protocolsDelta: deltaFor(answer) as Record<string, number>,
    sockstatUsedDelta: 1,
  };
  sock.sk = sk;
  return 0;
}
