/**
 * OCI seccomp profiles and RestrictAddressFamilies= turned into filters (libseccomp, as runc and
 * systemd do), then installed for real in child processes and compared with the model, case by
 * case; the bad profiles a user can hand over; the argument-width question.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { KernelModel } from '../lib/kernel';
import { gatherHostProfile } from '../lib/host';
import { native } from '../lib/native';
import { compilePolicies, withFilters, parseOciProfile, ociFilter, capsOfMask } from '../lib/host/seccomp';
import type { HostProfile, SeccompFilterInfo, SocketResult } from '../lib/types';

const ROOT = path.resolve(__dirname, '..', '..');
const FIX = path.join(ROOT, 'test', 'fixtures', 'seccomp');
const BIN = path.join(ROOT, 'bin', 'sockbridge.js');
const PODMAN_PROFILE = '/usr/share/containers/seccomp.json';
const PODMAN_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT'];

function libseccomp(ctx: Mocha.Context): void {
  const lib = native().seccompLibrary();
  if (lib.error !== undefined) ctx.skip();
}

function cli(args: string[]): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/** Socket argument registers worth asking: every family, usual types and protocols, high bits. */
function cases(): bigint[][] {
  const out: bigint[][] = [];
  for (let f = -1; f <= 47; f++) {
    for (const [t, p] of [[1, 0], [2, 0], [3, 9], [3, 0], [5, 0], [0x80001, 0]]) out.push([BigInt.asUintN(64, BigInt(f)) & 0xffffffffn, BigInt(t), BigInt(p)]);
  }
  // NETLINK_AUDIT and friends.
  for (const p of [0, 9, 15, 16]) out.push([16n, 3n, BigInt(p)]);
  // Argument width: high bits above the family the kernel will use.
  for (const f of [2n, 16n, 38n, 39n, 40n]) for (const hi of [1n, 0xffffffffn]) out.push([(hi << 32n) | f, 1n, 0n]);
  out.push([16n, 3n, (1n << 32n) | 9n]);
  return out;
}

function modelResult(m: KernelModel, a: bigint[]): SocketResult {
  const i32 = (v: bigint) => Number(BigInt.asIntN(32, v));
  const p = m.predict({ domain: i32(a[0]), type: i32(a[1]), protocol: i32(a[2]), raw: a.map((x) => '0x' + x.toString(16)) as [string, string, string] });
  return p.facts ? { fd: 1 } : p.result;
}

/** Install `filters` in a child, make every call, and compare with the model, case by case. */
function modelEqualsKernel(profile: HostProfile, filters: SeccompFilterInfo[]): { cases: number; refused: number } {
  const cs = cases();
  const args = new BigUint64Array(cs.flat());
  const t = native().seccompTrial(filters.map((f) => new Uint32Array(f.insns.flat())), args);
  assert.strictEqual(t.installErr, 0, 'the kernel accepts the compiled filters');
  const m = new KernelModel(withFilters(profile, filters, 'test'), { trace: false });
  const bad: string[] = [];
  let refused = 0;
  cs.forEach((a, i) => {
    const k: SocketResult = t.signal[i] ? { signal: t.signal[i], fatal: t.fatal[i] === 1 } : t.ret[i] < 0 ? { errno: -t.ret[i] } : { fd: t.ret[i] === 0 ? 0 : 1 };
    const mm = modelResult(m, a);
    if (JSON.stringify(k) !== JSON.stringify(mm)) bad.push(`socket(${a.map((x) => '0x' + x.toString(16)).join(', ')}): kernel ${JSON.stringify(k)}, model ${JSON.stringify(mm)}`);
    if (k.errno === 1 || k.errno === 22 || k.errno === 38 || (k.errno === 97 && filters[0].name.startsWith('Restrict'))) refused++;
  });
  assert.deepStrictEqual(bad.slice(0, 5), [], `${bad.length} of ${cs.length} cases disagree`);
  return { cases: cs.length, refused };
}

