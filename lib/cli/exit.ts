/**
 * Exit codes for the commands that compare (explain on the live host, compare, sweep, and each
 * of them under --emulator), the first that applies:
 *   1 some case is a MISMATCH (or a sweep did not complete);
 *   5 no MISMATCH, but under --emulator the emulator departs from Linux in some case (DEPARTURE);
 *   4 no MISMATCH or DEPARTURE, but some case is EXPLAINED (a named policy could have decided it)
 *     or UNSUPPORTED (a fact the model needs is unknown and the kernel's answer is one of the
 *     possible results): the tool does not vouch for those cases, so it does not say 0;
 *   0 every case is a MATCH.
 * 2 (usage), 3 (the machine cannot run it) and 130/143 (interrupted) come from lib/cli/main.ts.
 */
import type { VerdictKind } from '../types';

export const EXIT_MATCH = 0;
export const EXIT_MISMATCH = 1;
export const EXIT_NOT_VOUCHED = 4;
export const EXIT_DEPARTURE = 5;

export function exitForCounts(t: Partial<Record<VerdictKind, number>>): number {
  if ((t.MISMATCH ?? 0) > 0) return EXIT_MISMATCH;
  if ((t.DEPARTURE ?? 0) > 0) return EXIT_DEPARTURE;
  if ((t.EXPLAINED ?? 0) > 0 || (t.UNSUPPORTED ?? 0) > 0) return EXIT_NOT_VOUCHED;
  return EXIT_MATCH;
}

export function exitForKind(k: VerdictKind): number {
  return exitForCounts({ [k]: 1 });
}
