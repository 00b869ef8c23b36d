import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { LockActivities } from '../../activities/lock';
import {
  enqueue,
  expireLease,
  forceRelease,
  grantNext,
  initialLockState,
  leaseExpired,
  LockMode,
  LockPriority,
  nextInLine,
  release,
  renew,
  setMode,
  skipClosed,
  withdraw,
  type LockEffect,
  type LockRequest,
  type LockState,
  type Step,
} from '../../domain/lock-state';
import {
  changeModeUpdate,
  forceReleaseUpdate,
  lockGrantedSignal,
  lockRevokedSignal,
  lockWorkflowId,
  releaseSignal,
  renewSignal,
  requestSignal,
  setModeSignal,
  statusQuery,
  withdrawSignal,
  type LockInput,
  type LockStatus,
} from './messages';

const { describeLockHolder } = proxyActivities<LockActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
});

/** What one run hands to the next on continue-as-new: plain JSON. */
export interface CarriedLock {
  state: LockState;
  run: number;
}

/** Continue as new here even when the server has not suggested it yet. */
const DEFAULT_CONTINUE_AS_NEW_AFTER = 2_000;

const now = (): number => new Date().getTime();

/**
 * The lock of one resource (`lock:staging`, `lock:repo:<owner>/<name>`): a singleton started
 * on first use by signal-with-start of `request`. Grants in arrival order with hotfix requests
 * first; in hotfix-only mode grants hotfix requests only. Every grant carries a fencing token
 * that only increases. A forced request revokes the holder at once. A holder that stops
 * renewing loses the lock when its lease ends (its real state is checked first). Requesters
 * that have closed are skipped. Never ends: continues as new when the server suggests it (or at
 * `continueAsNewAfterEvents`) carrying all of its state, after its handlers have finished.
 */
