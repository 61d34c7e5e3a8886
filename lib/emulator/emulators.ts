/**
 * Syscall emulators sockbridge can put under test: Debian's qemu-user, one binary per guest
 * architecture. The kernel road for that ABI (the static probe, lib/static-probe/) runs inside
 * the emulator; whatever the emulator does with socket() and the observing calls is what the
 * probe sees.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { AbiName, EntryRoute } from '../abi/arch';
import { ToolMissingError } from '../static-probe/build';

export type EmulatorName = 'qemu-aarch64' | 'qemu-mips64el' | 'qemu-i386';

export interface EmulatorSpec {
  name: EmulatorName;
  /** The guest ABI the emulator runs. */
  abi: AbiName;
  /** The executables that provide it, in order of preference (Debian: qemu-user-static, then qemu-user). */
  binaries: string[];
  aptPackage: string;
  /** Entries the ABI has (i386 also has socketcall). */
  routes: EntryRoute[];
  about: string;
}

export const EMULATORS: Record<EmulatorName, EmulatorSpec> = {
  'qemu-aarch64': {
    name: 'qemu-aarch64', abi: 'aarch64', binaries: ['qemu-aarch64-static', 'qemu-aarch64'], aptPackage: 'qemu-user-static',
    routes: ['socket'], about: 'qemu user mode, arm64 (aarch64) guest',
  },
  'qemu-mips64el': {
    name: 'qemu-mips64el', abi: 'mips64el', binaries: ['qemu-mips64el-static', 'qemu-mips64el'], aptPackage: 'qemu-user-static',
    routes: ['socket'], about: 'qemu user mode, MIPS64 little-endian n64 guest',
  },
  'qemu-i386': {
    name: 'qemu-i386', abi: 'i386', binaries: ['qemu-i386-static', 'qemu-i386'], aptPackage: 'qemu-user-static',
    routes: ['socket', 'socketcall'], about: 'qemu user mode, 32-bit x86 guest (socket 359 or socketcall 102)',
  },
};

export const EMULATOR_NAMES = Object.keys(EMULATORS) as EmulatorName[];

/** The spec for a name, or a RangeError listing the valid names. */
export function emulatorByName(name: string): EmulatorSpec {
  const e = (EMULATORS as Record<string, EmulatorSpec>)[name];
  if (!e) {
    const { suggest } = require('../abi/names') as typeof import('../abi/names');
    throw new RangeError(`--emulator: unknown emulator "${name}"${suggest(name, EMULATOR_NAMES, '')}; valid: ${EMULATOR_NAMES.join(', ')}`);
  }
  return e;
}

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    if (dir === '') continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return null;
}

export interface FoundEmulator {
  spec: EmulatorSpec;
  /** Absolute path of the executable. */
  path: string;
  /** Its own version line, e.g. "qemu-aarch64 version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)". */
  version: string;
}

/** Find the emulator's executable; ToolMissingError (exit 3) naming the Debian package when it is not installed. */
export function findEmulator(spec: EmulatorSpec): FoundEmulator {
  for (const b of spec.binaries) {
    const p = which(b);
    if (!p) continue;
    const r = spawnSync(p, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    const version = r.status === 0 ? (r.stdout.split('\n')[0] ?? '').trim() : `(${b} --version failed: ${(r.stderr ?? '').trim() || r.status})`;
    return { spec, path: p, version };
  }
  throw new ToolMissingError(spec.binaries[0], spec.aptPackage, `the emulator for --emulator ${spec.name}; none of ${spec.binaries.join(', ')} is on PATH`);
}
