/**
 * The next release: the last release tag plus the bump of the commits since it
 * (docs/pipelines-and-decisions.md "Release rules"). Same answer as semantic-release for the same history.
 */
import semver from 'semver';
import {
  analyzeCommits,
  CommitPresets,
  type CommitEffect,
  type CommitPreset,
  type ParseCommitMessage,
  type RawCommit,
  type ReleaseType,
} from './commit-analysis';
import {
  defaultReleaseTagRule,
  formatReleaseTag,
  type ReleaseTag,
  type ReleaseTagRule,
} from './release-tags';

/** semantic-release's first release: a repository without release tags starts at 1.0.0, whatever the bump. */
export const FIRST_RELEASE_VERSION = '1.0.0';

export interface NextVersionInput {
  /** The highest release tag reachable from the released commit, or null before the first release. */
  lastTag: ReleaseTag | null;
  /** The commits after `lastTag` up to the released commit, newest first. */
  commits: readonly RawCommit[];
  parse: ParseCommitMessage;
  preset?: CommitPreset;
  tagRule?: ReleaseTagRule;
}

export interface NextVersion {
  /** The tag to create (`v1.3.0`), or null for "no release". */
  next: string | null;
  /** The version inside `next` (`1.3.0`). */
  version: string | null;
  bump: ReleaseType | null;
  lastTag: string | null;
  lastVersion: string | null;
  commits: CommitEffect[];
}

export function decideNextVersion(input: NextVersionInput): NextVersion {
  const analysis = analyzeCommits(input.commits, input.parse, input.preset ?? CommitPresets.angular);
  const lastVersion = input.lastTag?.version ?? null;
  const version = analysis.bump ? bumpVersion(lastVersion, analysis.bump) : null;
  return {
    next: version ? formatReleaseTag(version, input.tagRule ?? defaultReleaseTagRule) : null,
    version,
    bump: analysis.bump,
    lastTag: input.lastTag?.name ?? null,
    lastVersion,
    commits: analysis.commits,
  };
}

/** Semver's bump of a version, exposed for callers that already know the release type. */
export function bumpVersion(lastVersion: string | null, bump: ReleaseType): string {
  if (!lastVersion) return FIRST_RELEASE_VERSION;
  const next = semver.inc(lastVersion, bump);
  if (!next) throw new Error(`not a semantic version: ${lastVersion}`);
  return next;
}
