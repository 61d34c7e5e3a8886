/**
 * Debian packages for the kernel runs: the host tools (qemu, busybox, kmod, cpio) installed
 * with apt-get when missing, and the kernel image packages fetched with apt-get download into
 * a cache folder that other runs (and other engineers) share.
 *
 * Everything comes from the machine's configured Debian archive through apt; nothing is
 * fetched from anywhere else.
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
export function ensureHostPackages(log: (s: string) => void): void {
  const missing = HOST_PACKAGES.filter((p) => !isInstalled(p.pkg)).map((p) => p.pkg);
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

/** A kernel to boot: which Debian flavour, and the name used for its output folder. */
export interface KernelSpec {
  /** Output folder name and report column, e.g. "debian-6.1-generic". */
  id: string;
  /** "" for the generic flavour, "cloud-" for the cloud flavour. */
  flavour: '' | 'cloud-';
  /** Upstream series: the packages are linux-image-<series>.0-<abi>-<flavour>amd64-unsigned. */
  series: string;
}

export const KNOWN_KERNELS: readonly KernelSpec[] = [
  { id: 'debian-6.1-generic', flavour: '', series: '6.1' },
  { id: 'debian-6.1-cloud', flavour: 'cloud-', series: '6.1' },
];

export function packageName(spec: KernelSpec, abi: number): string {
  return `linux-image-${spec.series}.0-${abi}-${spec.flavour}amd64-unsigned`;
}

/**
 * The ABI number N of linux-image-<series>.0-N-...: the one the archive's meta package
 * (linux-image-amd64 / linux-image-cloud-amd64) points at when it points into the series,
 * else the highest N apt-cache lists for the series. Both flavours then use the same N.
 */
export function discoverAbi(spec: KernelSpec): number {
  const meta = spec.flavour === 'cloud-' ? 'linux-image-cloud-amd64' : 'linux-image-amd64';
  const esc = spec.series.replace('.', '\\.');
  const dep = run('apt-cache', ['depends', meta]);
  const m = new RegExp(`linux-image-${esc}\\.0-(\\d+)-${spec.flavour}amd64`).exec(dep.stdout);
  if (dep.status === 0 && m) return Number(m[1]);
  const search = run('apt-cache', ['search', '--names-only', `^linux-image-${esc}\\.0-[0-9]+-${spec.flavour}amd64-unsigned$`]);
  const abis = [...search.stdout.matchAll(new RegExp(`^linux-image-${esc}\\.0-(\\d+)-${spec.flavour}amd64-unsigned `, 'gm'))]
    .map((x) => Number(x[1]));
  if (abis.length === 0) {
    throw new InfraError('download',
      `apt-cache knows no linux-image-${spec.series}.0-N-${spec.flavour}amd64-unsigned package ` +
      `(is the Debian ${spec.series === '6.1' ? 'bookworm' : ''} archive in the apt sources, and was apt-get update run?)`);
  }
  return Math.max(...abis);
}

/**
 * The cached .deb for `pkg`, downloading it with apt-get download when absent. The download
 * goes to a private temporary folder and is renamed into place, so a concurrent reader never
 * sees half a file.
 */
export function fetchDeb(pkg: string, cacheDir: string, log: (s: string) => void): string {
  fs.mkdirSync(cacheDir, { recursive: true });
  const have = fs.readdirSync(cacheDir).filter((f) => f.startsWith(`${pkg}_`) && f.endsWith('_amd64.deb')).sort();
  if (have.length) return path.join(cacheDir, have[have.length - 1]);
  log(`apt-get download ${pkg}`);
  const tmp = fs.mkdtempSync(path.join(cacheDir, '.dl-'));
  try {
    let r = run('apt-get', ['download', pkg], { cwd: tmp, timeoutMs: 600_000 });
    if (r.status !== 0 && /Unable to locate|has no installation candidate/.test(r.stderr)) {
      run('apt-get', ['update', '-q'], { timeoutMs: 300_000 });
      r = run('apt-get', ['download', pkg], { cwd: tmp, timeoutMs: 600_000 });
    }
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

export function tail(s: string, lines = 6): string {
  return s.trim().split('\n').slice(-lines).join(' | ');
}
