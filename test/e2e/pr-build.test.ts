/**
 * The pull-request build end to end (docs/pipelines-and-decisions.md "The pull-request gate (stage 0)"): the real worker on
 * a dev server runs the gate; the policy and both statuses go to the fake GitHub; the build runs
 * real commands in a worktree of a real clone that lacks the pull requests' heads, so they are
 * fetched from its origin first; the status's "Details" is the log, served by the app's log route.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { validateConfig } from '../../src/config/load';
import { logLinkKey, logRoutes } from '../../src/http/log-routes';
import { startHttpServer, type RunningHttpServer } from '../../src/http/server';
import { createWorker } from '../../src/worker';
import { pullRequestGateWorkflow } from '../../src/workflows/pr-gate/pull-request-gate-workflow';
import {
  pullRequestGateStatusQuery,
  pullRequestGateWorkflowId,
  type PullRequestGateInput,
} from '../../src/workflows/pr-gate/messages';
import { FakeGitHub, pointGitHubEnvAt } from '../helpers/fake-github';
import { inBackground, stopWorkerAndServer, type BackgroundWorker } from '../helpers/background-worker';
import { devServerEnv, unique, workflowBundle } from '../helpers/temporal-env';
import { git } from '../helpers/git-fixture';

const UI = 'http://127.0.0.1:8233';

// The build copies src.txt into the artifact; the unit test wants "ok" in it.
const BUILD = [
  'node',
  '-e',
  "const fs = require('fs'); fs.mkdirSync('dist', { recursive: true }); fs.copyFileSync('src.txt', 'dist/app.txt'); console.log('built')",
];
const UNIT_TESTS = [
  'node',
  '-e',
  "const s = require('fs').readFileSync('dist/app.txt', 'utf8').trim(); if (s !== 'ok') { console.error('expected ok, got ' + s); process.exit(1); } console.log('1 passing')",
];

describe('PR build end to end', () => {
  const fake = new FakeGitHub();
  const shop = fake.repo('acme', 'shop');
  const plain = fake.repo('acme', 'plain');
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: BackgroundWorker;
  let logs: RunningHttpServer;
  let root: string;
  let upstream: string;
  let clone: string;
  const taskQueue = unique('pr-build-e2e');
  let restoreEnv = () => {};

  /** A pull request head on the upstream only, under refs/pull/<n>/head, and its twin on the fake GitHub. */
  function pullRequestHead(number: number, content: string, message: string, branch: string): string {
    git(upstream, 'checkout', '-q', '--detach', 'main');
    fs.writeFileSync(path.join(upstream, 'src.txt'), `${content}\n`);
    fs.writeFileSync(path.join(upstream, `pr-${number}.txt`), `${message}\n`);
    git(upstream, 'add', '.');
    git(upstream, 'commit', '-q', '-m', message);
    const sha = git(upstream, 'rev-parse', 'HEAD');
    git(upstream, 'update-ref', `refs/pull/${number}/head`, sha);
    git(upstream, 'checkout', '-q', 'main');
    fake.commit(shop, message, { sha, parents: [shop.refs.get('heads/main')!.sha], branch });
    return sha;
  }

  function buildStatuses(repo: typeof shop, sha: string) {
    return repo.statuses.filter((s) => s.sha === sha && s.context === 'release-flow/build');
  }

  async function gate(input: PullRequestGateInput) {
    const handle = await env.client.workflow.start(pullRequestGateWorkflow, {
      taskQueue,
      workflowId: pullRequestGateWorkflowId(input.repository, input.number, input.head),
      args: [input],
    });
    const result = await handle.result();
    return { result, status: await handle.query(pullRequestGateStatusQuery) };
  }

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-pr-build-'));
    upstream = path.join(root, 'upstream');
    clone = path.join(root, 'clone');
    execFileSync('git', ['init', '-q', '-b', 'main', upstream]);
    fs.writeFileSync(path.join(upstream, 'src.txt'), 'ok\n');
    git(upstream, 'add', '.');
    git(upstream, 'commit', '-q', '-m', 'feat(SHOP-1): start');
    execFileSync('git', ['clone', '-q', upstream, clone]);

    await fake.start();
    fake.commit(shop, 'feat(SHOP-1): start', { branch: 'main' });
    fake.commit(plain, 'feat(PL-1): start', { branch: 'main' });
    env = await devServerEnv();
    const stateDir = path.join(root, 'state');
    logs = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      routes: logRoutes(path.join(stateDir, 'work'), logLinkKey(stateDir)),
    });
    restoreEnv = pointGitHubEnvAt(fake);
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
              name: 'acme/shop',
              path: clone,
              commands: { build: [BUILD], unitTests: [{ name: 'unit tests', argv: UNIT_TESTS }] },
              artifact: 'dist/app.txt',
            },
            { name: 'acme/plain' },
          ],
        },
        {},
      ),
      uiUrl: UI,
      logsUrl: logs.url,
    });
    running = inBackground(worker);
  });

  after(async () => {
    await stopWorkerAndServer(running, env);
    await logs?.close();
    await fake.stop();
    restoreEnv();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('a red policy still builds: pending, then success with durations and a link to the log', async () => {
    const head = pullRequestHead(1, 'ok', 'wip', 'feature');
    assert.throws(() => git(clone, 'cat-file', '-e', head), 'the head is not in the worker clone yet');
    const input = { repository: 'acme/shop', number: 1, head, branch: 'feature', base: 'main' };
    const { result, status } = await gate(input);

    assert.equal(fake.latestStatus(shop, head, 'release-flow/policy')!.state, 'failure');
    const posted = buildStatuses(shop, head);
    assert.deepEqual(
      posted.map((s) => s.state),
      ['pending', 'success'],
    );
    assert.equal(posted[0]!.description, 'Building and testing…');
    assert.equal(
      posted[0]!.target_url,
      `${UI}/namespaces/default/workflows/${encodeURIComponent(pullRequestGateWorkflowId('acme/shop', 1, head))}`,
    );
    assert.match(posted[1]!.description!, /^Passed in \d+\.\ds: build \d+\.\ds, unit tests \d+\.\ds$/);
    const logUrl = posted[1]!.target_url!;
    assert.match(
      logUrl,
      new RegExp(`^${logs.url}/logs/[A-Za-z0-9._-]+-[0-9a-f]{12}/attempt-1\\?sig=[0-9a-f]{32}$`),
    );

    const build = result.build!;
    assert.equal(build.state, 'passed');
    assert.deepEqual(
      build.steps.map((s) => [s.name, s.phase, s.result, typeof s.durationMs]),
      [
        [`build 1: ${BUILD.join(' ')}`, 'build', 'passed', 'number'],
        ['unit tests', 'unit tests', 'passed', 'number'],
      ],
    );
    assert.equal(build.logUrl, logUrl);
    assert.equal(build.status?.state, 'success');
    assert.equal(fs.readFileSync(build.artifact!, 'utf8'), 'ok\n');
    assert.equal(status.state, 'failed', 'the policy state, untouched by the build');
    assert.deepEqual(status.result, result);

    const response = await fetch(logUrl);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /^text\/plain/);
    assert.match(await response.text(), /built\n[\s\S]*1 passing/);
  });

  it('a failing unit test is an outcome: pending, then failure naming the step, the policy stays green', async () => {
    const head = pullRequestHead(2, 'broken', 'feat(SHOP-2): break it', 'ana/SHOP-2');
    const { result, status } = await gate({
      repository: 'acme/shop',
      number: 2,
      head,
      branch: 'ana/SHOP-2',
      base: 'main',
    });

    assert.equal(fake.latestStatus(shop, head, 'release-flow/policy')!.state, 'success');
    const posted = buildStatuses(shop, head);
    assert.deepEqual(
      posted.map((s) => [s.state, s.description]),
      [
        ['pending', 'Building and testing…'],
        ['failure', 'Failed at "unit tests" (exit 1)'],
      ],
    );
    const build = result.build!;
    assert.equal(build.state, 'failed');
    assert.equal(build.failedStep, 'unit tests');
    assert.deepEqual(
      build.steps.map((s) => s.result),
      ['passed', 'failed'],
    );
    assert.match(build.tail!, /expected ok, got broken/);
    assert.equal(posted[1]!.target_url, build.logUrl);
    assert.equal(status.state, 'passed');
    assert.equal(status.result?.build?.state, 'failed');
  });

  it('a head no remote has is an error, saying what was fetched', async () => {
    const head = 'e'.repeat(40);
    fake.commit(shop, 'feat(SHOP-3): lost', { sha: head, parents: [shop.refs.get('heads/main')!.sha] });
    const { result } = await gate({
      repository: 'acme/shop',
      number: 3,
      head,
      branch: 'ana/SHOP-3',
      base: 'main',
    });

    const posted = buildStatuses(shop, head);
    assert.deepEqual(
      posted.map((s) => s.state),
      ['pending', 'error'],
    );
    assert.match(posted[1]!.description!, /^Could not build: commit e{40} is not in /);
    assert.equal(result.build?.state, 'error');
    assert.match(
      result.build!.reason!,
      /tried git fetch origin e{40}: .*; git fetch origin refs\/pull\/3\/head: /,
    );
  });

  it('a pull request from a fork is not built: pending, then an error naming the fork and the setting', async () => {
    const head = pullRequestHead(4, 'ok', 'feat(SHOP-4): from a fork', 'mallory/SHOP-4');
    const { result } = await gate({
      repository: 'acme/shop',
      number: 4,
      head,
      branch: 'mallory/SHOP-4',
      base: 'main',
      fork: 'mallory/shop',
    });
    const posted = buildStatuses(shop, head);
    assert.deepEqual(
      posted.map((s) => s.state),
      ['pending', 'error'],
    );
    assert.equal(
      posted[1]!.description,
      'Could not build: the head is on the fork mallory/shop; forks are built only with pullRequestBuilds: all',
    );
    assert.equal(result.build?.state, 'error');
    assert.equal(result.build?.log, undefined, 'nothing ran');
  });

  it('without build or unit-test commands there is no build status and no build in the result', async () => {
    const head = fake.commit(plain, 'feat(PL-2): words', {
      parents: [plain.refs.get('heads/main')!.sha],
      branch: 'ana/PL-2',
    });
    const { result, status } = await gate({
      repository: 'acme/plain',
      number: 4,
      head,
      branch: 'ana/PL-2',
      base: 'main',
    });
    assert.equal(fake.latestStatus(plain, head, 'release-flow/policy')!.state, 'success');
    assert.deepEqual(buildStatuses(plain, head), []);
    assert.equal(result.build, undefined);
    assert.equal(status.state, 'passed');
  });
  it('a HOT-<n> pull request back to main passes on a clean merge and is built on the merge result, not rebased', async () => {
    // The hotfix branch is cut from the release tag; main has moved on since.
    const start = git(upstream, 'rev-parse', 'main');
    const fakeStart = shop.refs.get('heads/main')!.sha;
    git(upstream, 'checkout', '-q', 'main');
    fs.writeFileSync(path.join(upstream, 'main-only.txt'), 'main moved\n');
    git(upstream, 'add', '.');
    git(upstream, 'commit', '-q', '-m', 'fix(SHOP-9): main moves on');
    const mainHead = git(upstream, 'rev-parse', 'HEAD');
    fake.commit(shop, 'fix(SHOP-9): main moves on', {
      sha: mainHead,
      parents: [shop.refs.get('heads/main')!.sha],
      branch: 'main',
    });
    git(upstream, 'checkout', '-q', '-b', 'HOT-1', start);
    fs.writeFileSync(path.join(upstream, 'hot.txt'), 'the fix\n');
    git(upstream, 'add', '.');
    git(upstream, 'commit', '-q', '-m', 'fix(HOT-1): stop the crash');
    const hot = git(upstream, 'rev-parse', 'HEAD');
    fake.commit(shop, 'fix(HOT-1): stop the crash', { sha: hot, parents: [fakeStart], branch: 'HOT-1' });
    // GitHub's test merge: refs/pull/<n>/merge on the upstream, merge_commit_sha on the API.
    git(upstream, 'checkout', '-q', '--detach', 'main');
    git(upstream, 'merge', '-q', '--no-ff', '-m', 'Merge HOT-1 into main', hot);
    const merged = git(upstream, 'rev-parse', 'HEAD');
    git(upstream, 'checkout', '-q', 'main');
    git(upstream, 'update-ref', 'refs/pull/9/merge', merged);
    fake.commit(shop, 'Merge HOT-1 into main', { sha: merged, parents: [mainHead, hot] });
    const pull = fake.openPull(shop, { headRef: 'HOT-1', baseRef: 'main' });
    pull.number = 9;
    pull.mergeable = true;
    pull.mergeCommitSha = merged;

    const { result, status } = await gate({
      repository: 'acme/shop',
      number: 9,
      head: hot,
      branch: 'HOT-1',
      base: 'main',
    });
    assert.deepEqual(result.verdict.violations, [], 'no rebase rule for a branch cut from a tag');
    assert.equal(status.state, 'passed');
    assert.equal(
      fake.latestStatus(shop, hot, 'release-flow/policy')!.description,
      'policy OK: hotfix HOT-1, commit headers and a clean merge',
    );
    assert.equal(result.mergeResult?.sha, merged);
    assert.equal(result.build?.state, 'passed');
    assert.deepEqual(
      buildStatuses(shop, hot).map((s) => s.state),
      ['pending', 'success'],
      'the build is reported on the head',
    );
    // Only the runner's fetch of refs/pull/9/merge brings the merge commit into the worker's clone.
    git(clone, 'cat-file', '-e', merged);

    // The same branch conflicting with main: refused, naming the rule, never "rebase".
    pull.mergeable = false;
    const second = fake.commit(shop, 'fix(HOT-1): another try', { parents: [hot], branch: 'HOT-1' });
    pull.headSha = second;
    const refused = await gate({
      repository: 'acme/shop',
      number: 9,
      head: second,
      branch: 'HOT-1',
      base: 'main',
    });
    assert.deepEqual(
      refused.result.verdict.violations.map((v) => v.rule),
      ['merge-conflict'],
    );
    assert.match(
      fake.latestStatus(shop, second, 'release-flow/policy')!.description!,
      /^merge-conflict: HOT-1 does not merge cleanly into main/,
    );
  });
});
