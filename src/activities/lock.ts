/**
 * Activities of the lock: signal-with-start of the lock workflow (a workflow cannot do it
 * itself), the holder liveness check behind lease expiry, and the probe's hold of a fenced
 * resource.
 */
import { Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { LockRequest, Requester } from '../domain/lock-state';
import { StaleFencingTokenError, type FencedResource } from '../ports/fenced-resource';
import {
  LOCK_WORKFLOW_TYPE,
  lockWorkflowId,
  requestSignal,
  type LockWorkflowSignature,
  statusQuery as lockStatusQuery,
  type LockInput,
  type LockStatus,
} from '../workflows/lock/messages';
import { FailureTypes } from '../domain/failures';

export interface LockPorts {
  /** Reaches the lock workflows and describes holders. */
  client: Client;
  /** The resource the lock guards (staging), refusing stale fencing tokens. */
  fencedResource: FencedResource;
  /** Passed to newly started lock workflows (tests use a low value). */
  lockContinueAsNewAfterEvents?: number;
  /**
   * Set when workers poll as a deployment version: lock workflows live for as long as the
   * resource exists, so unlike pipelines they follow the current version instead of keeping an
   * old worker alive (docs/running-in-production.md "Upgrading release-flow while releases run").
   */
  lockVersioningOverride?: 'AUTO_UPGRADE';
}

/** The lock's status, or undefined when it does not answer within a few seconds (never blocks a request). */
async function modeOf(client: Client, workflowId: string): Promise<LockStatus | undefined> {
  // The deadline ends the call itself, retries included: a query still retrying after the
  // activity returned would outlive it and fire into a closed connection at shutdown.
  return await client
    .withDeadline(Date.now() + 5_000, () => client.workflow.getHandle(workflowId).query(lockStatusQuery))
    .catch(() => undefined);
}

export function createLockActivities(ports: LockPorts) {
  return {
    /**
     * Deliver a lock request to `lock:<resource>`, starting the lock workflow on this task
     * queue if it is not running (signal-with-start). Idempotent: the lock dedupes by requester.
     */
    async requestLock(input: { resource: string; request: LockRequest }): Promise<{
      lockWorkflowId: string;
      /** The lock's mode when asked (best effort), so a waiting requester can say what it waits for. */
      mode?: { mode: string; by: string; reason: string; since: string };
    }> {
      const workflowId = lockWorkflowId(input.resource);
      const lockInput: LockInput = {
        resource: input.resource,
        ...(ports.lockContinueAsNewAfterEvents
          ? { continueAsNewAfterEvents: ports.lockContinueAsNewAfterEvents }
          : {}),
      };
      for (let attempt = 1; ; attempt++) {
        try {
          await ports.client.workflow.signalWithStart<LockWorkflowSignature, [LockRequest]>(
            LOCK_WORKFLOW_TYPE,
            {
              workflowId,
              taskQueue: Context.current().info.taskQueue,
              args: [lockInput],
              signal: requestSignal,
              signalArgs: [input.request],
              ...(ports.lockVersioningOverride ? { versioningOverride: ports.lockVersioningOverride } : {}),
            },
          );
          // Only a normal request can be held up by hotfix-only mode: only it asks.
          const asks = input.request.priority !== 'hotfix' && !input.request.force;
          const status = asks ? await modeOf(ports.client, workflowId) : undefined;
          return { lockWorkflowId: workflowId, ...(status ? { mode: status.mode } : {}) };
        } catch (err) {
          // Two first requests raced to start the lock: the other one started it, so signal again.
          if (!(err instanceof WorkflowExecutionAlreadyStartedError) || attempt >= 3) throw err;
        }
      }
    },

    /** Is the holder's workflow run still open? Checked through the Temporal API before a lease is taken away. */
    async describeLockHolder(input: Requester): Promise<{ running: boolean; status: string }> {
      try {
        const d = await ports.client.workflow.getHandle(input.workflowId, input.runId).describe();
        return { running: d.status.name === 'RUNNING', status: d.status.name };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { running: false, status: 'NOT_FOUND' };
        throw err;
      }
    },

    /**
     * Hold the fenced resource for `holdMs` under `token` (enter, wait, leave), heartbeating so
     * revocation cancels it. A stale token is refused without retry (`StaleFencingToken`).
     */
    async holdLockedResource(input: {
      resource: string;
      token: number;
      holdMs: number;
      holder: string;
    }): Promise<{ token: number }> {
      const ctx = Context.current();
      const admit = async (action: string) => {
        try {
          await ports.fencedResource.admit({
            resource: input.resource,
            token: input.token,
            action,
            actor: input.holder,
          });
        } catch (err) {
          if (err instanceof StaleFencingTokenError)
            throw ApplicationFailure.nonRetryable(err.message, FailureTypes.staleFencingToken);
          throw err;
        }
      };
      await admit('enter');
      const end = Date.now() + input.holdMs;
      for (let left = input.holdMs; left > 0; left = end - Date.now()) {
        ctx.heartbeat();
        await ctx.sleep(Math.min(left, 1_000));
      }
      await admit('leave');
      return { token: input.token };
    },
  };
}

export type LockActivities = ReturnType<typeof createLockActivities>;
