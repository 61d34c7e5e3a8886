/**
 * An OCI seccomp profile (the JSON that Docker, containerd, Podman and CRI-O read) turned into
 * the filter the runtime installs, as a host fact for the model.
 *
 *   1. the engine (moby profiles/seccomp, containers/common pkg/seccomp) picks what applies to
 *      this machine: the archMap entry of the native arch and its sub-architectures; each
 *      syscalls[] entry whose includes/excludes match the container's capabilities (all of
 *      includes.caps held, none of excludes.caps), arch and kernel (includes.minKernel);
 *   2. runc (libcontainer/seccomp) builds it with libseccomp: seccomp_init(defaultAction,
 *      ERRNO without errnoRet = EPERM), the arches added, a rule whose action equals the
 *      default skipped, a name libseccomp cannot resolve skipped, conditions on one argument
 *      index given twice split into separate rules (which then act as OR); binary-tree
 *      optimisation when there are more than 32 syscall entries;
 *   3. runc's patchbpf prepends a stub returning ENOSYS for syscall numbers above the largest
 *      the profile names on each arch (never socket: 41 is far below), then loads the program.
 *
 * libseccomp is the real one (libseccomp.so.2, loaded by the addon with dlopen): the program
 * is what seccomp_export_bpf writes, not a re-implementation.
 */
import * as fs from 'fs';
import { native } from '../../native';
import type { SeccompFilterInfo } from '../../types';
import { errnoName } from '../../abi/names';
import { compareRelease, parseRelease } from '../../kernel/release';
import { CAP_NAMES } from '../../ktrace/align';

/** A profile that cannot be used as given: names the file and the field. CLI exit 2. */
export class SeccompProfileError extends Error {
  constructor(readonly file: string, readonly field: string, message: string) {
    super(`${file}: ${field}: ${message}`);
    this.name = 'SeccompProfileError';
  }
}

/** libseccomp cannot be loaded here. CLI exit 3. */
export class SeccompUnavailableError extends Error {
  constructor(why: string) {
    super(`${why}. sockbridge compiles seccomp profiles with the system's libseccomp, as runc, crun and systemd do: ` +
      'install its runtime library (Debian/Ubuntu: apt-get install libseccomp2; Fedora: dnf install libseccomp). ' +
      'Without it the model still runs filters given as BPF (a host profile\'s security.filters), but cannot compile a profile.');
    this.name = 'SeccompUnavailableError';
  }
}

export const ACTIONS: Record<string, number> = {
  SCMP_ACT_KILL: 0x00000000, // runc: Kill -> ActKillThread
  SCMP_ACT_KILL_THREAD: 0x00000000,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: 0x00050000,
  SCMP_ACT_TRACE: 0x7ff00000,
  SCMP_ACT_ALLOW: 0x7fff0000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_NOTIFY: 0x7fc00000,
};

export const OPS: Record<string, number> = {
  SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6, SCMP_CMP_MASKED_EQ: 7,
};

/** OCI SCMP_ARCH_* -> libseccomp's arch name, AUDIT_ARCH_*, and Go's GOARCH (includes.arches). */
export const ARCHES: Record<string, { lib: string; audit: number; goarch: string }> = {
  SCMP_ARCH_X86: { lib: 'x86', audit: 0x40000003, goarch: '386' },
  SCMP_ARCH_X86_64: { lib: 'x86_64', audit: 0xc000003e, goarch: 'amd64' },
  SCMP_ARCH_X32: { lib: 'x32', audit: 0xc000003e, goarch: 'x32' },
  SCMP_ARCH_ARM: { lib: 'arm', audit: 0x40000028, goarch: 'arm' },
  SCMP_ARCH_AARCH64: { lib: 'aarch64', audit: 0xc00000b7, goarch: 'arm64' },
  SCMP_ARCH_MIPS: { lib: 'mips', audit: 0x00000008, goarch: 'mips' },
  SCMP_ARCH_MIPS64: { lib: 'mips64', audit: 0x80000008, goarch: 'mips64' },
  SCMP_ARCH_MIPS64N32: { lib: 'mips64n32', audit: 0xa0000008, goarch: 'mips64n32' },
  SCMP_ARCH_MIPSEL: { lib: 'mipsel', audit: 0x40000008, goarch: 'mipsle' },
  SCMP_ARCH_MIPSEL64: { lib: 'mipsel64', audit: 0xc0000008, goarch: 'mips64le' },
  SCMP_ARCH_MIPSEL64N32: { lib: 'mipsel64n32', audit: 0xe0000008, goarch: 'mips64n32le' },
  SCMP_ARCH_PPC: { lib: 'ppc', audit: 0x00000014, goarch: 'ppc' },
  SCMP_ARCH_PPC64: { lib: 'ppc64', audit: 0x80000015, goarch: 'ppc64' },
  SCMP_ARCH_PPC64LE: { lib: 'ppc64le', audit: 0xc0000015, goarch: 'ppc64le' },
  SCMP_ARCH_S390: { lib: 's390', audit: 0x00000016, goarch: 's390' },
  SCMP_ARCH_S390X: { lib: 's390x', audit: 0x80000016, goarch: 's390x' },
  SCMP_ARCH_PARISC: { lib: 'parisc', audit: 0x0000000f, goarch: 'parisc' },
  SCMP_ARCH_PARISC64: { lib: 'parisc64', audit: 0x8000000f, goarch: 'parisc64' },
  SCMP_ARCH_RISCV64: { lib: 'riscv64', audit: 0xc00000f3, goarch: 'riscv64' },
};

