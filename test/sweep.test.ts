/**
 * The default sweep, both roads, on this machine's kernel, in every variant: as it runs, as
 * uid 65534 with every capability dropped, in a new user+network namespace, in a new user
 * namespace on the host network, in a new network namespace, and with RLIMIT_NOFILE exhausted.
 * Each must agree on every field; a failure prints the mismatches.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { VARIANTS } from '../lib/sweep/variants';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'sockbridge.js');

function sweep(args: string[], timeoutMs = 15 * 60_000) {
  const r = spawnSync(process.execPath, [BIN, 'sweep', '--no-progress', '--no-color', ...args], {
    encoding: 'utf8', timeout: timeoutMs, maxBuffer: 512 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

describe('sweep: the default matrix agrees with this kernel in every variant', function () {
  this.timeout(20 * 60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-variants-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const v of VARIANTS) {
    it(`variant ${v.name}${v.optIn ? ' (opt-in)' : ''}: ${v.about}`, function () {
      const why = v.unavailable();
      if (why) {
        this.test!.title += ` (pending: ${why})`;
        this.skip();
      }
      if (!v.optIn) {
        const r = sweep(['--variants', v.name]);
        if (r.code !== 0) {
          // Print the mismatches in full so a CI log says what diverged.
          process.stdout.write(r.stdout.slice(0, 200_000) + '\n' + r.stderr.slice(0, 20_000) + '\n');
        }
        assert.equal(r.code, 0, `sweep --variants ${v.name} exited ${r.code}${r.signal ? ` (${r.signal})` : ''}`);
        assert.match(r.stdout, /every case agrees in 1 variant/);
        // The variant table's row: variant, cases, agree, disagree.
        const m = new RegExp(`^${v.name}\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)`, 'm').exec(r.stdout);
        assert.ok(m, 'a row in the variant table');
        assert.equal(Number(m![1]), Number(m![2]), 'every case a MATCH');
        assert.equal(Number(m![3]), 0);
        assert.ok(Number(m![1]) > 100_000, 'the default matrix, not a small one');
        return;
      }
      // Opt-in variants may hide facts (ids shown as the overflow id): every case must be a MATCH,
      // or UNSUPPORTED with the kernel's answer among the model's possible results - never a
      // MISMATCH, never EXPLAINED (no policy on this host could refuse socket()).
      const out = path.join(dir, `${v.name}.jsonl`);
      const r = sweep(['--variants', v.name, '--format', 'jsonl', '--out', out]);
      const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const cases = lines.filter((l) => l.kind === 'case');
      const bad = cases.filter((c) => c.verdict === 'MISMATCH' || c.verdict === 'EXPLAINED');
      if (bad.length) process.stdout.write(bad.slice(0, 20).map((c) => JSON.stringify(c)).join('\n') + '\n' + r.stderr.slice(0, 20_000) + '\n');
      assert.deepEqual(bad.map((c) => `${c.verdict} ${c.call}`), []);
      assert.ok(cases.length > 100_000, 'the default matrix, not a small one');
      const unsupported = cases.filter((c) => c.verdict === 'UNSUPPORTED');
      for (const c of unsupported) {
        const observed = c.observed.errname ?? `fd ${c.observed.fd}`;
        assert.ok(Array.isArray(c.predicted.possible) && c.predicted.possible.includes(observed), `${c.call}: the kernel's ${observed} is among ${JSON.stringify(c.predicted.possible)}`);
        assert.match(c.reason, /hidden by the user namespace|lacks/);
      }
      const summary = lines.filter((l) => l.kind === 'summary');
      assert.equal(summary.length, 1);
      assert.equal(summary[0].completed, true);
      assert.equal(summary[0].MISMATCH, 0, `counters or cases mismatched: ${JSON.stringify(summary[0].notes)}`);
      assert.equal(r.code, unsupported.length ? 4 : 0, `exit ${r.code}: 4 when some case is UNSUPPORTED, else 0`);
    });
  }
});

describe('sweep: reports', function () {
  this.timeout(10 * 60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-test-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const small = ['--variants', 'self', '--domains', '0-3,10,16,17,40,44,46', '--types', '0-6,10,11', '--protocols', '0,1,6,17,255,262,768,-1'];

  it('jsonl follows the documented schema, one case line per call', () => {
    const out = path.join(dir, 'r.jsonl');
    const r = sweep([...small, '--format', 'jsonl', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines[0].kind, 'header');
    assert.equal(lines[0].schema, 'sockbridge.sweep/1');
    const cases = lines.filter((l) => l.kind === 'case');
    assert.equal(cases.length, lines[0].cases);
    for (const c of cases) {
      assert.equal(c.verdict, 'MATCH');
      assert.match(c.call, /^socket\(/);
      for (const k of ['domain', 'type', 'protocol', 'index']) assert.equal(typeof c[k], 'number');
      if (c.observed.fd !== undefined) {
        assert.equal(c.predicted.fd, c.observed.fd);
        assert.match(c.observed.link, /^socket:\[\d+\]$/);
      } else {
        assert.equal(c.predicted.errno, c.observed.errno);
      }
    }
    assert.ok(cases.some((c) => c.observed.fd !== undefined), 'some sockets were created');
    const summary = lines[lines.length - 1];
    assert.equal(summary.kind, 'summary');
    assert.equal(summary.MATCH, cases.length);
  });

  it('junit has one testcase per family x type cell and no failure', () => {
    const out = path.join(dir, 'r.xml');
    const r = sweep([...small, '--format', 'junit', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const xml = fs.readFileSync(out, 'utf8');
    assert.match(xml, /^<\?xml/);
    assert.match(xml, /<testsuites name="sockbridge sweep" tests="\d+" failures="0">/);
    assert.equal((xml.match(/<testcase /g) ?? []).length, 10 * 9);
  });

  it('the html grid opens in headless Chromium and its cells equal the jsonl report', function () {
    const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
    if (!chromium) {
      this.test!.title += ' (pending: Debian\'s chromium package is not installed; .ci/run installs it)';
      this.skip();
    }
    const html = path.join(dir, 'r.html');
    const jsonl = path.join(dir, 'r2.jsonl');
    assert.equal(sweep([...small, '--format', 'html', '--out', html]).code, 0);
    assert.equal(sweep([...small, '--format', 'jsonl', '--out', jsonl]).code, 0);
    const profileDir = fs.mkdtempSync(path.join(dir, 'chrome-'));
    const r = spawnSync(chromium!, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${profileDir}`, '--enable-logging=stderr', '--v=0',
      '--dump-dom', `file://${html}`,
    ], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    assert.equal(r.status, 0, `chromium exited ${r.status}: ${r.stderr.slice(-2000)}`);
    assert.doesNotMatch(r.stderr, /Uncaught|SyntaxError|CONSOLE\(\d+\).*error/i);
    // The DOM as Chromium built it: a grid row per family, a column per type, each cell a link to
    // its panel, and each panel's distinct outcomes with their counts.
    const dom = r.stdout;
    const types = [...(/<table class="grid">.*?<\/tr>/s.exec(dom)![0]).matchAll(/<th data-type="(\d+)"/g)].map((m) => Number(m[1]));
    const panels = new Map<string, { total: number; match: number; created: number }>();
    for (const m of dom.matchAll(/<section class="panel" id="(p\d+)"[^>]*>(.*?)<\/section>/gs)) {
      const p = { total: Number(/<p class="cnt">(\d+) cases/.exec(m[2])![1]), match: 0, created: 0 };
      for (const o of m[2].matchAll(/<div class="outcome" data-kind="(\w+)" data-kernel="([^"]+)" data-model="[^"]+" data-count="(\d+)"/g)) {
        if (o[1] === 'MATCH') p.match += Number(o[3]);
        if (o[2] === 'fd') p.created += Number(o[3]);
      }
      panels.set(m[1], p);
    }
    const cells = new Map<string, { total: number; match: number; created: number }>();
    for (const row of dom.matchAll(/<tr data-domain="(\d+)">(.*?)<\/tr>/gs)) {
      [...row[2].matchAll(/<td class="[a-z]+">(?:<a href="#(p\d+)">(\d*)<\/a>)?<\/td>/g)].forEach((td, i) => {
        if (!td[1]) return;
        const p = panels.get(td[1])!;
        assert.ok(p, `the panel ${td[1]} exists`);
        if (p.created) assert.equal(td[2], String(p.created), 'the cell shows the sockets made');
        cells.set(`${row[1]}/${types[i]}`, p);
      });
    }
    const expected = new Map<string, { total: number; match: number; created: number }>();
    for (const line of fs.readFileSync(jsonl, 'utf8').trim().split('\n')) {
      const c = JSON.parse(line);
      if (c.kind !== 'case') continue;
      const key = `${c.domain}/${c.type & 0xf}`;
      const e = expected.get(key) ?? { total: 0, match: 0, created: 0 };
      e.total++;
      if (c.verdict === 'MATCH') e.match++;
      if (c.observed.fd !== undefined) e.created++;
      expected.set(key, e);
    }
    assert.equal(cells.size, expected.size);
    assert.deepEqual(new Map([...cells].sort()), new Map([...expected].sort()));
  });
});
