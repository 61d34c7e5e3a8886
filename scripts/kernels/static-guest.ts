/**
 * Guests whose kernel road is the static probe (arm64, mips64el; guest-arch.ts says why): their
 * initramfs, their jobs, and the two comparisons made of what they bring back.
 *
 * initramfs: that architecture's busybox-static (from its Debian package, through the private apt
 * configuration; busybox's modprobe answers request_module), the kernel's socket modules as for
 * amd64 (selectModules, depmod -b here: depmod reads foreign ELF), the probe cross-built for the
 * ABI, snapshot.sh with the list of files the gatherer reads, and the cases in that ABI's numbers.
 *
 * jobs, as root and then as nobody: snapshot-<who> (the files), probe-<who> (every case, batches
 * of SWEEP_BATCH with the fds kept open, as the amd64 sweeps do).
 *
 * comparisons, per variant:
 *   live:    the model with the profile gathered from the guest's own files;
 *   offline: the model with profileFromPackage(the package, its machine) alone (for nobody with
 *            uid/gid 65534 and no capabilities: the variant's credentials, which a package cannot say).
 * Both replay the probe's batches (its openFds before each batch) and align each prediction with
 * the observation by lib/bridge/align, in the ABI's numbers.
 */
import * as fs from 'fs';
import * as path from 'path';
import { abiByName, machineForDebianArch, typeOut } from '../../lib/abi/arch';
import { callName } from '../../lib/abi/names';
import { alignCase, alignEnvFromProfile } from '../../lib/bridge/align';
import { profileFromPackage } from '../../lib/host';
import { KernelModel } from '../../lib/kernel';
import type { Entry } from '../../lib/kernel/entry';
import { buildProbe, probePath } from '../../lib/static-probe/build';
import { type ProbeRun, parseProbeOutput } from '../../lib/static-probe/run';
import { matrixCases, parseAxis } from '../../lib/sweep/matrix';
import type { HostProfile, SocketCase } from '../../lib/types';
import { fetchDeb, InfraError, type KernelSpec, privateApt, run, tail } from './apt';
import { type GuestArch } from './guest-arch';
import type { ExtractedKernel, GuestJob } from './initramfs';
import { describeModules, packageSocketModules, put } from './initramfs';
import { newAgreement, type SweepReport } from './offline';
import { pathsToCopy, profileFromSnapshot, SNAPSHOT_SH } from './snapshot';
import type { Agreement, KernelOutcome } from './summary';
import { type MatrixText, recordJobs, SWEEP_BATCH } from './jobs';

export const STATIC_VARIANTS = ['root', 'user'] as const;

/**
 * The matrix of a foreign guest. Under TCG on arm64 and mips every socket() that reaches
 * request_module runs busybox's modprobe in an emulated CPU, 0.1-0.6 s a call on this 2-CPU
 * machine (measured: 392 cases as nobody, modules already loaded, took 104 s under load), so the
 * amd64 matrix (44,100 cases, ~15,000 modprobe runs) would take hours. This one keeps what moves
 * between ABIs - every family 0..48 (past AF_MAX), every type 0..11 in the ABI's numbering
 * (SOCK_STREAM 2 on mips), no flags / both flags / an invalid bit, protocol 0 and TCP - in
 * 49 x 12 x 3 x 2 = 3,528 cases per sweep, ~1,300 of them through modprobe.
 */
export const FOREIGN_MATRIX: MatrixText = {
  domains: '0-48', types: '0-11', flags: 'none,SOCK_CLOEXEC|SOCK_NONBLOCK,invalid', protocols: '0,6',
};

/** The cases of a matrix text, in the ABI's numbers (the matrix is written in generic ones). */
export function casesFor(m: MatrixText, abiName: string): SocketCase[] {
  const abi = abiByName(abiName);
  const mx = {
    domains: parseAxis(m.domains, 'domains'), types: parseAxis(m.types, 'types'),
    flags: parseAxis(m.flags, 'flags'), protocols: parseAxis(m.protocols, 'protocols'),
  };
  return [...matrixCases(mx)].map((c) => ({ domain: c.domain, type: typeOut(abi, c.type), protocol: c.protocol }));
}

