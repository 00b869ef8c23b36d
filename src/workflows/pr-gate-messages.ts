/**
 * What the pull-request gate workflows (MISSION.md stage 0) take, answer and are named.
 * Imported by the workflows, the activities and clients (starter, receiver).
 *
 * Workflow ids are business keys:
 *   pr-gate:<repository>#<number>:<head sha>     one check of one pull request head
 *   pr-recheck:<repository>:<base head sha>      every open pull request after the base moved
 * so a redelivered webhook finds the check that already ran for the same head.
 */
import { defineQuery } from '@temporalio/workflow';
import type { PrVerdict } from '../domain/pr-policy';
import type { CommitState } from '../ports/commit-statuses';

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
}

export interface RecheckOpenPullRequestsInput {
  repository: string;
  /** The base whose open pull requests are checked (default: the repository's default branch). */
  base?: string;
  /** The base's new head that called for the re-check (for the record). */
  commit?: string;
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
  status: { context: string; state: CommitState; description: string; targetUrl?: string };
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
  state: PullRequestGateState;
  input: PullRequestGateInput;
  /** Present once checked: the full verdict and the status posted. */
  result?: PullRequestGateVerdict;
}

export interface RecheckOpenPullRequestsStatus {
  state: 'checking' | 'done';
  input: RecheckOpenPullRequestsInput;
  /** One verdict per open pull request, lowest number first. */
  results: PullRequestGateVerdict[];
}

/** The gate's state and, once checked, its verdict (every violation) and the status posted. */
export const pullRequestGateStatusQuery = defineQuery<PullRequestGateStatus>('status');

/** The re-check's state and the verdict of every open pull request it checked. */
export const recheckStatusQuery = defineQuery<RecheckOpenPullRequestsStatus>('status');
