/**
 * Commit statuses: how release-flow reports on a commit where developers look (the pull
 * request's checks, the commit list). One context per concern, so branch protection can
 * require the policy without requiring a production deploy. The names the workflows post under;
 * the port that posts them is `ports/commit-statuses.ts`.
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
  /** The hotfix pipeline of a `HOT-<n>` push (docs/pipelines-and-decisions.md "Hotfix flow"). */
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
