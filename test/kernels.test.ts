/**
 * The pure parts of the other-kernels runner (scripts/kernels/): the serial framing, the module
 * selection, the jsonl-to-observation reading and the report. Booting kernels is
 * `npm run test:kernels`, not this suite.
 */
import * as assert from 'assert';
import * as zlib from 'zlib';
import { FrameParser, parseGuestOutput } from '../scripts/kernels/frames';
import { guestLoads, moduleCompression, moduleName, parseModulesAlias, parseModulesDep, selectModules, SOCKET_ALIAS } from '../scripts/kernels/initramfs';
import { qemuArgs } from '../scripts/kernels/qemu';
import * as path from 'path';
import * as fs from 'fs';
import { liveAgreement, loadGuestProfile, loadModelLib, observationFromRecord, offlineAgreement, parseSweepJsonl, type CaseRecord } from '../scripts/kernels/offline';
import { renderHtml, renderText, type KernelOutcome } from '../scripts/kernels/summary';
import { frameFile, frameOfFile, guestJobs, SWEEP_MATRIX } from '../scripts/kernels/jobs';
import { compareKernelVersions, defaultKernels, kernelVersionOf, packageName, KNOWN_KERNELS, retargetSources } from '../scripts/kernels/apt';

/** A frame exactly as init.sh writes it: gzip, base64 in 76 columns, byte count. */
function frame(name: string, data: string): string {
  const b64 = zlib.gzipSync(Buffer.from(data)).toString('base64').replace(/.{76}/g, '$&\n');
  return `@@SOCKBRIDGE ${name} BEGIN\n${b64}\n@@SOCKBRIDGE ${name} END ${Buffer.byteLength(data)}\n`;
}

describe('kernels: serial framing', () => {
  it('decodes frames, job ends, READY and DONE', () => {
    const text = '@@SOCKBRIDGE READY 6.1.0-56-amd64 8.53 1\n' + frame('a.out', 'hello\n'.repeat(100)) +
      frame('a.err', '') + '@@SOCKBRIDGE a RC 0 8.60 9.10\n@@SOCKBRIDGE DONE\n';
    const g = parseGuestOutput(text);
    assert.deepStrictEqual(g.ready, { release: '6.1.0-56-amd64', uptime: 8.53, cpus: 1 });
    assert.strictEqual(g.frames.get('a.out')!.toString(), 'hello\n'.repeat(100));
    assert.strictEqual(g.frames.get('a.err')!.length, 0);
    assert.deepStrictEqual(g.jobs.get('a'), { rc: 0, start: 8.6, end: 9.1 });
    assert.strictEqual(g.done, true);
    assert.strictEqual(g.broken.size, 0);
  });

  it('gives the same result whatever the chunking, CRLF line ends included', () => {
    const text = (frame('x', 'é∂ data '.repeat(500)) + '@@SOCKBRIDGE x RC 1 1 2\n').replace(/\n/g, '\r\n');
    const p = new FrameParser();
    for (let i = 0; i < text.length; i += 7) p.push(text.slice(i, i + 7));
    const g = p.end();
    assert.strictEqual(g.frames.get('x')!.toString(), 'é∂ data '.repeat(500));
    assert.strictEqual(g.jobs.get('x')!.rc, 1);
  });

  it('reports a frame cut off by the end of the stream, and one with a wrong length', () => {
    const whole = frame('cut', 'abc'.repeat(1000));
    const g = parseGuestOutput(whole.slice(0, whole.length / 2));
    assert.ok(!g.frames.has('cut'));
    assert.match(g.broken.get('cut')!, /ended inside the frame/);
    const g2 = parseGuestOutput(frame('len', 'abc').replace(/END 3/, 'END 4'));
    assert.match(g2.broken.get('len')!, /decoded 3 bytes, the guest sent 4/);
    assert.strictEqual(parseGuestOutput('').done, false);
  });

  it('ignores console noise outside frames', () => {
    const g = parseGuestOutput(`[    1.0] random kernel line\n${frame('n', 'x')}garbage\n`);
    assert.strictEqual(g.frames.get('n')!.toString(), 'x');
  });
});

