/**
 * The sweep's pipeline (issue 15): the whole kernel side of a batch on the addon's thread (the
 * previous batch's close, the fd table, the counters, the calls), and the lean path on this
 * thread (plain predictions as bare errnos, plain matches with no verdict object). Each part is
 * checked against the code it stands in for, on this host's kernel or with this host's profile.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import { spawnSync } from 'child_process';
import { native, type NativePipelineResult } from '../lib/native';
import { observeBatch, observationsOf, startPipelineBatch, closeOpenBatch } from '../lib/probe';
import { listOpenFds } from '../lib/bridge/fdtable';
import { readCounters, countersFromTexts, diffCounters } from '../lib/bridge/counters';
import { KernelModel, plainPrediction } from '../lib/kernel';
import { alignCase, alignEnvFromProfile, plainMatch } from '../lib/bridge/align';
import { runSweep } from '../lib/sweep/run';
import { defaultMatrix, matrixCases } from '../lib/sweep/matrix';
import { addPlainMatch, addVerdict, newTally } from '../lib/sweep/tally';
import { JsonlCaseWriter, type ByteSink } from '../lib/sweep/jsonl';
import { jsonlCase } from '../lib/sweep/report';
import { gatherHostProfile } from '../lib/host';
import { loadProfile } from '../lib/host/profile-io';
import type { HostProfile, Observation, Prediction, SocketCase } from '../lib/types';
import * as path from 'path';

const FIXTURES = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'profiles');

function fdsNow(): number[] {
  return fs.readdirSync('/proc/self/fd').map(Number).filter((fd) => { try { fs.fstatSync(fd); return true; } catch { return false; } }).sort((a, b) => a - b);
}

/** The profiles the model is checked with: this host's, and every recorded one. */
function profiles(): Array<[string, HostProfile]> {
  const out: Array<[string, HostProfile]> = [['this host', gatherHostProfile()]];
  for (const f of fs.readdirSync(FIXTURES).filter((n) => n.endsWith('.json')).sort()) {
    try {
      out.push([f, loadProfile(path.join(FIXTURES, f))]);
    } catch {
      // Not a profile (other fixtures live here too).
    }
  }
  return out;
}

