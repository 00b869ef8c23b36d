/**
 * What every pipeline workflow answers and how it is named. Imported by workflows and clients.
 *
 * Workflow ids are business keys (README "Workflow ids"):
 *   main-commit:<repository>:<commit sha>      stage 1
 *   tag:<repository>:<vX.Y.Z>                  stage 2
 *   production:<repository>:<vX.Y.Z>           stage 3
 * so a redelivered webhook or a repeated CLI start finds the run that already exists.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type {
  DecisionRecord,
  Deciders,
  HotfixStatus,
  PageRecord,
  ProductionEscalationSettings,
  ProductionHealthSettings,
  ProductionHealthStatus,
  RejectedDecision,
} from './production-messages';

export const PipelineStages = {
  mainCommit: 'main-commit',
  tag: 'tag',
  production: 'production',
  /** A push to `HOT-<n>` (README "Hotfix flow"); id `hotfix:<repository>:HOT-<n>:<sha>`. */
  hotfix: 'hotfix',
} as const;
export type PipelineStage = (typeof PipelineStages)[keyof typeof PipelineStages];

export function pipelineWorkflowId(stage: PipelineStage, repository: string, key: string): string {
  return `${stage}:${repository}:${key}`;
}

export const StepStates = {
  pending: 'pending',
  running: 'running',
  done: 'done',
  skipped: 'skipped',
  failed: 'failed',
} as const;
export type StepState = (typeof StepStates)[keyof typeof StepStates];

export interface StepRecord {
  name: string;
  state: StepState;
  /** ISO times from the workflow clock. */
  startedAt?: string;
  endedAt?: string;
  /** One line: what came out (`v1.3.0`, `reused earlier passing run`) or what failed. */
  detail?: string;
}

export const PipelineStates = {
  running: 'running',
  succeeded: 'succeeded',
  noRelease: 'no-release',
  failed: 'failed',
  preempted: 'preempted',
  /** Production: the breach was answered by rolling back. */
  rolledBack: 'rolled-back',
  /** Production: an emergency was declared; the hotfix is pending. */
  hotfixPending: 'hotfix-pending',
  /** Production: the breach was answered by failing forward (nothing changed). */
  failedForward: 'failed-forward',
  /** Production: a newer version was deployed while this one was being watched. */
  superseded: 'superseded',
} as const;
export type PipelineState = (typeof PipelineStates)[keyof typeof PipelineStates];

/** Failure types the pipelines end with (ApplicationFailure.type). */
export const PipelineFailures = {
  failed: 'PipelineFailed',
  /** Staging was taken from the run (emergency, rollback): it names who, for which release, why. */
  preempted: 'Preempted',
} as const;

export interface PipelineStatus {
  stage: PipelineStage;
  repository: string;
  commit?: string;
  version?: string;
  state: PipelineState;
  /** The step running now, or the last one. */
  step: string;
  steps: StepRecord[];
  /** Versions per environment as this pipeline left them (or found them). */
  environments: { dev?: string; staging?: string; production?: string };
  failure?: { step: string; type: string; message: string };
  /** Who took the lock away, when preempted. */
  preemptedBy?: string;
  // ---- production only ----
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
  /** Tag pipeline of a repository with requirePromote: staging passed, waiting for `promote`. */
  awaitingPromotion?: boolean;
}

export const statusQuery = defineQuery<PipelineStatus>('status');

/** Registered workflow type names, for clients that start pipelines by name. */
export const PipelineWorkflowTypes = {
  'main-commit': 'mainCommitWorkflow',
  tag: 'tagReleaseWorkflow',
  production: 'productionReleaseWorkflow',
  hotfix: 'hotfixWorkflow',
} as const satisfies Record<PipelineStage, string>;

export interface MainCommitInput {
  repository: string;
  /** Full commit hash of the pushed head. */
  commit: string;
}

export interface TagReleaseInput {
  repository: string;
  /** The release tag (`v1.3.0`), matching the repository's release tag pattern. */
  tag: string;
  /** The commit the tag marks (its artifact in the dev repository is tagged with this hash). */
  commit: string;
}

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

export interface PromoteRequest {
  by: string;
  reason?: string;
}

/** To a tag pipeline waiting for promotion: hand the version to production. */
export const promoteSignal = defineSignal<[PromoteRequest]>('promote');
