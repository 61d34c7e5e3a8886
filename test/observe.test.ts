import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  InetRow, NET_TABLES, NetlinkRow, PacketRow, ProcParseError, ProcReadError, UnixRow, decodeInetAddress, getProcRoot,
  parseFdinfo, parseInet, parseNetTable, parseNetlink, parsePacket, parseProtocols, parseSockstat, parseUnix,
  readFdinfo, readNetTable, readNetlinkKernelSockets, readProtocols, readSockstat, readSocketTables, setProcRoot,
} from '../lib/observe';

const FIXTURES = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'proc');
const NETNS = path.join(FIXTURES, 'netns-sockets');
const EDGE = path.join(FIXTURES, 'edge');

interface Manifest { kernel: string; sockets: Record<string, { fd: number; inode: number }> }
const manifest = JSON.parse(fs.readFileSync(path.join(NETNS, 'manifest.json'), 'utf8')) as Manifest;
const ino = (name: string): number => {
  const s = manifest.sockets[name];
  if (!s) throw new Error(`fixture manifest has no socket ${name}`);
  return s.inode;
};
const fixtureText = (root: string, rel: string): string => fs.readFileSync(path.join(root, rel), 'utf8');

/** Run `fn` with the proc root pointed at `root`, then put the previous root back. */
function withRoot<T>(root: string | null, fn: () => T): T {
  const previous = setProcRoot(root);
  try {
    return fn();
  } finally {
    setProcRoot(previous);
  }
}

describe('observe: proc root', () => {
  const savedEnv = process.env.SOCKBRIDGE_PROC_ROOT;
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.SOCKBRIDGE_PROC_ROOT;
    else process.env.SOCKBRIDGE_PROC_ROOT = savedEnv;
    setProcRoot(null);
  });

  it('defaults to /proc, follows SOCKBRIDGE_PROC_ROOT, and setProcRoot() wins over both', () => {
    delete process.env.SOCKBRIDGE_PROC_ROOT;
    assert.strictEqual(getProcRoot(), '/proc');
    process.env.SOCKBRIDGE_PROC_ROOT = NETNS;
    assert.strictEqual(getProcRoot(), NETNS);
    assert.strictEqual(readSockstat().sockets.used, 21, 'the env root is the one read');
    setProcRoot(EDGE);
    assert.strictEqual(getProcRoot(), EDGE);
    assert.strictEqual(setProcRoot(null), EDGE, 'setProcRoot returns the previous override');
    assert.strictEqual(getProcRoot(), NETNS);
  });

  it('rejects an empty root with a TypeError naming the value', () => {
    assert.throws(() => setProcRoot(''), (e: Error) => e instanceof TypeError && /non-empty path/.test(e.message));
  });

  it('names the path and what is needed when the root is missing', () => {
    const missing = path.join(os.tmpdir(), 'sockbridge-no-such-proc-root');
    withRoot(missing, () => {
      assert.throws(() => readSocketTables(), (e: Error) =>
        e instanceof ProcReadError && e.message.includes(path.join(missing, 'net', 'unix')) &&
        /ENOENT/.test(e.message) && /setProcRoot/.test(e.message));
    });
    process.env.SOCKBRIDGE_PROC_ROOT = missing;
    assert.throws(() => readProtocols(), (e: Error) => e instanceof ProcReadError && /SOCKBRIDGE_PROC_ROOT/.test(e.message));
  });

  it('says /proc is needed when the default root is in force', () => {
    delete process.env.SOCKBRIDGE_PROC_ROOT;
    assert.throws(() => readFdinfo(2147483647), (e: Error) =>
      e instanceof ProcReadError && e.message.includes('/proc/self/fdinfo/2147483647') && /procfs mounted at \/proc/.test(e.message));
  });
});

