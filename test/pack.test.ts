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
import { buildPack, PACK_FILE } from '../scripts/pack';

const ROOT = path.resolve(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Module = require('module') as { _resolveFilename(request: string, parent: { id: string; filename: string; paths: string[] }): string; _nodeModulePaths(dir: string): string[] };

interface PackIndex { files: Array<[string, number, number, number, number]>; requires: Array<[string, string, string]> }

function readIndex(file: string): { index: PackIndex; body: number; buf: Buffer } {
  const buf = fs.readFileSync(file);
  assert.equal(buf.toString('latin1', 0, 8), 'SBPACK1\n');
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
    buildPack(copy);
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
    const changed = Buffer.from(buf);
    changed.write(to, at, 'utf8');
    fs.writeFileSync(packed, changed);
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
    for (const content of [null, Buffer.from('SBPACK1\n{"files":'), Buffer.from('not a pack at all\n')]) {
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
  });
});
