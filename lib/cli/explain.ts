/**
 * explain: the modelled path for one call, step by step, with the deciding check and the host
 * fact behind it; on the live host, the kernel's answer beside it.
 * compare: one call down both roads, field by field.
 */
import { exitForKind } from './exit';
import type { HostProfile, Observation, Prediction, SocketCase, SocketResult, Step, Verdict } from '../types';
import { parseArgs, helpText, flag, opt, choiceOpt, UsageError, type OptionSpec } from './args';
import { htmlExplainPage } from '../sweep/report-html';
import { EnvironmentError, requireProcfs, type Io } from './main';
import { parseDomain, parseType, parseProtocol, callName, resultText, typeName } from '../abi/names';
import { type Abi, abiForMachine } from '../abi/arch';
import { KernelModel } from '../kernel';
import { gatherHostProfile, loadProfile } from '../host';
import { SOCKET_FIELDS, resultLabel } from '../bridge/align';
import { compareLive } from '../bridge/compare';
import type { Counters } from '../bridge/counters';
import { bold, dim, green, red, yellow, table, type TextStyle } from '../sweep/report';
import type { TraceAgreement } from '../bridge/ktrace-glue';
import { INSTALL_OPT, POLICY_OPTS, installPolicy, policyProfile, policySpec, rerunWithPolicy } from './policy';

const EXPLAIN_OPTS: Record<string, OptionSpec> = {
  profile: { value: true, arg: 'FILE', help: 'predict for the host saved in FILE (sockbridge host --json) instead of this one; the kernel is not asked' },
  'no-kernel': { value: false, help: 'do not ask this machine\'s kernel; show the model only' },
  'kernel-trace': { value: false, help: 'also record the kernel\'s tracepoints (sys_enter/exit_socket, cap_capable) and line them up with the steps (root)' },
  json: { value: false, help: 'print the prediction (and observation) as JSON' },
  format: { value: true, arg: 'FMT', help: 'text (default), json (as --json), or html: one page with the path drawn as in the sweep\'s html report' },
  emulator: { value: true, arg: 'NAME', help: 'ask a syscall emulator (qemu-aarch64, qemu-mips64el, qemu-i386) instead of this kernel, and say where it departs from Linux (exit 5)' },
  route: { value: true, arg: 'R', help: 'with --emulator qemu-i386: socket (359, default) or socketcall (102)' },
  'no-control': { value: false, help: 'with --emulator: skip the same call on this kernel natively' },
  raw: { value: false, help: 'pass DOMAIN TYPE PROTOCOL as whole 64-bit registers (e.g. 0x100000028): seccomp sees them whole, socket() their low 32 bits' },
  ...POLICY_OPTS,
  color: { value: false, help: 'colour the output even when it is not a terminal' },
  'no-color': { value: false, help: 'never colour the output' },
  help: { value: false, help: 'show this help' },
  ...INSTALL_OPT,
};

const COMPARE_OPTS: Record<string, OptionSpec> = {
  'kernel-trace': EXPLAIN_OPTS['kernel-trace'],
  json: { value: false, help: 'print the verdict as JSON' },
  emulator: EXPLAIN_OPTS.emulator,
  route: EXPLAIN_OPTS.route,
  'no-control': EXPLAIN_OPTS['no-control'],
  raw: { value: false, help: 'pass DOMAIN TYPE PROTOCOL as whole 64-bit registers (e.g. 0x100000028): seccomp sees them whole, socket() their low 32 bits' },
  ...POLICY_OPTS,
  color: EXPLAIN_OPTS.color,
  'no-color': EXPLAIN_OPTS['no-color'],
  help: EXPLAIN_OPTS.help,
  ...INSTALL_OPT,
};

export function parseCase(pos: string[], command: string, abi?: Abi, raw = false): SocketCase {
  if (pos.length < 2 || pos.length > 3) {
    throw new UsageError(`${command} takes DOMAIN TYPE [PROTOCOL], e.g. "sockbridge ${command} AF_INET SOCK_STREAM IPPROTO_TCP" (got ${pos.length} argument${pos.length === 1 ? '' : 's'})`);
  }
  if (raw) return parseRawCase(pos);
  const domain = parseDomain(pos[0]);
  const type = parseType(pos[1], abi);
  const protocol = pos.length === 3 ? parseProtocol(pos[2], domain) : 0;
  return { domain, type, protocol };
}

