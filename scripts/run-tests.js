#!/usr/bin/env node
// Runs node's test runner over TypeScript test files (Node 20's --test has no globs).
// Usage: node scripts/run-tests.js [DIR|FILE ...]   (default: test/)
'use strict';
const { spawnSync } = require('node:child_process');
const { readdirSync, statSync } = require('node:fs');
const path = require('node:path');

function collect(target, out) {
  const stat = statSync(target);
  if (stat.isFile()) {
    out.push(target);
    return out;
  }
  for (const entry of readdirSync(target).sort()) {
    const full = path.join(target, entry);
    if (statSync(full).isDirectory()) collect(full, out);
    else if (entry.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

const targets = process.argv.slice(2);
const files = (targets.length ? targets : ['test']).flatMap((t) => collect(t, []));
if (files.length === 0) {
  console.error('run-tests: no *.test.ts files found under', targets.join(' ') || 'test');
  process.exit(1);
}
// Files run one at a time: workflow tests share servers and time-skipping is global to a server.
const args = ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files];
const result = spawnSync(process.execPath, args, { stdio: 'inherit', env: process.env });
process.exit(result.status ?? 1);
