/**
 * The ABI layer (lib/abi/arch.ts) and the entries (lib/kernel/entry.ts):
 *  - every number of every ABI against the values Debian's cross compilers compile from that
 *    architecture's headers (glibc's and the kernel's uapi), when the compilers are installed;
 *  - the translations are bijections, so an invalid bit stays invalid;
 *  - the model's logic is one: on a mips64el profile, each prediction is the x86-64 prediction of
 *    the same kernel facts with the numbers moved, except where the kernel itself prints a number
 *    (request_module's "-type-T");
 *  - socketcall's own failures, and the entries that do not exist.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ABIS, type Abi, GENERIC_ERRNOS, abiByName, abiForMachine, callerAbis, errnoIn, errnoOut, fileFlagsOut,
  machineForDebianArch, sockTypeOut, typeIn, typeOut,
} from '../lib/abi/arch';
import { callName, errnoFromName, errnoName, parseType, resultText, typeName } from '../lib/abi/names';
import { KernelModel } from '../lib/kernel';
import { SYS_SOCKET } from '../lib/kernel/entry';
import type { HostProfile, Prediction, SocketCase } from '../lib/types';

const fixtures = path.join(__dirname, '..', '..', 'test', 'fixtures', 'profiles');
const load = (name: string): HostProfile => JSON.parse(fs.readFileSync(path.join(fixtures, name), 'utf8')) as HostProfile;
const MIPS = ABIS.mips64el;

// ---------------------------------------------------------------------------

/** The cross compiler for each ABI (Debian's gcc-<triplet> packages). */
const COMPILERS: Record<string, string> = {
  x86_64: 'x86_64-linux-gnu-gcc', i386: 'i686-linux-gnu-gcc', aarch64: 'aarch64-linux-gnu-gcc', mips64el: 'mips64el-linux-gnuabi64-gcc',
};

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * The values of C expressions as the ABI's compiler sees them: an int array compiled to
 * assembly, its .word/.long directives read back in order (an undefined name gives -99999).
 */
function compiled(cc: string, names: string[]): number[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-abi-'));
  try {
    const src = path.join(dir, 'v.c');
    const body = names.map((n) => `#ifdef ${n}\n ${n},\n#else\n -99999,\n#endif`).join('\n');
    // SOCK_* are enum constants with same-name #defines in glibc, so #ifdef works for them too.
    fs.writeFileSync(src, `#define _GNU_SOURCE\n#include <errno.h>\n#include <fcntl.h>\n#include <sys/socket.h>\n#include <sys/syscall.h>\n#include <linux/audit.h>\n#include <linux/net.h>\nint sb_vals[] = {\n${body}\n};\n`);
    const r = spawnSync(cc, ['-S', '-O0', '-o', '-', src], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cc} failed: ${r.stderr}`);
    const start = r.stdout.indexOf('sb_vals:');
    const vals = [...r.stdout.slice(start).matchAll(/^\s*\.(?:word|long|4byte)\s+(-?\d+)/gm)].map((m) => Number(m[1]));
    return vals.slice(0, names.length);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('abi/arch: the numbers, against each architecture\'s headers', () => {
  for (const abi of Object.values(ABIS)) {
    it(`${abi.name}: SOCK_*, flags, O_*, SOL_SOCKET/SO_*, errnos, AUDIT_ARCH and syscall numbers`, function () {
      const cc = COMPILERS[abi.name];
      if (!which(cc)) {
        console.log(`      (pending: ${cc} is not installed; .ci/run installs Debian's cross compilers)`);
        this.skip();
      }
      const want: Array<[string, number | null]> = [
        ...Object.entries(abi.sockTypes),
        ['SOCK_NONBLOCK', abi.SOCK_NONBLOCK], ['SOCK_CLOEXEC', abi.SOCK_CLOEXEC],
        ['O_NONBLOCK', abi.O_NONBLOCK], ['O_CLOEXEC', abi.O_CLOEXEC], ['O_RDWR', abi.O_RDWR],
        ['SOL_SOCKET', abi.SOL_SOCKET], ['SO_TYPE', abi.SO_TYPE], ['SO_PROTOCOL', abi.SO_PROTOCOL], ['SO_DOMAIN', abi.SO_DOMAIN],
        ['SYS_SOCKET', 1], ['SYS_SENDMMSG', 20],
        ['SYS_socket', abi.nr.socket], ['SYS_socketcall', abi.nr.socketcall],
        ...Object.entries(abi.errnos),
      ];
      const got = compiled(cc, want.map(([n]) => n));
      const wrong: string[] = [];
      want.forEach(([n, v], i) => {
        const g = got[i] === -99999 ? null : got[i];
        if (g !== v) wrong.push(`${n}: table ${v}, headers ${g}`);
      });
      assert.deepEqual(wrong, []);
      // AUDIT_ARCH_* is unsigned: compare its bits.
      const audit = { x86_64: 'AUDIT_ARCH_X86_64', i386: 'AUDIT_ARCH_I386', aarch64: 'AUDIT_ARCH_AARCH64', mips64el: 'AUDIT_ARCH_MIPSEL64' }[abi.name];
      assert.equal(compiled(cc, [audit])[0] >>> 0, abi.auditArch);
    });
  }

  it('the generic errno table is this x86-64 host\'s (Node\'s os.constants.errno)', () => {
    const host = os.constants.errno as Record<string, number>;
    const wrong = Object.entries(GENERIC_ERRNOS).filter(([n, v]) => host[n] !== undefined && host[n] !== v);
    assert.deepEqual(wrong, []);
    assert.ok(Object.keys(GENERIC_ERRNOS).filter((n) => host[n] !== undefined).length > 70);
  });
});

