/**
 * sock_diag on the kernel road (native/diag.cc, lib/probe.ts lookupSocketRows): on this
 * machine's kernel, sock_diag must list exactly the sockets the /proc/net text tables list,
 * with the same state, addresses and names, so that asking it instead of reading the text
 * changes the speed of a lookup and nothing it finds.
 *
 * The full comparison runs in a private network namespace (unshare -n, lo brought up there
 * only) holding a zoo of sockets in many states made by a python3 helper: then the namespace
 * holds nothing else, and every row of each table can be accounted for. Nothing is sent and
 * nothing connects over TCP; the only listeners are on the private namespace's loopback.
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EINVAL, ENOENT, EPROTONOSUPPORT } from '../lib/abi/errno';
import { native } from '../lib/native';
import type { NativeDiagUnix } from '../lib/native';
import { NET_TABLES, NetTableName, readNetTable, setProcRoot } from '../lib/observe';
import {
  linkInode, lookupSocketRows, observeBatch, SOCK_DIAG_TABLES, socketLookupSources, type SockDiag, type TableSource,
} from '../lib/probe';
import type { SocketCase } from '../lib/types';

/** This process's open fds, from /proc/self/fd (the fd readdir itself uses is dropped). */
function openFds(): number[] {
  const dir = fs.opendirSync('/proc/self/fd');
  const out: number[] = [];
  try {
    for (let d = dir.readSync(); d !== null; d = dir.readSync()) out.push(Number(d.name));
  } finally {
    dir.closeSync();
  }
  return out.filter((fd) => { try { fs.fstatSync(fd); return true; } catch { return false; } }).sort((a, b) => a - b);
}

function skipWith(ctx: Mocha.Context, why: string): never {
  console.log(`      pending: ${why}`);
  ctx.skip();
}

const ROOT = path.resolve(__dirname, '..', '..');

/** Fields a sock_diag row and a text row both carry, with the same meaning, per table kind. */
const COMMON_UNIX = ['inode', 'type', 'st', 'flags', 'path'];
const COMMON_INET = ['inode', 'localAddress', 'localPort', 'remAddress', 'remPort', 'st', 'txQueue', 'rxQueue', 'uid'];
const commonFields = (t: string): string[] => (t === 'unix' ? COMMON_UNIX : COMMON_INET);

// ---------------------------------------------------------------------------------------------
// the zoo: sockets in many states, made by python3 in the namespace under test
// ---------------------------------------------------------------------------------------------

const ZOO = String.raw`
import os, socket, sys, tempfile
S = []
def keep(s):
    S.append(s)
    return s
d = tempfile.mkdtemp(prefix='sbdiag-')
U = socket.AF_UNIX
for t, tn in ((socket.SOCK_STREAM, 's'), (socket.SOCK_DGRAM, 'd'), (socket.SOCK_SEQPACKET, 'q')):
    keep(socket.socket(U, t))                                           # unbound
    keep(socket.socket(U, t)).bind(os.path.join(d, 'b' + tn))          # bound to a path
    keep(socket.socket(U, t)).bind(os.path.join(d, '\u00fcn\u00efc\u00f6de ' + tn))  # UTF-8 and a space
    keep(socket.socket(U, t)).bind(b'\0sbdiag ' + tn.encode() + b'\0in\x01side')     # abstract, NUL inside
    keep(socket.socket(U, t)).bind('')                                  # autobind: abstract 5 hex digits
    x, y = socket.socketpair(U, t)
    keep(x); keep(y)
    if t != socket.SOCK_DGRAM:
        x.shutdown(socket.SHUT_WR)
        p = os.path.join(d, 'l' + tn)
        l = keep(socket.socket(U, t)); l.bind(p); l.listen(8)
        keep(socket.socket(U, t)).connect(p)                            # pending: an embryo with no inode
        keep(socket.socket(U, t)).connect(p)
        keep(l.accept()[0])                                             # accepted
    else:
        a = keep(socket.socket(U, t)); a.bind(os.path.join(d, 'peer'))
        keep(socket.socket(U, t)).connect(os.path.join(d, 'peer'))      # connected datagram
for fam, addr in ((socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')):
    keep(socket.socket(fam, socket.SOCK_STREAM))                        # unbound: in no table
    keep(socket.socket(fam, socket.SOCK_STREAM)).bind((addr, 0))        # bound only: in no table
    l = keep(socket.socket(fam, socket.SOCK_STREAM)); l.bind((addr, 0)); l.listen(3)
    for proto in (socket.IPPROTO_UDP, 136):
        keep(socket.socket(fam, socket.SOCK_DGRAM, proto))              # unbound: in no table
        b = keep(socket.socket(fam, socket.SOCK_DGRAM, proto)); b.bind((addr, 0))
        c = keep(socket.socket(fam, socket.SOCK_DGRAM, proto)); c.bind((addr, 0)); c.connect(b.getsockname())
        keep(socket.socket(fam, socket.SOCK_DGRAM, proto)).connect(b.getsockname())  # autobound by connect
m = keep(socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
m.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); m.bind(('::', 0))  # dual-stack: listed in udp6
sys.stdout.write('%d\n' % os.getpid()); sys.stdout.flush()
sys.stdin.read()
`;

