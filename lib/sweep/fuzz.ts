/**
 * Seeded random cases for fuzzing both roads: a third anything-goes int32 triples (the extremes
 * included), the rest drawn near the interesting values so most calls reach a family's create.
 */
import type { SocketCase } from '../types';
import { defaultMatrix } from './matrix';

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EXTREMES = [0, 1, -1, 0x7fffffff, -0x80000000, 0x7ffffffe, -0x7fffffff, 0xffff, 0x10000];

export function* fuzzCases(count: number, seed: number, afMax = 46): Generator<SocketCase> {
  const r = prng(seed);
  const m = defaultMatrix(afMax);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const int32 = () => (Math.floor(r() * 4294967296) | 0);
  const any = () => (r() < 0.2 ? pick(EXTREMES) : int32());
  for (let i = 0; i < count; i++) {
    if (r() < 1 / 3) {
      yield { domain: any(), type: any(), protocol: any() };
    } else {
      const domain = r() < 0.9 ? pick(m.domains) : any();
      const type = r() < 0.9 ? pick(m.types) | pick(m.flags) : any();
      const protocol = r() < 0.85 ? pick(m.protocols) : r() < 0.5 ? Math.floor(r() * 70000) : any();
      yield { domain, type, protocol };
    }
  }
}