export function staticJobs(): GuestJob[] {
  const jobs: GuestJob[] = [];
  for (const v of STATIC_VARIANTS) {
    jobs.push(
      { name: `snapshot-${v}`, who: v, cmd: 'sh ./snapshot.sh < ./snapshot-paths' },
      { name: `probe-${v}`, who: v, cmd: `./sockbridge-probe --batch ${SWEEP_BATCH} < ./cases` },
    );
  }
  jobs.push({ name: 'modules-after', who: 'root', cmd: 'cat /proc/modules' }, { name: 'dmesg', who: 'root', cmd: 'uname -a; cat /proc/cmdline; dmesg' });
  return jobs;
}

export interface StaticInitramfsInput {
  spec: KernelSpec;
  arch: GuestArch;
  kernel: ExtractedKernel;
  cacheRoot: string;
  initScript: string;
  jobs: GuestJob[];
  cases: SocketCase[];
  stageDir: string;
  output: string;
  log: (s: string) => void;
}

export function buildStaticInitramfs(inp: StaticInitramfsInput): { output: string; bytes: number; modules: number } {
  const { kernel, stageDir: root } = inp;
  fs.rmSync(root, { recursive: true, force: true });
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'job', 'opt/sockbridge', 'root']) {
    fs.mkdirSync(path.join(root, d), { recursive: true });
  }
  // busybox of the guest's architecture.
  const a = privateApt(inp.cacheRoot, inp.spec.suite, inp.spec.arch, inp.log);
  const deb = fetchDeb('busybox-static', path.join(inp.cacheRoot, 'debs', inp.spec.arch), inp.log, a);
  const bbDir = path.join(path.dirname(inp.output), `busybox-${inp.spec.arch}`);
  if (!fs.existsSync(path.join(bbDir, 'bin', 'busybox'))) {
    const x = run('dpkg-deb', ['-x', deb, bbDir]);
    if (x.status !== 0) throw new InfraError('initramfs', `dpkg-deb -x ${deb}: ${tail(x.stderr)}`);
  }
  put(root, 'bin/busybox', path.join(bbDir, 'bin', 'busybox'), 0o755);
  // The applet list of the same busybox version on this host (the guest's cannot run here).
  const list = run('/bin/busybox', ['--list-full']);
  if (list.status !== 0) throw new InfraError('initramfs', `busybox --list-full failed: ${tail(list.stderr)}`);
  for (const applet of list.stdout.split('\n').filter(Boolean)) {
    if (applet === 'bin/busybox') continue;
    const link = path.join(root, applet);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    if (!fs.existsSync(link)) fs.symlinkSync('/bin/busybox', link);
  }
  fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/tmp:/bin/sh\n');
  fs.writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');

  // Modules, as for amd64.
  const { src, mods } = packageSocketModules(kernel);
  for (const m of mods) put(root, path.join(`lib/modules/${kernel.release}`, m), path.join(src, m));
  describeModules(root, src, kernel);

  // The probe, the snapshot script and its list, the cases.
  let probe: string;
  try {
    probe = buildProbe(inp.arch.abi).path;
  } catch (e) {
    throw new InfraError('initramfs', `the ${inp.arch.abi} static probe cannot be built: ${(e as Error).message}`);
  }
  put(root, 'opt/sockbridge/sockbridge-probe', probe, 0o755);
  fs.writeFileSync(path.join(root, 'opt/sockbridge/snapshot.sh'), SNAPSHOT_SH, { mode: 0o755 });
  fs.writeFileSync(path.join(root, 'opt/sockbridge/snapshot-paths'), pathsToCopy().map(([op, p]) => `${op} ${p}\n`).join(''));
  fs.writeFileSync(path.join(root, 'opt/sockbridge/cases'), inp.cases.map((c) => `${c.domain} ${c.type} ${c.protocol}\n`).join(''));
  put(root, 'init', inp.initScript, 0o755);
  fs.writeFileSync(path.join(root, 'job/jobs'), inp.jobs.map((j) => `${j.name} ${j.who} ${j.cmd}\n`).join(''));

  const tmp = `${inp.output}.tmp`;
  const c = run('sh', ['-c', `cd "${root}" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1 > "${tmp}"`], { timeoutMs: 600_000 });
  if (c.status !== 0) throw new InfraError('initramfs', `cpio/gzip of ${root} failed: ${tail(c.stderr)}`);
  fs.renameSync(tmp, inp.output);
  void probePath;
  return { output: inp.output, bytes: fs.statSync(inp.output).size, modules: mods.length };
}

