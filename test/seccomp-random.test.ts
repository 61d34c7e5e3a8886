/**
 * The seccomp stage against the kernel: random small filters (random comparisons on socket's
 * argument registers, random ALU steps, random actions including TRAP, TRACE, USER_NOTIF,
 * KILL_*, unknown actions and ERRNO above MAX_ERRNO), stacked one to three deep, installed for
 * real in child processes (native seccompTrial), each case judged against exactly the filters
 * its child installed. The model runs the same programs on the same registers and the same
 * host profile; the two must give the same answer every time.
 */
import * as assert from 'assert';
import { KernelModel } from '../lib/kernel';
import { checkFilter, type Insn } from '../lib/kernel/kernel/seccomp';
import { gatherHostProfile } from '../lib/host';
import { native } from '../lib/native';
import type { HostProfile, SocketResult } from '../lib/types';

/** xorshift32: the same filters for the same seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

const RET_CHOICES = [
  0x7fff0000, 0x7fff0000, 0x7ffc0000, // ALLOW, LOG
  0x00050000, // ERRNO(data)
  0x00030000, // TRAP
  0x7ff00000, // TRACE
  0x7fc00000, // USER_NOTIF
  0x00000000, // KILL_THREAD
  0x80000000, // KILL_PROCESS
  0x00010000, // not an action: acts as KILL_PROCESS
];

function randomRet(r: () => number): number {
  const base = RET_CHOICES[r() % RET_CHOICES.length];
  const data = r() % 4 === 0 ? r() & 0xffff : r() % 130;
  return (base | (base === 0x00050000 || base === 0x00030000 || base === 0x7ff00000 ? data : 0)) >>> 0;
}

const VALUES = [0, 1, 2, 10, 16, 17, 38, 39, 40, 41, 44, 45, 46, 0x7fffffff, 0x80000000, 0xffffffff, 0x800, 0x80000, 0xf, 9];

/**
 * ld nr; jeq 41 else ALLOW; then 1..4 tests, each: load a word of an argument (low or high),
 * maybe an ALU step, compare with K or X, return a random action on match; then a default.
 */
function randomFilter(r: () => number): Insn[] {
  const body: Insn[] = [];
  const tests = 1 + (r() % 4);
  for (let t = 0; t < tests; t++) {
    const arg = r() % 3;
    const hi = r() % 5 === 0;
    body.push([0x20, 0, 0, 16 + 8 * arg + (hi ? 4 : 0)]);
    if (r() % 4 === 0) {
      const alu = [0x54, 0x44, 0xa4, 0x04, 0x14, 0x24, 0x74, 0x64][r() % 8]; // and or xor add sub mul rsh lsh (K)
      const k = alu === 0x74 || alu === 0x64 ? r() % 32 : VALUES[r() % VALUES.length];
      body.push([alu, 0, 0, k]);
    }
    const useX = r() % 4 === 0;
    const k = r() % 3 === 0 ? r() : VALUES[r() % VALUES.length];
    if (useX) body.push([0x01, 0, 0, k]); // ldx #k
    const jop = [0x15, 0x25, 0x35, 0x45][r() % 4] | (useX ? 0x08 : 0); // jeq jgt jge jset
    // match -> next instruction (ret), no match -> skip it
    body.push([jop, 0, 1, useX ? 0 : k]);
    body.push([0x06, 0, 0, randomRet(r)]);
  }
  body.push([0x06, 0, 0, randomRet(r)]);
  const head: Insn[] = [[0x20, 0, 0, 0], [0x15, 1, 0, 41], [0x06, 0, 0, 0x7fff0000]];
  return [...head, ...body];
}

function randomReg(r: () => number, kind: 'family' | 'type' | 'protocol'): bigint {
  const pick = {
    family: [1, 2, 10, 16, 17, 38, 39, 40, 44, 99, -1],
    type: [1, 2, 3, 5, 0x80001, 0x802, 11, -1],
    protocol: [0, 0, 6, 17, 9, 1, -1],
  }[kind];
  const lo = BigInt(pick[r() % pick.length] >>> 0);
  const hiRoll = r() % 6;
  const hi = hiRoll === 0 ? 1n : hiRoll === 1 ? 0xffffffffn : 0n;
  return (hi << 32n) | lo;
}

