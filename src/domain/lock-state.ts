/**
 * The lock's rules as pure functions over plain JSON state: queue order, grant decisions,
 * fencing tokens, revocations, leases and mode. The lock workflow (src/workflows/lock/lock-workflow.ts)
 * applies them and carries out the effects they return (grant and revoke signals).
 * Every function returns a new state; none reads a clock (time is passed in, epoch ms).
 */

export const LockPriority = { normal: 'normal', hotfix: 'hotfix' } as const;
export type LockPriority = (typeof LockPriority)[keyof typeof LockPriority];

export const LockMode = { normal: 'normal', hotfixOnly: 'hotfixOnly' } as const;
export type LockMode = (typeof LockMode)[keyof typeof LockMode];

/** Why a holder lost the lock without releasing it. */
export const RevokeReason = {
  forced: 'forced',
  operatorRelease: 'operatorRelease',
  leaseExpired: 'leaseExpired',
  holderClosed: 'holderClosed',
} as const;
export type RevokeReason = (typeof RevokeReason)[keyof typeof RevokeReason];

/** The workflow run asking for the lock; grants and revocations are signalled to it. */
export interface Requester {
  workflowId: string;
  runId?: string;
}

/** Who forces the lock, and why (the emergency and rollback decisions; recorded). */
export interface ForceInfo {
  by: string;
  reason: string;
  /** The decision that forces it (`emergency`, `rollback`), and the release it is about. */
  decision?: string;
  repository?: string;
  version?: string;
}

/** What a request's holder works on, so a forcer can put it right (its staging back to last good). */
export interface LockSubject {
  repository: string;
  version: string;
}

export interface LockRequest {
  /** Unique per acquisition; a retried request with the same id is the same request. */
  requestId: string;
  requester: Requester;
  purpose: string;
  priority: LockPriority;
  /** Lease length granted on acquisition and on each renewal. */
  leaseMs: number;
  /** Set for a forced acquisition: revokes the holder and is granted ahead of the queue. */
  force?: ForceInfo;
  subject?: LockSubject;
}

/** The holder a forced grant revoked (told to the forcer with its grant). */
export interface RevokedHolder {
  workflowId: string;
  purpose: string;
  token: number;
  subject?: LockSubject;
}

export interface QueuedRequest extends LockRequest {
  waitingSince: number;
}

export interface Holder extends LockRequest {
  token: number;
  since: number;
  leaseUntil: number;
}

/** An open incident that keeps the lock hotfix-only (several may at once). */
export interface IncidentHold {
  /** `HOT-3`. */
  id: string;
  repository: string;
  by: string;
  since: number;
}

/** The incident a mode change is about: hotfix-only for it, or its end. */
export interface ModeIncident {
  id: string;
  repository: string;
}

export interface ModeRecord {
  mode: LockMode;
  by: string;
  reason: string;
  since: number;
}

/** One line of the lock's own record (bounded; newest last). */
export interface LockEvent {
  at: number;
  kind:
    | 'granted'
    | 'released'
    | 'revoked'
    | 'skipped'
    | 'withdrawn'
    | 'modeChanged'
    | 'ignored'
    | 'forceReleased';
  workflowId?: string;
  token?: number;
  detail: string;
}

export interface LockState {
  resource: string;
  holder: Holder | null;
  /** Arrival order; priority is applied when choosing, so waiting order stays visible. */
  queue: QueuedRequest[];
  mode: ModeRecord;
  /**
   * The open incidents holding hotfix-only mode; the lock returns to normal when the last one
   * ends. Absent in state carried from runs before incidents were counted: none.
   */
  incidents?: IncidentHold[];
  /** The newest token handed out; the next grant gets lastToken + 1. */
  lastToken: number;
  grants: number;
  revocations: number;
  log: LockEvent[];
}

/** Something the workflow must tell a requester. */
export type LockEffect =
  | { kind: 'grant'; holder: Holder; revoked?: RevokedHolder }
  | {
      kind: 'revoke';
      requester: Requester;
      token: number;
      reason: RevokeReason;
      by: string;
      detail: string;
      force?: ForceInfo;
    };

export interface Step {
  state: LockState;
  effects: LockEffect[];
}

