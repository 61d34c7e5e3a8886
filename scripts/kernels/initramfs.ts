/**
 * From a Debian kernel package to a bootable (vmlinuz, initramfs) pair that runs sockbridge.
 *
 * The initramfs holds busybox (the shell, the tools, and /sbin/modprobe: the helper the kernel's
 * request_module() runs), the kernel's modules that socket() can reach, node with the libraries
 * it links, setpriv for the unprivileged run, and the built sockbridge package.
 *
 * Why busybox's modprobe and not kmod's, which a Debian system runs: every socket() for a family
 * with no module runs the helper once, and under TCG kmod (dynamically linked against libcrypto,
 * liblzma, libzstd) costs ~105 ms a run where static busybox costs ~20 ms. Both load every module
 * an alias names, with its modules.dep dependencies, which is all socket() can see. kmod stays
 * available in the guest as /bin/kmod (and with --modprobe kmod it is /sbin/modprobe).
 *
 * Which modules: everything under kernel/net, kernel/crypto, kernel/lib and the x86 crypto
 * drivers, plus every module that answers an alias socket() asks for (net-pf-*, bt-proto-*,
 * can-proto-*: pppoe and friends live under drivers/), plus what those depend on. depmod then
 * writes modules.alias and modules.dep for exactly that set, so the guest's profile describes
 * the modules the guest really has.
 */
import * as fs from 'fs';
import * as path from 'path';
import { InfraError, run, tail } from './apt';

export interface ExtractedKernel {
  /** uname -r of the kernel, e.g. "6.1.0-56-cloud-amd64". */
  release: string;
  /** Root of the extracted package (holds boot/ and lib/modules/). */
  root: string;
  vmlinuz: string;
  config: string;
}

/** dpkg-deb -x the package once (a marker file records a finished extraction). */
export function extractKernel(deb: string, workDir: string): ExtractedKernel {
  const root = path.join(workDir, path.basename(deb, '.deb'));
  const marker = path.join(root, '.sockbridge-extracted');
  if (!fs.existsSync(marker)) {
    fs.rmSync(root, { recursive: true, force: true });
    fs.mkdirSync(root, { recursive: true });
    const r = run('dpkg-deb', ['-x', deb, root], { timeoutMs: 600_000 });
    if (r.status !== 0) throw new InfraError('extract', `dpkg-deb -x ${deb} failed (exit ${r.status}): ${tail(r.stderr)}`);
    fs.writeFileSync(marker, new Date().toISOString() + '\n');
  }
  // Merged /usr (trixie on): the modules are under usr/lib/modules. A lib -> usr/lib link, as on
  // the installed system, lets depmod -b (kmod 30 looks in <base>/lib/modules) and the rest read
  // one layout.
  if (!fs.existsSync(path.join(root, 'lib')) && fs.existsSync(path.join(root, 'usr', 'lib', 'modules'))) {
    fs.symlinkSync('usr/lib', path.join(root, 'lib'));
  }
  const mods = path.join(root, 'lib', 'modules');
  const rels = fs.existsSync(mods) ? fs.readdirSync(mods) : [];
  if (rels.length !== 1) throw new InfraError('extract', `${deb}: expected one folder in lib/modules or usr/lib/modules, found [${rels.join(', ')}]`);
  const release = rels[0];
  const vmlinuz = path.join(root, 'boot', `vmlinuz-${release}`);
  const config = path.join(root, 'boot', `config-${release}`);
  for (const f of [vmlinuz, config]) {
    if (!fs.existsSync(f)) throw new InfraError('extract', `${deb}: no ${path.relative(root, f)} in the package`);
  }
  return { release, root, vmlinuz, config };
}

/** modules.dep text -> module path (relative to /lib/modules/REL) -> paths it depends on. */
export function parseModulesDep(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    out.set(line.slice(0, i), line.slice(i + 1).trim().split(/\s+/).filter(Boolean));
  }
  return out;
}

/** modules.alias text -> [alias pattern, module name]. */
export function parseModulesAlias(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of text.split('\n')) {
    const m = /^alias\s+(\S+)\s+(\S+)/.exec(line);
    if (m) out.push([m[1], m[2]]);
  }
  return out;
}

/** A module file's compression, by extension ('' for a plain .ko). */
export function moduleCompression(relPath: string): '' | 'gz' | 'xz' | 'zst' {
  const m = /\.ko\.(gz|xz|zst)$/.exec(relPath);
  return m ? (m[1] as 'gz' | 'xz' | 'zst') : '';
}

