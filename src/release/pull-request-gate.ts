/**
 * The pull-request gate (docs/pipelines-and-decisions.md "The pull-request gate (stage 0)") as plain functions over ports:
 * gather the facts (branch name, the commits the branch adds, whether it is rebased on the current
 * base), apply the PR policy, set the `release-flow/policy` status. No Temporal here: the PR-gate
 * workflow's activities call these, and so can a script.
 */
import {
  checkPullRequest,
  defaultPrPolicyOptions,
  HOTFIX_BRANCH,
  PrRules,
  statusDescription,
  type PrPolicyOptions,
  type PrVerdict,
} from '../domain/pr-policy';
import {
  CommitStates,
  StatusContexts,
  type CommitStatus,
  type CommitStatuses,
} from '../ports/commit-statuses';
import type { MergeResult, PullRequestRef, PullRequests } from '../ports/pull-requests';
import type { TrackedTicket } from '../ports/ticket-tracker';

export interface PrGateOptions {
  policy?: PrPolicyOptions;
  /** The status's "Details" link for a pull request (the gate's workflow in the Temporal UI). */
  targetUrl?: (pullRequest: PullRequestRef) => string | undefined;
  /**
   * The branch's ticket in the team's tracker (Jira), when the gate checks it: it must exist and
   * not be done, and the status's "Details" then links it.
   */
  ticket?: { tracker: string; lookup: (id: string) => Promise<TrackedTicket | null> };
}

export interface PrGateResult {
  pullRequest: PullRequestRef;
  /** The base's head when checked: a later push to the base calls for a re-check. */
  baseSha: string;
  /** Every violation; the status names only the first ones. */
  verdict: PrVerdict;
  status: CommitStatus;
  /** The branch's ticket as the tracker has it; null when checked and missing, absent when not checked. */
  ticket?: TrackedTicket | null;
  /** A hotfix branch's test merge into the base: its build runs on this commit. */
  mergeResult?: MergeResult;
}

/** The verdict and the status it calls for, without posting it. */
export async function evaluatePullRequest(
  pulls: PullRequests,
  pullRequest: PullRequestRef,
  options: PrGateOptions = {},
): Promise<PrGateResult> {
  // Compared against the base's current head, not the one in the event: main may have moved.
  const comparison = await pulls.compare(pullRequest.baseRef, pullRequest.headSha);
  const baseIsAncestor = comparison.status === 'ahead' || comparison.status === 'identical';
  // A hotfix branch is cut from a release tag: it is held to a clean merge, not to the rebase rule.
  const mergeResult =
    HOTFIX_BRANCH.test(pullRequest.headRef) && !baseIsAncestor
      ? pulls.mergeResult
        ? await pulls.mergeResult({
            number: pullRequest.number,
            base: comparison.baseSha,
            head: pullRequest.headSha,
          })
        : { clean: null }
      : undefined;
  const verdict = checkPullRequest(
    {
      branch: pullRequest.headRef,
      base: pullRequest.baseRef,
      commits: comparison.commits,
      baseIsAncestor,
      ...(mergeResult ? { mergesCleanly: mergeResult.clean } : {}),
    },
    options.policy ?? defaultPrPolicyOptions,
  );
  let ticket: TrackedTicket | null | undefined;
  if (options.ticket && verdict.ticket) {
    ticket = await options.ticket.lookup(verdict.ticket);
    const problem = !ticket
      ? `ticket ${verdict.ticket} does not exist in ${options.ticket.tracker} (or the account cannot see it)`
      : ticket.done
        ? `ticket ${verdict.ticket} is done (${ticket.status}): reopen it or use an open ticket`
        : null;
    // First: the ticket is what a developer fixes before anything else on the branch.
    if (problem) verdict.violations.unshift({ rule: PrRules.ticket, message: problem });
    verdict.ok = verdict.violations.length === 0;
  }
  const targetUrl = ticket?.url ?? options.targetUrl?.(pullRequest);
  const description =
    verdict.ok && ticket
      ? `policy OK: ${ticket.key} ${ticket.status}, commit headers and rebase`
      : statusDescription(verdict);
  return {
    pullRequest,
    baseSha: comparison.baseSha,
    ...(ticket !== undefined ? { ticket } : {}),
    ...(mergeResult?.sha ? { mergeResult } : {}),
    verdict,
    status: {
      sha: pullRequest.headSha,
      context: StatusContexts.policy,
      state: verdict.ok ? CommitStates.success : CommitStates.failure,
      description,
      ...(targetUrl ? { targetUrl } : {}),
    },
  };
}

/** Checks one pull request and sets its `release-flow/policy` status. */
export async function gatePullRequest(
  pulls: PullRequests,
  statuses: CommitStatuses,
  pullRequest: PullRequestRef,
  options: PrGateOptions = {},
): Promise<PrGateResult> {
  const result = await evaluatePullRequest(pulls, pullRequest, options);
  await statuses.post(result.status);
  return result;
}

/**
 * Checks every open pull request into `base` again, one after the other (GitHub paces writes
 * anyway): after a push to `main` a branch that was rebased may no longer be.
 */
export async function recheckOpenPullRequests(
  pulls: PullRequests,
  statuses: CommitStatuses,
  base: string,
  options: PrGateOptions = {},
): Promise<PrGateResult[]> {
  const results: PrGateResult[] = [];
  for (const pullRequest of await pulls.listOpen(base)) {
    results.push(await gatePullRequest(pulls, statuses, pullRequest, options));
  }
  return results;
}
