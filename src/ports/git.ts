/**
 * What release rules need to know about a repository's history. Implemented by the local
 * adapter (a `git` executable on this machine) and later by a hosted one; nothing here names
 * git commands, so a pipeline can ask the same questions of either.
 */
import type { RawCommit } from '../domain/commit-analysis';
import type { ReleaseTag, ReleaseTagRule } from '../domain/release-tags';

/** A commit with its full message and parents; more than one parent makes a merge. */
export interface CommitRecord extends RawCommit {
  parents: readonly string[];
}

/** A release tag and the commit it marks. */
export interface ReleasePoint extends ReleaseTag {
  commit: string;
}

export interface HistoryCompleteness {
  /** False when the copy holds only part of the history (a shallow clone): tags and commits may be missing. */
  complete: boolean;
  /** False when there is no commit at all. */
  hasCommits: boolean;
}

export interface GitPort {
  /** Whether the answers below can be trusted to cover the whole history. */
  completeness(): Promise<HistoryCompleteness>;
  /** The commit id a revision (branch, tag, commit) names; rejects when it names none. */
  resolveCommit(revision: string): Promise<string>;
  /** The short branch name a revision stands for (`nyefan/JIRA-1` for `origin/nyefan/JIRA-1`), else the revision. */
  branchName(revision: string): Promise<string>;
  /** The highest release tag whose commit is reachable from `revision`; non-matching tags are ignored. */
  lastReleaseTag(revision: string, rule: ReleaseTagRule): Promise<ReleasePoint | null>;
  /**
   * Commits reachable from `to` but not from `from` (everything reachable when `from` is null),
   * newest first, merges included, messages trimmed the way semantic-release reads them.
   */
  commitsBetween(from: string | null, to: string): Promise<CommitRecord[]>;
  /** True when `ancestor` is `descendant` or one of its ancestors. */
  isAncestor(ancestor: string, descendant: string): Promise<boolean>;
}
