/**
 * GitHub's compare API (`GET /repos/{owner}/{repo}/compare/{base}...{head}`) read to the end.
 * The API pages its commit list like any list (Link header, at most 100 a page) but the body is
 * an object, so Octokit's paginate() cannot follow it; this does, and turns commits into the
 * port's records: newest first, message trimmed as semantic-release reads it.
 */
import type { CommitRecord } from '../../ports/git';
import type { Comparison } from '../../ports/pull-requests';
import { GitHubPermissions, withAccess } from './access-errors';
import type { GitHubClient } from './client';
import type { RepositoryRef } from './repository-ref';

const PAGE_SIZE = 100;

/** A commit as the REST API returns it in lists and comparisons. */
interface ApiCommit {
  sha: string;
  commit: { message: string };
  parents: ReadonlyArray<{ sha: string }>;
}

export function commitRecordOf(commit: ApiCommit): CommitRecord {
  return {
    sha: commit.sha,
    message: commit.commit.message.trim(),
    parents: commit.parents.map((p) => p.sha),
  };
}

export function hasNextPage(link: string | undefined): boolean {
  return link !== undefined && /<[^>]+>;\s*rel="next"/.test(link);
}

export async function compareCommits(
  github: GitHubClient,
  repo: RepositoryRef,
  base: string,
  head: string,
  options: { commits?: boolean } = {},
): Promise<Comparison> {
  // Ancestry needs only the status: one commit on one page instead of the whole list.
  const wantCommits = options.commits ?? true;
  const basehead = `${base}...${head}`;
  return withAccess(
    `compare ${basehead} in ${repo.owner}/${repo.repo}`,
    GitHubPermissions.contentsRead,
    async () => {
      const oldestFirst: CommitRecord[] = [];
      let baseSha = '';
      let status: Comparison['status'] = 'identical';
      for (let page = 1; ; page++) {
        const response = await github.rest.repos.compareCommitsWithBasehead({
          ...repo,
          basehead,
          per_page: wantCommits ? PAGE_SIZE : 1,
          page,
        });
        if (page === 1) {
          baseSha = response.data.base_commit.sha;
          status = response.data.status;
        }
        if (!wantCommits) break;
        oldestFirst.push(...response.data.commits.map(commitRecordOf));
        if (!hasNextPage(response.headers.link) || response.data.commits.length === 0) break;
      }
      return { status, baseSha, commits: oldestFirst.reverse() };
    },
  );
}
