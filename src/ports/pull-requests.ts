/** What the pull-request gate reads about open pull requests and branch ancestry. */
import type { CommitRecord } from './git';

export interface PullRequestRef {
  number: number;
  /** The branch's short name (`nyefan/JIRA-1234`). */
  headRef: string;
  headSha: string;
  /** The branch it merges into (`main`). */
  baseRef: string;
}

/** How `head` relates to `base`, in the words of GitHub's compare API. */
export type ComparisonStatus = 'ahead' | 'behind' | 'identical' | 'diverged';

export interface Comparison {
  status: ComparisonStatus;
  /** The commit `base` named when compared. */
  baseSha: string;
  /** Commits reachable from head and not from base, newest first, merges included. */
  commits: CommitRecord[];
}

export interface PullRequests {
  /** Open pull requests into `base`, lowest number first. */
  listOpen(base: string): Promise<PullRequestRef[]>;
  /** A pull request's commits, newest first (GitHub lists at most 250). */
  commits(number: number): Promise<CommitRecord[]>;
  compare(base: string, head: string): Promise<Comparison>;
  /**
   * Whether `head` merges into `base` without conflicts, and the merge result's commit to build
   * (GitHub's test merge `refs/pull/<n>/merge`; a local repository's merge made without a ref).
   * `clean: null` when GitHub has not computed it yet.
   */
  mergeResult?(request: { number: number; base: string; head: string }): Promise<MergeResult>;
  /**
   * Opens a pull request from `head` into `base` (a hotfix back into the default branch); finds
   * the one already open from that branch instead of opening a second.
   */
  open?(request: { head: string; base: string; title: string; body: string }): Promise<OpenedPullRequest>;
}

export interface OpenedPullRequest {
  number: number;
  url: string;
  created: boolean;
}

export interface MergeResult {
  clean: boolean | null;
  /** The merge result's commit, when clean. */
  sha?: string;
  /** The refs of origin that hold it (`refs/pull/7/merge`), for a runner that must fetch it. */
  fetch?: string[];
}
