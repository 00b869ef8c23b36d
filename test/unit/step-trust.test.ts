/**
 * Steps by trust, against the real bubblewrap: a worker that holds a GitHub token and a board
 * session key in its state directory. A deploy command reaches a loopback HTTP service (helm
 * reaching its cluster) and gets exactly its configured variables and files; a main-branch build
 * reaches it too; a pull request's build does not. None of them reads the key, the worker's
 * environment through /proc, or the worker's token.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalEnvironments } from '../../src/adapters/local/local-environments';
import {
  chooseSandbox,
  findExecutable,
  stepSandboxFor,
  type StepSandbox,
} from '../../src/adapters/local/step-sandbox';
import { WorktreeCommandRunner } from '../../src/adapters/local/worktree-command-runner';
import { validateConfig } from '../../src/config/load';
import { sandboxChecks } from '../../src/cli/sandbox-checks';
import { isDefinitiveFailure } from '../../src/domain/failures';
import { git } from '../helpers/git-fixture';

const hasBwrap = findExecutable('bwrap') !== null || fs.existsSync('/usr/bin/bwrap');

// What a step prints of everything it should and should not reach.
const PROBE = `
const fs = require('fs');
const http = require('http');
const read = (what, f) => { try { console.log(what + ': READ ' + f()); } catch (e) { console.log(what + ': denied'); } };
read('key', () => fs.readFileSync(process.env.PROBE_KEY_FILE || ${JSON.stringify('/nonexistent')}, 'utf8'));
read('worker-environ', () => fs.readFileSync('/proc/' + process.env.PROBE_WORKER_PID + '/environ', 'utf8'));
read('kubeconfig', () => fs.readFileSync(process.env.KUBECONFIG, 'utf8'));
console.log('env: ' + Object.keys(process.env).sort().join(','));
console.log('deploy-token: ' + (process.env.DEPLOY_TOKEN || 'unset'));
const req = http.get('http://127.0.0.1:' + process.env.PROBE_PORT + '/', (res) => {
  let body = '';
  res.on('data', (c) => (body += c));
  res.on('end', () => { console.log('net: ' + body); });
});
req.setTimeout(3000, () => req.destroy(new Error('timeout')));
req.on('error', (e) => console.log('net: failed ' + e.code));
`;

describe('steps by trust under bubblewrap', { skip: !hasBwrap }, () => {
  let dir: string;
  let stateDir: string;
  let clone: string;
  let kubeconfig: string;
  let deployDir: string;
  let server: http.Server;
  let sandbox: StepSandbox;
  const token = 'ghp_workerOwnToken' + Math.random().toString(36).slice(2);
  const sessionKey = 'board-session-key-' + Math.random().toString(36).slice(2);
  const names = [
    'GITHUB_TOKEN',
    'DEPLOY_TOKEN',
    'KUBECONFIG',
    'PROBE_PORT',
    'PROBE_WORKER_PID',
    'PROBE_KEY_FILE',
  ];
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-trust-'));
    stateDir = path.join(dir, 'state');
    fs.mkdirSync(stateDir, { recursive: true });
    fs.writeFileSync(path.join(stateDir, 'board-session.key'), sessionKey, { mode: 0o600 });
    // The deploy's own credentials, owner-only as a kubeconfig is.
    kubeconfig = path.join(dir, 'kube', 'config');
    fs.mkdirSync(path.dirname(kubeconfig), { mode: 0o700 });
    fs.writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\n', { mode: 0o600 });
    deployDir = path.join(dir, 'deploy');
    fs.mkdirSync(deployDir);
    fs.writeFileSync(path.join(deployDir, 'deploy.js'), PROBE);
    clone = path.join(dir, 'shop');
    execFileSync('git', ['init', '-q', '-b', 'main', clone]);
    fs.writeFileSync(path.join(clone, 'build.js'), PROBE);
    git(clone, 'add', '.');
    git(clone, 'commit', '-q', '-m', 'feat(SHOP-1): build');

    server = http.createServer((_req, res) => res.end('reached'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    for (const name of names) saved[name] = process.env[name];
    Object.assign(process.env, {
      GITHUB_TOKEN: token,
      DEPLOY_TOKEN: 'deploy-own-token-123',
      KUBECONFIG: kubeconfig,
      PROBE_PORT: String(port),
      PROBE_WORKER_PID: String(process.pid),
      PROBE_KEY_FILE: path.join(stateDir, 'board-session.key'),
    });
    const config = validateConfig(
      {
        repositories: [
          {
            name: 'shop',
            path: clone,
            commands: {
              build: [['node', 'build.js']],
              deploy: {
                dev: ['node', path.join(deployDir, 'deploy.js')],
                variables: ['KUBECONFIG', 'DEPLOY_TOKEN', 'PROBE_PORT', 'PROBE_WORKER_PID', 'PROBE_KEY_FILE'],
                files: [kubeconfig, deployDir],
              },
            },
          },
        ],
      },
      {},
    );
    sandbox = stepSandboxFor(config, { stateDir, env: process.env });
  });

  after(async () => {
    for (const name of names) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function assertNothingOfTheWorker(log: string) {
    assert.match(log, /^key: denied$/m, log);
    assert.match(log, /^worker-environ: denied$/m, log);
    assert.ok(!log.includes(token), 'the worker token reached the step');
    assert.ok(!log.includes(sessionKey), 'the session key reached the step');
    assert.doesNotMatch(log, /^env: .*GITHUB_TOKEN/m);
  }

  async function build(trust: 'pull-request' | 'reviewed'): Promise<string> {
    const runner = new WorktreeCommandRunner({
      repositoryPath: () => clone,
      workDir: path.join(stateDir, 'work'),
      sandbox,
    });
    const result = await runner.run({
      repository: 'shop',
      commit: 'HEAD',
      purpose: 'build',
      scope: trust,
      trust,
      steps: [{ name: 'build', argv: ['node', 'build.js'] }],
      // What the probe needs to know; a build inherits nothing else of the worker.
      env: {
        PROBE_PORT: process.env.PROBE_PORT!,
        PROBE_WORKER_PID: process.env.PROBE_WORKER_PID!,
        PROBE_KEY_FILE: process.env.PROBE_KEY_FILE!,
      },
      timeoutMs: 30_000,
    });
    return fs.readFileSync(result.log, 'utf8');
  }

  it('auto is bubblewrap for a configured repository whatever the worker holds', () => {
    assert.equal(sandbox.mode, 'bubblewrap');
    const bare = validateConfig(
      {
        repositories: [
          { name: 'shop', path: clone, pullRequestBuilds: 'none', commands: { deploy: { dev: ['true'] } } },
        ],
      },
      {},
    );
    // No token, no pull request builds: still never the worker's own identity.
    assert.equal(chooseSandbox(bare, { env: { PATH: process.env.PATH } }).mode, 'bubblewrap');
  });

  it('a deploy is never given the state directory or a key file, refused at start', () => {
    const config = validateConfig(
      {
        repositories: [{ name: 'shop', path: clone, commands: { deploy: { dev: ['true'], files: [dir] } } }],
      },
      {},
    );
    assert.throws(
      () => stepSandboxFor(config, { stateDir, env: process.env }),
      (err: Error & { code?: string }) =>
        err.code === 'SANDBOX_FILES' &&
        /commands\.deploy\.files: shop: .* would show .*state, which no step may see/.test(err.message),
    );
  });

  it('a deploy reaches a loopback service and gets its variables and files, nothing of the worker', async () => {
    const environments = new LocalEnvironments({
      dir: path.join(stateDir, 'environments'),
      commands: {
        dev: {
          argv: ['node', path.join(deployDir, 'deploy.js')],
          variables: ['KUBECONFIG', 'DEPLOY_TOKEN', 'PROBE_PORT', 'PROBE_WORKER_PID', 'PROBE_KEY_FILE'],
          files: [kubeconfig, deployDir],
        },
      },
      sandbox,
    });
    await environments.deploy({ env: 'dev', version: 'v1.0.0', by: 'test' });
    const log = fs.readFileSync(path.join(stateDir, 'environments', 'dev.deploy.log'), 'utf8');
    assert.match(log, /^net: reached$/m, log);
    assert.match(log, /^kubeconfig: READ apiVersion: v1$/m, log);
    assert.match(log, /^deploy-token: deploy-own-token-123$/m, log);
    assertNothingOfTheWorker(log);
  });

  it('a main-branch build reaches the network; a pull request build does not', async () => {
    const reviewed = await build('reviewed');
    assert.match(reviewed, /^net: reached$/m, reviewed);
    assertNothingOfTheWorker(reviewed);
    const untrusted = await build('pull-request');
    assert.match(untrusted, /^net: failed /m, untrusted);
    assertNothingOfTheWorker(untrusted);
    assert.match(untrusted, /^deploy-token: unset$/m, 'a build gets no deploy variable');
  });

  it('a deploy that cannot start fails at once, not retryably', async () => {
    const environments = new LocalEnvironments({
      dir: path.join(stateDir, 'environments'),
      commands: { staging: { argv: ['node', path.join(stateDir, 'missing', 'deploy.js')] } },
      sandbox,
    });
    await assert.rejects(
      environments.deploy({ env: 'staging', version: 'v1.0.0', by: 'test' }),
      (err: Error) =>
        isDefinitiveFailure(err) && err.type === 'StepCannotStart' && /could not start/.test(err.message),
    );
  });
});

describe("doctor's sandbox lines", () => {
  it('says which sandbox each kind of step gets and why, and warns when steps run as the worker', () => {
    const repositories = [
      {
        name: 'acme/shop',
        path: '/srv/shop',
        commands: {
          build: [['npm', 'ci']],
          deploy: { staging: ['/srv/deploy.sh'], variables: ['KUBECONFIG'], files: ['/etc/kubeconfig'] },
        },
      },
    ];
    const auto = sandboxChecks(validateConfig({ repositories }, {}), { PATH: process.env.PATH });
    const line = (name: string) => auto.find((c) => c.name === name)?.detail ?? '';
    if (hasBwrap) {
      assert.match(
        line('mode'),
        /^bubblewrap: sandbox\.mode auto: the steps of acme\/shop run in bubblewrap/,
      );
      assert.match(line('pull-request steps'), /no network/);
      assert.match(line('reviewed steps'), /with the network/);
      assert.match(
        line('deploy commands'),
        /with the network.*acme\/shop: variables KUBECONFIG; files \/etc\/kubeconfig/,
      );
    }
    const none = sandboxChecks(
      validateConfig(
        { sandbox: { mode: 'none' }, repositories: [{ ...repositories[0], pullRequestBuilds: 'none' }] },
        {},
      ),
      { PATH: process.env.PATH },
    );
    assert.equal(none[0]!.ok, true);
    assert.match(none[0]!.detail, /WARNING: steps of acme\/shop run as the worker/);
  });
});