/** The package's profile with the variant's credentials (nobody: 65534, no capabilities). */
function packageProfile(base: HostProfile, who: string): HostProfile {
  if (who === 'root') return base;
  const p = JSON.parse(JSON.stringify(base)) as HostProfile;
  const src = 'the variant\'s credentials: the guest runs the probe through busybox su nobody (a package cannot say them)';
  for (const k of ['ruid', 'euid', 'suid', 'fsuid', 'rgid', 'egid', 'sgid', 'fsgid'] as const) p.creds[k] = { value: 65534, source: src };
  p.creds.groups = { value: [65534], source: src };
  p.creds.capEffective = { value: '0000000000000000', source: src };
  p.creds.capPermitted = { value: '0000000000000000', source: src };
  return p;
}

/** Replay the probe's batches through a model and align every case. */
export function replay(profile: HostProfile, probe: ProbeRun, where: string, entry?: Entry): { agreement: Agreement; bad: string[] } {
  const a = newAgreement();
  const bad: string[] = [];
  const model = new KernelModel(profile, { trace: false, entry });
  const env = alignEnvFromProfile(profile);
  if (entry) env.abi = entry.abi;
  const abi = env.abi;
  for (const b of probe.batches) {
    model.setOpenFds(b.openFds);
    const kept: number[] = [];
    for (const obs of b.observations) {
      const p = model.predict(obs.case, { keepFd: true });
      if (p.result.fd !== undefined) kept.push(p.result.fd);
      const v = alignCase(p, obs, env);
      a.cases++;
      if (v.kind === 'MATCH') { a.match++; continue; }
      if (v.kind === 'MISMATCH') a.mismatch++;
      else a.other[v.kind] = (a.other[v.kind] ?? 0) + 1;
      const text = `${v.kind} ${callName(obs.case.domain, obs.case.type, obs.case.protocol, abi)}: ${v.diffs.map((d) => `${d.field}: model ${JSON.stringify(d.predicted)}, kernel ${JSON.stringify(d.observed)}`).join('; ')}`;
      if (a.examples.length < 8) a.examples.push(text);
      if (bad.length < 5000) bad.push(`${where}: ${text}`);
    }
    model.closeFds(kept);
  }
  return { agreement: a, bad };
}

function frameText(outcome: KernelOutcome, name: string): string {
  const f = outcome.guest!.frames.get(name);
  if (!f) throw new InfraError('guest', `no ${name} frame came back`);
  return f.toString('latin1');
}

/** Both comparisons of a static-probe guest, into the outcome. */
export function analyseStaticGuest(outcome: KernelOutcome, jobs: GuestJob[], spec: KernelSpec, kernel: ExtractedKernel, expectedCases: number): void {
  recordJobs(outcome, jobs, (_j, rc) => rc === 0);
  const machine = machineForDebianArch(spec.arch);
  const pkgBase = profileFromPackage({ root: kernel.root, release: kernel.release, machine, origin: outcome.package ?? spec.id });
  outcome.agreement = { live: {}, offline: {} };
  let mismatches = 0;
  const lines: string[] = [];
  for (const v of STATIC_VARIANTS) {
    const probe = parseProbeOutput(frameText(outcome, `probe-${v}.out`));
    const n = probe.batches.reduce((s, b) => s + b.observations.length, 0);
    if (n !== expectedCases) throw new InfraError('guest', `probe-${v} observed ${n} cases, ${expectedCases} were sent`);
    if (probe.header.machine !== machine) throw new InfraError('guest', `probe-${v} ran on ${probe.header.machine}, not ${machine}`);
    const guestProfile = profileFromSnapshot(frameText(outcome, `snapshot-${v}.out`), `${spec.id} ${v}`);
    fs.writeFileSync(path.join(outcome.outDir, `profile-${v}.json`), JSON.stringify(guestProfile, null, 1) + '\n');
    const live = replay(guestProfile, probe, `live ${v}`);
    const off = replay(packageProfile(pkgBase, v), probe, `offline ${v}`);
    outcome.agreement.live[v] = live.agreement;
    outcome.agreement.offline[v] = off.agreement;
    mismatches += live.agreement.cases - live.agreement.match + off.agreement.cases - off.agreement.match;
    lines.push(...live.bad, ...off.bad);
  }
  fs.writeFileSync(path.join(outcome.outDir, 'disagreements.txt'), lines.join('\n') + (lines.length ? '\n' : ''));
  outcome.modulesLoaded = frameText(outcome, 'modules-after.out').split('\n').filter(Boolean).length;
  outcome.mismatches = mismatches;
}

export type { SweepReport };
