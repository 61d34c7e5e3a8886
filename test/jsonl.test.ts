/**
 * The fast JSON Lines case writer (lib/sweep/jsonl.ts) writes the same bytes as jsonlCase
 * (lib/sweep/report.ts), the writer every line came from before it: for every case of a real
 * default sweep on this kernel, for verdicts of every other shape, and when jsonlCase changes
 * under it.
 */
import { strict as assert } from 'assert';
import * as report from '../lib/sweep/report';
import { jsonlCase } from '../lib/sweep/report';
import { JsonlCaseWriter } from '../lib/sweep/jsonl';
import { runSweep } from '../lib/sweep/run';
import { defaultMatrix, matrixCases, matrixSize } from '../lib/sweep/matrix';
import { gatherHostProfile } from '../lib/host';
import type { Verdict } from '../lib/types';
import { WorkerStdout } from '../lib/sweep/variants';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'sockbridge.js');

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `at byte ${i}: jsonlCase ${JSON.stringify(a.slice(Math.max(0, i - 30), i + 50))}, writer ${JSON.stringify(b.slice(Math.max(0, i - 30), i + 50))}`;
}

/** A plain failing MATCH, as the sweep makes it. */
function plainVerdict(domain = 2, type = 1, protocol = 999, errno = 93): Verdict {
  const c = { domain, type, protocol };
  return {
    case: c, kind: 'MATCH', fields: ['result'], diffs: [], reason: undefined,
    prediction: { case: { ...c }, result: { errno }, trace: [], deciding: -1 },
    observation: { case: { ...c }, errno, fd: -1 },
  };
}

