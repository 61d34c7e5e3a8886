/**
 * Debian packages for the kernel runs: the host tools (qemu, busybox, kmod, cpio) installed
 * with apt-get when missing, and the kernel image packages fetched with apt-get download into
 * a cache folder that other runs (and other engineers) share.
 *
 * Everything comes from the machine's configured Debian archive through apt (other suites
 * through a private copy of its sources: privateApt); nothing is fetched from anywhere else.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** A failure of the machine room (package, download, boot), as opposed to a model mismatch. */
export class InfraError extends Error {
  constructor(public readonly stage: 'packages' | 'download' | 'extract' | 'initramfs' | 'boot' | 'guest', message: string) {
    super(message);
    this.name = 'InfraError';
  }
}

export interface Run { status: number; stdout: string; stderr: string }

export function run(cmd: string, args: string[], opts: { cwd?: string; input?: string; timeoutMs?: number } = {}): Run {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd, input: opts.input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024,
    timeout: opts.timeoutMs,
  });
  if (r.error) return { status: -1, stdout: r.stdout ?? '', stderr: `${r.error.message}\n${r.stderr ?? ''}` };
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Host packages the runner needs, and a file each one provides (to explain what is missing). */
export const HOST_PACKAGES: ReadonlyArray<{ pkg: string; provides: string }> = [
  { pkg: 'qemu-system-x86', provides: '/usr/bin/qemu-system-x86_64' },
  { pkg: 'busybox-static', provides: '/bin/busybox' },
  { pkg: 'kmod', provides: '/bin/kmod' },
  { pkg: 'cpio', provides: '/bin/cpio' },
  { pkg: 'util-linux', provides: '/usr/bin/setpriv' },
];

export function isInstalled(pkg: string): boolean {
  const r = run('dpkg-query', ['-W', '-f=${Status}', pkg]);
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/** Install whatever is missing; idempotent (dpkg is asked first, apt only when needed). */
export function ensureHostPackages(log: (s: string) => void, extra: string[] = []): void {
  const missing = [...new Set([...HOST_PACKAGES.map((p) => p.pkg), ...extra])].filter((p) => !isInstalled(p));
  if (missing.length === 0) return;
  log(`installing host packages: ${missing.join(' ')}`);
  const upd = run('apt-get', ['update', '-q'], { timeoutMs: 300_000 });
  if (upd.status !== 0) throw new InfraError('packages', `apt-get update failed (exit ${upd.status}): ${tail(upd.stderr)}`);
  const inst = run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { timeoutMs: 900_000 });
  if (inst.status !== 0) {
    throw new InfraError('packages', `apt-get install ${missing.join(' ')} failed (exit ${inst.status}): ${tail(inst.stderr)}`);
  }
  const still = missing.filter((p) => !isInstalled(p));
  if (still.length) throw new InfraError('packages', `still not installed after apt-get install: ${still.join(' ')}`);
}

/** A kernel to boot: which Debian suite, flavour and architecture, and its output folder's name. */
export interface KernelSpec {
  /** Output folder name and report column, e.g. "debian-6.1-generic". */
  id: string;
  /** The Debian suite whose archive has it ("bullseye", "bookworm", "trixie"). */
  suite: string;
  /** Upstream series ("5.10", "6.1", "6.12"): the packages are linux-image-<series>.*. */
  series: string;
  /** "" for the generic flavour, "cloud-" for the cloud flavour. */
  flavour: '' | 'cloud-';
  /** Debian architecture of the package ("amd64", "arm64", "mips64el"): see guest-arch.ts for how each boots. */
  arch: string;
  /**
   * For an image named by its flavour alone, without the architecture and without -unsigned
   * (mips64el's "5kc-malta": linux-image-6.1.0-N-5kc-malta, meta package linux-image-5kc-malta).
   */
  image?: string;
  /** The report's name of the flavour (default: generic / cloud). */
  flavourName?: string;
  /** Booted by a plain `npm run test:kernels` (and so by CI); the rest need --all or --kernels. */
  default?: boolean;
}

/**
 * Every kernel test:kernels knows. Data only: a new kernel line (or architecture) is one entry.
 * The default set is bookworm's two (the machine's own suite, ~12 min under TCG); see
 * scripts/kernels/README.md for why CI boots those and how --all reaches the rest.
 */
