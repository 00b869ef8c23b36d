/**
 * Release activities of the main-commit pipeline: the next version from the angular commits
 * since the last release tag, and the tag itself (idempotent by name).
 */
import { ApplicationFailure } from '@temporalio/common';
import { loadCommitParser } from '../adapters/conventional-commits/commit-parser';
import type { RepositoryConfig } from '../config/schema';
import { DEFAULT_RELEASE_TAG_FORMAT } from '../domain/release-tags';
import { isUserError } from '../common/errors';
import type { GitPort } from '../ports/git';
import type { GitRefs } from '../ports/git-refs';
import { nextVersionOf } from '../release/next-version-of';
import { definitive } from './definitive';
import { FailureTypes } from '../domain/failures';

export interface ReleasePorts {
  repository: (name: string) => RepositoryConfig | undefined;
  /** The git adapter of a configured repository (local clone or GitHub). */
  git: (repository: RepositoryConfig) => Promise<GitPort & GitRefs>;
}

/** Bounded copy of the analysis for workflow history: only the commits that count, and a count. */
export interface NextVersionResult {
  next: string | null;
  version: string | null;
  bump: string | null;
  lastTag: string | null;
  commitCount: number;
  releasing: { sha: string; header: string; effect: string }[];
  warnings: { sha: string; header: string; warning: string }[];
}

const MAX_LISTED = 50;

async function openRepository(ports: ReleasePorts, name: string): Promise<GitPort & GitRefs> {
  const repo = ports.repository(name);
  if (!repo) {
    throw ApplicationFailure.nonRetryable(
      `repository ${name} is not configured`,
      FailureTypes.repositoryNotConfigured,
    );
  }
  try {
    return await ports.git(repo);
  } catch (err) {
    // A missing clone or a path that is not a repository will not fix itself on retry.
    if (isUserError(err)) throw ApplicationFailure.nonRetryable(err.render(), err.code);
    throw err;
  }
}

export function createReleaseActivities(ports: ReleasePorts) {
  return {
    /** The tag the commit would be released as, or null for "no release" (a success). */
    async computeNextVersion(input: { repository: string; commit: string }): Promise<NextVersionResult> {
      const repo = ports.repository(input.repository);
      const git = await openRepository(ports, input.repository);
      const report = await definitive(() =>
        nextVersionOf(
          git,
          input.commit,
          repo!.preset,
          {
            pattern: repo!.releaseTagPattern,
            format: DEFAULT_RELEASE_TAG_FORMAT,
          },
          loadCommitParser,
        ),
      ).catch((err) => {
        if (isUserError(err)) throw ApplicationFailure.nonRetryable(err.render(), err.code);
        throw err;
      });
      return {
        next: report.next,
        version: report.version,
        bump: report.bump,
        lastTag: report.lastTag,
        commitCount: report.commits.length,
        releasing: report.commits
          .filter((c) => c.effect !== 'none')
          .slice(0, MAX_LISTED)
          .map(({ sha, header, effect }) => ({ sha, header, effect })),
        warnings: report.warnings.slice(0, MAX_LISTED),
      };
    },

    /** Tags the commit; a tag already on this commit is success, one on another commit a TagConflict. */
    async createReleaseTag(input: {
      repository: string;
      commit: string;
      tag: string;
    }): Promise<{ created: boolean }> {
      const git = await openRepository(ports, input.repository);
      return await definitive(() => git.createTag({ tag: input.tag, commit: input.commit }));
    },
  };
}