describe('seccomp profiles: compiled as runc and systemd do, installed live, model against kernel', function () {
  this.timeout(120000);
  let profile: HostProfile;
  before(function () {
    libseccomp(this);
    if (process.geteuid?.() !== 0) this.skip();
    profile = gatherHostProfile();
  });

  for (const name of ['docker-20.10.json', 'docker-24.json', 'docker-29.json', 'containerd.json']) {
    it(`${name}: every case agrees`, () => {
      const c = compilePolicies(profile, { seccomp: [path.join(FIX, name)] });
      assert.strictEqual(c.filters.length, 1);
      const r = modelEqualsKernel(profile, c.filters);
      assert.ok(r.cases > 300);
    });
  }

  it('Podman\'s default profile as Debian installs it, with Podman\'s default capabilities (no CAP_AUDIT_WRITE): NETLINK_AUDIT is EINVAL', function () {
    if (!fs.existsSync(PODMAN_PROFILE)) this.skip(); // golang-github-containers-common not installed (.ci/run installs it)
    const c = compilePolicies(profile, { seccomp: [PODMAN_PROFILE], caps: PODMAN_CAPS });
    modelEqualsKernel(profile, c.filters);
    const m = new KernelModel(withFilters(profile, c.filters, 'test'), { trace: true });
    const p = m.predict({ domain: 16, type: 3, protocol: 9 });
    assert.strictEqual(p.result.errno, 22);
    assert.match(p.seccomp!.rule, /EINVAL/);
    // With CAP_AUDIT_WRITE held the rule is excluded and socket is allowed unconditionally.
    const all = compilePolicies(profile, { seccomp: [PODMAN_PROFILE], caps: [...PODMAN_CAPS, 'CAP_AUDIT_WRITE'] });
    const m2 = new KernelModel(withFilters(profile, all.filters, 'test'), { trace: false });
    assert.notStrictEqual(m2.predict({ domain: 16, type: 3, protocol: 9 }).result.errno, 22);
    modelEqualsKernel(profile, all.filters);
  });

  for (const list of ['AF_INET+AF_UNIX', '~AF_PACKET+AF_NETLINK', 'none', 'AF_UNIX+AF_NETLINK+AF_VSOCK']) {
    it(`RestrictAddressFamilies=${list}: one filter per arch systemd filters here (x86_64, x32), every case agrees`, () => {
      const c = compilePolicies(profile, { restrictFamilies: list });
      assert.deepStrictEqual(c.filters.map((f) => f.name.replace(/.*\(/, '(')), ['(x86_64)', '(x32)']);
      const r = modelEqualsKernel(profile, c.filters);
      assert.ok(r.refused > 0, 'some family is refused');
    });
  }

  it('the untraced fast path (programs continued from their per-syscall prefix) gives what the full interpreter gives', () => {
    const c = compilePolicies(profile, { seccomp: [path.join(FIX, 'docker-29.json')], restrictFamilies: '~AF_PACKET' });
    const prof = withFilters(profile, c.filters, 'test');
    const fast = new KernelModel(prof, { trace: false });
    const full = new KernelModel(prof, { trace: true });
    let n = 0;
    for (let f = -2; f < 48; f++) for (const t of [1, 2, 3, 5, 10, 0x80001, -1]) for (const pr of [0, 1, 6, 9, 17, 255, -1]) {
      const a = fast.predict({ domain: f, type: t, protocol: pr }).result;
      const b = full.predict({ domain: f, type: t, protocol: pr }).result;
      assert.deepStrictEqual(a, b, `socket(${f}, ${t}, ${pr})`);
      n++;
    }
    assert.ok(n > 2000);
  });

  it('explain AF_VSOCK SOCK_STREAM 0 --seccomp docker-29.json names the deciding rule and EPERM', () => {
    const r = cli(['explain', 'AF_VSOCK', 'SOCK_STREAM', '0', '--seccomp', path.join(FIX, 'docker-29.json'), '--no-kernel', '--no-color']);
    assert.strictEqual(r.status, 0, r.err);
    assert.match(r.out, /EPERM/);
    assert.match(r.out, /socket: arg0 \(40\) matches none of LT 38, EQ 39, GT 40 -> default action ERRNO\(EPERM\)/);
  });

  it('the published profiles\' family blocks do not hold for a register with high bits: 0x1_00000028 passes GT 40 and NE 40, and socket() makes AF_VSOCK', function () {
    // The kernel decides: the trial calls syscall(SYS_socket, 0x100000028, SOCK_STREAM, 0).
    for (const name of ['docker-24.json', 'docker-29.json', 'containerd.json']) {
      const c = compilePolicies(profile, { seccomp: [path.join(FIX, name)] });
      const t = native().seccompTrial(c.filters.map((f) => new Uint32Array(f.insns.flat())), new BigUint64Array([40n, 1n, 0n, 0x100000028n, 1n, 0n]));
      assert.strictEqual(t.ret[0], -1, `${name}: AF_VSOCK is EPERM`);
      const m = new KernelModel(withFilters(profile, c.filters, 'test'), { trace: true });
      const p = m.predict({ domain: 40, type: 1, protocol: 0, raw: ['0x100000028', '1', '0'] });
      if (t.ret[1] >= 0) assert.ok(p.facts, `${name}: the model also lets 0x100000028 through`);
      else assert.strictEqual(p.result.errno, -t.ret[1], name);
    }
    // systemd's allow list refuses it: arg0 > last.
    const s = compilePolicies(profile, { restrictFamilies: 'AF_INET+AF_UNIX+AF_VSOCK' });
    const m = new KernelModel(withFilters(profile, s.filters, 'test'), { trace: false });
    assert.strictEqual(m.predict({ domain: 2, type: 1, protocol: 0, raw: ['0x100000002', '1', '0'] }).result.errno, 97);
  });
});

describe('seccomp: filters the process cannot read', function () {
  this.timeout(60000);
  it('compare in a process that runs a filter says UNSUPPORTED and why (the kernel refuses PTRACE_SECCOMP_GET_FILTER to a filtered reader)', function () {
    if (native().seccompLibrary().error !== undefined) this.skip();
    // A child installs an allow-everything filter in itself, then runs the CLI's compare.
    const script = `const n = require(${JSON.stringify(path.join(ROOT, 'dist', 'lib', 'native.js'))}).native();
      if (n.seccompInstall(new Uint32Array([6, 0, 0, 0x7fff0000])) !== 0) process.exit(99);
      require(${JSON.stringify(path.join(ROOT, 'dist', 'lib', 'cli', 'main.js'))}).main(['compare', 'AF_INET', 'SOCK_STREAM', '0', '--no-color']).then((c) => { process.exitCode = c; });`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.notStrictEqual(r.status, 99, 'the filter was installed');
    assert.match(r.stdout, /UNSUPPORTED/, r.stdout + r.stderr);
    assert.match(r.stdout, /1 seccomp filter in force whose programs cannot be read/);
    if (process.geteuid?.() === 0) assert.match(r.stdout, /EACCES/);
  });
});

describe('seccomp profiles: bad input is exit 2 naming the file and the field', function () {
  this.timeout(60000);
  let dir: string;
  before(function () {
    libseccomp(this);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-seccomp-'));
  });
  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  const base = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] }] };
  const bad: Array<[string, string, RegExp]> = [
    ['not JSON', '{"defaultAction": ', /\(file\): not valid JSON/],
    ['unknown default action', JSON.stringify({ ...base, defaultAction: 'SCMP_ACT_DENY' }), /defaultAction: unknown action "SCMP_ACT_DENY"/],
    ['unknown rule action', JSON.stringify({ ...base, syscalls: [{ ...base.syscalls[0], action: 'ALLOW' }] }), /syscalls\[0\]\.action: unknown action "ALLOW"/],
    ['unknown op', JSON.stringify({ ...base, syscalls: [{ ...base.syscalls[0], args: [{ index: 0, value: 40, op: 'SCMP_CMP_NEQ' }] }] }), /syscalls\[0\]\.args\[0\]\.op: unknown operator "SCMP_CMP_NEQ"/],
    ['unknown syscall name', JSON.stringify({ ...base, syscalls: [{ ...base.syscalls[0], names: ['sockett'] }] }), /syscalls\[0\]\.names\[0\]: unknown syscall name "sockett".*did you mean socket/],
    ['arg index 6', JSON.stringify({ ...base, syscalls: [{ ...base.syscalls[0], args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }] }), /syscalls\[0\]\.args\[0\]\.index: must be an argument index 0\.\.5/],
    ['valueTwo with EQ', JSON.stringify({ ...base, syscalls: [{ ...base.syscalls[0], args: [{ index: 0, value: 1, valueTwo: 3, op: 'SCMP_CMP_EQ' }] }] }), /syscalls\[0\]\.args\[0\]\.valueTwo: SCMP_CMP_EQ compares with value only/],
    ['unknown arch', JSON.stringify({ ...base, archMap: [{ architecture: 'SCMP_ARCH_Z80', subArchitectures: [] }] }), /archMap\[0\]\.architecture: unknown architecture "SCMP_ARCH_Z80"/],
  ];
  for (const [what, text, re] of bad) {
    it(`${what}`, () => {
      const f = path.join(dir, `${what.replace(/\W+/g, '-')}.json`);
      fs.writeFileSync(f, text);
      for (const args of [['explain', 'AF_INET', 'SOCK_STREAM', '--no-kernel'], ['sweep', '--random', '5']]) {
        const r = cli([...args, '--seccomp', f]);
        assert.strictEqual(r.status, 2, `${args[0]}: ${r.err}`);
        assert.ok(r.err.includes(f), `names the file: ${r.err}`);
        assert.match(r.err, re);
      }
    });
  }

  it('a missing file is exit 2 naming it; a bad RestrictAddressFamilies= name is exit 2', () => {
    let r = cli(['explain', 'AF_INET', 'SOCK_STREAM', '--no-kernel', '--seccomp', path.join(dir, 'nope.json')]);
    assert.strictEqual(r.status, 2);
    assert.match(r.err, /nope\.json: \(file\): cannot read it \(ENOENT\)/);
    r = cli(['explain', 'AF_INET', 'SOCK_STREAM', '--no-kernel', '--restrict-address-families', 'AF_INET+AF_BOGUS']);
    assert.strictEqual(r.status, 2);
    assert.match(r.err, /"AF_BOGUS" is not an address family systemd accepts/);
    r = cli(['sweep', '--variants', 'restrict-af:AF_UNSPEC', '--random', '3']);
    assert.strictEqual(r.status, 2, r.err);
  });

  it('an architecture the profile does not cover is said', () => {
    const p = parseOciProfile(JSON.stringify({ ...base, archMap: [{ architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] }] }), 'arm-only.json');
    const c = ociFilter(p, { machine: 'x86_64', release: '6.18.0', caps: capsOfMask('000001ffffffffff') });
    assert.ok(c.notes.some((n) => /archMap has no entry for SCMP_ARCH_X86_64/.test(n)), c.notes.join('\n'));
    assert.ok(c.notes.some((n) => /does not cover SCMP_ARCH_X86: a 32-bit \(i386\) call is killed/.test(n)), c.notes.join('\n'));
  });
});
