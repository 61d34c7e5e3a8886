/**
 * kernel/seccomp.c: the filters that run at syscall entry, before __sys_socket.
 *
 *   syscall_trace_enter -> __secure_computing -> __seccomp_filter -> seccomp_run_filters
 *
 * Each filter is a classic BPF program over `struct seccomp_data` (nr, arch,
 * instruction_pointer, args[6] as 64-bit registers). Every filter runs; the lowest action
 * (compared as a signed 32-bit number, data ignored) wins; on a tie the newest filter keeps
 * the match. Then __seccomp_filter acts:
 *
 *   ERRNO      the call is skipped and returns -data (data capped at MAX_ERRNO 4095); data 0
 *              returns 0 without running the call
 *   TRAP       the call is skipped and SIGSYS is sent (si_code SYS_SECCOMP, si_errno = data)
 *   TRACE      with no tracer attached (ptrace_event_enabled false): -ENOSYS
 *   USER_NOTIF with no listener on the filter: -ENOSYS
 *   LOG, ALLOW the call runs
 *   KILL_THREAD, KILL_PROCESS and every unknown action: the task dies by SIGSYS
 *
 * Programs are checked as the kernel checks them when they are installed (bpf_check_classic,
 * then seccomp_check_filter's list of allowed instructions), and run with the semantics of the
 * cBPF -> eBPF conversion: 32-bit A and X, division by X == 0 ends the program with 0, shift
 * counts masked to 5 bits.
 */

import type { HostProfile, SeccompFilterInfo } from '../../types';

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;
export const MAX_ERRNO = 4095;
export const SIGSYS = 31;
const ENOSYS = 38;
/** sizeof(struct seccomp_data) */
export const SECCOMP_DATA_SIZE = 64;
/** BPF_MAXINSNS */
export const BPF_MAXINSNS = 4096;
/** MAX_INSNS_PER_PATH: (1 << 18) / sizeof(struct sock_filter), over all filters, 4 extra each. */
export const MAX_INSNS_PER_PATH = (1 << 18) / 8;

/** One classic BPF instruction as struct sock_filter holds it. */
export type Insn = [code: number, jt: number, jf: number, k: number];

/** A filter the model runs: the program and where it came from. */
export interface SeccompFilter {
  /** A short name: "docker-29.json", "RestrictAddressFamilies=AF_INET AF_UNIX (x86_64)", "filter 0 of pid 1234". */
  name: string;
  /** Where the program came from (file, libseccomp version, ptrace). */
  source: string;
  insns: Insn[];
  /**
   * What the rules say, per RET instruction index, for explain: "socket: arg0 (x) matches EQ 40"
   * is built from `rules`; optional.
   */
  rules?: SeccompRuleText[];
}

/** The source rules a compiled filter carries for one syscall (for explain). */
export interface SeccompRuleText {
  /** Syscall name the rule is for. */
  syscall: string;
  /** Action as libseccomp/OCI names it: "SCMP_ACT_ERRNO(1)". */
  action: string;
  /** The return value it compiles to. */
  ret: number;
  /** Conditions, ANDed: [arg index, op name, value, valueTwo]. Empty = unconditional. */
  conds: Array<[number, string, string, string]>;
  /** Where in the source it came from: "syscalls[42]". */
  origin: string;
}

// ---------------------------------------------------------------------------
// Instruction codes (include/uapi/linux/filter.h, bpf_common.h)

const BPF_LD = 0x00, BPF_LDX = 0x01, BPF_ST = 0x02, BPF_STX = 0x03, BPF_ALU = 0x04, BPF_JMP = 0x05, BPF_RET = 0x06, BPF_MISC = 0x07;
const BPF_W = 0x00;
const BPF_IMM = 0x00, BPF_ABS = 0x20, BPF_MEM = 0x60, BPF_LEN = 0x80;
const BPF_ADD = 0x00, BPF_SUB = 0x10, BPF_MUL = 0x20, BPF_DIV = 0x30, BPF_OR = 0x40, BPF_AND = 0x50, BPF_LSH = 0x60, BPF_RSH = 0x70, BPF_NEG = 0x80, BPF_XOR = 0xa0;
const BPF_JA = 0x00, BPF_JEQ = 0x10, BPF_JGT = 0x20, BPF_JGE = 0x30, BPF_JSET = 0x40;
const BPF_K = 0x00, BPF_X = 0x08, BPF_A = 0x10;
const BPF_TAX = 0x00, BPF_TXA = 0x80;
const BPF_MEMWORDS = 16;