describe('abi/arch: translations', () => {
  const samples: number[] = [0, 1, 2, 3, 10, 11, 15, -1, 0x80, 0x800, 0x880, 0x80000, 0x80082, 0x40000000, -0x80000000, 0x7fffffff];
  let x = 12345;
  for (let i = 0; i < 5000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) | 0;
    samples.push(x);
  }

  it('typeIn and typeOut are inverse bijections on int32 for every ABI', () => {
    for (const abi of Object.values(ABIS)) {
      for (const t of samples) {
        assert.equal(typeOut(abi, typeIn(abi, t)), t, `${abi.name} ${t}`);
        assert.equal(typeIn(abi, typeOut(abi, t)), t, `${abi.name} ${t}`);
      }
    }
  });

  it('mips: SOCK_STREAM 2 and SOCK_DGRAM 1, SOCK_NONBLOCK 0x80; a generic SOCK_NONBLOCK bit (0x800) stays an invalid bit', () => {
    assert.equal(typeIn(MIPS, 2), 1);
    assert.equal(typeIn(MIPS, 1), 2);
    assert.equal(typeIn(MIPS, 2 | 0x80 | 0x80000), 1 | 0o4000 | 0o2000000);
    assert.equal(typeIn(MIPS, 2 | 0x800) & 0x80, 0x80, 'the mips caller\'s 0x800 is an unknown flag bit');
    assert.equal(sockTypeOut(MIPS, 1), 2);
    assert.equal(sockTypeOut(MIPS, 3), 3);
    assert.equal(fileFlagsOut(MIPS, 0o2 | 0o4000 | 0o2000000), 0o2 | 0x80 | 0o2000000);
    for (const abi of [ABIS.x86_64, ABIS.i386, ABIS.aarch64]) {
      assert.ok(abi.generic);
      assert.equal(typeIn(abi, 0x12345), 0x12345);
    }
  });

  it('errnoOut and errnoIn are inverse on every generic errno; mips renumbers from 35 up', () => {
    for (const abi of Object.values(ABIS)) {
      for (const v of Object.values(GENERIC_ERRNOS)) assert.equal(errnoIn(abi, errnoOut(abi, v)), v);
    }
    assert.equal(errnoOut(MIPS, 97), 124); // EAFNOSUPPORT
    assert.equal(errnoOut(MIPS, 93), 120); // EPROTONOSUPPORT
    assert.equal(errnoOut(MIPS, 94), 121); // ESOCKTNOSUPPORT
    assert.equal(errnoOut(MIPS, 91), 98); // EPROTOTYPE
    assert.equal(errnoOut(MIPS, 122), 1133); // EDQUOT
    assert.equal(errnoOut(MIPS, 22), 22);
    assert.equal(errnoOut(MIPS, 524), 524); // kernel-internal ENOTSUPP does not move
  });

  it('machines and Debian architectures', () => {
    assert.equal(abiForMachine('mips64').name, 'mips64el');
    assert.equal(abiForMachine('aarch64').name, 'aarch64');
    assert.equal(abiForMachine(null).name, 'x86_64');
    assert.throws(() => abiForMachine('ppc64le'), /unknown machine "ppc64le".*x86_64/);
    assert.equal(abiByName('arm64').name, 'aarch64');
    assert.throws(() => abiByName('sparc'), /unknown ABI "sparc"/);
    assert.equal(machineForDebianArch('mips64el'), 'mips64');
    assert.equal(machineForDebianArch('arm64'), 'aarch64');
    assert.deepEqual(callerAbis('x86_64').map((a) => a.name), ['x86_64', 'i386']);
    assert.deepEqual(callerAbis('aarch64').map((a) => a.name), ['aarch64']);
  });
});

