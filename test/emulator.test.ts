/**
 * sockbridge as the oracle for a syscall emulator: `sweep --emulator` under Debian's qemu-user.
 * The report's departures are checked against an independent run of the same probe, natively
 * on this kernel and under the emulator: the cases where the two observe differently are
 * exactly the DEPARTURE cases, class by class; the same machinery with no emulator finds none;
 * the reproducer commands show what their class says.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gatherHostProfile } from '../lib/host';
import { runEmulated } from '../lib/emulator/conformance';
import type { FoundEmulator } from '../lib/emulator/emulators';
import { buildProbe, ToolMissingError } from '../lib/static-probe/build';
import { runProbe } from '../lib/static-probe/run';
import type { Observation, SocketCase } from '../lib/types';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'sockbridge.js');

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000, cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function have(cmd: string): boolean {
  return !spawnSync(cmd, ['--version'], { stdio: 'ignore' }).error;
}

/** What one probe saw, without the fd and inode numbers that belong to the process. */
function seen(o: Observation): string {
  return JSON.stringify([o.errno, o.fdFlags, o.flFlags, o.soDomain, o.soType, o.soProtocol, o.protoName, o.stat?.mode, o.fdinfo?.flags, o.procNet === undefined ? undefined : o.procNet?.table ?? null]);
}

const MATRIX = ['--domains', 'AF_UNSPEC,AF_UNIX,AF_INET,AF_NETLINK,AF_PACKET,AF_INET6,AF_VSOCK,46', '--types', '0,1,2,3,5,10,11', '--protocols', '0,1,2,6,9,17,-1,htons(ETH_P_ALL)'];

interface Line { kind: string; [k: string]: unknown }

