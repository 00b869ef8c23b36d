import '../helpers/runtime';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { type Client, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { PipelineActivities } from '../../src/activities/pipeline';
import type { HotfixRef } from '../../src/activities/hotfix';
import { hotfixWorkflow } from '../../src/workflows/hotfix/hotfix-workflow';
import { hotfixWorkflowId } from '../../src/workflows/hotfix/messages';
import { setModeSignal } from '../../src/workflows/lock/messages';
import { anyPipelineStatusQuery } from '../../src/workflows/pipeline-status';
import { pipelineWorkflowId } from '../../src/workflows/shared/messages';
import { productionReleaseWorkflow } from '../../src/workflows/production/production-release-workflow';
import { emergencySignal, rollbackSignal } from '../../src/workflows/production/messages';
import { tagReleaseWorkflow } from '../../src/workflows/tag/tag-release-workflow';
import { lockHarness, lockStatus } from '../helpers/lock-harness';
import { pipelineStubs } from '../helpers/pipeline-stubs';
import { waitFor } from '../helpers/ports';
import { timeSkippingWorker, type TimeSkippingWorker } from '../helpers/time-skipping-worker';
import { unique } from '../helpers/temporal-env';

const COMMIT = 'ef'.repeat(20);
// Seconds, not minutes: with these releases and the staging lock in play the test server was seen
// not to skip the watch's timers, which then ran on the wall clock (four minutes a test).
const SHORT_WATCH = {
  health: { window: '4 seconds', sampleInterval: '1 second', parameters: { minRequests: 1 } },
  escalation: { realertAfter: '1 hour', escalateAfter: '2 hours' },
};

describe('hotfix flow (time-skipping, stubbed activities, real staging lock)', () => {
  let env: TestWorkflowEnvironment;
  let client: Client;
  let server: TimeSkippingWorker;
  const stubs = pipelineStubs();
  const taskQueue = unique('hotfix');

  before(async () => {
    server = await timeSkippingWorker({
      taskQueue,
      // The environment's own client skips time while a test awaits a result: the watch's minutes
      // pass at once instead of in real time.
      client: 'time-skipping',
      activities: (c) => ({ ...lockHarness(c).activities, ...stubs.activities }),
      worker: { maxHeartbeatThrottleInterval: '1 second' },
    });
    ({ env, client } = server);
  });
  after(() => server?.stop());
  beforeEach(() => stubs.reset());

  /** The staging lock's mode, started as `release-flow lock mode` starts a lock never used yet. */
  async function setMode(mode: 'normal' | 'hotfixOnly', reason: string): Promise<void> {
    await client.workflow.signalWithStart('lockWorkflow', {
      workflowId: 'lock:staging',
      taskQueue,
      args: [{ resource: 'staging' }],
      signal: setModeSignal,
      signalArgs: [{ mode, by: 'test', reason }],
    });
    await waitFor(async () => (await lockStatus(client, 'staging'))?.mode.reason === reason, 10_000);
  }

  /** Incident HOT-1 of `repository`, whose hotfix versions are `versions`. */
  function incident(repository: string, versions: string[]): Partial<PipelineActivities> {
    const ref: HotfixRef = {
      id: 'HOT-1',
      state: 'releasing',
      brokenVersion: 'v1.2.0',
      branch: 'HOT-1',
      ticketUrl: 'file:///tickets/HOT-1.md',
      wikiUrl: 'file:///wiki/HOT-1.md',
    };
    return {
      hotfixOfVersion: async (i) => {
        stubs.calls.push({ name: 'hotfixOfVersion', input: i });
        return i.repository === repository && versions.includes(i.version) ? ref : null;
      },
      repositorySettings: async () => ({
        requirePromote: false,
        releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$',
        searchAttributes: false,
        production: SHORT_WATCH,
      }),
    };
  }

  function inputsOf<T>(name: string, repository?: string): T[] {
    return stubs.calls
      .filter((c) => c.name === name)
      .filter((c) => !repository || (c.input as { repository?: string }).repository === repository)
      .map((c) => c.input as T);
  }

  /** Crosses the watch a sample at a time until the breach waits for a decision. */
  async function untilAwaiting(handle: {
    query: (q: typeof anyPipelineStatusQuery) => Promise<{ awaitingDecision?: boolean }>;
  }) {
    for (let i = 0; i < 30; i++) {
      if ((await handle.query(anyPipelineStatusQuery)).awaitingDecision === true) return;
      await env.sleep('1 second');
    }
    assert.fail('the breach never awaited a decision');
  }

  async function endRunning(workflowId: string) {
    const h = client.workflow.getHandle(workflowId);
    if ((await h.describe()).status.name === 'RUNNING') await h.terminate('test done');
  }

  it("a push to a closed incident's branch is ignored with the reason: nothing runs, nobody is alerted", async () => {
    const repository = unique('acme/closed');
    stubs.reset({
      incidentOfBranch: async (i) => {
        stubs.calls.push({ name: 'incidentOfBranch', input: i });
        return {
          id: i.id,
          state: 'closed',
          brokenVersion: 'v1.2.0',
          branch: i.id,
          ticketUrl: '',
          wikiUrl: '',
        };
      },
    });
    const handle = await client.workflow.start(hotfixWorkflow, {
      taskQueue,
      workflowId: hotfixWorkflowId(repository, 'HOT-1', COMMIT),
      args: [{ repository, branch: 'HOT-1', commit: COMMIT }],
    });
    const outcome = await handle.result();
    assert.equal(outcome.state, 'ignored');
    assert.ok(outcome.state === 'ignored');
    assert.match(outcome.reason, /HOT-1 of .* is closed: push efefefefefef ignored/);
    assert.deepEqual(stubs.names(), ['incidentOfBranch'], 'no build, no alert');
    assert.deepEqual(stubs.statuses, [], 'no pending status left behind');
    const status = await handle.query(anyPipelineStatusQuery);
    assert.equal(status.state, 'ignored');
  });

  it('a feat commit on the hotfix branch fails the pipeline naming the commit, before any build', async () => {
    const repository = unique('acme/shop');
    stubs.setOverrides({
      planHotfix: async () => {
        throw ApplicationFailure.nonRetryable(
          'commit 0123456789ab "feat(HOT-1): new checkout" is a feature: a hotfix is a patch; move it to main and keep only fix commits on the hotfix branch',
          'NotAPatch',
        );
      },
    });
    const handle = await client.workflow.start(hotfixWorkflow, {
      taskQueue,
      workflowId: hotfixWorkflowId(repository, 'HOT-1', COMMIT),
      args: [{ repository, branch: 'HOT-1', commit: COMMIT }],
    });
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.equal((err.cause as ApplicationFailure).type, 'PipelineFailed');
      assert.match(
        err.cause!.message,
        /failed at hotfix version: commit 0123456789ab "feat\(HOT-1\): new checkout" is a feature/,
      );
      return true;
    });
    assert.ok(!stubs.names().includes('buildArtifact'), 'nothing is built');
    const notice = inputsOf<{ stage: string; message: string }>('notifyPipelineFailure')[0];
    assert.equal(notice?.stage, 'hotfix');
    assert.match(notice!.message, /feat\(HOT-1\)/);
    assert.equal((await handle.query(anyPipelineStatusQuery)).state, 'failed');
  });

  it('a hotfix in hotfix-only mode: tagged with the next patch, staging with hotfix priority ahead of a waiting release, healthy → normal mode and the incident closed; the waiting release then proceeds', async () => {
    const hotRepo = unique('acme/shop');
    const otherRepo = unique('acme/cart');
    stubs.setOverrides(incident(hotRepo, ['v1.2.1']));
    await setMode('hotfixOnly', 'HOT-1: emergency in shop v1.2.0');
    const waiting = await client.workflow.start(tagReleaseWorkflow, {
      taskQueue,
      workflowId: pipelineWorkflowId('tag', otherRepo, 'v3.1.0'),
      args: [{ repository: otherRepo, tag: 'v3.1.0', commit: COMMIT }],
    });
    await waitFor(
      async () =>
        (await lockStatus(client, 'staging'))?.queue.some((q) => q.workflowId === waiting.workflowId),
      10_000,
    );
    const handle = await client.workflow.start(hotfixWorkflow, {
      taskQueue,
      workflowId: hotfixWorkflowId(hotRepo, 'HOT-1', COMMIT),
      args: [{ repository: hotRepo, branch: 'HOT-1', commit: COMMIT }],
    });
    const outcome = await handle.result();
    assert.ok(outcome.state === 'released');
    assert.equal(outcome.version, 'v1.2.1');
    assert.equal(outcome.tagWorkflowId, pipelineWorkflowId('tag', hotRepo, 'v1.2.1'));
    assert.deepEqual(
      stubs.calls
        .filter((c) => (c.input as { repository?: string }).repository === hotRepo)
        .map((c) => c.name)
        .slice(0, 6),
      ['incidentOfBranch', 'planHotfix', 'buildArtifact', 'runTests', 'uploadArtifact', 'createReleaseTag'],
    );
    assert.deepEqual(inputsOf<{ tag: string }>('createReleaseTag', hotRepo)[0]?.tag, 'v1.2.1');

    const production = client.workflow.getHandle(pipelineWorkflowId('production', hotRepo, 'v1.2.1'));
    await waitFor(async () => (await production.describe().catch(() => undefined)) !== undefined, 20_000);
    const healthy = await production.result();
    assert.equal(healthy.state, 'healthy');
    assert.deepEqual(healthy.closedIncident, {
      id: 'HOT-1',
      pullRequest: { number: 7, url: 'https://github.example/acme/app/pull/7' },
    });
    const hotTag = await client.workflow.getHandle(outcome.tagWorkflowId).query(anyPipelineStatusQuery);
    assert.match(
      hotTag.steps.find((st) => st.name === 'staging lock')?.detail ?? '',
      /hotfix priority for HOT-1/,
      'the hotfix tag asks staging with hotfix priority',
    );
    const closing = inputsOf<{ id: string; version: string }>('closeIncident', hotRepo)[0];
    assert.deepEqual([closing?.id, closing?.version], ['HOT-1', 'v1.2.1']);

    const status = await lockStatus(client, 'staging');
    assert.equal(status?.mode.mode, 'normal', 'a healthy hotfix ends hotfix-only mode');
    const released = await waiting.result();
    assert.equal(released.state, 'promoted', 'the waiting release proceeds, nothing was cancelled');
    await endRunning(released.productionWorkflowId!);
  });

  it('a hotfix that breaches again: an emergency continues the same incident and staging stays hotfix-only', async () => {
    const repository = unique('acme/shop');
    stubs.setOverrides({
      ...incident(repository, ['v1.2.2']),
      measureHealth: async (i) => ({ at: i.to, requests: 100, errors: 60 }),
    });
    await setMode('hotfixOnly', 'HOT-1: emergency');
    const handle = await client.workflow.start(productionReleaseWorkflow, {
      taskQueue,
      workflowId: pipelineWorkflowId('production', repository, 'v1.2.2'),
      args: [{ repository, version: 'v1.2.2', commit: COMMIT, ...SHORT_WATCH }],
    });
    await untilAwaiting(handle);
    await handle.signal(emergencySignal, { by: 'ana', reason: 'still 500s' });
    const outcome = await handle.result();
    assert.equal(outcome.state, 'hotfix-pending');
    assert.equal(outcome.hotfix?.id, 'HOT-1');
    assert.equal(outcome.hotfix?.state, 'continued');
    assert.ok(!stubs.names().includes('openIncidentTicket'), 'no second ticket');
    assert.ok(!stubs.names().includes('createHotfixBranch'), 'no second branch');
    assert.equal((await lockStatus(client, 'staging'))?.mode.mode, 'hotfixOnly');
    await setMode('normal', 'next test');
  });

  it('rollback during hotfix-only mode: production goes back at once, staging waits for the hotfix holder and is taken ahead of normal requests', async () => {
    const hotRepo = unique('acme/shop');
    const brokenRepo = unique('acme/cart');
    let finish = false;
    stubs.setOverrides({
      ...incident(hotRepo, ['v1.2.3']),
      runTests: async (i) => {
        stubs.calls.push({ name: 'runTests', input: i });
        const ctx = Context.current();
        while (!finish && i.repository === hotRepo) {
          ctx.heartbeat();
          await ctx.sleep(100);
        }
        return { log: '/l', durationMs: 1, reused: false };
      },
      measureHealth: async (i) =>
        i.repository === brokenRepo
          ? { at: i.to, requests: 100, errors: 60 }
          : { at: i.to, requests: 100, errors: 0 },
    });
    await setMode('hotfixOnly', 'HOT-1: emergency');
    const holder = await client.workflow.start(tagReleaseWorkflow, {
      taskQueue,
      workflowId: pipelineWorkflowId('tag', hotRepo, 'v1.2.3'),
      args: [{ repository: hotRepo, tag: 'v1.2.3', commit: COMMIT }],
    });
    await waitFor(
      async () => (await holder.query(anyPipelineStatusQuery)).step === 'integration tests (staging)',
      10_000,
    );
    const broken = await client.workflow.start(productionReleaseWorkflow, {
      taskQueue,
      workflowId: pipelineWorkflowId('production', brokenRepo, 'v4.0.0'),
      args: [{ repository: brokenRepo, version: 'v4.0.0', commit: COMMIT, ...SHORT_WATCH }],
    });
    await untilAwaiting(broken);
    await broken.signal(rollbackSignal, { by: 'bob', reason: 'v4 is bad' });
    await waitFor(
      async () =>
        (await lockStatus(client, 'staging'))?.queue.some((q) => q.workflowId === broken.workflowId),
      10_000,
    );
    const rolled = inputsOf<{ env: string }>('rollbackEnvironment', brokenRepo).map((r) => r.env);
    assert.deepEqual(rolled, ['production'], 'production went back without waiting for staging');
    assert.equal(
      (await lockStatus(client, 'staging'))?.holder?.workflowId,
      holder.workflowId,
      'the hotfix holder keeps staging',
    );
    finish = true;
    const outcome = await broken.result();
    assert.equal(outcome.state, 'rolled-back');
    assert.deepEqual(
      inputsOf<{ env: string }>('rollbackEnvironment', brokenRepo).map((r) => r.env),
      ['production', 'staging'],
    );
    const promoted = await holder.result();
    assert.equal(promoted.state, 'promoted', 'the hotfix holder was not revoked');
    await endRunning(promoted.productionWorkflowId!);
    await setMode('normal', 'done');
  });
});