describe('abi/names per ABI: as strace prints them there', () => {
  it('mips: SOCK_STREAM is 2, SOCK_NONBLOCK 0x80, errno names by MIPS numbers', () => {
    assert.equal(typeName(2, MIPS), 'SOCK_STREAM');
    assert.equal(typeName(1 | 0x80, MIPS), 'SOCK_DGRAM|SOCK_NONBLOCK');
    assert.equal(typeName(2 | 0x800, MIPS), 'SOCK_STREAM|0x800');
    assert.equal(parseType('SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC', MIPS), 2 | 0x80 | 0x80000);
    assert.equal(callName(2, 2, 6, MIPS), 'socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)');
    assert.equal(errnoName(124, MIPS), 'EAFNOSUPPORT');
    assert.equal(errnoName(97, MIPS), 'EMSGSIZE');
    assert.equal(errnoName(1133, MIPS), 'EDQUOT');
    assert.equal(errnoFromName('EAFNOSUPPORT', MIPS), 124);
    assert.equal(errnoFromName('ENOTSUP', MIPS), 122);
    assert.equal(resultText({ errno: 124 }, MIPS), '= -1 EAFNOSUPPORT (Address family not supported)');
    // Without an ABI: the generic numbers, as before.
    assert.equal(typeName(2), 'SOCK_DGRAM');
    assert.equal(errnoName(97), 'EAFNOSUPPORT');
  });
});

// ---------------------------------------------------------------------------

function relabel(p: HostProfile, machine: string): HostProfile {
  const q = JSON.parse(JSON.stringify(p)) as HostProfile;
  q.kernel.machine = { value: machine, source: 'test: relabelled' };
  return q;
}

/** The generic-number prediction moved into `abi`'s numbers, as the entry does. */
function moved(abi: Abi, p: Prediction): { errno?: number; fd?: number; soType?: number; fdinfoFlags?: number; protoName?: string } {
  if (p.result.errno !== undefined) return { errno: errnoOut(abi, p.result.errno) };
  return { fd: p.result.fd, soType: sockTypeOut(abi, p.facts!.soType), fdinfoFlags: fileFlagsOut(abi, p.facts!.fdinfoFlags), protoName: p.facts!.protoName };
}
function plain(p: Prediction): ReturnType<typeof moved> {
  if (p.result.errno !== undefined) return { errno: p.result.errno };
  return { fd: p.result.fd, soType: p.facts!.soType, fdinfoFlags: p.facts!.fdinfoFlags, protoName: p.facts!.protoName };
}

describe('the model on a mips64el kernel: one logic, other numbers', () => {
  const mips = load('debian-6.1-mips64el-5kc-malta.json');

  it('socket(AF_INET, SOCK_STREAM=2, 0) is TCP with SO_TYPE 2; 0x80 is SOCK_NONBLOCK; 0x800 is EINVAL; errnos by MIPS numbers', () => {
    const m = new KernelModel(mips, { trace: true });
    const tcp = m.predict({ domain: 2, type: 2, protocol: 0 });
    assert.equal(tcp.result.fd, 3);
    assert.equal(tcp.facts?.protoName, 'TCP');
    assert.equal(tcp.facts?.soType, 2);
    const udp = m.predict({ domain: 2, type: 1 | 0x80, protocol: 0 });
    assert.equal(udp.facts?.protoName, 'UDP');
    assert.equal(udp.facts?.soType, 1);
    assert.equal(udp.facts?.nonblock, true);
    assert.equal(udp.facts?.fdinfoFlags, 0o2 | 0x80);
    assert.equal(m.predict({ domain: 2, type: 2 | 0x800, protocol: 0 }).result.errno, 22);
    const af = m.predict({ domain: 99, type: 2, protocol: 0 });
    assert.equal(af.result.errno, 124);
    assert.equal(af.trace[af.deciding].errno, 124, 'the deciding step carries the caller\'s errno');
    assert.equal(m.predict({ domain: 2, type: 2, protocol: 17 }).result.errno, 120); // EPROTONOSUPPORT
    assert.equal(m.predict({ domain: 1, type: 6, protocol: 0 }).result.errno, 121); // ESOCKTNOSUPPORT
  });

  it('request_module asks for "-type-T" in the kernel\'s own numbers: on mips SOCK_DGRAM is type-1, so l2tp_ip\'s literal type-2 alias answers SOCK_STREAM', () => {
    const m = new KernelModel(mips, { trace: true });
    const stream = m.predict({ domain: 2, type: 2, protocol: 115 });
    const req = stream.trace.filter((s) => s.module).map((s) => `${s.module!.request} -> ${s.module!.loaded}`);
    assert.equal(req[0], 'net-pf-2-proto-115-type-2 -> l2tp_ip');
    assert.equal(stream.result.errno, 120, 'l2tp_ip registers a SOCK_DGRAM protocol only');
    const m2 = new KernelModel(mips, { trace: true });
    const dgram = m2.predict({ domain: 2, type: 1, protocol: 115 });
    assert.deepEqual(dgram.trace.filter((s) => s.module).map((s) => s.module!.request), ['net-pf-2-proto-115-type-1', 'net-pf-2-proto-115']);
    assert.equal(dgram.facts?.protoName, 'L2TP/IP');
  });

  it('every case of a 20,000-case sample equals the x86-64 prediction of the same kernel facts, numbers moved (l2tp aside)', () => {
    const onMips = new KernelModel(mips, { trace: false });
    const onX86 = new KernelModel(relabel(mips, 'x86_64'), { trace: false });
    let s = 7;
    const rnd = (n: number) => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s % n; };
    const protos = [0, 1, 2, 3, 4, 5, 6, 17, 33, 58, 132, 136, 255, 256, 262, 768, -1];
    let compared = 0;
    for (let i = 0; i < 20000; i++) {
      const g: SocketCase = { domain: rnd(49), type: rnd(16) | [0, 0o4000, 0o2000000, 0x40][rnd(4)], protocol: protos[rnd(protos.length)] };
      if (g.protocol === 115) continue;
      const a = onMips.predict({ ...g, type: typeOut(MIPS, g.type) });
      const b = onX86.predict(g);
      assert.deepEqual(plain(a), moved(MIPS, b), callName(g.domain, g.type, g.protocol));
      compared++;
    }
    assert.ok(compared > 19000);
  });
});