describe('kernels: module selection', () => {
  const dep = parseModulesDep([
    'kernel/net/appletalk/appletalk.ko: kernel/net/802/psnap.ko kernel/net/llc/llc.ko',
    'kernel/net/802/psnap.ko: kernel/net/llc/llc.ko',
    'kernel/net/llc/llc.ko:',
    'kernel/drivers/net/ppp/pppoe.ko: kernel/drivers/net/ppp/pppox.ko kernel/drivers/net/ppp/ppp_generic.ko kernel/lib/crc-ccitt.ko',
    'kernel/drivers/net/ppp/pppox.ko: kernel/drivers/net/ppp/ppp_generic.ko',
    'kernel/drivers/net/ppp/ppp_generic.ko:',
    'kernel/lib/crc-ccitt.ko:',
    'kernel/drivers/gpu/drm/foo.ko:',
    'kernel/drivers/infiniband/core/ib_core.ko:',
  ].join('\n'));
  const aliases = parseModulesAlias([
    '# Aliases extracted from modules themselves.',
    'alias net-pf-5 appletalk',
    'alias net-pf-24 pppox',
    'alias net-pf-24-proto-0 pppoe',
    'alias pci:v00008086d* foo',
  ].join('\n'));

  it('parses modules.dep and modules.alias', () => {
    assert.deepStrictEqual(dep.get('kernel/net/appletalk/appletalk.ko'), ['kernel/net/802/psnap.ko', 'kernel/net/llc/llc.ko']);
    assert.deepStrictEqual(dep.get('kernel/net/llc/llc.ko'), []);
    assert.deepStrictEqual(aliases, [['net-pf-5', 'appletalk'], ['net-pf-24', 'pppox'], ['net-pf-24-proto-0', 'pppoe'], ['pci:v00008086d*', 'foo']]);
    assert.strictEqual(moduleName('kernel/lib/crc-ccitt.ko'), 'crc_ccitt');
    assert.strictEqual(moduleName('kernel/net/x/y.ko.xz'), 'y');
  });

  it('takes net/ and lib/ whole, socket-alias modules from drivers/, and their dependencies; nothing else', () => {
    const got = selectModules(dep, aliases);
    assert.deepStrictEqual(got, [
      'kernel/drivers/net/ppp/ppp_generic.ko', 'kernel/drivers/net/ppp/pppoe.ko', 'kernel/drivers/net/ppp/pppox.ko',
      'kernel/lib/crc-ccitt.ko', 'kernel/net/802/psnap.ko', 'kernel/net/appletalk/appletalk.ko', 'kernel/net/llc/llc.ko',
    ]);
  });

  it('knows the aliases socket() asks for', () => {
    for (const a of ['net-pf-5', 'net-pf-2-proto-132', 'bt-proto-0', 'can-proto-1']) assert.ok(SOCKET_ALIAS.test(a), a);
    for (const a of ['pci:v*', 'fs-ext4', 'crypto-aes']) assert.ok(!SOCKET_ALIAS.test(a), a);
  });
});

