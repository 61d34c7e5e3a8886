/**
 * Line up the kernel's own record of socket() calls (sys_enter_socket, cap_capable,
 * sys_exit_socket from one thread) with the calls sockbridge made and the capability checks
 * the model predicted for them. This turns "same errno" into "same path": the same
 * arguments went in, the same capabilities were checked in the same order with the same
 * outcome, and the same value came out.
 *
 * Pure: no I/O. The events come from lib/ktrace/parse.ts.
 */
import type { Prediction, SocketCase } from '../types';
import type { CapCapableEvent, EnterSocketEvent, ExitSocketEvent, TraceEvent } from './parse';

/** A capability check as the model predicts it. */
export interface PredictedCap { cap: number; granted: boolean }

/** A capability check as the kernel recorded it. */
export interface KernelCap {
  cap: number;
  /** null when the kernel's cap_capable has no ret field. */
  granted: boolean | null;
  ret: number | null;
}

/** What the trace says about one socket() call, and whether it agrees with the model and the call. */
export interface StepAgreement {
  /** Index of the call in `calls`. */
  index: number;
  case: SocketCase;
  /** A traced socket() call was found for this call (in order; see enter.agree for its arguments). */
  found: boolean;
  enter: {
    /** The arguments the kernel received (int32), or null when no entry was found. */
    kernel: { family: number; type: number; protocol: number } | null;
    agree: boolean;
  };
  caps: {
    predicted: PredictedCap[];
    /** The cap_capable events between this call's entry and exit, in order. */
    kernel: KernelCap[];
    /**
     * true: same capabilities, same order, same outcome. false: they differ (see diffs).
     * null: not comparable (cap_capable not traced, or events were lost inside the call).
     */
    agree: boolean | null;
    diffs: string[];
  };
  exit: {
    /** The observed result as the syscall returns it: the fd, or -errno. */
    observed: number;
    /** The kernel's sys_exit_socket value, or null when no exit was seen for the call. */
    kernel: number | null;
    agree: boolean;
  };
  /** All three agree (caps.agree null counts as not agreeing: the path was not fully seen). */
  agree: boolean;
  /** socket() calls of the same thread in the trace before this one that match no call (node itself, other code). */
  skippedBefore: number;
  /** Lost ring-buffer events or a missing exit that make this record incomplete; and similar remarks. */
  notes: string[];
}

export interface AlignOptions {
  /** Whether cap_capable was enabled (default true). When false, caps.agree is null with a note. */
  capTraced?: boolean;
  /** Whether the kernel's cap_capable has a ret field (default true). When false only the capabilities are compared. */
  capHasRet?: boolean;
}

/** One socket() as the trace shows it: entry, the checks inside it, exit. */
interface TracedCall {
  enter: EnterSocketEvent;
  caps: CapCapableEvent[];
  exit: ExitSocketEvent | null;
  /** Events were lost inside this call (or right before its entry). */
  lost: boolean;
}

/** Capability names of include/uapi/linux/capability.h, for messages. */
export const CAP_NAMES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

export function capName(cap: number): string {
  return CAP_NAMES[cap] ?? `capability ${cap}`;
}

function describeCap(c: { cap: number; granted: boolean | null }): string {
  const how = c.granted === null ? 'outcome not traced' : c.granted ? 'granted' : 'denied';
  return `${capName(c.cap)} (${c.cap}) ${how}`;
}

/** The capability checks a prediction's trace contains, in order (steps with `cap`). */
export function predictedCapsOf(prediction: Pick<Prediction, 'trace'>): PredictedCap[] {
  return prediction.trace.filter(s => s.cap !== undefined).map(s => ({ cap: s.cap!.cap, granted: s.cap!.granted }));
}

/**
 * Cut a thread's events into socket() calls. A cap_capable outside any call (node itself,
 * file opens, ...) belongs to no call and is dropped here; that is the point of cutting.
 */
export function tracedCalls(events: TraceEvent[]): { calls: TracedCall[]; orphanExits: number; capsOutside: number } {
  const calls: TracedCall[] = [];
  let open: TracedCall | null = null;
  let lostPending = false;
  let orphanExits = 0;
  let capsOutside = 0;
  for (const ev of events) {
    switch (ev.kind) {
      case 'enter':
        // An entry while another call is open means that call's exit was lost.
        if (open) { open.lost = true; calls.push(open); }
        open = { enter: ev, caps: [], exit: null, lost: lostPending };
        lostPending = false;
        break;
      case 'cap':
        if (open) open.caps.push(ev); else capsOutside++;
        break;
      case 'exit':
        if (open) { open.exit = ev; calls.push(open); open = null; } else orphanExits++;
        break;
      case 'lost':
        if (open) open.lost = true; else lostPending = true;
        break;
      default:
        break;
    }
  }
  if (open) calls.push(open);
  return { calls, orphanExits, capsOutside };
}

function compareCaps(predicted: PredictedCap[], kernel: KernelCap[], hasRet: boolean): string[] {
  const diffs: string[] = [];
  const n = Math.max(predicted.length, kernel.length);
  for (let i = 0; i < n; i++) {
    const p = predicted[i];
    const k = kernel[i];
    if (p && !k) {
      diffs.push(`check ${i + 1}: the model predicts ${describeCap(p)}; the kernel made no further check`);
    } else if (k && !p) {
      diffs.push(`check ${i + 1}: the kernel checked ${describeCap(k)}; the model predicts no further check`);
    } else if (p && k) {
      if (p.cap !== k.cap) {
        diffs.push(`check ${i + 1}: the model predicts ${describeCap(p)}, the kernel checked ${describeCap(k)}`);
      } else if (hasRet && k.granted !== p.granted) {
        diffs.push(`check ${i + 1}: ${capName(p.cap)} the model predicts ${p.granted ? 'granted' : 'denied'}, the kernel ${k.granted ? 'granted' : 'denied'} it`);
      }
    }
  }
  return diffs;
}

