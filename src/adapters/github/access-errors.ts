/**
 * What a failed GitHub call means to the person who configured the token. GitHub answers 404
 * rather than 403 for private resources a token cannot see, so both name the permission the
 * call needs ("needs contents: write"); fine-grained tokens also get GitHub's own
 * `x-accepted-github-permissions` header quoted. Any other status is left as it is: 5xx are
 * transient and the retry policy handles them.
 */
import { UserError } from '../../common/errors';

/** Repository permissions in the words of GitHub's fine-grained token settings. */
export const GitHubPermissions = {
  contentsRead: 'contents: read',
  contentsWrite: 'contents: write',
  statusesWrite: 'commit statuses: write',
  issuesRead: 'issues: read',
  issuesWrite: 'issues: write',
  pullRequestsRead: 'pull requests: read',
  pullRequestsWrite: 'pull requests: write',
  administrationRead: 'administration: read',
  administrationWrite: 'administration: write',
} as const;
export type GitHubPermission = (typeof GitHubPermissions)[keyof typeof GitHubPermissions];

/** A call the token may not make: refused (403), unseen (404) or rejected (401). */
export class GitHubAccessError extends UserError {
  /**
   * The refusal as GitHub sent it, when this explanation names only the request (the client's
   * error hook): a caller that knows what it was doing explains it again in its own words.
   */
  original?: GitHubRequestFailure;

  constructor(
    readonly status: number,
    readonly permission: GitHubPermission,
    message: string,
    fix: string,
  ) {
    super(status === 401 ? 'GITHUB_UNAUTHORIZED' : 'GITHUB_PERMISSION', message, fix);
    this.name = 'GitHubAccessError';
  }
}

/** The parts of an Octokit `RequestError` read here (the class itself is not a direct dependency). */
export interface GitHubRequestFailure {
  status: number;
  message: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

export function isRequestFailure(err: unknown): err is GitHubRequestFailure {
  return err instanceof Error && typeof (err as { status?: unknown }).status === 'number';
}

export function statusOf(err: unknown): number | null {
  return isRequestFailure(err) ? err.status : null;
}

/** GitHub's `message` field, which says more than the status line. */
export function githubMessage(err: GitHubRequestFailure): string {
  const data = err.response?.data as { message?: unknown } | undefined;
  return typeof data?.message === 'string' ? data.message : err.message;
}

/**
 * `err` translated for a person when it is an access problem of `action` (which needs
 * `permission`), else `err` unchanged.
 */
export function explainAccess(err: unknown, action: string, permission: GitHubPermission): unknown {
  if (err instanceof GitHubAccessError)
    return err.original ? explainAccess(err.original, action, permission) : err;
  if (!isRequestFailure(err)) return err;
  const accepted = err.response?.headers?.['x-accepted-github-permissions'];
  const granted = accepted ? ` (GitHub accepts: ${String(accepted)})` : '';
  if (err.status === 401) {
    return new GitHubAccessError(
      401,
      permission,
      `GitHub rejected the token while trying to ${action}: ${githubMessage(err)}`,
      'set GITHUB_TOKEN to a valid, unexpired token (or, for a GitHub App, check GITHUB_APP_ID and its private key)',
    );
  }
  if (err.status === 403 && err.response?.headers?.['x-ratelimit-remaining'] !== '0') {
    return new GitHubAccessError(
      403,
      permission,
      `GitHub refused to ${action}: the token needs ${permission}${granted}: ${githubMessage(err)}`,
      `grant the token ${permission} on the repository`,
    );
  }
  if (err.status === 404) {
    return new GitHubAccessError(
      404,
      permission,
      `GitHub found nothing to ${action}: it does not exist, or the token cannot see it (needs ${permission})${granted}`,
      `check the name, and grant the token ${permission} on the repository`,
    );
  }
  return err;
}

/** Runs `call`, rethrowing access problems explained. */
export async function withAccess<T>(
  action: string,
  permission: GitHubPermission,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw explainAccess(err, action, permission);
  }
}

/**
 * The permission a REST call needs, from its method and path, for calls made without
 * `withAccess` (a refusal must still name what to grant).
 */
export function permissionForRequest(method: string, url: string): GitHubPermission {
  const write = method.toUpperCase() !== 'GET' && method.toUpperCase() !== 'HEAD';
  const path = url.replace(/^https?:\/\/[^/]+/, '').split('?')[0]!;
  if (/\/statuses\//.test(path)) return GitHubPermissions.statusesWrite;
  if (/\/issues(\/|$)/.test(path))
    return write ? GitHubPermissions.issuesWrite : GitHubPermissions.issuesRead;
  if (/\/pulls(\/|$)/.test(path)) return GitHubPermissions.pullRequestsRead;
  if (/\/protection(\/|$)/.test(path) || (write && /^\/repos\/[^/]+\/[^/]+$/.test(path)))
    return write ? GitHubPermissions.administrationWrite : GitHubPermissions.administrationRead;
  return write ? GitHubPermissions.contentsWrite : GitHubPermissions.contentsRead;
}

/**
 * A refusal no retry changes: the token was rejected (401) or lacks a permission (403 that is
 * not a rate limit). Activities fail at once on it, naming the permission (src/activities/definitive.ts).
 */
export function isDefinitiveAccessError(err: unknown): err is GitHubAccessError {
  return err instanceof GitHubAccessError && (err.status === 401 || err.status === 403);
}
