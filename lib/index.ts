/**
 * sockbridge's public API.
 *
 *   const profile = gatherHostProfile();
 *   const p = predictSocket(profile, { domain: 2, type: 3, protocol: 1 });   // the model road
 *   const o = observeSocket(2, 3, 1);                                        // the kernel road
 *   const v = compareSocket({ domain: 2, type: 3, protocol: 1 });            // both, aligned
 */
import type { SocketCase, Verdict } from './types';
import { gatherHostProfile } from './host';
import { compareLive } from './bridge/compare';

// Every road here ends in Linux's socket() or its /proc; say so at load, not at the first call.
if (process.platform !== 'linux') {
  throw new Error(`sockbridge works only on Linux: it models and calls the Linux socket() syscall and reads /proc (this is ${process.platform}).`);
}

export type * from './types';
export { KernelModel, predictSocket } from './kernel';
export { gatherHostProfile, loadProfile, saveProfile, parseProfile, formatProfile } from './host';
export { observeSocket, observeBatch, systemError } from './probe';
export { alignCase } from './bridge/align';
export { compareLive, type LiveComparison } from './bridge/compare';
export { callName, domainName, typeName, protocolName, parseDomain, parseType, parseProtocol, errnoName, resultText } from './abi/names';
export { defaultMatrix, matrixCases } from './sweep/matrix';
export { runSweep } from './sweep/run';

/**
 * One call down both roads: the model predicts with this host's profile and its fd table as it
 * is right now, then the kernel answers; the verdict lines them up field by field.
 */
export function compareSocket(c: SocketCase): Verdict {
  return compareLive(c, gatherHostProfile()).verdict;
}
