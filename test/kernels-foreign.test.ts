/**
 * The pure parts of the foreign-architecture guests (scripts/kernels/{guest-arch,snapshot,
 * static-guest}.ts): the kernel list, qemu's arguments per architecture, the cases in the ABI's
 * numbers, and the profile a guest's file snapshot gives. Booting them is `npm run test:kernels`.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KNOWN_KERNELS, kernelVersionOf, packageName, flavourName } from '../scripts/kernels/apt';
import { GUEST_ARCHES, guestArch } from '../scripts/kernels/guest-arch';
import { qemuArgs } from '../scripts/kernels/qemu';
import { parseSnapshot, pathsToCopy, profileFromSnapshot, SNAPSHOT_SH } from '../scripts/kernels/snapshot';
import { casesFor, FOREIGN_MATRIX, replay, staticJobs } from '../scripts/kernels/static-guest';
import { gatherHostProfile } from '../lib/host';
import { parseProbeOutput } from '../lib/static-probe/run';

const spec = (id: string) => KNOWN_KERNELS.find((k) => k.id === id)!;

describe('kernels: other architectures', () => {
  it('knows arm64 generic and cloud and mips64el 5kc-malta, with their package names', () => {
    assert.equal(packageName(spec('debian-6.1-arm64-cloud'), '6.1.0-57'), 'linux-image-6.1.0-57-cloud-arm64-unsigned');
    assert.equal(packageName(spec('debian-6.1-arm64-generic'), '6.1.0-57'), 'linux-image-6.1.0-57-arm64-unsigned');
    const mips = spec('debian-6.1-mips64el-5kc-malta');
    assert.equal(packageName(mips, '6.1.0-50'), 'linux-image-6.1.0-50-5kc-malta');
    assert.equal(kernelVersionOf(mips, 'linux-image-6.1.0-50-5kc-malta'), '6.1.0-50');
    assert.equal(kernelVersionOf(mips, 'linux-image-6.1.0-50-5kc-malta-dbg'), null);
    assert.equal(kernelVersionOf(spec('debian-6.1-arm64-cloud'), 'linux-image-6.1.0-57-arm64-unsigned'), null);
    assert.equal(flavourName(mips), '5kc-malta');
    for (const k of KNOWN_KERNELS) assert.ok(guestArch(k.arch), k.id);
  });

  it('boots arm64 on virt with -cpu max and mips64el on malta with one CPU, console and frames on one line', () => {
    const base = { vmlinuz: 'k', initrd: 'i', accel: 'tcg' as const, cpus: 2, memoryMb: 512, timeoutMs: 1, consoleLog: '/tmp/c' };
    const arm = qemuArgs({ ...base, arch: GUEST_ARCHES.arm64 }).join(' ');
    assert.match(arm, /-M virt -accel tcg -cpu max/);
    assert.match(arm, /console=ttyAMA0 .*sockbridge\.data=ttyAMA0/);
    assert.match(arm, /-serial stdio$/);
    assert.doesNotMatch(arm, /file:/);
    const mips = qemuArgs({ ...base, arch: GUEST_ARCHES.mips64el }).join(' ');
    assert.match(mips, /-M malta -accel tcg -cpu 5KEc/);
    assert.match(mips, /-smp 1 /);
    const x86 = qemuArgs(base).join(' ');
    assert.match(x86, /sockbridge\.data=ttyS1/);
    assert.match(x86, /-serial file:\/tmp\/c -serial stdio/);
  });

  it('sends the foreign matrix in the ABI\'s numbers: the same cases, SOCK_STREAM as 2 on mips', () => {
    const x = casesFor(FOREIGN_MATRIX, 'aarch64');
    const m = casesFor(FOREIGN_MATRIX, 'mips64el');
    assert.equal(x.length, 49 * 12 * 3 * 2);
    assert.equal(m.length, x.length);
    const i = x.findIndex((c) => c.domain === 2 && c.type === 1 && c.protocol === 6);
    assert.deepEqual(m[i], { domain: 2, type: 2, protocol: 6 });
    const nb = x.findIndex((c) => c.domain === 2 && c.type === (2 | 0o4000 | 0o2000000));
    assert.equal(m[nb].type, 1 | 0x80 | 0o2000000);
    assert.deepEqual(staticJobs().map((j) => `${j.name}:${j.who}`).slice(0, 4), ['snapshot-root:root', 'probe-root:root', 'snapshot-user:user', 'probe-user:user']);
  });

  it('a snapshot taken by snapshot.sh with busybox gives this host\'s own profile back', function () {
    if (!fs.existsSync('/bin/busybox')) {
      this.test!.title += ' (pending: /bin/busybox is not installed, Debian package busybox-static)';
      this.skip();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-snap-'));
    try {
      fs.writeFileSync(path.join(dir, 'snapshot.sh'), SNAPSHOT_SH);
      const list = pathsToCopy();
      assert.ok(list.some(([op, p]) => op === 'f' && p === '/lib/modules/@REL@/modules.alias'));
      assert.ok(list.some(([op, p]) => op === 't' && p === '/proc/self/fd'));
      const r = spawnSync('/bin/busybox', ['sh', path.join(dir, 'snapshot.sh')], { input: list.map(([op, p]) => `${op} ${p}\n`).join(''), encoding: 'latin1', maxBuffer: 64 << 20 });
      assert.equal(r.status, 0, r.stderr);
      const snap = parseSnapshot(r.stdout);
      assert.ok(snap.files.has('/proc/self/status'));
      const fromFiles = profileFromSnapshot(r.stdout, 'test');
      const live = gatherHostProfile({ sys: null });
      for (const [k, a, b] of [
        ['release', fromFiles.kernel.release.value, live.kernel.release.value],
        ['machine', fromFiles.kernel.machine.value, live.kernel.machine.value],
        ['euid', fromFiles.creds.euid.value, live.creds.euid.value],
        ['capEffective', fromFiles.creds.capEffective.value, live.creds.capEffective.value],
        ['nofileSoft', fromFiles.limits.nofileSoft.value, live.limits.nofileSoft.value],
        ['families', JSON.stringify(fromFiles.net.families.value), JSON.stringify(live.net.families.value)],
        ['protocols', JSON.stringify(fromFiles.net.protocols.value), JSON.stringify(live.net.protocols.value)],
        ['lsms', JSON.stringify(fromFiles.security.lsms.value), JSON.stringify(live.security.lsms.value)],
      ] as const) assert.equal(a, b, String(k));
      assert.deepEqual(fromFiles.limits.openFds.value, [0, 1, 2]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replays a probe run through the model and aligns it in the ABI\'s numbers (a mips run, written by hand)', () => {
    const mips = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'test', 'fixtures', 'profiles', 'debian-6.1-mips64el-5kc-malta.json'), 'utf8'));
    const header = { kind: 'probe', schema: 'sockbridge.probe/1', abi: 'mips64el', route: 'socket', machine: 'mips64', release: '6.1.0-50-5kc-malta', pid: 1, ids: { uid: 0, euid: 0, gid: 0, egid: 0 }, consts: {}, batch: 16 };
    const lines = [
      header,
      { kind: 'batch', batch: 0, first: 0, count: 2, openFds: [0, 1, 2] },
      { kind: 'case', i: 0, case: { domain: 99, type: 2, protocol: 0 }, errno: 124, fd: -1 },
      { kind: 'case', i: 1, case: { domain: 1, type: 2 | 0x80, protocol: 0 }, errno: 0, fd: 3, link: 'socket:[77]', fdinfo: 'pos:\t0\nflags:\t0202\nmnt_id:\t8\nino:\t77\n', stat: { mode: 0o140777, uid: 0, gid: 0, ino: 77 }, fdFlags: 0, flFlags: 0x82, soDomain: 1, soType: 2, soProtocol: 0, protoName: 'UNIX-STREAM' },
      { kind: 'procnet', batch: 0, table: 'unix', header: 'Num       RefCount Protocol Flags    Type St Inode Path', lines: ['0000000000000000: 00000002 00000000 00000000 0002 01    77'] },
      { kind: 'closed', batch: 0, fds: 1, errors: [] },
      { kind: 'end', cases: 2, batches: 1 },
    ];
    const run = parseProbeOutput(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const r = replay(mips, run, 'test');
    assert.equal(r.agreement.cases, 2);
    assert.deepEqual(r.bad, []);
    assert.equal(r.agreement.match, 2);
    // The same observation with x86 numbers is a mismatch on a mips kernel.
    const wrong = parseProbeOutput(lines.map((l) => JSON.stringify(l)).join('\n').replace('"errno":124', '"errno":97') + '\n');
    assert.match(replay(mips, wrong, 'test').bad[0], /result: model "EAFNOSUPPORT", kernel "EMSGSIZE"/);
  });
});

describe('kernels: the 32-bit entries inside the x86-64 guests', () => {
  it('the amd64 guests run the i386 probe last, both routes, with modprobe emptied and a profile taken right then', async () => {
    const { guestJobs, ia32Jobs, SWEEP_MATRIX } = await import('../scripts/kernels/jobs');
    const jobs = guestJobs(true, SWEEP_MATRIX, true);
    assert.deepEqual(jobs.slice(-3).map((j) => j.name), ['profile-ia32', 'ia32-socket', 'ia32-socketcall']);
    assert.deepEqual(guestJobs(true, SWEEP_MATRIX).map((j) => j.name).filter((n) => n.includes('ia32')), []);
    const [profile, socket, socketcall] = ia32Jobs();
    assert.match(profile.cmd, /^echo > \/proc\/sys\/kernel\/modprobe && /);
    assert.doesNotMatch(socket.cmd, /--route/);
    assert.match(socketcall.cmd, /--route socketcall/);
  });

  it('this host\'s sweep variants ia32 and ia32-socketcall say why they cannot run here, never pass silently', async () => {
    const { variantByName } = await import('../lib/sweep/variants');
    for (const name of ['ia32', 'ia32-socketcall']) {
      const why = variantByName(name)!.unavailable();
      assert.equal(typeof why, 'string', name);
      assert.match(why!, /ENOEXEC|not built|does not run|worker/);
    }
  });
});
