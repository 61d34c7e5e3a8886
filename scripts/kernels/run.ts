/**
 * npm run test:kernels: sockbridge against other real kernels, booted under qemu.
 *
 * For each kernel (Debian 6.1 generic and 6.1 cloud by default): fetch the package with
 * apt-get download, build an initramfs holding node, kmod, the kernel's socket modules and this
 * package, boot it, run the guest jobs as root and as nobody, bring back their output over the
 * data serial port, and compare (see compare.ts). Everything lands in out/kernels/<kernel>/,
 * the side-by-side summary in out/kernels/summary.{txt,html,json}.
 *
 * Exit status: 0 every kernel booted and every case agrees; 1 a model mismatch; 2 a kernel
 * could not be fetched, built or booted, or a guest job crashed (the machine room failed - not
 * a verdict on the model); 2 wins when both happen. Options:
 *
 *   --kernels ID,ID  which kernels (KNOWN_KERNELS in apt.ts: debian-{5.10,6.1,6.12}-{generic,cloud});
 *                    default: the machine's own suite's two, debian-6.1-generic and debian-6.1-cloud
 *   --all            every known kernel
 *   --cpus N         guest CPUs (default 1)        --parallel N  kernels booted at once (default: host CPUs / cpus)
 *   --timeout S      hard limit per boot in seconds (default 1200)
 *   --memory MB      guest memory (default 1024)   --accel kvm|tcg  skip the KVM probe
 *   --modprobe busybox|kmod  the request_module() helper in the guest (default busybox: see initramfs.ts)
 *   --quick          a few hundred cases instead of the full in-guest matrix (smoke test)
 *   --no-ia32        skip the ia32 jobs (the i386 probe's 2 x 192,000 calls) in the amd64 guests
 *   --reanalyse      boot nothing: redo both comparisons from out/kernels/<kernel>/ with this tree's model
 *   --keep           keep .cache/kernels/run-<pid>/ (package snapshot, initramfs trees) for debugging
 *   --probe-only     run only the calibration job (timings), not the sweep
 *   --job [user:]NAME=CMD  also run CMD (as root, or as nobody) in the guest first (experiments;
 *                    output in out/kernels/<kernel>/NAME.out)
 *   --abi V          the package whose kernel version has V (6.1.0-V, 6.12.V+deb13) instead of the archive's current one
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { defaultKernels, ensureHostPackages, fetchKernel, InfraError, kernelCacheRoot, KernelSpec, KNOWN_KERNELS } from './apt';
import { buildInitramfs, extractKernel, GuestJob, snapshotPackage } from './initramfs';
import { Accel, boot, type BootResult, consoleTail, probeKvm } from './qemu';
import { KernelOutcome, writeSummary } from './summary';
import { guestJobs, analyseKernel, sweepAvailable, frameFile, frameOfFile, ia32Jobs, QUICK_MATRIX, SWEEP_MATRIX } from './jobs';
import { buildProbe } from '../../lib/static-probe/build';
import { defaultMatrix, matrixCases } from '../../lib/sweep/matrix';
import { guestArch } from './guest-arch';
import { analyseStaticGuest, buildStaticInitramfs, casesFor, FOREIGN_MATRIX, staticJobs } from './static-guest';
import { flavourName } from './apt';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * Extra kernel command line: none. The guests boot with their distribution's LSMs (Debian's
 * CONFIG_LSM: AppArmor, Landlock, TOMOYO, BPF, ...), as a user's host does. The host profile's LSM
 * evidence says that none of them has a policy that could refuse socket() there (the guest's init
 * is unconfined, no BPF program is attached, Landlock's ABI has no socket right), so a divergence
 * is still a MISMATCH - an LSM that is merely active explains nothing (lib/bridge/align.ts).
 */
export const GUEST_APPEND = '';

