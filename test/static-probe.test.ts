/**
 * The static probe (native/static-probe.cc on native/road.cc, the addon's own core), built for
 * each ABI with Debian's compilers: run natively on this x86-64 kernel it must observe exactly
 * what the addon observes for the same cases; its own fd table report must explain its fd
 * numbers; each build's ABI constants must be lib/abi/arch.ts's; bad input is exit 2.
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import { ABIS, type AbiName, errnoOut } from '../lib/abi/arch';
import { SOCK_CLOEXEC, SOCK_NONBLOCK } from '../lib/abi/constants';
import { observeBatch } from '../lib/probe';
import { buildProbe, PROBE_TARGETS, ToolMissingError } from '../lib/static-probe/build';
import { parseProbeOutput, runProbe } from '../lib/static-probe/run';
import type { Observation, SocketCase } from '../lib/types';

/** A matrix that makes sockets of most families this host has, and fails in every early check. */
export function probeTestCases(): SocketCase[] {
  const types = [0, 1, 2, 3, 4, 5, 6, 10, 11, 1 | SOCK_CLOEXEC, 2 | SOCK_NONBLOCK, 3 | SOCK_CLOEXEC | SOCK_NONBLOCK, 1 | 0x40, 2 | 0x40000000, -1];
  const protocols = [0, 1, 2, 6, 17, 58, 136, 255, 263, 0x300, -1];
  const out: SocketCase[] = [];
  for (let domain = -1; domain <= 47; domain++) for (const type of types) for (const protocol of protocols) out.push({ domain, type, protocol });
  return out;
}

function build(abi: AbiName, ctx: Mocha.Context): string {
  try {
    return buildProbe(abi).path;
  } catch (e) {
    if (e instanceof ToolMissingError) ctx.skip();
    throw e;
  }
}

/** Whether this kernel runs the binary (32-bit emulation can be off: ia32_emulation=off). */
function runsHere(bin: string): string | null {
  const r = spawnSync(bin, ['--no-procnet'], { input: '', encoding: 'utf8' });
  if (r.error) return `${(r.error as NodeJS.ErrnoException).code}: ${r.error.message}`;
  if (r.status === 0 && r.stdout.startsWith('{"kind":"probe"')) return null;
  // execve() answered ENOEXEC and the C library's execvp fallback handed the file to /bin/sh.
  return `execve() refuses the ELF (ENOEXEC; /bin/sh, tried next, says: ${r.stderr.trim()})`;
}

/** The comparable facts of an observation: everything but fd and inode numbers, which belong to the process. */
function comparable(o: Observation): Record<string, unknown> {
  const extra = o.fdinfo ? { ...o.fdinfo.extra } : undefined;
  return {
    case: o.case, errno: o.errno,
    fdFlags: o.fdFlags, flFlags: o.flFlags, soDomain: o.soDomain, soType: o.soType, soProtocol: o.soProtocol,
    protoName: o.protoName, mode: o.stat?.mode, uid: o.stat?.uid, gid: o.stat?.gid,
    fdinfoFlags: o.fdinfo?.flags, fdinfoPos: o.fdinfo?.pos, fdinfoMnt: o.fdinfo?.mntId, extra,
    // The addon asks sock_diag for some tables, the probe reads the text: the table must agree.
    procNet: o.procNet === undefined ? undefined : o.procNet?.table ?? null,
  };
}

/** Each new fd is the lowest one free in the batch's reported fd table plus the batch's earlier fds. */
function checkFdNumbers(openFds: number[], obs: Observation[]): void {
  const used = new Set(openFds);
  for (const o of obs) {
    if (o.errno !== 0) continue;
    let want = 0;
    while (used.has(want)) want++;
    assert.equal(o.fd, want, `case ${JSON.stringify(o.case)}: fd ${o.fd}, the lowest free fd was ${want} (open: ${[...used].sort((a, b) => a - b).join(',')})`);
    used.add(o.fd);
    assert.equal(o.link, `socket:[${o.stat?.ino}]`, 'link names the fstat inode');
    assert.equal(o.fdinfo?.ino, o.stat?.ino, 'fdinfo ino is the fstat inode');
  }
}

