/**
 * What the pull-request gate workflows (docs/pipelines-and-decisions.md "The pull-request gate (stage 0)") take, answer and
 * are named. Imported by the workflows, the activities and clients (starter, receiver).
 *
 * Workflow ids are business keys:
 *   pr-gate:<repository>#<number>:<head sha>     one check of one pull request head
 *   pr-recheck:<repository>:<base head sha>      every open pull request after the base moved
 * so a redelivered webhook finds the check that already ran for the same head.
 */
import type { PrVerdict } from '../../domain/pr-policy';
import type { CommitState } from '../../domain/commit-status';
import { statusQueryOf } from '../shared/messages';

/** Registered workflow type names, for clients that start the gate by name. */
export const PullRequestGateWorkflowTypes = {
  gate: 'pullRequestGateWorkflow',
  recheck: 'recheckOpenPullRequestsWorkflow',
} as const;

export function pullRequestGateWorkflowId(repository: string, number: number, head: string): string {
  return `pr-gate:${repository}#${number}:${head}`;
}

export function pullRequestRecheckWorkflowId(repository: string, baseSha: string): string {
  return `pr-recheck:${repository}:${baseSha}`;
}

export interface PullRequestGateInput {
  /** `OWNER/REPO`, as configured. */
  repository: string;
  number: number;
  /** The pull request's head commit. */
  head: string;
  /** The head branch's short name (`nyefan/JIRA-1234`). */
  branch: string;
  /** The branch it merges into (`main`). */
  base: string;
  /**
   * `OWNER/REPO` the head lives in, when it is not `repository` itself (a fork), or
   * `(deleted fork)`. Absent for a branch of the repository. Forks are built only when
   * `pullRequestBuilds` is `all`: a pull request build runs the head's own code on the worker.
   */
  fork?: string;
  /**
   * Build this commit instead of the head: a hotfix branch's merge result with the base (the
   * gate sets it from the check). `mergeFetch` names the origin refs that hold it.
   */
  buildCommit?: string;
  mergeFetch?: string[];
}

export interface RecheckOpenPullRequestsInput {
  repository: string;
  /** The base whose open pull requests are checked (default: the repository's default branch). */
  base?: string;
  /** The base's new head that called for the re-check (for the record). */
  commit?: string;
}

/** A commit status as posted. */
export interface PostedStatus {
  context: string;
  state: CommitState;
  description: string;
  targetUrl?: string;
}

export const PullRequestBuildStates = {
  /** Build or unit-test commands are configured; nothing has run yet. */
  planned: 'planned',
  /** `release-flow/build` is pending while the commands run. */
  building: 'building',
  passed: 'passed',
  /** A step failed or timed out: a verdict on the code, like a red policy. */
  failed: 'failed',
  /** The commands could not run at all (commit not fetchable, no local clone): not a verdict. */
  error: 'error',
} as const;
export type PullRequestBuildState = (typeof PullRequestBuildStates)[keyof typeof PullRequestBuildStates];

export const PullRequestBuildPhases = { build: 'build', unitTests: 'unit tests' } as const;
export type PullRequestBuildPhase = (typeof PullRequestBuildPhases)[keyof typeof PullRequestBuildPhases];

export interface PullRequestBuildStep {
  name: string;
  phase: PullRequestBuildPhase;
  /** Once the build ended; `not run` after an earlier step failed. */
  result?: 'passed' | 'failed' | 'not run';
  durationMs?: number;
}

/**
 * The pull-request build (docs/pipelines-and-decisions.md "The pull-request gate (stage 0)"): the head built and unit-tested
 * in a clean checkout, reported as `release-flow/build`.
 */
export interface PullRequestBuild {
  state: PullRequestBuildState;
  /** Every configured step in order: build commands, then unit-test commands. */
  steps: PullRequestBuildStep[];
  durationMs?: number;
  /** True when an earlier passing build of the same head was returned instead of building again. */
  reused?: boolean;
  /** The log on the worker's disk, and where people read it (also the status's "Details"). */
  log?: string;
  logUrl?: string;
  /** The artifact kept on the worker, when the repository configures one. */
  artifact?: string;
  /** On failure: the step, how it ended, and the last lines of its log. */
  failedStep?: string;
  failure?: string;
  tail?: string;
  /** On error: why the commands could not run. */
  reason?: string;
  /** `release-flow/build` as last posted. */
  status?: PostedStatus;
}

/** What one check found and reported. */
export interface PullRequestGateVerdict {
  repository: string;
  number: number;
  head: string;
  branch: string;
  base: string;
  /** The base's head when checked. */
  baseSha: string;
  /** Every violation; the status description names only the first ones. */
  verdict: PrVerdict;
  /** The `release-flow/policy` status as posted. */
  status: PostedStatus;
  /**
   * Present when the repository has build or unit-test commands: planned by the check, then
   * run by the gate. Independent of the verdict: a red policy does not skip it, a red build
   * does not change the policy status.
   */
  build?: PullRequestBuild;
  /** A hotfix branch's clean test merge into the base: the commit its build runs on. */
  mergeResult?: { sha: string; fetch?: string[] };
}

export const PullRequestGateStates = {
  checking: 'checking',
  /** The policy holds: the status is green. */
  passed: 'passed',
  /** At least one violation: the status is red. */
  failed: 'failed',
} as const;
export type PullRequestGateState = (typeof PullRequestGateStates)[keyof typeof PullRequestGateStates];

export interface PullRequestGateStatus {
  /** The policy's state; the build's is `result.build.state`. */
  state: PullRequestGateState;
  input: PullRequestGateInput;
  /** Present once checked: the full verdict, the status posted, and the build as it goes. */
  result?: PullRequestGateVerdict;
}

export interface RecheckOpenPullRequestsStatus {
  state: 'checking' | 'done';
  input: RecheckOpenPullRequestsInput;
  /** One verdict per open pull request, lowest number first. */
  results: PullRequestGateVerdict[];
}

/** The gate's state and, once checked, its verdict (every violation), the status posted and the build. */
export const pullRequestGateStatusQuery = statusQueryOf<PullRequestGateStatus>();

/** The re-check's state and the verdict of every open pull request it checked. */
export const recheckStatusQuery = statusQueryOf<RecheckOpenPullRequestsStatus>();
