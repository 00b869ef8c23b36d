/**
 * Release tags and `HOT-<n>` branches through GitHub's git refs API. A tag is a lightweight
 * ref (`refs/tags/vX.Y.Z`) like the one `git tag` + `git push` makes, so it triggers the same
 * `create` and `push` webhooks that start the tag pipeline.
 */
import { DefinitiveFailure, FailureTypes } from '../../domain/failures';
import type { GitRefs } from '../../ports/git-refs';
import { GitHubPermissions, explainAccess, githubMessage, isRequestFailure, statusOf } from './access-errors';
import type { GitHubClient } from './client';
import { compareCommits } from './commit-comparison';
import { fullName, type RepositoryRef } from './repository-ref';

export class GitHubRefs implements GitRefs {
  constructor(
    private readonly github: GitHubClient,
    readonly repository: RepositoryRef,
  ) {}

  async createTag(request: { tag: string; commit: string }): Promise<{ created: boolean }> {
    const created = await this.createRef(`tags/${request.tag}`, request.commit);
    if (created) return { created: true };
    const existing = await this.commitOf(`tags/${request.tag}`);
    if (existing === request.commit) return { created: false };
    throw new DefinitiveFailure(
      FailureTypes.tagConflict,
      `tag ${request.tag} in ${fullName(this.repository)} already marks ${existing?.slice(0, 12)}, not ${request.commit.slice(0, 12)}`,
      { tag: request.tag, existing, wanted: request.commit },
    );
  }

  async createBranchFromTag(request: {
    branch: string;
    tag: string;
  }): Promise<{ created: boolean; commit: string }> {
    const commit = await this.commitOf(`tags/${request.tag}`);
    if (commit === null) {
      throw new DefinitiveFailure(
        FailureTypes.unknownCommit,
        `tag ${request.tag} does not exist in ${fullName(this.repository)}`,
        { tag: request.tag },
      );
    }
    if (await this.createRef(`heads/${request.branch}`, commit)) return { created: true, commit };
    // Made by an earlier attempt, perhaps with hotfix commits on top since: still ours.
    const head = await this.commitOf(`heads/${request.branch}`);
    if (head !== null) {
      const { status } = await compareCommits(this.github, this.repository, commit, head, { commits: false });
      if (status === 'identical' || status === 'ahead') return { created: false, commit };
    }
    throw new DefinitiveFailure(
      FailureTypes.incidentIdTaken,
      `branch ${request.branch} already exists in ${fullName(this.repository)} and does not contain ${request.tag} (${commit.slice(0, 12)})`,
      { branch: request.branch, tag: request.tag, head },
    );
  }

  /** True when created, false when the ref already exists. */
  private async createRef(ref: string, sha: string): Promise<boolean> {
    try {
      await this.github.rest.git.createRef({ ...this.repository, ref: `refs/${ref}`, sha });
      return true;
    } catch (err) {
      if (statusOf(err) !== 422 || !isRequestFailure(err)) {
        throw explainAccess(
          err,
          `create refs/${ref} in ${fullName(this.repository)}`,
          GitHubPermissions.contentsWrite,
        );
      }
      const message = githubMessage(err);
      if (/already exists/i.test(message)) return false;
      if (/object does not exist/i.test(message)) {
        throw new DefinitiveFailure(
          FailureTypes.unknownCommit,
          `commit ${sha} does not exist in ${fullName(this.repository)}`,
          { sha },
        );
      }
      throw new DefinitiveFailure(
        FailureTypes.invalidReference,
        `GitHub refused refs/${ref} in ${fullName(this.repository)}: ${message}`,
        { ref },
      );
    }
  }

  /** The commit a ref marks, annotated tags peeled; null when there is no such ref. */
  private async commitOf(ref: string): Promise<string | null> {
    try {
      const { data } = await this.github.rest.git.getRef({ ...this.repository, ref });
      let object = data.object;
      // An annotated tag points at a tag object, which points at the commit (or, rarely, another tag).
      for (let depth = 0; object.type === 'tag' && depth < 10; depth++) {
        object = (await this.github.rest.git.getTag({ ...this.repository, tag_sha: object.sha })).data.object;
      }
      return object.sha;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw explainAccess(
        err,
        `read refs/${ref} in ${fullName(this.repository)}`,
        GitHubPermissions.contentsRead,
      );
    }
  }
}
