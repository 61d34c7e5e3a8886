/**
 * A sweep report read back (`sweep --format jsonl`, from this host or another): its case lines as
 * observations, the model replayed over its cases as the sweep ran them, and a tally with traced
 * examples, so that the html report can draw any report's grid - a guest of test:kernels, each
 * host of a `diff` - the way it draws a sweep's own.
 *
 * The verdicts, answers and counts are the report's own; only the traces come from the model of
 * this tree, run on the report's own profile line (which the sweep took before its first case).
 */
import type { HostProfile, Observation, Prediction, SocketCase, SocketResult, Verdict, VerdictKind } from '../types';
import { KernelModel } from '../kernel';
import { O_NONBLOCK, O_RDWR } from '../abi/constants';
import { resultText } from '../abi/names';
import { addVerdict, newTally, wantsExample, type VariantTally } from './tally';
import { alignCase, type AlignEnv } from '../bridge/align';

/** A "case" line of a jsonl report, as far as a reader needs it (the README's schema has it all). */
export interface CaseLine {
  kind: 'case';
  variant: string;
  index: number;
  call: string;
  domain: number;
  type: number;
  protocol: number;
  verdict: string;
  predicted: {
    errno?: number; fd?: number; signal?: number; fatal?: boolean;
    [k: string]: unknown;
  };
  observed: {
    errno?: number; fd?: number; signal?: number; fatal?: boolean; notRun?: boolean;
    cloexec?: boolean | null; nonblock?: boolean | null; fdinfoFlags?: string | null;
    soDomain?: number | null; soType?: number | null; soProtocol?: number | null; link?: string | null;
    ino?: number | null; fdinfoIno?: number | null; mode?: string | null; uid?: number | null; gid?: number | null;
    protoName?: string | null; procNet?: string | null;
  };
  diffs?: Array<{ field: string; predicted: unknown; observed: unknown }>;
  reason?: string;
  kernelTrace?: { agree: boolean | null; detail: string };
}

/** The observation a case line records, in the bridge's shape. */
export function observationFromLine(r: Pick<CaseLine, 'domain' | 'type' | 'protocol' | 'observed'>): Observation {
  const c: SocketCase = { domain: r.domain, type: r.type, protocol: r.protocol };
  const o = r.observed;
  if (o.signal !== undefined) return { case: c, errno: 0, fd: -1, signal: { signal: o.signal, fatal: Boolean(o.fatal) } };
  if (o.notRun) return { case: c, errno: 0, fd: o.fd ?? 0, notRun: true };
  if (o.fd === undefined || o.fd < 0) return { case: c, errno: o.errno ?? -1, fd: -1 };
  const ino = o.ino ?? undefined;
  return {
    case: c,
    errno: 0,
    fd: o.fd,
    link: o.link ?? undefined,
    // fdinfo's own ino: line (null: none, before 5.14); reports older than that field repeat fstat's.
    fdinfo: o.fdinfoFlags != null && ino !== undefined
      ? { pos: 0, flags: parseInt(o.fdinfoFlags, 8), mntId: 0, ino: o.fdinfoIno === undefined ? ino : o.fdinfoIno ?? -1, extra: {} } : undefined,
    stat: o.mode != null && ino !== undefined && o.uid != null && o.gid != null
      ? { mode: parseInt(o.mode, 8), uid: o.uid, gid: o.gid, ino } : undefined,
    fdFlags: o.cloexec == null ? undefined : o.cloexec ? 1 : 0,
    flFlags: o.nonblock == null ? undefined : O_RDWR | (o.nonblock ? O_NONBLOCK : 0),
    soDomain: o.soDomain ?? undefined,
    soType: o.soType ?? undefined,
    soProtocol: o.soProtocol ?? undefined,
    protoName: o.protoName ?? undefined,
    procNet: o.procNet ? { table: o.procNet, row: {} } : null,
  };
}

/** The model's answer a case line records. */
export function resultFromLine(p: CaseLine['predicted']): SocketResult {
  if (p.signal !== undefined) return { signal: p.signal, fatal: Boolean(p.fatal) };
  if (p.errno !== undefined) return { errno: p.errno };
  return { fd: p.fd ?? -1 };
}

const sameAnswer = (a: SocketResult, b: SocketResult): boolean =>
  a.signal !== undefined || b.signal !== undefined ? a.signal === b.signal : a.errno !== undefined || b.errno !== undefined ? a.errno === b.errno : true;

/**
 * The model over a report's cases as its sweep ran them: one simulated process whose fd table is
 * the profile's at the start of every batch (the sweep re-reads it per crossing) and whose
 * modules, once loaded by a request_module, stay loaded. `each` sees every case's prediction.
 */