/** seccomp_check_filter: the only instructions a seccomp program may hold. */
const ALLOWED = new Set<number>([
  BPF_LD | BPF_W | BPF_ABS, BPF_LD | BPF_W | BPF_LEN, BPF_LDX | BPF_W | BPF_LEN,
  BPF_RET | BPF_K, BPF_RET | BPF_A,
  ...[BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH].flatMap((op) => [BPF_ALU | op | BPF_K, BPF_ALU | op | BPF_X]),
  BPF_ALU | BPF_NEG,
  BPF_LD | BPF_IMM, BPF_LDX | BPF_IMM, BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA,
  BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM, BPF_ST, BPF_STX,
  BPF_JMP | BPF_JA,
  ...[BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JSET].flatMap((op) => [BPF_JMP | op | BPF_K, BPF_JMP | op | BPF_X]),
]);

const isCondJump = (code: number) => (code & 0x07) === BPF_JMP && (code & 0xf0) !== BPF_JA;

/**
 * Whether the kernel would accept this program (seccomp_prepare_filter: length,
 * bpf_check_classic, seccomp_check_filter). Returns null when it would, else why not (the
 * kernel says EINVAL).
 */
export function checkFilter(insns: Insn[]): string | null {
  const flen = insns.length;
  if (flen === 0 || flen > BPF_MAXINSNS) return `length ${flen}: a filter has 1..${BPF_MAXINSNS} instructions`;
  for (let pc = 0; pc < flen; pc++) {
    const ins = insns[pc];
    if (!Array.isArray(ins) || ins.length !== 4) return `instruction ${pc} is not [code, jt, jf, k]`;
    const [code, jt, jf, k] = ins;
    if (!isU(code, 0xffff) || !isU(jt, 0xff) || !isU(jf, 0xff) || !isU(k, 0xffffffff)) return `instruction ${pc} [${ins.join(', ')}]: fields out of range (code u16, jt/jf u8, k u32)`;
    if (!ALLOWED.has(code)) return `instruction ${pc}: code 0x${code.toString(16)} is not allowed in a seccomp filter (seccomp_check_filter)`;
    const cls = code & 0x07;
    const op = code & 0xf0;
    if (cls === BPF_ALU && (op === BPF_DIV) && (code & BPF_X) === 0 && k === 0) return `instruction ${pc}: division by constant 0`;
    if (cls === BPF_ALU && (op === BPF_LSH || op === BPF_RSH) && (code & BPF_X) === 0 && k >= 32) return `instruction ${pc}: shift by ${k} >= 32`;
    if ((code === (BPF_LD | BPF_MEM) || code === (BPF_LDX | BPF_MEM) || code === BPF_ST || code === BPF_STX) && k >= BPF_MEMWORDS) return `instruction ${pc}: scratch memory word ${k} >= ${BPF_MEMWORDS}`;
    if (code === (BPF_LD | BPF_W | BPF_ABS) && (k >= SECCOMP_DATA_SIZE || (k & 3) !== 0)) return `instruction ${pc}: load at offset ${k} is outside struct seccomp_data or not 32-bit aligned`;
    if (code === (BPF_JMP | BPF_JA)) {
      if (k >= flen - pc - 1) return `instruction ${pc}: jump +${k} leaves the program`;
    } else if (isCondJump(code)) {
      if (pc + jt + 1 >= flen || pc + jf + 1 >= flen) return `instruction ${pc}: jump leaves the program`;
    }
  }
  const last = insns[flen - 1][0];
  if (last !== (BPF_RET | BPF_K) && last !== (BPF_RET | BPF_A)) return 'the last instruction is not a return';
  // check_load_and_stores: no scratch word is read on a path that has not written it.
  const masks = new Uint16Array(flen).fill(0xffff);
  let memvalid = 0;
  for (let pc = 0; pc < flen; pc++) {
    memvalid &= masks[pc];
    const [code, jt, jf, k] = insns[pc];
    if (code === BPF_ST || code === BPF_STX) memvalid |= 1 << k;
    else if (code === (BPF_LD | BPF_MEM) || code === (BPF_LDX | BPF_MEM)) {
      if (!(memvalid & (1 << k))) return `instruction ${pc}: reads scratch word ${k} before any path stores it`;
    } else if (code === (BPF_JMP | BPF_JA)) {
      masks[pc + 1 + k] &= memvalid;
      memvalid = 0xffff;
    } else if (isCondJump(code)) {
      masks[pc + 1 + jt] &= memvalid;
      masks[pc + 1 + jf] &= memvalid;
      memvalid = 0xffff;
    }
  }
  return null;
}

function isU(v: unknown, max: number): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

// ---------------------------------------------------------------------------
// struct seccomp_data as 16 little-endian 32-bit words:
//   [0] nr  [1] arch  [2,3] instruction_pointer  [4+2i, 5+2i] args[i] low, high

export type SeccompData = Uint32Array;

