/**
 * The git port of a repository GitHub serves (docs/integrations.md "GitHub"). Release tags and `HOT-<n>` branches
 * are written on GitHub, where webhooks see them and start the next stage. History, for the
 * next version, is read from the worker's clone when the repository has one (fast, and the
 * same answers `release-flow next-version` gives), else from GitHub's API.
 *
 * A clone can be behind GitHub: another worker or a person may have pushed a tag since. So the
 * clone is fetched from `origin` before the first history question of each instance (one
 * instance per activity), best effort; and each tag this port makes on GitHub is also made in
 * the clone, so the next version this worker computes already counts it even where the fetch
 * cannot reach GitHub. A clone left behind anyway computes a version that is already taken, and
 * GitHub's refusal (TagConflict) stops the release instead of moving a tag.
 */
import type { ReleaseTagRule } from '../../domain/release-tags';
import type { CommitRecord, GitPort, HistoryCompleteness, ReleasePoint } from '../../ports/git';
import type { GitRefs } from '../../ports/git-refs';
import type { LocalGitRepository } from '../local/git-repository';

export interface GitHubGitOptions {
  /** Tags and branches on GitHub (`GitHubRefs`). */
  refs: GitRefs;
  /** GitHub's API history (`GitHubHistory`), used when there is no clone. */
  remoteHistory: GitPort;
  /** The worker's clone of the repository, when configured (`repositories[].path`). */
  clone?: LocalGitRepository;
  /** Told what could not be done (a failed fetch, a tag not mirrored); the release goes on. */
  warn?: (message: string) => void;
}

export class GitHubGit implements GitPort, GitRefs {
  private refreshed: Promise<GitPort> | undefined;

  constructor(private readonly options: GitHubGitOptions) {}

  /** Where history questions go: the clone once fetched, else GitHub. */
  private history(): Promise<GitPort> {
    this.refreshed ??= this.refresh();
    return this.refreshed;
  }

  private async refresh(): Promise<GitPort> {
    const clone = this.options.clone;
    if (!clone) return this.options.remoteHistory;
    const outcome = await clone.fetchOrigin();
    if (!outcome.fetched && !outcome.noOrigin) {
      this.warn(`history of ${clone.directory} is read without fetching first: ${outcome.reason}`);
    }
    return clone;
  }

  private warn(message: string): void {
    this.options.warn?.(message);
  }

  async completeness(): Promise<HistoryCompleteness> {
    return (await this.history()).completeness();
  }

  async resolveCommit(revision: string): Promise<string> {
    return (await this.history()).resolveCommit(revision);
  }

  async branchName(revision: string): Promise<string> {
    return (await this.history()).branchName(revision);
  }

  async lastReleaseTag(revision: string, rule: ReleaseTagRule): Promise<ReleasePoint | null> {
    return (await this.history()).lastReleaseTag(revision, rule);
  }

  async commitsBetween(from: string | null, to: string): Promise<CommitRecord[]> {
    return (await this.history()).commitsBetween(from, to);
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    return (await this.history()).isAncestor(ancestor, descendant);
  }

  async createTag(request: { tag: string; commit: string }): Promise<{ created: boolean }> {
    const result = await this.options.refs.createTag(request);
    const clone = this.options.clone;
    if (clone) {
      await clone.createTag(request).catch((err: unknown) => {
        this.warn(
          `tag ${request.tag} is on GitHub but not in ${clone.directory}: ${err instanceof Error ? err.message : String(err)}`,
        );
      });
    }
    return result;
  }

  createBranchFromTag(request: {
    branch: string;
    tag: string;
  }): Promise<{ created: boolean; commit: string }> {
    // Only on GitHub: the hotfix is pushed there, and the clone learns the branch by fetching.
    return this.options.refs.createBranchFromTag(request);
  }
}
