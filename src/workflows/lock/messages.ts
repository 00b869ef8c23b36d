/**
 * The lock's public messages: what the lock workflow can be told and asked, and what it tells
 * the workflows that hold or wait for it. Wire names are a public API (typed into the Temporal
 * UI and `temporal workflow signal`): keep them stable.
 *
 * Ids: one lock workflow per resource, id `lock:<resource>`, e.g. `lock:staging` and
 * `lock:repo:<owner>/<name>` (the per-repository lock that serialises main-commit pipelines).
 */
import { defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  ForceInfo,
  Holder,
  IncidentHold,
  LockEvent,
  LockMode,
  ModeIncident,
  LockRequest,
  LockSubject,
  ModeRecord,
  QueuedRequest,
  RevokedHolder,
  RevokeReason,
} from '../../domain/lock-state';
import { statusQueryOf } from '../shared/messages';

export type {
  ForceInfo,
  Holder,
  IncidentHold,
  LockEvent,
  LockMode,
  ModeIncident,
  LockRequest,
  LockSubject,
  ModeRecord,
  QueuedRequest,
  RevokedHolder,
  RevokeReason,
};

/**
 * The registered type of the lock workflow. Activities and the CLI start and signal it by this
 * name (as Temporal's mutex sample does), so nothing outside workflow code imports the workflow.
 */
export const LOCK_WORKFLOW_TYPE = 'lockWorkflow';

/** The lock workflow's signature, for typed starts by name. */
export type LockWorkflowSignature = (input: LockInput) => Promise<never>;

export const LOCK_ID_PREFIX = 'lock:';
const RESOURCE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$/;

/** `staging` -> `lock:staging`. */
export function lockWorkflowId(resource: string): string {
  return `${LOCK_ID_PREFIX}${resource}`;
}

/** The resource of the per-repository lock: `repo:<owner>/<name>`. */
export function repositoryLockResource(repository: string): string {
  return `repo:${repository}`;
}

export function isValidLockResource(resource: string): boolean {
  return RESOURCE_PATTERN.test(resource);
}

/** Input of the lock workflow (the same on every continue-as-new run). */
export interface LockInput {
  resource: string;
  /** Continue as new at this history length even if the server has not suggested it. */
  continueAsNewAfterEvents?: number;
}

// ---- told to the lock workflow (signals: other workflows can send them) ----

/** Ask for the lock (or, with `force`, take it at once). Payload: LockRequest. */
export const requestSignal = defineSignal<[LockRequest]>('request');
/** Give the lock back. Counts only from the current holder with the current token. */
export const releaseSignal = defineSignal<[ReleaseMessage]>('release');
/** Extend the holder's lease by its lease length. */
export const renewSignal = defineSignal<[ReleaseMessage]>('renew');
/** Give up a waiting request (a holder withdrawing releases). */
export const withdrawSignal = defineSignal<[WithdrawMessage]>('withdraw');
/** Hotfix-only mode on (`hotfixOnly`) or off (`normal`), recorded with who and why. */
export const setModeSignal = defineSignal<[SetModeMessage]>('setMode');

export interface ReleaseMessage {
  workflowId: string;
  token: number;
}
export interface WithdrawMessage {
  workflowId: string;
  requestId: string;
}
export interface SetModeMessage {
  mode: LockMode;
  by: string;
  reason: string;
  /**
   * Sent by the pipelines: the incident this change is about. Hotfix-only then holds for it,
   * and normal ends its hold only; the lock is normal again when no open incident holds it.
   * Without it (a person's command), the mode is set as said, and normal ends every hold.
   */
  incident?: ModeIncident;
}

// ---- asked of the lock workflow ----

/** Operator escape hatch: free the lock by hand, revoking the holder. Rejected when it is free. */
export const forceReleaseUpdate = defineUpdate<ForceReleaseResult, [ForceInfo]>('forceRelease');

export interface ForceReleaseResult {
  resource: string;
  released: { workflowId: string; purpose: string; token: number };
  by: string;
  reason: string;
}

/**
 * Hotfix-only mode on or off with an answer (the CLI's `lock mode`): {mode, by, reason}, both
 * required; returns the mode before and after. Recorded in the lock's events like the signal.
 */
export const changeModeUpdate = defineUpdate<ModeChangeResult, [SetModeMessage]>('changeMode');

export interface ModeChangeResult {
  resource: string;
  previous: { mode: LockMode; by: string; reason: string; since: string };
  mode: { mode: LockMode; by: string; reason: string; since: string };
}

/** Holder, queue, mode and counters. */
export const statusQuery = statusQueryOf<LockStatus>();

export interface LockStatus {
  resource: string;
  workflowId: string;
  holder: {
    workflowId: string;
    requestId: string;
    purpose: string;
    priority: string;
    token: number;
    since: string;
    leaseUntil: string;
  } | null;
  queue: { workflowId: string; requestId: string; purpose: string; priority: string; waitingSince: string }[];
  mode: { mode: LockMode; by: string; reason: string; since: string };
  /** The open incidents holding hotfix-only mode, oldest first (empty in normal mode). */
  incidents: { id: string; repository: string; by: string; since: string }[];
  /** Grants so far, and the newest fencing token. */
  grants: number;
  lastToken: number;
  revocations: number;
  /** Runs of this lock so far (continue-as-new count + 1). */
  run: number;
  recent: LockEvent[];
}

// ---- told by the lock to requesters (the helper registers these) ----

/** The lock is yours: use `token` with everything you do to the resource. */
export const lockGrantedSignal = defineSignal<[LockGrant]>('lockGranted');
/** The lock was taken from you: stop work, do not release or use it. */
export const lockRevokedSignal = defineSignal<[LockRevocation]>('lockRevoked');

export interface LockGrant {
  resource: string;
  requestId: string;
  token: number;
  leaseUntil: number;
  /** A forced grant: the holder it revoked, whose work the forcer puts right. */
  revoked?: RevokedHolder;
}

export interface LockRevocation {
  resource: string;
  token: number;
  reason: RevokeReason;
  by: string;
  detail: string;
  /** A forced revocation: who forced it, why, and for which decision and release. */
  force?: ForceInfo;
}
