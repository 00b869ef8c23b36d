#!/usr/bin/env node
'use strict';
// An installed package runs the compiled JavaScript in dist/. A checkout runs dist/ only while
// it is at least as new as every file under src/ (after `npm run build`), else the TypeScript
// through tsx, so editing a file never runs stale code.
const { existsSync, readdirSync, statSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stamp = path.join(root, 'dist', 'build-info.json');

function newestUnder(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestUnder(full) : statSync(full).mtimeMs;
    if (mtime > newest) newest = mtime;
  }
  return newest;
}

function useDist() {
  if (process.env.RELEASE_FLOW_FROM_SOURCE === '1') return false;
  if (!existsSync(stamp)) return false;
  const src = path.join(root, 'src');
  return !existsSync(src) || statSync(stamp).mtimeMs >= newestUnder(src);
}

// A reader that stops early (`release-flow status | head`) closes the pipe: the reader has what
// it wanted, so stop quietly with 0 instead of an EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

let cli;
if (useDist()) {
  cli = require('../dist/cli/main.js');
} else {
  require('tsx/cjs/api').register();
  cli = require('../src/cli/main.ts');
}
cli.main(process.argv).then((code) => {
  process.exitCode = code;
});
