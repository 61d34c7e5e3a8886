/**
 * The overlapped sweep (issue 15): each batch's calls on the addon's own thread while the main
 * thread predicts it and lines up the batch before. It must change nothing a user sees: the same
 * observations as the calls made on the main thread, no fd left behind, and a jsonl report whose
 * bytes are those of `--no-overlap` once the facts that differ between any two runs are masked
 * (the start time, the profile's pid, socket and namespace inode numbers, and counters of a shared netns).
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { closeOpenBatch, observationAt, observeBatch, startPipelineBatch } from '../lib/probe';
import { native } from '../lib/native';
import { runSweep } from '../lib/sweep/run';
import { defaultMatrix, matrixCases } from '../lib/sweep/matrix';
import { gatherHostProfile } from '../lib/host';
import type { Observation, SocketCase } from '../lib/types';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'sockbridge.js');

function openFds(): number[] {
  return fs.readdirSync('/proc/self/fd').map(Number).filter((fd) => { try { fs.fstatSync(fd); return true; } catch { return false; } }).sort((a, b) => a - b);
}

/** What two runs of the same sweep on the same host may differ in, masked. */
export function maskRun(text: string): string {
  return text.split('\n').map((l) => {
    if (l.startsWith('{"kind":"header"')) return l.replace(/"started":"[^"]*"/, '"started":"T"');
    // A new namespace's inode number is the next free one: it depends on what else exists then.
    if (l.startsWith('{"kind":"profile"')) {
      return l.replace(/"takenOn":"[^"]*"/, '"takenOn":"T"').replace(/"(netnsInode|usernsInode)":\{"value":\d+/g, '"$1":{"value":N')
        .replace(/inode \d+ != /g, 'inode N != ');
    }
    // A shared network namespace's counters move with every other process (shown, never compared).
    if (l.startsWith('{"kind":"counters"') && l.includes('"agree":null')) return l.replace(/"observed":\{.*?\},"agree"/, '"observed":M,"agree"');
    return l.replace(/socket:\[\d+\]/g, 'socket:[I]').replace(/"(ino|fdinfoIno|inode)":"?\d+"?/g, '"$1":I');
  }).join('\n');
}

function firstDifferentLine(a: string, b: string): string {
  const al = a.split('\n');
  const bl = b.split('\n');
  for (let i = 0; i < Math.max(al.length, bl.length); i++) {
    if (al[i] !== bl[i]) return `line ${i + 1}:\n  --no-overlap ${(al[i] ?? '(none)').slice(0, 300)}\n  overlap      ${(bl[i] ?? '(none)').slice(0, 300)}`;
  }
  return 'no line differs';
}

/**
 * Run the two sides of a comparison; if their profile lines differ (another process changed
 * the host between the runs - loaded a module, say - so the model had other facts), run both
 * again, at most three times. The comparison itself is never loosened: the pair that is
 * compared is one whose host facts were the same.
 */
function samePairOfHosts(pair: () => [string, string]): [string, string] {
  let got = pair();
  for (let attempt = 1; attempt < 3; attempt++) {
    const profiles = (t: string) => t.split('\n').filter((l) => l.startsWith('{"kind":"profile"')).join('\n');
    if (profiles(got[0]) === profiles(got[1])) break;
    console.log(`      (the host's facts changed between the two runs: ${firstDifferentLine(profiles(got[0]), profiles(got[1])).slice(0, 200)}; running both again)`);
    got = pair();
  }
  return got;
}

/**
 * An observation with what the kernel chooses anew per call masked: inode numbers, and in a
 * /proc/net row the socket's kernel address ("pointer", "sk") and hash slot ("sl").
 */
function masked(o: Observation): string {
  return JSON.stringify(o).replace(/socket:\[\d+\]/g, 'socket:[I]').replace(/"(ino|inode)":"?\d+"?/g, '"$1":I')
    .replace(/"(pointer|sk)":"[0-9a-f]+"/g, '"$1":P').replace(/"sl":"\d+"/g, '"sl":S');
}

