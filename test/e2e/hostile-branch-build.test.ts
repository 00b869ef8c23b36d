/**
 * A hostile branch against the real worker on a dev server: its build.js tries to read the
 * worker's environment through /proc/<ppid>/environ (and every /proc/<pid>/environ it can see),
 * the state directory and its log-link key, and prints what it got. The worker holds secrets and
 * builds pull requests, so its steps run in the default sandbox (bubblewrap): the build reads
 * none of it, and no secret value appears in the log, the result, the history or the status query.
 */
import '../helpers/runtime';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { findExecutable } from '../../src/adapters/local/step-sandbox';
import { validateConfig } from '../../src/config/load';
import { logLinkKey } from '../../src/http/log-routes';
import { createWorker } from '../../src/worker';
import { pullRequestGateWorkflow } from '../../src/workflows/pr-gate/pull-request-gate-workflow';
import { pullRequestGateStatusQuery, pullRequestGateWorkflowId } from '../../src/workflows/pr-gate/messages';
import { git } from '../helpers/git-fixture';
import { inBackground, stopWorkerAndServer, type BackgroundWorker } from '../helpers/background-worker';
import { devServerEnv, unique, workflowBundle } from '../helpers/temporal-env';

const SECRETS = {
  GITHUB_TOKEN: 'ghp_hostileTestToken0123456789abcdefXYZ',
  GITHUB_WEBHOOK_SECRET: 'hostile-webhook-secret-5d1e9a',
};

// What a branch author would write: read everything that could hold a secret and print it.
const hostileBuild = (stateDir: string) => `
const fs = require('fs');
const path = require('path');
const out = [];
const read = (what, file) => {
  try { out.push(what + ' READ ' + fs.readFileSync(file, 'utf8').replace(/\\0/g, ' ')); }
  catch (e) { out.push(what + ' denied: ' + e.code); }
};
read('ppid environ', '/proc/' + process.ppid + '/environ');
for (const pid of fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p))) read('pid ' + pid + ' environ', '/proc/' + pid + '/environ');
read('log-link key', ${JSON.stringify(path.join(stateDir, 'log-links.key'))});
read('temporal db', ${JSON.stringify(path.join(stateDir, 'temporal.db'))});
try { out.push('state dir lists ' + JSON.stringify(fs.readdirSync(${JSON.stringify(stateDir)}))); }
catch (e) { out.push('state dir denied: ' + e.code); }
out.push('own env ' + JSON.stringify(process.env));
console.log(out.join('\\n'));
// Printed encoded too: masking covers base64 forms.
console.log(Buffer.from(out.join('\\n')).toString('base64'));
process.exit(1);
`;

describe(
  'a hostile branch build',
  { skip: !findExecutable('bwrap') && !fs.existsSync('/usr/bin/bwrap') },
  () => {
    let env: TestWorkflowEnvironment;
    let worker: Worker;
    let running: BackgroundWorker;
    let root: string;
    let stateDir: string;
    let clone: string;
    const taskQueue = unique('hostile-build');
    const saved: Record<string, string | undefined> = {};

    before(async () => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-hostile-'));
      stateDir = path.join(root, 'state');
      clone = path.join(root, 'shop');
      fs.mkdirSync(stateDir, { recursive: true });
      fs.writeFileSync(path.join(stateDir, 'temporal.db'), 'pretend database');
      execFileSync('git', ['init', '-q', '-b', 'main', clone]);
      fs.writeFileSync(path.join(clone, 'README.md'), 'shop\n');
      git(clone, 'add', '.');
      git(clone, 'commit', '-q', '-m', 'feat(SHOP-1): start');
      // The worker holds secrets: in its own environment, where /proc/<pid>/environ shows them.
      for (const [name, value] of Object.entries(SECRETS)) {
        saved[name] = process.env[name];
        process.env[name] = value;
      }
      env = await devServerEnv();
      worker = await createWorker({
        connection: env.nativeConnection,
        namespace: 'default',
        taskQueue,
        client: env.client,
        workflowBundle: await workflowBundle(),
        stateDir,
        config: validateConfig(
          {
            repositories: [
              {
                name: 'shop',
                path: clone,
                commands: { build: [['node', 'build.js']] },
                github: { enabled: false },
              },
            ],
          },
          {},
        ),
      });
      running = inBackground(worker);
    });

    after(async () => {
      await stopWorkerAndServer(running, env);
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      fs.rmSync(root, { recursive: true, force: true });
    });

    it('reads neither the worker environment nor the state dir, and no secret leaves in log, result, history or status', async () => {
      const key = logLinkKey(stateDir).toString('hex');
      git(clone, 'checkout', '-q', '-b', 'mallory/SHOP-9');
      fs.writeFileSync(path.join(clone, 'build.js'), hostileBuild(stateDir));
      git(clone, 'add', '.');
      git(clone, 'commit', '-q', '-m', 'feat(SHOP-9): faster builds');
      const head = git(clone, 'rev-parse', 'HEAD');
      git(clone, 'checkout', '-q', 'main');

      const input = { repository: 'shop', number: 9, head, branch: 'mallory/SHOP-9', base: 'main' };
      const handle = await env.client.workflow.start(pullRequestGateWorkflow, {
        taskQueue,
        workflowId: pullRequestGateWorkflowId(input.repository, input.number, input.head),
        args: [input],
      });
      const result = await handle.result();
      const status = await handle.query(pullRequestGateStatusQuery);
      const history = JSON.stringify(await handle.fetchHistory());

      const build = result.build!;
      assert.equal(build.state, 'failed', JSON.stringify(build));
      const runs = path.join(stateDir, 'work', 'runs');
      const logs = fs
        .readdirSync(runs, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('run.log'))
        .map((f) => fs.readFileSync(path.join(runs, f), 'utf8'));
      assert.equal(logs.length, 1);
      const log = logs[0]!;

      // It ran, and everything it tried was refused or empty.
      assert.match(log, /^ppid environ /m);
      assert.doesNotMatch(log, /environ READ .*(GITHUB|RELEASE_FLOW_DEMO|HOME=\/root)/);
      assert.match(log, /^log-link key denied: ENOENT$/m);
      assert.match(log, /^temporal db denied: ENOENT$/m);
      assert.match(log, /^state dir lists \["work"\]$|^state dir lists \[\]$/m);
      const ownEnv = JSON.parse(/^own env (.*)$/m.exec(log)![1]!) as Record<string, string>;
      for (const name of Object.keys(SECRETS)) assert.equal(ownEnv[name], undefined, name);

      const everything = { log, result: JSON.stringify(result), status: JSON.stringify(status), history };
      for (const [where, text] of Object.entries(everything)) {
        for (const value of [...Object.values(SECRETS), key]) {
          assert.ok(!text.includes(value), `${where} holds a secret`);
          assert.ok(
            !text.includes(Buffer.from(value).toString('base64')),
            `${where} holds a secret in base64`,
          );
        }
      }
      assert.match(build.tail ?? '', /ppid environ/, 'the tail still tells what happened');
    });
  },
);
