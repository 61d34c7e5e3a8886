/**
 * sweep / compare / explain --emulator NAME: the kernel road runs under a syscall emulator
 * (Debian's qemu-user), the model predicts with this host's live profile and the emulated ABI,
 * and a divergence is the emulator's DEPARTURE (exit 5), grouped into classes.
 */
import type { Abi, EntryRoute } from '../abi/arch';
import { ABIS, typeOut } from '../abi/arch';
import { callName, resultText } from '../abi/names';
import { gatherHostProfile } from '../host';
import { SOCKET_FIELDS } from '../bridge/align';
import { conformanceHtml, conformanceJsonlHeader, conformanceJsonlTail, conformanceText, classHeadline } from '../emulator/report';
import { emulatorByName, findEmulator, type EmulatorSpec, type FoundEmulator } from '../emulator/emulators';
import { runEmulated, classKey, type EmulatedOutcome } from '../emulator/conformance';
import { ToolMissingError } from '../static-probe/build';
import type { StartedProbe } from '../static-probe/run';
import { jsonlCase, jsonlHost, jsonlProfile, JSONL_SCHEMA, bold, dim, green, red, yellow, table, type TextStyle } from '../sweep/report';
import type { SocketCase, Verdict } from '../types';
import { flag, opt, choiceOpt, UsageError, type Parsed } from './args';
import { EnvironmentError, requireProcfs, type Io } from './main';
import { parseCase, styleFor, traceTable } from './explain';
import { buildPlan, openOut } from './sweep';
import { exitForCounts, exitForKind } from './exit';