/**
 * --raw: each argument is a whole 64-bit register (a number, or a name for its low 32 bits),
 * passed to syscall(SYS_socket, ...) as it is; socket() itself sees the low 32 bits.
 */
function parseRawCase(pos: string[]): SocketCase {
  const regs: bigint[] = [];
  const ints: number[] = [];
  pos.forEach((text, i) => {
    let v: bigint;
    if (/^-?(0x[0-9a-f_]+|0o[0-7_]+|\d[\d_]*)$/i.test(text)) {
      const neg = text.startsWith('-');
      const body = (neg ? text.slice(1) : text).replace(/_/g, '');
      v = BigInt(body) * (neg ? -1n : 1n);
      if (v < -(1n << 63n) || v >= 1n << 64n) throw new UsageError(`--raw: ${text} does not fit a 64-bit register`);
    } else {
      v = BigInt(i === 0 ? parseDomain(text) : i === 1 ? parseType(text) : parseProtocol(text, ints[0]));
    }
    const u = BigInt.asUintN(64, v);
    regs.push(u);
    ints.push(Number(BigInt.asIntN(32, u)));
  });
  while (regs.length < 3) { regs.push(0n); ints.push(0); }
  return { domain: ints[0], type: ints[1], protocol: ints[2], raw: regs.map((r) => '0x' + r.toString(16)) as [string, string, string] };
}

export function styleFor(p: { options: Map<string, string[]> }, io: Io): TextStyle {
  if (p.options.has('no-color')) return { color: false };
  if (p.options.has('color')) return { color: true };
  return { color: io.isTTY && !process.env.NO_COLOR };
}

/** The ordered trace as a table, the deciding step marked; host facts as indented lines under their step. */
export function traceTable(pred: Prediction, style: TextStyle, agreement?: TraceAgreement, abi?: Abi): string {
  const rows: string[][] = [['', '#', 'kernel function', 'what it checked or did', 'outcome']];
  const under: string[][] = [[]];
  pred.trace.forEach((s: Step, i: number) => {
    const mark = i === pred.deciding ? bold(style, '→') : '';
    const outcome = s.outcome === 'fail' ? red(style, `${s.errno !== undefined ? errName(s.errno, abi) : 'fail'}`)
      : s.outcome === 'rewrite' ? yellow(style, 'rewrite') : s.outcome === 'info' ? dim(style, 'info') : green(style, 'pass');
    const notes: string[] = [];
    if (s.cap) {
      const seen = agreement?.caps?.[capIndex(pred, i)];
      if (seen) notes.push(seen.agree ? green(style, `kernel trace: ${seen.observed}`) : red(style, `kernel trace: ${seen.observed}`));
    }
    if (s.fact) notes.push(dim(style, `host fact: ${s.fact.name} = ${s.fact.value}  (from ${s.fact.source})`));
    if (s.module) notes.push(dim(style, `request_module("${s.module.request}") -> ${s.module.loaded ? `loads ${s.module.loaded}` : 'no module loaded'}`));
    rows.push([mark, String(i + 1), s.fn, s.what, outcome]);
    under.push(notes);
  });
  const lines = table(rows, style).split('\n');
  const indent = ' '.repeat(Math.max(...rows.map((r) => r[2].length)) + 9);
  return lines.map((l, i) => [l, ...under[i].map((n) => indent + n)].join('\n')).join('\n');
}

function capIndex(pred: Prediction, i: number): number {
  let n = 0;
  for (let j = 0; j < i; j++) if (pred.trace[j].cap) n++;
  return n;
}

function errName(e: number, abi?: Abi): string {
  const n = (require('../abi/names') as typeof import('../abi/names')).errnoName(e, abi);
  return abi && !abi.generic ? `${n} (${e})` : n;
}