describe('kernels: guest set-up', () => {
  it('boots with no display and no network device, console and data on two serial ports', () => {
    const a = qemuArgs({ vmlinuz: '/k', initrd: '/i', accel: 'tcg', cpus: 1, memoryMb: 1024, timeoutMs: 1, consoleLog: '/c', append: 'lsm=capability' });
    assert.ok(a.includes('-nographic') && a.includes('-nodefaults'));
    assert.deepStrictEqual(a.slice(a.indexOf('-nic'), a.indexOf('-nic') + 2), ['-nic', 'none']);
    assert.deepStrictEqual(a.filter((x, i) => a[i - 1] === '-serial'), ['file:/c', 'stdio']);
    assert.match(a[a.indexOf('-append') + 1], /console=ttyS0 .*lsm=capability/);
    assert.strictEqual(a[a.indexOf('-accel') + 1], 'tcg');
  });

  it('saves profiles as .json and sweeps as .jsonl, and reads them back as the same frames', () => {
    for (const [frame, file] of [['profile-root.out', 'profile-root.json'], ['sweep-user.out', 'sweep-user.jsonl'], ['dmesg.out', 'dmesg.out'], ['sweep-root.err', 'sweep-root.err']]) {
      assert.strictEqual(frameFile(frame), file);
      assert.strictEqual(frameOfFile(file), frame);
    }
    assert.strictEqual(frameOfFile('outcome.json'), null);
    assert.strictEqual(frameOfFile('console.log'), null);
  });

  it('knows 5.10, 6.1 and 6.12, generic and cloud; boots bookworm\'s two by default', () => {
    assert.deepStrictEqual(KNOWN_KERNELS.map((k) => k.id), [
      'debian-5.10-generic', 'debian-5.10-cloud', 'debian-6.1-generic', 'debian-6.1-cloud', 'debian-6.12-generic', 'debian-6.12-cloud',
      'debian-6.1-arm64-generic', 'debian-6.1-arm64-cloud', 'debian-6.1-mips64el-5kc-malta']);
    assert.deepStrictEqual(defaultKernels().map((k) => k.id), ['debian-6.1-generic', 'debian-6.1-cloud']);
  });

  it('names the Debian packages of both naming schemes, and orders their versions', () => {
    const [k510, k510c, , , k612, k612c] = KNOWN_KERNELS;
    assert.strictEqual(packageName(k510c, '5.10.0-46'), 'linux-image-5.10.0-46-cloud-amd64-unsigned');
    assert.strictEqual(packageName(k612, '6.12.118+deb13'), 'linux-image-6.12.118+deb13-amd64-unsigned');
    assert.strictEqual(kernelVersionOf(k612c, 'linux-image-6.12.118+deb13-cloud-amd64'), '6.12.118+deb13');
    assert.strictEqual(kernelVersionOf(k510, 'linux-image-5.10.0-46-amd64-unsigned'), '5.10.0-46');
    // Another flavour, another series, debug symbols: not this spec's.
    for (const other of ['linux-image-5.10.0-46-cloud-amd64-unsigned', 'linux-image-5.10.0-46-rt-amd64-unsigned',
      'linux-image-5.10.0-46-amd64-dbg', 'linux-image-6.1.0-46-amd64']) assert.strictEqual(kernelVersionOf(k510, other), null, other);
    assert.strictEqual(kernelVersionOf(KNOWN_KERNELS[2], 'linux-image-6.12.118+deb13-amd64'), null);
    const sorted = ['6.12.90+deb13', '6.12.118+deb13', '6.12.115+deb13.1', '6.12.115+deb13'].sort(compareKernelVersions);
    assert.deepStrictEqual(sorted, ['6.12.90+deb13', '6.12.115+deb13', '6.12.115+deb13.1', '6.12.118+deb13']);
    assert.ok(compareKernelVersions('6.1.0-9', '6.1.0-50') < 0);
  });

  it('copies the machine\'s sources to another suite, changing only the suite words', () => {
    const deb822 = 'Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n' +
      'Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n';
    assert.strictEqual(retargetSources(deb822, 'bookworm', 'trixie'), deb822.replace(/bookworm/g, 'trixie'));
    assert.strictEqual(retargetSources('deb http://m.example/debian bookworm main\ndeb http://m.example/bookworm-things bookworm-backports main', 'bookworm', 'bullseye'),
      'deb http://m.example/debian bullseye main\ndeb http://m.example/bookworm-things bullseye-backports main');
  });

  it('keeps compressed modules the guest\'s modprobe reads, decompresses the others', () => {
    assert.deepStrictEqual(['a.ko', 'a.ko.xz', 'a.ko.zst', 'a.ko.gz'].map(moduleCompression), ['', 'xz', 'zst', 'gz']);
    const bb = new Set(['sh', 'unxz', 'gunzip', 'modprobe']);
    assert.strictEqual(guestLoads('xz', 'busybox', bb, ''), true);
    assert.strictEqual(guestLoads('zst', 'busybox', bb, ''), false);
    assert.strictEqual(guestLoads('xz', 'busybox', new Set(['sh']), ''), false);
    const kmod30 = 'kmod version 30\n+ZSTD +XZ -ZLIB +LIBCRYPTO -EXPERIMENTAL';
    assert.deepStrictEqual((['gz', 'xz', 'zst'] as const).map((k) => guestLoads(k, 'kmod', bb, kmod30)), [false, true, true]);
  });

  it('runs each sweep as root and as nobody, each after a profile taken by the same user', () => {
    const jobs = guestJobs(true);
    const names = jobs.map((j) => `${j.name}:${j.who}`);
    for (const v of ['root', 'user']) {
      const p = names.indexOf(`profile-${v}:${v}`);
      assert.ok(p >= 0 && names[p + 1] === `sweep-${v}:${v}`, names.join(' '));
    }
    // Calibration loads modules: it must come after the sweeps.
    assert.ok(names.indexOf('calibrate:root') > names.indexOf('sweep-user:user'));
    const sweep = jobs.find((j) => j.name === 'sweep-root')!.cmd;
    assert.ok(sweep.includes(`--domains ${SWEEP_MATRIX.domains}`) && sweep.includes('--format jsonl'));
    for (const j of jobs) assert.ok(!/\n/.test(j.cmd) && /^[A-Za-z0-9_.-]+$/.test(j.name));
  });
});

