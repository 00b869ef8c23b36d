/**
 * The decision desk of a production release (docs/pipelines-and-decisions.md "Decisions, forced take-over and
 * rollback"): whether a decision is awaited, the one accepted, and the ones refused. A pure
 * reducer, like the lock's (`lock-state.ts`): each function takes the desk and what arrived and
 * returns the new desk and what came of it; the production workflow registers the signals, the
 * `decide` update and the default signal handler, and only applies these steps and logs them.
 * Signals and the update are judged by the same rules (`decisionRejection`), so both doors
 * answer the same way.
 */
import {
  decisionRejection,
  isDecision,
  type Decision,
  type DecisionRecord,
  type Deciders,
  type RejectedDecision,
} from './production-decisions';

/** Refused decisions kept on the desk, newest last (the log keeps every one). */
export const MAX_REJECTED = 20;

export interface DecisionDesk {
  /** True while a decision is awaited (after the trouble was paged, before one was accepted). */
  awaiting: boolean;
  /** Why nothing is awaited, in words; the rejection of an early or late decision says it. */
  notAwaitedBecause: string;
  /** Accepted decisions (at most one). */
  decisions: DecisionRecord[];
  /** Refused decisions, newest last, at most MAX_REJECTED. */
  rejected: RejectedDecision[];
}

export type Door = 'signal' | 'update';

/** What came of a decision offered to the desk: the desk after it, and the record made. */
export type DeskStep =
  | { desk: DecisionDesk; accepted: DecisionRecord; rejected?: undefined }
  | { desk: DecisionDesk; rejected: RejectedDecision; accepted?: undefined };

export function openingDesk(notAwaitedBecause: string): DecisionDesk {
  return { awaiting: false, notAwaitedBecause, decisions: [], rejected: [] };
}

/** The decision accepted so far, if any. */
export function takenDecision(desk: DecisionDesk): DecisionRecord | undefined {
  return desk.decisions[desk.decisions.length - 1];
}

/** A decision is now awaited. */
export function awaitDecisions(desk: DecisionDesk): DecisionDesk {
  return { ...desk, awaiting: true };
}

/** Nothing is awaited any more (the run failed or ended). */
export function stopAwaiting(desk: DecisionDesk): DecisionDesk {
  return { ...desk, awaiting: false };
}

/** Why a decision now would be refused, as the release moves on (deploying, watching, healthy). */
export function explainWait(desk: DecisionDesk, because: string): DecisionDesk {
  return { ...desk, notAwaitedBecause: because };
}

/** Why the desk refuses `decision` from `by` now, or null when it would accept it. */
export function refusal(
  desk: DecisionDesk,
  deciders: Deciders | undefined,
  request: { decision: unknown; by: unknown },
): string | null {
  const taken = takenDecision(desk);
  return decisionRejection(
    { awaiting: desk.awaiting, ...(taken ? { taken } : {}), notAwaitedBecause: desk.notAwaitedBecause },
    deciders,
    request,
  );
}

/** Records a decision that was already judged acceptable (the update's validator ran first). */
export function accept(
  desk: DecisionDesk,
  decision: Decision,
  payload: { by: string; reason?: unknown },
  via: Door,
  at: string,
): DeskStep {
  const reason =
    typeof payload.reason === 'string' && payload.reason.trim() ? payload.reason.trim() : undefined;
  const record: DecisionRecord = { decision, by: payload.by.trim(), ...(reason ? { reason } : {}), at, via };
  return {
    desk: {
      ...desk,
      awaiting: false,
      notAwaitedBecause: `${decision} was decided by ${record.by}`,
      decisions: [...desk.decisions, record],
    },
    accepted: record,
  };
}

/** Records a refusal: the name as sent, who and why, whatever the payload held. */
export function reject(
  desk: DecisionDesk,
  name: string,
  payload: unknown,
  via: Door,
  at: string,
  why: string,
): DeskStep {
  const p = (payload ?? {}) as { by?: unknown; reason?: unknown };
  const record: RejectedDecision = {
    decision: name,
    by: typeof p.by === 'string' ? p.by : '',
    ...(typeof p.reason === 'string' ? { reason: p.reason } : {}),
    at,
    via,
    why,
  };
  return { desk: { ...desk, rejected: [...desk.rejected, record].slice(-MAX_REJECTED) }, rejected: record };
}

/** One of the decision signals (`emergency`, `rollback`, `failForward`) arrived. */
export function signalled(
  desk: DecisionDesk,
  deciders: Deciders | undefined,
  decision: Decision,
  payload: unknown,
  at: string,
): DeskStep {
  const p = (payload ?? {}) as { by?: unknown; reason?: unknown };
  const why = refusal(desk, deciders, { decision, by: p.by });
  if (why) return reject(desk, decision, payload, 'signal', at, why);
  return accept(desk, decision, p as { by: string; reason?: unknown }, 'signal', at);
}

/**
 * A signal no handler took (a mistyped name such as `fail-forward` would otherwise wait unseen
 * in the history): refused, saying what the name should have been.
 */
export function strayed(
  desk: DecisionDesk,
  deciders: Deciders | undefined,
  name: string,
  payload: unknown,
  at: string,
): DeskStep {
  const why = isDecision(name)
    ? 'internal: no handler'
    : (refusal(desk, deciders, { decision: name, by: 'x' }) ?? 'unknown signal');
  return reject(desk, name, payload, 'signal', at, why);
}