export const LOG_LIMIT = 50;

export function initialLockState(resource: string, now: number): LockState {
  return {
    resource,
    holder: null,
    queue: [],
    mode: { mode: LockMode.normal, by: 'release-flow', reason: 'initial', since: now },
    lastToken: 0,
    grants: 0,
    revocations: 0,
    log: [],
  };
}

function record(state: LockState, event: LockEvent): LockState {
  const log = [...state.log, event];
  return { ...state, log: log.length > LOG_LIMIT ? log.slice(log.length - LOG_LIMIT) : log };
}

function same(a: Requester, b: Requester): boolean {
  return a.workflowId === b.workflowId;
}

/**
 * A request joins the queue once per requesting workflow: a duplicate (a retried request, or
 * the same workflow asking again) updates its entry in place; a holder asking again is sent
 * its grant again with the same token. A forced request goes to forceAcquire instead.
 */
export function enqueue(state: LockState, req: LockRequest, now: number): Step {
  if (req.force) return forceAcquire(state, req, now);
  if (state.holder && same(state.holder.requester, req.requester)) {
    const holder: Holder = {
      ...state.holder,
      requestId: req.requestId,
      requester: req.requester,
      leaseMs: req.leaseMs,
      leaseUntil: now + req.leaseMs,
    };
    return { state: { ...state, holder }, effects: [{ kind: 'grant', holder }] };
  }
  const at = state.queue.findIndex((q) => same(q.requester, req.requester));
  if (at >= 0) {
    const queue = state.queue.map((q, i) => (i === at ? { ...req, waitingSince: q.waitingSince } : q));
    return { state: { ...state, queue }, effects: [] };
  }
  return { state: { ...state, queue: [...state.queue, { ...req, waitingSince: now }] }, effects: [] };
}

/** May this request be granted in the current mode? */
export function eligible(state: LockState, req: LockRequest): boolean {
  return (
    state.mode.mode !== LockMode.hotfixOnly || req.priority === LockPriority.hotfix || req.force !== undefined
  );
}

/**
 * The request to grant next: a forced request that waited for a hotfix holder (a rollback's
 * staging step, in any mode), else the oldest hotfix, else (normal mode only) the oldest request.
 */
export function nextInLine(state: LockState): QueuedRequest | undefined {
  return (
    state.queue.find((q) => q.force !== undefined) ??
    state.queue.find((q) => q.priority === LockPriority.hotfix) ??
    (state.mode.mode === LockMode.normal ? state.queue[0] : undefined)
  );
}

function grantTo(
  state: LockState,
  req: LockRequest,
  now: number,
  detail: string,
  revoked?: RevokedHolder,
): Step {
  const token = state.lastToken + 1;
  const { force: _force, ...base } = req;
  const holder: Holder = { ...base, token, since: now, leaseUntil: now + req.leaseMs };
  const next: LockState = {
    ...state,
    holder,
    queue: state.queue.filter((q) => !same(q.requester, req.requester)),
    lastToken: token,
    grants: state.grants + 1,
  };
  return {
    state: record(next, { at: now, kind: 'granted', workflowId: req.requester.workflowId, token, detail }),
    effects: [{ kind: 'grant', holder, ...(revoked ? { revoked } : {}) }],
  };
}

/** With the lock free, grant the next eligible request (if any). */
export function grantNext(state: LockState, now: number): Step {
  if (state.holder) return { state, effects: [] };
  const next = nextInLine(state);
  if (!next) return { state, effects: [] };
  return grantTo(state, next, now, `${next.priority}: ${next.purpose}`);
}

function revokeHolder(
  state: LockState,
  now: number,
  reason: RevokeReason,
  by: string,
  detail: string,
  force?: ForceInfo,
): Step {
  const holder = state.holder;
  if (!holder) return { state, effects: [] };
  const next = record(
    { ...state, holder: null, revocations: state.revocations + 1 },
    { at: now, kind: 'revoked', workflowId: holder.requester.workflowId, token: holder.token, detail },
  );
  return {
    state: next,
    effects: [
      {
        kind: 'revoke',
        requester: holder.requester,
        token: holder.token,
        reason,
        by,
        detail,
        ...(force ? { force } : {}),
      },
    ],
  };
}