export function seccompData(nr: number, arch: number, args: Array<[lo: number, hi: number]>, ip: [number, number] = [0, 0]): SeccompData {
  const d = new Uint32Array(16);
  d[0] = nr;
  d[1] = arch;
  d[2] = ip[0];
  d[3] = ip[1];
  for (let i = 0; i < 6 && i < args.length; i++) {
    d[4 + 2 * i] = args[i][0];
    d[5 + 2 * i] = args[i][1];
  }
  return d;
}

/** A compiled program: the instructions flattened for the interpreter. */
export interface Program {
  code: Uint16Array;
  jt: Uint8Array;
  jf: Uint8Array;
  k: Uint32Array;
  /** Word offsets of seccomp_data the program can load (static). */
  loads: number;
}

export function compileProgram(insns: Insn[]): Program {
  const n = insns.length;
  const p: Program = { code: new Uint16Array(n), jt: new Uint8Array(n), jf: new Uint8Array(n), k: new Uint32Array(n), loads: 0 };
  for (let i = 0; i < n; i++) {
    const [c, t, f, k] = insns[i];
    p.code[i] = c; p.jt[i] = t; p.jf[i] = f; p.k[i] = k >>> 0;
    if (c === (BPF_LD | BPF_W | BPF_ABS)) p.loads |= 1 << (k >>> 2);
  }
  return p;
}

const mem = new Uint32Array(BPF_MEMWORDS);

/**
 * Run one program on `d`; returns the u32 the program returned. `path`, when given, receives
 * the pc of every instruction executed (for the trace).
 */
export function runProgram(p: Program, d: SeccompData, path?: number[]): number {
  return runFrom(p, d, 0, 0, 0, 0, path);
}

/** Where runFrom stopped when it met a load of a word in its stop mask (returned STOPPED). */
export const resume = { pc: 0, A: 0, X: 0, mem: new Uint32Array(BPF_MEMWORDS), stored: false };
export const STOPPED = -1;

/**
 * The interpreter: from instruction `pc` with accumulators A and X (scratch memory as `mem`
 * holds it). A load of a seccomp_data word whose bit is set in `stop` ends the run with
 * STOPPED and the state in `resume`, to be continued later with that word known.
 */
function runFrom(p: Program, d: SeccompData, pc: number, A: number, X: number, stop: number, path?: number[]): number {
  const { code, jt, jf, k } = p;
  let stored = false;
  for (;;) {
    if (path) path.push(pc);
    const c = code[pc];
    const K = k[pc];
    switch (c) {
      case BPF_LD | BPF_W | BPF_ABS:
        if (stop !== 0 && (stop & (1 << (K >>> 2))) !== 0) {
          resume.pc = pc; resume.A = A; resume.X = X; resume.stored = stored;
          if (stored) resume.mem.set(mem);
          return STOPPED;
        }
        A = d[K >>> 2];
        break;
      case BPF_LD | BPF_W | BPF_LEN: A = SECCOMP_DATA_SIZE; break;
      case BPF_LDX | BPF_W | BPF_LEN: X = SECCOMP_DATA_SIZE; break;
      case BPF_LD | BPF_IMM: A = K; break;
      case BPF_LDX | BPF_IMM: X = K; break;
      case BPF_LD | BPF_MEM: A = mem[K]; break;
      case BPF_LDX | BPF_MEM: X = mem[K]; break;
      case BPF_ST: mem[K] = A; stored = true; break;
      case BPF_STX: mem[K] = X; stored = true; break;
      case BPF_MISC | BPF_TAX: X = A; break;
      case BPF_MISC | BPF_TXA: A = X; break;
      case BPF_RET | BPF_K: return K;
      case BPF_RET | BPF_A: return A >>> 0;
      case BPF_ALU | BPF_ADD | BPF_K: A = (A + K) >>> 0; break;
      case BPF_ALU | BPF_ADD | BPF_X: A = (A + X) >>> 0; break;
      case BPF_ALU | BPF_SUB | BPF_K: A = (A - K) >>> 0; break;
      case BPF_ALU | BPF_SUB | BPF_X: A = (A - X) >>> 0; break;
      case BPF_ALU | BPF_MUL | BPF_K: A = Math.imul(A, K) >>> 0; break;
      case BPF_ALU | BPF_MUL | BPF_X: A = Math.imul(A, X) >>> 0; break;
      case BPF_ALU | BPF_DIV | BPF_K: A = Math.floor((A >>> 0) / K) >>> 0; break;
      case BPF_ALU | BPF_DIV | BPF_X:
        // bpf_convert_filter: "for cBPF programs, [division by 0] was always return 0".
        if (X === 0) return 0;
        A = Math.floor((A >>> 0) / (X >>> 0)) >>> 0;
        break;
      case BPF_ALU | BPF_AND | BPF_K: A = (A & K) >>> 0; break;
      case BPF_ALU | BPF_AND | BPF_X: A = (A & X) >>> 0; break;
      case BPF_ALU | BPF_OR | BPF_K: A = (A | K) >>> 0; break;
      case BPF_ALU | BPF_OR | BPF_X: A = (A | X) >>> 0; break;
      case BPF_ALU | BPF_XOR | BPF_K: A = (A ^ K) >>> 0; break;
      case BPF_ALU | BPF_XOR | BPF_X: A = (A ^ X) >>> 0; break;
      // 32-bit shifts mask the count to 5 bits (kernel/bpf/core.c, and the x86 JIT's shl/shr).
      case BPF_ALU | BPF_LSH | BPF_K: A = (A << K) >>> 0; break;
      case BPF_ALU | BPF_LSH | BPF_X: A = (A << (X & 31)) >>> 0; break;
      case BPF_ALU | BPF_RSH | BPF_K: A = A >>> K; break;
      case BPF_ALU | BPF_RSH | BPF_X: A = A >>> (X & 31); break;
      case BPF_ALU | BPF_NEG: A = (-A) >>> 0; break;
      case BPF_JMP | BPF_JA: pc += K; break;
      case BPF_JMP | BPF_JEQ | BPF_K: pc += (A >>> 0) === K ? jt[pc] : jf[pc]; break;
      case BPF_JMP | BPF_JEQ | BPF_X: pc += (A >>> 0) === (X >>> 0) ? jt[pc] : jf[pc]; break;
      case BPF_JMP | BPF_JGT | BPF_K: pc += (A >>> 0) > K ? jt[pc] : jf[pc]; break;
      case BPF_JMP | BPF_JGT | BPF_X: pc += (A >>> 0) > (X >>> 0) ? jt[pc] : jf[pc]; break;
      case BPF_JMP | BPF_JGE | BPF_K: pc += (A >>> 0) >= K ? jt[pc] : jf[pc]; break;
      case BPF_JMP | BPF_JGE | BPF_X: pc += (A >>> 0) >= (X >>> 0) ? jt[pc] : jf[pc]; break;
      case BPF_JMP | BPF_JSET | BPF_K: pc += (A & K) !== 0 ? jt[pc] : jf[pc]; break;
      case BPF_JMP | BPF_JSET | BPF_X: pc += (A & X) !== 0 ? jt[pc] : jf[pc]; break;
      default:
        throw new Error(`seccomp model: instruction ${pc} code 0x${c.toString(16)} not checked before running`);
    }
    pc++;
  }
}