/**
 * Whether the guest's modprobe loads a module compressed this way, or the initramfs must hold it
 * decompressed. busybox's modprobe tries finit_module() on the file (which a kernel takes only
 * for a plain .ko when called with flags 0), then reads it through its own unpackers: gzip,
 * bzip2, xz and lzma when built with them - an unxz / gunzip applet shows the unpacker is there -
 * and never zstd (busybox has no zstd decoder). kmod unpacks what it was built with ("+ZSTD +XZ
 * -ZLIB" in `kmod --version` on Debian bookworm).
 */
export function guestLoads(kind: 'gz' | 'xz' | 'zst', helper: 'busybox' | 'kmod', busyboxApplets: Set<string>, kmodFeatures: string): boolean {
  if (helper === 'busybox') return kind === 'xz' ? busyboxApplets.has('unxz') : kind === 'gz' ? busyboxApplets.has('gunzip') : false;
  const feature = { gz: 'ZLIB', xz: 'XZ', zst: 'ZSTD' }[kind];
  return new RegExp(`\\+${feature}\\b`).test(kmodFeatures);
}

/** Decompress a module file into `to` with the host's xz / zstd / gzip. */
function decompressModule(from: string, to: string, kind: 'gz' | 'xz' | 'zst'): void {
  const tool = { gz: 'gzip', xz: 'xz', zst: 'zstd' }[kind];
  fs.mkdirSync(path.dirname(to), { recursive: true });
  const r = run('sh', ['-c', `${tool} -dc < "$1" > "$2"`, 'sh', from, to]);
  if (r.status !== 0) throw new InfraError('initramfs', `${tool} -dc ${from} failed (exit ${r.status}): ${tail(r.stderr)} (is ${tool} installed?)`);
}

/** Module name as the kernel and modules.alias spell it: basename without .ko*, '-' -> '_'. */
export function moduleName(relPath: string): string {
  return path.basename(relPath).replace(/\.ko(\.(gz|xz|zst))?$/, '').replace(/-/g, '_');
}

/** Aliases that the socket() path hands to request_module(). */
export const SOCKET_ALIAS = /^(net-pf-|bt-proto-|can-proto-|nfc-proto-|pppox-proto-)/;
/** Module folders taken whole. */
export const WHOLE_DIRS = ['kernel/net/', 'kernel/crypto/', 'kernel/lib/', 'kernel/arch/x86/crypto/'];

/** The module files to put in the initramfs: the folders above, socket aliases, dependency closure. */
export function selectModules(dep: Map<string, string[]>, aliases: Array<[string, string]>): string[] {
  const byName = new Map<string, string>();
  for (const p of dep.keys()) byName.set(moduleName(p), p);
  const want = new Set<string>();
  const add = (p: string): void => {
    if (want.has(p)) return;
    want.add(p);
    for (const d of dep.get(p) ?? []) add(d);
  };
  for (const p of dep.keys()) if (WHOLE_DIRS.some((d) => p.startsWith(d))) add(p);
  for (const [alias, mod] of aliases) {
    if (!SOCKET_ALIAS.test(alias)) continue;
    const p = byName.get(mod.replace(/-/g, '_'));
    if (p) add(p);
  }
  return [...want].sort();
}