/**
 * Forced acquisition (seed: "forcibly acquire lock on staging"): the holder is revoked at once
 * and told so, and the forcer is granted ahead of the queue, whatever the mode. A hotfix holder
 * is never revoked: the forced request then waits first in line for its release.
 */
export function forceAcquire(state: LockState, req: LockRequest, now: number): Step {
  const force = req.force ?? { by: req.requester.workflowId, reason: req.purpose };
  let effects: LockEffect[] = [];
  let s = state;
  if (s.holder && same(s.holder.requester, req.requester)) {
    return enqueue(s, { ...req, force: undefined }, now);
  }
  let revoked: RevokedHolder | undefined;
  if (s.holder) {
    if (s.holder.priority === LockPriority.hotfix) {
      const at = s.queue.findIndex((q) => same(q.requester, req.requester));
      const queue =
        at >= 0
          ? s.queue.map((q, i) => (i === at ? { ...req, waitingSince: q.waitingSince } : q))
          : [...s.queue, { ...req, waitingSince: now }];
      return {
        state: record(
          { ...s, queue },
          {
            at: now,
            kind: 'ignored',
            workflowId: req.requester.workflowId,
            detail: `forced request by ${force.by} waits: the hotfix holder is never revoked`,
          },
        ),
        effects: [],
      };
    }
    const h = s.holder;
    revoked = {
      workflowId: h.requester.workflowId,
      purpose: h.purpose,
      token: h.token,
      ...(h.subject ? { subject: h.subject } : {}),
    };
    const r = revokeHolder(
      s,
      now,
      RevokeReason.forced,
      force.by,
      `forced by ${force.by}: ${force.reason}`,
      req.force,
    );
    s = r.state;
    effects = r.effects;
  }
  const g = grantTo(s, req, now, `forced by ${force.by}: ${force.reason}`, revoked);
  return { state: g.state, effects: [...effects, ...g.effects] };
}

function ignored(state: LockState, now: number, workflowId: string, detail: string): Step {
  return { state: record(state, { at: now, kind: 'ignored', workflowId, detail }), effects: [] };
}

/** A release counts only from the current holder with the current token. */
export function release(state: LockState, msg: { workflowId: string; token: number }, now: number): Step {
  const h = state.holder;
  if (!h || h.requester.workflowId !== msg.workflowId || h.token !== msg.token)
    return ignored(state, now, msg.workflowId, `release with token ${msg.token} from a non-holder`);
  return {
    state: record(
      { ...state, holder: null },
      { at: now, kind: 'released', workflowId: msg.workflowId, token: h.token, detail: 'released' },
    ),
    effects: [],
  };
}

/** A renewal extends the lease only for the current holder with the current token. */
export function renew(state: LockState, msg: { workflowId: string; token: number }, now: number): Step {
  const h = state.holder;
  if (!h || h.requester.workflowId !== msg.workflowId || h.token !== msg.token)
    return ignored(state, now, msg.workflowId, `renewal with token ${msg.token} from a non-holder`);
  return { state: { ...state, holder: { ...h, leaseUntil: now + h.leaseMs } }, effects: [] };
}

/** A waiting requester gives up; a holder withdrawing its own request releases the lock. */
export function withdraw(
  state: LockState,
  msg: { workflowId: string; requestId: string },
  now: number,
): Step {
  const h = state.holder;
  if (h && h.requester.workflowId === msg.workflowId && h.requestId === msg.requestId)
    return release(state, { workflowId: msg.workflowId, token: h.token }, now);
  const queue = state.queue.filter(
    (q) => !(q.requester.workflowId === msg.workflowId && q.requestId === msg.requestId),
  );
  if (queue.length === state.queue.length) return { state, effects: [] };
  return {
    state: record(
      { ...state, queue },
      { at: now, kind: 'withdrawn', workflowId: msg.workflowId, detail: 'request withdrawn' },
    ),
    effects: [],
  };
}

