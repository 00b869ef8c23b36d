/** Open pull requests, their commits and branch comparisons for the pull-request gate. */
import type { CommitRecord } from '../../ports/git';
import type {
  Comparison,
  MergeResult,
  OpenedPullRequest,
  PullRequestRef,
  PullRequests,
} from '../../ports/pull-requests';
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

  /**
   * GitHub's test merge of the pull request: `mergeable` is null while GitHub computes it in the
   * background (started by the first read), so it is read again a few times before answering
   * null. The merge result is `merge_commit_sha`, fetched as `refs/pull/<n>/merge`.
   */
  async mergeResult(request: { number: number; base: string; head: string }): Promise<MergeResult> {
    for (let attempt = 0; ; attempt++) {
      const { data } = await withAccess(
        `read pull request #${request.number} of ${fullName(this.repository)}`,
        GitHubPermissions.pullRequestsRead,
        () => this.github.rest.pulls.get({ ...this.repository, pull_number: request.number }),
      );
      // A merge computed for an older head says nothing of this one.
      const current = data.head.sha === request.head;
      if (current && data.mergeable === false) return { clean: false };
      if (current && data.mergeable === true && data.merge_commit_sha) {
        return { clean: true, sha: data.merge_commit_sha, fetch: [`refs/pull/${request.number}/merge`] };
      }
      if (attempt >= 4) return { clean: null };
      await new Promise((resolve) => setTimeout(resolve, 1_000 * (attempt + 1)));
    }
  }

  compare(base: string, head: string): Promise<Comparison> {
    return compareCommits(this.github, this.repository, base, head);
  }
}
