/** Commit statuses through `POST /repos/{owner}/{repo}/statuses/{sha}` (needs commit statuses: write). */
import { STATUS_DESCRIPTION_LIMIT } from '../../domain/pr-policy';
import type { CommitStatus, CommitStatuses } from '../../ports/commit-statuses';
import { GitHubPermissions, withAccess } from './access-errors';
import type { GitHubClient } from './client';
import { fullName, type RepositoryRef } from './repository-ref';

/** GitHub refuses a description over 140 characters with a 422; cut it instead. */
export function fitDescription(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > STATUS_DESCRIPTION_LIMIT ? `${line.slice(0, STATUS_DESCRIPTION_LIMIT - 3)}...` : line;
}

export class GitHubCommitStatuses implements CommitStatuses {
  constructor(
    private readonly github: GitHubClient,
    readonly repository: RepositoryRef,
  ) {}

  async post(status: CommitStatus): Promise<void> {
    await withAccess(
      `set status ${status.context} on ${status.sha.slice(0, 12)} in ${fullName(this.repository)}`,
      GitHubPermissions.statusesWrite,
      () =>
        this.github.rest.repos.createCommitStatus({
          ...this.repository,
          sha: status.sha,
          state: status.state,
          context: status.context,
          description: fitDescription(status.description),
          ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
        }),
    );
  }
}
