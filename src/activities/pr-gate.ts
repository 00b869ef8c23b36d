/**
 * The pull-request gate's activities (MISSION.md stage 0): gather the facts through the GitHub
 * adapter, apply the PR policy, set the `release-flow/policy` status with a "Details" link to
 * the calling workflow. Posting a status is idempotent (the latest one per context wins), so a
 * retry repeats nothing that matters.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { gatePullRequest, type PrGateOptions, type PrGateResult } from '../adapters/github/pull-request-gate';
import type { RepositoryConfig } from '../config/schema';
import { defaultPrPolicyOptions } from '../domain/pr-policy';
import { isUserError } from '../errors';
import type { CommitStatuses } from '../ports/commit-statuses';
import type { PullRequests } from '../ports/pull-requests';
import { pullRequestBuildPlan } from './pr-build-plan';
import { workflowUrl } from '../temporal/ui-links';
import type {
  PullRequestGateInput,
  PullRequestGateVerdict,
  RecheckOpenPullRequestsInput,
} from '../workflows/pr-gate-messages';

/** What the gate needs of one GitHub repository. */
export interface GitHubRepositoryPorts {
  pullRequests: PullRequests;
  statuses: CommitStatuses;
}

export interface PrGatePorts {
  /**
   * The GitHub ports of a repository (`OWNER/REPO`); absent when GitHub is not configured, and
   * then the gate activities refuse with `GitHubNotConfigured`.
   */
  github?: (repository: string) => Promise<GitHubRepositoryPorts>;
  repository: (name: string) => RepositoryConfig | undefined;
  /** Root of the Temporal UI, for the status's "Details" link. */
  uiUrl?: string;
}

export const PrGateFailureTypes = {
  githubNotConfigured: 'GitHubNotConfigured',
  githubRefused: 'GitHubRefused',
} as const;

export async function portsOf(ports: PrGatePorts, repository: string): Promise<GitHubRepositoryPorts> {
  if (!ports.github) {
    throw ApplicationFailure.nonRetryable(
      `GitHub is not configured, so pull requests of ${repository} cannot be checked: set GITHUB_TOKEN (and GITHUB_API_URL for GitHub Enterprise Server) in the worker's environment and restart it`,
      PrGateFailureTypes.githubNotConfigured,
    );
  }
  return await refusalsFinal(() => ports.github!(repository));
}

/** A user error (bad repository name, missing permission, missing token) no retry will fix. */
export async function refusalsFinal<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isUserError(err)) {
      throw ApplicationFailure.nonRetryable(
        err.fix ? `${err.message} (fix: ${err.fix})` : err.message,
        PrGateFailureTypes.githubRefused,
      );
    }
    throw err;
  }
}

function gateOptions(ports: PrGatePorts, repository: string): PrGateOptions {
  const config = ports.repository(repository);
  const info = Context.current().info;
  const workflowId = info.workflowExecution?.workflowId;
  // The workflow id without a run: "Details" opens the latest check of this head.
  const url =
    ports.uiUrl && workflowId
      ? workflowUrl({ uiUrl: ports.uiUrl, namespace: info.workflowNamespace ?? 'default', workflowId })
      : undefined;
  return {
    policy: config ? { ...defaultPrPolicyOptions, preset: config.preset } : defaultPrPolicyOptions,
    ...(url ? { targetUrl: () => url } : {}),
  };
}

function verdictOf(repository: string, result: PrGateResult): PullRequestGateVerdict {
  const { pullRequest, status } = result;
  return {
    repository,
    number: pullRequest.number,
    head: pullRequest.headSha,
    branch: pullRequest.headRef,
    base: pullRequest.baseRef,
    baseSha: result.baseSha,
    verdict: result.verdict,
    status: {
      context: status.context,
      state: status.state,
      description: status.description,
      ...(status.targetUrl ? { targetUrl: status.targetUrl } : {}),
    },
  };
}

export function createPrGateActivities(ports: PrGatePorts) {
  return {
    /**
     * Checks one pull request head against the PR policy and sets its `release-flow/policy`
     * status. Returns every violation, and the build the gate runs next when the repository has
     * build or unit-test commands; refuses non-retryably when GitHub is not configured.
     */
    async checkPullRequestPolicy(input: PullRequestGateInput): Promise<PullRequestGateVerdict> {
      const github = await portsOf(ports, input.repository);
      const options = gateOptions(ports, input.repository);
      const pullRequest = {
        number: input.number,
        headRef: input.branch,
        headSha: input.head,
        baseRef: input.base,
      };
      const result = await refusalsFinal(() =>
        gatePullRequest(github.pullRequests, github.statuses, pullRequest, options),
      );
      const build = pullRequestBuildPlan(ports.repository(input.repository));
      return { ...verdictOf(input.repository, result), ...(build ? { build } : {}) };
    },

    /**
     * Checks every open pull request into the base again and sets each one's status (after a
     * push to the base, a branch that was rebased may no longer be). Heartbeats per pull request.
     */
    async recheckOpenPullRequests(input: RecheckOpenPullRequestsInput): Promise<PullRequestGateVerdict[]> {
      const github = await portsOf(ports, input.repository);
      const options = gateOptions(ports, input.repository);
      const base = input.base ?? ports.repository(input.repository)?.defaultBranch ?? 'main';
      const open = await refusalsFinal(() => github.pullRequests.listOpen(base));
      const results: PullRequestGateVerdict[] = [];
      for (const pullRequest of open) {
        Context.current().heartbeat({ number: pullRequest.number });
        const result = await refusalsFinal(() =>
          gatePullRequest(github.pullRequests, github.statuses, pullRequest, options),
        );
        results.push(verdictOf(input.repository, result));
      }
      return results;
    },
  };
}
