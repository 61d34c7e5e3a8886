/**
 * The module pack: every compiled module of dist/lib in one file, with where each of their
 * relative require()s leads and V8's code cache for each, so the command starts without node
 * looking for 100-odd files one by one and compiling each afresh (issue 15: resolving, stat()ing
 * and reading them, looking for a package.json above each, and compiling them were most of the
 * command's own start-up).
 *
 * bin/sockbridge.js reads it and serves a module from it only when the file it was packed from
 * is still that file (same size and mtime); anything else - a module rebuilt since, a require
 * the pack does not know - goes to node's own loader. V8 refuses a code cache made by another
 * V8 or with other flags, and then compiles the source. So a stale pack costs time, never
 * correctness. Run after tsc (npm run build, npm test and prepare do).
 *
 * The code caches are made by running the command once, a small sweep of this machine
 * (AF_UNIX and AF_INET, stream and datagram, jsonl into /dev/null): a cache holds the functions
 * compiled by then, so the sweep's own path starts compiled. When that run fails, the pack has
 * no caches and says so.
 *
 * Format: "SBPACK2\n", a JSON index line, then each module's source followed by its cache. The
 * index: { files: [[path, size, mtimeMs, start, end, cacheStart, cacheEnd]], requires: [[from,
 * request, to]] }, paths relative to the package root, offsets in bytes after the index line
 * (cacheStart === cacheEnd: no cache).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';

const ROOT = path.resolve(__dirname, '..', '..');
export const PACK_FILE = path.join(ROOT, 'dist', 'sockbridge.pack');
export const PACK_MAGIC = 'SBPACK2\n';
/** The run whose compiled functions the code caches hold. */
export const CACHE_RUN = ['sweep', '--variants', 'self', '--domains', 'AF_UNIX,AF_INET', '--types', 'SOCK_STREAM,SOCK_DGRAM', '--format', 'jsonl', '--out', '/dev/null', '--no-progress'];

export type PackFile = [path: string, size: number, mtimeMs: number, start: number, end: number, cacheStart: number, cacheEnd: number];
export interface PackIndex { files: PackFile[]; requires: Array<[string, string, string]> }

function jsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...jsFiles(p));
    else if (e.name.endsWith('.js')) out.push(p);
  }
  return out.sort();
}

/** Where node would resolve a relative request from `from`: x itself, x.js, or x/index.js. */
function resolveRelative(from: string, request: string): string | null {
  const base = path.resolve(path.dirname(from), request);
  for (const c of [base, `${base}.js`, path.join(base, 'index.js')]) {
    try {
      if (fs.statSync(c).isFile()) return c;
    } catch { /* next */ }
  }
  return null;
}

function writePack(packFile: string, index: PackIndex, parts: Buffer[]): number {
  const head = Buffer.from(`${PACK_MAGIC}${JSON.stringify(index)}\n`, 'utf8');
  const tmp = `${packFile}.${process.pid}.tmp`;
  const all = Buffer.concat([head, ...parts]);
  fs.writeFileSync(tmp, all);
  fs.renameSync(tmp, packFile);
  return all.length;
}

/** Pack root/dist/lib into root/dist/sockbridge.pack (root: this package, or a copy of it). */
export function buildPack(root = ROOT): { modules: number; bytes: number; cached: number; why?: string } {
  const lib = path.join(root, 'dist', 'lib');
  const packFile = path.join(root, 'dist', 'sockbridge.pack');
  const files = jsFiles(lib);
  const sources: Buffer[] = [];
  const index: PackIndex = { files: [], requires: [] };
  let at = 0;
  const rel = (p: string) => path.relative(root, p);
  for (const f of files) {
    const st = fs.statSync(f);
    const buf = fs.readFileSync(f);
    if (buf.length !== st.size) throw new Error(`${f} changed while it was packed`);
    index.files.push([rel(f), st.size, st.mtimeMs, at, at + buf.length, 0, 0]);
    sources.push(buf);
    at += buf.length;
    const seen = new Set<string>();
    for (const m of buf.toString('utf8').matchAll(/\brequire\((["'])(\.{1,2}\/[^"']*)\1\)/g)) {
      const request = m[2];
      if (seen.has(request)) continue;
      seen.add(request);
      const to = resolveRelative(f, request);
      if (to !== null && to.startsWith(lib + path.sep) && to.endsWith('.js')) index.requires.push([rel(f), request, rel(to)]);
    }
  }
  // Written once without caches: the run below that makes them loads its modules from it.
  let bytes = writePack(packFile, index, sources);

  // The code caches: the command run once from this pack, writing each module's cache at exit.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockbridge-pack-cache-'));
  try {
    const r = spawnSync(process.execPath, [path.join(root, 'bin', 'sockbridge.js'), ...CACHE_RUN], {
      env: { ...process.env, SOCKBRIDGE_PACK_CACHE_OUT: dir, SOCKBRIDGE_NO_PACK: '' }, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (r.status !== 0) return { modules: files.length, bytes, cached: 0, why: `sockbridge ${CACHE_RUN.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').pop()}` };
    // Each module's source and then its cache, so one read takes both.
    const parts: Buffer[] = [];
    let cached = 0;
    at = 0;
    index.files.forEach((f, i) => {
      const src = sources[i];
      f[3] = at;
      f[4] = at + src.length;
      at += src.length;
      parts.push(src);
      let c: Buffer;
      try { c = fs.readFileSync(path.join(dir, String(i))); } catch { f[5] = f[6] = at; return; }
      f[5] = at;
      f[6] = at + c.length;
      at += c.length;
      parts.push(c);
      cached++;
    });
    bytes = writePack(packFile, index, parts);
    return { modules: files.length, bytes, cached };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const r = buildPack();
  process.stdout.write(`pack: ${r.modules} modules of dist/lib, ${r.cached} with a code cache, in ${path.relative(ROOT, PACK_FILE)} (${(r.bytes / 1024).toFixed(0)} KiB)${r.why ? `; no code cache: ${r.why}` : ''}\n`);
}
