import '../helpers/runtime';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type Client, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { PipelineFailureNotice } from '../../src/activities/alerts';
import { mainCommitWorkflow } from '../../src/workflows/main-commit/main-commit-workflow';
import { pipelineWorkflowId, statusQuery } from '../../src/workflows/shared/messages';
import { lockHarness } from '../helpers/lock-harness';
import { pipelineStubs } from '../helpers/pipeline-stubs';
import { waitFor } from '../helpers/ports';
import { timeSkippingWorker, type TimeSkippingWorker } from '../helpers/time-skipping-worker';
import { unique } from '../helpers/temporal-env';

describe('mainCommitWorkflow (time-skipping, stubbed pipeline activities, real lock)', () => {
  let client: Client;
  let server: TimeSkippingWorker;
  const stubs = pipelineStubs();
  const taskQueue = unique('main-commit');

  before(async () => {
    server = await timeSkippingWorker({
      taskQueue,
      client: 'plain',
      activities: (c) => ({ ...lockHarness(c).activities, ...stubs.activities }),
    });
    client = server.client;
  });
  after(() => server?.stop());
  beforeEach(() => stubs.reset());

  async function runPipeline(repository: string, commit: string) {
    const handle = await client.workflow.start(mainCommitWorkflow, {
      taskQueue,
      workflowId: pipelineWorkflowId('main-commit', repository, commit),
      args: [{ repository, commit }],
    });
    return handle;
  }

  it('runs every step in order and tags the next version', async () => {
    const repository = unique('acme/app');
    const handle = await runPipeline(repository, 'c0ffee'.padEnd(40, '0'));
    const outcome = await handle.result();
    assert.deepEqual(outcome, { state: 'released', tag: 'v1.3.0', bump: 'minor', lastTag: 'v1.2.0' });
    assert.deepEqual(
      stubs.calls.map((c) => c.name),
      [
        'compareWithDev',
        'buildArtifact',
        'runTests',
        'uploadArtifact',
        'deployVersion',
        'runTests',
        'computeNextVersion',
        'createReleaseTag',
        'checkTagPipelineStart',
      ],
    );
    assert.equal(
      (stubs.calls[4]!.input as { digest?: string }).digest,
      `sha256:${'a'.repeat(64)}`,
      'dev gets the digest that was uploaded, or a refusal',
    );
    assert.equal((stubs.calls[2]!.input as { purpose: string }).purpose, 'unit-tests');
    assert.deepEqual(stubs.calls[5]!.input, {
      repository,
      commit: 'c0ffee'.padEnd(40, '0'),
      purpose: 'integration-tests',
      env: 'dev',
      version: 'c0ffee'.padEnd(40, '0'),
    });
    const status = await handle.query(statusQuery);
    assert.equal(status.state, 'succeeded');
    assert.equal(status.version, 'v1.3.0');
    assert.equal(status.environments.dev, 'c0ffee'.padEnd(40, '0'));
    assert.ok(
      status.steps.every((s) => s.state === 'done'),
      JSON.stringify(status.steps),
    );
    assert.deepEqual(
      stubs.statuses.map((p) => [p.repository, p.commit, p.context, p.state]),
      [
        [repository, 'c0ffee'.padEnd(40, '0'), 'release-flow/main', 'pending'],
        [repository, 'c0ffee'.padEnd(40, '0'), 'release-flow/main', 'success'],
      ],
    );
    assert.equal(stubs.statuses[1]!.description, 'released v1.3.0 (minor)');
  });

  it('an older commit than the one dev runs never deploys dev: it ends superseded, naming it', async () => {
    const newer = 'b'.repeat(40);
    stubs.setOverrides({ compareWithDev: async () => ({ devRuns: newer, newer: true }) });
    const repository = unique('acme/app');
    const handle = await runPipeline(repository, 'a'.repeat(40));
    assert.deepEqual(await handle.result(), {
      state: 'superseded',
      tag: null,
      bump: null,
      lastTag: null,
      supersededBy: newer,
    });
    assert.deepEqual(stubs.names(), [], 'nothing built, deployed or tagged');
    const status = await handle.query(statusQuery);
    assert.equal(status.state, 'superseded');
    assert.equal(status.supersededBy, newer);
    assert.equal(status.environments.dev, newer);
    assert.equal(
      status.steps.at(-1)?.detail,
      `dev runs the newer ${newer.slice(0, 12)}, a descendant of this commit`,
    );
    assert.deepEqual(
      stubs.statuses.map((p) => `${p.state}: ${p.description}`).at(-1),
      `success: superseded: dev runs the newer ${newer.slice(0, 12)}; not deployed or tagged`,
    );
  });

  it('a repository with no webhook source gets its tag pipeline from the run that made the tag', async () => {
    stubs.setOverrides({
      checkTagPipelineStart: async () => ({
        start: true,
        reason: 'no webhook source',
        searchAttributes: false,
      }),
      // The started tag pipeline stops at its first step: this test is about who starts it.
      repositorySettings: async () => {
        throw ApplicationFailure.nonRetryable('not configured here', 'RepositoryNotConfigured');
      },
    });
    const repository = unique('acme/app');
    const commit = 'abc'.padEnd(40, '0');
    const handle = await runPipeline(repository, commit);
    const outcome = await handle.result();
    const tagId = pipelineWorkflowId('tag', repository, 'v1.3.0');
    assert.equal(outcome.tagWorkflowId, tagId);
    const tag = client.workflow.getHandle(tagId);
    const description = await tag.describe();
    assert.equal(description.type, 'tagReleaseWorkflow');
    await tag.result().catch(() => undefined);
    // A second start (the push of the tag, `start tag`) finds the same run.
    await assert.rejects(
      client.workflow.start('tagReleaseWorkflow', {
        taskQueue,
        workflowId: tagId,
        args: [{ repository, tag: 'v1.3.0', commit }],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      }),
      (err: Error) => err.name === 'WorkflowExecutionAlreadyStartedError',
    );
    const step = (await handle.query(statusQuery)).steps.at(-1);
    assert.equal(step?.name, 'tag pipeline');
    assert.equal(step?.detail, `${tagId} started: no webhook source`);
  });

  it('a dev order check lost with Temporal (its result never arrives) is tried again within seconds, not five minutes', async () => {
    // Attempt 1 stands for a task the server handed out just before it stopped: no result and no
    // heartbeat ever reaches the server. Only a heartbeat timeout notices that before start-to-close.
    let release = () => {};
    const lost = new Promise<void>((resolve) => (release = resolve));
    let attempts = 0;
    stubs.setOverrides({
      compareWithDev: async () => {
        attempts++;
        if (Context.current().info.attempt === 1) await lost;
        return { devRuns: null, newer: false };
      },
    });
    const repository = unique('acme/app');
    const handle = await runPipeline(repository, 'abe'.padEnd(40, '0'));
    try {
      await waitFor(() => attempts === 1, 30_000, 20);
      await server.env.sleep('20 seconds');
      await waitFor(() => attempts >= 2, 10_000, 50).catch(() => undefined);
      assert.ok(attempts >= 2, 'no second attempt 20 seconds (of workflow time) after the first');
    } finally {
      release();
    }
    assert.equal((await handle.result()).state, 'released');
  });

  it('a repository GitHub serves starts no tag pipeline: the push of the tag does', async () => {
    const repository = unique('acme/app');
    const handle = await runPipeline(repository, 'abd'.padEnd(40, '0'));
    const outcome = await handle.result();
    assert.equal(outcome.tagWorkflowId, undefined);
    await assert.rejects(
      client.workflow.getHandle(pipelineWorkflowId('tag', repository, 'v1.3.0')).describe(),
      (err: Error) => err.name === 'WorkflowNotFoundError',
    );
  });

  it('ends as "no release" without tagging when nothing is releasable', async () => {
    stubs.setOverrides({
      computeNextVersion: async () => ({
        next: null,
        version: null,
        bump: null,
        lastTag: 'v1.2.0',
        commitCount: 1,
        releasing: [],
        warnings: [],
      }),
    });
    const handle = await runPipeline(unique('acme/app'), 'd'.repeat(40));
    assert.deepEqual(await handle.result(), {
      state: 'no-release',
      tag: null,
      bump: null,
      lastTag: 'v1.2.0',
    });
    assert.ok(!stubs.calls.some((c) => c.name === 'createReleaseTag'));
    assert.equal((await handle.query(statusQuery)).state, 'no-release');
    assert.deepEqual(
      stubs.statuses.map((p) => `${p.state}: ${p.description}`).slice(1),
      ['success: no release: nothing releasable since v1.2.0'],
      'no release is a success',
    );
  });

  it('a failing unit test alerts the development team with the log tail and halts before dev', async () => {
    stubs.setOverrides({
      runTests: async () => {
        throw ApplicationFailure.nonRetryable('unit tests failed: npm test exited 1', 'TestsFailed', {
          log: '/logs/unit.log',
          tail: 'FAIL cart.test.js',
        });
      },
    });
    const repository = unique('acme/app');
    const handle = await runPipeline(repository, 'e'.repeat(40));
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.equal((err.cause as ApplicationFailure).type, 'PipelineFailed');
      assert.match(err.cause!.message, /failed at unit tests/);
      return true;
    });
    const notices = stubs.calls
      .filter((c) => c.name === 'notifyPipelineFailure')
      .map((c) => c.input as PipelineFailureNotice);
    assert.equal(notices.length, 1);
    assert.equal(notices[0]!.step, 'unit tests');
    assert.equal(notices[0]!.log, '/logs/unit.log');
    assert.match(notices[0]!.message, /FAIL cart\.test\.js/);
    assert.ok(!stubs.calls.some((c) => c.name === 'deployVersion' || c.name === 'uploadArtifact'));
    const status = await handle.query(statusQuery);
    assert.equal(status.state, 'failed');
    assert.deepEqual(status.failure?.step, 'unit tests');
    assert.equal(
      stubs.statuses.map((p) => `${p.state}: ${p.description}`).at(-1),
      'failure: failed at unit tests: unit tests failed: npm test exited 1',
    );
  });

  it('a commit status that cannot be posted never fails or stops the release', async () => {
    let attempts = 0;
    stubs.setOverrides({
      // Non-retryable, so the test does not wait out the retry back-off; retries end the same way.
      postCommitStatus: async () => {
        attempts += 1;
        throw ApplicationFailure.nonRetryable('GitHub is down', 'GitHubDown');
      },
    });
    const handle = await runPipeline(unique('acme/app'), 'f'.repeat(40));
    const outcome = await handle.result();
    assert.equal(outcome.state, 'released');
    assert.equal(outcome.tag, 'v1.3.0');
    assert.equal(attempts, 2, 'pending and success were both tried');
    assert.equal((await handle.query(statusQuery)).state, 'succeeded');
  });

  it('pipelines of one repository run one at a time, in push order', async () => {
    const repository = unique('acme/app');
    const inBuild: string[] = [];
    let active = 0;
    let maxActive = 0;
    stubs.setOverrides({
      buildArtifact: async (input) => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        inBuild.push(input.commit);
        await new Promise((r) => setTimeout(r, 300));
        active -= 1;
        return { file: '/tmp/a', log: '/tmp/l', durationMs: 300 };
      },
    });
    const first = await runPipeline(repository, '1'.repeat(40));
    await new Promise((r) => setTimeout(r, 200));
    const second = await runPipeline(repository, '2'.repeat(40));
    await Promise.all([first.result(), second.result()]);
    assert.equal(maxActive, 1, 'never two builds of one repository at once');
    assert.deepEqual(inBuild, ['1'.repeat(40), '2'.repeat(40)]);
  });

  it('a cancelled run replaces its pending status with an error saying so, and posts nothing after it', async () => {
    stubs.setOverrides({
      buildArtifact: async () => {
        const ctx = Context.current();
        for (;;) {
          ctx.heartbeat();
          await ctx.sleep(100);
        }
      },
    });
    const repository = unique('acme/app');
    const handle = await runPipeline(repository, 'cafe'.padEnd(40, '0'));
    await waitFor(async () => (await handle.query(statusQuery)).step === 'build', 10_000);
    await handle.cancel();
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.ok(err.cause instanceof CancelledFailure, String(err.cause));
      return true;
    });
    const mine = stubs.statuses.filter((p) => p.repository === repository);
    assert.deepEqual(
      mine.map((p) => `${p.state}: ${p.description}`),
      [
        'pending: main-commit pipeline: build, unit tests, dev deploy, integration tests, release tag',
        'error: cancelled: the run was asked to stop',
      ],
    );
  });
});