interface Options {
  kernels: KernelSpec[];
  cpus: number;
  parallel: number;
  timeoutS: number;
  memoryMb: number;
  accel?: Accel;
  probeOnly: boolean;
  quick: boolean;
  noIa32?: boolean;
  keep: boolean;
  reanalyse: boolean;
  /** Force the package ABI number N instead of asking apt-cache. */
  abi?: string;
  modprobe: 'busybox' | 'kmod';
  /** Extra root jobs (--job NAME=COMMAND), for experiments. */
  extraJobs: GuestJob[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = { kernels: defaultKernels(), cpus: 1, parallel: 0, timeoutS: 1200, memoryMb: 1024, probeOnly: false, quick: false, keep: false, reanalyse: false, extraJobs: [], modprobe: 'busybox' };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} needs an integer >= ${min}, got "${v ?? ''}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--kernels': {
        const ids = (argv[++i] ?? '').split(',').filter(Boolean);
        o.kernels = ids.map((id) => {
          const k = KNOWN_KERNELS.find((x) => x.id === id);
          if (!k) throw new Error(`--kernels: unknown kernel "${id}"; known: ${KNOWN_KERNELS.map((x) => x.id).join(', ')}`);
          return k;
        });
        if (o.kernels.length === 0) throw new Error('--kernels needs at least one kernel');
        break;
      }
      case '--all': o.kernels = [...KNOWN_KERNELS]; break;
      case '--cpus': o.cpus = num(a, argv[++i], 1); break;
      case '--parallel': o.parallel = num(a, argv[++i], 1); break;
      case '--timeout': o.timeoutS = num(a, argv[++i], 10); break;
      case '--memory': o.memoryMb = num(a, argv[++i], 256); break;
      case '--accel': {
        const v = argv[++i];
        if (v !== 'kvm' && v !== 'tcg') throw new Error(`--accel must be kvm or tcg, got "${v ?? ''}"`);
        o.accel = v;
        break;
      }
      case '--probe-only': o.probeOnly = true; break;
      case '--quick': o.quick = true; break;
      case '--no-ia32': o.noIa32 = true; break;
      case '--keep': o.keep = true; break;
      case '--reanalyse': o.reanalyse = true; break;
      case '--abi': {
        const v = argv[++i] ?? '';
        if (!/^[0-9][0-9A-Za-z.+~-]*$/.test(v)) throw new Error(`--abi needs a kernel version part such as 50 or 118, got "${v}"`);
        o.abi = v;
        break;
      }
      case '--modprobe': {
        const v = argv[++i];
        if (v !== 'busybox' && v !== 'kmod') throw new Error(`--modprobe must be busybox or kmod, got "${v ?? ''}"`);
        o.modprobe = v;
        break;
      }
      case '--job': {
        const m = /^(?:(root|user):)?([A-Za-z0-9_.-]+)=(.+)$/.exec(argv[++i] ?? '');
        if (!m) throw new Error('--job needs [root:|user:]NAME=COMMAND (NAME of [A-Za-z0-9_.-])');
        o.extraJobs.push({ name: m[2], who: (m[1] ?? 'root') as GuestJob['who'], cmd: m[3] });
        break;
      }
      default: throw new Error(`unknown option "${a}"; see the head of scripts/kernels/run.ts`);
    }
  }
  if (o.parallel === 0) o.parallel = Math.max(1, Math.floor(os.cpus().length / o.cpus));
  return o;
}

