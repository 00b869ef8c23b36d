import '../helpers/runtime';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type Client, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { PipelineFailureNotice } from '../../src/activities/alerts';
import { lockProbeWorkflow } from '../../src/workflows/lock/lock-probe-workflow';
import { changeModeUpdate } from '../../src/workflows/lock/messages';
import { pipelineWorkflowId } from '../../src/workflows/shared/messages';
import { promoteSignal, tagStatusQuery } from '../../src/workflows/tag/messages';
import { tagReleaseWorkflow } from '../../src/workflows/tag/tag-release-workflow';
import { lockHarness, lockStatus } from '../helpers/lock-harness';
import { pipelineStubs } from '../helpers/pipeline-stubs';
import { waitFor } from '../helpers/ports';
import { timeSkippingWorker, type TimeSkippingWorker } from '../helpers/time-skipping-worker';
import { unique } from '../helpers/temporal-env';

const COMMIT = 'ab'.repeat(20);

describe('tagReleaseWorkflow (time-skipping, stubbed pipeline activities, real staging lock)', () => {
  let client: Client;
  let server: TimeSkippingWorker;
  const stubs = pipelineStubs();
  const taskQueue = unique('tag');

  before(async () => {
    server = await timeSkippingWorker({
      taskQueue,
      client: 'plain',
      activities: (c) => ({ ...lockHarness(c).activities, ...stubs.activities }),
      worker: { maxHeartbeatThrottleInterval: '1 second' },
    });
    client = server.client;
  });
  after(() => server?.stop());
  beforeEach(() => stubs.reset());

  async function startTag(tag: string, repository = unique('acme/app')) {
    return await client.workflow.start(tagReleaseWorkflow, {
      taskQueue,
      workflowId: pipelineWorkflowId('tag', repository, tag),
      args: [{ repository, tag, commit: COMMIT }],
    });
  }

  /**
   * The hand-off's production run would call the shared stubs in later tests: end it. Its start
   * (asserted through describe) is what these tests are about.
   */
  async function endProduction(workflowId: string | undefined) {
    if (!workflowId) return;
    const child = client.workflow.getHandle(workflowId);
    if ((await child.describe()).status.name === 'RUNNING') await child.terminate('tag pipeline test done');
  }

  /** `state: description` of the `release-flow/staging` statuses posted, in order. */
  function stagingStatuses(): string[] {
    return stubs.statuses
      .filter((p) => p.context === 'release-flow/staging')
      .map((p) => {
        assert.equal(p.commit, COMMIT, 'on the tagged commit');
        return `${p.state}: ${p.description}`;
      });
  }

  /**
   * The activity names a tag run called, in order: only its repository's calls, since an earlier
   * test's production run may still be finishing an activity on the shared stubs.
   */
  function namesOf(handle: { workflowId: string }): string[] {
    const repository = handle.workflowId.split(':')[1];
    return stubs.calls
      .filter((c) => (c.input as { repository?: string }).repository === repository)
      .map((c) => c.name);
  }

  async function stagingHolder() {
    return (await lockStatus(client, 'staging'))?.holder ?? null;
  }

  it('tags the artifact, deploys staging under the lock token, tests, marks good and hands off to production', async () => {
    const repository = unique('acme/app');
    const handle = await startTag('v1.3.0', repository);
    const outcome = await handle.result();
    await endProduction(outcome.productionWorkflowId);
    assert.equal(outcome.state, 'promoted');
    assert.equal(outcome.productionWorkflowId, pipelineWorkflowId('production', repository, 'v1.3.0'));
    // The production child may already have begun after markGood: only this pipeline's calls count.
    // hotfixOfVersion: only a version of an open incident asks staging with hotfix priority.
    assert.deepEqual(stubs.names().slice(0, 6), [
      'repositorySettings',
      'tagArtifact',
      'hotfixOfVersion',
      'deployVersion',
      'runTests',
      'markGood',
    ]);
    const deploy = stubs.calls[3]!.input as { env: string; fencingToken: number; artifact: unknown };
    assert.equal(deploy.env, 'staging');
    assert.ok(deploy.fencingToken >= 1, 'staging deploy carries the lock token');
    assert.deepEqual(deploy.artifact, { repository: 'dev', tag: 'v1.3.0' });
    assert.equal(
      (deploy as { digest?: string }).digest,
      `sha256:${'a'.repeat(64)}`,
      'staging gets the artifact tagged above, or a refusal',
    );
    assert.equal((stubs.calls[5]!.input as { fencingToken: number }).fencingToken, deploy.fencingToken);
    const child = await client.workflow.getHandle(outcome.productionWorkflowId!).describe();
    assert.equal(child.type, 'productionReleaseWorkflow');
    assert.equal(await stagingHolder(), null, 'the staging lock is free again');
    assert.deepEqual(stagingStatuses(), [
      'pending: v1.3.0: staging lock, deploy and integration tests in staging',
      'success: v1.3.0 passed staging; handed to production',
    ]);
  });

  it('a failing integration test rolls staging back to last good under the lock, alerts, releases and halts', async () => {
    stubs.setOverrides({
      runTests: async () => {
        throw ApplicationFailure.nonRetryable('integration tests failed', 'TestsFailed', {
          log: '/l',
          tail: 'checkout 500',
        });
      },
    });
    const handle = await startTag('v1.4.0');
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.equal((err.cause as ApplicationFailure).type, 'PipelineFailed');
      assert.match(err.cause!.message, /failed at integration tests \(staging\)/);
      return true;
    });
    const rollback = stubs.calls.find((c) => c.name === 'rollbackEnvironment')?.input as {
      env: string;
      to: string;
      fencingToken: number;
    };
    assert.deepEqual([rollback.env, rollback.to], ['staging', 'last-good']);
    assert.ok(rollback.fencingToken >= 1);
    const notice = stubs.calls.find((c) => c.name === 'notifyPipelineFailure')
      ?.input as PipelineFailureNotice;
    assert.equal(notice.step, 'integration tests (staging)');
    assert.match(notice.message, /checkout 500/);
    assert.ok(!namesOf(handle).includes('markGood'));
    assert.ok(namesOf(handle).includes('rollbackEnvironment'), "the run's own calls are seen");
    assert.equal(await stagingHolder(), null);
    const status = await handle.query(tagStatusQuery);
    assert.equal(status.state, 'failed');
    assert.equal(status.environments.staging, 'v1.0.0', 'staging shows the version it went back to');
    assert.deepEqual(stagingStatuses(), [
      'pending: v1.4.0: staging lock, deploy and integration tests in staging',
      'failure: v1.4.0 failed at integration tests (staging): integration tests failed',
    ]);
  });

  it('with requirePromote it waits for `promote` and records who promoted', async () => {
    stubs.setOverrides({
      repositorySettings: async () => ({
        requirePromote: true,
        releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$',
        searchAttributes: false,
      }),
    });
    const handle = await startTag('v1.5.0');
    const waiting = await waitFor(
      async () => (await handle.query(tagStatusQuery)).awaitingPromotion === true,
      10_000,
    );
    assert.equal(waiting, true);
    assert.equal(await stagingHolder(), null, 'staging is released while waiting for promotion');
    await handle.signal(promoteSignal, { by: 'ana', reason: 'release train 42' });
    const outcome = await handle.result();
    await endProduction(outcome.productionWorkflowId);
    assert.equal(outcome.state, 'promoted');
    assert.equal(outcome.promotedBy, 'ana');
    assert.equal(stagingStatuses().at(-1), 'success: v1.5.0 passed staging; waiting for promote');
  });

  it('a tag that does not match the release pattern is refused before any work', async () => {
    const handle = await startTag('v1.5.0-rc.1');
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.equal((err.cause as ApplicationFailure).type, 'NotAReleaseTag');
      return true;
    });
    assert.deepEqual(namesOf(handle), ['repositorySettings']);
    assert.deepEqual(stagingStatuses(), [], 'a tag the pipeline does not release gets no status');
  });

  it('a forced acquisition of staging stops the integration tests and the run fails Preempted, alerted, naming who took it and why', async () => {
    let cancelled = false;
    stubs.setOverrides({
      runTests: async () => {
        const ctx = Context.current();
        try {
          for (;;) {
            ctx.heartbeat();
            await ctx.sleep(100);
          }
        } catch (err) {
          cancelled = true;
          throw err;
        }
      },
    });
    const handle = await startTag('v1.6.0');
    await waitFor(
      async () => (await handle.query(tagStatusQuery)).step === 'integration tests (staging)',
      10_000,
    );
    const forcer = await client.workflow.start(lockProbeWorkflow, {
      taskQueue,
      workflowId: unique('emergency'),
      args: [
        {
          resource: 'staging',
          holdMs: 10,
          force: {
            by: 'ops-oncall',
            reason: 'SEV-1 checkout down',
            decision: 'emergency',
            repository: 'acme/shop',
            version: 'v2.0.0',
          },
          priority: 'hotfix',
        },
      ],
    });
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      const cause = err.cause as ApplicationFailure;
      assert.equal(cause.type, 'Preempted');
      assert.match(
        cause.message,
        /preempted at integration tests \(staging\): staging was taken by acme\/shop v2\.0\.0 for emergency decided by ops-oncall: SEV-1 checkout down/,
      );
      return true;
    });
    assert.equal(cancelled, true, 'the in-flight integration tests were cancelled');
    const status = await handle.query(tagStatusQuery);
    assert.equal(status.state, 'preempted');
    assert.equal(status.failure?.type, 'Preempted');
    assert.ok(!namesOf(handle).includes('markGood'));
    assert.ok(
      !namesOf(handle).includes('rollbackEnvironment'),
      'the forcer, not the preempted run, rolls staging back',
    );
    const notice = stubs.calls.find((c) => c.name === 'notifyPipelineFailure')
      ?.input as PipelineFailureNotice;
    assert.deepEqual(notice.preempted, {
      decision: 'emergency',
      by: 'ops-oncall',
      repository: 'acme/shop',
      version: 'v2.0.0',
      reason: 'SEV-1 checkout down',
    });
    assert.equal(notice.version, 'v1.6.0');
    assert.match(
      stagingStatuses().at(-1)!,
      /^error: v1\.6\.0 stopped at integration tests \(staging\): staging was taken by .*ops-oncall/,
    );
    await forcer.result();
  });

  it('integration tests that fail instead of ending cancelled once staging was taken still end the run Preempted, not failed', async () => {
    // As after a crashed worker: its attempt is failed (WorkerDied), retries used up, after the revocation.
    stubs.setOverrides({
      runTests: async () => {
        const ctx = Context.current();
        try {
          for (;;) {
            ctx.heartbeat();
            await ctx.sleep(100);
          }
        } catch {
          throw ApplicationFailure.nonRetryable('the worker running this attempt died', 'WorkerDied');
        }
      },
    });
    const handle = await startTag('v1.6.1');
    await waitFor(
      async () => (await handle.query(tagStatusQuery)).step === 'integration tests (staging)',
      10_000,
    );
    const forcer = await client.workflow.start(lockProbeWorkflow, {
      taskQueue,
      workflowId: unique('emergency'),
      args: [
        { resource: 'staging', holdMs: 10, force: { by: 'ops-oncall', reason: 'SEV-1' }, priority: 'hotfix' },
      ],
    });
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.equal((err.cause as ApplicationFailure).type, 'Preempted');
      return true;
    });
    const status = await handle.query(tagStatusQuery);
    assert.equal(status.state, 'preempted');
    assert.ok(
      !namesOf(handle).includes('rollbackEnvironment'),
      'the forcer, not the preempted run, rolls staging back',
    );
    await forcer.result();
  });

  it('while staging is hotfix-only a release waits saying for which incident, and proceeds once `changeMode` returns it to normal', async () => {
    const lock = client.workflow.getHandle('lock:staging');
    await lock.executeUpdate(changeModeUpdate, {
      args: [{ mode: 'hotfixOnly', by: 'alice', reason: 'HOT-4: emergency in acme/shop v2.0.0' }],
    });
    const handle = await startTag('v1.7.0');
    await waitFor(
      async () =>
        (await lockStatus(client, 'staging'))?.queue.some((q) => q.workflowId === handle.workflowId),
      10_000,
    );
    await waitFor(async () => stagingStatuses().length >= 2, 10_000);
    assert.equal(
      stagingStatuses().at(-1),
      'pending: v1.7.0 waiting for staging: hotfix-only for HOT-4 (by alice); proceeds when normal mode returns',
    );
    assert.ok(!namesOf(handle).includes('deployVersion'), 'nothing is deployed while it waits');
    await assert.rejects(
      lock.executeUpdate(changeModeUpdate, { args: [{ mode: 'normal', by: '', reason: '' }] }),
      (err: Error) =>
        /say who changes the mode and why/.test(String((err.cause as Error | undefined)?.message)),
    );
    const changed = await lock.executeUpdate(changeModeUpdate, {
      args: [{ mode: 'normal', by: 'bob', reason: 'HOT-4 healthy' }],
    });
    assert.equal(changed.previous.mode, 'hotfixOnly');
    assert.equal(changed.mode.mode, 'normal');
    const outcome = await handle.result();
    await endProduction(outcome.productionWorkflowId);
    assert.equal(outcome.state, 'promoted', 'the waiting release proceeds, nothing was cancelled');
  });
});
