/**
 * One call down both roads, live: the model predicts with this host's profile and the fd table
 * as it is at this moment, then the kernel answers while nothing else runs; the answers are
 * lined up field by field, with the counters that moved and, if asked, the kernel's tracepoints.
 */
import type { HostProfile, Observation, Prediction, SocketCase, Verdict } from '../types';
import { KernelModel } from '../kernel';
import { observeBatch } from '../probe';
import { alignCase, alignEnvFromProfile } from './align';
import { listOpenFds } from './fdtable';
import { readCounters, diffCounters, type Counters } from './counters';
import { kernelTraceOne, type TraceAgreement } from './ktrace-glue';

export interface LiveComparison {
  prediction: Prediction;
  observation: Observation;
  verdict: Verdict;
  /** What the model says moves, and what moved (shared netns: shown, not compared). */
  counters: { predicted: Counters; observed: Counters } | null;
  kernelTrace?: TraceAgreement;
}

export function compareLive(c: SocketCase, profile: HostProfile, opts: { kernelTrace?: boolean } = {}): LiveComparison {
  const model = new KernelModel(profile, { trace: true });
  model.setOpenFds(listOpenFds());
  const prediction = model.predict(c, { keepFd: true });
  let before: Counters | null = null;
  let during: Counters | null = null;
  const observe = (): Observation => {
    before = readCounters();
    return observeBatch([c], { close: 'defer', procNet: true, whileOpen: () => { during = readCounters(); } })[0];
  };
  let observation: Observation;
  let kernelTrace: TraceAgreement | undefined;
  if (opts.kernelTrace) {
    const r = kernelTraceOne(c, prediction, observe);
    observation = r.observation;
    kernelTrace = r.agreement;
  } else {
    observation = observe();
  }
  const verdict = alignCase(prediction, observation, alignEnvFromProfile(profile));
  const predicted: Counters = { protocols: { ...(prediction.facts?.protocolsDelta ?? {}) }, sockstatUsed: prediction.facts?.sockstatUsedDelta ?? 0 };
  return {
    prediction, observation, verdict, kernelTrace,
    counters: before && during ? { predicted, observed: diffCounters(before, during) } : null,
  };
}