/** uname -m -> OCI arch name. */
const NATIVE_OF_MACHINE: Record<string, string> = {
  x86_64: 'SCMP_ARCH_X86_64', aarch64: 'SCMP_ARCH_AARCH64', i686: 'SCMP_ARCH_X86', i386: 'SCMP_ARCH_X86',
  armv7l: 'SCMP_ARCH_ARM', mips64: 'SCMP_ARCH_MIPSEL64', ppc64le: 'SCMP_ARCH_PPC64LE', s390x: 'SCMP_ARCH_S390X', riscv64: 'SCMP_ARCH_RISCV64',
};

export interface OciArg { index: number; value: bigint; valueTwo: bigint; op: string }
export interface OciSyscall {
  names: string[];
  action: string;
  errnoRet: number | null;
  args: OciArg[];
  includes: { caps: string[]; arches: string[]; minKernel: string | null };
  excludes: { caps: string[]; arches: string[]; minKernel: string | null };
  at: string;
}
export interface OciProfile {
  file: string;
  defaultAction: string;
  defaultErrnoRet: number | null;
  archMap: Array<{ architecture: string; subArchitectures: string[] }> | null;
  architectures: string[] | null;
  syscalls: OciSyscall[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse and check a profile's shape; names are checked against libseccomp by ociFilter. */
export function parseOciProfile(text: string, file: string): OciProfile {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new SeccompProfileError(file, '(file)', `not valid JSON (${(e as Error).message})`);
  }
  const bad = (field: string, msg: string): never => { throw new SeccompProfileError(file, field, msg); };
  if (!isObj(j)) bad('(file)', 'a seccomp profile is a JSON object with defaultAction and syscalls');
  const o = j as Record<string, unknown>;
  const action = (v: unknown, at: string): string => {
    if (typeof v !== 'string' || !(v in ACTIONS)) bad(at, `unknown action ${JSON.stringify(v)}; valid: ${Object.keys(ACTIONS).join(', ')}`);
    return v as string;
  };
  const errnoRet = (v: unknown, at: string): number | null => {
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) bad(at, `must be an errno number 0..65535 (got ${JSON.stringify(v)})`);
    return v as number;
  };
  const strings = (v: unknown, at: string): string[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad(at, `must be an array of strings (got ${JSON.stringify(v)})`);
    return v as string[];
  };
  const arch = (v: unknown, at: string): string => {
    if (typeof v !== 'string' || !(v in ARCHES)) bad(at, `unknown architecture ${JSON.stringify(v)}; valid: ${Object.keys(ARCHES).join(', ')}`);
    return v as string;
  };
  const u64 = (v: unknown, at: string): bigint => {
    if (v === undefined || v === null) return 0n;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) bad(at, `must be an unsigned integer (got ${JSON.stringify(v)})`);
    if (!Number.isSafeInteger(v)) bad(at, `${v} is above 2^53: a JSON number cannot hold it exactly`);
    return BigInt(v as number);
  };
  const filterSpec = (v: unknown, at: string) => {
    if (v === undefined || v === null) return { caps: [], arches: [], minKernel: null };
    if (!isObj(v)) bad(at, 'must be an object {caps, arches, minKernel}');
    const f = v as Record<string, unknown>;
    const mk = f.minKernel;
    if (mk !== undefined && mk !== null && (typeof mk !== 'string' || !/^\d+\.\d+/.test(mk))) bad(`${at}.minKernel`, `must be a kernel version like "4.8" (got ${JSON.stringify(mk)})`);
    return { caps: strings(f.caps, `${at}.caps`), arches: strings(f.arches, `${at}.arches`), minKernel: (mk as string | undefined) ?? null };
  };

  if (o.defaultAction === undefined) bad('defaultAction', 'is required');
  const defaultAction = action(o.defaultAction, 'defaultAction');
  if (defaultAction === 'SCMP_ACT_NOTIFY') bad('defaultAction', 'SCMP_ACT_NOTIFY cannot be the default action (runc refuses it)');
  const defaultErrnoRet = errnoRet(o.defaultErrnoRet, 'defaultErrnoRet');
  let archMap: OciProfile['archMap'] = null;
  if (o.archMap !== undefined && o.archMap !== null) {
    if (!Array.isArray(o.archMap)) bad('archMap', 'must be an array of {architecture, subArchitectures}');
    archMap = (o.archMap as unknown[]).map((e, i) => {
      if (!isObj(e)) bad(`archMap[${i}]`, 'must be an object {architecture, subArchitectures}');
      const m = e as Record<string, unknown>;
      return { architecture: arch(m.architecture, `archMap[${i}].architecture`), subArchitectures: strings(m.subArchitectures, `archMap[${i}].subArchitectures`).map((s, k) => arch(s, `archMap[${i}].subArchitectures[${k}]`)) };
    });
  }
  const architectures = o.architectures === undefined || o.architectures === null ? null
    : strings(o.architectures, 'architectures').map((s, k) => arch(s, `architectures[${k}]`));
  if (o.syscalls !== undefined && o.syscalls !== null && !Array.isArray(o.syscalls)) bad('syscalls', 'must be an array');
  const syscalls = ((o.syscalls ?? []) as unknown[]).map((e, i): OciSyscall => {
    const at = `syscalls[${i}]`;
    if (!isObj(e)) bad(at, 'must be an object {names, action, args?}');
    const s = e as Record<string, unknown>;
    const names = [...strings(s.names, `${at}.names`)];
    if (typeof s.name === 'string') names.push(s.name);
    if (names.length === 0) bad(`${at}.names`, 'is required: the syscalls the rule is for');
    names.forEach((n, k) => { if (n === '') bad(`${at}.names[${k}]`, 'an empty string is not a syscall name'); });
    if (s.action === undefined) bad(`${at}.action`, 'is required');
    const act = action(s.action, `${at}.action`);
    if (act === 'SCMP_ACT_NOTIFY' && names.includes('write')) bad(`${at}.action`, 'SCMP_ACT_NOTIFY cannot be used for write (runc refuses it)');
    if (s.args !== undefined && s.args !== null && !Array.isArray(s.args)) bad(`${at}.args`, 'must be an array of {index, value, valueTwo, op}');
    const args = ((s.args ?? []) as unknown[]).map((a, k): OciArg => {
      const aat = `${at}.args[${k}]`;
      if (!isObj(a)) bad(aat, 'must be an object {index, value, valueTwo, op}');
      const x = a as Record<string, unknown>;
      if (typeof x.index !== 'number' || !Number.isInteger(x.index) || x.index < 0 || x.index > 5) bad(`${aat}.index`, `must be an argument index 0..5 (a syscall has six arguments; got ${JSON.stringify(x.index)})`);
      if (typeof x.op !== 'string' || !(x.op in OPS)) bad(`${aat}.op`, `unknown operator ${JSON.stringify(x.op)}; valid: ${Object.keys(OPS).join(', ')}`);
      const value = u64(x.value, `${aat}.value`);
      const valueTwo = u64(x.valueTwo, `${aat}.valueTwo`);
      if (x.op !== 'SCMP_CMP_MASKED_EQ' && valueTwo !== 0n) bad(`${aat}.valueTwo`, `${x.op} compares with value only; valueTwo ${valueTwo} would be ignored (only SCMP_CMP_MASKED_EQ takes it: (arg & value) == valueTwo)`);
      return { index: x.index as number, value, valueTwo, op: x.op as string };
    });
    return { names, action: act, errnoRet: errnoRet(s.errnoRet, `${at}.errnoRet`), args, includes: filterSpec(s.includes, `${at}.includes`), excludes: filterSpec(s.excludes, `${at}.excludes`), at };
  });
  return { file, defaultAction, defaultErrnoRet, archMap, architectures, syscalls };
}

