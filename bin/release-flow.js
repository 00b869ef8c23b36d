#!/usr/bin/env node
'use strict';
// The CLI is TypeScript run through tsx, so the bin works straight from a checkout or `npx`.
require('tsx/cjs/api').register();
// A reader that stops early (`release-flow status | head`) closes the pipe: the reader has what
// it wanted, so stop quietly with 0 instead of an EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}
require('../src/cli/main.ts')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
