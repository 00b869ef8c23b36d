/**
 * The PR gate end to end (docs/pipelines-and-decisions.md "The pull-request gate (stage 0)"): a real `pull_request` payload
 * routed by the receiver's rules, started through the receiver's starter on a dev server, run by
 * the real worker whose GitHub ports come from GITHUB_TOKEN / GITHUB_API_URL, and the status it
 * posts on the fake GitHub; then a push to the default branch re-checks the open pull request and
 * turns it red.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import webhookExamples from '@octokit/webhooks-examples';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { validateConfig } from '../../src/config/load';
import { createWorker } from '../../src/worker';
import { temporalStarter } from '../../src/http/webhooks/bounded-starts';
import { routeEvent, type RoutedRepository } from '../../src/http/webhooks/route-event';
import {
  pullRequestGateStatusQuery,
  recheckStatusQuery,
  type PullRequestGateVerdict,
} from '../../src/workflows/pr-gate/messages';
import { FakeGitHub, pointGitHubEnvAt } from '../helpers/fake-github';
import { inBackground, stopWorkerAndServer, type BackgroundWorker } from '../helpers/background-worker';
import { devServerEnv, unique, workflowBundle } from '../helpers/temporal-env';

const HELLO: RoutedRepository = {
  name: 'Codertocat/Hello-World',
  defaultBranch: 'master',
  releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$',
};

function example(event: string, action?: string): Record<string, unknown> {
  const definition = webhookExamples.find((d) => d.name === event)!;
  const found = definition.examples.find((e) => !action || (e as { action?: string }).action === action);
  return structuredClone(found) as unknown as Record<string, unknown>;
}

describe('PR gate workflow end to end', () => {
  const fake = new FakeGitHub();
  const repo = fake.repo('Codertocat', 'Hello-World');
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: BackgroundWorker;
  let stateDir: string;
  const taskQueue = unique('pr-gate-e2e');
  let restoreEnv = () => {};

  before(async () => {
    await fake.start();
    repo.settings.default_branch = 'master';
    fake.commit(repo, 'feat(HW-1): hello world', { branch: 'master' });
    env = await devServerEnv();
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-pr-gate-'));
    // The worker reads GitHub's settings from its environment, as in production.
    restoreEnv = pointGitHubEnvAt(fake);
    worker = await createWorker({
      connection: env.nativeConnection,
      namespace: 'default',
      taskQueue,
      client: env.client,
      workflowBundle: await workflowBundle(),
      stateDir,
      config: validateConfig({ repositories: [{ name: HELLO.name, defaultBranch: 'master' }] }, {}),
      uiUrl: 'http://127.0.0.1:8233',
    });
    running = inBackground(worker);
  });
  after(async () => {
    await stopWorkerAndServer(running, env);
    await fake.stop();
    restoreEnv();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('a real `pull_request` opened payload ends in the policy status on its head, and main moving turns a green PR red', async () => {
    const starter = temporalStarter(() => env.client, { taskQueue, searchAttributes: true });

    // The example's PR #2 (`changes` into `master`) with a head no policy accepts.
    const opened = example('pull_request', 'opened') as {
      pull_request: { head: { sha: string } };
    } & Record<string, unknown>;
    const head = opened.pull_request.head.sha;
    fake.commit(repo, 'Update README.md', {
      sha: head,
      parents: [repo.refs.get('heads/master')!.sha],
      branch: 'changes',
    });
    const routing = routeEvent('pull_request', opened, [HELLO]);
    assert.equal(routing.kind, 'start', routing.reason);
    assert.ok(routing.kind === 'start');
    const workflowId = `pr-gate:Codertocat/Hello-World#2:${head}`;
    assert.equal(routing.request.workflowId, workflowId);
    assert.deepEqual(await starter.start(routing.request), { workflowId, started: true });
    assert.deepEqual(await starter.start(routing.request), { workflowId, started: false });

    const handle = env.client.workflow.getHandle(workflowId);
    const red = (await handle.result()) as PullRequestGateVerdict;
    assert.deepEqual(
      red.verdict.violations.map((v) => v.rule),
      ['branch-name', 'commit-header'],
    );
    const posted = fake.latestStatus(repo, head, 'release-flow/policy')!;
    assert.equal(posted.state, 'failure');
    assert.equal(posted.description, red.status.description);
    assert.match(
      posted.description!,
      /^branch-name: branch `changes` is not named uid\/TICKET-ID.*\(\+1 more\)$/,
    );
    assert.equal(
      posted.target_url,
      `http://127.0.0.1:8233/namespaces/default/workflows/${encodeURIComponent(workflowId)}`,
    );
    assert.equal((await handle.query(pullRequestGateStatusQuery)).state, 'failed');

    // A conforming PR is green; then master moves and the push re-checks every open PR.
    const good = fake.commit(repo, 'feat(HW-12): greet in French', {
      branch: 'codertocat/HW-12',
      parents: [repo.refs.get('heads/master')!.sha],
    });
    const pull = fake.openPull(repo, { headRef: 'codertocat/HW-12', baseRef: 'master' });
    const synchronize = example('pull_request', 'synchronize') as {
      pull_request: { number: number; head: { ref: string; sha: string } };
    } & Record<string, unknown>;
    synchronize.pull_request.number = pull.number;
    synchronize.pull_request.head.ref = 'codertocat/HW-12';
    synchronize.pull_request.head.sha = good;
    const gate = routeEvent('pull_request', synchronize, [HELLO]);
    assert.ok(gate.kind === 'start', gate.reason);
    await starter.start(gate.request);
    const green = (await env.client.workflow
      .getHandle(gate.request.workflowId)
      .result()) as PullRequestGateVerdict;
    assert.equal(green.verdict.ok, true);
    assert.equal(fake.latestStatus(repo, good, 'release-flow/policy')!.state, 'success');

    const moved = fake.commit(repo, 'fix(HW-30): merged elsewhere', { branch: 'master' });
    const push = {
      ...example('push'),
      ref: 'refs/heads/master',
      before: repo.refs.get('heads/master')!.sha,
      after: moved,
      forced: false,
      deleted: false,
    };
    const pushed = routeEvent('push', push, [HELLO]);
    assert.ok(pushed.kind === 'start' && pushed.also?.length === 1, pushed.reason);
    const recheck = pushed.also[0]!;
    assert.equal(recheck.workflowId, `pr-recheck:Codertocat/Hello-World:${moved}`);
    await starter.start(recheck);
    const rechecked = env.client.workflow.getHandle(recheck.workflowId);
    const results = (await rechecked.result()) as PullRequestGateVerdict[];
    assert.deepEqual(
      results.map((r) => [r.number, r.status.state, r.baseSha]),
      [[pull.number, 'failure', moved]],
    );
    const after = fake.latestStatus(repo, good, 'release-flow/policy')!;
    assert.equal(after.state, 'failure');
    assert.match(after.description!, /^rebased: branch is not rebased on the current master/);
    assert.equal((await rechecked.query(recheckStatusQuery)).state, 'done');
  });
});