/**
 * Align, per call: the entry arguments equal the call's; the cap_capable checks seen between
 * that entry and its exit equal `predictedCaps[i]` (capability, order, granted/denied); the
 * exit value equals the observed result (fd, or -errno).
 *
 * `events` are one thread's events in trace order. socket() calls in the trace that match no
 * call (same thread, other code) are skipped and counted in `skippedBefore`. When no later
 * entry has the call's arguments, the next traced call is taken as this call's, with
 * enter.agree=false (the kernel received other arguments). A call with no traced call left
 * gets found=false and agree=false.
 */
export function alignTrace(
  calls: SocketCase[],
  results: Array<{ errno: number; fd: number }>,
  predictedCaps: PredictedCap[][],
  events: TraceEvent[],
  options: AlignOptions = {},
): StepAgreement[] {
  if (results.length !== calls.length) {
    throw new RangeError(`alignTrace: results has ${results.length} entries, calls has ${calls.length}; they must be the same length`);
  }
  if (predictedCaps.length !== calls.length) {
    throw new RangeError(`alignTrace: predictedCaps has ${predictedCaps.length} entries, calls has ${calls.length}; they must be the same length`);
  }
  const capTraced = options.capTraced ?? true;
  const capHasRet = options.capHasRet ?? true;
  const { calls: traced } = tracedCalls(events);
  const out: StepAgreement[] = [];
  let next = 0;
  for (let i = 0; i < calls.length; i++) {
    const c = calls[i];
    const want = { family: c.domain | 0, type: c.type | 0, protocol: c.protocol | 0 };
    const r = results[i];
    const observed = r.errno !== 0 ? -r.errno : r.fd;
    const predicted = predictedCaps[i];
    let k = next;
    while (k < traced.length && !sameArgs(traced[k].enter, want)) k++;
    let argsAgree = true;
    if (k >= traced.length) {
      if (next >= traced.length) {
        out.push({
          index: i, case: c, found: false,
          enter: { kernel: null, agree: false },
          caps: { predicted, kernel: [], agree: null, diffs: [] },
          exit: { observed, kernel: null, agree: false },
          agree: false, skippedBefore: 0,
          notes: [`no sys_enter_socket from this thread in the trace after the previous call (wanted ${want.family}, ${want.type}, ${want.protocol})`],
        });
        continue;
      }
      // No later entry has this call's arguments: the call in its place went in with other ones.
      k = next;
      argsAgree = false;
    }
    const t = traced[k];
    const skippedBefore = k - next;
    next = k + 1;
    const notes: string[] = [];
    if (!argsAgree) notes.push(`the kernel received socket(${t.enter.family}, ${t.enter.type}, ${t.enter.protocol}) where the call was socket(${want.family}, ${want.type}, ${want.protocol})`);
    if (t.lost) notes.push('the ring buffer lost events around this call: its capability checks may be incomplete');
    if (!t.exit) notes.push('no sys_exit_socket was recorded for this call');
    const kernelCaps: KernelCap[] = t.caps.map(e => ({ cap: e.cap, granted: e.granted, ret: e.ret }));
    let capsAgree: boolean | null;
    let diffs: string[] = [];
    if (!capTraced) {
      capsAgree = null;
      notes.push('capability:cap_capable is not traced on this kernel: the capability checks were not compared');
    } else {
      diffs = compareCaps(predicted, kernelCaps, capHasRet);
      capsAgree = t.lost ? (diffs.length === 0 ? null : false) : diffs.length === 0;
      if (!capHasRet) notes.push('this kernel\'s cap_capable has no ret field: only which capabilities were checked is compared');
    }
    const kernelRet = t.exit ? t.exit.ret : null;
    const exitAgree = kernelRet === observed;
    out.push({
      index: i, case: c, found: true,
      enter: { kernel: { family: t.enter.family, type: t.enter.type, protocol: t.enter.protocol }, agree: argsAgree },
      caps: { predicted, kernel: kernelCaps, agree: capsAgree, diffs },
      exit: { observed, kernel: kernelRet, agree: exitAgree },
      agree: argsAgree && capsAgree === true && exitAgree,
      skippedBefore, notes,
    });
  }
  return out;
}

function sameArgs(e: EnterSocketEvent, w: { family: number; type: number; protocol: number }): boolean {
  return e.family === w.family && e.type === w.type && e.protocol === w.protocol;
}

/** One line per call for a text report: "socket(2, 3, 1): caps CAP_NET_RAW granted = model; exit 5 = observed". */
export function describeAgreement(a: StepAgreement): string {
  const call = `socket(${a.case.domain}, ${a.case.type}, ${a.case.protocol})`;
  if (!a.found) return `${call}: not in the kernel trace (${a.notes.join('; ')})`;
  const caps = a.caps.kernel.length === 0 ? 'no capability check' : a.caps.kernel.map(describeCap).join(', ');
  const capVerdict = a.caps.agree === null ? 'not compared' : a.caps.agree ? 'as the model predicts' : `differs: ${a.caps.diffs.join('; ')}`;
  const exit = a.exit.agree ? `exit ${a.exit.kernel} as observed` : `exit ${a.exit.kernel} but observed ${a.exit.observed}`;
  const extra = a.notes.length ? ` [${a.notes.join('; ')}]` : '';
  return `${call}: ${caps} (${capVerdict}); ${exit}${extra}`;
}
