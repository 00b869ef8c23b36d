import '../helpers/runtime';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../src/activities';
import { cli } from '../helpers/cli';
import { HOLD_UNTIL_OPENED, lockHarness, overlaps, untilClosed, untilStatus } from '../helpers/lock-harness';
import {
  contendersScenario,
  hotfixOnlyScenario,
  preemptionScenario,
  terminationScenario,
} from '../helpers/lock-scenarios';
import { inBackground, stopWorkerAndServer, type BackgroundWorker } from '../helpers/background-worker';
import { devServerEnv, unique, workflowBundle } from '../helpers/temporal-env';
import { lockProbeWorkflow } from '../../src/workflows/lock/lock-probe-workflow';

describe('the lock on a dev server (continue-as-new suggested at 50 events)', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: BackgroundWorker;
  let harness: ReturnType<typeof lockHarness>;
  const taskQueue = unique('lock-e2e');
  const savedAddress = process.env.TEMPORAL_ADDRESS;

  before(async () => {
    env = await devServerEnv({
      extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=50'],
    });
    harness = lockHarness(env.client);
    const activities: Partial<Activities> = harness.activities;
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
      maxCachedWorkflows: 100,
    });
    running = inBackground(worker);
    process.env.TEMPORAL_ADDRESS = env.address;
  });
  after(async () => {
    if (savedAddress === undefined) delete process.env.TEMPORAL_ADDRESS;
    else process.env.TEMPORAL_ADDRESS = savedAddress;
    await stopWorkerAndServer(running, env);
  });

  it('24 contenders with random hold times never overlap; a full queue survives continue-as-new at a burst of requests', async () => {
    const resource = unique('staging');
    const { full, outcomes, final } = await contendersScenario(
      { client: env.client, taskQueue, harness },
      resource,
      24,
    );
    assert.equal(full.queue.length, 23, 'every request of the burst is queued');
    assert.ok(final.run > 1, `the lock continued as new (run ${final.run})`);
    assert.deepEqual(overlaps(harness.journal, resource), []);
    assert.equal(harness.enterOrder(resource).length, 24);
    assert.ok(outcomes.every((o) => o.outcome === 'completed'));
    assert.deepEqual(
      outcomes.map((o) => o.token).sort((a, b) => a - b),
      Array.from({ length: 24 }, (_, i) => i + 1),
    );
    assert.equal(final.grants, 24);
    assert.equal(final.holder, null);
  });

  it('a forced acquisition preempts the holder, which ends preempted; the queue keeps its order', async () => {
    const resource = unique('staging');
    const r = await preemptionScenario({ client: env.client, taskQueue, harness }, resource);
    assert.equal(r.holder.outcome, 'preempted');
    assert.equal(r.forcer.token, 2);
    assert.equal(r.queued.token, 3);
    await assert.rejects(
      harness.fencedResource.admit({ resource, token: 1, action: 'deploy', actor: 'late holder' }),
      /older than 3/,
    );
  });

  it('a terminated queued requester is skipped and a terminated holder loses the lock at lease end', async () => {
    const resource = unique('staging');
    const r = await terminationScenario({ client: env.client, taskQueue, harness }, resource);
    assert.equal(r.next.outcome, 'completed');
    assert.ok(r.final.recent.some((e) => e.kind === 'revoked' && /closed/.test(e.detail)));
    assert.ok(r.final.recent.some((e) => e.kind === 'skipped' && e.workflowId === `${resource}-gone`));
    assert.equal(r.next.token, 3);
  });

  it('hotfix-only mode lets only the hotfix through until it is turned off', async () => {
    const resource = unique('staging');
    const r = await hotfixOnlyScenario({ client: env.client, taskQueue, harness }, resource);
    assert.deepEqual(
      r.during.queue.map((q) => q.workflowId),
      [`${resource}-normal`],
    );
    assert.deepEqual(r.order, [`${resource}-holder`, `${resource}-hot`, `${resource}-normal`]);
  });

  it('the CLI shows the lock and frees it by hand', async () => {
    const resource = unique('staging');
    const holderId = `${resource}-holder`;
    const holder = await env.client.workflow.start(lockProbeWorkflow, {
      taskQueue,
      workflowId: holderId,
      args: [{ resource, holdMs: HOLD_UNTIL_OPENED, purpose: 'deploy v1.2.3' }],
    });
    await untilStatus(env.client, resource, (s) => s.holder?.workflowId === holderId);

    const status = await cli(['lock', 'status', resource, '--json']);
    assert.equal(status.code, 0, status.err);
    const parsed = JSON.parse(status.out);
    assert.equal(parsed.holder.workflowId, holderId);
    assert.equal(parsed.holder.purpose, 'deploy v1.2.3');
    assert.equal(parsed.mode.mode, 'normal');
    const text = await cli(['lock', 'status', resource]);
    assert.match(text.out, new RegExp(`holder: ${holderId}`));

    const noForce = await cli(['lock', 'release', resource, '--by', 'carol', '--reason', 'stuck']);
    assert.equal(noForce.code, 2);
    assert.match(noForce.err, /LOCK_RELEASE_NEEDS_FORCE/);

    const freed = await cli(['lock', 'release', resource, '--force', '--by', 'carol', '--reason', 'stuck']);
    assert.equal(freed.code, 0, freed.err);
    assert.match(freed.out, /released lock .* from .*holder \(token 1\); recorded: carol: stuck/);
    await untilClosed([holder]);
    assert.equal((await holder.result()).outcome, 'preempted');

    const again = await cli(['lock', 'release', resource, '--force', '--by', 'carol', '--reason', 'stuck']);
    assert.equal(again.code, 2);
    assert.match(again.err, /not held/);

    const unused = await cli(['lock', 'status', unique('never-used'), '--json']);
    assert.equal(unused.code, 0, unused.err);
    assert.equal(JSON.parse(unused.out).holder, null);
  });
});