describe('static probe', function () {
  this.timeout(300_000);

  it('x86_64: the probe observes what the addon observes, case for case (errno, flags, SO_*, inode, sockprotoname, fdinfo, /proc/net table)', function () {
    const bin = build('x86_64', this);
    const cases = probeTestCases();
    const addon = observeBatch(cases, { close: 'defer', procNet: true });
    const run = runProbe(bin, cases, { batch: 512 });
    assert.equal(run.header.abi, 'x86_64');
    assert.equal(run.observations.length, cases.length);
    let made = 0;
    for (let i = 0; i < cases.length; i++) {
      assert.deepStrictEqual(comparable(run.observations[i]), comparable(addon[i]), `case ${i} ${JSON.stringify(cases[i])}`);
      if (addon[i].errno === 0) made++;
    }
    assert.ok(made > 100, `the matrix made real sockets (${made})`);
    assert.ok(run.observations.some((o) => o.procNet && o.procNet.table === 'unix'), 'a socket was found in /proc/net by the probe');
    for (const b of run.batches) {
      checkFdNumbers(b.openFds, b.observations);
      assert.deepEqual(b.closeErrors, []);
    }
    assert.equal(run.batches.length, Math.ceil(cases.length / 512));
  });

  it('i386: the 32-bit probe, by socket(359) and by socketcall(102), observes what the addon observes (ia32 compat entry)', function () {
    const bin = build('i386', this);
    const why = runsHere(bin);
    if (why !== null) {
      // This host's kernel: CONFIG_IA32_EMULATION=y but 32-bit emulation is off at run time
      // (dmesg: "32-bit emulation disabled. You can reenable with ia32_emulation=on").
      this.test!.title += ` (pending: this kernel does not run 32-bit binaries: ${why})`;
      this.skip();
    }
    const cases = probeTestCases();
    const addon = observeBatch(cases, { close: 'defer', procNet: true });
    for (const route of ['socket', 'socketcall'] as const) {
      const run = runProbe(bin, cases, { route, batch: 512 });
      assert.equal(run.header.route, route);
      for (let i = 0; i < cases.length; i++) {
        assert.deepStrictEqual(comparable(run.observations[i]), comparable(addon[i]), `${route} case ${i} ${JSON.stringify(cases[i])}`);
      }
      for (const b of run.batches) checkFdNumbers(b.openFds, b.observations);
    }
  });

  for (const abi of Object.keys(PROBE_TARGETS) as AbiName[]) {
    it(`${abi}: the build's SOL_SOCKET, SO_*, SOCK_*, O_* and errno numbers are lib/abi/arch.ts's`, function () {
      const bin = build(abi, this);
      // The header is written before any case; read it with the cases from the command line
      // (none), natively or, for a foreign ABI, from the binary's own data: run it under qemu-user if present.
      const qemu: Record<AbiName, string | null> = { x86_64: null, i386: 'qemu-i386-static', aarch64: 'qemu-aarch64-static', mips64el: 'qemu-mips64el-static' };
      let argv = [bin];
      if (abi !== 'x86_64' && runsHere(bin) !== null) {
        const q = qemu[abi] as string;
        if (spawnSync(q, ['--version']).error) {
          this.test!.title += ` (pending: ${q} not installed, Debian package qemu-user-static)`;
          this.skip();
        }
        argv = [q, bin];
      }
      const r = spawnSync(argv[0], [...argv.slice(1), '--no-procnet'], { input: '', encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const h = parseProbeOutput(r.stdout).header;
      const a = ABIS[abi];
      assert.equal(h.abi, abi);
      const c = h.consts;
      assert.deepEqual(
        [c.SOL_SOCKET, c.SO_TYPE, c.SO_PROTOCOL, c.SO_DOMAIN, c.SOCK_STREAM, c.SOCK_DGRAM, c.SOCK_NONBLOCK, c.SOCK_CLOEXEC, c.O_NONBLOCK, c.O_CLOEXEC, c.O_RDWR],
        [a.SOL_SOCKET, a.SO_TYPE, a.SO_PROTOCOL, a.SO_DOMAIN, a.sockTypes.SOCK_STREAM, a.sockTypes.SOCK_DGRAM, a.SOCK_NONBLOCK, a.SOCK_CLOEXEC, a.O_NONBLOCK, a.O_CLOEXEC, a.O_RDWR],
      );
      const generic: Record<string, number> = { EINVAL: 22, EAFNOSUPPORT: 97, EPROTONOSUPPORT: 93, ESOCKTNOSUPPORT: 94, EPROTOTYPE: 91, EPERM: 1, EACCES: 13 };
      for (const [name, g] of Object.entries(generic)) assert.equal(c[name], errnoOut(a, g), `${name}: ${abi} headers say ${c[name]}`);
    });
  }

  it('bad arguments and input: exit 2 naming the value; no case runs', function () {
    const bin = build('x86_64', this);
    const run = (args: string[], input = '') => spawnSync(bin, args, { input, encoding: 'utf8' });
    let r = run(['2', '1']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /2 numbers given: cases are DOMAIN TYPE PROTOCOL triples/);
    r = run(['2', '1', '0x80000000']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /"0x80000000" is neither an option .* nor an int32/);
    r = run(['--route', 'socketcall', '2', '1', '0']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /the x86_64 ABI has no socketcall/);
    r = run(['--batch', '0']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--batch: "0" is not a whole number from 1 to 65536/);
    r = run([], '2 1 6\n2 x 6\n');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /stdin line 2: "x" is not an int32/);
    assert.equal(r.stdout, '', 'nothing ran');
    r = run([], '# comment\n\n  2 1 6  \n1 2 0\n');
    assert.equal(r.status, 0, r.stderr);
    const out = parseProbeOutput(r.stdout);
    assert.deepEqual(out.observations.map((o) => o.case), [{ domain: 2, type: 1, protocol: 6 }, { domain: 1, type: 2, protocol: 0 }]);
    assert.ok(out.complete);
  });

  it('parseProbeOutput refuses output that is not the probe\'s, naming the line', () => {
    assert.throws(() => parseProbeOutput('hello\n'), /probe output line 1: not JSON/);
    assert.throws(() => parseProbeOutput('{"kind":"probe","schema":"other/9"}\n'), /schema "other\/9"/);
    assert.throws(() => parseProbeOutput(''), /no probe line/);
  });
});