function asInt32(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

function modelAnswer(m: KernelModel, a: [bigint, bigint, bigint]): SocketResult {
  // Registers with high bits go in raw mode (the full interpreter); plain ints take the
  // untraced fast path (each program continued from its per-syscall prefix).
  const plain = a.every((x) => x >> 32n === 0n);
  const c = plain
    ? { domain: asInt32(a[0]), type: asInt32(a[1]), protocol: asInt32(a[2]) }
    : { domain: asInt32(a[0]), type: asInt32(a[1]), protocol: asInt32(a[2]), raw: a.map((x) => '0x' + x.toString(16)) as [string, string, string] };
  const p = m.predict(c);
  // A created socket: only "an fd" is compared (the child's fd table is not the model's).
  if (p.facts) return { fd: 1 };
  return p.result;
}

function kernelAnswer(t: { ret: Float64Array; signal: Int32Array; fatal: Uint8Array }, i: number): SocketResult {
  if (t.signal[i] !== 0) return { signal: t.signal[i], fatal: t.fatal[i] === 1 };
  if (t.ret[i] < 0) return { errno: -t.ret[i] };
  return { fd: t.ret[i] === 0 ? 0 : 1 };
}

const show = (x: SocketResult) => JSON.stringify(x);

describe('seccomp: random filters installed live, model against kernel', function () {
  this.timeout(600000);
  let profile: HostProfile;
  before(function () {
    if (process.geteuid?.() !== 0) this.skip(); // the host profile's capabilities are root's; the trial needs none
    const lib = native().seccompLibrary();
    void lib;
    profile = gatherHostProfile();
  });

  it('agrees with the kernel on every case of 10,000+ random filters (stacked 1-3 per child)', () => {
    const r = rng(20261130);
    let filters = 0;
    let cases = 0;
    const seen = { signal: 0, errno: 0, fd: 0, zero: 0, fatal: 0 };
    const disagreements: string[] = [];
    while (filters < 10000) {
      const depth = 1 + (r() % 3);
      const progs: Insn[][] = [];
      for (let d = 0; d < depth; d++) {
        const f = randomFilter(r);
        assert.strictEqual(checkFilter(f), null, 'the generator makes only programs the kernel accepts');
        progs.push(f);
      }
      const n = 6;
      const args = new BigUint64Array(3 * n);
      for (let i = 0; i < n; i++) {
        args[3 * i] = randomReg(r, 'family');
        args[3 * i + 1] = randomReg(r, 'type');
        args[3 * i + 2] = randomReg(r, 'protocol');
      }
      const t = native().seccompTrial(progs.map((p) => new Uint32Array(p.flat())), args);
      assert.strictEqual(t.installErr, 0, 'the kernel installed every program');
      assert.strictEqual(t.errno, undefined, 'the trial ran every case');
      const withFilters: HostProfile = {
        ...profile,
        security: { ...profile.security, seccomp: { value: 2, source: 'test' }, filters: { value: progs.map((p, k) => ({ name: `random ${filters + k}`, source: 'test', insns: p })), source: 'seccompTrial' } },
      };
      const model = new KernelModel(withFilters, { trace: false });
      for (let i = 0; i < n; i++) {
        const a: [bigint, bigint, bigint] = [args[3 * i], args[3 * i + 1], args[3 * i + 2]];
        const want = kernelAnswer(t, i);
        const got = modelAnswer(model, a);
        if (show(want) !== show(got)) disagreements.push(`filters ${filters}..${filters + depth - 1} ${JSON.stringify(progs)} socket(${a.map((x) => '0x' + x.toString(16)).join(', ')}): kernel ${show(want)}, model ${show(got)}`);
        if (want.signal !== undefined) { seen.signal++; if (want.fatal) seen.fatal++; } else if (want.errno !== undefined) seen.errno++; else if (want.fd === 0) seen.zero++; else seen.fd++;
        cases++;
      }
      filters += depth;
    }
    assert.deepStrictEqual(disagreements.slice(0, 5), [], `${disagreements.length} of ${cases} cases disagree`);
    // The generator reached every kind of answer.
    for (const [k, v] of Object.entries(seen)) assert.ok(v > 0, `no case gave ${k}: ${JSON.stringify(seen)}`);
  });
});
