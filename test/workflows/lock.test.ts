import '../helpers/runtime';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Activities } from '../../src/activities';
import { lockProbeWorkflow, type LockProbeInput } from '../../src/workflows/lock/lock-probe-workflow';
import {
  forceReleaseUpdate,
  lockWorkflowId,
  releaseSignal,
  setModeSignal,
} from '../../src/workflows/lock/messages';
import { lockWorkflow } from '../../src/workflows/lock/lock-workflow';
import {
  HOLD_UNTIL_OPENED,
  lockHarness,
  lockStatus,
  overlaps,
  untilClosed,
  untilStatus,
} from '../helpers/lock-harness';
import { timeSkippingWorker, type TimeSkippingWorker } from '../helpers/time-skipping-worker';
import { unique } from '../helpers/temporal-env';

describe('lockWorkflow on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let server: TimeSkippingWorker;
  let harness: ReturnType<typeof lockHarness>;
  let client: Client;
  const taskQueue = unique('lock');

  before(async () => {
    server = await timeSkippingWorker({
      taskQueue,
      // Plain client: its result() does not unlock time skipping (concurrent unlocks are unbalanced).
      client: 'plain',
      activities: (c): Partial<Activities> => {
        harness = lockHarness(c);
        return harness.activities;
      },
    });
    ({ env, client } = server);
  });
  after(() => server?.stop());

  const probe = (id: string, input: LockProbeInput): Promise<WorkflowHandle<typeof lockProbeWorkflow>> =>
    client.workflow.start(lockProbeWorkflow, { taskQueue, workflowId: id, args: [input] });

  /** Start contenders one by one, each queued before the next arrives. */
  async function queueUp(resource: string, ids: string[], input: Partial<LockProbeInput> = {}) {
    const handles = [];
    for (const id of ids) {
      handles.push(await probe(id, { resource, holdMs: 0, ...input }));
      await untilStatus(
        client,
        resource,
        (s) => s.holder?.workflowId === id || s.queue.some((q) => q.workflowId === id),
      );
    }
    return handles;
  }

  it('20 contenders with random hold times never overlap, and each gets a higher token', async () => {
    const resource = unique('staging');
    const handles = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        probe(`${resource}-c${i}`, { resource, holdMs: Math.floor(Math.random() * 40) }),
      ),
    );
    await untilClosed(handles);
    const results = await Promise.all(handles.map((h) => h.result()));
    assert.ok(results.every((r) => r.outcome === 'completed'));
    assert.deepEqual(overlaps(harness.journal, resource), []);
    assert.equal(harness.enterOrder(resource).length, 20);
    assert.deepEqual(
      results.map((r) => r.token).sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    const status = await lockStatus(client, resource);
    assert.equal(status?.grants, 20);
    assert.equal(status?.holder, null);
  });

  it('grants in arrival order (FIFO)', async () => {
    const resource = unique('staging');
    const ids = ['first', 'second', 'third', 'fourth'].map((n) => `${resource}-${n}`);
    const [head, ...rest] = ids;
    const handles = [
      ...(await queueUp(resource, [head!], { holdMs: HOLD_UNTIL_OPENED })),
      ...(await queueUp(resource, rest)),
    ];
    harness.open(head!);
    await untilClosed(handles);
    assert.deepEqual(harness.enterOrder(resource), ids);
  });

  it('a hotfix request goes ahead of every normal one; a duplicate makes no second entry', async () => {
    const resource = unique('staging');
    const holder = `${resource}-holder`;
    const handles = [
      ...(await queueUp(resource, [holder], { holdMs: HOLD_UNTIL_OPENED })),
      ...(await queueUp(resource, [`${resource}-n1`, `${resource}-n2`])),
      ...(await queueUp(resource, [`${resource}-hot`], { priority: 'hotfix' })),
    ];
    const status = await lockStatus(client, resource);
    assert.deepEqual(
      status?.queue.map((q) => [q.workflowId, q.priority]),
      [
        [`${resource}-n1`, 'normal'],
        [`${resource}-n2`, 'normal'],
        [`${resource}-hot`, 'hotfix'],
      ],
    );
    harness.open(holder);
    await untilClosed(handles);
    assert.deepEqual(harness.enterOrder(resource), [
      holder,
      `${resource}-hot`,
      `${resource}-n1`,
      `${resource}-n2`,
    ]);
  });

  it('hotfix-only mode grants hotfix requests only, and records who and why', async () => {
    const resource = unique('staging');
    const holder = `${resource}-holder`;
    const lock = env.client.workflow.getHandle(lockWorkflowId(resource));
    const [h] = await queueUp(resource, [holder], { holdMs: HOLD_UNTIL_OPENED });
    await lock.signal(setModeSignal, { mode: 'hotfixOnly', by: 'alice', reason: 'HOT-7' });
    const [normal] = await queueUp(resource, [`${resource}-normal`]);
    const [hot] = await queueUp(resource, [`${resource}-hot`], { priority: 'hotfix' });
    harness.open(holder);
    await untilClosed([h!, hot!]);
    const during = await untilStatus(client, resource, (s) => s.holder === null);
    assert.deepEqual(
      during.queue.map((q) => q.workflowId),
      [`${resource}-normal`],
      'the normal request waits',
    );
    assert.deepEqual(
      [during.mode.mode, during.mode.by, during.mode.reason],
      ['hotfixOnly', 'alice', 'HOT-7'],
    );
    await lock.signal(setModeSignal, { mode: 'normal', by: 'bob', reason: 'HOT-7 healthy' });
    await untilClosed([normal!]);
    assert.deepEqual(harness.enterOrder(resource), [holder, `${resource}-hot`, `${resource}-normal`]);
  });

  it("forced acquisition cancels the holder's in-flight activity; the holder ends preempted and its token is refused", async () => {
    const resource = unique('staging');
    const holder = `${resource}-holder`;
    const [h] = await queueUp(resource, [holder], { holdMs: HOLD_UNTIL_OPENED });
    await untilStatus(client, resource, () => harness.enterOrder(resource).length === 1);
    const forcer = await probe(`${resource}-emergency`, {
      resource,
      holdMs: 0,
      priority: 'hotfix',
      force: { by: 'alice', reason: 'SEV-1 in production' },
    });
    await untilClosed([h!, forcer]);
    const preempted = await h!.result();
    assert.equal(preempted.outcome, 'preempted');
    assert.equal(preempted.token, 1);
    assert.equal(preempted.revocation?.reason, 'forced');
    assert.equal(preempted.revocation?.by, 'alice');
    assert.ok(
      harness.journal.some((e) => e.resource === resource && e.holder === holder && e.kind === 'cancelled'),
      "the holder's activity was cancelled",
    );
    assert.equal((await forcer.result()).token, 2);
    await assert.rejects(
      harness.fencedResource.admit({ resource, token: 1, action: 'deploy v1', actor: holder }),
      /older than 2/,
    );
    // A release from the revoked holder changes nothing.
    await env.client.workflow
      .getHandle(lockWorkflowId(resource))
      .signal(releaseSignal, { workflowId: holder, token: 1 });
    const status = await untilStatus(client, resource, (s) => s.recent.at(-1)?.kind === 'ignored');
    assert.equal(status.revocations, 1);
  });

  it('granting to a requester that has already closed never fails the lock; the next one gets it', async () => {
    const resource = unique('staging');
    const holder = `${resource}-holder`;
    const [h, gone, next] = [
      ...(await queueUp(resource, [holder], { holdMs: HOLD_UNTIL_OPENED })),
      ...(await queueUp(resource, [`${resource}-gone`, `${resource}-next`])),
    ];
    await gone!.terminate('test: queued requester dies');
    harness.open(holder);
    await untilClosed([h!, next!]);
    assert.equal((await next!.result()).token, 3, 'token 2 went to the closed requester and was skipped');
    const status = await lockStatus(client, resource);
    assert.equal(status?.holder, null);
    assert.ok(status?.recent.some((e) => e.kind === 'skipped' && e.workflowId === `${resource}-gone`));
    const lock = await env.client.workflow.getHandle(lockWorkflowId(resource)).describe();
    assert.equal(lock.status.name, 'RUNNING');
  });

  it('a terminated holder loses the lock when its lease ends, after a liveness check', async () => {
    const resource = unique('staging');
    const holder = `${resource}-holder`;
    const [h] = await queueUp(resource, [holder], { holdMs: HOLD_UNTIL_OPENED, lease: '3 seconds' });
    const [next] = await queueUp(resource, [`${resource}-next`]);
    await h!.terminate('test: holder dies');
    harness.open(holder); // its orphaned activity ends; the lock is not told
    const before = await env.currentTimeMs();
    // Renewed every second while it ran; now nobody renews and the 3 s lease runs out.
    await untilClosed([next!]);
    const result = await next!.result();
    assert.equal(result.outcome, 'completed');
    assert.ok((await env.currentTimeMs()) - before >= 2_000, 'waited for the lease');
    const status = await lockStatus(client, resource);
    assert.ok(status?.recent.some((e) => e.kind === 'revoked' && /closed/.test(e.detail)));
  });

  it('cancelling a waiting requester withdraws its request', async () => {
    const resource = unique('staging');
    const holder = `${resource}-holder`;
    const [h] = await queueUp(resource, [holder], { holdMs: HOLD_UNTIL_OPENED });
    const [waiting] = await queueUp(resource, [`${resource}-waiting`]);
    await waiting!.cancel();
    const status = await untilStatus(client, resource, (s) => s.queue.length === 0);
    assert.ok(status.recent.some((e) => e.kind === 'withdrawn'));
    harness.open(holder);
    await untilClosed([h!]);
  });

  it('the operator release frees the lock by hand, revokes the holder and is recorded; refused when free', async () => {
    const resource = unique('staging');
    const holder = `${resource}-holder`;
    const [h] = await queueUp(resource, [holder], { holdMs: HOLD_UNTIL_OPENED });
    await untilStatus(client, resource, () => harness.enterOrder(resource).length === 1);
    const lock = env.client.workflow.getHandle(lockWorkflowId(resource));
    const result = await lock.executeUpdate(forceReleaseUpdate, {
      args: [{ by: 'carol', reason: 'stuck deploy' }],
    });
    assert.deepEqual(result.released, { workflowId: holder, purpose: `probe ${holder}`, token: 1 });
    await untilClosed([h!]);
    assert.equal((await h!.result()).outcome, 'preempted');
    await assert.rejects(
      lock.executeUpdate(forceReleaseUpdate, { args: [{ by: 'carol', reason: 'again' }] }),
      (err: Error) => /not held/.test(String(err.cause)),
    );
  });

  it('continues as new with a full queue and loses no holder, request or counter', async () => {
    const resource = unique('staging');
    await env.client.workflow.start(lockWorkflow, {
      taskQueue,
      workflowId: lockWorkflowId(resource),
      args: [{ resource, continueAsNewAfterEvents: 40 }],
    });
    const holder = `${resource}-holder`;
    const ids = Array.from({ length: 8 }, (_, i) => `${resource}-q${i}`);
    const handles = [
      ...(await queueUp(resource, [holder], { holdMs: HOLD_UNTIL_OPENED })),
      ...(await queueUp(resource, ids)),
    ];
    const full = await lockStatus(client, resource);
    assert.ok((full?.run ?? 0) > 1, `continued as new while queueing (run ${full?.run})`);
    assert.equal(full?.holder?.workflowId, holder);
    assert.equal(full?.queue.length, 8);
    harness.open(holder);
    await untilClosed(handles);
    assert.deepEqual(harness.enterOrder(resource), [holder, ...ids]);
    const status = await lockStatus(client, resource);
    assert.equal(status?.grants, 9);
    assert.deepEqual(overlaps(harness.journal, resource), []);
  });
});