export function loadOciProfile(file: string): OciProfile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new SeccompProfileError(file, '(file)', `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseOciProfile(text, file);
}

export interface OciTarget {
  /** uname -m of the machine the container runs on. */
  machine: string;
  /** Kernel release (includes.minKernel); null: unknown, minKernel rules are then kept and noted. */
  release: string | null;
  /** Capabilities the container holds (bounding set), as CAP_* names. */
  caps: string[];
}

export interface CompiledFilter {
  filter: SeccompFilterInfo;
  /** What a person should know: arches not covered, names skipped, ... */
  notes: string[];
}

function retOf(action: string, errnoRet: number | null): number {
  const base = ACTIONS[action];
  if (action === 'SCMP_ACT_ERRNO' || action === 'SCMP_ACT_TRACE') return (base | ((errnoRet ?? 1) & 0xffff)) >>> 0;
  return base >>> 0;
}

export function actionText(action: string, errnoRet: number | null): string {
  const short = action.replace('SCMP_ACT_', '');
  if (action === 'SCMP_ACT_ERRNO') return `ERRNO(${errnoName(errnoRet ?? 1)})`;
  if (action === 'SCMP_ACT_TRACE') return `TRACE(${errnoRet ?? 1})`;
  return short;
}

function libseccomp(): void {
  const lib = native().seccompLibrary();
  if (lib.error !== undefined) throw new SeccompUnavailableError(lib.error);
}

let kernelNames: Set<string> | null | undefined;
/** Syscall names of the running kernel (/proc/kallsyms __x64_sys_*, __ia32_sys_*, ...), or null. */
function runningKernelSyscalls(): Set<string> | null {
  if (kernelNames !== undefined) return kernelNames;
  try {
    const text = fs.readFileSync('/proc/kallsyms', 'utf8');
    const s = new Set<string>();
    for (const m of text.matchAll(/ __(?:x64|ia32|arm64|se|do)_sys_(\w+)$/gm)) s.add(m[1]);
    kernelNames = s.size > 0 ? s : null;
  } catch {
    kernelNames = null;
  }
  return kernelNames;
}

/**
 * The filter runc would install for this profile on `target`. Throws SeccompProfileError for a
 * syscall name that neither libseccomp nor the running kernel knows, SeccompUnavailableError
 * when libseccomp cannot be loaded.
 */
export function ociFilter(p: OciProfile, target: OciTarget): CompiledFilter {
  libseccomp();
  const n = native();
  const notes: string[] = [];
  const nativeArch = NATIVE_OF_MACHINE[target.machine];
  if (!nativeArch) throw new SeccompProfileError(p.file, '(machine)', `sockbridge does not know the seccomp architecture of machine "${target.machine}"`);
  const goarch = ARCHES[nativeArch].goarch;

  // Every name must be a syscall somewhere: libseccomp knows it (a pseudo number when it is not
  // on this arch), or the running kernel has it (libseccomp may be older than the kernel).
  const allNames = [...new Set(p.syscalls.flatMap((s) => s.names))];
  const res = n.seccompResolve('native', allNames);
  if (res.error !== undefined) throw new SeccompUnavailableError(res.error);
  const nrOf = new Map<string, number>();
  allNames.forEach((name, i) => nrOf.set(name, res.nrs[i]));
  const kernel = runningKernelSyscalls();
  const libUnknown: string[] = [];
  for (const s of p.syscalls) {
    s.names.forEach((name, k) => {
      if (nrOf.get(name) !== -1) return;
      if (kernel && kernel.has(name)) { if (!libUnknown.includes(name)) libUnknown.push(name); return; }
      if (kernel === null) { if (!libUnknown.includes(name)) libUnknown.push(name); return; }
      const near = [...nrOf.keys(), ...kernel].filter((x) => x !== name && levenshtein(x, name) <= 2).slice(0, 3);
      throw new SeccompProfileError(p.file, `${s.at}.names[${k}]`, `unknown syscall name "${name}": neither libseccomp nor this kernel has it${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}`);
    });
  }
  if (libUnknown.length) notes.push(`libseccomp ${(n.seccompLibrary() as { version: string }).version} does not know ${libUnknown.join(', ')}${kernel ? ' (this kernel does)' : ''}: runc skips such names, and so does this filter`);

  // 1. The engine: arches and the entries that apply here.
  let arches: string[];
  if (p.architectures) arches = p.architectures;
  else if (p.archMap) {
    const m = p.archMap.find((e) => e.architecture === nativeArch);
    arches = m ? [m.architecture, ...m.subArchitectures] : [];
    if (!m) notes.push(`the profile's archMap has no entry for ${nativeArch}: the filter covers the native arch only, and a call from any other ABI gets libseccomp's bad-arch action (KILL_THREAD)`);
  } else arches = [];
  const covered = new Set([nativeArch, ...arches]);
  for (const other of ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'].filter((a) => nativeArch === 'SCMP_ARCH_X86_64' && !covered.has(a))) {
    notes.push(`the filter does not cover ${other}: a ${other === 'SCMP_ARCH_X86' ? '32-bit (i386)' : 'x32'} call is killed by libseccomp's bad-arch action (KILL_THREAD)`);
  }
  const capSet = new Set(target.caps);
  const applies = (s: OciSyscall): boolean => {
    if (s.includes.arches.length && !s.includes.arches.includes(goarch)) return false;
    if (s.includes.caps.length && !s.includes.caps.every((c) => capSet.has(c))) return false;
    if (s.includes.minKernel) {
      if (target.release === null) notes.push(`${s.at}: includes.minKernel ${s.includes.minKernel} with the kernel release unknown: kept`);
      else {
        const have = parseRelease(target.release);
        if (have && compareRelease(have, s.includes.minKernel) < 0) return false;
      }
    }
    if (s.excludes.arches.length && s.excludes.arches.includes(goarch)) return false;
    if (s.excludes.caps.length && s.excludes.caps.some((c) => capSet.has(c))) return false;
    return true;
  };
  const kept = p.syscalls.filter(applies);

  // 2. runc: rules.
  const defRet = retOf(p.defaultAction, p.defaultErrnoRet);
  const rules: Array<{ nr: number; action: number; conds: Array<[number, number, number, number, number, number]> }> = [];
  const ruleText: NonNullable<SeccompFilterInfo['rules']> = [];
  let entries = 0;
  for (const s of kept) {
    entries += s.names.length;
    const ret = retOf(s.action, s.errnoRet);
    if (ret === defRet) continue; // runc: "This rule is redundant, silently skip it"
    for (const name of s.names) {
      const nr = nrOf.get(name) ?? -1;
      if (nr === -1) continue; // runc: "unknown seccomp syscall ignored"
      const counts = new Array(6).fill(0);
      for (const a of s.args) counts[a.index]++;
      const split = counts.some((c) => c > 1);
      const cond = (a: OciArg): [number, number, number, number, number, number] => [a.index, OPS[a.op], Number(a.value & 0xffffffffn), Number(a.value >> 32n), Number(a.valueTwo & 0xffffffffn), Number(a.valueTwo >> 32n)];
      const groups = split ? s.args.map((a) => [a]) : [s.args];
      for (const g of groups) {
        rules.push({ nr, action: ret, conds: g.map(cond) });
        if (name === 'socket' || name === 'socketcall') {
          ruleText.push({ syscall: name, action: actionText(s.action, s.errnoRet), ret, conds: g.map((a) => [a.index, a.op.replace('SCMP_CMP_', ''), a.value.toString(), a.valueTwo.toString()]), origin: s.at });
        }
      }
    }
  }
  const libArches = arches.filter((a) => a !== nativeArch).map((a) => ARCHES[a].lib);
  const spec = {
    defaultAction: defRet,
    arches: libArches,
    removeNative: false,
    // SCMP_FLTATR_CTL_NNP = 3 (runc sets no_new_privs itself); SCMP_FLTATR_CTL_OPTIMIZE = 8,
    // level 2 (binary tree) when the profile has more than 32 syscall entries.
    attrs: [[3, 0], ...(p.syscalls.length > 32 ? [[8, 2]] : [])] as Array<[number, number]>,
    exact: false,
    rules,
  };
  const out = n.seccompCompile(spec);
  if (out.error !== undefined) {
    const at = out.rule !== undefined ? ` (rule ${out.rule}: ${JSON.stringify(rules[out.rule])})` : '';
    throw new SeccompProfileError(p.file, '(compile)', `libseccomp refused the profile: ${out.error}${out.errno ? ` (${errnoName(out.errno)})` : ''}${at}`);
  }
  const insns: Array<[number, number, number, number]> = [];
  for (let i = 0; i < out.insns.length; i += 4) insns.push([out.insns[i], out.insns[i + 1], out.insns[i + 2], out.insns[i + 3]]);

  // 3. runc's patchbpf ENOSYS stub.
  const stub = isAllowLike(p.defaultAction) ? [] : enosysStub(p, [nativeArch, ...arches.filter((a) => a !== nativeArch)], kept);
  const version = (n.seccompLibrary() as { version: string }).version;
  void entries;
  return {
    filter: {
      name: p.file.split('/').pop() ?? p.file,
      source: `${p.file}, compiled as runc does with libseccomp ${version} (caps ${target.caps.length} held, kernel ${target.release ?? 'unknown'})`,
      insns: [...stub, ...insns],
      rules: ruleText,
      defaultAction: actionText(p.defaultAction, p.defaultErrnoRet),
    },
    notes,
  };
}

