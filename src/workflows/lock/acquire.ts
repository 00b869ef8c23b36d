/**
 * The lock as pipelines use it, from inside a workflow:
 *
 *   const lock = await acquire('staging', { purpose: 'deploy v1.2.3', priority: 'normal', lease: '5 minutes' });
 *   try {
 *     await lock.run(() => deployVersion({ env: 'staging', version, token: lock.token }));
 *   } finally {
 *     await lock.release();
 *   }
 *
 * A workflow cannot signal-with-start, so the request goes through the `requestLock` activity
 * (signal-with-start of `lock:<resource>`); release, renew and withdraw are signalled straight
 * from the workflow (the lock is running by then). The lease is renewed every third of its
 * length while held. Revocation cancels the scope `run` executes in (in-flight activities are
 * cancelled) and `run` then fails with `LockRevoked`, also when the work failed instead of
 * ending cancelled once the lock was gone; release after revocation sends nothing.
 * Cancelling the workflow while it waits withdraws its request.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { durationToMs } from '../../domain/duration-ms';
import type { LockActivities } from '../../activities/lock';
import { FailureTypes } from '../../domain/failures';
import {
  LockPriority,
  type ForceInfo,
  type LockRequest,
  type LockSubject,
  type RevokedHolder,
} from '../../domain/lock-state';
import {
  lockGrantedSignal,
  lockRevokedSignal,
  lockWorkflowId,
  releaseSignal,
  renewSignal,
  withdrawSignal,
  type LockGrant,
  type LockRevocation,
} from './messages';

const { requestLock } = proxyActivities<LockActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 10 },
});

/**
 * The patch that makes locked work which fails after the lock was revoked fail `LockRevoked`,
 * like work cancelled by the revocation; runs recorded before it end with the work's failure.
 */
export const REVOKED_WORK_PATCH = 'revoked-work-preempted';

export interface AcquireOptions {
  purpose: string;
  priority?: LockPriority;
  /** Lease per grant and renewal (default 5 minutes). */
  lease?: Duration;
  /** Forced acquisition: revoke the holder and take the lock ahead of the queue. */
  force?: ForceInfo;
  /** Withdraw and fail with LockTimeout after waiting this long (default: wait forever). */
  waitTimeout?: Duration;
  /** The release the lock is held for (a forcer that revokes this holder puts its staging right). */
  subject?: LockSubject;
  /** Called when the request must wait because the lock is hotfix-only (with the mode as it was). */
  onHotfixOnly?: (mode: { by: string; reason: string; since: string }) => void;
}

export interface HeldLock {
  readonly resource: string;
  /** The fencing token: pass it to everything that acts on the resource. */
  readonly token: number;
  /** Set once the lock was taken away. */
  readonly revocation: LockRevocation | undefined;
  /** For a forced grant: the holder it revoked. */
  readonly revoked: RevokedHolder | undefined;
  /** Run the locked work; revocation cancels it and this fails with LockRevoked. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Give the lock back (idempotent; sends nothing after revocation). */
  release(): Promise<void>;
}

interface Entry {
  requestId: string;
  grant?: LockGrant;
  revocation?: LockRevocation;
  onRevoke?: () => void;
}

// Workflow module state is per workflow execution (the SDK isolates it): one entry per resource.
const entries: Record<string, Entry> = {};
let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  setHandler(
    lockGrantedSignal,
    (g) => {
      const e = entries[g.resource];
      if (e && e.requestId === g.requestId && !e.grant) e.grant = g;
    },
    { description: 'From a lock workflow: the lock is granted, {resource, requestId, token, leaseUntil}.' },
  );
  setHandler(
    lockRevokedSignal,
    (r) => {
      const e = entries[r.resource];
      if (!e?.grant || e.grant.token !== r.token || e.revocation) return;
      e.revocation = r;
      e.onRevoke?.();
    },
    {
      description:
        'From a lock workflow: the lock was taken away, {resource, token, reason, by, detail}; work under it stops.',
    },
  );
}

/** True for the failure `run` throws when the lock was revoked. */
export function isLockRevoked(err: unknown): boolean {
  return err instanceof ApplicationFailure && err.type === FailureTypes.lockRevoked;
}