/**
 * Runs in the private namespace: starts the zoo, then compares, for every sock_diag table,
 * the text rows with sock_diag's answer for every socket inode the namespace can hold. Prints
 * one JSON line: per table the counts, and every disagreement.
 */
const RUNNER = String.raw`
const { spawn } = require('child_process');
const fs = require('fs');
const root = process.argv[1];
const { native } = require(root + '/dist/lib/native');
const { readNetTable } = require(root + '/dist/lib/observe');
const { lookupSocketRows, SOCK_DIAG_TABLES } = require(root + '/dist/lib/probe');
const common = JSON.parse(process.argv[2]);
const zoo = spawn('python3', ['-c', process.argv[3]], { stdio: ['pipe', 'pipe', 'inherit'] });
let out = '';
zoo.stdout.on('data', (b) => {
  out += b;
  if (!out.includes('\n')) return;
  const pid = Number(out.trim());
  try { report(pid); } finally { zoo.stdin.end(); }
});
zoo.on('exit', (code) => { if (!out.includes('\n')) { console.log(JSON.stringify({ error: 'zoo exited ' + code })); } });
function socketInodes(pid) {
  const s = new Set();
  for (const f of fs.readdirSync('/proc/' + pid + '/fd')) {
    try { const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync('/proc/' + pid + '/fd/' + f)); if (m) s.add(Number(m[1])); } catch {}
  }
  return s;
}
function report(pid) {
  const all = new Set([...socketInodes(pid), ...socketInodes('self')]);
  const inodes = Float64Array.from(all);
  const result = { tables: {}, problems: [], zooSockets: socketInodes(pid).size };
  const byDiag = lookupSocketRows(SOCK_DIAG_TABLES, all).rows;
  const byText = lookupSocketRows(SOCK_DIAG_TABLES, all, { diag: null }).rows;
  for (const t of SOCK_DIAG_TABLES) {
    const rows = readNetTable(t);
    const text = new Map(rows.filter((r) => r.inode !== 0).map((r) => [r.inode, r]));
    const noInode = rows.length - text.size;
    let listed = 0;
    for (const ino of text.keys()) if (!all.has(ino)) result.problems.push(t + ': the text lists inode ' + ino + ', which no process of the namespace holds');
    let diag;
    if (t === 'unix') {
      diag = native().diagUnix(inodes, 'dump');
      const exact = native().diagUnix(inodes, 'exact');
      for (let i = 0; i < inodes.length; i++) {
        if (diag.found[i] !== exact.found[i] || diag.state[i] !== exact.state[i] || diag.name[i] !== exact.name[i]) {
          result.problems.push('unix: exact and dump differ for inode ' + inodes[i]);
        }
      }
    } else {
      diag = native().diagInet(t.endsWith('6') ? 10 : 2, t.startsWith('tcp') ? 6 : t.startsWith('udplite') ? 136 : 17, inodes);
    }
    if (diag.errno !== 0) { result.problems.push(t + ': sock_diag errno ' + diag.errno); continue; }
    for (let i = 0; i < inodes.length; i++) {
      const ino = inodes[i];
      const inText = text.has(ino);
      const inDiag = diag.found[i] === 1;
      if (inText) listed++;
      if (inText !== inDiag) result.problems.push(t + ': inode ' + ino + (inText ? ' is in the text, not in sock_diag' : ' is in sock_diag, not in the text'));
      const a = byDiag.get(ino), b = byText.get(ino);
      if (inText && (!a || !b || a.table !== t || b.table !== t)) { result.problems.push(t + ': lookupSocketRows does not place inode ' + ino + ' here both ways'); continue; }
      if (!inText) continue;
      if (t.startsWith('tcp') && a.row.st === '10' && a.row.backlog !== '3') result.problems.push(t + ': listener ' + ino + ' backlog ' + a.row.backlog + ', listen(3) was called');
      for (const k of common[t === 'unix' ? 'unix' : 'inet']) {
        if (!(k in a.row) && k === 'txQueue' && a.row.st === '10') continue;
        if (a.row[k] !== b.row[k]) result.problems.push(t + ': inode ' + ino + ' field ' + k + ': sock_diag ' + JSON.stringify(a.row[k]) + ', text ' + JSON.stringify(b.row[k]));
      }
    }
    result.tables[t] = { listed, noInode };
  }
  console.log(JSON.stringify(result));
}
`;

