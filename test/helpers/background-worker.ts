/**
 * A worker that runs in the background of a describe block, and the block's tear-down: the worker
 * first, then the server it polls. Every test file that starts a worker in `before` ends it the
 * same way, so the order lives here once.
 */
import './runtime';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';

export interface BackgroundWorker {
  /** Shuts the worker down and waits for its run to end (its running activities finish first). */
  stop(): Promise<void>;
}

/** Runs `worker` from now until `stop()`. */
export function inBackground(worker: Worker): BackgroundWorker {
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
    },
  };
}

/**
 * The tear-down of a block that ran a worker on its own test server: the worker stops while its
 * server is still up to answer its shutdown, then the server goes. Either may be missing when
 * `before` failed midway; what was started is still ended.
 */
export async function stopWorkerAndServer(
  worker: BackgroundWorker | undefined,
  env: TestWorkflowEnvironment | undefined,
): Promise<void> {
  await worker?.stop();
  await env?.teardown();
}
