/**
 * The next version of a repository at a revision: reads the history through the git port,
 * parses with the preset's parser and decides with the pure rules. Shared by
 * `release-flow next-version` and the main-commit pipeline's activity, so both always agree.
 * Both hand in the same parser loader (adapters/conventional-commits), so this use case names
 * only ports and rules.
 */
import type { CommitPreset, ParseCommitMessage } from '../domain/commit-analysis';
import { decideNextVersion, type NextVersion } from '../domain/next-version';
import type { ReleaseTagRule } from '../domain/release-tags';
import type { GitPort } from '../ports/git';

export interface NextVersionReport extends NextVersion {
  /** The revision asked about and the commit it names. */
  ref: string;
  head: string;
  preset: CommitPreset;
  tagPattern: string;
  /** Commits that look releasable but count for less (or nothing): see CommitEffect.warning. */
  warnings: { sha: string; header: string; warning: string }[];
}

/** The parse function for a preset's commit messages. */
export type CommitParserLoader = (preset: CommitPreset) => Promise<ParseCommitMessage>;

export async function nextVersionOf(
  git: GitPort,
  ref: string,
  preset: CommitPreset,
  tagRule: ReleaseTagRule,
  loadCommitParser: CommitParserLoader,
): Promise<NextVersionReport> {
  const head = await git.resolveCommit(ref);
  const lastTag = await git.lastReleaseTag(head, tagRule);
  const commits = await git.commitsBetween(lastTag?.commit ?? null, head);
  const parse = await loadCommitParser(preset);
  const decided = decideNextVersion({ lastTag, commits, parse, preset, tagRule });
  const warnings = decided.commits.flatMap((c) =>
    c.warning ? [{ sha: c.sha, header: c.header, warning: c.warning }] : [],
  );
  return { ...decided, ref, head, preset, tagPattern: tagRule.pattern, warnings };
}