interface ZooResult {
  error?: string;
  zooSockets: number;
  tables: Record<string, { listed: number; noInode: number }>;
  problems: string[];
}

describe('diag: sock_diag lists what /proc/net lists (private namespace, sockets in many states)', function () {
  let result: ZooResult | null = null;
  let why = '';

  before(function () {
    this.timeout(60000);
    if (process.getuid?.() !== 0) { why = 'needs root to unshare a network namespace'; return; }
    if (spawnSync('python3', ['-c', 'pass']).status !== 0) { why = 'python3 is not installed: it makes the zoo of sockets'; return; }
    const script = `ip link set lo up && exec "${process.execPath}" -e '${RUNNER.replace(/'/g, `'\\''`)}' "$0" "$1" "$2"`;
    const r = spawnSync('unshare', ['-n', 'sh', '-c', script, ROOT, JSON.stringify({ unix: COMMON_UNIX, inet: COMMON_INET }), ZOO], { encoding: 'utf8', timeout: 50000 });
    if (r.error || r.status !== 0) { why = `unshare -n failed here (${r.error?.message ?? r.stderr.trim()})`; return; }
    const line = r.stdout.trim().split('\n').pop() ?? '';
    result = JSON.parse(line) as ZooResult;
    if (result.error) throw new Error(`${result.error}: ${r.stderr}`);
  });

  it('every table: the same inodes, and the same state, addresses and names', function () {
    if (!result) skipWith(this, why);
    assert.deepStrictEqual(result.problems, []);
  });

  it('the zoo put sockets in every sock_diag table, so the comparison is not vacuous', function () {
    if (!result) skipWith(this, why);
    for (const t of SOCK_DIAG_TABLES) {
      // tcp: one listener per family (nothing connects); unix and udp*: many states.
      assert.ok((result.tables[t]?.listed ?? 0) >= (t.startsWith('tcp') ? 1 : 3), `${t}: ${JSON.stringify(result.tables[t])}`);
    }
    // One connection left pending per connection-oriented type: embryos the text lists with inode 0.
    assert.ok(result.tables.unix.noInode >= 2, `unix embryos without an inode: ${result.tables.unix.noInode}`);
  });
});

// ---------------------------------------------------------------------------------------------
// in this process's namespace
// ---------------------------------------------------------------------------------------------

describe('diag: observeBatch finds its sockets through sock_diag as the text would', () => {
  const cases: SocketCase[] = [];
  for (const type of [1, 2, 5]) cases.push({ domain: 1, type, protocol: 0 });
  for (const domain of [2, 10]) for (const [type, protocol] of [[1, 0], [2, 0], [2, 136], [3, 1]]) cases.push({ domain, type, protocol });

  it('every new socket is placed in the same table with the same common fields both ways, with the fd table unchanged', () => {
    const before = openFds();
    let compared = 0;
    const obs = observeBatch(cases, {
      whileOpen: (o) => {
        const inodes = new Set(o.filter((x) => x.stat).map((x) => x.stat!.ino));
        const tables = [...NET_TABLES];
        const viaDiag = lookupSocketRows(tables, inodes).rows;
        const viaText = lookupSocketRows(tables, inodes, { diag: null }).rows;
        for (const ino of inodes) {
          const a = viaDiag.get(ino);
          const b = viaText.get(ino);
          assert.strictEqual(a?.table, b?.table, `inode ${ino}`);
          if (!a || !b) continue;
          for (const k of commonFields(a.table)) if (k in a.row || k in b.row) assert.strictEqual(a.row[k], b.row[k], `${a.table} inode ${ino} ${k}`);
          compared++;
        }
      },
    });
    assert.deepStrictEqual(openFds(), before, 'no fd left open, none closed');
    assert.ok(compared >= 5, `unix and raw sockets compared: ${compared}`);
    for (const o of obs) {
      if (o.errno !== 0) continue;
      if (o.soDomain === 1) {
        assert.strictEqual(o.procNet?.table, 'unix');
        assert.strictEqual(Number(o.procNet?.row.inode), linkInode(o.link));
        assert.strictEqual(Number(o.procNet?.row.type), o.soType);
        assert.strictEqual(o.procNet?.row.state, '7', 'a new unix socket is TCP_CLOSE');
      }
      if ((o.soDomain === 2 || o.soDomain === 10) && o.soType !== 3) assert.strictEqual(o.procNet, null, `${JSON.stringify(o.case)}: tcp/udp are not hashed at creation`);
    }
  });

  it('socketLookupSources says sock_diag served unix, tcp, udp and udplite and the text the rest', () => {
    observeBatch(cases);
    const src = new Map(socketLookupSources().map((s) => [s.table, s]));
    for (const t of ['unix', 'tcp', 'tcp6', 'udp', 'udp6', 'udplite', 'udplite6'] as NetTableName[]) {
      assert.strictEqual(src.get(t)?.source, 'sock_diag', `${t}: ${JSON.stringify(src.get(t))}`);
    }
    for (const t of ['raw', 'raw6', 'icmp', 'icmp6'] as NetTableName[]) assert.strictEqual(src.get(t)?.source, 'text', t);
    assert.ok(src.get('unix')?.via === 'exact' || src.get('unix')?.via === 'dump');
  });
});

describe('diag: the native calls', () => {
  const someInodes = (): Float64Array => {
    const s: number[] = [];
    for (const fd of openFds()) {
      try { const n = linkInode(fs.readlinkSync(`/proc/self/fd/${fd}`)); if (!Number.isNaN(n)) s.push(n); } catch { /* gone */ }
    }
    return Float64Array.from(s.length > 0 ? s : [1]);
  };

  it('leave the fd table as they found it, answering or failing', () => {
    const before = openFds();
    const ino = someInodes();
    for (let k = 0; k < 3; k++) {
      native().diagUnix(ino, 'exact');
      native().diagUnix(ino, 'dump');
      native().diagInet(2, 17, ino);
      native().diagInet(10, 6, ino);
      native().diagInet(2, 255, ino);
    }
    assert.deepStrictEqual(openFds(), before);
    // The lowest free fd is still the lowest free fd.
    const fd = fs.openSync('/dev/null', 'r');
    try {
      let lowest = 0;
      while (before.includes(lowest)) lowest++;
      assert.strictEqual(fd, lowest);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('an inode asked for twice is answered twice; one no socket has is not found', () => {
    const made = observeBatch([{ domain: 1, type: 1, protocol: 0 }], {
      whileOpen: (o) => {
        const i = o[0].stat!.ino;
        for (const mode of ['exact', 'dump'] as const) {
          const r = native().diagUnix(Float64Array.from([i, 4294967295, i]), mode) as NativeDiagUnix & { errno: 0 };
          assert.strictEqual(r.errno, 0);
          assert.strictEqual(r.via, mode);
          assert.deepStrictEqual([...r.found], [1, 0, 1], mode);
          assert.deepStrictEqual([r.type[0], r.type[2], r.type[1]], [1, 1, -1], mode);
          assert.deepStrictEqual([r.state[0], r.shutdown[0], r.name[0]], [7, 0, ''], 'unbound, unconnected, not shut down');
        }
      },
    });
    assert.strictEqual(made[0].errno, 0);
  });

  it('an empty inode list asks nothing and finds nothing', () => {
    const u = native().diagUnix(new Float64Array(0));
    const i = native().diagInet(2, 6, new Float64Array(0));
    assert.strictEqual(u.errno, 0);
    assert.strictEqual(i.errno, 0);
    assert.strictEqual(u.found?.length, 0);
    assert.strictEqual(i.found?.length, 0);
  });

  it('refuse bad arguments with TypeError/RangeError naming the argument and what is valid', () => {
    const a = native();
    const ok = new Float64Array([1]);
    const checks: Array<[() => unknown, typeof TypeError | typeof RangeError, RegExp]> = [
      [() => a.diagUnix([1] as unknown as Float64Array), TypeError, /diagUnix: argument "inodes" must be a Float64Array of socket inode numbers, got an Array/],
      [() => a.diagUnix(new Int32Array([1]) as unknown as Float64Array), TypeError, /"inodes" must be a Float64Array.*another element type/],
      [() => (a.diagUnix as (...x: unknown[]) => unknown)(), TypeError, /"inodes" must be a Float64Array.*got undefined/],
      [() => a.diagUnix(new Float64Array([5, 0])), RangeError, /"inodes"\[1\] must be a socket inode number, an integer 1\.\.4294967295, got 0/],
      [() => a.diagUnix(new Float64Array([1.5])), RangeError, /"inodes"\[0\].*got 1\.5/],
      [() => a.diagUnix(new Float64Array([NaN])), RangeError, /"inodes"\[0\].*got nan/i],
      [() => a.diagUnix(new Float64Array([2 ** 32])), RangeError, /"inodes"\[0\].*got 4294967296/],
      [() => a.diagUnix(new Float64Array([-1])), RangeError, /got -1/],
      [() => a.diagUnix(ok, 'all' as 'dump'), RangeError, /diagUnix: argument "mode" must be 'auto', 'dump' or 'exact' \(or left out\), got the string "all"/],
      [() => a.diagUnix(ok, 1 as unknown as 'dump'), RangeError, /"mode".*got 1/],
      [() => a.diagInet(256, 6, ok), RangeError, /diagInet: argument "family" must be an address family 0\.\.255 \(AF_INET 2, AF_INET6 10\), got 256/],
      [() => a.diagInet(-1, 6, ok), RangeError, /"family".*got -1/],
      [() => a.diagInet('2' as unknown as number, 6, ok), TypeError, /"family" must be an integer number, got the string "2"/],
      [() => a.diagInet(2, 6.5, ok), TypeError, /"protocol" must be an integer, got 6\.5/],
      [() => a.diagInet(2, 262, ok), RangeError, /"protocol" must be an IP protocol 0\.\.255 \(IPPROTO_TCP 6, IPPROTO_UDP 17, IPPROTO_UDPLITE 136\), got 262/],
      [() => a.diagInet(2, 6, null as unknown as Float64Array), TypeError, /diagInet: argument "inodes" must be a Float64Array.*got null/],
    ];
    const before = openFds();
    for (const [f, E, re] of checks) assert.throws(f, (e: unknown) => e instanceof E && re.test((e as Error).message), re.source);
    assert.deepStrictEqual(openFds(), before);
  });

  it('lookupSocketRows refuses unknown table names and a non-Set of inodes', () => {
    assert.throws(() => lookupSocketRows(['tcp', 'sctp'] as NetTableName[], new Set([1])), (e: unknown) => e instanceof RangeError && /"sctp".*valid names are unix, tcp/.test((e as Error).message));
    assert.throws(() => lookupSocketRows('unix' as unknown as NetTableName[], new Set([1])), TypeError);
    assert.throws(() => lookupSocketRows(['unix'], [1] as unknown as Set<number>), (e: unknown) => e instanceof TypeError && /inodes must be a Set/.test((e as Error).message));
  });
});

// ---------------------------------------------------------------------------------------------
// fallback to the text
// ---------------------------------------------------------------------------------------------

describe('diag: when sock_diag cannot answer, the text is read', () => {
  /** The batch's sockets, open, and a callback run while they are. */
  function withSockets(run: (inodes: Set<number>) => void): void {
    const cases: SocketCase[] = [{ domain: 1, type: 1, protocol: 0 }, { domain: 1, type: 2, protocol: 0 }, { domain: 2, type: 3, protocol: 1 }];
    observeBatch(cases, { whileOpen: (o) => run(new Set(o.filter((x) => x.stat).map((x) => x.stat!.ino))) });
  }

  it('the kernel answers ENOENT for a protocol it has no diag handler for (raw, ICMP)', function () {
    const r = native().diagInet(2, 255, new Float64Array([1]));
    if (r.errno === 0) skipWith(this, 'this kernel has raw_diag (CONFIG_INET_RAW_DIAG): no protocol without a handler to ask');
    assert.strictEqual(r.errno, ENOENT);
    assert.strictEqual(native().diagInet(2, 1, new Float64Array([1])).errno, ENOENT, 'ICMP: no diag handler');
    assert.strictEqual(r.found, undefined, 'an error carries nothing else');
  });

  it('a table whose diag answers ENOENT (the kernel asked for raw) is read as text, and the source says so', function () {
    let sources: TableSource[] = [];
    if (native().diagInet(2, 255, new Float64Array([1])).errno !== ENOENT) skipWith(this, 'this kernel answers raw diag requests: cannot provoke ENOENT from the kernel');
    const real = native();
    const calls: string[] = [];
    // Every inet question goes to protocol 255, which this kernel has no handler for.
    const raw: SockDiag = {
      diagUnix: (i, m) => { calls.push('unix'); return real.diagUnix(i, m); },
      diagInet: (f, _p, i) => { calls.push(`inet${f}`); return real.diagInet(f, 255, i); },
    };
    withSockets((inodes) => {
      const tables: NetTableName[] = ['unix', 'udp', 'tcp6', 'raw'];
      const found = lookupSocketRows(tables, inodes, { diag: raw });
      sources = found.sources;
      const got = found.rows;
      const want = lookupSocketRows(tables, inodes, { diag: null }).rows;
      assert.deepStrictEqual([...got.keys()].sort(), [...want.keys()].sort());
      for (const [ino, e] of got) {
        assert.strictEqual(e.table, want.get(ino)?.table);
        if (e.table !== 'unix') assert.deepStrictEqual(e.row, want.get(ino)?.row, 'text rows, as the text path gives them');
      }
      assert.ok([...got.values()].some((e) => e.table === 'unix') && [...got.values()].some((e) => e.table === 'raw'));
    });
    assert.deepStrictEqual(calls, ['unix', 'inet10', 'inet2'], 'each sock_diag table asked once, in NET_TABLES order');
    const src = new Map(sources.map((x) => [x.table, x]));
    assert.strictEqual(src.get('unix')?.source, 'sock_diag');
    for (const t of ['udp', 'tcp6'] as NetTableName[]) {
      assert.strictEqual(src.get(t)?.source, 'text', t);
      assert.strictEqual(src.get(t)?.errno, ENOENT, t);
      assert.match(src.get(t)?.why ?? '', /no sock_diag handler/);
    }
  });

  it('no NETLINK_SOCK_DIAG (EPROTONOSUPPORT, simulated): every table is read as text, the rows are the text rows', () => {
    let sources: TableSource[] = [];
    const none: SockDiag = {
      diagUnix: () => ({ errno: EPROTONOSUPPORT }),
      diagInet: () => ({ errno: EPROTONOSUPPORT }),
    };
    withSockets((inodes) => {
      const found = lookupSocketRows(NET_TABLES, inodes, { diag: none });
      sources = found.sources;
      const got = found.rows;
      const want = lookupSocketRows(NET_TABLES, inodes, { diag: null }).rows;
      assert.deepStrictEqual([...got.entries()].sort((a, b) => a[0] - b[0]), [...want.entries()].sort((a, b) => a[0] - b[0]));
      assert.ok([...got.values()].some((e) => e.table === 'unix' && 'num' in e.row), 'unix rows from the text carry num');
    });
    assert.strictEqual(sources.length, NET_TABLES.length);
    for (const s of sources) {
      assert.strictEqual(s.source, 'text', s.table);
      if (SOCK_DIAG_TABLES.includes(s.table)) {
        assert.strictEqual(s.errno, EPROTONOSUPPORT);
        assert.match(s.why ?? '', /no NETLINK_SOCK_DIAG/);
      }
    }
  });

  it('any other errno (EINVAL, simulated) also falls back, naming the errno', () => {
    let sources: TableSource[] = [];
    const bad: SockDiag = { diagUnix: () => ({ errno: EINVAL }), diagInet: () => ({ errno: EINVAL }) };
    withSockets((inodes) => {
      const found = lookupSocketRows(['unix'], inodes, { diag: bad });
      sources = found.sources;
      const got = found.rows;
      assert.ok([...got.values()].every((e) => e.table === 'unix' && 'refCount' in e.row));
    });
    assert.deepStrictEqual(sources.map((s) => [s.table, s.source, s.errno]), [['unix', 'text', EINVAL]]);
    assert.match(sources[0].why ?? '', /sock_diag answered EINVAL/);
  });

  it('with the proc root pointed elsewhere, the tables are read from there, not asked of the kernel', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbdiag-proc-'));
    fs.mkdirSync(path.join(dir, 'net'));
    fs.writeFileSync(path.join(dir, 'net', 'unix'), 'Num       RefCount Protocol Flags    Type St Inode Path\n0000000000000000: 00000002 00000000 00000000 0001 01 4242 /fixture\n');
    const previous = setProcRoot(dir);
    try {
      let asked = 0;
      const spy: SockDiag = { diagUnix: () => { asked++; return { errno: EINVAL }; }, diagInet: () => { asked++; return { errno: EINVAL }; } };
      const got = lookupSocketRows(['unix'], new Set([4242]), { diag: spy });
      assert.strictEqual(asked, 0);
      assert.strictEqual(got.rows.get(4242)?.row.path, '/fixture');
      assert.match(got.sources[0].why ?? '', /proc root/);
    } finally {
      setProcRoot(previous);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