/** The emulator named by --emulator, found on this machine, and the route; usage and machine errors as the CLI wants them. */
export function resolveEmulator(p: Parsed): { found: FoundEmulator; route: EntryRoute } {
  const name = opt(p, 'emulator') as string;
  let spec: EmulatorSpec;
  try {
    spec = emulatorByName(name);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const route = choiceOpt(p, 'route', ['socket', 'socketcall'] as const, 'socket');
  if (!spec.routes.includes(route)) {
    throw new UsageError(`--route ${route}: the ${spec.abi} ABI of ${spec.name} has no ${route} entry (it has ${spec.routes.join(', ')})`);
  }
  try {
    return { found: findEmulator(spec), route };
  } catch (e) {
    if (e instanceof ToolMissingError) throw new EnvironmentError(e.message);
    throw e;
  }
}

let stop: NodeJS.Signals | null = null;

export async function runEmulatedSweep(p: Parsed, io: Io): Promise<number> {
  for (const o of ['variants', 'kernel-trace']) {
    if (p.options.has(o)) throw new UsageError(`--${o} cannot go with --emulator: an emulated sweep runs the emulator as this user, without kernel tracing`);
  }
  if (flag(p, 'progress') && flag(p, 'no-progress')) throw new UsageError('--progress and --no-progress contradict each other');
  if (flag(p, 'color') && flag(p, 'no-color')) throw new UsageError('--color and --no-color contradict each other');
  const format = choiceOpt(p, 'format', ['text', 'jsonl', 'html', 'junit'] as const, 'text');
  if (format === 'junit') throw new UsageError('--format junit is not available with --emulator; use text, jsonl or html');
  const { found, route } = resolveEmulator(p);
  const plan = buildPlan(p);
  const matrix = plan.matrixText;
  // The matrix names types and flags generically (SOCK_STREAM, SOCK_NONBLOCK); the emulated
  // process passes them in its own ABI's numbers (a MIPS SOCK_STREAM is 2).
  const abi = ABIS[found.spec.abi];
  const cases: SocketCase[] = [];
  for (const c of plan.cases()) cases.push(abi.generic ? c : { domain: c.domain, type: typeOut(abi, c.type), protocol: c.protocol });
  requireProcfs();
  const out = openOut(opt(p, 'out'));
  const style: TextStyle = format === 'text' ? styleFor(p, { ...io, isTTY: io.isTTY && opt(p, 'out') === undefined }) : { color: false };
  const profile = gatherHostProfile();
  const running = new Set<StartedProbe>();
  stop = null;
  const onSignal = (s: NodeJS.Signals) => { stop = s; for (const r of running) r.kill(s); };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const started = new Date();
  let outcome: EmulatedOutcome | null = null;
  try {
    if (format === 'jsonl') {
      out.write(conformanceJsonlHeader({ schema: JSONL_SCHEMA, matrix, cases: cases.length, emulator: found.spec.name, abi: found.spec.abi, route, started: started.toISOString(), host: jsonlHost(), batch: plan.batch }) + '\n');
      out.write(jsonlProfile(found.spec.name, profile) + '\n');
    }
    if (!flag(p, 'no-progress') && (flag(p, 'progress') || Boolean(process.stderr.isTTY))) {
      io.err(`[${found.spec.name}] ${cases.length} cases under ${found.version} ...\n`);
    }
    try {
      outcome = await runEmulated(cases, {
        emulator: found, route, profile, batch: plan.batch, closeThreads: plan.closeThreads, control: !flag(p, 'no-control'),
        onStart: (r) => { running.add(r); r.done.finally(() => running.delete(r)).catch(() => undefined); },
        onVerdict: format === 'jsonl' ? (v, i, key) => out.write(caseLine(found.spec.name, v, i, key, abi) + '\n') : undefined,
      });
    } catch (e) {
      if (!stop) throw e;
    }
    if (stop || !outcome) {
      if (format === 'jsonl') out.write(JSON.stringify({ kind: 'summary', variant: found.spec.name, completed: false, total: 0, notes: [`interrupted by ${stop}`] }) + '\n');
      else if (format === 'text') out.write(`sockbridge sweep --emulator ${found.spec.name}: ${matrix} (INCOMPLETE: interrupted by ${stop})\n`);
      else out.write(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>sockbridge: ${found.spec.name} conformance (INCOMPLETE)</title></head><body><p>Interrupted by ${stop}.</p></body></html>\n`);
      io.err(`sockbridge sweep: interrupted by ${stop}\n`);
      return stop === 'SIGINT' ? 130 : 143;
    }
    if (format === 'text') out.write(conformanceText(outcome, matrix, style));
    else if (format === 'jsonl') for (const l of conformanceJsonlTail(outcome)) out.write(l + '\n');
    else out.write(conformanceHtml(outcome, matrix));
    if (format !== 'text' || opt(p, 'out') !== undefined) io.err(conformanceVerdictSummary(outcome) + '\n');
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    out.close();
  }
  return exitForCounts(outcome.totals);
}

function conformanceVerdictSummary(o: EmulatedOutcome): string {
  const t = o.totals;
  return `[${o.emulator}] ${t.total} cases: ${t.MATCH} conform, ${t.DEPARTURE} departures in ${o.classes.length} classes, ${t.MISMATCH} model mismatches; oracle ${o.proof.proven ? 'proven' : 'unproven'} for ${o.abi}`;
}

/** A jsonl case line of an emulated sweep: the sweep's case record plus the departure class. */
function caseLine(emulator: string, v: Verdict, i: number, key: string | null, abi: Abi): string {
  const line = jsonlCase(emulator, i, v);
  if (key === null) return line;
  const k = classKey(v, abi);
  return line.slice(0, -1) + `,"departure":${JSON.stringify({ fn: k.fn, what: k.what, linux: k.linux, emulator: k.emulator, fields: k.fields })}}`;
}

// ---------------------------------------------------------------------------
// one call: compare / explain --emulator
// ---------------------------------------------------------------------------

interface OneRun {
  found: FoundEmulator;
  route: EntryRoute;
  verdict: Verdict;
  outcome: EmulatedOutcome;
}

async function runOne(pos: string[], command: string, p: Parsed): Promise<OneRun & { c: SocketCase; abi: Abi }> {
  const { found, route } = resolveEmulator(p);
  // Names as the emulated process would pass them (strace there): a MIPS SOCK_STREAM is 2.
  const abi = ABIS[found.spec.abi];
  const c = parseCase(pos, command, abi);
  requireProcfs();
  const profile = gatherHostProfile();
  let verdict: Verdict | undefined;
  const outcome = await runEmulated([c], {
    emulator: found, route, profile, batch: 1, closeThreads: 1, control: !flag(p, 'no-control'),
    onVerdict: (v) => { verdict = v; },
  });
  return { found, route, verdict: verdict as Verdict, outcome, c, abi };
}

function kindWord(style: TextStyle, k: string): string {
  return k === 'MATCH' ? green(style, 'MATCH') : k === 'MISMATCH' || k === 'DEPARTURE' ? red(style, k) : yellow(style, k);
}

function header(r: OneRun, style: TextStyle): string[] {
  const o = r.outcome;
  return [
    dim(style, `emulator ${o.emulatorVersion}; guest ABI ${o.abi}, entry ${o.route}; kernel ${o.hostRelease}`),
    dim(style, `oracle ${o.proof.proven ? 'proven' : 'unproven'}: ${o.proof.statement}`),
    dim(style, `control: ${o.control.detail}`),
  ];
}

export async function runEmulatedCompare(pos: string[], p: Parsed, io: Io): Promise<number> {
  if (p.options.has('kernel-trace')) throw new UsageError('--kernel-trace cannot go with --emulator');
  const r = await runOne(pos, 'compare', p);
  const { c, abi } = r;
  const v = r.verdict;
  const exit = exitForKind(v.kind);
  if (flag(p, 'json')) {
    io.out(JSON.stringify({ case: c, emulator: r.found.spec.name, verdict: v.kind, fields: v.fields, diffs: v.diffs, reason: v.reason ?? null, prediction: v.prediction, observation: v.observation, proof: r.outcome.proof, control: r.outcome.control, departure: r.outcome.classes[0] ?? null }, null, 2) + '\n');
    return exit;
  }
  const style = styleFor(p, io);
  const name = r.found.spec.name;
  const o = v.observation;
  const f = v.prediction.facts;
  const rows: string[][] = [['field', 'Linux (model)', name, '']];
  const mark = (field: string) => (v.diffs.some((d) => d.field === field) ? red(style, '✗') : green(style, '✓'));
  const word = (x: { fd?: number; errno?: number }) => resultText(x, abi).slice(2);
  rows.push(['result', word(v.prediction.result), word(o.errno === 0 ? { fd: o.fd } : { errno: o.errno }), mark('result')]);
  if (v.fields === SOCKET_FIELDS && f) {
    rows.push(['fd', String(f.fd), String(o.fd), mark('fd')]);
    rows.push(['close-on-exec', String(f.cloexec), String(((o.fdFlags ?? 0) & 1) !== 0), mark('cloexec')]);
    rows.push(['fdinfo flags', '0' + f.fdinfoFlags.toString(8), o.fdinfo ? '0' + o.fdinfo.flags.toString(8) : '-', mark('fdinfo.flags')]);
    rows.push(['SO_DOMAIN', String(f.soDomain), String(o.soDomain), mark('SO_DOMAIN')]);
    rows.push(['SO_TYPE', String(f.soType), String(o.soType), mark('SO_TYPE')]);
    rows.push(['SO_PROTOCOL', String(f.soProtocol), String(o.soProtocol), mark('SO_PROTOCOL')]);
    rows.push(['sockprotoname', f.protoName, String(o.protoName), mark('sockprotoname')]);
    rows.push(['/proc/net', f.procNet ?? '(none)', o.procNet ? o.procNet.table : '(none)', mark('procnet')]);
  }
  const lines = [`${bold(style, callName(c.domain, c.type, c.protocol, abi))} under ${name}  ${kindWord(style, v.kind)}`, ...header(r, style), '', table(rows, style)];
  const cls = r.outcome.classes[0];
  if (v.kind === 'DEPARTURE' && cls) {
    lines.push('', `${red(style, 'DEPARTURE')}: ${classHeadline(cls, name)}`);
    lines.push(`  Linux decides at ${cls.fn}: ${v.prediction.trace.find((s) => s.fn === cls.fn)?.what ?? cls.what}`);
    lines.push(`  reproduce: ${cls.reproduce.emulator}`);
    if (cls.reproduce.native) lines.push(`             ${cls.reproduce.native}   ${dim(style, '(the same call on this kernel, natively)')}`);
  } else if (v.reason) {
    lines.push('', v.reason);
  }
  io.out(lines.join('\n') + '\n');
  return exit;
}

export async function runEmulatedExplain(pos: string[], p: Parsed, io: Io): Promise<number> {
  for (const o of ['kernel-trace', 'profile', 'no-kernel']) {
    if (p.options.has(o)) throw new UsageError(`--${o} cannot go with --emulator: the emulator runs on this machine, with this host's profile`);
  }
  const r = await runOne(pos, 'explain', p);
  const { c, abi } = r;
  const v = r.verdict;
  const exit = exitForKind(v.kind);
  if (flag(p, 'json')) {
    io.out(JSON.stringify({ case: c, emulator: r.found.spec.name, prediction: v.prediction, observation: v.observation, verdict: v.kind, proof: r.outcome.proof, control: r.outcome.control }, null, 2) + '\n');
    return exit;
  }
  const style = styleFor(p, io);
  const name = r.found.spec.name;
  const call = callName(c.domain, c.type, c.protocol, abi);
  const o = v.observation;
  const lines = [
    `${bold(style, 'Linux ')} ${call} ${resultText(v.prediction.result, abi)}  ${dim(style, `(the model, ${r.outcome.abi} ABI on this host's facts)`)}`,
    `${bold(style, name.padEnd(6))} ${call} ${resultText(o.errno === 0 ? { fd: o.fd } : { errno: o.errno }, abi)}  ${v.kind === 'MATCH' ? green(style, '(conforms)') : kindWord(style, `(${v.kind})`)}`,
    ...header(r, style),
    '',
    traceTable(v.prediction, style),
  ];
  const d = v.prediction.deciding >= 0 ? v.prediction.trace[v.prediction.deciding] : undefined;
  if (d) lines.push('', `${bold(style, 'deciding step:')} ${d.fn}: ${d.what}`);
  if (v.diffs.length) {
    lines.push('', red(style, `where ${name} departs:`));
    for (const x of v.diffs) lines.push(`  ${x.field}: Linux ${JSON.stringify(x.predicted)}, ${name} ${JSON.stringify(x.observed)}`);
  }
  io.out(lines.join('\n') + '\n');
  return exit;
}