export function replayCases(profile: HostProfile, cases: readonly SocketCase[], batch: number, each: (i: number, p: Prediction) => void, trace = true): void {
  const model = new KernelModel(profile, { trace });
  const start = profile.limits.openFds.value ?? [0, 1, 2];
  for (let i = 0; i < cases.length; i++) {
    if (i % batch === 0) model.setOpenFds(start);
    each(i, model.predict(cases[i], { keepFd: true }));
  }
}

export interface ReportTallyInput {
  variant: string;
  /** The variant's case lines, in the report's order. */
  lines: readonly CaseLine[];
  /** The variant's profile line (or the profile beside the report); without one there are no traces. */
  profile?: HostProfile;
  /** The report's batch (header `batch`). */
  batch: number;
  completed: boolean;
  notes?: string[];
  /**
   * Judge every case again instead of taking the report's verdicts: this tree's model on the
   * profile, aligned with the report's observations by the bridge (test:kernels' "offline"
   * comparison). The report's own model answers are then not used.
   */
  align?: AlignEnv;
}

/**
 * A variant's tally from its report: every case's verdict, kernel answer and model answer as the
 * report has them, and for each distinct outcome of a cell its first case as the example, with
 * the model's whole trace from the replay. Where this tree's model answers otherwise than the
 * report's did (the report is older than the model), the example says so and the tally's notes
 * count such cases: the trace shown is this tree's.
 */
export function tallyFromReport(input: ReportTallyInput): VariantTally {
  const t = newTally(input.variant, { examples: true });
  t.completed = input.completed;
  t.notes.push(...(input.notes ?? []));
  const cases = input.lines.map((l) => ({ domain: l.domain, type: l.type, protocol: l.protocol }));
  const verdictOf = (l: CaseLine, p: Prediction): Verdict => {
    const v: Verdict = {
      case: { domain: l.domain, type: l.type, protocol: l.protocol },
      kind: l.verdict as VerdictKind, fields: [], diffs: l.diffs ?? [], prediction: p, observation: observationFromLine(l),
    };
    if (l.reason) v.reason = l.reason;
    if (l.kernelTrace) v.kernelTrace = l.kernelTrace;
    return v;
  };
  let differ = 0;
  let firstDiffer = '';
  if (!input.profile) {
    // No profile: the report's answers and counts, an empty trace.
    input.lines.forEach((l, i) => addVerdict(t, verdictOf(l, { case: cases[i], result: resultFromLine(l.predicted), trace: [], deciding: -1 }), l.index));
    t.notes.push('the report carries no profile for this variant: the model\'s paths are not known, only the answers');
    return t;
  }
  const env = input.align;
  replayCases(input.profile, cases, input.batch, (i, p) => {
    const l = input.lines[i];
    if (env) {
      addVerdict(t, alignCase(p, observationFromLine(l), env), l.index);
      return;
    }
    const said = resultFromLine(l.predicted);
    const pred: Prediction = sameAnswer(said, p.result) ? p : { ...p, result: said };
    const v = verdictOf(l, pred);
    if (pred !== p) {
      differ++;
      firstDiffer ||= `${l.call}: ${resultText(p.result)}, the report's model ${resultText(said)}`;
      if (wantsExample(t, v)) {
        v.reason = `${v.reason ? `${v.reason}; ` : ''}this tree's model answers ${resultText(p.result)} here, the report's model answered ${resultText(said)}: the path shown is this tree's`;
      }
    }
    addVerdict(t, v, l.index);
  });
  if (differ) {
    t.notes.push(`${differ} case${differ === 1 ? '' : 's'}: the model of this tree answers otherwise than the report's model did (the report is older than the model; the paths shown are this tree's), e.g. ${firstDiffer}`);
  }
  return t;
}

/**
 * A host given only as a profile: the model's answer for each case, no kernel asked. Its verdict
 * kind is MODEL (not a verdict: nothing was compared), its "kernel" answer the model's own.
 */
export function tallyFromModel(variant: string, profile: HostProfile, cases: readonly SocketCase[], batch: number): VariantTally {
  const t = newTally(variant, { examples: true });
  t.completed = true;
  replayCases(profile, cases, batch, (i, p) => {
    const r = p.result;
    const observation: Observation = r.signal !== undefined
      ? { case: cases[i], errno: 0, fd: -1, signal: { signal: r.signal, fatal: r.fatal } }
      : { case: cases[i], errno: r.errno ?? 0, fd: r.fd ?? -1 };
    addVerdict(t, { case: cases[i], kind: 'MODEL' as VerdictKind, fields: [], diffs: [], prediction: p, observation }, i);
  });
  return t;
}
