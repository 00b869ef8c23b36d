#!/usr/bin/env node
// `npm run bench:cli`: how fast the installed-style CLI answers, beside `node -e 0` as the floor.
//   release-flow --version                 goal: median under 200 ms
//   release-flow next-version (small repo) goal: median under 400 ms
//   release-flow status --json (the demo)  goal: median under 600 ms
// Runs the compiled dist/ (built first when stale), each command RUNS times; prints medians and
// ratios to the floor. The last line is one JSON object. Figures, not a timed test.
'use strict';
const { execFileSync, spawn, spawnSync } = require('node:child_process');
const { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const bin = path.join(root, 'bin', 'release-flow.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'rf-bench-cli-'));

function newestUnder(dir) {
  let newest = 0;
  for (const entry of require('node:fs').readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const m = entry.isDirectory() ? newestUnder(full) : statSync(full).mtimeMs;
    if (m > newest) newest = m;
  }
  return newest;
}

function timeRuns(args, env) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    times.push(ms);
  }
  times.sort((a, b) => a - b);
  return { medianMs: Math.round(times[Math.floor(times.length / 2)]), minMs: Math.round(times[0]) };
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function smallRepository() {
  const dir = path.join(tmp, 'repo');
  const git = (...a) =>
    execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', ...a], { cwd: dir });
  require('node:fs').mkdirSync(dir);
  git('init', '-q', '-b', 'main');
  for (let i = 1; i <= 20; i++) {
    writeFileSync(path.join(dir, `f${i}.txt`), `${i}\n`);
    git('add', '.');
    git('commit', '-q', '-m', i % 3 ? `fix: change ${i}` : `feat: feature ${i}`);
    if (i === 10) git('tag', 'v1.0.0');
  }
  return dir;
}

async function startDemo(env) {
  const [temporalPort, uiPort] = [await freePort(), await freePort()];
  const config = path.join(tmp, 'release-flow.yml');
  writeFileSync(
    config,
    [
      `stateDir: ${path.join(tmp, 'state')}`,
      'server:',
      '  port: 0',
      'temporal:',
      '  devServer:',
      `    port: ${temporalPort}`,
      `    uiPort: ${uiPort}`,
      `    dbFile: ${path.join(tmp, 'state', 'temporal.db')}`,
      '',
    ].join('\n'),
  );
  const demoEnv = { ...env, RELEASE_FLOW_CONFIG: config, RELEASE_FLOW_DEMO: '1' };
  const child = spawn(process.execPath, [bin, 'start-all'], {
    env: demoEnv,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += String(d)));
  child.stderr.on('data', (d) => (output += String(d)));
  const deadline = Date.now() + 120_000;
  // The demo's first release is on the record once status lists it.
  while (Date.now() < deadline) {
    const r = spawnSync(process.execPath, [bin, 'status', '--json'], { env: demoEnv, encoding: 'utf8' });
    if (r.status === 0 && JSON.parse(r.stdout).length > 0) return { child, env: demoEnv };
    if (child.exitCode !== null) throw new Error(`the demo exited:\n${output}`);
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`the demo never listed a release:\n${output}`);
}

async function main() {
  const stamp = path.join(root, 'dist', 'build-info.json');
  if (!existsSync(stamp) || statSync(stamp).mtimeMs < newestUnder(path.join(root, 'src'))) {
    console.log('dist/ is stale: npm run build first');
    execFileSync(process.execPath, [path.join(root, 'scripts', 'build.js'), '--quiet'], { stdio: 'inherit' });
  }
  const env = { ...process.env, LOG_LEVEL: 'warn' };
  delete env.TEMPORAL_ADDRESS;
  const floor = timeRuns(['-e', '0'], env);
  const version = timeRuns([bin, '--version'], env);
  const repo = smallRepository();
  const nextVersion = timeRuns([bin, 'next-version', '--repo', repo], env);
  const demo = await startDemo(env);
  let status;
  try {
    status = timeRuns([bin, 'status', '--json'], demo.env);
  } finally {
    process.kill(-demo.child.pid, 'SIGINT');
    await new Promise((r) => demo.child.once('exit', r));
  }
  rmSync(tmp, { recursive: true, force: true });
  const rows = [
    ['node -e 0 (floor)', floor, undefined],
    ['release-flow --version', version, 200],
    ['release-flow next-version (20 commits)', nextVersion, 400],
    ['release-flow status --json (demo)', status, 600],
  ];
  console.log(`median of ${RUNS} runs on ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`);
  for (const [name, t, goal] of rows) {
    const ratio = (t.medianMs / floor.medianMs).toFixed(1);
    const verdict = goal
      ? t.medianMs < goal
        ? `under the ${goal} ms goal`
        : `OVER the ${goal} ms goal`
      : '';
    console.log(
      `  ${name.padEnd(42)} ${String(t.medianMs).padStart(5)} ms  x${ratio.padStart(4)}  ${verdict}`,
    );
  }
  console.log(
    JSON.stringify({
      runs: RUNS,
      floorMs: floor.medianMs,
      versionMs: version.medianMs,
      nextVersionMs: nextVersion.medianMs,
      statusJsonMs: status.medianMs,
      versionRatio: +(version.medianMs / floor.medianMs).toFixed(2),
      nextVersionRatio: +(nextVersion.medianMs / floor.medianMs).toFixed(2),
      statusJsonRatio: +(status.medianMs / floor.medianMs).toFixed(2),
    }),
  );
}

main().catch((err) => {
  console.error('bench:cli failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
