/**
 * Build the static probe (native/static-probe.cc + native/road.cc, the addon's own core) for
 * an ABI with Debian's compilers, statically linked, cached under build/probe/<abi>/.
 *
 *   x86_64    g++ (the machine's own)
 *   i386      i686-linux-gnu-g++        (Debian g++-i686-linux-gnu)
 *   aarch64   aarch64-linux-gnu-g++     (Debian g++-aarch64-linux-gnu)
 *   mips64el  mips64el-linux-gnuabi64-g++ (Debian g++-mips64el-linux-gnuabi64, n64)
 *
 * The cache is keyed by the sources' SHA-256 and the compiler's version line: a change to
 * either rebuilds. The binary is written to a temporary name and renamed, so a reader never
 * sees half a file. node-addon-api is not involved: road.cc includes only libc headers.
 */
import { createHash } from 'crypto';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { AbiName } from '../abi/arch';

export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..');
const SOURCES = ['native/static-probe.cc', 'native/road.cc', 'native/road.h'];
const COMPILE = ['native/static-probe.cc', 'native/road.cc'];

export interface ProbeTarget {
  abi: AbiName;
  compiler: string;
  /** The Debian package that provides the compiler. */
  aptPackage: string;
}

export const PROBE_TARGETS: Record<AbiName, ProbeTarget> = {
  x86_64: { abi: 'x86_64', compiler: 'g++', aptPackage: 'g++' },
  i386: { abi: 'i386', compiler: 'i686-linux-gnu-g++', aptPackage: 'g++-i686-linux-gnu' },
  aarch64: { abi: 'aarch64', compiler: 'aarch64-linux-gnu-g++', aptPackage: 'g++-aarch64-linux-gnu' },
  mips64el: { abi: 'mips64el', compiler: 'mips64el-linux-gnuabi64-g++', aptPackage: 'g++-mips64el-linux-gnuabi64' },
};

/** The machine lacks a tool (compiler, emulator): the CLI exits 3 with this message. */
export class ToolMissingError extends Error {
  constructor(readonly tool: string, readonly aptPackage: string, detail = '') {
    super(`${tool} is not installed${detail ? ` (${detail})` : ''}: install the Debian package ${aptPackage} (apt-get install ${aptPackage})`);
    this.name = 'ToolMissingError';
  }
}

/** Where the probe for an ABI is (or will be) cached. */
export function probePath(abi: AbiName, root = PACKAGE_ROOT): string {
  return path.join(root, 'build', 'probe', abi, 'sockbridge-probe');
}

function compilerVersion(t: ProbeTarget): string {
  try {
    return execFileSync(t.compiler, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0];
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ToolMissingError(t.compiler, t.aptPackage, `needed to build the ${t.abi} probe`);
    throw e;
  }
}

export interface BuildResult {
  abi: AbiName;
  path: string;
  /** false when the cached binary was up to date. */
  built: boolean;
  compiler: string;
}

/**
 * The probe binary for `abi`, built if the cache is missing or stale. Throws ToolMissingError
 * when the cross compiler is not installed, or an Error with the compiler's output.
 */
export function buildProbe(abi: AbiName, opts: { root?: string; force?: boolean } = {}): BuildResult {
  const t = PROBE_TARGETS[abi];
  if (!t) throw new RangeError(`no probe target for ABI "${abi}": expected one of ${Object.keys(PROBE_TARGETS).join(', ')}`);
  const root = opts.root ?? PACKAGE_ROOT;
  const version = compilerVersion(t);
  const h = createHash('sha256');
  for (const s of SOURCES) h.update(s).update('\0').update(fs.readFileSync(path.join(root, s))).update('\0');
  h.update(version);
  const key = h.digest('hex');
  const out = probePath(abi, root);
  const stampFile = path.join(path.dirname(out), 'stamp.json');
  if (!opts.force && fs.existsSync(out)) {
    try {
      const stamp = JSON.parse(fs.readFileSync(stampFile, 'utf8')) as { key?: string };
      if (stamp.key === key) return { abi, path: out, built: false, compiler: version };
    } catch {
      // No or broken stamp: rebuild.
    }
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    execFileSync(t.compiler, [
      '-static', '-O2', '-std=c++17', '-fno-exceptions', '-fno-rtti', '-pthread', '-Wall',
      '-o', tmp, ...COMPILE.map((s) => path.join(root, s)),
    ], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    const err = e as { stderr?: string; message: string };
    throw new Error(`building the ${abi} probe with ${t.compiler} failed: ${(err.stderr ?? err.message).trim()}`);
  }
  fs.renameSync(tmp, out);
  fs.writeFileSync(stampFile, JSON.stringify({ key, compiler: version, sources: SOURCES }) + '\n');
  return { abi, path: out, built: true, compiler: version };
}
