/**
 * Real containers: the sweep inside a Podman container run by runc, under a seccomp profile the
 * container runtime installed, compared case by case (issue 11).
 *
 *   image:   node, the libraries it and libseccomp need, and this checkout (bin, dist, the built
 *            addon, its two runtime packages, the test profiles), as a tar made here and read by
 *            `podman import` (no registry);
 *   storage: a private --root/--runroot under a temporary folder, removed afterwards;
 *   run:     podman --runtime runc --cgroup-manager=cgroupfs run --network=none
 *            --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 [--security-opt seccomp=FILE]
 *            -v /lib/modules:/lib/modules:ro IMAGE node sockbridge sweep --variants self
 *            --seccomp-in-force FILE --format jsonl
 *
 * Inside, the filter runc installed cannot be read back (the container holds no CAP_SYS_ADMIN,
 * and a filtered process can never read filters); --seccomp-in-force tells the model which
 * profile the runtime compiled, and the sweep checks that the model then agrees with every call.
 *
 * Usage: node dist/scripts/podman/container.js [podman-default|FILE.json ...]
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
export const PODMAN_DEFAULT_PROFILE = '/usr/share/containers/seccomp.json';

export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = path.join(dir, cmd);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}

/** Why Podman with runc cannot run here, or null. */
export function podmanUnavailable(): string | null {
  if (process.geteuid?.() !== 0) return 'needs root (rootful Podman with runc)';
  for (const c of ['podman', 'runc']) if (!which(c)) return `${c} is not installed (Debian packages podman, runc, golang-github-containers-common)`;
  if (!fs.existsSync(PODMAN_DEFAULT_PROFILE)) return `${PODMAN_DEFAULT_PROFILE} is missing (package golang-github-containers-common)`;
  return null;
}