/**
 * A program's run up to its first look at a word that changes from call to call (the
 * arguments, the instruction pointer), for one syscall number and arch: the return value when
 * it never looks (ret >= 0), else where to continue. The syscall-number tree libseccomp builds
 * (hundreds of instructions) is walked once per (nr, arch), not once per call.
 */
interface Prefix { ret: number; pc: number; A: number; X: number; mem: Uint32Array | null }

const VARYING = 0xfffc; // words 2..15: instruction_pointer and args[0..5]

function prefixOf(p: Program, nr: number, arch: number): Prefix {
  const d = new Uint32Array(16);
  d[0] = nr;
  d[1] = arch;
  const r = runFrom(p, d, 0, 0, 0, VARYING);
  if (r !== STOPPED) return { ret: r, pc: 0, A: 0, X: 0, mem: null };
  return { ret: -1, pc: resume.pc, A: resume.A, X: resume.X, mem: resume.stored ? resume.mem.slice() : null };
}

/** seccomp_run_filters' return value for these words, each program continued from its prefix. */
export function runFiltersFast(progs: Program[], prefixes: Prefix[], d: SeccompData): number {
  let ret = SECCOMP_RET_ALLOW;
  for (let i = progs.length - 1; i >= 0; i--) {
    const pre = prefixes[i];
    let cur = pre.ret;
    if (cur < 0) {
      if (pre.mem !== null) mem.set(pre.mem);
      cur = runFrom(progs[i], d, pre.pc, pre.A, pre.X, 0);
    }
    if (((cur & SECCOMP_RET_ACTION_FULL) | 0) < ((ret & SECCOMP_RET_ACTION_FULL) | 0)) ret = cur;
  }
  return ret;
}

export function prefixesOf(progs: Program[], nr: number, arch: number): Prefix[] {
  return progs.map((p) => prefixOf(p, nr, arch));
}

/** ACTION_ONLY(ret): the action bits as a signed 32-bit number (kernel/seccomp.c). */
export const actionOnly = (ret: number): number => (ret & SECCOMP_RET_ACTION_FULL) | 0;

/**
 * seccomp_run_filters: every filter runs, newest first; the lowest ACTION_ONLY wins, a later
 * (older) filter only replaces the match when strictly lower. `filters` is in install order.
 * Returns the return value and the index (install order) of the matching filter, -1 for ALLOW
 * with no match.
 */
