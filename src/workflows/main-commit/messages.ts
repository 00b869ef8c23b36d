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
  /**
   * `superseded`: dev already ran a newer commit of this one's line (an out-of-order or
   * redelivered push), so nothing was built, deployed or tagged; `supersededBy` names it.
   */
  state: 'released' | 'no-release' | 'preempted' | 'superseded';
  tag: string | null;
  bump: string | null;
  lastTag: string | null;
  preemptedBy?: string;
  supersededBy?: string;
  /** Released from a repository with no webhook source: the tag pipeline this run started. */
  tagWorkflowId?: string;
}
