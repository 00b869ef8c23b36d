#!/usr/bin/env node
// `npm run build`: compiles src/ to dist/ (tsconfig.build.json) and prebuilds the workflow
// bundle, so an installed package runs plain JavaScript and its workers start without bundling.
// Writes dist/build-info.json last: the bin takes dist only when that stamp is newer than src/.
'use strict';
const { spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { readFileSync, rmSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');

function step(what, fn) {
  const started = Date.now();
  fn();
  if (!process.argv.includes('--quiet')) console.log(`build: ${what} (${Date.now() - started} ms)`);
}

step('cleaned dist/', () => rmSync(dist, { recursive: true, force: true }));
step('compiled src/ to dist/', () => {
  const tsc = require.resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
});

async function bundle() {
  const { bundleWorkflowCode } = require('@temporalio/worker');
  const worker = require(path.join(dist, 'worker.js'));
  const started = Date.now();
  const { code } = await bundleWorkflowCode({
    workflowsPath: worker.workflowsPath,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  writeFileSync(worker.prebuiltBundlePath, code);
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  // A build id changes whenever the workflow code does: it names this build's deployment version.
  const digest = createHash('sha256').update(code).digest('hex').slice(0, 12);
  const info = {
    version: pkg.version,
    buildId: `${pkg.version.replace(/\./g, '_')}-${digest}`,
    builtAt: new Date().toISOString(),
  };
  writeFileSync(path.join(dist, 'build-info.json'), `${JSON.stringify(info, null, 2)}\n`);
  if (!process.argv.includes('--quiet')) {
    console.log(`build: workflow bundle ${(code.length / 1e6).toFixed(2)} MB (${Date.now() - started} ms)`);
    console.log(`build: dist/ ready, build id ${info.buildId}`);
  }
}

bundle().catch((err) => {
  console.error('build: the workflow bundle failed:', err);
  process.exit(1);
});
