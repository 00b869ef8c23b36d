import { proxyActivities, sleep } from '@temporalio/workflow';

/** One step of the floor: an activity call, or a timer that fires after `ms`. */
export type BareStep = { kind: 'activity' } | { kind: 'timer'; ms: number };

/** The floor's only activity, registered by the benchmark's worker. */
export interface BareActivities {
  doNothing(): Promise<void>;
}

const { doNothing } = proxyActivities<BareActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 1 },
});

/**
 * The pipeline benchmark's floor: the activity calls and fired timers of a full release, in the
 * order its histories show them, one after another in a single workflow with nothing else: no
 * locks, no child, no status, no client hand-off between stages.
 */
export async function bareReleaseWorkflow(plan: BareStep[]): Promise<number> {
  for (const step of plan) {
    if (step.kind === 'activity') await doNothing();
    else await sleep(step.ms, { summary: 'the release health watch interval this step stands for' });
  }
  return plan.length;
}