export const KNOWN_KERNELS: readonly KernelSpec[] = [
  { id: 'debian-5.10-generic', suite: 'bullseye', series: '5.10', flavour: '', arch: 'amd64' },
  { id: 'debian-5.10-cloud', suite: 'bullseye', series: '5.10', flavour: 'cloud-', arch: 'amd64' },
  { id: 'debian-6.1-generic', suite: 'bookworm', series: '6.1', flavour: '', arch: 'amd64', default: true },
  { id: 'debian-6.1-cloud', suite: 'bookworm', series: '6.1', flavour: 'cloud-', arch: 'amd64', default: true },
  { id: 'debian-6.12-generic', suite: 'trixie', series: '6.12', flavour: '', arch: 'amd64' },
  { id: 'debian-6.12-cloud', suite: 'trixie', series: '6.12', flavour: 'cloud-', arch: 'amd64' },
  // Other architectures (issue 13): qemu-system-aarch64 -M virt and qemu-system-mips64el -M malta,
  // TCG only, the kernel road as the static probe (guest-arch.ts). arm64 cloud is the one CI boots.
  { id: 'debian-6.1-arm64-generic', suite: 'bookworm', series: '6.1', flavour: '', arch: 'arm64' },
  { id: 'debian-6.1-arm64-cloud', suite: 'bookworm', series: '6.1', flavour: 'cloud-', arch: 'arm64' },
  { id: 'debian-6.1-mips64el-5kc-malta', suite: 'bookworm', series: '6.1', flavour: '', arch: 'mips64el', image: '5kc-malta', flavourName: '5kc-malta' },
];

/** The image name part after the kernel version: "cloud-arm64-unsigned", "5kc-malta". */
function imageSuffix(spec: KernelSpec): string {
  return spec.image ?? `${spec.flavour}${spec.arch}-unsigned`;
}

/** The flavour as the report names it. */
export function flavourName(spec: KernelSpec): string {
  return spec.flavourName ?? (spec.flavour === 'cloud-' ? 'cloud' : 'generic');
}

/** The kernels a run boots when --kernels is not given (--all: every one). */
export function defaultKernels(): KernelSpec[] {
  return KNOWN_KERNELS.filter((k) => k.default);
}

/**
 * The package name for a kernel version string as the archive spells it: "6.1.0-56" (bullseye,
 * bookworm: <series>.0-<abi>) or "6.12.118+deb13" (trixie: <upstream>+deb<N>).
 */
export function packageName(spec: KernelSpec, kver: string): string {
  return `linux-image-${kver}-${imageSuffix(spec)}`;
}

/** The kernel version part of an image package name of this spec's flavour, or null. */
export function kernelVersionOf(spec: KernelSpec, pkg: string): string | null {
  const esc = spec.series.replace(/\./g, '\\.');
  const tailRe = spec.image !== undefined ? spec.image : `${spec.flavour}${spec.arch}(?:-unsigned)?`;
  const m = new RegExp(`^linux-image-(${esc}\\.[0-9][^-]*(?:-[0-9]+)?)-${tailRe}$`).exec(pkg);
  return m ? m[1] : null;
}

/** Orders kernel version strings ("6.1.0-9" < "6.1.0-50", "6.12.90+deb13" < "6.12.118+deb13"). */
export function compareKernelVersions(a: string, b: string): number {
  const nums = (s: string): number[] => (s.match(/\d+/g) ?? []).map(Number);
  const x = nums(a);
  const y = nums(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d) return d;
  }
  return 0;
}

// ---------------------------------------------------------------------------
// A private apt configuration per (suite, architecture)
// ---------------------------------------------------------------------------

/**
 * apt for another suite (or the machine's own) without touching the machine's apt state: the
 * machine's sources copied with the suite names changed, and private Dir::State::Lists,
 * Dir::Cache and an empty dpkg status under the cache folder. The archive is the one the machine
 * is configured with; no host name is written anywhere but that private copy.
 */
export interface PrivateApt {
  dir: string;
  suite: string;
  arch: string;
  /** The -o options to put before an apt-get / apt-cache command. */
  options: string[];
}