export function runFilters(progs: Program[], d: SeccompData): { ret: number; match: number } {
  let ret = SECCOMP_RET_ALLOW;
  let match = -1;
  for (let i = progs.length - 1; i >= 0; i--) {
    const cur = runProgram(progs[i], d);
    if (actionOnly(cur) < actionOnly(ret)) {
      ret = cur;
      match = i;
    }
  }
  return { ret, match };
}

/** What __seccomp_filter does with a return value, for a task with no tracer and no listener. */
export type SeccompOutcome =
  | { kind: 'run' }
  | { kind: 'return'; value: number }
  | { kind: 'signal'; signal: number; fatal: boolean };

export function seccompOutcome(ret: number): SeccompOutcome {
  const action = (ret & SECCOMP_RET_ACTION_FULL) >>> 0;
  const data = ret & SECCOMP_RET_DATA;
  switch (action) {
    case SECCOMP_RET_ERRNO: return { kind: 'return', value: -Math.min(data, MAX_ERRNO) };
    case SECCOMP_RET_TRAP: return { kind: 'signal', signal: SIGSYS, fatal: false };
    case SECCOMP_RET_TRACE: return { kind: 'return', value: -ENOSYS };
    case SECCOMP_RET_USER_NOTIF: return { kind: 'return', value: -ENOSYS };
    case SECCOMP_RET_LOG:
    case SECCOMP_RET_ALLOW: return { kind: 'run' };
    default: return { kind: 'signal', signal: SIGSYS, fatal: true };
  }
}

/** "ERRNO(1)", "ALLOW", "KILL_PROCESS", "ACTION 0x00010000" ... */
export function actionName(ret: number): string {
  const action = (ret & SECCOMP_RET_ACTION_FULL) >>> 0;
  const data = ret & SECCOMP_RET_DATA;
  switch (action) {
    case SECCOMP_RET_KILL_PROCESS: return 'KILL_PROCESS';
    case SECCOMP_RET_KILL_THREAD: return 'KILL_THREAD';
    case SECCOMP_RET_TRAP: return `TRAP(${data})`;
    case SECCOMP_RET_ERRNO: return `ERRNO(${data})`;
    case SECCOMP_RET_USER_NOTIF: return 'USER_NOTIF';
    case SECCOMP_RET_TRACE: return `TRACE(${data})`;
    case SECCOMP_RET_LOG: return 'LOG';
    case SECCOMP_RET_ALLOW: return 'ALLOW';
    default: return `unknown action 0x${action.toString(16).padStart(8, '0')} (acts as KILL_PROCESS)`;
  }
}

/** Every value a program can return (static: its RET K instructions; RET A makes it open). */
export function possibleReturns(insns: Insn[]): { rets: number[]; open: boolean } {
  const rets = new Set<number>();
  let open = false;
  for (const [c, , , k] of insns) {
    if (c === (BPF_RET | BPF_K)) rets.add(k >>> 0);
    else if (c === (BPF_RET | BPF_A)) open = true;
  }
  return { rets: [...rets], open };
}

/** One instruction as a person reads it (libseccomp's scmp_bpf_disasm style). */
export function disasm(ins: Insn, pc: number): string {
  const [c, jt, jf, k] = ins;
  const hex = (v: number) => '0x' + (v >>> 0).toString(16).padStart(8, '0');
  const field = (off: number) => {
    const names = ['nr', 'arch', 'ip', 'ip.hi'];
    if (off < 16) return names[off >>> 2];
    const a = (off - 16) >>> 3;
    return `arg${a}${(off & 4) ? '.hi' : '.lo'}`;
  };
  const tgt = (j: number) => pc + 1 + j;
  switch (c) {
    case BPF_LD | BPF_W | BPF_ABS: return `ld  $data[${k}] (${field(k)})`;
    case BPF_RET | BPF_K: return `ret ${actionName(k)}`;
    case BPF_RET | BPF_A: return 'ret A';
    case BPF_JMP | BPF_JA: return `jmp ${tgt(k)}`;
    case BPF_JMP | BPF_JEQ | BPF_K: return `jeq ${hex(k)} true:${tgt(jt)} false:${tgt(jf)}`;
    case BPF_JMP | BPF_JGT | BPF_K: return `jgt ${hex(k)} true:${tgt(jt)} false:${tgt(jf)}`;
    case BPF_JMP | BPF_JGE | BPF_K: return `jge ${hex(k)} true:${tgt(jt)} false:${tgt(jf)}`;
    case BPF_JMP | BPF_JSET | BPF_K: return `jset ${hex(k)} true:${tgt(jt)} false:${tgt(jf)}`;
    case BPF_ALU | BPF_AND | BPF_K: return `and ${hex(k)}`;
    case BPF_LD | BPF_MEM: return `ld  M[${k}]`;
    case BPF_ST: return `st  M[${k}]`;
    default: return `code 0x${c.toString(16)} jt ${jt} jf ${jf} k ${hex(k)}`;
  }
}

