#!/usr/bin/env node
// Runs node's test runner over TypeScript test files (Node 20's --test has no globs).
// Usage: node scripts/run-tests.js [DIR|FILE ...]   (default: test/)
//   RELEASE_FLOW_TEST_CONCURRENCY=N   test files run at once (default: CPUs + 1, at least 2)
'use strict';
const { spawnSync } = require('node:child_process');
const { readdirSync, statSync } = require('node:fs');
const os = require('node:os');
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

// The runner starts files in the order given, as slots free up. The tiers whose files start
// servers and wait on real time go first, so the suite does not end on one long file started
// last while the other slots idle; the many short unit files fill the slots at the end. A file
// in a folder not named here runs after these, in path order.
const TIER_ORDER = ['e2e', 'workflows', 'replay', 'unit'];
function tierOf(file) {
  const parts = path.relative('test', file).split(path.sep);
  const rank = TIER_ORDER.indexOf(parts[0]);
  return rank === -1 ? TIER_ORDER.length : rank;
}

function concurrency() {
  const raw = process.env.RELEASE_FLOW_TEST_CONCURRENCY;
  if (raw === undefined || raw === '') return Math.max(2, os.availableParallelism() + 1);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(
      `run-tests: RELEASE_FLOW_TEST_CONCURRENCY must be a whole number of at least 1, got "${raw}"`,
    );
    process.exit(2);
  }
  return n;
}

const targets = process.argv.slice(2);
const files = (targets.length ? targets : ['test']).flatMap((t) => collect(t, []));
if (files.length === 0) {
  console.error('run-tests: no *.test.ts files found under', targets.join(' ') || 'test');
  process.exit(1);
}
const ordered = files
  .map((file, i) => ({ file, i, tier: tierOf(file) }))
  .sort((a, b) => a.tier - b.tier || a.i - b.i)
  .map((f) => f.file);
// Files run side by side, each in its own process: every file starts its own Temporal server
// (time-skipping or dev, on a port of its own), its own HTTP servers on port 0 and its own
// temporary directories, so no file shares a server's clock or state with another. Tests of
// one file still run one after another (time is global to the file's time-skipping server).
const args = [
  '--import',
  'tsx',
  '--test',
  `--test-concurrency=${concurrency()}`,
  '--test-reporter=spec',
  ...ordered,
];
const result = spawnSync(process.execPath, args, { stdio: 'inherit', env: process.env });
process.exit(result.status ?? 1);