describe('observe: /proc/net tables captured on this kernel', () => {
  it('unix: types, states, listening flag, bound and abstract paths', () => {
    const rows = parseUnix(fixtureText(NETNS, 'net/unix'));
    const by = new Map(rows.map((r) => [r.inode, r]));
    assert.strictEqual(rows.length, 5);
    assert.deepStrictEqual(
      [by.get(ino('unix_stream_unbound'))?.type, by.get(ino('unix_dgram_unbound'))?.type, by.get(ino('unix_seqpacket_unbound'))?.type],
      [1, 2, 5]);
    const listener = by.get(ino('unix_stream_abstract_listen')) as UnixRow;
    assert.strictEqual(listener.path, '@sockbridge fixture', 'an abstract name with a space is kept whole');
    assert.strictEqual(listener.flags, 0x10000, '__SO_ACCEPTCON while listening');
    assert.strictEqual((by.get(ino('unix_dgram_path')) as UnixRow).path, '/tmp/sockbridge-fixture.sock');
    assert.strictEqual((by.get(ino('unix_stream_unbound')) as UnixRow).path, null);
    for (const r of rows) assert.strictEqual(r.protocol, 0);
  });

  it('raw and raw6: protocol in the local port column, listed at creation', () => {
    const raw = parseInet(fixtureText(NETNS, 'net/raw'), 'raw', false);
    assert.strictEqual(raw.length, 1);
    assert.strictEqual(raw[0].inode, ino('raw_icmp'));
    assert.strictEqual(raw[0].localPort, 1);
    assert.strictEqual(raw[0].localAddress, '0.0.0.0');
    assert.strictEqual(raw[0].st, 7);
    assert.strictEqual(raw[0].drops, 0);
    assert.strictEqual(raw[0].rto, null);
    const raw6 = parseInet(fixtureText(NETNS, 'net/raw6'), 'raw6', true);
    assert.strictEqual(raw6[0].inode, ino('raw6_icmpv6'));
    assert.strictEqual(raw6[0].localPort, 58);
    assert.strictEqual(raw6[0].localAddress, '::');
  });

  it('udp, udp6, udplite, udplite6, icmp, icmp6: bound addresses and ports decode', () => {
    const expect: Array<[string, string, string, number | null]> = [
      ['udp', 'udp_bound', '127.0.0.1', 40001], ['udp6', 'udp6_bound', '::1', 40002],
      ['udplite', 'udplite_bound', '127.0.0.1', 40003], ['udplite6', 'udplite6_bound', '::1', 40004],
      ['icmp', 'ping_bound', '127.0.0.1', null], ['icmp6', 'ping6_bound', '::1', null],
    ];
    for (const [table, name, addr, port] of expect) {
      const rows = parseNetTable(table as 'udp', fixtureText(NETNS, `net/${table}`)) as InetRow[];
      assert.strictEqual(rows.length, 1, table);
      assert.strictEqual(rows[0].inode, ino(name), table);
      assert.strictEqual(rows[0].localAddress, addr, table);
      if (port !== null) assert.strictEqual(rows[0].localPort, port, table);
      assert.strictEqual(rows[0].remPort, 0, table);
      assert.strictEqual(rows[0].uid, 0, table);
    }
  });

  it('tcp and tcp6: listening sockets with the tcp-only trailing columns', () => {
    for (const [table, name, addr, port] of [['tcp', 'tcp_listen', '127.0.0.1', 40005], ['tcp6', 'tcp6_listen', '::1', 40006]] as const) {
      const rows = parseNetTable(table, fixtureText(NETNS, `net/${table}`)) as InetRow[];
      assert.strictEqual(rows.length, 1);
      const r = rows[0];
      assert.strictEqual(r.inode, ino(name));
      assert.strictEqual(r.st, 0x0a, 'TCP_LISTEN');
      assert.strictEqual(r.localAddress, addr);
      assert.strictEqual(r.localPort, port);
      assert.strictEqual(r.drops, null);
      assert.strictEqual(r.ssthresh, 0);
      assert.strictEqual(r.sndCwnd, 10);
    }
  });

  it('packet: type, ethertype in host order, running only with a protocol', () => {
    const rows = parsePacket(fixtureText(NETNS, 'net/packet'));
    const all = rows.find((r) => r.inode === ino('packet_raw_all')) as PacketRow;
    const zero = rows.find((r) => r.inode === ino('packet_dgram_0')) as PacketRow;
    assert.deepStrictEqual([all.type, all.proto, all.running, all.drops], [3, 3, 1, null]);
    assert.deepStrictEqual([zero.type, zero.proto, zero.running], [2, 0, 0]);
  });

  it('netlink: a bound user socket and the kernel sockets of a fresh netns', () => {
    const rows = parseNetlink(fixtureText(NETNS, 'net/netlink'));
    const mine = rows.find((r) => r.inode === ino('netlink_route_bound')) as NetlinkRow;
    assert.strictEqual(mine.eth, 0);
    assert.notStrictEqual(mine.pid, 0, 'a bound user socket has a port id');
    const nl = withRoot(NETNS, () => readNetlinkKernelSockets());
    // SELINUX (7) and CONNECTOR (11) have kernel sockets only in the initial netns.
    assert.deepStrictEqual(nl.protocols, [0, 4, 6, 9, 10, 12, 15, 16]);
    assert.ok(nl.rows.every((r) => r.pid === 0));
    assert.deepStrictEqual(withRoot(path.join(FIXTURES, 'host'), () => readNetlinkKernelSockets()).protocols,
      [0, 4, 6, 7, 9, 10, 11, 12, 15, 16]);
  });

  it('sockstat and sockstat6', () => {
    const s = parseSockstat(fixtureText(NETNS, 'net/sockstat'));
    assert.deepStrictEqual(s.sockets, { used: 21 });
    assert.deepStrictEqual(s.TCP, { inuse: 1, orphan: 0, tw: 0, alloc: 4, mem: 213 });
    assert.deepStrictEqual(s.RAW, { inuse: 1 });
    assert.deepStrictEqual(s.FRAG, { inuse: 0, memory: 0 });
    const s6 = withRoot(NETNS, () => readSockstat(true));
    assert.deepStrictEqual(Object.keys(s6), ['TCP6', 'UDP6', 'UDPLITE6', 'RAW6', 'FRAG6']);
    assert.strictEqual(s6.RAW6.inuse, 1);
  });

  it('protocols: every column, flags named by the header', () => {
    const rows = parseProtocols(fixtureText(NETNS, 'net/protocols'));
    const by = new Map(rows.map((r) => [r.name, r]));
    for (const n of ['TCP', 'UDP', 'RAW', 'PING', 'UNIX', 'UNIX-STREAM', 'NETLINK', 'PACKET', 'XDP', 'AF_VSOCK', 'MPTCP', 'TCPv6']) {
      assert.ok(by.has(n), `${n} is listed`);
    }
    const pkt = by.get('PACKET');
    assert.ok(pkt);
    assert.strictEqual(pkt.sockets, 2, 'the two packet sockets of the capture');
    assert.strictEqual(pkt.memory, -1);
    assert.strictEqual(pkt.press, 'NI');
    assert.strictEqual(pkt.module, 'kernel');
    assert.strictEqual(by.get('RAW')?.sockets, 1);
    assert.strictEqual(by.get('TCP')?.flags.cl, true);
    assert.strictEqual(Object.keys(by.get('TCP')?.flags ?? {}).length, 18);
  });

  it('fdinfo: flags parsed from octal, unix adds scm_fds', () => {
    const fd = manifest.sockets.unix_seqpacket_unbound.fd;
    const f = parseFdinfo(fixtureText(NETNS, `self/fdinfo/${fd}`));
    assert.deepStrictEqual(f, { pos: 0, flags: 0o2004002, mntId: 10, ino: ino('unix_seqpacket_unbound'), extra: { scm_fds: '0' } });
    const raw = withRoot(NETNS, () => readFdinfo(manifest.sockets.raw_icmp.fd));
    assert.deepStrictEqual(raw, { pos: 0, flags: 0o2000002, mntId: 10, ino: ino('raw_icmp'), extra: {} });
  });
});