describe('kernels: reading the guest sweep', () => {
  const ok: CaseRecord = {
    kind: 'case', variant: 'self', index: 0, call: 'socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP)',
    domain: 2, type: 1 | 0o4000, protocol: 6, verdict: 'MATCH',
    observed: {
      fd: 17, cloexec: false, nonblock: true, fdinfoFlags: '04002', soDomain: 2, soType: 1, soProtocol: 6,
      link: 'socket:[123]', ino: 123, mode: '0140777', uid: 0, gid: 0, protoName: 'TCP', procNet: 'tcp',
    },
  };

  it('rebuilds the observation of a new socket', () => {
    const o = observationFromRecord(ok);
    assert.strictEqual(o.errno, 0);
    assert.strictEqual(o.fd, 17);
    assert.strictEqual(o.fdFlags, 0);
    assert.strictEqual(o.flFlags! & 0o4000, 0o4000);
    assert.strictEqual(o.fdinfo!.flags, 0o4002);
    assert.deepStrictEqual(o.stat, { mode: 0o140777, uid: 0, gid: 0, ino: 123 });
    assert.strictEqual(o.fdinfo!.ino, 123);
    assert.deepStrictEqual(o.procNet, { table: 'tcp', row: {} });
    assert.strictEqual(o.protoName, 'TCP');
  });

  it('rebuilds a failure', () => {
    const o = observationFromRecord({ ...ok, observed: { errno: 97 } });
    assert.deepStrictEqual([o.errno, o.fd], [97, -1]);
  });

  it('counts the guest verdicts; anything but MATCH is listed; an incomplete sweep counts against', () => {
    const lines = [
      JSON.stringify({ kind: 'header', schema: 'x' }),
      JSON.stringify(ok),
      JSON.stringify({ ...ok, index: 1, verdict: 'EXPLAINED', diffs: [{ field: 'procnet', predicted: 'tcp', observed: null }] }),
      JSON.stringify({ kind: 'summary', variant: 'self', completed: false, total: 2 }),
    ].join('\n');
    const rep = parseSweepJsonl(lines, 'x.jsonl');
    const a = liveAgreement(rep);
    assert.strictEqual(a.cases, 2);
    assert.strictEqual(a.match, 1);
    assert.deepStrictEqual(a.other, { EXPLAINED: 1 });
    assert.strictEqual(a.mismatch, 1);
    assert.match(a.examples.join('\n'), /EXPLAINED .*procnet/);
    assert.match(a.examples.join('\n'), /did not complete/);
    assert.throws(() => parseSweepJsonl('{"kind":"case"}\nnot json', 'f.jsonl'), /f\.jsonl:2: not JSON/);
  });
});

