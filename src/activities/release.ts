/**
 * Release activities of the main-commit pipeline: the next version from the angular commits
 * since the last release tag, and the tag itself (idempotent by name).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { loadCommitParser } from '../adapters/conventional-commits/commit-parser';
import type { RepositoryConfig } from '../config/schema';
import { DEFAULT_RELEASE_TAG_FORMAT } from '../domain/release-tags';
import { isUserError } from '../common/errors';
import type { GitPort } from '../ports/git';
import type { GitRefs } from '../ports/git-refs';
import type { Environments } from '../ports/environments';
import { environmentKey } from './deploy';
import { nextVersionOf } from '../release/next-version-of';
import { definitive } from './definitive';
import { FailureTypes } from '../domain/failures';

export interface ReleasePorts {
  repository: (name: string) => RepositoryConfig | undefined;
  /** The git adapter of a configured repository (local clone or GitHub). */
  git: (repository: RepositoryConfig) => Promise<GitPort & GitRefs>;
  /** Where dev's running commit is read (compareWithDev); without it dev counts as empty. */
  environments?: Environments;
}

/** Where a main commit stands against the commit dev runs. */
export interface DevComparison {
  /** The commit dev runs now, or null when it runs nothing. */
  devRuns: string | null;
  /**
   * True when dev runs a newer commit of this one's line (this commit is one of its ancestors):
   * deploying this one would move dev backwards.
   */
  newer: boolean;
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

    /**
     * Whether dev already runs a newer commit than this one: a commit this one is an ancestor of
     * (an out-of-order or redelivered push). A commit git does not know here (history rewritten
     * by a force push) is not newer: dev follows the branch as it is now.
     */
    async compareWithDev(input: { repository: string; commit: string }): Promise<DevComparison> {
      return await beating(() => compareWithDevNow(ports, input));
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

/** The comparison itself; `compareWithDev` runs it heartbeating. */
async function compareWithDevNow(
  ports: ReleasePorts,
  input: { repository: string; commit: string },
): Promise<DevComparison> {
  const running = ports.environments
    ? ((await definitive(() => ports.environments!.state(environmentKey(input.repository, 'dev')))).current
        ?.version ?? null)
    : null;
  if (!running || running === input.commit) return { devRuns: running, newer: false };
  const git = await openRepository(ports, input.repository);
  const known = await git.resolveCommit(running).then(
    () => true,
    () => false,
  );
  return { devRuns: running, newer: known && (await git.isAncestor(input.commit, running)) };
}

/**
 * Heartbeats while `work` runs, so a task lost with the Temporal server (handed out just before
 * it stopped, or its result sent while it was down) is retried after the heartbeat timeout the
 * workflow sets, not after its start-to-close timeout.
 */
async function beating<T>(work: () => Promise<T>): Promise<T> {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    // Called outside a worker (a script or a test driving the activity directly).
    return await work();
  }
  const beat = setInterval(() => ctx.heartbeat(), 2_000);
  try {
    ctx.heartbeat();
    return await work();
  } finally {
    clearInterval(beat);
  }
}
