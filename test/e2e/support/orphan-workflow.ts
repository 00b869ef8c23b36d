/**
 * For the attempt journal's test: one activity on a queue no worker polls (the test takes its
 * task by hand, as a worker that then dies), cancelled on the `stop` signal, waiting until the
 * cancellation completes as the pipelines' locked steps do. The result says how the activity ended.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  defineSignal,
  isCancellation,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';

export const stopSignal = defineSignal('stop');

export async function orphanWorkflow(activityQueue: string): Promise<string> {
  const { hold } = proxyActivities<{ hold(): Promise<void> }>({
    taskQueue: activityQueue,
    startToCloseTimeout: '1 hour',
    retry: { maximumAttempts: 1 },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  const scope = new CancellationScope();
  setHandler(stopSignal, () => scope.cancel());
  try {
    await scope.run(() => hold());
    return 'completed';
  } catch (err) {
    if (isCancellation(err)) return 'cancelled';
    const cause = err instanceof ActivityFailure ? err.cause : err;
    return `failed: ${cause instanceof ApplicationFailure ? cause.type : String(cause)}`;
  }
}