describe('pipeline: the kernel side of a batch on the addon\'s thread', function () {
  this.timeout(120_000);
  const cases: SocketCase[] = [];
  for (const c of [
    { domain: 1, type: 1, protocol: 0 }, { domain: 9999, type: 1, protocol: 0 }, { domain: 2, type: 2, protocol: 0 },
    { domain: 16, type: 3, protocol: 0 }, { domain: 10, type: 1 | 0o4000, protocol: 0 },
    // AF_PACKET (root): its release waits for an RCU grace period after close() freed the fd
    // number; the next batch's calls start as soon as the numbers are free.
    { domain: 17, type: 3, protocol: 0 },
  ]) for (let k = 0; k < 20; k++) cases.push(c);

  it('closeFirst closes the batch before, fdTable reads the table after that close, the calls get the same fds as observeBatch', () => {
    const before = fdsNow();
    const ref = observeBatch(cases);
    const one = startPipelineBatch(cases, { fdTable: true });
    const a = one.finishOpen();
    assert.deepEqual(a.fdsBefore, before, 'the table before the calls');
    assert.deepEqual(listOpenFds(), [...before, ...a.openFds].sort((x, y) => x - y), 'the batch\'s fds are still open');
    assert.ok(a.openFds.length >= 60, 'the batch made sockets and left them open');
    for (const fd of a.openFds) assert.ok(fdsNow().includes(fd), `fd ${fd} open`);
    // The next batch closes the first one's fds before its calls, so it gets the same fd numbers.
    const two = startPipelineBatch(cases, { fdTable: true, closeFirst: a.openFds, closeThreads: 8 });
    const b = two.finishOpen();
    assert.deepEqual(b.fdsBefore, before, 'the table read after closing the first batch is the table before it');
    assert.deepEqual(Array.from(b.openFds), Array.from(a.openFds));
    assert.deepEqual(Array.from(b.raw.r.fd), ref.map((o) => o.fd));
    assert.deepEqual(Array.from(b.raw.r.errno), ref.map((o) => o.errno));
    closeOpenBatch(b.openFds);
    assert.deepEqual(fdsNow(), before, 'no fd left');
  });

  it('countersRoot reads /proc/net/protocols and sockstat before and during the calls, as readCounters does', () => {
    const root = '/proc';
    const mine = readCounters();
    const p = startPipelineBatch(cases, { countersRoot: root });
    const got = p.finishOpen();
    try {
      assert.ok(got.counters, 'counters asked for');
      const before = countersFromTexts(got.counters.before, root);
      const during = countersFromTexts(got.counters.during, root);
      assert.equal(got.counters.settled, true, 'no settleTo: nothing waited for');
      assert.deepEqual(Object.keys(before.protocols).sort(), Object.keys(mine.protocols).sort());
      // This process holds the batch's AF_UNIX sockets while "during" is read (other processes
      // share the netns, so only a lower bound is exact).
      assert.ok(during.protocols['UNIX-STREAM'] - before.protocols['UNIX-STREAM'] >= 0);
      assert.ok(during.sockstatUsed >= before.sockstatUsed + got.openFds.length - 50, `sockstat moved with the ${got.openFds.length} sockets`);
      // The sweep parses an unchanged text once and diffs the object with itself: the same
      // answer as two parses of it.
      assert.deepEqual(diffCounters(before, before), diffCounters(before, countersFromTexts(got.counters.before, root)));
      assert.deepEqual(diffCounters(before, before), { protocols: {}, sockstatUsed: 0 });
    } finally {
      closeOpenBatch(got.openFds);
    }
    // settleTo: the wait ends at once when "sockets: used" is already low enough.
    const q = startPipelineBatch([{ domain: 9999, type: 1, protocol: 0 }], { countersRoot: root, settleTo: 1e9 });
    const r = q.finishOpen();
    assert.equal(r.counters?.settled, true);
    assert.equal(r.openFds.length, 0);
    // A proc root without the files: the errno and the path, turned into the usual error.
    const bad = startPipelineBatch([{ domain: 9999, type: 1, protocol: 0 }], { countersRoot: '/nonexistent-proc' }).finishOpen();
    assert.throws(() => countersFromTexts(bad.counters!.before, '/nonexistent-proc'), /cannot read \/nonexistent-proc\/net\/protocols \(ENOENT\)/);
  });

  it('after: each batch runs after the one before on its thread, closing that batch\'s fds first; the /proc/net rows found there are observeBatch\'s', () => {
    const before = fdsNow();
    const ref = observeBatch(cases);
    const sameAcrossSockets = (obs: Observation[]) => obs.map((o) => {
      if (!o.procNet) return o.procNet ?? null;
      // Less what names this socket and no other: its inode and kernel addresses.
      const row = { ...o.procNet.row };
      for (const k of ['inode', 'sk', 'num', 'pointer']) delete row[k];
      return { table: o.procNet.table, row };
    });
    assert.ok(ref.some((o) => o.procNet), 'some of the cases are listed in /proc/net');
    const one = startPipelineBatch(cases, { fdTable: true });
    const two = startPipelineBatch(cases, { fdTable: true, after: one });
    const three = startPipelineBatch(cases, { fdTable: true, after: two });
    const a = one.finishOpen();
    const b = two.finishOpen();
    const c = three.finishOpen();
    assert.deepEqual([one.followed(), two.followed(), three.followed()], [true, true, false]);
    for (const [name, x, closed] of [['second', b, a], ['third', c, b]] as const) {
      assert.deepEqual(x.fdsBefore, before, `the ${name} batch read the table after closing the batch before`);
      assert.deepEqual(Array.from((x.raw.r as NativePipelineResult).closeFirst ?? []), Array.from(closed.openFds), `the ${name} batch closed the fds of the one before`);
      assert.deepEqual(Array.from((x.raw.r as NativePipelineResult).closeErrs ?? []), Array.from(closed.openFds, () => 0));
      assert.deepEqual(Array.from(x.raw.r.fd), ref.map((o) => o.fd), `the ${name} batch got observeBatch's fds`);
      assert.deepEqual(sameAcrossSockets(observationsOf(x.raw)), sameAcrossSockets(ref), `the ${name} batch's /proc/net rows`);
    }
    assert.deepEqual(sameAcrossSockets(observationsOf(a.raw)), sameAcrossSockets(ref), 'the first batch\'s /proc/net rows');
    assert.deepEqual(listOpenFds(), [...before, ...c.openFds].sort((x, y) => x - y), 'only the last batch\'s fds are open');
    closeOpenBatch(c.openFds);
    assert.deepEqual(fdsNow(), before, 'no fd left');
  });

  it('an AF_PACKET socket of the batch before is freed through a duplicate the reaper closes; with no room under RLIMIT_NOFILE, by the close pool', () => {
    const packets: SocketCase[] = Array.from({ length: 40 }, () => ({ domain: 17, type: 3, protocol: 0 }));
    const before = fdsNow();
    const [soft, hard] = native().getrlimit(7);
    for (const limit of [soft, Math.max(...before) + 200]) {
      const err = native().setrlimit(7, limit, hard);
      assert.equal(err, 0, `setrlimit(RLIMIT_NOFILE, ${limit})`);
      try {
        const one = startPipelineBatch(packets, { fdTable: true });
        const two = startPipelineBatch(packets, { fdTable: true, after: one });
        const a = one.finishOpen();
        const b = two.finishOpen();
        assert.equal(a.openFds.length, 40, 'root makes AF_PACKET sockets');
        assert.deepEqual(Array.from(b.openFds), Array.from(a.openFds), `soft limit ${limit}: the second batch got the numbers the first one's sockets had`);
        assert.deepEqual(Array.from((b.raw.r as NativePipelineResult).closeErrs ?? []), Array.from(a.openFds, () => 0));
        assert.ok(b.fdsBefore!.every((fd) => fd < limit), 'nothing above the limit');
        closeOpenBatch(b.openFds);
        assert.deepEqual(fdsNow(), before, `soft limit ${limit}: no fd left, no duplicate either`);
      } finally {
        native().setrlimit(7, soft, hard);
      }
    }
  });

  it('after a batch whose thread has ended: the next one gets a thread of its own and still closes its fds', async () => {
    const before = fdsNow();
    const one = startPipelineBatch(cases, {});
    const a = one.finishOpen();
    // The thread waits 50 ms for a next batch, then ends.
    await new Promise((r) => setTimeout(r, 200));
    const b = startPipelineBatch(cases, { fdTable: true, after: one }).finishOpen();
    assert.deepEqual(b.fdsBefore, before);
    assert.deepEqual(Array.from((b.raw.r as NativePipelineResult).closeFirst ?? []), Array.from(a.openFds));
    closeOpenBatch(b.openFds);
    assert.deepEqual(fdsNow(), before, 'no fd left');
  });

  it('after and netTables: misuse is refused by name', () => {
    const addon = native();
    const one = new Int32Array([9999]);
    const args = [one, new Int32Array([1]), new Int32Array([0])] as const;
    const first = addon.probeBatchStart(...args, { close: 'defer' });
    assert.throws(() => addon.probeBatchStart(...args, { close: 'defer', after: {} as never }), /options\.after" must be what probeBatchStart returned/);
    assert.throws(() => addon.probeBatchStart(...args, { close: 'defer', after: first, closeFirst: new Int32Array([5]) }), /options\.closeFirst cannot be given too/);
    const second = addon.probeBatchStart(...args, { close: 'defer', after: first });
    assert.throws(() => addon.probeBatchStart(...args, { close: 'defer', after: first }), /already has a batch started after it/);
    const table = { kind: 'text' as const, family: 0, protocol: 0, path: '/proc/net/unix', domains: new Int32Array([1]) };
    assert.throws(() => addon.probeBatchStart(...args, { close: 'defer', netTables: {} as never }), /options\.netTables" must be an array/);
    assert.throws(() => addon.probeBatchStart(...args, { close: 'defer', netTables: [{ ...table, kind: 'dump' as never }] }), /options\.netTables\[0\]\.kind" must be 'text', 'unix' or 'inet'/);
    assert.throws(() => addon.probeBatchStart(...args, { close: 'defer', netTables: [{ ...table, kind: 'inet', family: 300 }] }), /options\.netTables\[0\]\.family" must be an address family 0\.\.255/);
    assert.throws(() => addon.probeBatchStart(...args, { close: 'defer', netTables: [{ ...table, path: '' }] }), /options\.netTables\[0\]\.path" must be the table's file/);
    assert.throws(() => addon.probeBatchStart(...args, { close: 'defer', netTables: [{ ...table, domains: [1] as never }] }), /options\.netTables\[0\]\.domains" must be an Int32Array/);
    addon.probeBatchJoin(first);
    addon.probeBatchJoin(second);
    assert.throws(() => startPipelineBatch(cases, { after: {} as never }), /options\.after must be a batch startPipelineBatch returned/);
  });

  it('done() turns true once the thread is done; bad pipeline options are refused by name', () => {
    const p = startPipelineBatch([{ domain: 9999, type: 1, protocol: 0 }], {});
    const until = Date.now() + 5000;
    while (!p.done() && Date.now() < until) { /* the batch is one failing call */ }
    assert.equal(p.done(), true);
    p.finishOpen();
    assert.throws(() => p.finishOpen(), /already finished/);
    const addon = native();
    const one = new Int32Array([9999]);
    const args = [one, new Int32Array([1]), new Int32Array([0])] as const;
    assert.throws(() => addon.probeBatchStart(...args, { close: 'defer', closeFirst: [3] as never }), /options\.closeFirst" must be an Int32Array/);
    assert.throws(() => addon.probeBatchStart(...args, { close: 'defer', closeThreads: 0 }), /options\.closeThreads" must be an integer 1\.\.256, got 0/);
    assert.throws(() => addon.probeBatchStart(...args, { close: 'defer', fdTable: 1 as never }), /options\.fdTable" must be a boolean, got 1/);
    assert.throws(() => addon.probeBatchStart(...args, { close: 'defer', countersRoot: '' }), /options\.countersRoot" must be a proc root/);
    assert.throws(() => addon.probeBatchStart(...args, { close: 'defer', settleTo: 5 }), /needs options\.countersRoot/);
    assert.throws(() => addon.probeBatchStart(...args, { close: 'defer', countersRoot: '/proc', settleTo: -1 }), /options\.settleTo" must be a socket count >= 0/);
    assert.throws(() => addon.probeBatchDone({} as never), /probeBatchDone: argument "handle"/);
  });

  it('a close that fails is reported by the batch that made it, after every fd was closed', () => {
    const before = fdsNow();
    const p = startPipelineBatch(cases, {});
    const a = p.finishOpen();
    const closeFirst = Int32Array.from([...a.openFds, 1_000_000]);
    const q = startPipelineBatch(cases, { closeFirst });
    assert.throws(() => q.finishOpen(), (e: NodeJS.ErrnoException) => e.code === 'EBADF' && /closing fd 1000000/.test(e.message));
    assert.deepEqual(fdsNow(), before, 'the first batch\'s fds and the second batch\'s own are closed');
  });

  it('a number closeFirst freed and this thread opened again at once does not hold the batch up (libuv\'s reserve fd, opened with node\'s first stream)', () => {
    // This thread opens files as fast as it can while the batch's thread closes the previous
    // batch's fds: it takes the numbers the close frees, often before the batch's thread has
    // looked at them. The batch must end all the same; when it does not within 10 s, the numbers
    // are given back (so this test cannot hang) and the test fails.
    const before = fdsNow();
    let stuck = 0;
    for (let round = 0; round < 200 && stuck === 0; round++) {
      const prev = Array.from({ length: 32 }, () => fs.openSync('/dev/null', 'r'));
      const p = startPipelineBatch([{ domain: 1, type: 2, protocol: 0 }], { closeFirst: Int32Array.from(prev) });
      const taken: number[] = [];
      const until = Date.now() + 10_000;
      while (!p.done()) {
        if (taken.length < 64) taken.push(fs.openSync('/dev/null', 'r'));
        if (Date.now() > until) {
          stuck = taken.filter((fd) => prev.includes(fd)).length;
          for (const fd of taken.splice(0)) fs.closeSync(fd);
          const deadline = Date.now() + 10_000;
          while (!p.done() && Date.now() < deadline) { /* the numbers are free again */ }
        }
      }
      const a = p.finishOpen();
      for (const fd of taken) fs.closeSync(fd);
      closeOpenBatch(a.openFds);
    }
    assert.equal(stuck, 0, `the batch waited for ${stuck} fd number(s) this thread had opened again`);
    assert.deepEqual(fdsNow(), before);
  });
});

describe('pipeline: plain predictions and plain matches stand for exactly what they replace', function () {
  this.timeout(300_000);

  it('predictLean is predict, case for case, on this host and every recorded profile (the default matrix, fds kept)', () => {
    for (const [name, profile] of profiles()) {
      const full = new KernelModel(profile, { trace: false });
      const lean = new KernelModel(profile, { trace: false });
      let plain = 0;
      let whole = 0;
      let i = 0;
      for (const c of matrixCases(defaultMatrix())) {
        const p = full.predict(c, { keepFd: true });
        const x = lean.predictLean(c, true);
        if (typeof x === 'number') {
          plain++;
          assert.deepStrictEqual(plainPrediction(c, x), p, `${name}: case ${i}`);
        } else {
          whole++;
          assert.deepStrictEqual(x, p, `${name}: case ${i}`);
        }
        if (++i % 4096 === 0) {
          // Both models' states stay the same: fds kept, modules loaded.
          assert.deepEqual(lean.openFds(), full.openFds(), `${name}: fds at ${i}`);
          assert.deepEqual(lean.loadedModules(), full.loadedModules(), `${name}: modules at ${i}`);
          full.setOpenFds([0, 1, 2]);
          lean.setOpenFds([0, 1, 2]);
        }
      }
      assert.ok(plain > 150_000 && whole > 100, `${name}: ${plain} plain, ${whole} whole`);
    }
  });

  it('a traced model never answers lean, and raw registers are never plain', () => {
    const profile = gatherHostProfile();
    const traced = new KernelModel(profile, { trace: true });
    assert.notEqual(typeof traced.predictLean({ domain: 9999, type: 1, protocol: 0 }, false), 'number');
    const m = new KernelModel(profile, { trace: false });
    assert.notEqual(typeof m.predictLean({ domain: 9999, type: 1, protocol: 0, raw: ['9999', '1', '0'] }, false), 'number');
    assert.equal(m.predictLean({ domain: 9999, type: 1, protocol: 0 }, false), 97);
  });

  it('plainMatch is alignCase\'s verdict, addPlainMatch addVerdict\'s counts, plainLine and plainLineTo jsonlCase\'s bytes', () => {
    const profile = gatherHostProfile();
    const env = alignEnvFromProfile(profile);
    const m = new KernelModel(profile, { trace: false });
    const viaVerdict = newTally('self');
    const viaPlain = newTally('self');
    const writer = new JsonlCaseWriter('self');
    const fresh = new JsonlCaseWriter('self');
    const bytes = new JsonlCaseWriter('self');
    const textLines: string[] = [];
    // A small sink, so lines are written across many buffers (and text between bytes keeps its place).
    const sink = new (class implements ByteSink {
      chunks: Buffer[] = [];
      private buf = Buffer.alloc(4096);
      used = 0;
      private text_ = '';
      room(k: number): Buffer {
        this.flushText();
        if (this.used + k > this.buf.length) { this.chunks.push(Buffer.from(this.buf.subarray(0, this.used))); this.used = 0; }
        return this.buf;
      }
      text(t: string): void { this.text_ += t; }
      private flushText(): void {
        if (this.text_ === '') return;
        this.chunks.push(Buffer.from(this.buf.subarray(0, this.used)), Buffer.from(this.text_, 'utf8'));
        this.used = 0;
        this.text_ = '';
      }
      pendingText(): string { this.flushText(); const rest = Buffer.from(this.buf.subarray(0, this.used)).toString('utf8'); this.used = 0; return rest; }
    })();
    let n = 0;
    let index = 0;
    for (const c of matrixCases(defaultMatrix())) {
      const x = m.predictLean(c, false);
      index++;
      if (typeof x !== 'number') continue;
      const v = plainMatch(c, x);
      assert.deepStrictEqual(v, alignCase(plainPrediction(c, x), { case: { domain: c.domain, type: c.type, protocol: c.protocol }, errno: x, fd: -1 }, env));
      addVerdict(viaVerdict, v, index);
      addPlainMatch(viaPlain, c, x);
      const ref = jsonlCase('self', index, v);
      assert.equal(writer.plainLine(index, c, x), ref, `line ${index}`);
      bytes.plainLineTo(sink, index, c, x);
      textLines.push(ref + '\n');
      // A writer that never saw the verdict's pieces builds the line from the verdict.
      if (n % 997 === 0) assert.equal(new JsonlCaseWriter('self').plainLine(index, c, x), ref);
      if (n % 3 === 0) assert.equal(fresh.line(index, v), ref);
      n++;
    }
    assert.ok(n > 150_000);
    assert.deepStrictEqual(viaPlain, viaVerdict);
    const rest = sink.pendingText();
    assert.equal(Buffer.concat(sink.chunks).toString('utf8') + rest, textLines.join(''), 'plainLineTo wrote the bytes of plainLine');
    assert.ok(bytes.fast > n - 5000, `most lines written as bytes (${bytes.fast} of ${n})`);
    assert.equal(writer.diverged, null);
    assert.ok(writer.fast > n - 5000, `most lines from cached pieces (${writer.fast} of ${n})`);
    assert.throws(() => addPlainMatch(newTally('x', { examples: true }), { domain: 1, type: 1, protocol: 0 }, 97), /examples/);
  });

  it('runSweep with onPlainMatch: the same verdicts, the rest as verdicts, pipelined or not', async () => {
    const profile = gatherHostProfile();
    const m = defaultMatrix();
    m.domains = [0, 1, 2, 9, 10, 16, 17, 40, 44];
    const run = async (overlap: boolean, lean: boolean): Promise<string[]> => {
      const out: string[] = [];
      const o = await runSweep(matrixCases(m), {
        profile, batchSize: 512, overlap, counters: 'shared',
        ...(lean ? { onPlainMatch: (c: SocketCase, errno: number, i: number) => { out.push(`${i} ${JSON.stringify(plainMatch(c, errno))}`); } } : {}),
      }, (v, i) => {
        const p: Prediction = v.prediction;
        out.push(`${i} ${lean && v.kind === 'MATCH' && p.result.errno !== undefined && v.observation.errno === p.result.errno && !p.possible && !p.facts ? 'PLAIN VIA onVerdict ' : ''}${JSON.stringify({ ...v, observation: { ...v.observation, link: undefined, stat: undefined, fdinfo: undefined, procNet: undefined } })}`);
      });
      assert.ok(o.completed);
      assert.equal(o.counters.length, Math.ceil(out.length / 512));
      return out;
    };
    const fds = fdsNow();
    const ref = await run(false, false);
    for (const [overlap, lean] of [[false, true], [true, false], [true, true]] as const) {
      const got = await run(overlap, lean);
      assert.equal(got.length, ref.length);
      for (let i = 0; i < ref.length; i++) assert.equal(got[i], ref[i], `overlap ${overlap}, lean ${lean}: case ${i}`);
    }
    assert.deepEqual(fdsNow(), fds, 'no fd left');
  });
});

describe('pipeline: nothing else in the process opens an fd while a batch makes its calls', function () {
  this.timeout(180_000);

  it('a sweep under strace: every file opened while a batch thread runs is that thread\'s own; glibc\'s one read of overcommit_memory happens at load', function () {
    const strace = ['/usr/bin/strace', '/bin/strace'].find((p) => fs.existsSync(p));
    if (!strace) {
      this.test!.title += ' (pending: strace is not installed)';
      this.skip();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-strace-'));
    try {
      const log = path.join(dir, 'strace.txt');
      const bin = path.resolve(__dirname, '..', '..', 'bin', 'sockbridge.js');
      const r = spawnSync(strace!, ['-f', '-qq', '-e', 'trace=openat,socket', '-e', 'signal=none', '-o', log, process.execPath, bin,
        'sweep', '--no-progress', '--variants', 'self', '--domains', '0-3,10,16,17', '--types', '0-6,10', '--protocols', '0,1,6,17,255,-1', '--batch', '256', '--format', 'jsonl', '--out', path.join(dir, 'r.jsonl')],
      { encoding: 'utf8', timeout: 150_000 });
      assert.equal(r.status, 0, r.stderr);
      const lines = fs.readFileSync(log, 'utf8').split('\n').filter((l) => l !== '');
      const tidOf = (l: string) => Number(l.slice(0, l.indexOf(' ')));
      // The batch threads are the ones besides node's own (the first line's) that call socket();
      // each runs from its first line to its last (one thread runs a chain of batches, so there
      // may be only one).
      const main = tidOf(lines[0]);
      const windows = new Map<number, [number, number]>();
      const batchTids = new Set(lines.filter((l) => / socket\(/.test(l)).map(tidOf).filter((t) => t !== main));
      lines.forEach((l, i) => {
        const t = tidOf(l);
        if (!batchTids.has(t)) return;
        const w = windows.get(t);
        if (w) w[1] = i; else windows.set(t, [i, i]);
      });
      assert.ok(windows.size >= 1, 'a batch thread seen');
      const firstSocket = lines.findIndex((l) => / socket\(/.test(l) && batchTids.has(tidOf(l)));
      const intruders: string[] = [];
      lines.forEach((l, i) => {
        if (!/ openat\(/.test(l) || batchTids.has(tidOf(l))) return;
        for (const [t, [a, b]] of windows) if (i > a && i < b) intruders.push(`${l} (while batch thread ${t} ran)`);
        if (l.includes('/proc/sys/vm/overcommit_memory') && i > firstSocket) intruders.push(`${l} (after the first socket() call)`);
      });
      assert.deepEqual(intruders, []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
