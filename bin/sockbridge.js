#!/usr/bin/env node
'use strict';
require('../dist/lib/cli/main.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`sockbridge: internal error: ${err && err.stack || err}\n`); process.exitCode = 70; }
);