// ---------------------------------------------------------------------------
// The stage in the model: the process's filters as the KernelState holds them.

export interface SeccompState {
  filters: SeccompFilterInfo[];
  progs: Program[];
  /** The process has filters whose programs the model cannot read: why. */
  unreadable: string | null;
  /** SECCOMP_MODE_STRICT: only read, write, _exit, sigreturn; socket() is SIGKILL. */
  strict: boolean;
  source: string;
  /** Untraced fast path: each program's run up to its first look at an argument, per nr and arch. */
  prefixes: Map<number, Prefix[]>;
  prefixKey: number;
}

/** Read the profile's seccomp facts into the shapes the stage runs; null when there is nothing to run. */
export function seccompStateFrom(profile: HostProfile): SeccompState | null {
  const sec = profile.security;
  const mode = sec.seccomp?.value ?? null;
  const f = sec.filters;
  const count = sec.seccompFilterCount?.value ?? null;
  const base = { prefixes: new Map<number, Prefix[]>(), prefixKey: 0, strict: false, unreadable: null as string | null };
  if (mode === 1) {
    return { ...base, filters: [], progs: [], strict: true, source: sec.seccomp.source };
  }
  if (f && f.value !== null) {
    if (f.value.length === 0) {
      if (mode === 2) {
        return { ...base, filters: [], progs: [], unreadable: 'Seccomp: 2 but the profile lists no filter programs', source: sec.seccomp.source };
      }
      return null;
    }
    const progs: Program[] = [];
    f.value.forEach((fi, i) => {
      const why = checkFilter(fi.insns);
      if (why) throw new RangeError(`bad seccomp filter ${i} ("${fi.name}") in the host profile: ${why}; the kernel would refuse it (EINVAL)`);
      progs.push(compileProgram(fi.insns));
    });
    return { ...base, filters: f.value, progs, source: f.source };
  }
  if (mode === 2 || (count !== null && count > 0)) {
    const why = f?.error ?? (f ? 'the programs could not be read' : 'the profile does not carry the filter programs');
    return { ...base, filters: [], progs: [], unreadable: `${count ?? 'some'} seccomp filter${count === 1 ? '' : 's'} in force whose programs cannot be read: ${why}`, source: f?.source ?? sec.seccomp.source };
  }
  return null;
}

/** The arguments of one call as seccomp_data words: [lo, hi] per register. */
export type Regs = Array<[number, number]>;

/**
 * The registers socket(int, int, int) leaves for seccomp on the native entry: sockbridge's
 * kernel road passes each int zero-extended to 64 bits (native/probe.cc casts through
 * uint32_t), and a compat entry's registers are 32-bit, which seccomp_data zero-extends.
 */
export function intRegs(family: number, type: number, protocol: number): Regs {
  return [[family >>> 0, 0], [type >>> 0, 0], [protocol >>> 0, 0], [0, 0], [0, 0], [0, 0]];
}

/** "0x100000026" -> [lo, hi]; accepts decimal too. */
export function parseReg(v: string): [number, number] {
  let b: bigint;
  try {
    b = BigInt(v);
  } catch {
    throw new RangeError(`bad register value "${v}": expected a 64-bit number (decimal or 0x hex)`);
  }
  if (b < -(1n << 63n) || b >= (1n << 64n)) throw new RangeError(`bad register value "${v}": outside 64 bits`);
  if (b < 0n) b += 1n << 64n;
  return [Number(b & 0xffffffffn), Number(b >> 32n)];
}

export function regText(r: [number, number]): string {
  if (r[1] === 0) return String(r[0] | 0) === String(r[0]) ? String(r[0]) : `0x${r[0].toString(16)}`;
  return `0x${r[1].toString(16)}_${r[0].toString(16).padStart(8, '0')}`;
}

/** Unsigned 64-bit compare of [lo, hi] pairs: -1, 0, 1. */
function cmp64(a: [number, number], b: [number, number]): number {
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return 0;
}

/** libseccomp's comparison of one argument (64-bit, unsigned), for the explain text. */
export function condHolds(op: string, arg: [number, number], value: [number, number], valueTwo: [number, number]): boolean {
  switch (op) {
    case 'NE': return cmp64(arg, value) !== 0;
    case 'LT': return cmp64(arg, value) < 0;
    case 'LE': return cmp64(arg, value) <= 0;
    case 'EQ': return cmp64(arg, value) === 0;
    case 'GE': return cmp64(arg, value) >= 0;
    case 'GT': return cmp64(arg, value) > 0;
    case 'MASKED_EQ': return ((((arg[0] & value[0]) >>> 0) === valueTwo[0]) && (((arg[1] & value[1]) >>> 0) === valueTwo[1]));
    default: return false;
  }
}

