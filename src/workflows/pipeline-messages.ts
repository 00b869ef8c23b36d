/**
 * What every pipeline workflow answers and how it is named. Imported by workflows and clients.
 *
 * Workflow ids are business keys (README "Workflow ids"):
 *   main-commit:<repository>:<commit sha>      stage 1
 *   tag:<repository>:<vX.Y.Z>                  stage 2
 *   production:<repository>:<vX.Y.Z>           stage 3
 * so a redelivered webhook or a repeated CLI start finds the run that already exists.
 */
import { defineQuery } from '@temporalio/workflow';

export const PipelineStages = {
  mainCommit: 'main-commit',
  tag: 'tag',
  production: 'production',
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
}

export const statusQuery = defineQuery<PipelineStatus>('status');

/** Registered workflow type names, for clients that start pipelines by name. */
export const PipelineWorkflowTypes = {
  'main-commit': 'mainCommitWorkflow',
  tag: 'tagReleaseWorkflow',
  production: 'productionReleaseWorkflow',
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
}