describe('emulator: sweep --emulator under qemu-user', function () {
  this.timeout(600_000);
  before(function () {
    try {
      buildProbe('x86_64');
      buildProbe('aarch64');
      buildProbe('i386');
    } catch (e) {
      if (e instanceof ToolMissingError) {
        this.test!.parent!.title += ` (pending: ${e.message})`;
        this.skip();
      }
      throw e;
    }
  });

  const runs: Array<{ emulator: string; exe: string; abi: 'aarch64' | 'i386'; route: 'socket' | 'socketcall' }> = [
    { emulator: 'qemu-aarch64', exe: 'qemu-aarch64-static', abi: 'aarch64', route: 'socket' },
    { emulator: 'qemu-i386', exe: 'qemu-i386-static', abi: 'i386', route: 'socket' },
    { emulator: 'qemu-i386', exe: 'qemu-i386-static', abi: 'i386', route: 'socketcall' },
  ];
  for (const r of runs) {
    it(`${r.emulator} (${r.route}): the DEPARTURE cases are exactly where the probe under the emulator and natively observe differently, class by class`, function () {
      if (!have(r.exe)) {
        this.test!.title += ` (pending: ${r.exe} not installed; Debian package qemu-user-static)`;
        this.skip();
      }
      const out = path.join(os.tmpdir(), `sockbridge-emu-${process.pid}-${r.emulator}-${r.route}.jsonl`);
      try {
        const res = run(['sweep', '--emulator', r.emulator, '--route', r.route, ...MATRIX, '--format', 'jsonl', '--out', out, '--no-progress']);
        const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
        const cases = lines.filter((l) => l.kind === 'case');
        const conf = lines.find((l) => l.kind === 'conformance') as Line & { totals: Record<string, number>; control: { ran: boolean; mismatches: number }; proof: { statement: string } };
        const classes = lines.filter((l) => l.kind === 'departure-class') as Array<Line & { count: number; fn: string; what: string; linux: string; emulator: string; fields: string[]; examples: SocketCase[]; reproduce: { emulator: string; native: string | null } }>;
        assert.ok(conf, 'a conformance line');
        assert.equal(conf.control.ran, true);
        assert.equal(conf.control.mismatches, 0, 'the model agrees with this kernel natively on every case (the oracle holds here)');
        assert.equal(conf.totals.MISMATCH, 0);
        assert.equal(res.code, conf.totals.DEPARTURE > 0 ? 5 : 0, res.err);

        // The independent run: the same probe natively (x86-64 build, same numbers) and under the emulator.
        const input: SocketCase[] = cases.map((c) => ({ domain: c.domain as number, type: c.type as number, protocol: c.protocol as number }));
        const nat = runProbe(buildProbe('x86_64').path, input, { batch: 2048 }).observations;
        const emu = runProbe(buildProbe(r.abi).path, input, { launcher: [r.exe], route: r.route, batch: 2048 }).observations;
        const differs = new Set<number>();
        for (let i = 0; i < input.length; i++) if (seen(nat[i]) !== seen(emu[i])) differs.add(i);
        const departed = new Set<number>();
        cases.forEach((c, i) => { if (c.verdict === 'DEPARTURE') departed.add(i); });
        assert.ok(differs.size > 0, `${r.emulator} observes differently from this kernel somewhere in the matrix (else this test proves nothing)`);
        assert.deepEqual([...departed].sort((a, b) => a - b), [...differs].sort((a, b) => a - b), 'the report lists the departures of an independent run, case for case');
        assert.equal(conf.totals.DEPARTURE, departed.size);

        // Class by class: each case's class is one of the listed classes, and the counts add up.
        const byKey = new Map<string, number>();
        for (const c of cases) {
          if (c.verdict !== 'DEPARTURE') continue;
          const d = c.departure as { fn: string; what: string; linux: string; emulator: string; fields: string[] };
          const k = JSON.stringify([d.fn, d.what, d.linux, d.emulator, d.fields]);
          byKey.set(k, (byKey.get(k) ?? 0) + 1);
        }
        assert.equal(classes.length, byKey.size);
        for (const cl of classes) {
          assert.equal(byKey.get(JSON.stringify([cl.fn, cl.what, cl.linux, cl.emulator, cl.fields])), cl.count, `class ${cl.fn}: ${cl.what}`);
          // The reproducer shows the class: the emulator's answer and, natively, Linux's.
          const ex = cl.examples[0];
          const i = input.findIndex((c) => c.domain === ex.domain && c.type === ex.type && c.protocol === ex.protocol);
          const word = (o: Observation) => (o.errno === 0 ? 'a new socket' : (require('../lib/abi/names') as typeof import('../lib/abi/names')).errnoName(o.errno));
          if (cl.fields.length === 0) {
            assert.equal(word(emu[i]), cl.emulator);
            assert.equal(word(nat[i]), cl.linux);
          }
          const argv = cl.reproduce.emulator.split(' ');
          const rr = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', cwd: ROOT });
          assert.equal(rr.status, 0, rr.stderr);
          const caseLine = JSON.parse(rr.stdout.split('\n').find((l) => l.includes('"kind":"case"')) as string) as { errno: number };
          assert.equal(caseLine.errno === 0 ? 'a new socket' : word({ errno: caseLine.errno } as Observation), cl.emulator === 'a new socket' || cl.fields.length ? (cl.fields.length ? 'a new socket' : cl.emulator) : cl.emulator);
        }
        if (r.abi === 'i386') assert.match(conf.proof.statement, /unproven for i386|checked live/);
      } finally {
        fs.rmSync(out, { force: true });
      }
    });
  }

  it('qemu-mips64el: MIPS numbers through the ABI layer; the control renumbers the type and agrees; a nonblocking socket\'s fdinfo flags are the host\'s, not MIPS\'s', function () {
    if (!have('qemu-mips64el-static')) {
      this.test!.title += ' (pending: qemu-mips64el-static not installed; Debian package qemu-user-static)';
      this.skip();
    }
    try {
      buildProbe('mips64el');
    } catch (e) {
      if (e instanceof ToolMissingError) this.skip();
      throw e;
    }
    const res = run(['sweep', '--emulator', 'qemu-mips64el', '--domains', 'AF_UNIX,AF_INET,AF_NETLINK', '--types', 'SOCK_STREAM,SOCK_DGRAM,SOCK_RAW', '--protocols', '0,6,17', '--format', 'jsonl', '--no-progress']);
    const lines = res.out.trim().split('\n').map((l) => JSON.parse(l) as Line);
    const conf = lines.find((l) => l.kind === 'conformance') as Line & { totals: Record<string, number>; control: { ran: boolean; mismatches: number } };
    assert.equal(conf.control.ran, true);
    assert.equal(conf.control.mismatches, 0);
    assert.equal(res.code, conf.totals.DEPARTURE ? 5 : 0, res.err);
    const cases = lines.filter((l) => l.kind === 'case');
    // socket(AF_UNIX, SOCK_STREAM, 0) in MIPS numbers: type 2, and SO_TYPE reads back 2.
    const stream = cases.find((c) => c.domain === 1 && c.type === 2 && c.protocol === 0) as Line & { verdict: string; observed: { soType: number } };
    assert.equal(stream.verdict, 'MATCH');
    assert.equal(stream.observed.soType, 2);
    // SOCK_NONBLOCK is 0x80 on MIPS: qemu sets O_NONBLOCK (F_GETFL reads MIPS's 0x80) but
    // /proc/self/fdinfo is the host's and prints x86's 04000, where a MIPS kernel prints 0200.
    const nb = cases.find((c) => c.domain === 1 && c.type === (2 | 0x80) && c.protocol === 0) as Line & { verdict: string; diffs: Array<{ field: string }> };
    assert.equal(nb.verdict, 'DEPARTURE');
    assert.deepEqual(nb.diffs.map((d) => d.field), ['fdinfo.flags']);
    const cls = lines.filter((l) => l.kind === 'departure-class').find((l) => l.fn === 'sock_alloc_file') as Line & { fields: string[] };
    assert.deepEqual(cls.fields, ['fdinfo.flags']);
  });

  it('the same machinery with no emulator (the x86-64 probe run directly) finds no departure on this kernel', async function () {
    const native: FoundEmulator = {
      spec: { name: 'qemu-aarch64', abi: 'x86_64', binaries: [], aptPackage: '', routes: ['socket'], about: 'no emulator' },
      path: '/usr/bin/env', version: 'none: /usr/bin/env runs the probe natively',
    };
    const cases: SocketCase[] = [];
    for (let domain = 0; domain <= 46; domain++) for (const type of [1, 2, 3, 5, 10, 0x41, 0x80801]) for (const protocol of [0, 1, 2, 6, 17, -1]) cases.push({ domain, type, protocol });
    const o = await runEmulated(cases, { emulator: native, route: 'socket', profile: gatherHostProfile(), control: false });
    assert.equal(o.totals.total, cases.length);
    assert.equal(o.totals.DEPARTURE, 0, JSON.stringify(o.classes.slice(0, 3)));
    assert.equal(o.totals.MISMATCH, 0);
    assert.ok(o.totals.MATCH + o.totals.EXPLAINED === cases.length);
  });

  it('qemu-aarch64: the text and html reports list the same classes as the jsonl, with counts and reproducers', function () {
    if (!have('qemu-aarch64-static')) this.skip();
    const args = ['sweep', '--emulator', 'qemu-aarch64', ...MATRIX, '--no-progress'];
    const j = run([...args, '--format', 'jsonl']);
    const classes = j.out.trim().split('\n').map((l) => JSON.parse(l) as Line).filter((l) => l.kind === 'departure-class') as Array<Line & { id: number; count: number; reproduce: { emulator: string } }>;
    assert.ok(classes.length > 0, 'qemu-aarch64 departs somewhere in this matrix');
    const t = run([...args, '--format', 'text']);
    assert.equal(t.code, 5, t.err);
    for (const c of classes) {
      assert.match(t.out, new RegExp(`DEPARTURE class ${c.id}: ${c.count} case`));
      assert.ok(t.out.includes(c.reproduce.emulator), c.reproduce.emulator);
    }
    assert.match(t.out, /oracle {4}(un)?proven/);
    const h = run([...args, '--format', 'html']);
    assert.equal(h.code, 5);
    const rows = [...h.out.matchAll(/<tr class="class" data-class="(\d+)" data-count="(\d+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    assert.deepEqual(rows, classes.map((c) => [c.id, c.count]));
  });

  it('compare --emulator: exit 5 and the class for a departing call, exit 0 for a conforming one', function () {
    if (!have('qemu-aarch64-static')) this.skip();
    const bad = run(['compare', 'AF_NETLINK', 'SOCK_DGRAM', 'NETLINK_USERSOCK', '--emulator', 'qemu-aarch64', '--json']);
    assert.equal(bad.code, 5, bad.err);
    const b = JSON.parse(bad.out) as { verdict: string; departure: { linux: string; emulator: string } | null };
    assert.equal(b.verdict, 'DEPARTURE');
    assert.equal(b.departure?.linux, 'a new socket');
    const good = run(['compare', 'AF_INET', 'SOCK_STREAM', 'IPPROTO_TCP', '--emulator', 'qemu-aarch64']);
    assert.equal(good.code, 0, good.out + good.err);
    assert.match(good.out, /MATCH/);
    const ex = run(['explain', 'AF_INET', 'SOCK_STREAM|0x40', '0', '--emulator', 'qemu-aarch64']);
    assert.ok(ex.code === 5 || ex.code === 0, ex.err);
    assert.match(ex.out, /deciding step: __sys_socket/);
  });

  it('usage and machine errors: unknown emulator (2), a route the ABI lacks (2), options that cannot go together (2), a missing emulator (3, naming the package)', function () {
    let r = run(['sweep', '--emulator', 'qemu-arm64']);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown emulator "qemu-arm64".*did you mean qemu-aarch64/);
    r = run(['sweep', '--emulator', 'qemu-aarch64', '--route', 'socketcall']);
    assert.equal(r.code, 2);
    assert.match(r.err, /no socketcall entry/);
    r = run(['sweep', '--route', 'socketcall']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--route goes with --emulator/);
    r = run(['sweep', '--emulator', 'qemu-aarch64', '--variants', 'self']);
    assert.equal(r.code, 2);
    r = run(['sweep', '--emulator', 'qemu-aarch64', '--format', 'junit']);
    assert.equal(r.code, 2);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-nopath-'));
    try {
      r = run(['sweep', '--emulator', 'qemu-aarch64'], { PATH: empty });
      assert.equal(r.code, 3, r.err);
      assert.match(r.err, /qemu-aarch64-static is not installed.*qemu-user-static/);
      r = run(['compare', 'AF_INET', 'SOCK_STREAM', '0', '--emulator', 'qemu-i386'], { PATH: empty });
      assert.equal(r.code, 3, r.err);
      assert.match(r.err, /qemu-user-static/);
    } finally {
      fs.rmdirSync(empty);
    }
  });
});
