#!/usr/bin/env node
'use strict';
usePack();
require('../dist/lib/cli/main.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`sockbridge: internal error: ${err && err.stack || err}\n`); process.exitCode = 70; }
);

/**
 * Serve dist/lib's modules from dist/sockbridge.pack (scripts/pack.ts) when it is there: node
 * need not resolve, stat() and look for a package.json above each module, and V8 takes the
 * module's code cache instead of compiling it afresh. A module is taken from the pack only while
 * its own file has the size and mtime it was packed with (and the pack is the one whose index
 * was read); every other module and request goes to node's loader as usual.
 * SOCKBRIDGE_NO_PACK=1 turns it off. SOCKBRIDGE_PACK_CACHE_OUT=DIR (scripts/pack.ts) writes each
 * packed module's code cache into DIR at exit.
 *
 * The index is read at start; a module's source and cache are read when it is loaded, each read
 * opening and closing the pack, as node's loader does with a module's file (reading the whole
 * pack at start cost `sockbridge --help` more than it saved).
 */
function usePack() {
  if (process.env.SOCKBRIDGE_NO_PACK === '1') return;
  const fs = require('fs');
  const path = require('path');
  const Module = require('module');
  const vm = require('vm');
  const root = path.resolve(__dirname, '..');
  const packPath = `${root}/dist/sockbridge.pack`;
  let index, body, packId;
  try {
    const fd = fs.openSync(packPath, 'r');
    try {
      const st = fs.fstatSync(fd);
      packId = `${st.ino} ${st.size} ${st.mtimeMs}`;
      let head = Buffer.allocUnsafe(65536);
      let got = 0;
      let nl = -1;
      for (;;) {
        const n = fs.readSync(fd, head, got, head.length - got, got);
        if (n === 0) return;
        nl = head.indexOf(10, Math.max(8, got));
        got += n;
        if (nl >= 0 && nl < got) break;
        if (got === head.length) head = Buffer.concat([head, Buffer.allocUnsafe(head.length)]);
      }
      if (head.toString('latin1', 0, 8) !== 'SBPACK2\n') return;
      index = JSON.parse(head.toString('utf8', 8, nl));
      body = nl + 1;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return;
  }
  // Paths joined by hand: path.join, not yet compiled, costs 20 us a call here.
  const at = `${root}/`;
  const files = new Map();
  index.files.forEach(([rel, size, mtimeMs, start, end, cacheStart, cacheEnd], i) => files.set(at + rel, { i, size, mtimeMs, start, end, cacheStart, cacheEnd }));
  const requires = new Map();
  for (const [from, request, to] of index.requires) requires.set(`${at}${from}\0${request}`, at + to);
  const cacheOut = process.env.SOCKBRIDGE_PACK_CACHE_OUT;
  const compiled = [];
  if (cacheOut) process.on('exit', () => { for (const [i, script] of compiled) fs.writeFileSync(path.join(cacheOut, String(i)), script.createCachedData()); });

  /** A module's source and cache from the pack, or null when the pack is no longer the one indexed. */
  const readModule = (f) => {
    const end = Math.max(f.end, f.cacheEnd);
    const buf = Buffer.allocUnsafe(end - f.start);
    let fd;
    try {
      fd = fs.openSync(packPath, 'r');
      const st = fs.fstatSync(fd);
      if (`${st.ino} ${st.size} ${st.mtimeMs}` !== packId) return null;
      if (fs.readSync(fd, buf, 0, buf.length, body + f.start) !== buf.length) return null;
    } catch {
      return null;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    return {
      source: buf.toString('utf8', 0, f.end - f.start),
      cache: f.cacheEnd > f.cacheStart ? buf.subarray(f.cacheStart - f.start, f.cacheEnd - f.start) : undefined,
    };
  };

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
    const st = f === undefined ? undefined : fs.statSync(filename, { throwIfNoEntry: false });
    const got = st && st.size === f.size && st.mtimeMs === f.mtimeMs ? readModule(f) : null;
    if (got === null) {
      loadJs.call(this, module, filename);
      return;
    }
    // What module._compile does, with the code cache: the wrapper on the source's first line
    // (line numbers stay the file's), and the require node gives a module.
    const script = new vm.Script(Module.wrap(got.source), { filename, cachedData: cacheOut ? undefined : got.cache });
    if (cacheOut) compiled.push([f.i, script]);
    const require = (id) => module.require(id);
    require.resolve = (request, options) => Module._resolveFilename(request, module, false, options);
    require.main = process.mainModule;
    require.extensions = Module._extensions;
    require.cache = Module._cache;
    script.runInThisContext().call(module.exports, module.exports, require, module, filename, path.dirname(filename));
  };
}
