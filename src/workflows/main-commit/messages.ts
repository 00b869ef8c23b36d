/**
 * The main-commit pipeline's input and outcome (`mainCommitWorkflow`, id
 * `main-commit:<repository>:<commit sha>`). It answers the pipelines' `status` query
 * (shared/messages.ts) with stage `main-commit`.
 */

export interface MainCommitInput {
  repository: string;
  /** Full commit hash of the pushed head. */
  commit: string;
}

export interface MainCommitOutcome {
  state: 'released' | 'no-release' | 'preempted';
  tag: string | null;
  bump: string | null;
  lastTag: string | null;
  preemptedBy?: string;
}
