/**
 * Commit statuses: how release-flow reports on a commit where developers look (the pull
 * request's checks, the commit list). One context per concern, so branch protection can
 * require the policy without requiring a production deploy.
 */

import type { CommitState } from '../domain/commit-status';

export { CommitStates, StatusContexts, type CommitState, type StatusContext } from '../domain/commit-status';

export interface CommitStatus {
  sha: string;
  context: string;
  state: CommitState;
  /** At most 140 characters (GitHub's limit); longer text is cut. */
  description: string;
  /** Where "Details" leads: the workflow in the Temporal UI. */
  targetUrl?: string;
}

export interface PostOptions {
  /** Aborts the post: a status given up on must not land later, over a newer one. */
  signal?: AbortSignal;
}

export interface CommitStatuses {
  post(status: CommitStatus, options?: PostOptions): Promise<void>;
}