/**
 * Hotfix-only mode on or off (seed: "disable lock acquisition by any process not part of a
 * hotfix"). A change that names its incident counts it: hotfix-only joins the incident to the
 * holds, normal ends that incident's hold and returns the lock to normal only when no other
 * incident holds it (docs/pipelines-and-decisions.md "Hotfix flow": staging stays hotfix-only while any incident is
 * open). A change naming no incident is an operator's command and applies as it says; normal
 * then ends every hold.
 */
export function setMode(
  state: LockState,
  msg: { mode: LockMode; by: string; reason: string; incident?: ModeIncident },
  now: number,
): Step {
  const holds = state.incidents ?? [];
  const incident = msg.incident;
  if (incident && msg.mode === LockMode.hotfixOnly) {
    const incidents = holds.some((h) => h.id === incident.id && h.repository === incident.repository)
      ? holds
      : [...holds, { id: incident.id, repository: incident.repository, by: msg.by, since: now }];
    const mode: ModeRecord =
      state.mode.mode === LockMode.hotfixOnly
        ? state.mode
        : { mode: msg.mode, by: msg.by, reason: msg.reason, since: now };
    return {
      state: record(
        { ...state, mode, incidents },
        { at: now, kind: 'modeChanged', detail: `${msg.mode} by ${msg.by}: ${msg.reason}` },
      ),
      effects: [],
    };
  }
  if (incident) {
    const incidents = holds.filter((h) => !(h.id === incident.id && h.repository === incident.repository));
    if (incidents.length > 0) {
      const still = incidents.map((h) => `${h.id} (${h.repository})`).join(', ');
      return {
        state: record(
          { ...state, incidents },
          {
            at: now,
            kind: 'modeChanged',
            detail: `${incident.id} ended by ${msg.by}: ${msg.reason}; still hotfix-only for ${still}`,
          },
        ),
        effects: [],
      };
    }
  }
  const mode: ModeRecord = { mode: msg.mode, by: msg.by, reason: msg.reason, since: now };
  const ended = msg.mode === LockMode.normal ? holds.filter((h) => h.id !== incident?.id) : [];
  const detail = `${msg.mode} by ${msg.by}: ${msg.reason}${ended.length ? `; ended the hold of ${ended.map((h) => h.id).join(', ')}` : ''}`;
  return {
    state: record(
      { ...state, mode, ...(msg.mode === LockMode.normal && state.incidents ? { incidents: [] } : {}) },
      { at: now, kind: 'modeChanged', detail },
    ),
    effects: [],
  };
}

/** The operator's escape hatch: free the lock by hand; the holder is revoked and told. */
export function forceRelease(state: LockState, msg: ForceInfo, now: number): Step {
  if (!state.holder) return { state, effects: [] };
  const r = revokeHolder(
    state,
    now,
    RevokeReason.operatorRelease,
    msg.by,
    `released by hand by ${msg.by}: ${msg.reason}`,
  );
  return {
    state: record(r.state, { at: now, kind: 'forceReleased', detail: `${msg.by}: ${msg.reason}` }),
    effects: r.effects,
  };
}

/** Has the holder's lease run out? */
export function leaseExpired(state: LockState, now: number): boolean {
  return state.holder !== null && now >= state.holder.leaseUntil;
}

/**
 * The lease ran out and the holder's real state is known: a closed holder is dropped, a
 * running one that stopped renewing is revoked and told. Nothing happens if it renewed meanwhile.
 */
export function expireLease(state: LockState, now: number, holderRunning: boolean): Step {
  if (!leaseExpired(state, now)) return { state, effects: [] };
  if (holderRunning)
    return revokeHolder(state, now, RevokeReason.leaseExpired, 'lease', 'lease ran out without renewal');
  const r = revokeHolder(state, now, RevokeReason.holderClosed, 'lease', 'holder workflow has closed');
  return { state: r.state, effects: [] };
}

/** A grant could not be delivered because the requester has closed: skip it, free the lock. */
export function skipClosed(state: LockState, token: number, now: number): Step {
  const h = state.holder;
  if (!h || h.token !== token) return { state, effects: [] };
  return {
    state: record(
      { ...state, holder: null },
      { at: now, kind: 'skipped', workflowId: h.requester.workflowId, token, detail: 'requester has closed' },
    ),
    effects: [],
  };
}
