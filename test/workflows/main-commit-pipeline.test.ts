import '../helpers/runtime';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { PipelineActivities } from '../../src/activities/pipeline';
import type { PipelineFailureNotice } from '../../src/activities/alerts';
import { mainCommitWorkflow } from '../../src/workflows/main-commit-pipeline';
import { pipelineWorkflowId, statusQuery } from '../../src/workflows/pipeline-messages';
import { lockHarness } from '../helpers/lock-harness';
import { timeSkippingEnv, unique, workflowBundle } from '../helpers/temporal-env';

type Calls = { name: string; input: unknown }[];

/** Stub activities that record every call; `overrides` replace single activities. */
function stubs(calls: Calls, overrides: Partial<PipelineActivities> = {}): Partial<PipelineActivities> {
  const record =
    <I, O>(name: string, out: (input: I) => O) =>
    async (input: I): Promise<O> => {
      calls.push({ name, input });
      return out(input);
    };
  const base: Partial<PipelineActivities> = {
    buildArtifact: record('buildArtifact', () => ({
      file: '/tmp/app.tgz',
      log: '/tmp/build.log',
      durationMs: 1200,
    })),
    runTests: record('runTests', () => ({ log: '/tmp/t.log', durationMs: 10, reused: false })),
    uploadArtifact: record('uploadArtifact', (i: { repository: string; commit: string }) => ({
      repository: 'dev' as const,
      artifact: i.repository,
      tag: i.commit,
      digest: `sha256:${'a'.repeat(64)}` as const,
      size: 10,
      uri: '/x',
      created: true,
    })),
    deployVersion: record('deployVersion', () => ({
      changed: true,
      note: 'deployed',
      state: { env: 'dev', current: null, previous: null, lastGood: null, history: [] },
    })),
    computeNextVersion: record('computeNextVersion', () => ({
      next: 'v1.3.0',
      version: '1.3.0',
      bump: 'minor',
      lastTag: 'v1.2.0',
      commitCount: 2,
      releasing: [],
      warnings: [],
    })),
    createReleaseTag: record('createReleaseTag', () => ({ created: true })),
    notifyPipelineFailure: record('notifyPipelineFailure', () => ({ sent: true, sentAt: 0 })),
  };
  return { ...base, ...overrides };
}

describe('mainCommitWorkflow (time-skipping, stubbed pipeline activities, real lock)', () => {
  let env: TestWorkflowEnvironment;
  let client: Client;
  let calls: Calls;
  let overrides: Partial<PipelineActivities>;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = unique('main-commit');

  before(async () => {
    env = await timeSkippingEnv();
    client = new Client({ connection: env.connection });
    const harness = lockHarness(client);
    // Activities resolve per call so each test can swap its stubs.
    const dispatch = new Proxy({} as Record<string, (...args: unknown[]) => unknown>, {
      get: (_t, name: string) => (input: unknown) => {
        const fn = (stubs(calls, overrides) as Record<string, (i: unknown) => unknown>)[name];
        if (!fn) throw new Error(`no stub for ${name}`);
        return fn(input);
      },
    });
    const activities = {
      ...harness.activities,
      ...Object.fromEntries(Object.keys(stubs([], {})).map((name) => [name, dispatch[name]])),
    };
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
    });
    running = worker.run();
  });
  after(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });
  beforeEach(() => {
    calls = [];
    overrides = {};
  });

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
      calls.map((c) => c.name),
      [
        'buildArtifact',
        'runTests',
        'uploadArtifact',
        'deployVersion',
        'runTests',
        'computeNextVersion',
        'createReleaseTag',
      ],
    );
    assert.equal((calls[1]!.input as { purpose: string }).purpose, 'unit-tests');
    assert.deepEqual(calls[4]!.input, {
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
  });

  it('ends as "no release" without tagging when nothing is releasable', async () => {
    overrides = {
      computeNextVersion: async () => ({
        next: null,
        version: null,
        bump: null,
        lastTag: 'v1.2.0',
        commitCount: 1,
        releasing: [],
        warnings: [],
      }),
    };
    const handle = await runPipeline(unique('acme/app'), 'd'.repeat(40));
    assert.deepEqual(await handle.result(), {
      state: 'no-release',
      tag: null,
      bump: null,
      lastTag: 'v1.2.0',
    });
    assert.ok(!calls.some((c) => c.name === 'createReleaseTag'));
    assert.equal((await handle.query(statusQuery)).state, 'no-release');
  });

  it('a failing unit test alerts the development team with the log tail and halts before dev', async () => {
    overrides = {
      runTests: async () => {
        throw ApplicationFailure.nonRetryable('unit tests failed: npm test exited 1', 'TestsFailed', {
          log: '/logs/unit.log',
          tail: 'FAIL cart.test.js',
        });
      },
    };
    const repository = unique('acme/app');
    const handle = await runPipeline(repository, 'e'.repeat(40));
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.equal((err.cause as ApplicationFailure).type, 'PipelineFailed');
      assert.match(err.cause!.message, /failed at unit tests/);
      return true;
    });
    const notices = calls
      .filter((c) => c.name === 'notifyPipelineFailure')
      .map((c) => c.input as PipelineFailureNotice);
    assert.equal(notices.length, 1);
    assert.equal(notices[0]!.step, 'unit tests');
    assert.equal(notices[0]!.log, '/logs/unit.log');
    assert.match(notices[0]!.message, /FAIL cart\.test\.js/);
    assert.ok(!calls.some((c) => c.name === 'deployVersion' || c.name === 'uploadArtifact'));
    const status = await handle.query(statusQuery);
    assert.equal(status.state, 'failed');
    assert.deepEqual(status.failure?.step, 'unit tests');
  });

  it('pipelines of one repository run one at a time, in push order', async () => {
    const repository = unique('acme/app');
    const inBuild: string[] = [];
    let active = 0;
    let maxActive = 0;
    overrides = {
      buildArtifact: async (input) => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        inBuild.push(input.commit);
        await new Promise((r) => setTimeout(r, 300));
        active -= 1;
        return { file: '/tmp/a', log: '/tmp/l', durationMs: 300 };
      },
    };
    const first = await runPipeline(repository, '1'.repeat(40));
    await new Promise((r) => setTimeout(r, 200));
    const second = await runPipeline(repository, '2'.repeat(40));
    await Promise.all([first.result(), second.result()]);
    assert.equal(maxActive, 1, 'never two builds of one repository at once');
    assert.deepEqual(inBuild, ['1'.repeat(40), '2'.repeat(40)]);
  });
});