describe('observe: readSocketTables (one read per table, joined by inode)', () => {
  it('finds every listed socket of the capture in its table', () => {
    const index = withRoot(NETNS, () => readSocketTables());
    const where: Record<string, string> = {
      unix_stream_unbound: 'unix', unix_dgram_unbound: 'unix', unix_seqpacket_unbound: 'unix',
      unix_stream_abstract_listen: 'unix', unix_dgram_path: 'unix', raw_icmp: 'raw', raw6_icmpv6: 'raw6',
      packet_raw_all: 'packet', packet_dgram_0: 'packet', udp_bound: 'udp', udp6_bound: 'udp6',
      udplite_bound: 'udplite', udplite6_bound: 'udplite6', ping_bound: 'icmp', ping6_bound: 'icmp6',
      netlink_route_bound: 'netlink', tcp_listen: 'tcp', tcp6_listen: 'tcp6',
    };
    for (const [name, table] of Object.entries(where)) {
      const e = index.get(ino(name));
      assert.ok(e, `${name} (inode ${ino(name)}) is indexed`);
      assert.strictEqual(e.table, table, name);
      assert.strictEqual(e.row.inode, ino(name), `${name}: the lazily parsed row is the right one`);
    }
    assert.strictEqual(index.get(ino('tcp_unbound')), undefined, 'an unbound TCP socket is in no table');
    // 5 unix + raw + raw6 + 2 packet + 6 udp-like + 2 tcp + 9 netlink (1 user, 8 kernel)
    assert.strictEqual(index.size, 26);
  });

  it('keeps only the inodes asked for, and reads only the tables named', () => {
    const want = new Set([ino('raw_icmp'), ino('unix_dgram_path'), 999999999]);
    const index = withRoot(NETNS, () => readSocketTables(undefined, { inodes: want }));
    assert.deepStrictEqual([...index.keys()].sort(), [ino('unix_dgram_path'), ino('raw_icmp')].sort());
    const onlyPacket = withRoot(NETNS, () => readSocketTables(['packet', 'packet']));
    assert.deepStrictEqual([...onlyPacket.values()].map((e) => e.table), ['packet', 'packet']);
  });

  it('serialises an entry as {table, row}', () => {
    const index = withRoot(NETNS, () => readSocketTables(['raw']));
    const json = JSON.parse(JSON.stringify(index.get(ino('raw_icmp')))) as { table: string; row: { inode: number } };
    assert.strictEqual(json.table, 'raw');
    assert.strictEqual(json.row.inode, ino('raw_icmp'));
  });

  it('keeps UTF-8 paths intact in the lazily parsed rows', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-proc-'));
    try {
      fs.mkdirSync(path.join(root, 'net'));
      fs.writeFileSync(path.join(root, 'net', 'unix'),
        'Num       RefCount Protocol Flags    Type St Inode Path\n0000000000000001: 00000002 00000000 00000000 0001 01  4321 /run/\u00fcn\u00efc\u00f6de \u2603\n');
      const e = withRoot(root, () => readSocketTables(['unix'])).get(4321);
      assert.strictEqual((e?.row as UnixRow).path, '/run/\u00fcn\u00efc\u00f6de \u2603');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('rejects an unknown table name, listing the valid ones', () => {
    assert.throws(() => readSocketTables(['tcp', 'sctp']), (e: Error) =>
      e instanceof RangeError && /"sctp"/.test(e.message) && e.message.includes(NET_TABLES.join(', ')));
  });

  it('skips a table the kernel lacks only when it was not asked for by name', () => {
    const index = withRoot(EDGE, () => readSocketTables(['udp', 'packet']));
    assert.strictEqual(index.size, 1, 'header-only udp has no rows; the packet row has a Drops column');
    assert.strictEqual((index.get(16643)?.row as PacketRow).drops, 12);
    assert.throws(() => withRoot(EDGE, () => readSocketTables(['icmp'])), (e: Error) =>
      e instanceof ProcReadError && e.message.includes(path.join(EDGE, 'net', 'icmp')));
  });
});

describe('observe: hand-made edge cases', () => {
  it('an empty table file is an error naming the file and line 1', () => {
    assert.throws(() => withRoot(EDGE, () => readSocketTables(['raw'])), (e: Error) =>
      e instanceof ProcParseError && e.file === path.join(EDGE, 'net', 'raw') && e.line === 1 && /empty file/.test(e.message));
    assert.throws(() => parseProtocols(''), /line 1: empty file/);
  });

  it('a header-only table has no rows', () => {
    assert.deepStrictEqual(parseInet(fixtureText(EDGE, 'net/udp'), 'udp', false), []);
    assert.deepStrictEqual(parseUnix('Num       RefCount Protocol Flags    Type St Inode Path\n'), []);
  });

  it('a wrong header says which file it expected', () => {
    assert.throws(() => parseUnix(fixtureText(NETNS, 'net/tcp'), '/x/unix'), (e: Error) =>
      e instanceof ProcParseError && /\/x\/unix line 1: not the expected header \(it should start with "Num"\)/.test(e.message));
  });

  it('a truncated row names the file and the line, in the full parse and in the inode scan', () => {
    const file = path.join(EDGE, 'net', 'unix');
    assert.throws(() => parseUnix(fixtureText(EDGE, 'net/unix'), file), (e: Error) =>
      e instanceof ProcParseError && e.file === file && e.line === 4 && /truncated row/.test(e.message) && /0019b25288/.test(e.message));
    assert.throws(() => withRoot(EDGE, () => readSocketTables(['unix'])), (e: Error) =>
      e instanceof ProcParseError && e.file === file && e.line === 4 && /no inode column/.test(e.message));
    assert.throws(() => parseSockstat(fixtureText(EDGE, 'net/sockstat'), 'sockstat'), /sockstat line 2: .*truncated/);
    assert.throws(() => parseFdinfo(fixtureText(EDGE, 'self/fdinfo/8'), 'fdinfo/8'), /fdinfo\/8 line 2: flags should be a base-8 number/);
    assert.throws(() => parseInet('  sl  local\n   0: 0100007F:0050\n', 'tcp', false), /tcp line 2: truncated row: expected at least 12 fields/);
    assert.throws(() => parseNetlink('sk Eth Pid\n0000 0 0 00000000\n', 'nl'), /nl line 2: truncated row/);
    assert.throws(() => parsePacket('sk RefCnt\n0000 3 3 0003\n', 'pk'), /pk line 2: truncated row/);
    assert.throws(() => parseProtocols('protocol  size sockets  memory press maxhdr  slab module     cl\nTCP 1 2\n', 'pr'),
      /pr line 2: expected 9 fields/);
  });

  it('a bound path with spaces is kept whole', () => {
    const rows = parseUnix(fixtureText(EDGE, 'net/unix').split('\n').slice(0, 3).join('\n'));
    assert.strictEqual(rows[1].path, '/tmp/with space/and more');
    assert.strictEqual(rows[1].inode, 11799);
  });

  it('IPv6 rows: compressed, v4-mapped and link-local addresses; TIME_WAIT-like rows have inode 0', () => {
    const rows = parseInet(fixtureText(EDGE, 'net/tcp6'), 'tcp6', true);
    assert.strictEqual(rows[0].localAddress, '2001:db8::1');
    assert.strictEqual(rows[0].localPort, 8080);
    assert.strictEqual(rows[0].remAddress, '::ffff:127.0.0.1');
    assert.strictEqual(rows[0].uid, 1000);
    assert.strictEqual(rows[0].ssthresh, -1);
    assert.strictEqual(rows[1].localAddress, 'fe80::200:ff:5e00:1');
    assert.strictEqual(rows[1].inode, 0);
    assert.strictEqual(rows[1].rto, null);
    const index = withRoot(EDGE, () => readSocketTables(['tcp6']));
    assert.deepStrictEqual([...index.keys()], [4242], 'the inode-0 row is not indexed');
  });

  it('an IPv4 table parsed as IPv6 is refused', () => {
    assert.throws(() => parseInet(fixtureText(NETNS, 'net/udp'), 'udp', true), /should be 32 hex digits \(an IPv6 table\)/);
  });

  it('fdinfo: repeated extra keys keep every value', () => {
    const f = parseFdinfo(fixtureText(EDGE, 'self/fdinfo/7'));
    assert.strictEqual(f.flags, 0o2004002);
    assert.strictEqual(f.extra.tfd.split('\n').length, 2);
  });

  it('decodes addresses in this machine\'s byte order', function () {
    if (os.endianness() !== 'LE') this.skip();
    assert.strictEqual(decodeInetAddress('0100007F'), '127.0.0.1');
    assert.strictEqual(decodeInetAddress('00000000000000000000000001000000'), '::1');
  });
});

describe('observe: the live /proc of this machine', () => {
  it('every socket table parses fully and the index agrees with the full parse', () => {
    const index = readSocketTables();
    let rows = 0;
    for (const t of NET_TABLES) {
      let parsed;
      try {
        parsed = readNetTable(t);
      } catch (e) {
        if (e instanceof ProcReadError && e.code === 'ENOENT') continue;
        throw e;
      }
      for (const r of parsed) {
        if (r.inode === 0) continue;
        rows++;
        const e = index.get(r.inode);
        assert.ok(e, `${t} inode ${r.inode} is indexed`);
        assert.strictEqual(e.table, t);
      }
    }
    assert.ok(rows >= index.size - 1 && rows <= index.size + 1, `indexed ${index.size}, parsed ${rows} (a socket may come or go between reads)`);
  });

  it('fdinfo of an open file agrees with how it was opened', () => {
    const file = path.join(os.tmpdir(), `sockbridge-observe-${process.pid}`);
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_APPEND, 0o600);
    try {
      const f = readFdinfo(fd);
      assert.strictEqual(f.flags & 0o3, fs.constants.O_RDWR);
      assert.ok(f.flags & fs.constants.O_APPEND, 'O_APPEND is in f_flags');
      assert.strictEqual(f.ino, fs.fstatSync(fd).ino);
    } finally {
      fs.closeSync(fd);
      fs.unlinkSync(file);
    }
  });

  it('sockstat, sockstat6 and protocols parse', () => {
    assert.ok(readSockstat().sockets.used >= 0);
    assert.ok('TCP6' in readSockstat(true));
    assert.ok(readProtocols().some((r) => r.name === 'UNIX'));
  });

  it('readFdinfo refuses a bad fd with a RangeError naming it', () => {
    assert.throws(() => readFdinfo(-1), (e: Error) => e instanceof RangeError && /fd must be an integer .* \(got -1\)/.test(e.message));
    assert.throws(() => readFdinfo(1.5), RangeError);
  });
});

describe('observe: Bluetooth and PF_KEY socket lists (bt_seq_show, pfkey_seq_show)', () => {
  // The layouts as the kernel prints them: "%pK %-6d %-6u %-6u %-6u %-6lu %-6lu" under
  // "sk               RefCnt Rmem   Wmem   User   Inode  Parent", and pfkey without Parent.
  const l2cap = 'sk               RefCnt Rmem   Wmem   User   Inode  Parent\n'
    + '0000000000000000 2      0      0      0      41733  0     \n'
    + '0000000000000000 2      0      0      65534  41740  41733 \n';
  const pfkey = 'sk       RefCnt Rmem   Wmem   User   Inode\n'
    + '0000000000000000 2      0      0      0      51200 \n';

  it('parses rows with and without the Parent column', () => {
    const rows = parseNetTable('l2cap', l2cap);
    assert.deepStrictEqual(rows.map((r) => [r.inode, r.user, r.parent]), [[41733, 0, 0], [41740, 65534, 41733]]);
    assert.deepStrictEqual(parseNetTable('pfkey', pfkey).map((r) => [r.inode, r.parent]), [[51200, null]]);
  });

  it('finds a socket by inode through readSocketTables, and names a truncated row', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-sk-'));
    try {
      fs.mkdirSync(path.join(dir, 'net'));
      fs.writeFileSync(path.join(dir, 'net', 'l2cap'), l2cap);
      fs.writeFileSync(path.join(dir, 'net', 'pfkey'), pfkey);
      const index = withRoot(dir, () => readSocketTables(['l2cap', 'pfkey']));
      assert.strictEqual(index.get(41740)?.table, 'l2cap');
      assert.strictEqual(index.get(51200)?.table, 'pfkey');
      assert.throws(() => parseNetTable('hci', 'sk               RefCnt Rmem   Wmem   User   Inode  Parent\n0000 2 0 0\n', '/proc/net/hci'),
        (e: unknown) => e instanceof ProcParseError && /\/proc\/net\/hci/.test(e.message) && /truncated/.test(e.message));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
