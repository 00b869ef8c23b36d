/**
 * What every pipeline workflow answers and how it is named: stages, ids, steps, states, the
 * status every pipeline shows, and the one `status` query every workflow here answers. Each
 * stage's own messages file (`<stage>/messages.ts`) adds its input, outcome and status fields.
 * Imported by workflows and clients.
 *
 * Workflow ids are business keys (docs/pipelines-and-decisions.md "The pipelines"):
 *   main-commit:<repository>:<commit sha>      stage 1
 *   tag:<repository>:<vX.Y.Z>                  stage 2
 *   production:<repository>:<vX.Y.Z>           stage 3
 * so a redelivered webhook or a repeated CLI start finds the run that already exists.
 */
import { defineQuery, type QueryDefinition } from '@temporalio/workflow';

export const PipelineStages = {
  mainCommit: 'main-commit',
  tag: 'tag',
  production: 'production',
  /** A push to `HOT-<n>` (docs/pipelines-and-decisions.md "Hotfix flow"); id `hotfix:<repository>:HOT-<n>:<sha>`. */
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
  /** Hotfix: a push to the branch of an incident that is closed; nothing ran, nobody was alerted. */
  ignored: 'ignored',
} as const;
export type PipelineState = (typeof PipelineStates)[keyof typeof PipelineStates];

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
  /** Main-commit, superseded: the newer commit dev runs (this run's commit is one of its ancestors). */
  supersededBy?: string;
}

// Defined once: a query is matched by name, and every workflow here answers `status`.
const anyStatusQuery = defineQuery<unknown>('status');

/** The `status` query, typed as the status of the workflow it is sent to. */
export function statusQueryOf<Status>(): QueryDefinition<Status> {
  return anyStatusQuery as QueryDefinition<Status>;
}

/** The status of any pipeline: stage, steps, versions, failure (the stage adds its own fields). */
export const statusQuery = statusQueryOf<PipelineStatus>();

/** Registered workflow type names, for clients that start pipelines by name. */
export const PipelineWorkflowTypes = {
  'main-commit': 'mainCommitWorkflow',
  tag: 'tagReleaseWorkflow',
  production: 'productionReleaseWorkflow',
  hotfix: 'hotfixWorkflow',
} as const satisfies Record<PipelineStage, string>;
