/** Commit statuses through `POST /repos/{owner}/{repo}/statuses/{sha}` (needs commit statuses: write). */
import { fitStatusDescription } from '../../domain/pr-policy';
import type { CommitStatus, CommitStatuses, PostOptions } from '../../ports/commit-statuses';
import { GitHubPermissions, withAccess } from './access-errors';
import type { GitHubClient } from './client';
import { fullName, type RepositoryRef } from './repository-ref';

export class GitHubCommitStatuses implements CommitStatuses {
  constructor(
    private readonly github: GitHubClient,
    readonly repository: RepositoryRef,
  ) {}

  async post(status: CommitStatus, options: PostOptions = {}): Promise<void> {
    await withAccess(
      `set status ${status.context} on ${status.sha.slice(0, 12)} in ${fullName(this.repository)}`,
      GitHubPermissions.statusesWrite,
      () =>
        this.github.rest.repos.createCommitStatus({
          ...this.repository,
          sha: status.sha,
          state: status.state,
          context: status.context,
          description: fitStatusDescription(status.description),
          ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
          // Aborted, a request (or a rate-limit retry of it) never lands after a newer status.
          ...(options.signal ? { request: { signal: options.signal } } : {}),
        }),
    );
  }
}
