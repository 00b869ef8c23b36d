#!/usr/bin/env node
// CI: the packed tarball installs on a clean prefix and runs without TypeScript tooling.
//   node scripts/check-package.js [--keep]
// Packs (prepack builds dist/), installs it globally into a temporary prefix, then, from an
// empty directory: --version, --help, doctor, start-all with the embedded dev server (its
// /readyz needs a real worker round trip), a separate `release-flow worker`, and `status --json`.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'rf-package-'));
const keep = process.argv.includes('--keep');
const children = [];
const started = Date.now();

function log(line) {
  console.log(`[check-package ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
}

function fail(message) {
  console.error(`check-package: FAILED: ${message}`);
  cleanup();
  process.exit(1);
}

function cleanup() {
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (!keep) rmSync(tmp, { recursive: true, force: true });
}

function run(cmd, args, opts = {}) {
  const result = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (result.error) fail(`${cmd} ${args.join(' ')}: ${result.error.message}`);
  return result;
}

function must(cmd, args, opts = {}) {
  const result = run(cmd, args, opts);
  if (result.status !== 0)
    fail(`${cmd} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** A port the OS gave us; the dev server binds it a moment later (retried on a clash). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(what, fn, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  fail(`timed out waiting for ${what}`);
}

function startProcess(bin, args, env, cwd) {
  const child = spawn(bin, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.output = '';
  child.stdout.on('data', (d) => (child.output += String(d)));
  child.stderr.on('data', (d) => (child.output += String(d)));
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return child;
}

async function main() {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  // RF_CHECK_PREFIX=<prefix of an earlier --keep run> checks that install again without repacking.
  const prefix = process.env.RF_CHECK_PREFIX ?? path.join(tmp, 'prefix');
  if (!process.env.RF_CHECK_PREFIX) install(prefix);
  await exercise(prefix, pkg);
  cleanup();
  log('the packed tarball installs and runs');
}

function install(prefix) {
  log('npm pack (prepack builds dist/)');
  must('npm', ['pack', '--pack-destination', tmp, '--silent'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tarball = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  if (!tarball) fail('npm pack wrote no tarball');
  const listing = must('tar', ['-tzf', path.join(tmp, tarball)]);
  for (const needed of [
    'package/bin/release-flow.js',
    'package/dist/cli/main.js',
    'package/dist/workflow-bundle.js',
  ]) {
    if (!listing.includes(needed)) fail(`${tarball} lacks ${needed}`);
  }
  if (/^package\/src\//m.test(listing)) fail(`${tarball} ships TypeScript sources`);

  log(`npm install -g ${tarball} into a temporary prefix`);
  must(
    'npm',
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      path.join(tmp, tarball),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const installed = path.join(prefix, 'lib', 'node_modules', 'release-flow');
  if (!existsSync(path.join(installed, 'node_modules', 'better-sqlite3', 'build', 'Release')))
    fail('better-sqlite3 was installed without its native module');
  for (const tooling of ['tsx', 'typescript']) {
    if (
      existsSync(path.join(installed, 'node_modules', tooling)) ||
      existsSync(path.join(prefix, 'lib', 'node_modules', tooling))
    )
      fail(`the install pulled in ${tooling}`);
  }
}

async function exercise(prefix, pkg) {
  const bin = path.join(prefix, 'bin', 'release-flow');
  const work = path.join(tmp, 'work');
  must('mkdir', ['-p', work]);
  const cli = path.join(root, '.tools', 'bin', 'temporal');
  const testServer = path.join(root, '.tools', 'bin', 'temporal-test-server');
  const env = {
    PATH: `${path.join(prefix, 'bin')}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}/usr/bin:/bin`,
    HOME: process.env.HOME ?? tmp,
    LOG_LEVEL: 'info',
    RELEASE_FLOW_DEMO: '0',
    // The checkout's executables (no download on CI machines): doctor checks both.
    ...(existsSync(cli) ? { TEMPORAL_CLI_PATH: cli } : {}),
    ...(existsSync(testServer) ? { TEMPORAL_TEST_SERVER_PATH: testServer } : {}),
  };

  const version = must(bin, ['--version'], { cwd: work, env }).trim();
  if (version !== pkg.version) fail(`--version printed ${version}, expected ${pkg.version}`);
  log(`release-flow --version: ${version}`);
  const help = must(bin, ['--help'], { cwd: work, env });
  for (const command of ['worker', 'serve', 'start-all', 'status', 'doctor', 'upgrade']) {
    if (!new RegExp(`^  ${command}\\b`, 'm').test(help)) fail(`--help does not list ${command}`);
  }
  log('release-flow --help lists the roles');
  must(bin, ['doctor'], { cwd: work, env });
  log('release-flow doctor: ok');

  for (let attempt = 1; ; attempt++) {
    const [temporalPort, uiPort] = [await freePort(), await freePort()];
    writeFileSync(
      path.join(work, 'release-flow.yml'),
      [
        `stateDir: ${path.join(work, 'state')}`,
        'server:',
        '  port: 0',
        'temporal:',
        '  devServer:',
        `    port: ${temporalPort}`,
        `    uiPort: ${uiPort}`,
        `    dbFile: ${path.join(work, 'state', 'temporal.db')}`,
        '',
      ].join('\n'),
    );
    const all = startProcess(bin, ['start-all'], env, work);
    let url;
    const up = await Promise.race([
      (async () => {
        const deadline = Date.now() + 90_000;
        while (Date.now() < deadline) {
          url ??= /health (http:\/\/[^\s]+)\/healthz/.exec(all.output)?.[1];
          if (url) {
            const res = await fetch(`${url}/readyz`).catch(() => undefined);
            if (res?.status === 200) return 'ready';
          }
          await new Promise((r) => setTimeout(r, 250));
        }
        return 'timeout';
      })(),
      all.exited.then((code) => `exited ${code}`),
    ]);
    if (up !== 'ready') {
      if (/PORT_IN_USE/.test(all.output) && attempt < 3) {
        log('a port was taken meanwhile; retrying with fresh ports');
        continue;
      }
      fail(`start-all never became ready (${up}):\n${all.output}`);
    }
    log(`release-flow start-all: /readyz answered through the installed worker (${url})`);

    const workerEnv = { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}` };
    const worker = startProcess(bin, ['worker'], workerEnv, work);
    await waitFor(
      'the worker role to poll',
      async () => /"msg":"worker running"/.test(worker.output),
      60_000,
    );
    log('release-flow worker: running');
    const status = run(bin, ['status', '--json'], { cwd: work, env: workerEnv });
    if (status.status !== 0) fail(`status --json exited ${status.status}: ${status.stderr}`);
    JSON.parse(status.stdout);
    log('release-flow status --json: ok');

    process.kill(-worker.pid, 'SIGTERM');
    process.kill(-all.pid, 'SIGTERM');
    const [w, a] = await Promise.all([worker.exited, all.exited]);
    if (w !== 0 || a !== 0)
      fail(
        `roles did not stop cleanly on SIGTERM (worker ${w}, start-all ${a}):\n${worker.output}\n${all.output}`,
      );
    log('both stopped on SIGTERM with exit 0');
    break;
  }
}

main().catch((err) => fail(err instanceof Error ? err.stack : String(err)));