function isAllowLike(a: string): boolean {
  return a === 'SCMP_ACT_ALLOW' || a === 'SCMP_ACT_LOG' || a === 'SCMP_ACT_TRACE';
}

/**
 * runc patchbpf generateEnosysStub: per AUDIT_ARCH, calls numbered above the largest syscall
 * the profile names for that arch get ERRNO(ENOSYS) (x86_64 tells x32 by bit 30); everything
 * else falls through to libseccomp's program.
 */
function enosysStub(p: OciProfile, arches: string[], kept: OciSyscall[]): Array<[number, number, number, number]> {
  const n = native();
  const names = [...new Set(kept.flatMap((s) => s.names))];
  const largest = new Map<number, Map<string, number>>();
  for (const a of arches) {
    const r = n.seccompResolve(ARCHES[a].lib, names);
    if (r.error !== undefined) continue;
    let max = 0;
    for (const x of r.nrs) if (x > max) max = x;
    if (max === 0) continue;
    const audit = ARCHES[a].audit;
    const m = largest.get(audit) ?? new Map<string, number>();
    m.set(a, max);
    largest.set(audit, m);
  }
  const ENOSYS_RET = 0x00050000 | 38;
  const sections: Array<Array<[number, number, number, number]>> = [];
  for (const [audit, m] of largest) {
    const sec: Array<[number, number, number, number]> = [[0x20, 0, 0, 0]]; // ld nr
    const x86 = m.get('SCMP_ARCH_X86_64');
    const x32 = m.get('SCMP_ARCH_X32');
    const jumpsToFilter: number[] = [];
    if (audit === 0xc000003e && x86 !== undefined && x32 !== undefined) {
      sec.push([0x45, 3, 0, 0x40000000]); // jset bit 30 -> x32
      sec.push([0x25, 0, 1, x86]); sec.push([0x06, 0, 0, ENOSYS_RET]); jumpsToFilter.push(sec.length); sec.push([0x05, 0, 0, 0]);
      sec.push([0x25, 0, 1, x32]); sec.push([0x06, 0, 0, ENOSYS_RET]); jumpsToFilter.push(sec.length); sec.push([0x05, 0, 0, 0]);
    } else if (audit === 0xc000003e && x86 !== undefined) {
      sec.push([0x45, 3, 0, 0x40000000]); // an x32 call: not this section's
      sec.push([0x25, 0, 1, x86]); sec.push([0x06, 0, 0, ENOSYS_RET]); jumpsToFilter.push(sec.length); sec.push([0x05, 0, 0, 0]);
      jumpsToFilter.push(sec.length); sec.push([0x05, 0, 0, 0]);
    } else {
      const [max] = [...m.values()];
      sec.push([0x25, 0, 1, max]); sec.push([0x06, 0, 0, ENOSYS_RET]); jumpsToFilter.push(sec.length); sec.push([0x05, 0, 0, 0]);
    }
    // ld arch; jeq audit, 0, <skip section>
    const head: Array<[number, number, number, number]> = [[0x20, 0, 0, 4], [0x15, 0, sec.length, audit >>> 0]];
    const full = [...head, ...sec];
    (full as unknown as { exits: number[] }).exits = jumpsToFilter.map((j) => j + head.length);
    sections.push(full);
  }
  const out: Array<[number, number, number, number]> = [];
  const exits: number[] = [];
  for (const s of sections) {
    for (const e of (s as unknown as { exits: number[] }).exits) exits.push(out.length + e);
    out.push(...s);
  }
  // Every "ja filter" jumps to the first instruction after the stub.
  for (const e of exits) out[e] = [0x05, 0, 0, out.length - e - 1];
  void p;
  return out;
}

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) {
    d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length][b.length];
}

/** CAP_* names of a 64-bit capability mask given as hex. */
export function capsOfMask(hex: string): string[] {
  const v = BigInt('0x' + hex);
  return CAP_NAMES.filter((_, i) => ((v >> BigInt(i)) & 1n) === 1n);
}
