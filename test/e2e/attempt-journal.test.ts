import '../helpers/runtime';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { selfIdentity, type ProcessIdentity } from '../../src/adapters/local/process-identity';
import { attemptsDir, failOrphanedAttempts, type OrphanedAttempt } from '../../src/temporal/attempt-journal';
import { waitFor } from '../helpers/ports';
import { inBackground, stopWorkerAndServer, type BackgroundWorker } from '../helpers/background-worker';
import { devServerEnv, unique } from '../helpers/temporal-env';
import { orphanWorkflow, stopSignal } from './support/orphan-workflow';

/**
 * A worker that died mid-attempt: the next worker on the same state directory ends the attempt
 * at once, as a failure Temporal retries, or as the cancellation the workflow had asked for
 * meanwhile (a revoked lock's holder must end cancelled, not failed by the crash). The attempt
 * is found by its journal record, or, when it never reached the journal (a task received but
 * not begun), by the dead worker's name on the server.
 */
describe('the attempt journal ends the attempts of a dead worker', () => {
  let env: TestWorkflowEnvironment;
  let client: Client;
  let worker: Worker;
  let running: BackgroundWorker;
  const taskQueue = unique('orphans');
  const base = mkdtempSync(path.join(os.tmpdir(), 'rf-attempts-'));
  // A process that has exited: its pid names no running process (and a reused pid another start time).
  const dead: ProcessIdentity = { pid: spawnSync(process.execPath, ['-e', '0']).pid!, startTime: 'gone:1' };

  before(async () => {
    env = await devServerEnv();
    client = env.client;
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('./support/orphan-workflow'),
    });
    running = inBackground(worker);
  });
  after(async () => {
    await stopWorkerAndServer(running, env);
  });

  /** Starts the workflow and takes its activity's task by hand, as the worker `identity`. */
  async function orphaned(identity: string) {
    const activityQueue = unique('orphan-activities');
    const handle = await client.workflow.start(orphanWorkflow, {
      taskQueue,
      workflowId: unique('orphan'),
      args: [activityQueue],
    });
    // A long poll: the server wants a deadline on it.
    const task = await client.connection.withDeadline(Date.now() + 30_000, () =>
      client.workflowService.pollActivityTaskQueue({
        namespace: 'default',
        taskQueue: { name: activityQueue },
        identity,
      }),
    );
    assert.ok(task.taskToken?.length, 'the activity task was handed out');
    return { handle, task };
  }

  async function cancelRequested(handle: WorkflowHandle): Promise<void> {
    await handle.signal(stopSignal);
    const requested = await waitFor(
      async () =>
        (await handle.describe()).raw.pendingActivities?.[0]?.state ===
        3 /* PENDING_ACTIVITY_STATE_CANCEL_REQUESTED */,
      20_000,
    );
    assert.ok(requested, 'the workflow asked for the cancellation of its activity');
  }

  function journal(stateDir: string, owner: ProcessIdentity, o: Awaited<ReturnType<typeof orphaned>>) {
    mkdirSync(attemptsDir(stateDir), { recursive: true });
    writeFileSync(
      path.join(attemptsDir(stateDir), `${o.task.activityId}.json`),
      JSON.stringify({
        owner,
        taskToken: Buffer.from(o.task.taskToken!).toString('base64'),
        workflowId: o.handle.workflowId,
        runId: o.task.workflowExecution!.runId,
        activityId: o.task.activityId,
        activityType: 'hold',
        attempt: o.task.attempt,
        startedAt: new Date().toISOString(),
      }),
    );
  }

  const outcomes = (ended: OrphanedAttempt[]) => ended.map((e) => [e.activityType, e.outcome]);

  it('fails a journaled attempt whose worker died with the retryable WorkerDied', async () => {
    const stateDir = path.join(base, 'failed');
    const o = await orphaned('release-flow@test:failed');
    journal(stateDir, dead, o);
    const ended = await failOrphanedAttempts(client, 'default', stateDir);
    assert.deepEqual(outcomes(ended), [['hold', 'failed']]);
    assert.equal(await o.handle.result(), 'failed: WorkerDied');
  });

  it('reports a journaled attempt cancelled when its cancellation was requested while the worker was dead', async () => {
    const stateDir = path.join(base, 'cancelled');
    const o = await orphaned('release-flow@test:cancelled');
    journal(stateDir, dead, o);
    await cancelRequested(o.handle);
    const ended = await failOrphanedAttempts(client, 'default', stateDir);
    assert.deepEqual(outcomes(ended), [['hold', 'cancelled']]);
    assert.equal(await o.handle.result(), 'cancelled');
  });

  it('finds an attempt that never reached the journal by the dead worker it names, and records itself', async () => {
    const stateDir = path.join(base, 'unjournaled');
    const identity = 'release-flow@test:unjournaled';
    const o = await orphaned(identity);
    const workers = path.join(attemptsDir(stateDir), 'workers');
    mkdirSync(workers, { recursive: true });
    writeFileSync(path.join(workers, 'dead.json'), JSON.stringify({ owner: dead, identity, taskQueue }));
    await cancelRequested(o.handle);
    const self = { identity: 'release-flow@test:next', taskQueue };
    const ended = await failOrphanedAttempts(client, 'default', stateDir, self);
    assert.deepEqual(outcomes(ended), [['hold', 'cancelled']]);
    assert.equal(await o.handle.result(), 'cancelled');
    // The next boot: this (running) worker's record is left alone, the dead one's is gone.
    assert.deepEqual(await failOrphanedAttempts(client, 'default', stateDir), []);
  });

  it('leaves the attempts of a worker that still runs alone', async () => {
    const stateDir = path.join(base, 'alive');
    const o = await orphaned('release-flow@test:alive');
    journal(stateDir, selfIdentity(), o);
    assert.deepEqual(await failOrphanedAttempts(client, 'default', stateDir), []);
    assert.equal((await o.handle.describe()).status.name, 'RUNNING');
    await o.handle.terminate('test done');
  });
});
