#!/usr/bin/env node
'use strict';
usePack();
require('../dist/lib/cli/main.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`sockbridge: internal error: ${err && err.stack || err}\n`); process.exitCode = 70; }
);

/**
 * Serve dist/lib's modules from dist/sockbridge.pack (scripts/pack.ts) when it is there: one
 * file read instead of node resolving, stat()ing and reading each module and looking for a
 * package.json above it. A module is taken from the pack only while its own file has the size
 * and mtime it was packed with; every other module and request goes to node's loader as usual.
 * SOCKBRIDGE_NO_PACK=1 turns it off.
 */
function usePack() {
  if (process.env.SOCKBRIDGE_NO_PACK === '1') return;
  const fs = require('fs');
  const path = require('path');
  const Module = require('module');
  const root = path.resolve(__dirname, '..');
  let buf;
  try {
    buf = fs.readFileSync(path.join(root, 'dist', 'sockbridge.pack'));
  } catch {
    return;
  }
  const nl = buf.indexOf(10, 8);
  if (buf.toString('latin1', 0, 8) !== 'SBPACK1\n' || nl < 0) return;
  let index;
  try {
    index = JSON.parse(buf.toString('utf8', 8, nl));
  } catch {
    return;
  }
  const body = nl + 1;
  const files = new Map();
  for (const [rel, size, mtimeMs, start, end] of index.files) files.set(path.join(root, rel), { size, mtimeMs, start: body + start, end: body + end });
  const requires = new Map();
  for (const [from, request, to] of index.requires) requires.set(`${path.join(root, from)}\0${request}`, path.join(root, to));

  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, parent, ...rest) {
    if (parent && typeof parent.filename === 'string' && request.charCodeAt(0) === 46 /* . */) {
      const to = requires.get(`${parent.filename}\0${request}`);
      if (to !== undefined) return to;
    }
    return resolve.call(this, request, parent, ...rest);
  };
  const loadJs = Module._extensions['.js'];
  Module._extensions['.js'] = function (module, filename) {
    const f = files.get(filename);
    if (f !== undefined) {
      const st = fs.statSync(filename, { throwIfNoEntry: false });
      if (st && st.size === f.size && st.mtimeMs === f.mtimeMs) {
        module._compile(buf.toString('utf8', f.start, f.end), filename);
        return;
      }
    }
    loadJs.call(this, module, filename);
  };
}
