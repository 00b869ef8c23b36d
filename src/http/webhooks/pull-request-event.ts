/**
 * Which `pull_request` webhook deliveries call for a gate check, and the pull request they name.
 * Shapes follow GitHub's webhook payloads (see @octokit/webhooks-examples).
 */
import type { PullRequestRef } from '../../ports/pull-requests';
import type { RepositoryRef } from '../../adapters/github/repository-ref';

/** Actions after which the head, the base or the open state may have changed. */
export const GATED_PULL_REQUEST_ACTIONS: readonly string[] = [
  'opened',
  'reopened',
  'synchronize',
  'ready_for_review',
  'edited',
];

interface PullRequestPayload {
  action?: unknown;
  changes?: { base?: unknown };
  repository?: { name?: unknown; owner?: { login?: unknown } };
  pull_request?: {
    number?: unknown;
    state?: unknown;
    head?: { ref?: unknown; sha?: unknown };
    base?: { ref?: unknown };
  };
}

export interface GatedPullRequest {
  repository: RepositoryRef;
  pullRequest: PullRequestRef;
}

/** The pull request to check, or null when the delivery asks for nothing (closed, labelled...). */
export function pullRequestOfEvent(payload: unknown): GatedPullRequest | null {
  const event = payload as PullRequestPayload;
  const action = typeof event.action === 'string' ? event.action : '';
  if (!GATED_PULL_REQUEST_ACTIONS.includes(action)) return null;
  // An edit of the title or body changes no fact the policy reads; a new base does.
  if (action === 'edited' && !event.changes?.base) return null;
  const pr = event.pull_request;
  const owner = event.repository?.owner?.login;
  const name = event.repository?.name;
  if (
    !pr ||
    pr.state !== 'open' ||
    typeof pr.number !== 'number' ||
    typeof pr.head?.ref !== 'string' ||
    typeof pr.head.sha !== 'string' ||
    typeof pr.base?.ref !== 'string' ||
    typeof owner !== 'string' ||
    typeof name !== 'string'
  ) {
    return null;
  }
  return {
    repository: { owner, repo: name },
    pullRequest: { number: pr.number, headRef: pr.head.ref, headSha: pr.head.sha, baseRef: pr.base.ref },
  };
}

/**
 * The repository a pull request's head lives in when it is not the base repository (a fork):
 * its `OWNER/REPO`, or `(deleted fork)` when GitHub sends `head.repo: null`. Undefined for a
 * branch of the repository itself.
 */
export function forkOfEvent(payload: unknown): string | undefined {
  const event = payload as {
    repository?: { full_name?: unknown };
    pull_request?: { head?: { repo?: { full_name?: unknown } | null } };
  };
  const head = event.pull_request?.head;
  if (!head || !('repo' in head)) return undefined;
  if (head.repo === null) return '(deleted fork)';
  const from = head.repo?.full_name;
  const into = event.repository?.full_name;
  if (typeof from !== 'string' || typeof into !== 'string') return undefined;
  return from.toLowerCase() === into.toLowerCase() ? undefined : from;
}