function libsOf(file: string): string[] {
  const r = spawnSync('ldd', [file], { encoding: 'utf8' });
  const out: string[] = [];
  for (const m of (r.stdout ?? '').matchAll(/(\/\S+) \(0x/g)) out.push(m[1]);
  for (const m of (r.stdout ?? '').matchAll(/^\s*(\/\S+) \(0x/gm)) out.push(m[1]);
  return [...new Set(out)];
}

/**
 * The rootfs as a tar: node and the libraries it and libseccomp load, each under its real
 * path, the merged-/usr links (lib -> usr/lib, lib64 -> usr/lib64, bin -> usr/bin) and the
 * loader's link as the host has them, and the package under /sb.
 */
function makeRootfsTar(dir: string): string {
  const node = fs.realpathSync(process.execPath);
  const libseccomp = ['/usr/lib/x86_64-linux-gnu/libseccomp.so.2', '/lib/x86_64-linux-gnu/libseccomp.so.2'].find((p) => fs.existsSync(p));
  const wanted = new Set<string>([node, ...libsOf(node)]);
  if (libseccomp) { wanted.add(libseccomp); for (const l of libsOf(fs.realpathSync(libseccomp))) wanted.add(l); }
  const stage = path.join(dir, 'rootfs');
  fs.mkdirSync(stage, { recursive: true });
  // Every wanted path: its real file copied to the same real path, and every symlink met on
  // the way (the path itself, and the directory links of merged /usr) recreated as it is.
  const place = (p: string): void => {
    let cur = '/';
    for (const part of p.split('/').filter(Boolean)) {
      const next = path.join(cur, part);
      const st = fs.lstatSync(next);
      const dst = path.join(stage, next);
      if (st.isSymbolicLink()) {
        const target = fs.readlinkSync(next);
        if (!fs.existsSync(dst) && !isLink(dst)) { fs.mkdirSync(path.dirname(dst), { recursive: true }); fs.symlinkSync(target, dst); }
        place(path.resolve(path.dirname(next), target));
        const rest = p.slice(next.length);
        if (rest) place(fs.realpathSync(next) + rest);
        return;
      }
      if (st.isDirectory()) { if (!fs.existsSync(dst)) fs.mkdirSync(dst, { recursive: true }); cur = next; continue; }
      fs.mkdirSync(path.dirname(dst), { recursive: true });
      fs.copyFileSync(next, dst);
      fs.chmodSync(dst, st.mode & 0o7777);
      return;
    }
  };
  for (const f of wanted) place(f);
  // The package as it is in this checkout, under /sb.
  const sb = path.join(stage, 'sb');
  for (const p of ['package.json', 'bin', 'dist/lib', 'build/Release/sockbridge.node', 'node_modules/bindings', 'node_modules/file-uri-to-path', 'test/fixtures/seccomp']) {
    fs.cpSync(path.join(ROOT, p), path.join(sb, p), { recursive: true, dereference: true });
  }
  fs.mkdirSync(path.join(sb, 'profiles'), { recursive: true });
  fs.copyFileSync(PODMAN_DEFAULT_PROFILE, path.join(sb, 'profiles', 'podman-default.json'));
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'etc']) fs.mkdirSync(path.join(stage, d), { recursive: true });
  const tar = path.join(dir, 'rootfs.tar');
  const r = spawnSync('tar', ['-cf', tar, '-C', stage, '.'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar of the image failed: ${r.stderr}`);
  return tar;
}

function isLink(p: string): boolean {
  try { return fs.lstatSync(p).isSymbolicLink(); } catch { return false; }
}

export interface ContainerRun {
  profile: string;
  status: number | null;
  /** The jsonl summary line of the variant. */
  summary: Record<string, unknown> | null;
  notMatching: Array<Record<string, unknown>>;
  stderr: string;
  seconds: number;
}

/** Build the image in private storage, run one sweep per profile, clean up. */
export function runInPodman(profiles: Array<{ name: string; hostFile: string | null; insideFile: string }>, sweepArgs: string[] = []): ContainerRun[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-podman-'));
  const g = ['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'runroot'), '--runtime', 'runc', '--cgroup-manager=cgroupfs', '--events-backend', 'none'];
  try {
    const tar = makeRootfsTar(dir);
    const imp = spawnSync('podman', [...g, 'import', tar, 'sockbridge-test:local'], { encoding: 'utf8' });
    if (imp.status !== 0) throw new Error(`podman import failed: ${imp.stderr}`);
    const out: ContainerRun[] = [];
    for (const p of profiles) {
      const t0 = Date.now();
      const args = [...g, 'run', '--rm', '--network=none', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024',
        // The kernel's modules (modules.alias, modules.dep) are host facts the model needs.
        ...(fs.existsSync('/lib/modules') ? ['-v', '/lib/modules:/lib/modules:ro'] : []),
        ...(p.hostFile ? ['--security-opt', `seccomp=${p.hostFile}`] : []),
        'sockbridge-test:local', fs.realpathSync(process.execPath), '/sb/bin/sockbridge.js', 'sweep', '--variants', 'self',
        '--seccomp-in-force', p.insideFile, '--format', 'jsonl', '--no-progress', ...sweepArgs];
      const r = spawnSync('podman', args, { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
      let summary: Record<string, unknown> | null = null;
      const notMatching: Array<Record<string, unknown>> = [];
      for (const line of (r.stdout ?? '').split('\n')) {
        if (!line.startsWith('{')) continue;
        const j = JSON.parse(line) as Record<string, unknown>;
        if (j.kind === 'summary') summary = j;
        else if (j.kind === 'case' && j.verdict !== 'MATCH') notMatching.push(j);
      }
      out.push({ profile: p.name, status: r.status, summary, notMatching, stderr: r.stderr ?? '', seconds: (Date.now() - t0) / 1000 });
    }
    return out;
  } finally {
    spawnSync('podman', [...g, 'rmi', '-a', '-f'], { encoding: 'utf8' });
    spawnSync('podman', [...g, 'system', 'reset', '-f'], { encoding: 'utf8' });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const why = podmanUnavailable();
  if (why) {
    process.stderr.write(`cannot run Podman here: ${why}\n`);
    process.exit(3);
  }
  const names = process.argv.slice(2);
  const wanted = names.length ? names : ['podman-default', path.join(ROOT, 'test', 'fixtures', 'seccomp', 'docker-29.json')];
  const profiles = wanted.map((n) => (n === 'podman-default'
    ? { name: 'Podman default (runtime default, default capabilities)', hostFile: null, insideFile: '/sb/profiles/podman-default.json' }
    : { name: n, hostFile: path.resolve(n), insideFile: path.resolve(n).startsWith(path.join(ROOT, 'test', 'fixtures', 'seccomp')) ? `/sb/test/fixtures/seccomp/${path.basename(n)}` : (() => { throw new Error(`${n}: only podman-default and the profiles in test/fixtures/seccomp are in the image`); })() }));
  let bad = 0;
  for (const r of runInPodman(profiles)) {
    const s = r.summary ?? {};
    process.stdout.write(`${r.profile}: exit ${r.status}, ${s.total ?? '?'} cases, ${s.MATCH ?? '?'} MATCH, ${s.MISMATCH ?? '?'} MISMATCH, ${s.UNSUPPORTED ?? '?'} UNSUPPORTED (${r.seconds.toFixed(1)} s)\n`);
    for (const n of (s.notes as string[] | undefined) ?? []) process.stdout.write(`  note: ${n}\n`);
    for (const c of r.notMatching.slice(0, 5)) process.stdout.write(`  ${c.verdict} ${c.call}: ${JSON.stringify(c.diffs)} ${c.reason ?? ''}\n`);
    if (r.status !== 0 || !r.summary) { bad++; process.stdout.write(r.stderr.slice(-2000)); }
  }
  process.exit(bad ? 1 : 0);
}
