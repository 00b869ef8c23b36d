/**
 * Commit statuses: how release-flow reports on a commit where developers look (the pull
 * request's checks, the commit list). One context per concern, so branch protection can
 * require the policy without requiring a production deploy.
 */

/** Status contexts; their names are public (branch protection rules name them). */
export const StatusContexts = {
  /** The pull-request gate (stage 0). */
  policy: 'release-flow/policy',
  /** The pull-request build and unit tests. */
  build: 'release-flow/build',
  /** The main-commit pipeline (stage 1). */
  main: 'release-flow/main',
  /** The tag pipeline in staging (stage 2). */
  staging: 'release-flow/staging',
  /** The production release and its health watch (stage 3). */
  production: 'release-flow/production',
  /** The hotfix pipeline of a `HOT-<n>` push (README "Hotfix flow"). */
  hotfix: 'release-flow/hotfix',
} as const;
export type StatusContext = (typeof StatusContexts)[keyof typeof StatusContexts];

/** GitHub's commit status states. */
export const CommitStates = {
  pending: 'pending',
  success: 'success',
  failure: 'failure',
  error: 'error',
} as const;
export type CommitState = (typeof CommitStates)[keyof typeof CommitStates];

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