function log(s: string): void {
  process.stderr.write(`[kernels ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
}

async function runKernel(spec: KernelSpec, o: Options, accel: (vmlinuz: string) => Promise<{ accel: Accel; why: string }>, jobs: GuestJob[], pkg: string, runDir: string):
Promise<KernelOutcome> {
  const outDir = path.join(ROOT, 'out', 'kernels', spec.id);
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const cacheDir = kernelCacheRoot(ROOT);
  const ga = guestArch(spec.arch);
  const outcome: KernelOutcome = { id: spec.id, outDir, phases: {}, arch: spec.arch, flavour: flavourName(spec) };
  const phase = async <T>(name: string, f: () => T | Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await f();
    } finally {
      outcome.phases[name] = (Date.now() - t0) / 1000;
    }
  };
  try {
    const got = await phase('download', () => fetchKernel(spec, cacheDir, (s) => log(`${spec.id}: ${s}`), o.abi));
    outcome.package = got.pkg;
    if (got.skipped.length) outcome.packageNote = `newer packages could not be downloaded: ${got.skipped.join('; ')}`;
    const deb = got.deb;
    const k = await phase('extract', () => extractKernel(deb, path.join(cacheDir, 'extracted')));
    outcome.release = k.release;
    if (ga.road === 'static-probe') {
      await runStaticGuest(spec, o, k, outcome, outDir, cacheDir, runDir, phase);
      fs.writeFileSync(path.join(outDir, 'outcome.json'), JSON.stringify({ ...outcome, guest: undefined }, null, 1) + '\n');
      return outcome;
    }
    const ir = await phase('initramfs', () => buildInitramfs({
      kernel: k, packageRoot: pkg, initScript: path.join(ROOT, 'scripts', 'kernels', 'init.sh'), jobs, modprobe: o.modprobe,
      stageDir: path.join(runDir, 'stage', spec.id), output: path.join(runDir, `${spec.id}.cpio.gz`),
    }));
    const dec = Object.entries(ir.decompressed).map(([kind, n]) => `${n} .ko.${kind} decompressed`).join(', ');
    outcome.modules = `${ir.modules} modules (${ir.compression.join(', ')}${dec ? `; ${dec} for ${o.modprobe}'s modprobe` : `; ${o.modprobe}'s modprobe loads them as shipped`})`;
    log(`${spec.id}: ${k.release}, initramfs ${(ir.bytes / 1e6).toFixed(1)} MB with ${outcome.modules}`);
    const a = await accel(k.vmlinuz);
    outcome.accel = a.accel;
    log(`${spec.id}: booting under ${a.accel} with ${o.cpus} CPU(s), ${o.memoryMb} MB, limit ${o.timeoutS} s`);
    const consoleLog = path.join(outDir, 'console.log');
    const r = await phase('boot', () => boot({
      vmlinuz: k.vmlinuz, initrd: ir.output, accel: a.accel, cpus: o.cpus, memoryMb: o.memoryMb,
      timeoutMs: o.timeoutS * 1000, consoleLog, append: GUEST_APPEND, onEvent: (line) => log(`${spec.id}: ${line}`),
    }));
    outcome.guest = r.output;
    for (const [name, data] of r.output.frames) fs.writeFileSync(path.join(outDir, frameFile(name)), data);
    checkGuestRan(r, jobs, o.timeoutS, consoleLog, outcome);
    await phase('compare', () => analyseKernel(outcome, jobs, pkg));
  } catch (e) {
    if (e instanceof InfraError) outcome.infra = { stage: e.stage, message: e.message };
    else outcome.infra = { stage: 'runner', message: e instanceof Error ? e.stack ?? e.message : String(e) };
    log(`${spec.id}: FAILED (${outcome.infra.stage}): ${outcome.infra.message.split('\n')[0]}`);
  }
  fs.writeFileSync(path.join(outDir, 'outcome.json'), JSON.stringify({ ...outcome, guest: undefined }, null, 1) + '\n');
  return outcome;
}

/**
 * A guest of another architecture (guest-arch.ts): static probe inside, TCG, one serial line;
 * the comparisons are made here from the probe's output and the guest's files (static-guest.ts).
 * Failures are recorded in the outcome like runKernel's.
 */
async function runStaticGuest(spec: KernelSpec, o: Options, k: ReturnType<typeof extractKernel>, outcome: KernelOutcome, outDir: string,
  cacheDir: string, runDir: string, phase: <T>(name: string, f: () => T | Promise<T>) => Promise<T>): Promise<void> {
  const ga = guestArch(spec.arch);
  const jobs = staticJobs();
  const cases = casesFor(o.quick ? QUICK_MATRIX : FOREIGN_MATRIX, ga.abi);
  try {
    const ir = await phase('initramfs', () => buildStaticInitramfs({
      spec, arch: ga, kernel: k, cacheRoot: cacheDir, initScript: path.join(ROOT, 'scripts', 'kernels', 'init.sh'), jobs, cases,
      stageDir: path.join(runDir, 'stage', spec.id), output: path.join(runDir, `${spec.id}.cpio.gz`), log: (s) => log(`${spec.id}: ${s}`),
    }));
    outcome.modules = `${ir.modules} modules (busybox's modprobe loads them as shipped)`;
    outcome.accel = 'tcg';
    const cpus = Math.min(o.cpus, ga.maxCpus);
    log(`${spec.id}: ${k.release}, initramfs ${(ir.bytes / 1e6).toFixed(1)} MB with ${outcome.modules}; ${cases.length} cases per sweep; ` +
      `booting ${ga.qemu} under tcg with ${cpus} CPU(s), ${o.memoryMb} MB, limit ${o.timeoutS} s`);
    const consoleLog = path.join(outDir, 'console.log');
    const r = await phase('boot', () => boot({
      vmlinuz: k.vmlinuz, initrd: ir.output, accel: 'tcg', cpus, memoryMb: o.memoryMb, arch: ga,
      timeoutMs: o.timeoutS * 1000, consoleLog, append: GUEST_APPEND, onEvent: (line) => log(`${spec.id}: ${line}`),
    }));
    outcome.guest = r.output;
    for (const [name, data] of r.output.frames) fs.writeFileSync(path.join(outDir, name), data);
    checkGuestRan(r, jobs, o.timeoutS, consoleLog, outcome);
    await phase('compare', () => analyseStaticGuest(outcome, jobs, spec, k, cases.length));
  } catch (e) {
    if (e instanceof InfraError) outcome.infra = { stage: e.stage, message: e.message };
    else outcome.infra = { stage: 'runner', message: e instanceof Error ? e.stack ?? e.message : String(e) };
    log(`${spec.id}: FAILED (${outcome.infra.stage}): ${outcome.infra.message.split('\n')[0]}`);
  }
}

/**
 * The comparisons again, from what an earlier run brought back (out/kernels/<kernel>/), with the
 * model as it is in this tree now: boot once, then iterate on the model offline. The live
 * comparison is still the guest's own (the model that ran in the guest).
 */
function reanalyse(spec: KernelSpec): KernelOutcome {
  const outDir = path.join(ROOT, 'out', 'kernels', spec.id);
  const file = path.join(outDir, 'outcome.json');
  if (!fs.existsSync(file)) {
    return { id: spec.id, outDir, phases: {}, infra: { stage: 'runner', message: `no ${file}: run without --reanalyse first` } };
  }
  const prev = JSON.parse(fs.readFileSync(file, 'utf8')) as KernelOutcome;
  const outcome: KernelOutcome = { ...prev, agreement: undefined, mismatches: undefined, coverage: undefined, infra: undefined };
  const frames = new Map<string, Buffer>();
  for (const f of fs.readdirSync(outDir)) {
    const frame = frameOfFile(f);
    if (frame) frames.set(frame, fs.readFileSync(path.join(outDir, f)));
  }
  const jobs = new Map(Object.entries(prev.jobs ?? {}).map(([k, j]) => [k, { rc: j.rc, start: 0, end: j.seconds }]));
  outcome.guest = { frames, broken: new Map(), jobs, done: true };
  const guestJobList: GuestJob[] = Object.entries(prev.jobs ?? {}).map(([name, j]) => ({ name, who: j.who as GuestJob['who'], cmd: '(earlier run)' }));
  try {
    analyseKernel(outcome, guestJobList, ROOT);
  } catch (e) {
    outcome.infra = { stage: e instanceof InfraError ? e.stage : 'runner', message: e instanceof Error ? e.message : String(e) };
  }
  fs.writeFileSync(file, JSON.stringify({ ...outcome, guest: undefined }, null, 1) + '\n');
  return outcome;
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const o = parseArgs(process.argv.slice(2));
  if (o.reanalyse) {
    const outcomes = o.kernels.map(reanalyse);
    process.stdout.write(writeSummary(outcomes, path.join(ROOT, 'out', 'kernels'), (Date.now() - t0) / 1000,
      'comparisons redone with this tree\'s model from the outputs of an earlier run (live verdicts are the guest\'s own)').text);
    return outcomes.some((x) => x.infra) ? 2 : outcomes.some((x) => x.mismatches) ? 1 : 0;
  }
  try {
    // qemu for each architecture asked for, and the cross compiler of each static probe.
    const foreign = o.kernels.map((k) => guestArch(k.arch)).filter((g) => g.road === 'static-probe');
    ensureHostPackages(log, [...new Set(o.kernels.map((k) => guestArch(k.arch).qemuPackage)),
      ...foreign.map((g) => (g.abi === 'aarch64' ? 'g++-aarch64-linux-gnu' : 'g++-mips64el-linux-gnuabi64'))]);
  } catch (e) {
    log(`FAILED: ${(e as Error).message}`);
    return 2;
  }
  const useSweep = !o.probeOnly && sweepAvailable(ROOT);
  if (!o.probeOnly && !useSweep) log('the sweep CLI is not built (dist/lib/cli/main.js with "sweep"): running the calibration job only');
  const jobs = [...o.extraJobs, ...guestJobs(useSweep, o.quick ? QUICK_MATRIX : SWEEP_MATRIX)];
  // This run's own folder (package snapshot, initramfs staging), removed at the end: another run
  // (or engineer) may use .cache/kernels at the same time; the .debs there are shared.
  const runDir = path.join(kernelCacheRoot(ROOT), `run-${process.pid}`);
  let accelP: Promise<{ accel: Accel; why: string }> | undefined;
  // The first kernel to get there probes KVM; all kernels then share its answer.
  const accel = (vmlinuz: string): Promise<{ accel: Accel; why: string }> => {
    if (o.accel) return Promise.resolve({ accel: o.accel, why: 'chosen with --accel' });
    accelP ??= probeKvm(vmlinuz, runDir).then((a) => { log(`accelerator: ${a.accel} (${a.why})`); return a; });
    return accelP;
  };
  let pkg: string;
  try {
    pkg = snapshotPackage(ROOT, path.join(runDir, 'package'));
  } catch (e) {
    log(`FAILED: ${(e as Error).message}`);
    return 2;
  }
  // The i386 static probe for the ia32 jobs of the amd64 guests (jobs.ts ia32Jobs).
  let ia32 = false;
  if (useSweep && !o.noIa32 && o.kernels.some((k) => guestArch(k.arch).road === 'node')) {
    try {
      const bin = buildProbe('i386').path;
      const dir = path.join(pkg, 'build', 'probe', 'i386');
      fs.mkdirSync(dir, { recursive: true });
      fs.copyFileSync(bin, path.join(dir, 'sockbridge-probe'));
      fs.chmodSync(path.join(dir, 'sockbridge-probe'), 0o755);
      fs.writeFileSync(path.join(dir, 'cases'), [...matrixCases(defaultMatrix())].map((c) => `${c.domain} ${c.type} ${c.protocol}\n`).join(''));
      ia32 = true;
    } catch (e) {
      log(`no ia32 jobs: the i386 static probe cannot be built (${(e as Error).message.split('\n')[0]})`);
    }
  }
  const nodeJobs = ia32 ? [...jobs, ...ia32Jobs()] : jobs;
  const queue = [...o.kernels];
  const outcomes: KernelOutcome[] = [];
  const worker = async (): Promise<void> => {
    for (let spec = queue.shift(); spec; spec = queue.shift()) outcomes.push(await runKernel(spec, o, accel, nodeJobs, pkg, runDir));
  };
  await Promise.all(Array.from({ length: Math.min(o.parallel, o.kernels.length) }, worker));
  if (!o.keep) fs.rmSync(runDir, { recursive: true, force: true });
  outcomes.sort((a, b) => o.kernels.findIndex((k) => k.id === a.id) - o.kernels.findIndex((k) => k.id === b.id));
  const summary = writeSummary(outcomes, path.join(ROOT, 'out', 'kernels'), (Date.now() - t0) / 1000);
  process.stdout.write(summary.text);
  const infra = outcomes.filter((x) => x.infra);
  const mismatched = outcomes.filter((x) => !x.infra && (x.mismatches ?? 0) > 0);
  if (infra.length) {
    log(`FAILED: ${infra.map((x) => `${x.id} (${x.infra!.stage})`).join(', ')} could not be run - the machine room failed, not the model`);
  }
  if (mismatched.length) log(`MODEL DISAGREES: ${mismatched.map((x) => `${x.id}: ${x.mismatches} cases`).join(', ')} (see out/kernels/summary.txt)`);
  return infra.length ? 2 : mismatched.length ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (e) => {
  process.stderr.write(`test:kernels: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 2;
});

/**
 * A boot that did not reach /init, a guest that stopped before its last job, or output frames
 * that did not arrive whole are the machine room's failure (InfraError), never the model's. The uptime at /init is recorded first, so a
 * guest that stops later still shows how far it got.
 */
function checkGuestRan(r: BootResult, jobs: ReadonlyArray<{ name: string }>, timeoutS: number, consoleLog: string, outcome: { readyUptime?: number }): void {
  const fail = (stage: 'boot' | 'guest', msg: string): never => {
    throw new InfraError(stage, `${msg}\n--- console (last lines) ---\n${consoleTail(consoleLog)}`);
  };
  if (!r.output.ready) {
    fail('boot', r.timedOut ? `the kernel did not reach /init within ${timeoutS} s`
      : `qemu exited ${r.exitCode} before /init ran${r.qemuStderr ? ': ' + r.qemuStderr.trim() : ''}`);
  }
  outcome.readyUptime = r.output.ready!.uptime;
  if (!r.output.done) {
    const ran = [...r.output.jobs.keys()];
    const running = jobs.find((j) => !r.output.jobs.has(j.name));
    fail('guest', r.timedOut
      ? `the guest ran out of time (${timeoutS} s) during job ${running?.name ?? '?'} (finished: ${ran.join(', ') || 'none'})`
      : `the guest stopped during job ${running?.name ?? '?'} (qemu exit ${r.exitCode}; finished: ${ran.join(', ') || 'none'})`);
  }
  if (r.output.broken.size) fail('guest', `output frames did not arrive whole: ${[...r.output.broken].map(([n, w]) => `${n}: ${w}`).join('; ')}`);
}
