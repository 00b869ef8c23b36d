/** Open pull requests, their commits and branch comparisons for the pull-request gate. */
import type { CommitRecord } from '../../ports/git';
import type { Comparison, OpenedPullRequest, PullRequestRef, PullRequests } from '../../ports/pull-requests';
import { GitHubPermissions, withAccess } from './access-errors';
import type { GitHubClient } from './client';
import { commitRecordOf, compareCommits } from './commit-comparison';
import { fullName, type RepositoryRef } from './repository-ref';

export class GitHubPullRequests implements PullRequests {
  constructor(
    private readonly github: GitHubClient,
    readonly repository: RepositoryRef,
  ) {}

  async listOpen(base: string): Promise<PullRequestRef[]> {
    const pulls = await withAccess(
      `list the open pull requests of ${fullName(this.repository)}`,
      GitHubPermissions.pullRequestsRead,
      () =>
        this.github.paginate(this.github.rest.pulls.list, {
          ...this.repository,
          state: 'open',
          base,
          per_page: 100,
        }),
    );
    return pulls
      .map((p) => ({ number: p.number, headRef: p.head.ref, headSha: p.head.sha, baseRef: p.base.ref }))
      .sort((a, b) => a.number - b.number);
  }

  async open(request: {
    head: string;
    base: string;
    title: string;
    body: string;
  }): Promise<OpenedPullRequest> {
    const where = fullName(this.repository);
    const existing = await withAccess(
      `list the pull requests from ${request.head} in ${where}`,
      GitHubPermissions.pullRequestsRead,
      () =>
        this.github.rest.pulls.list({
          ...this.repository,
          state: 'open',
          head: `${this.repository.owner}:${request.head}`,
          base: request.base,
          per_page: 1,
        }),
    );
    const found = existing.data[0];
    if (found) return { number: found.number, url: found.html_url, created: false };
    const { data } = await withAccess(
      `open a pull request from ${request.head} into ${request.base} in ${where}`,
      GitHubPermissions.pullRequestsWrite,
      () => this.github.rest.pulls.create({ ...this.repository, ...request }),
    );
    return { number: data.number, url: data.html_url, created: true };
  }

  async commits(number: number): Promise<CommitRecord[]> {
    const commits = await withAccess(
      `list the commits of pull request #${number} in ${fullName(this.repository)}`,
      GitHubPermissions.pullRequestsRead,
      () =>
        this.github.paginate(this.github.rest.pulls.listCommits, {
          ...this.repository,
          pull_number: number,
          per_page: 100,
        }),
    );
    // GitHub lists them oldest first.
    return commits.map(commitRecordOf).reverse();
  }

  compare(base: string, head: string): Promise<Comparison> {
    return compareCommits(this.github, this.repository, base, head);
  }
}
