/**
 * The kernel road on this machine's real kernel: every field of an observation is checked
 * against a second, independent read of the same fact (fcntl vs fdinfo, fstat vs the
 * /proc/self/fd link vs fdinfo ino, the /proc/net row vs the link, SO_TYPE vs the request),
 * and nothing the tests create outlives them (fds, sysctls).
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { O_CLOEXEC, O_NONBLOCK, O_RDWR, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_TYPE_MASK } from '../lib/abi/constants';
import { EACCES, EAFNOSUPPORT, EINVAL, EMFILE, ENODEV, ENOPROTOOPT, EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../lib/abi/errno';
import { ProcParseError, readFdinfo, readProtocols, setProcRoot } from '../lib/observe';
import { errnoName, linkInode, observeBatch, observeSocket, systemError } from '../lib/probe';
import type { Observation, SocketCase } from '../lib/types';

const CAP_NET_RAW = 13;
const CAP_SYS_ADMIN = 21;
const FD_CLOEXEC = 1;
const S_IFSOCK_0777 = 0o140777;

function capEff(): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error('/proc/self/status has no CapEff line');
  return BigInt(`0x${m[1]}`);
}
const hasCap = (cap: number): boolean => ((capEff() >> BigInt(cap)) & 1n) === 1n;

/** This process's open fds, from /proc/self/fd (the fd readdir itself uses is dropped). */
function openFds(): number[] {
  const dir = fs.opendirSync('/proc/self/fd');
  const out: number[] = [];
  try {
    for (let d = dir.readSync(); d !== null; d = dir.readSync()) out.push(Number(d.name));
  } finally {
    dir.closeSync();
  }
  // The directory's own fd was listed too and is closed now.
  return out.filter((fd) => { try { fs.fstatSync(fd); return true; } catch { return false; } }).sort((a, b) => a - b);
}

