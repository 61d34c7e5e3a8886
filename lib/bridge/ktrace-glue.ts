/**
 * --kernel-trace for one call (explain, compare): open a private trace instance, make the call,
 * line the kernel's tracepoints up with the model's capability steps, always close the instance.
 */
import type { Observation, Prediction, SocketCase } from '../types';
import { openKernelTrace, isUnavailable, alignTrace, predictedCapsOf, describeAgreement, capName, type StepAgreement } from '../ktrace';
import { obsoleteSockPacketLines, explainObsoleteSockPacket } from '../ktrace/dmesg';
import { AF, SOCK, SOCK_TYPE_MASK } from '../abi/constants';

export interface TraceAgreement {
  /** Per predicted capability check (in order): what the kernel recorded and whether it agrees. */
  caps: Array<{ agree: boolean; observed: string }>;
  agree: boolean | null;
  step?: StepAgreement;
  /** What a person should know: tracing unavailable, the obsolete SOCK_PACKET log line, ... */
  note?: string;
}

export function kernelTraceOne(c: SocketCase, pred: Prediction, observe: () => Observation): { observation: Observation; agreement: TraceAgreement } {
  const t = openKernelTrace();
  if (isUnavailable(t)) {
    return { observation: observe(), agreement: { caps: [], agree: null, note: `kernel trace unavailable: ${t.unavailable}; continuing without it` } };
  }
  const sockPacket = c.domain === AF.AF_INET && (c.type & SOCK_TYPE_MASK) === SOCK.SOCK_PACKET;
  const logBefore = sockPacket ? obsoleteSockPacketLines() : null;
  let obs: Observation;
  let step: StepAgreement;
  try {
    t.collect();
    obs = observe();
    const events = t.collect();
    [step] = alignTrace([c], [{ errno: obs.errno, fd: obs.fd }], [predictedCapsOf(pred)], events, { capTraced: t.capTraced, capHasRet: t.capHasRet });
  } finally {
    t.close();
  }
  const caps = step.caps.predicted.map((p, i) => {
    const k = step.caps.kernel[i];
    if (!k) return { agree: false, observed: `no cap_capable(${capName(p.cap)}) recorded` };
    const how = k.granted === null ? 'checked' : k.granted ? 'granted' : 'denied';
    return { agree: k.cap === p.cap && (k.granted === null || k.granted === p.granted), observed: `cap_capable(${capName(k.cap)}) ${how}` };
  });
  const notes = [`kernel trace: ${describeAgreement(step)}`];
  if (sockPacket && logBefore && !('unavailable' in logBefore)) {
    const after = obsoleteSockPacketLines();
    if (!('unavailable' in after)) notes.push(explainObsoleteSockPacket(logBefore, after));
  }
  return { observation: obs, agreement: { caps, agree: step.agree, step, note: notes.join('\n') } };
}
