/**
 * The step sandbox against the real tools: a step under bubblewrap or another uid cannot read the
 * worker's environment through /proc, nor files of the hidden state directory, and still writes
 * its own checkout.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runLoggedProcess } from '../../src/adapters/local/logged-process';
import {
  createStepSandbox,
  findExecutable,
  stepSandboxFor,
  type StepSandbox,
} from '../../src/adapters/local/step-sandbox';
import { validateConfig } from '../../src/config/load';

const root = process.getuid?.() === 0;
const hasBwrap = findExecutable('bwrap') !== null;

// Prints what it could read; every probe must come back "denied".
const PROBE = `
const fs = require('fs');
const probe = (what, f) => { try { console.log(what + ': ' + f()); } catch (e) { console.log(what + ': denied'); } };
probe('ppid-environ', () => fs.readFileSync('/proc/' + process.ppid + '/environ', 'utf8'));
probe('worker-environ', () => fs.readFileSync('/proc/' + process.env.WORKER_PID + '/environ', 'utf8'));
probe('key', () => fs.readFileSync(process.env.KEY_FILE, 'utf8'));
probe('state', () => fs.readdirSync(process.env.STATE_DIR).join(',') || 'denied');
fs.writeFileSync('out.txt', 'written');
console.log('env: ' + Object.keys(process.env).sort().join(','));
`;

describe('step sandbox', () => {
  let dir: string;
  let stateDir: string;
  let checkout: string;
  const secret = 'sandbox-secret-' + Math.random().toString(36).slice(2);

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-sandbox-'));
    stateDir = path.join(dir, 'state');
    checkout = path.join(stateDir, 'work', 'worktrees', 'c1');
    fs.mkdirSync(checkout, { recursive: true });
    fs.writeFileSync(path.join(stateDir, 'log-links.key'), secret, { mode: 0o600 });
    process.env.RF_SANDBOX_TEST_SECRET = secret;
  });
  after(() => {
    delete process.env.RF_SANDBOX_TEST_SECRET;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function probe(sandbox: StepSandbox): Promise<string> {
    const log = path.join(dir, `${sandbox.mode}.log`);
    fs.rmSync(path.join(checkout, 'out.txt'), { force: true });
    // Run as a file of the checkout, the way a branch's build.js runs.
    fs.writeFileSync(path.join(checkout, 'build.js'), PROBE);
    const outcome = await runLoggedProcess({
      argv: [process.execPath, 'build.js'],
      cwd: checkout,
      env: {
        PATH: process.env.PATH,
        WORKER_PID: String(process.pid),
        KEY_FILE: path.join(stateDir, 'log-links.key'),
        STATE_DIR: stateDir,
      },
      timeoutMs: 20_000,
      logPath: log,
      sandbox,
      cwdWritable: true,
    });
    const text = fs.readFileSync(log, 'utf8');
    assert.equal(outcome.exitCode, 0, text);
    assert.equal(fs.readFileSync(path.join(checkout, 'out.txt'), 'utf8'), 'written');
    return text;
  }

  function assertSealed(text: string) {
    assert.doesNotMatch(text, new RegExp(secret), text);
    for (const what of ['ppid-environ', 'worker-environ', 'key', 'state']) {
      const line = text.split('\n').find((l) => l.startsWith(`${what}: `))!;
      assert.ok(line === `${what}: denied` || !line.includes('RF_SANDBOX_TEST_SECRET'), line);
    }
    assert.match(text, /^key: denied$/m);
  }

  it('without a sandbox the step reads the worker (the reason for one)', async () => {
    const text = await probe(
      createStepSandbox({ mode: 'none', user: '65534:65534', network: false, command: [], hide: [] }),
    );
    assert.match(text, new RegExp(secret));
  });

  it(
    'bubblewrap: no /proc of the worker, no state directory, only its own environment',
    { skip: !hasBwrap },
    async () => {
      const sandbox = createStepSandbox({
        mode: 'bubblewrap',
        user: '65534:65534',
        network: false,
        command: [],
        hide: [stateDir],
      });
      const text = await probe(sandbox);
      assertSealed(text);
      assert.match(text, /^worker-environ: denied$/m);
      assert.match(text, /^state: denied$/m);
      assert.match(text, /^env: HOME,KEY_FILE,PATH,PWD,STATE_DIR,TMPDIR,WORKER_PID$/m);
    },
  );

  it(
    'user: another uid cannot read the worker through /proc nor list the state directory',
    { skip: !root },
    async () => {
      // Without namespaces the checkout is reached by its real path: its parents must let the uid pass.
      fs.chmodSync(dir, 0o711);
      const sandbox = createStepSandbox({
        mode: 'user',
        user: '65534:65534',
        network: false,
        command: [],
        hide: [stateDir],
      });
      const text = await probe(sandbox);
      assertSealed(text);
      assert.match(text, /^ppid-environ: denied$/m);
      assert.match(text, /^worker-environ: denied$/m);
    },
  );

  it('auto: bubblewrap for any repository with steps; none refused when pull requests are built beside secrets', () => {
    const config = validateConfig(
      { repositories: [{ name: 'a', path: '/x', commands: { build: [['true']] } }] },
      {},
    );
    const secrets = { PATH: process.env.PATH, GITHUB_TOKEN: 'ghp_x' };
    // No step of a configured repository runs as the worker by default, secrets or not.
    if (hasBwrap)
      assert.equal(stepSandboxFor(config, { stateDir, env: { PATH: process.env.PATH } }).mode, 'bubblewrap');
    if (hasBwrap) assert.equal(stepSandboxFor(config, { stateDir, env: secrets }).mode, 'bubblewrap');
    const none = validateConfig({ ...config, sandbox: { mode: 'none' } }, {});
    assert.throws(
      () => stepSandboxFor(none, { stateDir, env: secrets }),
      /SANDBOX_REQUIRED|sandbox.mode none, but pull requests of a are built while the worker holds GITHUB_TOKEN/,
    );
    const off = validateConfig(
      {
        repositories: [{ name: 'a', path: '/x', pullRequestBuilds: 'none', commands: { build: [['true']] } }],
        sandbox: { mode: 'none' },
      },
      {},
    );
    assert.equal(stepSandboxFor(off, { stateDir, env: secrets }).mode, 'none');
  });

  it('bubblewrap missing: the worker refuses to start, naming the setting and the install', () => {
    const config = validateConfig(
      { repositories: [{ name: 'a', path: '/x', commands: { build: [['true']] } }] },
      {},
    );
    assert.throws(
      () =>
        stepSandboxFor(config, {
          stateDir,
          env: { PATH: '/nonexistent', GITHUB_TOKEN: 'ghp_x' },
          bwrapFallback: null,
        }),
      (err: Error & { fix?: string }) =>
        /sandbox.mode auto runs the steps of a in bubblewrap, which needs bwrap/.test(err.message) &&
        /apt-get install -y bubblewrap/.test(err.fix ?? ''),
    );
  });
});