export async function lockWorkflow(input: LockInput, carried?: CarriedLock): Promise<never> {
  let state: LockState = carried?.state ?? initialLockState(input.resource, now());
  const run = (carried?.run ?? 0) + 1;
  const outbox: LockEffect[] = [];
  let inFlight = 0;
  const apply = (step: Step): void => {
    state = step.state;
    outbox.push(...step.effects);
  };

  setHandler(
    requestSignal,
    (req) => {
      const problem = requestProblem(req);
      if (problem) log.warn('lock request ignored', { problem, req });
      else apply(enqueue(state, req, now()));
    },
    {
      description:
        'Ask for the lock: {requestId, requester: {workflowId, runId?}, purpose, priority: normal|hotfix, leaseMs, force?: {by, reason, decision?, repository?, version?}, subject?: {repository, version}}. The grant comes back as the lockGranted signal. A forced request never revokes a hotfix holder: it waits first in line.',
    },
  );
  setHandler(releaseSignal, (m) => apply(release(state, m, now())), {
    description: 'Give the lock back: {workflowId, token}. Ignored unless sent by the holder with its token.',
  });
  setHandler(renewSignal, (m) => apply(renew(state, m, now())), {
    description: "Extend the holder's lease: {workflowId, token}. Ignored from anyone but the holder.",
  });
  setHandler(withdrawSignal, (m) => apply(withdraw(state, m, now())), {
    description: 'Give up a waiting request: {workflowId, requestId}.',
  });
  setHandler(
    setModeSignal,
    (m) => {
      if (m?.mode !== LockMode.normal && m?.mode !== LockMode.hotfixOnly) {
        log.warn('setMode ignored: mode must be normal or hotfixOnly', { m });
        return;
      }
      // Counting incidents needs no patch: only messages naming an incident are counted, and no
      // earlier code sent one, so every recorded history decides as it did.
      const incident =
        typeof m.incident?.id === 'string' && typeof m.incident.repository === 'string'
          ? { id: m.incident.id, repository: m.incident.repository }
          : undefined;
      apply(
        setMode(
          state,
          {
            mode: m.mode,
            by: String(m.by ?? 'unknown'),
            reason: String(m.reason ?? ''),
            ...(incident ? { incident } : {}),
          },
          now(),
        ),
      );
    },
    {
      description:
        'Hotfix-only mode: {mode: "hotfixOnly"|"normal", by, reason, incident?: {id, repository}}. In hotfixOnly only hotfix requests are granted. With an incident, hotfixOnly holds for it and normal ends its hold only (normal again once no incident holds it); without, normal ends every hold.',
    },
  );
  setHandler(
    changeModeUpdate,
    (m) => {
      const before = state.mode;
      apply(setMode(state, { mode: m.mode, by: m.by.trim(), reason: m.reason.trim() }, now()));
      return {
        resource: state.resource,
        previous: { ...before, since: iso(before.since) },
        mode: { ...state.mode, since: iso(state.mode.since) },
      };
    },
    {
      validator: (m) => {
        if (m?.mode !== LockMode.normal && m?.mode !== LockMode.hotfixOnly)
          throw new Error('mode must be "normal" or "hotfixOnly"');
        if (typeof m.by !== 'string' || !m.by.trim() || typeof m.reason !== 'string' || !m.reason.trim())
          throw new Error('say who changes the mode and why: {mode, by, reason}');
      },
      description:
        'Hotfix-only mode on or off, answered: {mode: "normal"|"hotfixOnly", by, reason}. Returns the mode before and after; recorded. Normal mode grants waiting releases in arrival order.',
    },
  );
  setHandler(
    forceReleaseUpdate,
    (m) => {
      const h = state.holder;
      if (!h) throw new Error('unreachable: validated'); // the validator rejects a free lock
      apply(forceRelease(state, m, now()));
      return {
        resource: state.resource,
        released: { workflowId: h.requester.workflowId, purpose: h.purpose, token: h.token },
        by: m.by,
        reason: m.reason,
      };
    },
    {
      validator: (m) => {
        if (!m?.by || !m?.reason) throw new Error('say who releases it and why: {by, reason}');
        if (!state.holder) throw new Error(`lock ${state.resource} is not held: nothing to release`);
      },
      description:
        'Operator escape hatch: free the lock by hand, {by, reason}. The holder is revoked and told; recorded.',
    },
  );
  setHandler(statusQuery, () => statusOf(state, run), {
    description:
      'Holder (id, purpose, token, since, lease until), queue, mode, grants so far, recent events.',
  });

  const deliver = (effect: LockEffect): void => {
    inFlight += 1;
    const send = async () => {
      if (effect.kind === 'grant') {
        const { requester, requestId, token, leaseUntil } = effect.holder;
        try {
          await getExternalWorkflowHandle(requester.workflowId, requester.runId).signal(lockGrantedSignal, {
            resource: state.resource,
            requestId,
            token,
            leaseUntil,
            ...(effect.revoked ? { revoked: effect.revoked } : {}),
          });
        } catch (err) {
          // The requester has closed (or never existed): skip it; never fail the lock for it.
          log.info('grant not delivered: requester gone', { workflowId: requester.workflowId, token, err });
          apply(skipClosed(state, token, now()));
        }
      } else {
        const { requester, token, reason, by, detail, force } = effect;
        try {
          await getExternalWorkflowHandle(requester.workflowId, requester.runId).signal(lockRevokedSignal, {
            resource: state.resource,
            token,
            reason,
            by,
            detail,
            ...(force ? { force } : {}),
          });
        } catch {
          // A revoked holder that has closed needs no telling.
        }
      }
    };
    void send().finally(() => {
      inFlight -= 1;
    });
  };

  const limit = input.continueAsNewAfterEvents ?? DEFAULT_CONTINUE_AS_NEW_AFTER;
  const shouldContinueAsNew = (): boolean => {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= limit;
  };
  const grantable = (): boolean => state.holder === null && nextInLine(state) !== undefined;

  for (;;) {
    // Grant in the same workflow task that freed the lock: hand-off costs one task, no more.
    apply(grantNext(state, now()));
    if (outbox.length > 0) {
      for (const effect of outbox.splice(0)) deliver(effect);
      continue;
    }
    if (leaseExpired(state, now())) {
      await checkLease();
      continue;
    }
    if (shouldContinueAsNew()) {
      await condition(() => inFlight === 0 && allHandlersFinished());
      if (outbox.length === 0 && !grantable()) {
        await continueAsNew<typeof lockWorkflow>(input, { state, run });
      }
      continue;
    }
    const wake = () => outbox.length > 0 || grantable() || shouldContinueAsNew();
    if (state.holder) await condition(wake, Math.max(state.holder.leaseUntil - now(), 1));
    else await condition(wake);
  }

  async function checkLease(): Promise<void> {
    const holder = state.holder;
    if (!holder) return;
    let running = true;
    try {
      running = (
        await describeLockHolder.executeWithOptions(
          { summary: `is the holder ${holder.requester.workflowId} still running` },
          [{ ...holder.requester }],
        )
      ).running;
    } catch (err) {
      // Unknown: treat as running, so it is told it lost the lock.
      log.warn('holder liveness check failed', { err });
    }
    if (state.holder?.token === holder.token) apply(expireLease(state, now(), running));
  }
}

function requestProblem(req: LockRequest | undefined): string | undefined {
  if (!req || typeof req !== 'object') return 'no request';
  if (typeof req.requestId !== 'string' || !req.requestId) return 'requestId missing';
  if (typeof req.requester?.workflowId !== 'string' || !req.requester.workflowId)
    return 'requester.workflowId missing';
  if (req.priority !== LockPriority.normal && req.priority !== LockPriority.hotfix)
    return 'priority must be normal or hotfix';
  if (typeof req.leaseMs !== 'number' || !(req.leaseMs > 0)) return 'leaseMs must be a positive number';
  if (req.force && (!req.force.by || !req.force.reason)) return 'force needs {by, reason}';
  return undefined;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function statusOf(state: LockState, run: number): LockStatus {
  const h = state.holder;
  return {
    resource: state.resource,
    workflowId: lockWorkflowId(state.resource),
    holder: h
      ? {
          workflowId: h.requester.workflowId,
          requestId: h.requestId,
          purpose: h.purpose,
          priority: h.priority,
          token: h.token,
          since: iso(h.since),
          leaseUntil: iso(h.leaseUntil),
        }
      : null,
    queue: state.queue.map((q) => ({
      workflowId: q.requester.workflowId,
      requestId: q.requestId,
      purpose: q.purpose,
      priority: q.priority,
      waitingSince: iso(q.waitingSince),
    })),
    mode: { ...state.mode, since: iso(state.mode.since) },
    incidents: (state.incidents ?? []).map((h) => ({ ...h, since: iso(h.since) })),
    grants: state.grants,
    lastToken: state.lastToken,
    revocations: state.revocations,
    run,
    recent: state.log.slice(-20),
  };
}