describe('jsonl: the fast case writer writes what jsonlCase writes', function () {
  this.timeout(5 * 60_000);

  it('every line of a default sweep on this kernel, byte for byte', async () => {
    const profile = gatherHostProfile();
    const w = new JsonlCaseWriter('self');
    let compared = 0;
    const bad: string[] = [];
    const outcome = await runSweep(matrixCases(defaultMatrix()), { profile }, (v, i) => {
      const ref = jsonlCase('self', i, v);
      const got = w.line(i, v);
      compared++;
      if (got !== ref && bad.length < 5) bad.push(`case ${i}: ${firstDifference(ref, got)}`);
    });
    assert.ok(outcome.completed);
    assert.equal(compared, matrixSize(defaultMatrix()));
    assert.deepEqual(bad, []);
    assert.equal(w.diverged, null);
    // The point of the writer: nearly every line is cached pieces, and every new socket still
    // goes through jsonlCase (fds, inodes, rows are per case).
    assert.ok(w.fast > 0.9 * compared, `fast path took ${w.fast} of ${compared} lines`);
    assert.ok(w.slow > 0, 'the new sockets were written by jsonlCase');
  });

  it('verdicts of every other shape go to jsonlCase and come out the same', () => {
    const w = new JsonlCaseWriter('nobody "quoted"');
    const shapes: Array<[string, Verdict]> = [];
    const mismatch = plainVerdict();
    mismatch.kind = 'MISMATCH';
    mismatch.observation = { ...mismatch.observation, errno: 1 };
    mismatch.diffs = [{ field: 'result', predicted: 'ESOCKTNOSUPPORT', observed: 'EPERM' }];
    mismatch.prediction.trace = [{ fn: '__sock_create', what: 'security_socket_create', result: 'ok' } as never];
    mismatch.prediction.deciding = 0;
    shapes.push(['mismatch with a deciding step', mismatch]);
    const explained = plainVerdict();
    explained.kind = 'EXPLAINED';
    explained.reason = 'a seccomp filter is active';
    shapes.push(['explained with a reason', explained]);
    const traced = plainVerdict();
    traced.kernelTrace = { agree: true, detail: 'same path' };
    shapes.push(['kernel trace', traced]);
    const possible = plainVerdict();
    possible.prediction.possible = [{ errno: 93 }, { fd: 3 }];
    possible.prediction.missing = ['modules.available'];
    shapes.push(['possible results', possible]);
    const extra = plainVerdict() as Verdict & { evidence?: unknown };
    extra.evidence = [{ policy: 'seccomp', name: 'f', detail: 'd', source: 's' }];
    shapes.push(['a field this writer does not know', extra]);
    const extraResult = plainVerdict();
    (extraResult.prediction.result as { signal?: number }).signal = 31;
    shapes.push(['a result field this writer does not know', extraResult]);
    for (const [i, [what, v]] of shapes.entries()) {
      const slow = w.slow;
      assert.equal(w.line(i, v), jsonlCase('nobody "quoted"', i, v), what);
      assert.equal(w.slow, slow + 1, `${what}: written by jsonlCase`);
    }
    // And the plain shape, with names that need no table and numbers at the int32 edges.
    for (const [i, v] of [plainVerdict(-2147483648, 2147483647, -1, 22), plainVerdict(17, 3, 768, 1), plainVerdict(17, 3, 768, 1)].entries()) {
      assert.equal(w.line(100 + i, v), jsonlCase('nobody "quoted"', 100 + i, v));
    }
    assert.equal(w.diverged, null);
    assert.ok(w.fast >= 3);
  });

  it('when jsonlCase changes and the writer does not, the bytes follow jsonlCase and the writer says so', () => {
    const mod = report as { jsonlCase: typeof jsonlCase };
    const original = mod.jsonlCase;
    const w = new JsonlCaseWriter('self');
    try {
      // Warm the caches with the current definition, then change it.
      assert.equal(w.line(0, plainVerdict()), original('self', 0, plainVerdict()));
      mod.jsonlCase = (variant, index, v) => original(variant, index, v).replace('"domain":', '"abi":"x86_64","domain":');
      const v = plainVerdict(10, 2, 17, 97);
      assert.equal(w.line(1, v), mod.jsonlCase('self', 1, v));
      assert.match(w.diverged ?? '', /differs from jsonlCase's/);
      const again = plainVerdict();
      assert.equal(w.line(2, again), mod.jsonlCase('self', 2, again));
    } finally {
      mod.jsonlCase = original;
    }
  });
});

describe('jsonl: a worker\'s lines reach the report as the bytes it wrote', function () {
  this.timeout(5 * 60_000);

  /** Feed `text` in the given chunk sizes; what came out as bytes and as lines, in order. */
  function route(text: string, sizes: (i: number) => number): { bytes: string; lines: string[]; order: string[] } {
    const bytes: Buffer[] = [];
    const lines: string[] = [];
    const order: string[] = [];
    const r = new WorkerStdout((l) => { lines.push(l); order.push(`L${l}`); }, (b) => { bytes.push(Buffer.from(b)); order.push(`B${b.toString('utf8')}`); });
    const all = Buffer.from(text, 'utf8');
    for (let i = 0, k = 0; i < all.length; k++) {
      const n = Math.max(1, sizes(k));
      r.push(all.subarray(i, i + n));
      i += n;
    }
    r.end();
    return { bytes: Buffer.concat(bytes).toString('utf8'), lines, order };
  }

  const tally = '{"kind":"tally","variant":"nobody","notes":["a {\\"kind\\":\\"tally\\" inside a string"]}';
  const text = [
    '{"kind":"profile","variant":"nobody","profile":{"x":"é ü 🙂"}}',
    '{"kind":"case","variant":"nobody","index":0,"reason":"not {\\"kind\\":\\"tally\\" at a line start"}',
    '',
    '{"kind":"counters","variant":"nobody","firstCase":0}',
    tally,
    '{"kind":"case","variant":"nobody","index":1}',
  ].join('\n');

  it('every chunking gives the same bytes and the tally line alone, in order', () => {
    const expectBytes = text.split('\n').filter((l) => l !== '' && l !== tally).map((l) => l + '\n').join('');
    const whole = route(text, () => 1 << 20);
    assert.equal(whole.bytes, expectBytes);
    assert.deepEqual(whole.lines, [tally]);
    // The tally comes after the counters line and before the last case, as the worker wrote them.
    const seen = whole.order.join('');
    assert.ok(seen.indexOf('counters') < seen.indexOf('L{"kind":"tally"') && seen.indexOf('L{"kind":"tally"') < seen.lastIndexOf('"index":1'));
    const size = Buffer.byteLength(text);
    for (let n = 1; n <= size; n++) {
      const r = route(text, () => n);
      assert.equal(r.bytes, expectBytes, `chunks of ${n} bytes`);
      assert.deepEqual(r.lines, [tally], `chunks of ${n} bytes`);
    }
    let seed = 7;
    for (let k = 0; k < 200; k++) {
      const r = route(text, () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return 1 + (seed % 40); });
      assert.equal(r.bytes, expectBytes);
      assert.deepEqual(r.lines, [tally]);
    }
  });

  it('sweep --variants rlimit --format jsonl has the lines its worker writes, byte for byte', function () {
    // rlimit makes no socket (every call that would gets EMFILE), so its case lines are the same every run.
    const small = ['--domains', '0-2,10,16,17', '--types', '0-3,5,10', '--protocols', '0,1,6,17,768'];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-jsonl-'));
    try {
      const out = path.join(dir, 'r.jsonl');
      const r = spawnSync(process.execPath, [BIN, 'sweep', '--no-progress', '--variants', 'rlimit', '--format', 'jsonl', '--out', out, ...small], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const w = spawnSync(process.execPath, [BIN, 'sweep', '--worker', 'rlimit', '--emit-cases', ...small], { encoding: 'utf8', maxBuffer: 1 << 28 });
      assert.equal(w.status, 0, w.stderr);
      const cases = (t: string) => t.split('\n').filter((l) => l.startsWith('{"kind":"case"'));
      const fromReport = cases(fs.readFileSync(out, 'utf8'));
      const fromWorker = cases(w.stdout);
      assert.ok(fromWorker.length > 500, `${fromWorker.length} case lines`);
      assert.deepEqual(fromReport, fromWorker);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
