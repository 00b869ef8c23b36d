/**
 * What the production pipeline (`productionReleaseWorkflow`, id `production:<repository>:<vX.Y.Z>`)
 * can be told, and the settings it takes. Wire names are a public API, typed into the Temporal
 * UI and `temporal workflow signal`; keep them stable:
 *
 *   signal  emergency    {"by":"alice","reason":"checkout down"}
 *   signal  rollback     {"by":"alice","reason":"..."}
 *   signal  failForward  {"by":"alice","reason":"..."}
 *   update  decide       {"decision":"rollback","by":"alice","reason":"..."}  -> DecisionRecord, or rejected with why
 *   query   status       ProductionStatus
 *
 * A decision is accepted only while one is awaited (after a breach was alerted), once, from
 * someone the `deciders` setting allows. A refused signal changes nothing and is listed in the
 * status as `rejectedDecisions` with the reason; a refused update is rejected with that reason.
 */
import type { Duration } from '@temporalio/common';
import { defineSignal, defineUpdate } from '@temporalio/workflow';
import type { HealthParameters, HealthSample, HealthVerdictKind } from '../../domain/health-verdict';
import type { Decision, DecisionRecord, Deciders, RejectedDecision } from '../../domain/production-decisions';
import { statusQueryOf, type PipelineStatus } from '../shared/messages';

export type { Decision, DecisionRecord, Deciders, RejectedDecision };

export interface ProductionReleaseInput {
  repository: string;
  /** The release tag being promoted (`v1.3.0`). */
  version: string;
  commit: string;
  /** The health watch (defaults: 30 minutes, a sample a minute, the rules' default parameters). */
  health?: ProductionHealthSettings;
  /** Re-alert and escalation delays while a decision is awaited (defaults: 15 minutes, 1 hour). */
  escalation?: ProductionEscalationSettings;
  /** Who may take each decision (default: anyone). */
  deciders?: Deciders;
}

export interface ProductionOutcome {
  state: 'healthy' | 'hotfix-pending' | 'rolled-back' | 'failed-forward' | 'superseded';
  /** When superseded: the version that replaced this one. */
  supersededBy?: string;
  version: string;
  /** The production version before this one, or null for a first release. */
  previousVersion: string | null;
  verdict: HealthVerdictKind;
  reason: string;
  decision?: DecisionRecord;
  hotfix?: HotfixStatus;
  retrospective?: { id: string; url: string };
  /** A healthy hotfix: the incident it closed and the pull request back into the default branch. */
  closedIncident?: { id: string; pullRequest: { number: number; url: string } | null };
}

/** The production pipeline's status: a pipeline's, plus the health watch and the decision desk. */
export interface ProductionStatus extends PipelineStatus {
  /** The health watch: verdict, window, the newest samples. */
  health?: ProductionHealthStatus;
  /** True while one of the decisions (emergency, rollback, failForward) is awaited. */
  awaitingDecision?: boolean;
  /** When the wait began (ISO, workflow clock). */
  awaitingSince?: string;
  /** Accepted decisions (at most one): who, when, why. */
  decisions?: DecisionRecord[];
  /** Decisions that changed nothing (late, duplicate, unknown, not allowed), newest last, bounded. */
  rejectedDecisions?: RejectedDecision[];
  /** Pages sent about this release. */
  pages?: PageRecord[];
  /** After an emergency: the pending hotfix. */
  hotfix?: HotfixStatus;
  /** The retrospective page of an emergency or rollback. */
  retrospective?: { id: string; url: string };
}

export const productionStatusQuery = statusQueryOf<ProductionStatus>();

/** Payload of the three decision signals. */
export interface DecisionPayload {
  /** Who decides (a person's name as the `deciders` setting knows it). */
  by: string;
  reason?: string;
}

/** Argument of the `decide` update. */
export interface DecideRequest extends DecisionPayload {
  decision: Decision;
}

/** SEV-1: escalate, force staging, `HOT-<n>` ticket, wiki page and branch, staging hotfix-only. */
export const emergencySignal = defineSignal<[DecisionPayload]>('emergency');
/** Production back to the previous version, staging to its last good one, `ROLLBACK-<n>` page. */
export const rollbackSignal = defineSignal<[DecisionPayload]>('rollback');
/** Record the decision and change nothing. */
export const failForwardSignal = defineSignal<[DecisionPayload]>('failForward');
/** Any of the three, answered: the recorded decision, or a rejection saying why. */
export const decideUpdate = defineUpdate<DecisionRecord, [DecideRequest]>('decide');

/** From the production pipeline of a newer version of the same repository: it now runs in production. */
export interface SupersededNotice {
  version: string;
  workflowId: string;
}

/**
 * Sent by the next release's production pipeline once it is deployed: this release no longer
 * runs, so its health watch ends (`superseded`) instead of judging the newer version's traffic.
 */
export const supersededSignal = defineSignal<[SupersededNotice]>('superseded');

/** The health watch after deploying to production (plain data from config). */
export interface ProductionHealthSettings {
  /** Overrides of the verdict parameters (src/domain/health-verdict.ts defaults). */
  parameters?: Partial<HealthParameters>;
  /** How long production is watched (default 30 minutes). */
  window?: Duration;
  /** Time between samples (default 1 minute; raised so a window holds at most 240 samples). */
  sampleInterval?: Duration;
}

/** Who is paged while a decision is awaited, and when. */
export interface ProductionEscalationSettings {
  /** Page the development team again after this long without a decision (default 15 minutes). */
  realertAfter?: Duration;
  /** Page operations after this long without a decision, once (default 1 hour). */
  escalateAfter?: Duration;
  /** Alert team names (defaults `development`, `operations`). */
  developmentTeam?: string;
  operationsTeam?: string;
}

/** The health watch as the status query shows it. */
export interface ProductionHealthStatus {
  verdict: HealthVerdictKind;
  reason: string;
  /** ISO times of the window (workflow clock). */
  windowStart: string;
  windowEnd: string;
  sampleIntervalMs: number;
  parameters: HealthParameters;
  /** Samples taken so far. */
  sampleCount: number;
  /** The newest samples (bounded), oldest first. */
  samples: HealthSample[];
}

/**
 * An emergency's hotfix: pending until a push to its branch runs the hotfix pipeline (docs/pipelines-and-decisions.md
 * "Hotfix flow"); `continued` when the emergency was declared on a hotfix of an open incident.
 */
export interface HotfixStatus {
  id: string;
  branch: string;
  state: 'pending' | 'continued';
  /** Empty while the ticket (or page) is still pending. */
  ticketUrl: string;
  wikiUrl: string;
  /**
   * The ticket and the retrospective page, which follow the emergency when the ticket system
   * answers: `pending` with the last attempt's error while it is away.
   */
  ticket?: DocumentProgress;
  wiki?: DocumentProgress;
}

/** A ticket or page an emergency files after its urgent steps, retried until it answers. */
export interface DocumentProgress {
  /** `failed`: refused for good (a setting or permission to fix); the error says what. */
  state: 'pending' | 'done' | 'failed';
  attempts: number;
  /** The newest failed attempt's error, while pending or failed. */
  lastError?: string;
  lastAttemptAt?: string;
  url?: string;
}

/** A page sent while the release was breached. */
export interface PageRecord {
  key: string;
  team: string;
  kind: 'decision-needed' | 'escalation' | 'emergency';
  at: string;
  /** Each alert channel's outcome (docs/integrations.md "Alerts: Slack and PagerDuty"): a channel that was down says so here. */
  deliveries?: {
    channel: string;
    type: string;
    state: 'delivered' | 'failed';
    attempts: number;
    error?: string;
  }[];
}
