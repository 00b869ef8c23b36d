/**
 * Stage 0, the pull-request gate (docs/pipelines-and-decisions.md "The pull-request gate (stage 0)"). Two short workflows:
 * - `pullRequestGateWorkflow`: one per pull request head commit
 *   (`pr-gate:<repository>#<number>:<head sha>`), started by `pull_request` deliveries. It checks
 *   the head against the PR policy and sets the `release-flow/policy` status; then, when the
 *   repository has build or unit-test commands, builds the head and runs the unit tests,
 *   reported as `release-flow/build`. It ends with the verdict, every
 *   violation included, and the build (also answered by the `status` query).
 * - `recheckOpenPullRequestsWorkflow` (recheck-open-pull-requests-workflow.ts): one per new
 *   head of the default branch (`pr-recheck:<repository>:<base sha>`), started by the push to
 *   it. It checks every open pull request again: a PR that was green goes red once it is no
 *   longer rebased.
 * A red verdict or a red build is an outcome, not a failure: the run completes and the status
 * says why. The two are independent: a red policy still builds, a red build leaves the policy.
 */
import {
  CancellationScope,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { PipelineActivities } from '../../activities/pipeline';
import { FailureTypes } from '../../domain/failures';
import {
  PullRequestBuildStates,
  PullRequestGateStates,
  pullRequestGateStatusQuery,
  type PullRequestBuild,
  type PullRequestGateInput,
  type PullRequestGateStatus,
  type PullRequestGateVerdict,
} from './messages';
import { describeFailure } from '../shared/steps';

export type { PullRequestGateInput, PullRequestGateVerdict };

const github = proxyActivities<PipelineActivities>({
  // A handful of GitHub calls, paced by the client and retried on 5xx and rate limits.
  startToCloseTimeout: '2 minutes',
  retry: {
    maximumAttempts: 5,
    nonRetryableErrorTypes: [FailureTypes.githubNotConfigured, FailureTypes.githubRefused],
  },
});

const builds = proxyActivities<PipelineActivities>({
  // The runner's limits (repositories[].timeouts.build + unitTests) end a step first; a failed
  // step comes back as an outcome, so only transient trouble is retried.
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});

/**
 * Checks one pull request head and sets its `release-flow/policy` status; when the repository
 * has build or unit-test commands, builds and tests the head and sets `release-flow/build`.
 * Answers `status` (state and, once checked, the verdict and the build as it goes). Ends with
 * the verdict and the build outcome: passed, failed or error, never thrown.
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
  // The PR build runs when the policy check plans one (`result.build`). Behind a patch: gates
  // recorded before the build existed have no marker here and replay as they ran.
  if (result.build && patched('pr-build')) await buildPullRequest(input, result, result.build);
  return result;
}

/** Pending, build and test, then the outcome; `result.build` follows along for the query. */
async function buildPullRequest(
  input: PullRequestGateInput,
  result: PullRequestGateVerdict,
  planned: PullRequestBuild,
): Promise<void> {
  const at = `#${input.number} at ${input.head.slice(0, 12)}`;
  const post = (build: PullRequestBuild) =>
    github.postPullRequestBuildStatus.executeWithOptions(
      { summary: `report the ${build.state} build of ${at} as release-flow/build` },
      [{ pullRequest: input, build }],
    );
  const building: PullRequestBuild = { ...planned, state: PullRequestBuildStates.building };
  result.build = building;
  building.status = await post(building);

  // A hotfix branch is built as it would land: its clean merge with the base.
  const merged = result.mergeResult;
  let outcome: PullRequestBuild;
  try {
    outcome = await builds.buildPullRequest.executeWithOptions(
      {
        summary: merged
          ? `build and unit-test the merge of ${at} into ${input.base} (${merged.sha.slice(0, 12)})`
          : `build and unit-test ${at}`,
      },
      [
        merged
          ? { ...input, buildCommit: merged.sha, ...(merged.fetch ? { mergeFetch: merged.fetch } : {}) }
          : input,
      ],
    );
  } catch (err) {
    const ended = (reason: string): PullRequestBuild => ({
      state: PullRequestBuildStates.error,
      steps: planned.steps,
      reason,
    });
    if (isCancellation(err)) {
      // A pending status left behind would read as a build still running.
      await CancellationScope.nonCancellable(() => post(ended('the gate was cancelled')));
      throw err;
    }
    // Retries spent on something transient (a worktree that never came up): say so on the PR.
    outcome = ended(describeFailure(err).message.split('\n')[0]!);
  }
  result.build = outcome;
  outcome.status = await post(outcome);
}