/** The machine's own suite (VERSION_CODENAME of /etc/os-release), the word its sources use. */
export function machineSuite(osRelease = '/etc/os-release'): string {
  const m = /^VERSION_CODENAME=(\S+)/m.exec(fs.readFileSync(osRelease, 'utf8'));
  if (!m) throw new InfraError('packages', `${osRelease} has no VERSION_CODENAME: cannot tell which suite the apt sources name`);
  return m[1].replace(/"/g, '');
}

/**
 * The machine's sources (deb822 .sources files and one-line .list files) with every suite word
 * `from`, `from-updates`, `from-security`, `from-backports` changed to `to`'s. Pure.
 */
export function retargetSources(text: string, from: string, to: string): string {
  return text.replace(new RegExp(`(^|[\\s/])${from}(-updates|-security|-backports|/updates)?(?=\\s|$)`, 'gm'),
    (_m, pre: string, suffix: string | undefined) => `${pre}${to}${suffix ?? ''}`);
}

/** The machine's enabled apt source files (disabled ones - any other extension - are left out). */
export function machineSourceFiles(etc = '/etc/apt'): string[] {
  const files: string[] = [];
  if (fs.existsSync(path.join(etc, 'sources.list'))) files.push(path.join(etc, 'sources.list'));
  const d = path.join(etc, 'sources.list.d');
  if (fs.existsSync(d)) {
    for (const f of fs.readdirSync(d).sort()) if (/\.(sources|list)$/.test(f)) files.push(path.join(d, f));
  }
  return files;
}

/**
 * Only the Debian archive entries of a sources file: a stanza (or line) that names the machine's
 * suite. Third-party repositories (node, cloud SDKs) have suites of their own and stay out.
 */
function debianEntries(text: string, suite: string, deb822: boolean): string {
  const re = new RegExp(`(^|[\\s/])${suite}(-updates|-security|-backports|/updates)?(\\s|$)`, 'm');
  if (!deb822) return text.split('\n').filter((l) => /^\s*deb\s/.test(l) && re.test(l)).join('\n');
  return text.split(/\n\s*\n/).filter((st) => /^Suites:/m.test(st) && re.test(st.match(/^Suites:.*$/m)![0])).join('\n\n');
}

export function privateApt(cacheRoot: string, suite: string, arch: string, log: (s: string) => void): PrivateApt {
  const dir = path.join(cacheRoot, `apt-${suite}-${arch}`);
  const own = machineSuite();
  const options = [
    '-o', 'Dir::Etc::SourceList=/dev/null', '-o', `Dir::Etc::SourceParts=${path.join(dir, 'sources')}`,
    '-o', `Dir::State::Lists=${path.join(dir, 'lists')}`, '-o', `Dir::Cache=${path.join(dir, 'cache')}`,
    '-o', `Dir::State::status=${path.join(dir, 'status')}`,
    '-o', `APT::Architecture=${arch}`, '-o', `APT::Architectures::=${arch}`,
    '-o', 'APT::Sandbox::User=root',
  ];
  const a: PrivateApt = { dir, suite, arch, options };
  for (const d of ['sources', 'lists/partial', 'cache/archives/partial']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  if (!fs.existsSync(path.join(dir, 'status'))) fs.writeFileSync(path.join(dir, 'status'), '');
  const written: string[] = [];
  for (const f of machineSourceFiles()) {
    const deb822 = f.endsWith('.sources');
    const entries = debianEntries(fs.readFileSync(f, 'utf8'), own, deb822);
    if (!entries.trim()) continue;
    const name = `machine-${path.basename(f).replace(/\.(sources|list)$/, '')}.${deb822 ? 'sources' : 'list'}`;
    const text = retargetSources(entries, own, suite) + '\n';
    const dest = path.join(dir, 'sources', name);
    if (!fs.existsSync(dest) || fs.readFileSync(dest, 'utf8') !== text) {
      fs.writeFileSync(`${dest}.tmp`, text);
      fs.renameSync(`${dest}.tmp`, dest);
    }
    written.push(name);
  }
  if (written.length === 0) {
    throw new InfraError('packages', `no Debian ${own} entry in the machine's apt sources (${machineSourceFiles().join(', ') || 'none'}) to copy for ${suite}`);
  }
  const lists = fs.readdirSync(path.join(dir, 'lists')).filter((f) => f.endsWith('_Packages') || /_Packages\.(lz4|gz|xz)$/.test(f));
  const fresh = lists.length > 0 && Date.now() - fs.statSync(path.join(dir, 'lists', lists[0])).mtimeMs < 24 * 3600 * 1000;
  if (!fresh) updatePrivate(a, log);
  return a;
}

/** apt-get update of the private lists only. */
export function updatePrivate(a: PrivateApt, log: (s: string) => void): void {
  log(`apt-get update (private lists for ${a.suite}/${a.arch} in ${a.dir})`);
  const r = run('apt-get', [...a.options, 'update', '-q'], { timeoutMs: 300_000 });
  if (r.status !== 0) throw new InfraError('packages', `apt-get update for ${a.suite}/${a.arch} failed (exit ${r.status}): ${tail(r.stderr)}`);
}

/**
 * The image packages of a spec that the archive has, best first: the one the flavour's meta
 * package (linux-image-[cloud-]amd64) depends on, then the others of the series, newest first
 * (a mirror may lack the newest file, as it lacked 5.10.0-46's cloud image here).
 */
export function candidatePackages(spec: KernelSpec, a: PrivateApt): string[] {
  const meta = spec.image !== undefined ? `linux-image-${spec.image}` : `linux-image-${spec.flavour}${spec.arch}`;
  const dep = run('apt-cache', [...a.options, 'depends', meta]);
  const preferred: string[] = [];
  for (const m of dep.stdout.matchAll(/Depends:\s+(linux-image-\S+)/g)) {
    const v = kernelVersionOf(spec, m[1]);
    if (v) preferred.push(packageName(spec, v));
  }
  const esc = spec.series.replace(/\./g, '\\.');
  const search = run('apt-cache', [...a.options, 'search', '--names-only', `^linux-image-${esc}\\..*-${imageSuffix(spec)}$`]);
  const others = [...search.stdout.matchAll(/^(linux-image-\S+) /gm)].map((m) => m[1])
    .filter((p) => kernelVersionOf(spec, p) !== null)
    .sort((x, y) => compareKernelVersions(kernelVersionOf(spec, y)!, kernelVersionOf(spec, x)!));
  const all = [...new Set([...preferred, ...others])];
  if (all.length === 0) {
    throw new InfraError('download', `apt-cache (private lists for ${a.suite}/${a.arch}) knows no linux-image-${spec.series}.*-${imageSuffix(spec)} package`);
  }
  return all;
}

/**
 * The cached .deb for `pkg`, downloading it with apt-get download when absent. The download
 * goes to a private temporary folder and is renamed into place, so a concurrent reader never
 * sees half a file.
 */
export function fetchDeb(pkg: string, cacheDir: string, log: (s: string) => void, a?: PrivateApt): string {
  fs.mkdirSync(cacheDir, { recursive: true });
  const have = fs.readdirSync(cacheDir).filter((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb')).sort();
  if (have.length) return path.join(cacheDir, have[have.length - 1]);
  log(`apt-get download ${pkg}${a ? ` (${a.suite}/${a.arch})` : ''}`);
  const tmp = fs.mkdtempSync(path.join(cacheDir, '.dl-'));
  try {
    const r = run('apt-get', [...(a?.options ?? []), 'download', pkg], { cwd: tmp, timeoutMs: 600_000 });
    const got = fs.readdirSync(tmp).filter((f) => f.endsWith('.deb'));
    if (r.status !== 0 || got.length !== 1) {
      throw new InfraError('download', `apt-get download ${pkg} failed (exit ${r.status}): ${tail(r.stderr)}`);
    }
    const dest = path.join(cacheDir, got[0]);
    fs.renameSync(path.join(tmp, got[0]), dest);
    return dest;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The first of the spec's candidate packages that is cached or downloads; `version` (from
 * --abi) keeps only the candidates whose kernel version contains it.
 */
export function fetchKernel(spec: KernelSpec, cacheRoot: string, log: (s: string) => void, version?: string):
{ pkg: string; deb: string; skipped: string[] } {
  const a = privateApt(cacheRoot, spec.suite, spec.arch, log);
  let cands = candidatePackages(spec, a);
  if (version !== undefined) {
    cands = cands.filter((p) => new RegExp(`[.-]${version.replace(/[.+]/g, '\\$&')}([+-]|$)`).test(kernelVersionOf(spec, p)!));
    if (!cands.length) throw new InfraError('download', `no ${spec.id} package with kernel version ${version} in ${spec.suite}`);
  }
  const skipped: string[] = [];
  const debs = path.join(cacheRoot, 'debs');
  for (const pkg of cands.slice(0, 4)) {
    try {
      return { pkg, deb: fetchDeb(pkg, debs, log, a), skipped };
    } catch (e) {
      if (!(e instanceof InfraError)) throw e;
      skipped.push(`${pkg}: ${e.message}`);
      log(`${pkg} could not be downloaded; trying the next one`);
    }
  }
  throw new InfraError('download', `no ${spec.id} package could be downloaded: ${skipped.join('; ')}`);
}

/** Where kernels, packages and private apt lists are cached: SOCKBRIDGE_KERNEL_CACHE or <repo>/.cache/kernels. */
export function kernelCacheRoot(repo: string): string {
  return process.env.SOCKBRIDGE_KERNEL_CACHE || path.join(repo, '.cache', 'kernels');
}

export function tail(s: string, lines = 6): string {
  return s.trim().split('\n').slice(-lines).join(' | ');
}
