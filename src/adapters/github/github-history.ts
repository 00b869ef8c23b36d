/**
 * The git port over GitHub's REST API: the same questions as the local repository adapter,
 * answered without a clone. Ancestry and "commits since" come from the compare API, tags from
 * the tags list (which gives each tag's commit, annotated tags peeled).
 */
import { sortReleaseTags, type ReleaseTagRule } from '../../domain/release-tags';
import { DefinitiveFailure, FailureTypes } from '../../domain/failures';
import type { CommitRecord, GitPort, HistoryCompleteness, ReleasePoint } from '../../ports/git';
import { GitHubPermissions, explainAccess, statusOf, withAccess } from './access-errors';
import type { GitHubClient } from './client';
import { commitRecordOf, compareCommits } from './commit-comparison';
import { fullName, type RepositoryRef } from './repository-ref';

export class GitHubHistory implements GitPort {
  constructor(
    private readonly github: GitHubClient,
    readonly repository: RepositoryRef,
  ) {}

  private get where(): string {
    return fullName(this.repository);
  }

  async completeness(): Promise<HistoryCompleteness> {
    try {
      await this.github.rest.repos.listCommits({ ...this.repository, per_page: 1 });
      return { complete: true, hasCommits: true };
    } catch (err) {
      // 409 "Git Repository is empty."
      if (statusOf(err) === 409) return { complete: true, hasCommits: false };
      throw explainAccess(err, `read the history of ${this.where}`, GitHubPermissions.contentsRead);
    }
  }

  async resolveCommit(revision: string): Promise<string> {
    try {
      // The `sha` media type answers with the bare commit id instead of the whole commit.
      const response = await this.github.request('GET /repos/{owner}/{repo}/commits/{ref}', {
        ...this.repository,
        ref: revision,
        headers: { accept: 'application/vnd.github.sha' },
      });
      return String(response.data as unknown).trim();
    } catch (err) {
      // 422 "No commit found for SHA: ..." names a revision the repository lacks.
      if (statusOf(err) === 422) {
        throw new DefinitiveFailure(
          FailureTypes.unknownCommit,
          `${JSON.stringify(revision)} names no commit in ${this.where}`,
          { revision },
        );
      }
      throw explainAccess(err, `resolve ${revision} in ${this.where}`, GitHubPermissions.contentsRead);
    }
  }

  async branchName(revision: string): Promise<string> {
    return revision.startsWith('refs/heads/') ? revision.slice('refs/heads/'.length) : revision;
  }

  async lastReleaseTag(revision: string, rule: ReleaseTagRule): Promise<ReleasePoint | null> {
    const head = await this.resolveCommit(revision);
    const tags = await withAccess(`list the tags of ${this.where}`, GitHubPermissions.contentsRead, () =>
      this.github.paginate(this.github.rest.repos.listTags, { ...this.repository, per_page: 100 }),
    );
    const commitOf = new Map(tags.map((t) => [t.name, t.commit.sha]));
    // Highest version first; the first one reachable from head is the answer.
    for (const tag of sortReleaseTags([...commitOf.keys()], rule)) {
      const commit = commitOf.get(tag.name)!;
      if (await this.isAncestor(commit, head)) return { ...tag, commit };
    }
    return null;
  }

  async commitsBetween(from: string | null, to: string): Promise<CommitRecord[]> {
    if (from !== null) return (await compareCommits(this.github, this.repository, from, to)).commits;
    const commits = await withAccess(
      `list the history of ${this.where}`,
      GitHubPermissions.contentsRead,
      () =>
        this.github.paginate(this.github.rest.repos.listCommits, {
          ...this.repository,
          sha: to,
          per_page: 100,
        }),
    );
    return commits.map(commitRecordOf);
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const { status } = await compareCommits(this.github, this.repository, ancestor, descendant, {
      commits: false,
    });
    return status === 'identical' || status === 'ahead';
  }
}