describe('entries: socket(2), socketcall(2) and the ia32 compat entry', () => {
  const host = load('live-host.json');
  const i386 = ABIS.i386;

  it('an i386 caller on an x86-64 kernel: both routes reach the same __sys_socket', () => {
    const viaSocket = new KernelModel(host, { trace: true, entry: { abi: i386, route: 'socket' } }).predict({ domain: 2, type: 1, protocol: 0 });
    const viaCall = new KernelModel(host, { trace: true, entry: { abi: i386, route: 'socketcall' } }).predict({ domain: 2, type: 1, protocol: 0 });
    const native = new KernelModel(host, { trace: true }).predict({ domain: 2, type: 1, protocol: 0 });
    assert.equal(viaSocket.trace[0].fn, '__ia32_sys_socket');
    assert.equal(viaCall.trace[0].fn, '__ia32_compat_sys_socketcall');
    assert.equal(native.trace[0].fn, '__x64_sys_socket');
    assert.deepEqual(viaSocket.result, native.result);
    assert.deepEqual(viaCall.result, native.result);
    assert.deepEqual(viaCall.facts, native.facts);
  });

  it('socketcall\'s own failures: a call number outside 1..20 is EINVAL, an unreadable argument block EFAULT, before __sys_socket', () => {
    const c = { domain: 2, type: 1, protocol: 0 };
    for (const call of [0, -1, 21, 2147483647, -2147483648]) {
      const p = new KernelModel(host, { trace: true, entry: { abi: i386, route: 'socketcall', call } }).predict(c);
      assert.equal(p.result.errno, 22, `call ${call}`);
      assert.equal(p.trace[p.deciding].fn, '__ia32_compat_sys_socketcall');
      assert.ok(!p.trace.some((s) => s.fn === '__sys_socket'));
    }
    const f = new KernelModel(host, { trace: true, entry: { abi: i386, route: 'socketcall', call: SYS_SOCKET, argsReadable: false } }).predict(c);
    assert.equal(f.result.errno, 14);
    // Untraced, the same answers.
    assert.equal(new KernelModel(host, { trace: false, entry: { abi: i386, route: 'socketcall', call: 0 } }).predict(c).result.errno, 22);
    assert.equal(new KernelModel(host, { trace: false, entry: { abi: i386, route: 'socketcall', argsReadable: false } }).predict(c).result.errno, 14);
  });

  it('entries that do not exist are refused, naming why', () => {
    assert.throws(() => new KernelModel(host, { entry: { abi: i386, route: 'socketcall', call: 2 } }), /call 2 is not SYS_SOCKET/);
    assert.throws(() => new KernelModel(host, { entry: { abi: ABIS.x86_64, route: 'socketcall' } }), /x86_64 ABI has no socketcall/);
    assert.throws(() => new KernelModel(load('debian-6.1-arm64-generic.json'), { entry: { abi: i386, route: 'socket' } }), /i386 caller cannot run on a aarch64 kernel/);
    const noCompat = JSON.parse(JSON.stringify(load('debian-6.1-generic.json'))) as HostProfile;
    delete noCompat.kernel.config.value!.CONFIG_IA32_EMULATION;
    assert.throws(() => new KernelModel(noCompat, { entry: { abi: i386, route: 'socket' } }), /CONFIG_IA32_EMULATION/);
    assert.throws(() => new KernelModel(relabel(host, 'sparc64')), /unknown machine "sparc64"/);
  });
});