describe('kernels: offline replay', () => {
  // The package root (dist/test/ -> ..): the model as compiled in this tree.
  const root = path.resolve(__dirname, '..', '..');
  const lib = loadModelLib(root);
  const fixture = path.join(root, 'test', 'fixtures', 'profiles', 'debian-6.1-cloud.json');
  const profile = loadGuestProfile(lib, fs.readFileSync(fixture, 'utf8'), fixture);
  const open = profile.limits.openFds.value!;
  let free = 0;
  while (open.includes(free)) free++;
  let ino = 1000;
  // What the kernel shows for a new AF_UNIX stream socket at `fd`, written by hand from the kernel's behaviour.
  const unixAt = (index: number, fd: number): CaseRecord => ({
    kind: 'case', variant: 'self', index, call: 'socket(AF_UNIX, SOCK_STREAM, 0)', domain: 1, type: 1, protocol: 0, verdict: 'MATCH',
    observed: {
      fd, cloexec: false, nonblock: false, fdinfoFlags: '02', soDomain: 1, soType: 1, soProtocol: 0,
      link: `socket:[${++ino}]`, ino, mode: '0140777', uid: profile.creds.fsuid.value!, gid: profile.creds.fsgid.value!,
      protoName: 'UNIX-STREAM', procNet: 'unix',
    },
  });

  it('keeps fds open within a batch and starts each batch from the profile\'s fd table, as the guest did', () => {
    const rep = { cases: [unixAt(0, free), unixAt(1, free + 1), unixAt(2, free)], summaries: [] };
    const { agreement, verdicts } = offlineAgreement(lib, profile, rep, 2);
    assert.deepStrictEqual([agreement.cases, agreement.match], [3, 3], agreement.examples.join('\n'));
    assert.strictEqual(verdicts.length, 0);
  });

  it('reports a case the model gets wrong, naming the field', () => {
    const rep = { cases: [unixAt(0, free), unixAt(1, free)], summaries: [] };
    const { agreement, verdicts } = offlineAgreement(lib, profile, rep, 2);
    assert.strictEqual(agreement.match, 1);
    assert.strictEqual(verdicts.length, 1);
    assert.deepStrictEqual(verdicts[0].diffs.map((d) => [d.field, d.predicted, d.observed]), [['fd', free + 1, free]]);
  });
});

describe('kernels: report', () => {
  const good: KernelOutcome = {
    id: 'debian-6.1-generic', outDir: '/x', package: 'p', release: '6.1.0-56-amd64', accel: 'tcg', phases: { boot: 10 },
    agreement: { live: { root: { cases: 5, match: 5, mismatch: 0, other: {}, examples: [] } } }, mismatches: 0,
  };
  const failed: KernelOutcome = { id: 'debian-6.1-cloud', outDir: '/y', phases: {}, infra: { stage: 'download', message: 'apt-get download failed' } };

  it('puts kernels side by side and tells a machine-room failure from a model verdict', () => {
    const t = renderText([good, failed], 12);
    const status = t.split('\n').find((l) => l.startsWith('status'))!;
    assert.match(status, /all agree\s+FAILED to run \(download\)/);
    assert.match(t, /agree live root\s+5\/5 match/);
    assert.match(t, /debian-6.1-cloud: download failure: apt-get download failed/);
    const h = renderHtml([good, failed], 12);
    assert.match(h, /<th>debian-6.1-generic<\/th><th>debian-6.1-cloud<\/th>/);
    assert.match(h, /class="fail">FAILED to run \(download\)/);
  });
});
