import { ActivityCancellationType, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { LockActivities } from '../../activities/lock';
import type { Duration } from '@temporalio/common';
import type { ForceInfo, LockPriority } from '../../domain/lock-state';
import { acquire, isLockRevoked } from './acquire';
import type { LockRevocation } from './messages';

const { holdLockedResource } = proxyActivities<LockActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '3 seconds',
  retry: { maximumAttempts: 1 },
  // Revocation waits until the activity has really stopped touching the resource.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

export interface LockProbeInput {
  resource: string;
  purpose?: string;
  priority?: LockPriority;
  /** Lease per grant, e.g. '30 seconds' or milliseconds (default 5 minutes). */
  lease?: Duration;
  /** How long to hold the resource, in milliseconds. */
  holdMs: number;
  force?: ForceInfo;
}

export interface LockProbeOutcome {
  outcome: 'completed' | 'preempted';
  resource: string;
  token: number;
  revocation?: LockRevocation;
}

/**
 * Takes a lock, holds its resource for `holdMs` through the fenced resource (the
 * `holdLockedResource` activity, run under the lock's cancellation scope) and releases it.
 * Ends `completed`, or `preempted` when the lock was revoked while it held it. Operators use it
 * as a smoke check of a lock; the lock's tests and benchmark use it as a contender.
 */
export async function lockProbeWorkflow(input: LockProbeInput): Promise<LockProbeOutcome> {
  const lock = await acquire(input.resource, {
    purpose: input.purpose ?? `probe ${workflowInfo().workflowId}`,
    priority: input.priority ?? 'normal',
    ...(input.lease !== undefined ? { lease: input.lease } : {}),
    ...(input.force ? { force: input.force } : {}),
  });
  try {
    await lock.run(() =>
      holdLockedResource.executeWithOptions(
        { summary: `hold ${input.resource} for ${input.holdMs} ms with token ${lock.token}` },
        [
          {
            resource: input.resource,
            token: lock.token,
            holdMs: input.holdMs,
            holder: workflowInfo().workflowId,
          },
        ],
      ),
    );
    return { outcome: 'completed', resource: input.resource, token: lock.token };
  } catch (err) {
    if (isLockRevoked(err))
      return {
        outcome: 'preempted',
        resource: input.resource,
        token: lock.token,
        revocation: lock.revocation,
      };
    throw err;
  } finally {
    await lock.release();
  }
}
