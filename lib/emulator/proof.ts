/**
 * Which live kernel proof backs the model for an ABI: an emulator's departure is only as sure
 * as the model is right for that ABI.
 *
 *  - aarch64, mips64el: the foreign-architecture guest runs of `npm run test:kernels` (real
 *    arm64 / mips64el kernels booted under qemu-system, the model compared live inside them).
 *    Their summary (out/kernels/summary.json, or $SOCKBRIDGE_KERNELS_SUMMARY) is read for a
 *    kernel of that architecture whose live comparison agreed on every case.
 *  - i386: a 32-bit process on this x86-64 kernel (the ia32 compat entry), when this kernel
 *    runs 32-bit binaries.
 *  - every ABI that numbers socket() like x86-64: this run's native control (the same calls on
 *    this host's kernel) backs the model for those numbers, but not the ABI's own entry.
 * Without a proof the report says the model is unproven for that ABI.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ABIS, type AbiName } from '../abi/arch';
import { PACKAGE_ROOT, probePath } from '../static-probe/build';

export interface AbiProof {
  abi: AbiName;
  /** A live run of a real kernel of that ABI backs the model. */
  proven: boolean;
  /** One sentence a reader can check: what backs it, or why nothing does. */
  statement: string;
  /** Where the evidence is (a file, a command). */
  source: string | null;
}

interface KernelSummaryEntry {
  id?: string;
  release?: string;
  abi?: string;
  arch?: string;
  machine?: string;
  mismatches?: number;
  infra?: unknown;
  agreement?: Record<string, Record<string, { cases: number; match: number; mismatch: number }>>;
}

function summaryFile(): string {
  return process.env.SOCKBRIDGE_KERNELS_SUMMARY ?? path.join(PACKAGE_ROOT, 'out', 'kernels', 'summary.json');
}

/** A guest kernel of this ABI whose live comparison agreed on every case, from the kernels summary. */
function guestProof(abi: AbiName): AbiProof | string {
  const file = summaryFile();
  let doc: { kernels?: KernelSummaryEntry[] };
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { kernels?: KernelSummaryEntry[] };
  } catch (e) {
    return `no guest run of a ${abi} kernel was found (${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; "npm run test:kernels" writes it)`;
  }
  const a = ABIS[abi] as { machines: string[]; debianArch?: string };
  const names = new Set<string>([abi, ...a.machines, ...(a.debianArch ? [a.debianArch] : [])]);
  const mine = (doc.kernels ?? []).filter((k) =>
    [k.abi, k.arch, k.machine].some((x) => x !== undefined && names.has(x)) || (k.id !== undefined && [...names].some((n) => k.id!.split(/[-_.]/).includes(n))));
  if (mine.length === 0) return `no guest run of a ${abi} kernel in ${file}`;
  for (const k of mine) {
    const live = k.agreement?.live;
    if (k.infra || !live) continue;
    const rows = Object.entries(live);
    const cases = rows.reduce((n, [, r]) => n + r.cases, 0);
    const bad = rows.reduce((n, [, r]) => n + r.mismatch, 0);
    if (cases > 0 && bad === 0) {
      return {
        abi, proven: true, source: file,
        statement: `the model agreed with a real ${abi} kernel (${k.id ?? '?'}${k.release ? `, ${k.release}` : ''}) on all ${cases} cases of its live guest run (${rows.map(([w, r]) => `${w} ${r.cases}`).join(', ')})`,
      };
    }
  }
  const k = mine[0];
  return `the ${abi} guest run in ${file} (${k.id ?? '?'}) did not agree on every case or did not complete (${k.infra ? 'infrastructure failure' : `${k.mismatches ?? '?'} mismatches`})`;
}

/** Does this kernel run a 32-bit x86 binary? The i386 probe is the test. */
function ia32Runs(): string | null {
  const bin = probePath('i386');
  if (!fs.existsSync(bin)) return `the i386 probe is not built (${bin})`;
  const r = spawnSync(bin, ['--no-procnet'], { input: '', encoding: 'utf8', timeout: 30_000 });
  if (r.status === 0 && r.stdout.startsWith('{"kind":"probe"')) return null;
  return 'this x86-64 kernel does not run 32-bit binaries (execve: ENOEXEC; with CONFIG_IA32_EMULATION=y that means 32-bit emulation is off, the ia32_emulation= boot option)';
}

export function findAbiProof(abi: AbiName, opts: { control?: { ran: boolean; mismatches: number; cases: number } } = {}): AbiProof {
  const controlNote = opts.control?.ran
    ? `; this run's native control backs the model for the same numbers on this host's kernel (${opts.control.cases - opts.control.mismatches} of ${opts.control.cases} cases agree), though not the ${abi} entry itself`
    : '';
  if (abi === 'x86_64') return { abi, proven: true, source: 'this host', statement: 'the model is compared live on this x86-64 kernel by every sweep' };
  if (abi === 'i386') {
    const why = ia32Runs();
    if (why === null) {
      return { abi, proven: true, source: probePath('i386'), statement: `this kernel runs 32-bit processes, so the i386 entry is checked live with the i386 probe natively (test/static-probe.test.ts)${controlNote}` };
    }
    return { abi, proven: false, source: null, statement: `the model is unproven for i386: ${why}${controlNote}` };
  }
  const g = guestProof(abi);
  if (typeof g !== 'string') return g;
  return { abi, proven: false, source: null, statement: `the model is unproven for ${abi}: ${g}${controlNote}` };
}