/**
 * The deciding rule in words, from the filter's source rules (when it carries them):
 *   "socket: arg0 (38) matches none of LT 38, EQ 39, GT 40 -> default action ERRNO(1)"
 *   "socket: rule syscalls[12] ALLOW matches: arg0 (41) GT 40"
 */
export function ruleText(fi: SeccompFilterInfo, syscall: string, regs: Regs, ret: number): string {
  const rules = (fi.rules ?? []).filter((r) => r.syscall === syscall);
  if (!fi.rules) return `${syscall}: ${actionName(ret)} (the filter carries no source rules; see its instructions)`;
  const argText = (i: number) => `arg${i} (${regText(regs[i])})`;
  const hit = rules.find((r) => r.conds.every(([i, op, v, v2]) => condHolds(op, regs[i], parseReg(v), parseReg(v2))));
  if (hit) {
    const why = hit.conds.length ? hit.conds.map(([i, op, v, v2]) => `${argText(i)} ${op} ${op === 'MASKED_EQ' ? `${v} == ${v2}` : v}`).join(' and ') : 'unconditionally';
    return `${syscall}: rule ${hit.origin} ${hit.action} matches: ${why} -> ${actionName(ret)}`;
  }
  if (rules.length === 0) return `${syscall}: no rule for ${syscall} -> default action ${fi.defaultAction ?? actionName(ret)}`;
  const byArg = new Map<number, string[]>();
  for (const r of rules) for (const [i, op, v, v2] of r.conds) {
    const l = byArg.get(i) ?? [];
    l.push(op === 'MASKED_EQ' ? `MASKED_EQ ${v} == ${v2}` : `${op} ${v}`);
    byArg.set(i, l);
  }
  const parts = [...byArg.entries()].map(([i, l]) => `${argText(i)} matches none of ${l.join(', ')}`);
  return `${syscall}: ${parts.join('; ')} -> default action ${fi.defaultAction ?? actionName(ret)}`;
}

// ---------------------------------------------------------------------------
// __secure_computing for one socket() call

/** What the stage leaves for the driver besides its return value. */
export interface SeccompVerdict {
  /** A signal instead of a return. */
  signal: number;
  fatal: boolean;
  /** The call returned without running (ERRNO(0)). */
  notRun: boolean;
  /** Tracing only: the decision in words. */
  decision: { action: string; ret: number; filter: string | null; rule: string; ran: boolean } | null;
}

/** The stage lets the call run. */
export const SECCOMP_RUN = 1;
/** The stage sent a signal (see SeccompVerdict). */
export const SECCOMP_SIGNALLED = 2;

/** seccomp_data for the fast path: the high words and args 3..5 of socket(int, int, int) stay 0. */
const fastData = new Uint32Array(16);

interface StageRun {
  tracing: boolean;
  step(s: { fn: string; what: string; outcome: 'pass' | 'fail' | 'rewrite' | 'info'; errno?: number; fact?: { name: string; value: string; source: string } }): void;
  fail(fn: string, what: string, errno: number, fact?: { name: string; value: string; source: string }): number;
  decide(): void;
  choose(name: string, n: number): number;
}

/**
 * __secure_computing -> __seccomp_filter for socket(): SECCOMP_RUN when the call proceeds to
 * the syscall, else the value returned to the caller (-errno, or 0 without running the call),
 * or SECCOMP_SIGNALLED with `v.signal` set. `regs` null: the native int registers
 * (zero-extended), cached per tuple when untraced.
 */