/** The ABI a profile's kernel runs natively: its numbers are the ones names are read and shown in. */
export function profileAbi(profile: HostProfile, where: string): Abi {
  try {
    return abiForMachine(profile.kernel.machine.value);
  } catch (e) {
    throw new UsageError(`${where}: ${(e as Error).message}`);
  }
}

interface LiveRun { pred: Prediction; obs: Observation; verdict: Verdict; counters: { predicted: Counters; observed: Counters } | null; trace?: TraceAgreement }

function runLive(c: SocketCase, profile: HostProfile, kernelTrace: boolean): LiveRun {
  const r = compareLive(c, profile, { kernelTrace });
  return { pred: r.prediction, obs: r.observation, verdict: r.verdict, counters: r.counters, trace: r.kernelTrace };
}

export async function runExplain(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, EXPLAIN_OPTS, 'explain');
  if (flag(p, 'help')) {
    io.out(helpText('explain', 'DOMAIN TYPE [PROTOCOL]', 'Walk the modelled kernel path of socket(DOMAIN, TYPE, PROTOCOL): every check in the kernel\'s order,\nthe host fact each one consulted, and the step that decided the result.', EXPLAIN_OPTS) + '\n');
    return 0;
  }
  let c = parseCase(p.positional, 'explain', undefined, flag(p, 'raw'));
  if (opt(p, 'emulator') !== undefined) return (require('./emulate') as typeof import('./emulate')).runEmulatedExplain(p.positional, p, io);
  for (const o of ['route', 'no-control']) if (p.options.has(o)) throw new UsageError(`--${o} goes with --emulator NAME`);
  const style = styleFor(p, io);
  const file = opt(p, 'profile');
  if (file !== undefined && flag(p, 'kernel-trace')) throw new UsageError('--kernel-trace asks this machine\'s kernel; it cannot go with --profile, which predicts for another host');
  if (file === undefined) requireProcfs();
  const live = file === undefined && !flag(p, 'no-kernel');
  // A live call under a policy runs in a child that installs it: filters cannot be removed.
  if (live && policySpec(p) && !flag(p, 'install-policy')) return rerunWithPolicy('explain', argv, io);
  const gathered = file !== undefined ? loadProfileFile(file) : gatherHostProfile();
  // Names are read and shown in the numbers of the profile's architecture, as strace there would.
  const abi = profileAbi(gathered, file ?? 'this host');
  if (!abi.generic) c = parseCase(p.positional, 'explain', abi, flag(p, 'raw'));
  const policyNotes: string[] = [];
  const profile = policyProfile(gathered, p, policyNotes);
  if (flag(p, 'install-policy')) installPolicy(gathered, p);
  let pred: Prediction;
  let run: LiveRun | undefined;
  if (live) {
    run = runLive(c, profile, flag(p, 'kernel-trace'));
    pred = run.pred;
  } else {
    pred = new KernelModel(profile, { trace: true }).predict(c);
  }
  const format = choiceOpt(p, 'format', ['text', 'json', 'html'] as const, flag(p, 'json') ? 'json' : 'text');
  if (flag(p, 'json') && format !== 'json') throw new UsageError(`--json and --format ${format} contradict each other`);
  if (format === 'html') {
    const o = run?.obs;
    io.out(htmlExplainPage({
      call: callName(c.domain, c.type, c.protocol, abi),
      prediction: pred,
      model: resultText(pred.result, abi),
      kernel: o ? resultText(o.errno === 0 ? { fd: o.fd } : { errno: o.errno }, abi) : undefined,
      verdict: run?.verdict.kind,
      note: file !== undefined ? `predicted for the host in ${file}; the kernel was not asked` : run ? undefined : 'the kernel was not asked',
    }));
    return run ? exitForKind(run.verdict.kind) : 0;
  }
  if (format === 'json') {
    io.out(JSON.stringify({ abi: abi.name, case: c, prediction: pred, observation: run?.obs ?? null, verdict: run?.verdict.kind ?? null, reason: run?.verdict.reason ?? null, evidence: run?.verdict.evidence ?? null, kernelTrace: run?.trace ?? null }, null, 2) + '\n');
    return run ? exitForKind(run.verdict.kind) : 0;
  }
  const call = c.raw ? `syscall(SYS_socket, ${c.raw.join(', ')}) i.e. ${callName(c.domain, c.type, c.protocol, abi)}` : callName(c.domain, c.type, c.protocol, abi);
  const lines: string[] = [];
  for (const n of policyNotes) lines.push(yellow(style, `note: ${n}`));
  lines.push(`${bold(style, 'model ')} ${call} ${resultText(pred.result, abi)}`);
  if (!abi.generic) {
    const r = pred.result.fd !== undefined ? `= ${pred.result.fd}` : pred.result.signal !== undefined ? resultText(pred.result) : `= -1 (errno ${pred.result.errno})`;
    lines.push(dim(style, `       on ${abi.name} (the profile's machine ${profile.kernel.machine.value}) in numbers: socket(${c.domain}, ${c.type}, ${c.protocol}) ${r}`));
  }
  if (pred.possible && pred.possible.length > 1) {
    lines.push(yellow(style, `       unknown host fact${(pred.missing ?? []).length === 1 ? '' : 's'}: ${(pred.missing ?? []).join(', ')}; possible results: ${pred.possible.map((r) => resultText(r, abi).slice(2)).join(' | ')}`));
  }
  if (run) {
    const o = run.obs;
    const agree = run.verdict.kind === 'MATCH';
    lines.push(`${bold(style, 'kernel')} ${call} ${observedText(o)}  ${agree ? green(style, '(agrees)') : red(style, `(${run.verdict.kind})`)}`);
    if (run.verdict.reason) lines.push(yellow(style, `       ${run.verdict.reason}`));
  } else {
    lines.push(dim(style, file !== undefined ? `(predicted for the host in ${file}; the kernel was not asked)` : '(the kernel was not asked)'));
  }
  lines.push('');
  lines.push(traceTable(pred, style, run?.trace, abi));
  lines.push('');
  const d = pred.deciding >= 0 ? pred.trace[pred.deciding] : undefined;
  if (pred.seccomp) lines.push(`${bold(style, 'seccomp:')} ${pred.seccomp.rule} -> ${pred.seccomp.action}${pred.seccomp.filter ? ` (filter "${pred.seccomp.filter}")` : ''}${pred.seccomp.ran ? '; the call runs' : ''}`);
  if (pred.unknownFilters) lines.push(yellow(style, `seccomp: ${pred.unknownFilters}`));
  if (d) {
    lines.push(`${bold(style, 'deciding step:')} ${d.fn}: ${d.what}`);
    if (d.fact) lines.push(`  because ${d.fact.name} = ${d.fact.value} (from ${d.fact.source})`);
    if (d.cap) lines.push(`  capability ${capName(d.cap.cap)} in the ${usernsWords(d.cap.userns)}: ${d.cap.granted ? 'granted' : 'denied'}`);
  }
  if (pred.facts) {
    const f = pred.facts;
    lines.push(`${bold(style, 'the new socket:')} fd ${f.fd}${f.cloexec ? ' close-on-exec' : ''}${f.nonblock ? ' O_NONBLOCK' : ''}, SO_DOMAIN ${f.soDomain}, SO_TYPE ${f.soType} (${typeName(f.soType, abi)}), SO_PROTOCOL ${f.soProtocol}, ` +
      `"${f.protoName}", ${f.procNet ? `listed in /proc/net/${f.procNet}` : 'in no /proc/net table yet'}, fdinfo flags 0${f.fdinfoFlags.toString(8)}`);
  }
  if (run && run.verdict.diffs.length) {
    lines.push('');
    lines.push(red(style, 'where the roads part:'));
    for (const x of run.verdict.diffs) lines.push(`  ${x.field}: model ${JSON.stringify(x.predicted)}, kernel ${JSON.stringify(x.observed)}`);
    if (run.verdict.reason) lines.push(`  ${run.verdict.kind}: ${run.verdict.reason}`);
    for (const e of run.verdict.evidence ?? []) lines.push(`  evidence: [${e.policy}] ${e.name}: ${e.detail} (from ${e.source})`);
  }
  if (run?.trace?.note) lines.push(dim(style, run.trace.note));
  io.out(lines.join('\n') + '\n');
  return run ? exitForKind(run.verdict.kind) : 0;
}