describe('overlap: the calls on the addon\'s thread, nothing else changed', function () {
  this.timeout(5 * 60_000);

  const mixed: SocketCase[] = [];
  for (const c of [
    { domain: 1, type: 1, protocol: 0 }, { domain: 9999, type: 1, protocol: 0 }, { domain: 2, type: 2, protocol: 0 },
    { domain: 1, type: 2 | 0o2000000, protocol: 0 }, { domain: 2, type: 11, protocol: 0 }, { domain: 16, type: 3, protocol: 0 },
    { domain: 10, type: 1 | 0o4000, protocol: 0 },
  ]) for (let k = 0; k < 30; k++) mixed.push(c);

  it('a pipeline batch observes what observeBatch observes, fd for fd, and closes every fd', () => {
    const fds = openFds();
    const a = observeBatch(mixed);
    assert.deepEqual(openFds(), fds);
    const open = startPipelineBatch(mixed, { fdTable: true }).finishOpen();
    const b = mixed.map((_, i) => observationAt(open.raw, i));
    closeOpenBatch(open.openFds);
    assert.deepEqual(openFds(), fds);
    assert.equal(b.length, a.length);
    assert.ok(a.filter((o) => o.errno === 0).length >= 4 * 30, 'the batch made sockets');
    for (let i = 0; i < a.length; i++) assert.equal(masked(b[i]), masked(a[i]), `case ${i}`);
  });

  it('checks its arguments at once, as observeBatch does, and refuses a handle twice', () => {
    assert.throws(() => startPipelineBatch([{ domain: 1.5, type: 1, protocol: 0 }], {}), /cases\[0\]\.domain/);
    assert.throws(() => startPipelineBatch([{ domain: 1, type: 1, protocol: 0 }], { closeThreads: 0 }), /options\.closeThreads/);
    const addon = native();
    const one = new Int32Array([9999]);
    const h = addon.probeBatchStart(one, new Int32Array([1]), new Int32Array([0]), { close: 'now' });
    assert.equal(addon.probeBatchJoin(h).errno[0], 97);
    assert.throws(() => addon.probeBatchJoin(h), /already taken/);
    assert.throws(() => addon.probeBatchJoin({} as never), TypeError);
  });

  it('runSweep with overlap gives the same verdicts in the same order, fd for fd', async () => {
    const profile = gatherHostProfile();
    const m = defaultMatrix();
    m.domains = [0, 1, 2, 9, 10, 16, 17, 40, 44];
    const run = async (overlap: boolean): Promise<string[]> => {
      const out: string[] = [];
      const o = await runSweep(matrixCases(m), { profile, batchSize: 512, overlap }, (v, i) => {
        out.push(`${i} ${v.kind} ${JSON.stringify(v.prediction.result)} ${masked(v.observation)} ${JSON.stringify(v.diffs)}`);
      });
      assert.ok(o.completed);
      return out;
    };
    const fds = openFds();
    const plain = await run(false);
    const over = await run(true);
    assert.deepEqual(openFds(), fds);
    assert.equal(over.length, plain.length);
    assert.ok(plain.some((l) => /"fd":\d+,"link"/.test(l)), 'the sweep made sockets');
    for (let i = 0; i < plain.length; i++) assert.equal(over[i], plain[i]);
  });

  it('sweep --variants self --format jsonl: the same bytes as --no-overlap, masked as between any two runs', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-overlap-'));
    try {
      const run = (extra: string[]): string => {
        const out = path.join(dir, `r${extra.length}.jsonl`);
        const r = spawnSync(process.execPath, [BIN, 'sweep', '--no-progress', '--variants', 'self', '--format', 'jsonl', '--out', out, ...extra], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        return fs.readFileSync(out, 'utf8');
      };
      const [plain, over] = samePairOfHosts(() => [maskRun(run(['--no-overlap'])), maskRun(run([]))]);
      assert.ok(plain.split('\n').length > 192_000, 'a whole default sweep');
      assert.ok(plain === over, firstDifferentLine(plain, over));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('variants whose workers start while the one before sweeps: the same bytes as one after the other', function () {
    const small = ['--domains', '0-2,10,16,17,40', '--types', '0-3,5,10', '--protocols', '0,1,6,17,768'];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-overlap-'));
    try {
      const run = (extra: string[]): { text: string; variants: string[] } => {
        const out = path.join(dir, `v${extra.length}.jsonl`);
        const r = spawnSync(process.execPath, [BIN, 'sweep', '--no-progress', '--format', 'jsonl', '--out', out, ...small, ...extra], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        const text = fs.readFileSync(out, 'utf8');
        return { text: maskRun(text), variants: (JSON.parse(text.slice(0, text.indexOf('\n'))) as { variants: string[] }).variants };
      };
      let plain = { text: '', variants: [] as string[] };
      let over = plain;
      samePairOfHosts(() => {
        plain = run(['--no-overlap']);
        over = run([]);
        return [plain.text, over.text];
      });
      if (plain.variants.length < 3) {
        console.log(`      (pending: only ${plain.variants.join(', ')} can run here; no worker starts while another sweeps)`);
        this.skip();
      }
      for (const v of plain.variants) assert.ok(over.text.includes(`{"kind":"summary","variant":"${v}","completed":true`), `${v} completed`);
      assert.ok(plain.text === over.text, firstDifferentLine(plain.text, over.text));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a variant worker (rlimit) writes the same bytes with and without overlap', function () {
    const small = ['--domains', '0-2,10,16,17', '--types', '0-3,5,10', '--protocols', '0,1,6,17,768'];
    const run = (extra: string[]) => {
      const w = spawnSync(process.execPath, [BIN, 'sweep', '--worker', 'rlimit', '--emit-cases', ...small, ...extra], { encoding: 'utf8', maxBuffer: 1 << 28 });
      assert.equal(w.status, 0, w.stderr);
      return maskRun(w.stdout);
    };
    const plain = run(['--no-overlap']);
    const over = run([]);
    assert.ok(plain.split('\n').length > 500);
    assert.ok(plain === over, firstDifferentLine(plain, over));
  });
});
