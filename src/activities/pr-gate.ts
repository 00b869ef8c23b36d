/**
 * The pull-request gate's activities (docs/pipelines-and-decisions.md "The pull-request gate (stage 0)"): gather the facts
 * through the GitHub adapter (or the local clone for a repository GitHub does not serve), apply the
 * PR policy, set the `release-flow/policy` status with a "Details" link to the calling workflow.
 * Posting a status is idempotent (the latest one per context wins), so a retry repeats nothing that
 * matters.
 */
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { gatePullRequest, type PrGateOptions, type PrGateResult } from '../release/pull-request-gate';
import type { RepositoryConfig } from '../config/schema';
import { defaultPrPolicyOptions } from '../domain/pr-policy';
import { isUserError } from '../common/errors';
import type { CommitStatuses } from '../ports/commit-statuses';
import type { PullRequestRef, PullRequests } from '../ports/pull-requests';
import type { TicketTracker } from '../ports/ticket-tracker';
import { maskSecrets } from '../common/secrets';
import { pullRequestBuildPlan } from './pr-build-plan';
import { workflowUrl } from '../common/ui-links';
import type {
  PullRequestGateInput,
  PullRequestGateVerdict,
  RecheckOpenPullRequestsInput,
} from '../workflows/pr-gate/messages';
import { FailureTypes } from '../domain/failures';

/**
 * What the gate needs of one repository: GitHub's pull requests and statuses for a repository
 * GitHub serves, the local clone's and the status journal for one it does not.
 */
export interface PullRequestPorts {
  pullRequests: PullRequests;
  statuses: CommitStatuses;
  /**
   * Local repositories only: remembers a pull request the gate checked, since no server lists
   * open pull requests for them; a later push to its base then checks it again.
   */
  remember?: (pullRequest: PullRequestRef) => Promise<void>;
  /**
   * The team's tracker when the repository's gate checks tickets (`jira.prGate`): the branch's
   * TICKET-ID must exist there and not be done, and the pull request is linked on it.
   */
  tracker?: { name: string; tickets: TicketTracker };
  /** Where a person opens a pull request, for the link on its ticket. */
  webUrl?: (number: number) => string;
}

export interface PrGatePorts {
  /**
   * The pull-request ports of a repository (see `githubSelection`). Refuses with a user error
   * when neither GitHub nor a local clone can serve it: the gate then fails with
   * `GitHubNotConfigured`, naming what to set.
   */
  pullRequestPorts?: (repository: string) => Promise<PullRequestPorts>;
  repository: (name: string) => RepositoryConfig | undefined;
  /** Root of the Temporal UI, for the status's "Details" link. */
  uiUrl?: string;
}

export const PrGateFailureTypes = {
  githubNotConfigured: FailureTypes.githubNotConfigured,
  githubRefused: FailureTypes.githubRefused,
} as const;

/** User-error codes that mean "nothing can serve this repository's pull requests here". */
export const UNSERVED_PULL_REQUESTS = ['GITHUB_CREDENTIALS_MISSING', 'PULL_REQUESTS_UNSERVED'];

export async function portsOf(ports: PrGatePorts, repository: string): Promise<PullRequestPorts> {
  const notConfigured = (why: string) =>
    ApplicationFailure.nonRetryable(why, PrGateFailureTypes.githubNotConfigured);
  if (!ports.pullRequestPorts) {
    throw notConfigured(
      `pull requests of ${repository} cannot be checked: this worker has no pull-request ports (set GITHUB_TOKEN, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY, in the worker's environment and restart it)`,
    );
  }
  try {
    return await ports.pullRequestPorts(repository);
  } catch (err) {
    if (isUserError(err) && UNSERVED_PULL_REQUESTS.includes(err.code)) throw notConfigured(err.render());
    throw final(err);
  }
}

/** A user error (bad repository name, missing permission, missing token) no retry will fix. */
function final(err: unknown): unknown {
  if (!isUserError(err)) return err;
  return ApplicationFailure.nonRetryable(
    err.fix ? `${err.message} (fix: ${err.fix})` : err.message,
    PrGateFailureTypes.githubRefused,
  );
}

/** Runs `work`, turning a user error into a non-retryable refusal. */
export async function refusalsFinal<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw final(err);
  }
}

function gateOptions(ports: PrGatePorts, repository: string, repo: PullRequestPorts): PrGateOptions {
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
    ...(repo.tracker
      ? { ticket: { tracker: repo.tracker.name, lookup: (id: string) => repo.tracker!.tickets.lookup(id) } }
      : {}),
  };
}

/**
 * Links the pull request on its ticket (a remote link, one per pull request). Best effort: the
 * gate's verdict stands whether or not the tracker takes the link.
 */
async function linkOnTicket(repository: string, repo: PullRequestPorts, result: PrGateResult): Promise<void> {
  if (!repo.tracker || !repo.webUrl || !result.ticket || result.ticket.done) return;
  const { pullRequest } = result;
  try {
    await repo.tracker.tickets.link({
      ticket: result.ticket.key,
      key: `${repository}#${pullRequest.number}`,
      url: repo.webUrl(pullRequest.number),
      title: `${repository}#${pullRequest.number}: ${pullRequest.headRef} into ${pullRequest.baseRef}`,
      summary: result.status.description,
    });
  } catch (err) {
    log.warn('pull request not linked on its ticket', {
      repository,
      number: pullRequest.number,
      error: maskSecrets(err instanceof Error ? err.message : String(err)),
    });
  }
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
    ...(result.mergeResult?.sha
      ? {
          mergeResult: {
            sha: result.mergeResult.sha,
            ...(result.mergeResult.fetch ? { fetch: result.mergeResult.fetch } : {}),
          },
        }
      : {}),
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
      const repo = await portsOf(ports, input.repository);
      const options = gateOptions(ports, input.repository, repo);
      const pullRequest = {
        number: input.number,
        headRef: input.branch,
        headSha: input.head,
        baseRef: input.base,
      };
      const result = await refusalsFinal(() =>
        gatePullRequest(repo.pullRequests, repo.statuses, pullRequest, options),
      );
      await repo.remember?.(pullRequest);
      await linkOnTicket(input.repository, repo, result);
      const build = pullRequestBuildPlan(ports.repository(input.repository));
      return { ...verdictOf(input.repository, result), ...(build ? { build } : {}) };
    },

    /**
     * Checks every open pull request into the base again and sets each one's status (after a
     * push to the base, a branch that was rebased may no longer be). Heartbeats per pull request.
     */
    async recheckOpenPullRequests(input: RecheckOpenPullRequestsInput): Promise<PullRequestGateVerdict[]> {
      const repo = await portsOf(ports, input.repository);
      const options = gateOptions(ports, input.repository, repo);
      const base = input.base ?? ports.repository(input.repository)?.defaultBranch ?? 'main';
      const open = await refusalsFinal(() => repo.pullRequests.listOpen(base));
      const results: PullRequestGateVerdict[] = [];
      for (const pullRequest of open) {
        Context.current().heartbeat({ number: pullRequest.number });
        const result = await refusalsFinal(() =>
          gatePullRequest(repo.pullRequests, repo.statuses, pullRequest, options),
        );
        await linkOnTicket(input.repository, repo, result);
        results.push(verdictOf(input.repository, result));
      }
      return results;
    },
  };
}
