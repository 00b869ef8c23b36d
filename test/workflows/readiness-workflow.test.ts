import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../src/activities';
import { readinessWorkflow } from '../../src/workflows/readiness/readiness-workflow';
import { timeSkippingEnv, unique, workflowBundle } from '../helpers/temporal-env';

describe('readinessWorkflow on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await timeSkippingEnv();
  });
  after(async () => {
    await env?.teardown();
  });

  it('returns the answer of the worker that ran the activity', async () => {
    const taskQueue = unique('readiness');
    const activities: Partial<Activities> = {
      reportReady: async ({ probeId }) => ({ probeId, answeredBy: 'worker-7' }),
    };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
    });
    const result = await worker.runUntil(
      env.client.workflow.execute(readinessWorkflow, {
        taskQueue,
        workflowId: unique('probe'),
        args: [{ probeId: 'p1' }],
      }),
    );
    assert.deepEqual(result, { probeId: 'p1', answeredBy: 'worker-7' });
  });

  it('skips time: a retried activity waits out its backoff without wall-clock delay', async () => {
    const taskQueue = unique('readiness');
    let calls = 0;
    const activities: Partial<Activities> = {
      reportReady: async ({ probeId }) => {
        calls += 1;
        if (calls < 3) throw new Error('not yet');
        return { probeId, answeredBy: 'third-try' };
      },
    };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
    });
    const before = await env.currentTimeMs();
    const result = await worker.runUntil(
      env.client.workflow.execute(readinessWorkflow, {
        taskQueue,
        workflowId: unique('probe'),
        args: [{ probeId: 'p2' }],
      }),
    );
    assert.equal(result.answeredBy, 'third-try');
    assert.equal(calls, 3);
    assert.ok((await env.currentTimeMs()) - before >= 1_000, 'server time moved across the retry backoff');
  });
});
