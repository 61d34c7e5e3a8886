/**
 * The module pack: every compiled module of dist/lib in one file, with where each of their
 * relative require()s leads, so the command starts without node looking for 100-odd files one
 * by one (issue 15: resolving, stat()ing and reading them, and looking for a package.json above
 * each, was half of the command's own start-up).
 *
 * bin/sockbridge.js reads it and serves a module from it only when the file it was packed from
 * is still that file (same size and mtime); anything else - a module rebuilt since, a require
 * the pack does not know - goes to node's own loader. So a stale pack costs time, never
 * correctness. Run after tsc (npm run build, npm test and prepare do).
 *
 * Format: "SBPACK1\n", a JSON index line, then the modules' sources one after another (UTF-8).
 * The index: { files: [[path, size, mtimeMs, start, end]], requires: [[from, request, to]] },
 * paths relative to the package root, offsets in bytes after the index line.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
export const PACK_FILE = path.join(ROOT, 'dist', 'sockbridge.pack');

function jsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...jsFiles(p));
    else if (e.name.endsWith('.js')) out.push(p);
  }
  return out.sort();
}

/** Where node would resolve a relative request from `from`: x.js, x itself, or x/index.js. */
function resolveRelative(from: string, request: string): string | null {
  const base = path.resolve(path.dirname(from), request);
  for (const c of [base, `${base}.js`, path.join(base, 'index.js')]) {
    try {
      if (fs.statSync(c).isFile()) return c;
    } catch { /* next */ }
  }
  return null;
}

/** Pack root/dist/lib into root/dist/sockbridge.pack (root: this package, or a copy of it). */
export function buildPack(root = ROOT): { modules: number; bytes: number } {
  const LIB = path.join(root, 'dist', 'lib');
  const packFile = path.join(root, 'dist', 'sockbridge.pack');
  const files = jsFiles(LIB);
  const sources: Buffer[] = [];
  const index: { files: Array<[string, number, number, number, number]>; requires: Array<[string, string, string]> } = { files: [], requires: [] };
  let at = 0;
  const rel = (p: string) => path.relative(root, p);
  for (const f of files) {
    const st = fs.statSync(f);
    const buf = fs.readFileSync(f);
    if (buf.length !== st.size) throw new Error(`${f} changed while it was packed`);
    index.files.push([rel(f), st.size, st.mtimeMs, at, at + buf.length]);
    sources.push(buf);
    at += buf.length;
    const text = buf.toString('utf8');
    const seen = new Set<string>();
    for (const m of text.matchAll(/\brequire\((["'])(\.{1,2}\/[^"']*)\1\)/g)) {
      const request = m[2];
      if (seen.has(request)) continue;
      seen.add(request);
      const to = resolveRelative(f, request);
      if (to !== null && to.startsWith(LIB + path.sep) && to.endsWith('.js')) index.requires.push([rel(f), request, rel(to)]);
    }
  }
  const head = Buffer.from(`SBPACK1\n${JSON.stringify(index)}\n`, 'utf8');
  const tmp = `${packFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.concat([head, ...sources]));
  fs.renameSync(tmp, packFile);
  return { modules: files.length, bytes: head.length + at };
}

if (require.main === module) {
  const r = buildPack();
  process.stdout.write(`pack: ${r.modules} modules of dist/lib in ${path.relative(ROOT, PACK_FILE)} (${(r.bytes / 1024).toFixed(0)} KiB)\n`);
}
