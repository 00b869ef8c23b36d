#!/usr/bin/env node
// First step of `npm start` and `npm test`, so each works alone on a fresh clone: installs the
// npm dependencies when missing or stale, then finds or provides the Temporal executables
// (src/temporal/setup-cli.ts) and, for tests, the servers and tools they run against
// (scripts/provision-test-tools.sh). Plain JavaScript: it runs before node_modules exists.
//   node scripts/ensure-setup.js start|test
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, statSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const purpose = process.argv[2] ?? 'start';

function run(cmd, args) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  if (result.error) {
    console.error(`release-flow setup: cannot run ${cmd}: ${result.error.message}`);
    process.exit(1);
  }
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function dependenciesStale() {
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(marker)) return true;
  const lock = path.join(root, 'package-lock.json');
  return existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000;
}

if (dependenciesStale()) {
  console.log('release-flow setup: installing npm dependencies (npm ci) ...');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const setup = path.join(root, 'src', 'temporal', 'setup-cli.ts');
if (purpose === 'test') {
  run(tsx, [setup, '--quiet']);
  // Prometheus, the OCI registry, Chromium, bubblewrap and oras (docs/testing.md "Tests").
  run('bash', [path.join(root, 'scripts', 'provision-test-tools.sh')]);
} else if (!process.env.TEMPORAL_ADDRESS) run(tsx, [setup, '--only', 'cli', '--quiet']);
