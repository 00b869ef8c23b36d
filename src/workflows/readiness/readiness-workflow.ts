import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';

const { reportReady } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3 },
});

/**
 * A round trip through the whole machine: server -> worker (workflow task) -> activity -> back.
 * `GET /readyz` starts one and answers 200 only when it completes. Ends with the worker's answer.
 */
export async function readinessWorkflow(input: {
  probeId: string;
}): Promise<{ probeId: string; answeredBy: string }> {
  const { answeredBy } = await reportReady.executeWithOptions(
    { summary: 'answer from a worker: the machine is ready' },
    [{ probeId: input.probeId }],
  );
  return { probeId: input.probeId, answeredBy };
}
