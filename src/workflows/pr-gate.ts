/**
 * Stage 0, the pull-request gate (MISSION.md; seed: "Normal Release Flow"; issue 7
 * "Pull-request gate"). Two short workflows:
 * - `pullRequestGateWorkflow`: one per pull request head commit
 *   (`pr-gate:<repository>#<number>:<head sha>`), started by `pull_request` deliveries. It checks
 *   the head against the PR policy, sets the `release-flow/policy` status and ends with the
 *   verdict, every violation included (also answered by the `status` query).
 * - `recheckOpenPullRequestsWorkflow`: one per new head of the default branch
 *   (`pr-recheck:<repository>:<base sha>`), started by the push to it. It checks every open
 *   pull request again: a PR that was green goes red once it is no longer rebased.
 * A red verdict is an outcome, not a failure: the run completes and the status says why.
 */
import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { PipelineActivities } from '../activities/pipeline';
import {
  PullRequestGateStates,
  pullRequestGateStatusQuery,
  recheckStatusQuery,
  type PullRequestGateInput,
  type PullRequestGateStatus,
  type PullRequestGateVerdict,
  type RecheckOpenPullRequestsInput,
  type RecheckOpenPullRequestsStatus,
} from './pr-gate-messages';

export type { PullRequestGateInput, PullRequestGateVerdict, RecheckOpenPullRequestsInput };

const github = proxyActivities<PipelineActivities>({
  // A handful of GitHub calls, paced by the client and retried on 5xx and rate limits.
  startToCloseTimeout: '2 minutes',
  retry: {
    maximumAttempts: 5,
    nonRetryableErrorTypes: ['GitHubNotConfigured', 'GitHubRefused'],
  },
});

const recheck = proxyActivities<PipelineActivities>({
  // One paced status write per open pull request: allow for a busy repository.
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: {
    maximumAttempts: 5,
    nonRetryableErrorTypes: ['GitHubNotConfigured', 'GitHubRefused'],
  },
});

/**
 * Checks one pull request head and sets its `release-flow/policy` status. Answers `status`
 * (state and, once checked, the verdict). Ends with the verdict: passed or failed, never thrown.
 */
export async function pullRequestGateWorkflow(input: PullRequestGateInput): Promise<PullRequestGateVerdict> {
  const state: PullRequestGateStatus = { state: PullRequestGateStates.checking, input };
  setHandler(pullRequestGateStatusQuery, () => state, {
    description: 'Checking or done; the verdict with every violation and the policy status posted',
  });
  const result = await github.checkPullRequestPolicy.executeWithOptions(
    { summary: `check #${input.number} at ${input.head.slice(0, 12)} and set release-flow/policy` },
    [input],
  );
  state.result = result;
  state.state = result.verdict.ok ? PullRequestGateStates.passed : PullRequestGateStates.failed;
  return result;
}

/**
 * Checks every open pull request into the base again after the base moved, setting each
 * one's `release-flow/policy` status. Answers `status`; ends with one verdict per pull request.
 */
export async function recheckOpenPullRequestsWorkflow(
  input: RecheckOpenPullRequestsInput,
): Promise<PullRequestGateVerdict[]> {
  const state: RecheckOpenPullRequestsStatus = { state: 'checking', input, results: [] };
  setHandler(recheckStatusQuery, () => state, {
    description: 'Checking or done; the verdict of every open pull request checked again',
  });
  const results = await recheck.recheckOpenPullRequests.executeWithOptions(
    {
      summary: `re-check open pull requests into ${input.base ?? 'the default branch'}${input.commit ? ` at ${input.commit.slice(0, 12)}` : ''}`,
    },
    [input],
  );
  state.results = results;
  state.state = 'done';
  return results;
}
