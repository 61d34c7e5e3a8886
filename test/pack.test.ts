/**
 * The module pack (scripts/pack.ts, read by bin/sockbridge.js): the command takes dist/lib's
 * modules from one file, and only while each module's own file is the one packed. Checked on a
 * copy of the package, so the pack and the files can be made to disagree.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { buildPack, PACK_FILE, PACK_MAGIC, type PackIndex } from '../scripts/pack';

const ROOT = path.resolve(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Module = require('module') as { _resolveFilename(request: string, parent: { id: string; filename: string; paths: string[] }): string; _nodeModulePaths(dir: string): string[] };

function readIndex(file: string): { index: PackIndex; body: number; buf: Buffer } {
  const buf = fs.readFileSync(file);
  assert.equal(buf.toString('latin1', 0, 8), PACK_MAGIC);
  const nl = buf.indexOf(10, 8);
  return { index: JSON.parse(buf.toString('utf8', 8, nl)) as PackIndex, body: nl + 1, buf };
}

function run(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('module pack: the command\'s modules from one file', function () {
  this.timeout(120_000);
  let copy: string;

  before(() => {
    assert.ok(fs.existsSync(PACK_FILE), `${PACK_FILE} is missing: npm test and npm run build make it after tsc`);
    // A copy of what the command runs from; node_modules and the built addon are linked.
    copy = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-pack-'));
    fs.cpSync(path.join(ROOT, 'bin'), path.join(copy, 'bin'), { recursive: true, preserveTimestamps: true });
    fs.cpSync(path.join(ROOT, 'dist', 'lib'), path.join(copy, 'dist', 'lib'), { recursive: true, preserveTimestamps: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(copy, 'package.json'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
    fs.symlinkSync(path.join(ROOT, 'build'), path.join(copy, 'build'));
    const made = buildPack(copy);
    assert.equal(made.why, undefined);
    assert.ok(made.cached > 50, `${made.cached} code caches made`);
  });
  after(() => { if (copy) fs.rmSync(copy, { recursive: true, force: true }); });

  it('holds every module of dist/lib, byte for byte, with its size and mtime', () => {
    const { index, body, buf } = readIndex(PACK_FILE);
    const lib = path.join(ROOT, 'dist', 'lib');
    const want: string[] = [];
    const walk = (d: string): void => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else if (e.name.endsWith('.js')) want.push(path.relative(ROOT, p)); } };
    walk(lib);
    assert.deepEqual(index.files.map((f) => f[0]).sort(), want.sort());
    for (const [rel, size, mtimeMs, start, end] of index.files) {
      const st = fs.statSync(path.join(ROOT, rel));
      assert.equal(size, st.size, rel);
      assert.equal(mtimeMs, st.mtimeMs, rel);
      assert.ok(buf.subarray(body + start, body + end).equals(fs.readFileSync(path.join(ROOT, rel))), rel);
    }
  });

  it('its code caches are this node\'s: V8 takes every one of them', () => {
    const { index, body, buf } = readIndex(PACK_FILE);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const vm = require('vm') as typeof import('vm');
    const wrap = (Module as unknown as { wrap(s: string): string }).wrap;
    let cached = 0;
    for (const [rel, , , start, end, cacheStart, cacheEnd] of index.files) {
      if (cacheEnd === cacheStart) continue;
      cached++;
      const script = new vm.Script(wrap(buf.toString('utf8', body + start, body + end)), { filename: path.join(ROOT, rel), cachedData: buf.subarray(body + cacheStart, body + cacheEnd) });
      assert.equal(script.cachedDataRejected, false, rel);
    }
    assert.ok(cached > 50, `${cached} modules with a code cache`);
  });

  it('each relative require it records leads where node\'s own resolution leads', () => {
    const { index } = readIndex(PACK_FILE);
    assert.ok(index.requires.length > 100, `${index.requires.length} requires recorded`);
    for (const [from, request, to] of index.requires) {
      const filename = path.join(ROOT, from);
      const parent = { id: filename, filename, paths: Module._nodeModulePaths(path.dirname(filename)) };
      assert.equal(Module._resolveFilename(request, parent), path.join(ROOT, to), `require('${request}') in ${from}`);
    }
    // Every literal relative require in dist/lib is recorded, and nothing else.
    const literal = new Set<string>();
    for (const [rel] of index.files) {
      for (const m of fs.readFileSync(path.join(ROOT, rel), 'utf8').matchAll(/\brequire\((["'])(\.{1,2}\/[^"']*)\1\)/g)) if (!m[2].endsWith('.json')) literal.add(`${rel} ${m[2]}`);
    }
    assert.deepEqual(index.requires.map(([from, request]) => `${from} ${request}`).sort(), [...literal].sort());
  });

  it('the command is served from the pack: a change made only in the pack shows; SOCKBRIDGE_NO_PACK=1 reads the files', () => {
    const packed = path.join(copy, 'dist', 'sockbridge.pack');
    const { index, body, buf } = readIndex(packed);
    const from = 'walk the modelled kernel path for one call';
    const to = from.toUpperCase();
    const main = index.files.find((f) => f[0] === path.join('dist', 'lib', 'cli', 'main.js'))!;
    const at = buf.indexOf(from, body + main[3], 'utf8');
    assert.ok(at > 0 && at < body + main[4], 'the usage text is in main.js in the pack');
    // The packed source changed, and its code cache dropped (V8 checks a cache against the
    // source's length only: a pack's caches are made from its own sources, never apart).
    const changed = Buffer.from(buf.subarray(body));
    changed.write(to, at - body, 'utf8');
    main[6] = main[5];
    fs.writeFileSync(packed, Buffer.concat([Buffer.from(`${PACK_MAGIC}${JSON.stringify(index)}\n`), changed]));
    const withPack = run(path.join(copy, 'bin', 'sockbridge.js'), ['--help']);
    assert.equal(withPack.status, 0, withPack.stderr);
    assert.ok(withPack.stdout.includes(to), withPack.stdout);
    const files = run(path.join(copy, 'bin', 'sockbridge.js'), ['--help'], { SOCKBRIDGE_NO_PACK: '1' });
    assert.ok(files.stdout.includes(from) && !files.stdout.includes(to), files.stdout);
  });

  it('a module rebuilt since the pack was made is read from its file (the pack is stale, not wrong)', () => {
    const main = path.join(copy, 'dist', 'lib', 'cli', 'main.js');
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(main, later, later);
    const r = run(path.join(copy, 'bin', 'sockbridge.js'), ['--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes('walk the modelled kernel path for one call'), r.stdout);
  });

  it('a pack that is missing, truncated or not a pack: the command runs from the files', () => {
    const packed = path.join(copy, 'dist', 'sockbridge.pack');
    for (const content of [null, Buffer.from(`${PACK_MAGIC}{"files":`), Buffer.from('not a pack at all\n')]) {
      fs.rmSync(packed, { force: true });
      if (content) fs.writeFileSync(packed, content);
      const r = run(path.join(copy, 'bin', 'sockbridge.js'), ['explain', 'AF_PACKET', 'SOCK_RAW', '0', '--json']);
      assert.equal(r.status === 0 || r.status === 1, true, r.stderr);
      assert.equal(r.stderr, '');
      assert.equal(JSON.parse(r.stdout).case.domain, 17);
    }
  });

  it('with and without the pack the command says the same, byte for byte', () => {
    const bin = path.join(ROOT, 'bin', 'sockbridge.js');
    for (const args of [
      ['explain', 'AF_INET', 'SOCK_DGRAM', 'IPPROTO_ICMP', '--json'],
      ['explain', 'AF_PACKET', 'SOCK_RAW', '0'],
      ['sweep', '--list-variants'],
      ['sweep', '--domains', 'AF_FOO'],
    ]) {
      const a = run(bin, args);
      const b = run(bin, args, { SOCKBRIDGE_NO_PACK: '1' });
      assert.deepEqual(a, b, args.join(' '));
    }
    // A sweep's cases, fd numbers included (the loader opens and closes what node's would);
    // only the socket inodes differ from run to run.
    const cases = (env: NodeJS.ProcessEnv): string[] => {
      const r = run(bin, ['sweep', '--variants', 'self', '--domains', 'AF_UNIX,AF_INET', '--types', 'SOCK_STREAM', '--format', 'jsonl', '--no-progress'], env);
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.split('\n').filter((l) => l.startsWith('{"kind":"case"')).map((l) => l.replace(/socket:\[\d+\]/g, 'socket:[N]').replace(/"(ino|fdinfoIno)":\d+/g, '"$1":N'));
    };
    const packed = cases({});
    assert.ok(packed.some((l) => /"observed":\{"fd":\d+/.test(l)));
    assert.deepEqual(packed, cases({ SOCKBRIDGE_NO_PACK: '1' }));
  });
});