export async function runCompare(argv: string[], io: Io): Promise<number> {
  const p = parseArgs(argv, COMPARE_OPTS, 'compare');
  if (flag(p, 'help')) {
    io.out(helpText('compare', 'DOMAIN TYPE [PROTOCOL]', 'Run socket(DOMAIN, TYPE, PROTOCOL) down both roads - the model and this machine\'s kernel -\nand line the answers up field by field. Exit 0 when they agree, 1 when they do not.', COMPARE_OPTS) + '\n');
    return 0;
  }
  if (opt(p, 'emulator') !== undefined) return (require('./emulate') as typeof import('./emulate')).runEmulatedCompare(p.positional, p, io);
  const c = parseCase(p.positional, 'compare', undefined, flag(p, 'raw'));
  for (const o of ['route', 'no-control']) if (p.options.has(o)) throw new UsageError(`--${o} goes with --emulator NAME`);
  const style = styleFor(p, io);
  requireProcfs();
  if (policySpec(p) && !flag(p, 'install-policy')) return rerunWithPolicy('compare', argv, io);
  const gathered = gatherHostProfile();
  const policyNotes: string[] = [];
  const profile = policyProfile(gathered, p, policyNotes);
  if (flag(p, 'install-policy')) installPolicy(gathered, p);
  const run = runLive(c, profile, flag(p, 'kernel-trace'));
  const v = run.verdict;
  if (flag(p, 'json')) {
    io.out(JSON.stringify({ case: c, verdict: v.kind, fields: v.fields, diffs: v.diffs, reason: v.reason ?? null, evidence: v.evidence ?? null, prediction: run.pred, observation: run.obs, counters: run.counters, kernelTrace: run.trace ?? null }, null, 2) + '\n');
    return exitForKind(v.kind);
  }
  const o = run.obs;
  const f = run.pred.facts;
  const rows: string[][] = [['field', 'model', 'kernel', '']];
  // UNSUPPORTED: the model could not decide between several results; a field that differs from
  // its first possibility is not a disagreement, so it is marked '~', not '✗'.
  const undecided = v.kind === 'UNSUPPORTED';
  const mark = (field: string) => (v.diffs.some((d) => d.field === field) ? (undecided ? yellow(style, '~') : red(style, '✗')) : green(style, '✓'));
  const okResult = (r: { fd?: number; errno?: number; signal?: number }) => (r.signal !== undefined ? resultLabel(r as SocketResult) : resultText(r).slice(2));
  const possible = run.pred.possible && run.pred.possible.length > 1 ? run.pred.possible : null;
  const modelResult = possible ? `one of: ${possible.map(okResult).join(' | ')}` : okResult(run.pred.result);
  rows.push(['result', modelResult, o.signal || o.notRun ? resultLabel(o) : okResult(o.errno === 0 ? { fd: o.fd } : { errno: o.errno }), mark('result')]);
  if (v.fields === SOCKET_FIELDS && f) {
    const ino = o.stat?.ino;
    rows.push(['fd', String(f.fd), String(o.fd), mark('fd')]);
    rows.push(['close-on-exec', String(f.cloexec), String(((o.fdFlags ?? 0) & 1) !== 0), mark('cloexec')]);
    rows.push(['O_NONBLOCK', String(f.nonblock), String(((o.flFlags ?? 0) & 0o4000) !== 0), mark('nonblock')]);
    rows.push(['fdinfo flags', '0' + f.fdinfoFlags.toString(8), o.fdinfo ? '0' + o.fdinfo.flags.toString(8) : '-', mark('fdinfo.flags')]);
    rows.push(['SO_DOMAIN', String(f.soDomain), String(o.soDomain), mark('SO_DOMAIN')]);
    rows.push(['SO_TYPE', String(f.soType), String(o.soType), mark('SO_TYPE')]);
    rows.push(['SO_PROTOCOL', String(f.soProtocol), String(o.soProtocol), mark('SO_PROTOCOL')]);
    rows.push(['link', 'socket:[<ino>]', `${o.link} (fstat ${ino}, fdinfo ${o.fdinfo?.ino})`, mark('link')]);
    rows.push(['inode mode', '0140777', o.stat ? '0' + o.stat.mode.toString(8) : '-', mark('inode.mode')]);
    rows.push(['inode uid:gid', `${profile.creds.fsuid.value}:${profile.creds.fsgid.value}`, `${o.stat?.uid}:${o.stat?.gid}`, v.diffs.some((d) => d.field.startsWith('inode.')) ? red(style, '✗') : green(style, '✓')]);
    rows.push(['sockprotoname', f.protoName, String(o.protoName), mark('sockprotoname')]);
    rows.push(['/proc/net', f.procNet ?? '(none)', o.procNet ? o.procNet.table : '(none)', mark('procnet')]);
  }
  const lines = [...policyNotes.map((n) => yellow(style, `note: ${n}`)), `${bold(style, c.raw ? `syscall(SYS_socket, ${c.raw.join(', ')})` : callName(c.domain, c.type, c.protocol))}  ${v.kind === 'MATCH' ? green(style, 'MATCH') : v.kind === 'MISMATCH' ? red(style, 'MISMATCH') : yellow(style, v.kind)}`, '', table(rows, style)];
  if (run.pred.seccomp) lines.push('', `seccomp: ${run.pred.seccomp.rule} -> ${run.pred.seccomp.action}`);
  if (run.counters) {
    const shared = profile.net.netnsIsInit.value !== false;
    const pc = run.counters.predicted;
    const oc = run.counters.observed;
    const show = (x: Counters) => [...Object.entries(x.protocols).filter(([, n]) => n !== 0).map(([k, n]) => `${k} ${n > 0 ? '+' : ''}${n}`), `sockets: used ${x.sockstatUsed >= 0 ? '+' : ''}${x.sockstatUsed}`].join(', ');
    lines.push('');
    lines.push(`counters  model: ${show(pc)}`);
    lines.push(`          kernel: ${show(oc)}${shared ? dim(style, '  (other processes share this network namespace: shown, not compared; "sockbridge sweep --variants netns" compares them exactly)') : ''}`);
  }
  if (v.reason) lines.push('', v.reason);
  for (const e of v.evidence ?? []) lines.push(`evidence: [${e.policy}] ${e.name}: ${e.detail} (from ${e.source})`);
  const d = run.pred.deciding >= 0 ? run.pred.trace[run.pred.deciding] : undefined;
  if (d) lines.push('', `${dim(style, possible ? 'deciding step (of the first possibility):' : 'deciding step:')} ${d.fn}: ${d.what}`);
  if (run.trace?.note) lines.push(dim(style, run.trace.note));
  io.out(lines.join('\n') + '\n');
  return exitForKind(v.kind);
}

function observedText(o: Observation): string {
  if (o.signal || o.notRun) return `= ${resultLabel(o)}`;
  return resultText(o.errno === 0 ? { fd: o.fd } : { errno: o.errno });
}

/** --profile FILE: a bad file is the user's to fix (exit 2); an unreadable one the machine's (exit 3). */
function loadProfileFile(file: string): HostProfile {
  try {
    return loadProfile(file);
  } catch (e) {
    if (e instanceof Error && e.name === 'ProfileError') throw e;
    throw new EnvironmentError(`--profile ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function capName(cap: number): string {
  const names: Record<number, string> = { 12: 'CAP_NET_ADMIN', 13: 'CAP_NET_RAW', 21: 'CAP_SYS_ADMIN' };
  return names[cap] ?? `capability ${cap}`;
}

function usernsWords(u: string): string {
  return u === 'init' ? 'initial user namespace (capable())' : u === 'netns-owner' ? 'user namespace that owns the socket\'s network namespace (ns_capable(net->user_ns))' : 'current user namespace';
}