/** Shared libraries and the dynamic loader an ELF binary needs, per ldd. */
export function sharedLibraries(binary: string): string[] {
  const r = run('ldd', [binary]);
  if (r.status !== 0) {
    if (/not a dynamic executable/.test(r.stdout + r.stderr)) return [];
    throw new InfraError('initramfs', `ldd ${binary} failed: ${tail(r.stderr)}`);
  }
  const libs: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

function which(cmd: string): string {
  const r = run('sh', ['-c', `command -v ${cmd}`]);
  const p = r.stdout.trim();
  if (r.status !== 0 || !p.startsWith('/')) throw new InfraError('initramfs', `${cmd} is not installed on this host (needed in the guest)`);
  return fs.realpathSync(p);
}

/**
 * The socket path's modules of an extracted kernel package: depmod -b describes the whole
 * package (Debian ships no modules.dep), then selectModules keeps what socket() can request
 * and their dependencies. Paths are relative to `src`, the package's modules folder.
 */
export function packageSocketModules(kernel: ExtractedKernel): { src: string; mods: string[] } {
  const src = path.join(kernel.root, 'lib/modules', kernel.release);
  const dm = run('depmod', ['-b', kernel.root, kernel.release]);
  if (dm.status !== 0) throw new InfraError('initramfs', `depmod -b ${kernel.root} failed: ${tail(dm.stderr)}`);
  const dep = parseModulesDep(fs.readFileSync(path.join(src, 'modules.dep'), 'utf8'));
  const aliases = parseModulesAlias(fs.readFileSync(path.join(src, 'modules.alias'), 'utf8'));
  return { src, mods: selectModules(dep, aliases) };
}

/**
 * After the chosen modules are in root's lib/modules/<release>: the package's builtin lists
 * and module order, the config, then depmod -b describes that subset for the guest's modprobe.
 */
export function describeModules(root: string, src: string, kernel: ExtractedKernel): void {
  const dst = `lib/modules/${kernel.release}`;
  for (const f of ['modules.builtin', 'modules.builtin.modinfo', 'modules.order']) {
    if (fs.existsSync(path.join(src, f))) put(root, path.join(dst, f), path.join(src, f));
  }
  put(root, `boot/config-${kernel.release}`, kernel.config);
  const dm = run('depmod', ['-b', root, kernel.release]);
  if (dm.status !== 0) throw new InfraError('initramfs', `depmod -b ${root} failed: ${tail(dm.stderr)}`);
}

/** Copy (hard link when possible) src to root/dest, making folders. */
export function put(root: string, dest: string, src: string, mode?: number): void {
  const to = path.join(root, dest);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  if (fs.existsSync(to)) return;
  if (mode !== undefined) {
    // A copy, not a link: chmod on a link would change the original's mode too.
    fs.copyFileSync(src, to);
    fs.chmodSync(to, mode);
    return;
  }
  try {
    fs.linkSync(src, to);
  } catch {
    fs.copyFileSync(src, to);
  }
}

function putTree(root: string, dest: string, src: string): void {
  if (!fs.existsSync(src)) return;
  const st = fs.statSync(src);
  if (st.isDirectory()) {
    for (const e of fs.readdirSync(src)) putTree(root, path.join(dest, e), path.join(src, e));
  } else if (st.isFile()) {
    put(root, dest, src);
  }
}

/** A binary and its libraries, at the same paths as on this host. */
function putBinary(root: string, bin: string): void {
  put(root, bin, bin);
  for (const lib of sharedLibraries(bin)) put(root, lib, fs.realpathSync(lib));
}

export interface GuestJob {
  /** Frame name; [A-Za-z0-9_.-]. */
  name: string;
  who: 'root' | 'user';
  /** A shell command run in /opt/sockbridge. */
  cmd: string;
}

export interface InitramfsInput {
  kernel: ExtractedKernel;
  /** Package snapshot (snapshotPackage) whose files go to /opt/sockbridge. */
  packageRoot: string;
  /** The /init script. */
  initScript: string;
  jobs: GuestJob[];
  /** Which program request_module() runs as /sbin/modprobe (see the head of this file). */
  modprobe: 'busybox' | 'kmod';
  /** Staging folder (recreated) and output file. */
  stageDir: string;
  output: string;
}

export interface InitramfsResult {
  output: string;
  bytes: number;
  modules: number;
  /** How the package's modules were compressed ("plain .ko", "xz", "zst"). */
  compression: string[];
  /** Modules the initramfs holds decompressed because the guest's modprobe cannot read them, by kind. */
  decompressed: Record<string, number>;
}

/** Files of the package the guest needs to run bin/sockbridge.js. */
export const PACKAGE_FILES = [
  'package.json', 'bin', 'dist/lib', 'dist/scripts/kernels', 'build/Release/sockbridge.node',
  'node_modules/bindings', 'node_modules/file-uri-to-path',
];

/**
 * Copy the package files the guest needs to `dest` (real copies: dist/ is rebuilt by every tsc
 * run in the tree, and both the guest and the offline comparison must run this one version).
 */
export function snapshotPackage(packageRoot: string, dest: string): string {
  fs.rmSync(dest, { recursive: true, force: true });
  for (const f of PACKAGE_FILES) {
    const from = path.join(packageRoot, f);
    if (!fs.existsSync(from)) {
      throw new InfraError('initramfs', `${from} is missing: build the package first (npx tsc -p . and npx node-gyp rebuild)`);
    }
    fs.cpSync(from, path.join(dest, f), { recursive: true, dereference: true });
  }
  return dest;
}

export function buildInitramfs(inp: InitramfsInput): InitramfsResult {
  const { kernel, stageDir: root } = inp;
  for (const j of inp.jobs) {
    if (!/^[A-Za-z0-9_.-]+$/.test(j.name)) throw new Error(`guest job name "${j.name}" must match [A-Za-z0-9_.-]+`);
    if (/\n/.test(j.cmd)) throw new Error(`guest job ${j.name}: the command must be one line`);
  }
  fs.rmSync(root, { recursive: true, force: true });
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'proc', 'sys', 'dev', 'tmp', 'etc', 'job', 'opt/sockbridge', 'root']) {
    fs.mkdirSync(path.join(root, d), { recursive: true });
  }

  // busybox and its applets; the module tools are kmod's, as on a Debian system.
  put(root, 'bin/busybox', which('busybox'), 0o755);
  const list = run('/bin/busybox', ['--list-full']);
  if (list.status !== 0) throw new InfraError('initramfs', `busybox --list-full failed: ${tail(list.stderr)}`);
  const kmodTools = new Set(inp.modprobe === 'kmod' ? ['modprobe', 'insmod', 'rmmod', 'lsmod', 'depmod', 'modinfo'] : []);
  for (const applet of list.stdout.split('\n').filter(Boolean)) {
    const name = path.basename(applet);
    if (kmodTools.has(name) || name === 'setpriv' || applet === 'bin/busybox') continue; // the real ones follow
    const link = path.join(root, applet);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    if (!fs.existsSync(link)) fs.symlinkSync('/bin/busybox', link);
  }
  putBinary(root, '/bin/kmod');
  for (const t of kmodTools) fs.symlinkSync('/bin/kmod', path.join(root, 'sbin', t));
  putBinary(root, which('node'));
  if (which('node') !== '/usr/bin/node') fs.symlinkSync(which('node'), path.join(root, 'usr/bin/node'));
  putBinary(root, which('setpriv'));
  fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/tmp:/bin/sh\n');
  fs.writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');

  // Modules: choose from the full package's dependency data, then let depmod describe the subset.
  const { src, mods } = packageSocketModules(kernel);
  const dst = `lib/modules/${kernel.release}`;
  const applets = new Set(list.stdout.split('\n').filter(Boolean).map((a) => path.basename(a)));
  const kmodFeatures = run('/bin/kmod', ['--version']).stdout;
  const decompressed: Record<string, number> = {};
  for (const m of mods) {
    const kind = moduleCompression(m);
    if (kind && !guestLoads(kind, inp.modprobe, applets, kmodFeatures)) {
      // The helper cannot read it: the initramfs holds it as a plain .ko (depmod below lists it so).
      decompressModule(path.join(src, m), path.join(root, dst, m.replace(/\.(gz|xz|zst)$/, '')), kind);
      decompressed[kind] = (decompressed[kind] ?? 0) + 1;
    } else {
      put(root, path.join(dst, m), path.join(src, m));
    }
  }
  describeModules(root, src, kernel);

  // The package.
  for (const f of PACKAGE_FILES) {
    const from = path.join(inp.packageRoot, f);
    if (!fs.existsSync(from)) throw new InfraError('initramfs', `${from} is missing from the package snapshot`);
    putTree(root, path.join('opt/sockbridge', f), from);
  }
  // The i386 static probe and its cases (issue 13's ia32 jobs), when the runner could build it.
  if (fs.existsSync(path.join(inp.packageRoot, 'build', 'probe'))) putTree(root, 'opt/sockbridge/build/probe', path.join(inp.packageRoot, 'build', 'probe'));

  put(root, 'init', inp.initScript, 0o755);
  fs.writeFileSync(path.join(root, 'job/jobs'), inp.jobs.map((j) => `${j.name} ${j.who} ${j.cmd}\n`).join(''));

  fs.mkdirSync(path.dirname(inp.output), { recursive: true });
  const tmp = `${inp.output}.tmp`;
  const c = run('sh', ['-c', `cd "${root}" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1 > "${tmp}"`],
    { timeoutMs: 600_000 });
  if (c.status !== 0) throw new InfraError('initramfs', `cpio/gzip of ${root} failed: ${tail(c.stderr)}`);
  fs.renameSync(tmp, inp.output);
  const kinds = [...new Set(mods.map(moduleCompression))].map((k) => k || 'plain .ko');
  return { output: inp.output, bytes: fs.statSync(inp.output).size, modules: mods.length, compression: kinds, decompressed };
}