/** Take the lock of `resource` (see the module comment). */
export async function acquire(resource: string, opts: AcquireOptions): Promise<HeldLock> {
  installHandlers();
  const info = workflowInfo();
  const requester = { workflowId: info.workflowId, runId: info.runId };
  const leaseMs = durationToMs(opts.lease ?? '5 minutes');
  const entry: Entry = { requestId: uuid4() };
  entries[resource] = entry;
  const lockHandle = getExternalWorkflowHandle(lockWorkflowId(resource));
  const request: LockRequest = {
    requestId: entry.requestId,
    requester,
    purpose: opts.purpose,
    priority: opts.priority ?? LockPriority.normal,
    leaseMs,
    ...(opts.force ? { force: opts.force } : {}),
    ...(opts.subject ? { subject: opts.subject } : {}),
  };

  try {
    const requested = await requestLock.executeWithOptions(
      { summary: `ask for the lock ${resource}${request.force ? ' (forced)' : ''}` },
      [{ resource, request }],
    );
    if (
      requested.mode?.mode === 'hotfixOnly' &&
      request.priority !== LockPriority.hotfix &&
      !request.force &&
      entry.grant === undefined
    ) {
      opts.onHotfixOnly?.(requested.mode);
    }
    const granted = opts.waitTimeout
      ? await condition(() => entry.grant !== undefined, opts.waitTimeout)
      : (await condition(() => entry.grant !== undefined), true);
    if (!granted) {
      await lockHandle.signal(withdrawSignal, {
        workflowId: requester.workflowId,
        requestId: entry.requestId,
      });
      throw ApplicationFailure.nonRetryable(
        `lock ${resource} not granted within ${String(opts.waitTimeout)}`,
        FailureTypes.lockTimeout,
      );
    }
  } catch (err) {
    if (isCancellation(err)) {
      // Cancelled while waiting: leave the queue (or give back a grant that raced the cancel).
      await CancellationScope.nonCancellable(() =>
        lockHandle
          .signal(withdrawSignal, { workflowId: requester.workflowId, requestId: entry.requestId })
          .catch(() => undefined),
      );
    }
    if (entries[resource] === entry) delete entries[resource];
    throw err;
  }

  const grant = entry.grant as LockGrant;
  const work = new CancellationScope();
  const renewals = new CancellationScope();
  let released = false;
  entry.onRevoke = () => {
    work.cancel();
    renewals.cancel();
  };
  if (entry.revocation) entry.onRevoke();
  renewals
    .run(async () => {
      for (;;) {
        await sleep(Math.max(Math.floor(leaseMs / 3), 1));
        await lockHandle.signal(renewSignal, { workflowId: requester.workflowId, token: grant.token });
      }
    })
    .catch(() => undefined);

  return {
    resource,
    token: grant.token,
    get revocation() {
      return entry.revocation;
    },
    revoked: grant.revoked,
    async run<T>(fn: () => Promise<T>): Promise<T> {
      try {
        return await work.run(fn);
      } catch (err) {
        const r = entry.revocation;
        // Once the lock is taken away, how the work then ended does not matter: the holder was
        // preempted. Its step can also fail instead of being cancelled (a crashed worker's
        // attempts used up its retries, an attempt timed out with nobody to hear the cancel).
        if (r && (isCancellation(err) || patched(REVOKED_WORK_PATCH))) {
          throw ApplicationFailure.create({
            message: `lock ${resource} revoked (${r.reason}) by ${r.by}: ${r.detail}`,
            type: FailureTypes.lockRevoked,
            nonRetryable: true,
            details: [r],
          });
        }
        throw err;
      }
    },
    async release(): Promise<void> {
      if (released) return;
      released = true;
      renewals.cancel();
      if (entries[resource] === entry) delete entries[resource];
      if (entry.revocation) return; // a revoked holder must not release
      await CancellationScope.nonCancellable(() =>
        lockHandle.signal(releaseSignal, { workflowId: requester.workflowId, token: grant.token }),
      );
    },
  };
}