export function secureComputing(
  run: StageRun, sc: SeccompState, nr: number, arch: number, syscall: string,
  family: number, type: number, protocol: number, regs: Regs | null, v: SeccompVerdict,
): number {
  v.signal = 0; v.fatal = false; v.notRun = false; v.decision = null;
  if (sc.strict) {
    // __secure_computing_strict: socket is not among read/write/exit/sigreturn.
    if (run.tracing) {
      run.step({ fn: '__secure_computing', what: `SECCOMP_MODE_STRICT: ${syscall} is not read, write, _exit or sigreturn -> SIGKILL`, outcome: 'fail', fact: { name: 'security.seccomp', value: '1', source: sc.source } });
      run.decide();
      v.decision = { action: 'STRICT', ret: 0, filter: null, rule: 'mode 1 allows only read, write, _exit, sigreturn', ran: false };
    }
    v.signal = 9; v.fatal = true;
    return SECCOMP_SIGNALLED;
  }
  if (sc.unreadable !== null) {
    if (run.tracing) {
      run.step({ fn: '__secure_computing', what: `${sc.unreadable}; the model cannot run them and goes on as if they allowed the call (any errno, 0 or SIGSYS is possible too)`, outcome: 'info', fact: { name: 'security.filters', value: 'unreadable', source: sc.source } });
    }
    return SECCOMP_RUN;
  }
  let ret: number;
  let match = -1;
  const progs = sc.progs;
  let r = regs;
  // Words the model does not know: the instruction pointer always, and for socketcall the
  // pointer to the argument block (args[1]).
  const unknownWords = 0b1100 | (syscall === 'socketcall' ? 0b11 << 6 : 0);
  const readsUnknown = progs.some((p) => (p.loads & unknownWords) !== 0);
  if (!run.tracing && r === null && !readsUnknown) {
    // The same answer as runFilters, without walking the syscall-number tree per call.
    const key = nr * 4294967296 + (arch >>> 0);
    let pre = sc.prefixes.get(key);
    if (pre === undefined) { pre = prefixesOf(progs, nr, arch); sc.prefixes.set(key, pre); }
    const d = fastData;
    d[0] = nr; d[1] = arch; d[4] = family >>> 0; d[6] = type >>> 0; d[8] = protocol >>> 0;
    ret = runFiltersFast(progs, pre, d);
  } else {
    r ??= intRegs(family, type, protocol);
    const d = seccompData(nr, arch, r);
    if (readsUnknown) {
      // Branch over every value the programs that read an unknown word can return.
      ret = SECCOMP_RET_ALLOW;
      for (let i = progs.length - 1; i >= 0; i--) {
        let cur: number;
        if ((progs[i].loads & unknownWords) !== 0) {
          const { rets } = possibleReturns(sc.filters[i].insns);
          cur = rets[run.choose(`seccomp filter "${sc.filters[i].name}" reads the instruction pointer or a user pointer`, rets.length)];
        } else cur = runProgram(progs[i], d);
        if (actionOnly(cur) < actionOnly(ret)) { ret = cur; match = i; }
      }
    } else {
      const out = runFilters(progs, d);
      ret = out.ret; match = out.match;
    }
    if (run.tracing) {
      const regsShown = `${syscall}(${r.slice(0, 3).map(regText).join(', ')})`;
      const fi = match >= 0 ? sc.filters[match] : null;
      const rule = fi ? ruleText(fi, syscall, r, ret) : `every filter returned ALLOW or LOG`;
      run.step({
        fn: 'seccomp_run_filters',
        what: `${progs.length} filter${progs.length === 1 ? '' : 's'} on seccomp_data{nr ${nr}, arch 0x${(arch >>> 0).toString(16)}, args ${regsShown}}; lowest action ${actionName(ret)}${fi ? ` from "${fi.name}"` : ''}`,
        outcome: 'info',
        fact: { name: 'security.filters', value: sc.filters.map((f) => f.name).join(', '), source: sc.source },
      });
      v.decision = { action: actionName(ret), ret, filter: fi ? fi.name : null, rule, ran: seccompOutcome(ret).kind === 'run' };
    }
  }
  const o = seccompOutcome(ret);
  if (o.kind === 'run') {
    if (run.tracing) {
      run.step({ fn: '__seccomp_filter', what: `${actionName(ret)}: ${v.decision?.rule ?? ''}; the call runs`, outcome: 'pass' });
    }
    return SECCOMP_RUN;
  }
  if (o.kind === 'signal') {
    v.signal = o.signal; v.fatal = o.fatal;
    if (run.tracing) {
      run.step({ fn: '__seccomp_filter', what: `${actionName(ret)}: ${v.decision?.rule ?? ''} -> ${o.fatal ? 'the task is killed by SIGSYS' : 'SIGSYS (si_code SYS_SECCOMP), the call is skipped'}`, outcome: 'fail' });
      run.decide();
    }
    return SECCOMP_SIGNALLED;
  }
  if (o.value === 0) {
    v.notRun = true;
    if (run.tracing) {
      run.step({ fn: '__seccomp_filter', what: `${actionName(ret)}: ${v.decision?.rule ?? ''} -> returns 0 without running the call`, outcome: 'fail' });
      run.decide();
    }
    return 0;
  }
  const what = (ret & SECCOMP_RET_ACTION_FULL) >>> 0 === SECCOMP_RET_ERRNO
    ? `${actionName(ret)}: ${v.decision?.rule ?? ''}${(ret & SECCOMP_RET_DATA) > MAX_ERRNO ? ` (data capped at MAX_ERRNO ${MAX_ERRNO})` : ''}`
    : `${actionName(ret)} with no ${((ret & SECCOMP_RET_ACTION_FULL) >>> 0) === SECCOMP_RET_TRACE ? 'tracer attached' : 'listener on the filter'} -> ENOSYS: ${v.decision?.rule ?? ''}`;
  return run.fail('__seccomp_filter', what, -o.value, run.tracing ? { name: 'security.filters', value: v.decision?.filter ?? '', source: sc.source } : undefined);
}
