/**
 * The set-up of a workflow test file: its own time-skipping server, a client, and one worker on
 * the shipped workflow bundle running the file's activities until `stop()`. Each file gets its own
 * server (time is global to a server), so files can run side by side.
 */
import './runtime';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { inBackground, stopWorkerAndServer } from './background-worker';
import { timeSkippingEnv, workflowBundle } from './temporal-env';

export interface TimeSkippingWorkerOptions {
  taskQueue: string;
  /** The worker's activities; given the client, for activities that talk to workflows (the lock harness). */
  activities: (client: Client) => object;
  /**
   * `time-skipping`: the environment's own client, whose `result()` lets time skip while a test
   * awaits it (health windows, escalation timers). `plain`: a client whose `result()` leaves
   * skipping alone, for files that await several results at once (concurrent unlocks are
   * unbalanced on the test server).
   */
  client: 'time-skipping' | 'plain';
  /** Worker options beyond connection, task queue, bundle and activities. */
  worker?: Omit<
    WorkerOptions,
    'connection' | 'taskQueue' | 'workflowBundle' | 'workflowsPath' | 'activities'
  >;
}

export interface TimeSkippingWorker {
  env: TestWorkflowEnvironment;
  client: Client;
  /** Stops the worker, then the server. */
  stop(): Promise<void>;
}

export async function timeSkippingWorker(opts: TimeSkippingWorkerOptions): Promise<TimeSkippingWorker> {
  const env = await timeSkippingEnv();
  try {
    const client = opts.client === 'time-skipping' ? env.client : new Client({ connection: env.connection });
    const worker = await Worker.create({
      ...opts.worker,
      connection: env.nativeConnection,
      taskQueue: opts.taskQueue,
      workflowBundle: await workflowBundle(),
      activities: opts.activities(client),
    });
    const running = inBackground(worker);
    return { env, client, stop: () => stopWorkerAndServer(running, env) };
  } catch (err) {
    await env.teardown();
    throw err;
  }
}