function readSysctl(name: string): string | null {
  try {
    return fs.readFileSync(`/proc/sys/${name.replace(/\./g, '/')}`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Whether the caller's egid or a supplementary gid lies in net.ipv4.ping_group_range. */
function pingAllowed(range: string | null): boolean | null {
  if (range === null) return null;
  const [lo, hi] = range.split(/\s+/).map(Number);
  const gids = [process.getegid?.() ?? -1, ...(process.getgroups?.() ?? [])];
  return gids.some((g) => g >= lo && g <= hi);
}

/** One kind of socket and what creating it must show. */
interface Kind {
  name: string;
  domain: number;
  type: number;
  protocol: number;
  needsNetRaw?: boolean;
  /** Expected errno when the kind cannot be created on this machine (no capability issue). */
  errno?: number;
  soDomain?: number;
  soType?: number;
  soProtocol?: number;
  protoName?: string;
  /** The /proc/net table that lists it at creation, or null. */
  table?: string | null;
}

const mptcpEnabled = readSysctl('net.mptcp.enabled');
const pingRange = readSysctl('net.ipv4.ping_group_range');

const KINDS: Kind[] = [
  { name: 'AF_UNIX SOCK_STREAM', domain: 1, type: 1, protocol: 0, soProtocol: 0, protoName: 'UNIX-STREAM', table: 'unix' },
  { name: 'AF_UNIX SOCK_DGRAM', domain: 1, type: 2, protocol: 0, soProtocol: 0, protoName: 'UNIX', table: 'unix' },
  { name: 'AF_UNIX SOCK_SEQPACKET', domain: 1, type: 5, protocol: 0, soProtocol: 0, protoName: 'UNIX', table: 'unix' },
  // unix_create turns SOCK_RAW into SOCK_DGRAM.
  { name: 'AF_UNIX SOCK_RAW', domain: 1, type: 3, protocol: 0, soType: 2, soProtocol: 0, protoName: 'UNIX', table: 'unix' },
  { name: 'AF_INET TCP', domain: 2, type: 1, protocol: 0, soProtocol: 6, protoName: 'TCP', table: null },
  { name: 'AF_INET UDP', domain: 2, type: 2, protocol: 0, soProtocol: 17, protoName: 'UDP', table: null },
  { name: 'AF_INET UDP-Lite', domain: 2, type: 2, protocol: 136, soProtocol: 136, protoName: 'UDP-Lite', table: null },
  { name: 'AF_INET RAW IPPROTO_ICMP', domain: 2, type: 3, protocol: 1, needsNetRaw: true, soProtocol: 1, protoName: 'RAW', table: 'raw' },
  mptcpEnabled === '0'
    ? { name: 'AF_INET MPTCP (net.mptcp.enabled=0)', domain: 2, type: 1, protocol: 262, errno: ENOPROTOOPT }
    : { name: 'AF_INET MPTCP', domain: 2, type: 1, protocol: 262, soProtocol: 262, protoName: 'MPTCP', table: null },
  { name: 'AF_INET6 TCP', domain: 10, type: 1, protocol: 0, soProtocol: 6, protoName: 'TCPv6', table: null },
  { name: 'AF_INET6 UDP', domain: 10, type: 2, protocol: 0, soProtocol: 17, protoName: 'UDPv6', table: null },
  { name: 'AF_INET6 RAW IPPROTO_ICMPV6', domain: 10, type: 3, protocol: 58, needsNetRaw: true, soProtocol: 58, protoName: 'RAWv6', table: 'raw6' },
  { name: 'AF_NETLINK NETLINK_ROUTE', domain: 16, type: 3, protocol: 0, soProtocol: 0, protoName: 'NETLINK', table: null },
  // packet_create never sets sk_protocol: SO_PROTOCOL reads 0 whatever was asked.
  { name: 'AF_PACKET SOCK_RAW htons(ETH_P_ALL)', domain: 17, type: 3, protocol: 768, needsNetRaw: true, soProtocol: 0, protoName: 'PACKET', table: 'packet' },
  { name: 'AF_PACKET SOCK_RAW 0', domain: 17, type: 3, protocol: 0, needsNetRaw: true, soProtocol: 0, protoName: 'PACKET', table: 'packet' },
  // __sock_create rewrites (PF_INET, SOCK_PACKET) to PF_PACKET.
  { name: 'AF_INET SOCK_PACKET htons(ETH_P_ALL)', domain: 2, type: 10, protocol: 768, needsNetRaw: true, soDomain: 17, soProtocol: 0, protoName: 'PACKET', table: 'packet' },
  { name: 'AF_VSOCK SOCK_STREAM', domain: 40, type: 1, protocol: 0, soProtocol: 0, protoName: 'AF_VSOCK', table: null },
  // virtio-vsock registers no datagram transport.
  { name: 'AF_VSOCK SOCK_DGRAM (no dgram transport)', domain: 40, type: 2, protocol: 0, errno: ENODEV },
  { name: 'AF_XDP SOCK_RAW', domain: 44, type: 3, protocol: 0, needsNetRaw: true, soProtocol: 0, protoName: 'XDP', table: null },
];

const FLAG_VARIANTS: Array<[string, number]> = [
  ['', 0], ['|SOCK_CLOEXEC', SOCK_CLOEXEC], ['|SOCK_NONBLOCK', SOCK_NONBLOCK], ['|SOCK_CLOEXEC|SOCK_NONBLOCK', SOCK_CLOEXEC | SOCK_NONBLOCK],
];

/** What Node itself reads about an fd while it is open: the independent side of each check. */
interface Outside { ino: number; mode: number; link: string; fdinfoFlags: number; fdinfoIno: number }

/** Check one successful observation against the request, the kind and the outside reads. */
function checkSuccess(o: Observation, kind: Kind, flags: number, before: ReadonlySet<number>, outside: Outside | undefined, protocolNames: ReadonlySet<string>): void {
  const c = `${kind.name} flags ${flags.toString(8)}`;
  assert.strictEqual(o.errno, 0, `${c}: errno ${o.errno} (${o.errno ? errnoName(o.errno) : ''})`);
  assert.ok(o.fd >= 0 && !before.has(o.fd), `${c}: fd ${o.fd} was free before the batch`);
  // Inode: link vs fstat vs fdinfo, and Node's own fstat/readlink/fdinfo of the same fd.
  const ino = linkInode(o.link);
  assert.ok(Number.isInteger(ino) && ino > 0, `${c}: link ${o.link} names a socket inode`);
  assert.strictEqual(o.stat?.ino, ino, `${c}: fstat ino vs link`);
  assert.strictEqual(o.fdinfo?.ino, ino, `${c}: fdinfo ino vs link`);
  assert.ok(outside, `${c}: the fd was read from outside the addon while open`);
  assert.strictEqual(outside.ino, ino, `${c}: Node fstat ino vs link`);
  assert.strictEqual(outside.link, o.link, `${c}: Node readlink vs addon readlink`);
  assert.strictEqual(outside.fdinfoIno, ino, `${c}: fdinfo read by Node vs link`);
  // Flags: fdinfo "flags" is f_flags | O_CLOEXEC when the fd is close-on-exec.
  assert.ok(o.fdFlags !== undefined && o.flFlags !== undefined && o.fdinfo);
  assert.strictEqual(o.fdinfo.flags, o.flFlags | ((o.fdFlags & FD_CLOEXEC) !== 0 ? O_CLOEXEC : 0), `${c}: fdinfo flags vs F_GETFL|F_GETFD`);
  assert.strictEqual(outside.fdinfoFlags, o.fdinfo.flags, `${c}: fdinfo flags read by Node vs by the addon`);
  assert.strictEqual((o.fdFlags & FD_CLOEXEC) !== 0, (flags & SOCK_CLOEXEC) !== 0, `${c}: close-on-exec iff SOCK_CLOEXEC`);
  assert.strictEqual((o.flFlags & O_NONBLOCK) !== 0, (flags & SOCK_NONBLOCK) !== 0, `${c}: O_NONBLOCK iff SOCK_NONBLOCK`);
  assert.strictEqual(o.flFlags & 0o3, O_RDWR, `${c}: sockets are O_RDWR`);
  // The inode sock_alloc made: S_IFSOCK|0777, owned by the caller's fsuid/fsgid.
  assert.strictEqual(o.stat?.mode, S_IFSOCK_0777, `${c}: st_mode`);
  assert.strictEqual(outside.mode, S_IFSOCK_0777, `${c}: Node st_mode`);
  assert.strictEqual(o.stat?.uid, process.geteuid?.(), `${c}: st_uid`);
  assert.strictEqual(o.stat?.gid, process.getegid?.(), `${c}: st_gid`);
  // SO_* vs the request.
  assert.strictEqual(o.soType, kind.soType ?? (kind.type & SOCK_TYPE_MASK), `${c}: SO_TYPE vs requested type`);
  assert.strictEqual(o.soDomain, kind.soDomain ?? kind.domain, `${c}: SO_DOMAIN`);
  if (kind.soProtocol !== undefined) assert.strictEqual(o.soProtocol, kind.soProtocol, `${c}: SO_PROTOCOL`);
  // The dentry name is the proto's name, which /proc/net/protocols lists.
  assert.strictEqual(o.protoName, kind.protoName, `${c}: system.sockprotoname`);
  assert.ok(o.protoName !== undefined && protocolNames.has(o.protoName), `${c}: ${o.protoName} is a /proc/net/protocols row`);
  // /proc/net: the row found carries the same inode as the link.
  if (kind.table) {
    assert.ok(o.procNet, `${c}: listed in /proc/net/${kind.table} at creation`);
    assert.strictEqual(o.procNet.table, kind.table, `${c}: procNet table`);
    assert.strictEqual(Number(o.procNet.row.inode), ino, `${c}: procNet row inode vs link inode`);
  } else {
    assert.strictEqual(o.procNet, null, `${c}: in no /proc/net table at creation`);
  }
}

/** Reads an fd from outside the addon: Node's fstat, readlink and the fdinfo reader. */
function readOutside(obs: readonly Observation[], into: Map<number, Outside>): void {
  for (const o of obs) {
    if (o.errno !== 0) continue;
    const st = fs.fstatSync(o.fd);
    const fi = readFdinfo(o.fd);
    into.set(o.fd, { ino: st.ino, mode: st.mode, link: fs.readlinkSync(`/proc/self/fd/${o.fd}`), fdinfoFlags: fi.flags, fdinfoIno: fi.ino });
  }
}

describe('probe: argument checks', () => {
  it('refuses non-arrays and non-objects naming the argument', () => {
    assert.throws(() => observeBatch('x' as unknown as SocketCase[]), (e: Error) => e instanceof TypeError && /^cases must be an array/.test(e.message));
    assert.throws(() => observeBatch([null as unknown as SocketCase]), (e: Error) => e instanceof TypeError && /cases\[0\] must be an object/.test(e.message));
  });

  it('refuses non-integers and numbers outside int32 naming the field', () => {
    const ok = { domain: 1, type: 1, protocol: 0 };
    assert.throws(() => observeBatch([ok, { ...ok, domain: 1.5 }]), (e: Error) => e instanceof RangeError && /cases\[1\]\.domain .*\(got 1\.5\)/.test(e.message));
    assert.throws(() => observeBatch([{ ...ok, type: 2 ** 31 }]), (e: Error) => e instanceof RangeError && /cases\[0\]\.type must be an integer from -2147483648 to 2147483647/.test(e.message));
    assert.throws(() => observeBatch([{ ...ok, protocol: '6' as unknown as number }]), (e: Error) => e instanceof TypeError && /cases\[0\]\.protocol must be an integer number \(got string "6"\)/.test(e.message));
    assert.throws(() => observeSocket(1, Number.NaN, 0), (e: Error) => e instanceof RangeError && /^type /.test(e.message));
    assert.throws(() => observeSocket(undefined as unknown as number, 1, 0), (e: Error) => e instanceof TypeError && /^domain /.test(e.message));
  });

  it('refuses bad options naming them and saying what is valid', () => {
    const c = [{ domain: 1, type: 1, protocol: 0 }];
    assert.throws(() => observeBatch(c, { close: 'later' as 'now' }), /options\.close must be 'now' or 'defer' \(got "later"\)/);
    assert.throws(() => observeBatch(c, { closeThreads: 0 }), /options\.closeThreads must be from 1 to 256 \(got 0\)/);
    assert.throws(() => observeBatch(c, { closeThreads: 257 }), RangeError);
    assert.throws(() => observeBatch(c, { close: 'now', procNet: true }), /procNet needs close: 'defer'/);
    assert.throws(() => observeBatch(c, { procNet: 1 as unknown as boolean }), TypeError);
  });

  it('returns [] for an empty batch', () => {
    assert.deepStrictEqual(observeBatch([]), []);
  });
});

describe('probe: systemError and errno names', () => {
  it('is shaped like Node\'s own syscall errors', () => {
    const e = systemError(EMFILE, 'socket');
    assert.ok(e instanceof Error);
    assert.strictEqual(e.code, 'EMFILE');
    assert.strictEqual(e.errno, -EMFILE);
    assert.strictEqual(e.syscall, 'socket');
    assert.match(e.message, /^socket EMFILE \(too many open files\)$/);
    // Node's fs throws the same shape for the same errno.
    try {
      fs.readdirSync('/proc/self/fd/0/x');
    } catch (n) {
      const ne = n as NodeJS.ErrnoException;
      const mine = systemError(-(ne.errno ?? 0), 'scandir');
      assert.strictEqual(mine.code, ne.code);
      assert.strictEqual(mine.errno, ne.errno);
    }
  });

  it('names errnos Node knows and, through the addon, ones only glibc knows', () => {
    assert.strictEqual(errnoName(EAFNOSUPPORT), 'EAFNOSUPPORT');
    assert.strictEqual(errnoName(ESOCKTNOSUPPORT), 'ESOCKTNOSUPPORT');
    assert.strictEqual(errnoName(133), 'EHWPOISON', 'libuv has no name for 133; glibc does');
    assert.throws(() => systemError(0, 'socket'), RangeError);
    assert.throws(() => systemError(1, ''), TypeError);
  });
});

describe('probe: every kind of socket on this kernel, checked field by field', function () {
  const netRaw = hasCap(CAP_NET_RAW);
  const cases: SocketCase[] = [];
  const meta: Array<{ kind: Kind; flags: number }> = [];
  for (const kind of KINDS) {
    for (const [, flags] of FLAG_VARIANTS) {
      cases.push({ domain: kind.domain, type: kind.type | flags, protocol: kind.protocol });
      meta.push({ kind, flags });
    }
  }
  // Ping under the range in force: allowed or EACCES (no capability overrides it).
  const ping: Kind = { name: 'AF_INET ping (DGRAM/ICMP)', domain: 2, type: 2, protocol: 1 };
  for (const [, flags] of FLAG_VARIANTS) {
    cases.push({ domain: 2, type: 2 | flags, protocol: 1 });
    meta.push({ kind: ping, flags });
  }

  let obs: Observation[] = [];
  let openBefore = new Set<number>();
  let afterFds: number[] = [];
  let beforeFds: number[] = [];
  const outside = new Map<number, Outside>();
  let protocolNames = new Set<string>();

  before(() => {
    protocolNames = new Set(readProtocols().map((r) => r.name));
    beforeFds = openFds();
    openBefore = new Set(beforeFds);
    obs = observeBatch(cases, { whileOpen: (o) => readOutside(o, outside) });
    afterFds = openFds();
  });

  it('leaves the fd table as it found it', () => {
    assert.deepStrictEqual(afterFds, beforeFds);
  });

  it('gives each new socket the lowest free fd, in call order', () => {
    const got = obs.filter((o) => o.errno === 0).map((o) => o.fd);
    const expected: number[] = [];
    for (let fd = 0; expected.length < got.length; fd++) if (!openBefore.has(fd)) expected.push(fd);
    assert.deepStrictEqual(got, expected);
  });

  it('without CAP_NET_RAW refuses every raw kind with EPERM', function () {
    if (netRaw) {
      this.test!.title += ' (pending: this runner has CAP_NET_RAW; run unprivileged to check the refusal)';
      this.skip();
    }
    for (let i = 0; i < meta.length; i++) {
      if (!meta[i].kind.needsNetRaw) continue;
      assert.strictEqual(obs[i].errno, EPERM, `${meta[i].kind.name}: ${errnoName(obs[i].errno || 0)}`);
      assert.strictEqual(obs[i].fd, -1);
    }
  });

  for (let i = 0; i < meta.length; i++) {
    const { kind, flags } = meta[i];
    const label = FLAG_VARIANTS.find(([, f]) => f === flags)?.[0] ?? '';
    it(`${kind.name}${label}`, function () {
      const o = obs[i];
      assert.deepStrictEqual(o.case, cases[i]);
      if (kind === ping) {
        const allowed = pingAllowed(pingRange);
        if (allowed === null) {
          this.test!.title += ' (pending: net.ipv4.ping_group_range is unreadable)';
          this.skip();
        }
        if (!allowed) {
          assert.strictEqual(o.errno, EACCES, `gids outside ping_group_range "${pingRange}" get EACCES, root too`);
          assert.strictEqual(o.fd, -1);
          return;
        }
        checkSuccess(o, { ...ping, soProtocol: 1, protoName: 'PING', table: null }, flags, openBefore, outside.get(o.fd), protocolNames);
        return;
      }
      if (kind.needsNetRaw && !netRaw) {
        this.test!.title += ' (pending: needs CAP_NET_RAW, which this runner lacks: CapEff bit 13 is clear)';
        this.skip();
      }
      if (kind.errno !== undefined) {
        assert.strictEqual(o.errno, kind.errno, `errno ${errnoName(o.errno || 0)} vs ${errnoName(kind.errno)}`);
        assert.strictEqual(o.fd, -1);
        assert.strictEqual(o.link, undefined);
        return;
      }
      checkSuccess(o, kind, flags, openBefore, outside.get(o.fd), protocolNames);
      if (kind.table === 'packet') {
        assert.strictEqual(Number(o.procNet?.row.proto), kind.protocol === 0 ? 0 : 3, 'packet row Proto = ntohs(protocol)');
        assert.strictEqual(Number(o.procNet?.row.running), kind.protocol === 0 ? 0 : 1, 'the hook runs only with a protocol');
        assert.strictEqual(Number(o.procNet?.row.type), kind.type, 'packet row Type');
      }
      if (kind.table === 'unix') assert.strictEqual(Number(o.procNet?.row.type), o.soType, 'unix row Type vs SO_TYPE');
      if (kind.table === 'raw' || kind.table === 'raw6') assert.strictEqual(Number(o.procNet?.row.localPort), kind.protocol, 'raw row port = protocol');
    });
  }
});

describe('probe: ping sockets with the range opened in a private netns', function () {
  it('creates DGRAM/ICMP and DGRAM/ICMPV6 once the netns range holds our gid (host sysctl untouched)', function () {
    if (!hasCap(CAP_SYS_ADMIN)) {
      this.test!.title += ' (pending: unshare -n needs CAP_SYS_ADMIN, which this runner lacks)';
      this.skip();
    }
    const hostRange = readSysctl('net.ipv4.ping_group_range');
    const gid = process.getegid?.() ?? 0;
    const probe = path.resolve(__dirname, '..', 'lib', 'probe.js');
    const script = `
      const fs = require('fs');
      const [probePath, gid] = process.argv.slice(1);
      const ns = fs.readlinkSync('/proc/self/ns/net');
      fs.writeFileSync('/proc/sys/net/ipv4/ping_group_range', gid + ' ' + gid);
      const { observeBatch } = require(probePath);
      const cases = [];
      for (const f of [0, ${SOCK_CLOEXEC}, ${SOCK_NONBLOCK}, ${SOCK_CLOEXEC | SOCK_NONBLOCK}]) {
        cases.push({ domain: 2, type: 2 | f, protocol: 1 }, { domain: 10, type: 2 | f, protocol: 58 });
      }
      const outside = [];
      const obs = observeBatch(cases, { whileOpen: (o) => { for (const x of o) if (x.errno === 0) outside.push({ fd: x.fd, ino: fs.fstatSync(x.fd).ino, link: fs.readlinkSync('/proc/self/fd/' + x.fd) }); } });
      process.stdout.write(JSON.stringify({ ns, obs, outside }));`;
    const r = spawnSync('unshare', ['-n', process.execPath, '-e', script, probe, String(gid)], { encoding: 'utf8' });
    assert.strictEqual(r.error, undefined, String(r.error));
    assert.strictEqual(r.status, 0, `child failed: ${r.stderr}`);
    const { ns, obs, outside } = JSON.parse(r.stdout) as { ns: string; obs: Observation[]; outside: Array<{ fd: number; ino: number; link: string }> };
    assert.notStrictEqual(ns, fs.readlinkSync('/proc/self/ns/net'), 'the child ran in another netns');
    assert.strictEqual(obs.length, 8);
    for (const o of obs) {
      assert.strictEqual(o.errno, 0, `${JSON.stringify(o.case)}: ${errnoName(o.errno || 0)}`);
      const v6 = o.case.domain === 10;
      const flags = o.case.type & ~SOCK_TYPE_MASK;
      assert.strictEqual(o.protoName, v6 ? 'PINGv6' : 'PING');
      assert.strictEqual(o.soType, 2);
      assert.strictEqual(o.soProtocol, v6 ? 58 : 1);
      assert.strictEqual(o.procNet, null, 'a ping socket is listed in /proc/net/icmp only once bound');
      const out = outside.find((x) => x.fd === o.fd);
      assert.ok(out);
      assert.strictEqual(out.ino, linkInode(o.link));
      assert.strictEqual(out.link, o.link);
      assert.strictEqual(o.stat?.ino, out.ino);
      assert.strictEqual(o.fdinfo?.flags, (o.flFlags ?? 0) | (((o.fdFlags ?? 0) & FD_CLOEXEC) ? O_CLOEXEC : 0));
      assert.strictEqual(((o.fdFlags ?? 0) & FD_CLOEXEC) !== 0, (flags & SOCK_CLOEXEC) !== 0);
      assert.strictEqual(((o.flFlags ?? 0) & O_NONBLOCK) !== 0, (flags & SOCK_NONBLOCK) !== 0);
    }
    assert.strictEqual(readSysctl('net.ipv4.ping_group_range'), hostRange, 'the host netns range is unchanged');
  });
});

describe('probe: observeSocket and close: now', () => {
  it('observeSocket reads /proc/net while the fd is open, then closes it', () => {
    const fds = openFds();
    const o = observeSocket(1, 5 | SOCK_CLOEXEC, 0);
    assert.strictEqual(o.errno, 0);
    assert.strictEqual(o.procNet?.table, 'unix');
    assert.strictEqual(Number(o.procNet?.row.inode), linkInode(o.link));
    assert.deepStrictEqual(openFds(), fds);
    const bad = observeSocket(2, 11, 0);
    assert.deepStrictEqual(bad, { case: { domain: 2, type: 11, protocol: 0 }, errno: EINVAL, fd: -1 });
  });

  it("close: 'now' gives every case the same lowest free fd and no procNet", () => {
    const fds = openFds();
    const lowest = (() => { const s = new Set(fds); let fd = 0; while (s.has(fd)) fd++; return fd; })();
    const obs = observeBatch([{ domain: 1, type: 1, protocol: 0 }, { domain: 9999, type: 1, protocol: 0 }, { domain: 2, type: 2, protocol: 0 }], { close: 'now' });
    assert.deepStrictEqual(obs.map((o) => o.fd), [lowest, -1, lowest]);
    assert.deepStrictEqual(obs.map((o) => o.errno), [0, EAFNOSUPPORT, 0]);
    for (const o of obs) assert.strictEqual(o.procNet, undefined, 'not observed');
    assert.deepStrictEqual(openFds(), fds);
  });

  it('closes every fd even when reading /proc/net throws', () => {
    const fds = openFds();
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-badproc-'));
    fs.mkdirSync(path.join(root, 'net'));
    fs.writeFileSync(path.join(root, 'net', 'unix'), 'Num       RefCount Protocol Flags    Type St Inode Path\n0000000000000001: 00000002\n');
    const previous = setProcRoot(root);
    try {
      assert.throws(() => observeBatch([{ domain: 1, type: 1, protocol: 0 }, { domain: 1, type: 2, protocol: 0 }]),
        (e: Error) => e instanceof ProcParseError && e.line === 2);
    } finally {
      setProcRoot(previous);
      fs.rmSync(root, { recursive: true, force: true });
    }
    assert.deepStrictEqual(openFds(), fds);
  });

  it('closes every fd even when the whileOpen callback throws', () => {
    const fds = openFds();
    assert.throws(() => observeBatch([{ domain: 1, type: 1, protocol: 0 }], { whileOpen: () => { throw new Error('boom'); } }), /boom/);
    assert.deepStrictEqual(openFds(), fds);
  });
});

describe('probe: a batch of 10,000 mixed cases', function () {
  it('leaves the fd table exactly as it was, and finds every listed socket by inode', function () {
    const netRaw = hasCap(CAP_NET_RAW);
    const templates: Array<{ c: SocketCase; errno?: number; table?: string }> = [
      { c: { domain: 1, type: 1, protocol: 0 }, table: 'unix' },
      { c: { domain: 1, type: 2 | SOCK_CLOEXEC, protocol: 0 }, table: 'unix' },
      { c: { domain: 2, type: 1 | SOCK_NONBLOCK, protocol: 0 } },
      { c: { domain: 10, type: 2, protocol: 0 } },
      { c: { domain: 16, type: 3, protocol: 0 } },
      { c: { domain: 9999, type: 1, protocol: 0 }, errno: EAFNOSUPPORT },
      { c: { domain: 2, type: 11, protocol: 0 }, errno: EINVAL },
      { c: { domain: 2, type: 1 | 0x100, protocol: 0 }, errno: EINVAL },
      { c: { domain: 16, type: 3, protocol: 31 }, errno: EPROTONOSUPPORT },
      { c: { domain: 40, type: 2, protocol: 0 }, errno: ENODEV },
      { c: { domain: 2, type: 6, protocol: 0 }, errno: ESOCKTNOSUPPORT },
    ];
    if (netRaw) {
      templates.push(
        { c: { domain: 17, type: 3, protocol: 768 }, table: 'packet' },
        { c: { domain: 17, type: 2 | SOCK_CLOEXEC, protocol: 0 }, table: 'packet' },
        { c: { domain: 2, type: 3, protocol: 1 }, table: 'raw' },
        { c: { domain: 44, type: 3, protocol: 0 } },
      );
    } else {
      console.log('      (no CAP_NET_RAW: the batch has no packet, raw or XDP sockets)');
    }
    const cases: SocketCase[] = [];
    const expect: typeof templates = [];
    let seed = 12345;
    for (let i = 0; i < 10000; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const t = templates[seed % templates.length];
      cases.push(t.c);
      expect.push(t);
    }
    const fds = openFds();
    const [soft] = (require('../lib/native') as typeof import('../lib/native')).native().getrlimit(7);
    const obs = observeBatch(cases);
    assert.deepStrictEqual(openFds(), fds, 'the fd table is exactly as before');
    let ok = 0;
    let listed = 0;
    const seenFds = new Set<number>();
    for (let i = 0; i < obs.length; i++) {
      const o = obs[i];
      const t = expect[i];
      if (t.errno !== undefined) {
        assert.strictEqual(o.errno, t.errno, `case ${i} ${JSON.stringify(o.case)}`);
        continue;
      }
      if (o.errno === EMFILE) {
        assert.ok(soft !== -1 && fds.length + ok >= soft, `EMFILE only when RLIMIT_NOFILE (${soft}) is reached`);
        continue;
      }
      assert.strictEqual(o.errno, 0, `case ${i} ${JSON.stringify(o.case)}: ${errnoName(o.errno || 0)}`);
      ok++;
      assert.ok(!seenFds.has(o.fd), `fd ${o.fd} given twice in one deferred batch`);
      seenFds.add(o.fd);
      if (t.table) {
        assert.strictEqual(o.procNet?.table, t.table, `case ${i}`);
        assert.strictEqual(Number(o.procNet?.row.inode), linkInode(o.link));
        listed++;
      } else {
        assert.strictEqual(o.procNet, null, `case ${i}`);
      }
    }
    assert.ok(ok > 1000 && listed > 500, `a real mix: ${ok} created, ${listed} found in /proc/net`);
  });
});
