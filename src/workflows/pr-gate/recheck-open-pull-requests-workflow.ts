/**
 * The re-check of the pull-request gate (docs/pipelines-and-decisions.md "The pull-request gate (stage 0)"): one run per
 * new head of the default branch (`pr-recheck:<repository>:<base sha>`), started by the push to
 * it. It checks every open pull request again, so a PR that was green goes red once it is no
 * longer rebased. A red verdict is an outcome, not a failure.
 */
import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { PipelineActivities } from '../../activities/pipeline';
import { FailureTypes } from '../../domain/failures';
import {
  recheckStatusQuery,
  type PullRequestGateVerdict,
  type RecheckOpenPullRequestsInput,
  type RecheckOpenPullRequestsStatus,
} from './messages';

export type { RecheckOpenPullRequestsInput };

const recheck = proxyActivities<PipelineActivities>({
  // One paced status write per open pull request: allow for a busy repository.
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: {
    maximumAttempts: 5,
    nonRetryableErrorTypes: [FailureTypes.githubNotConfigured, FailureTypes.githubRefused],
  },
});

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
