/**
 * What a verified GitHub delivery asks release-flow to do: start a pipeline, answer a ping, or
 * nothing (with the reason). Pure: no I/O, so every rule is a table test.
 *
 * - `push` to a configured repository's default branch: main-commit pipeline of `after`, and
 *   the re-check of every open pull request (`pr-recheck:<repository>:<after>`). Ignored:
 *   branch deletions, forced pushes (GitHub sets `forced` when `before` is not an ancestor of
 *   `after`, i.e. the push removed commits from the branch), other branches.
 * - `push` of a tag matching the repository's release pattern: tag pipeline of the tagged
 *   commit (`head_commit.id`: for an annotated tag `after` is the tag object, not the commit).
 * - `create` of a tag: ignored, because the payload carries no commit; GitHub sends a `push`
 *   for the same tag and that delivery starts the tag pipeline.
 * - `pull_request` opened, reopened, synchronize, ready_for_review, or edited with a new base
 *   (see pull-request-event.ts): the PR gate of the head, `pr-gate:<repository>#<n>:<head sha>`.
 *   Other actions change nothing the gate reads and are ignored.
 */
import { DEFAULT_RELEASE_TAG_FORMAT, isReleaseTag } from '../../domain/release-tags';
import { forkOfEvent, pullRequestOfEvent } from './pull-request-event';
import { pipelineWorkflowId } from '../../workflows/shared/messages';
import { type MainCommitInput } from '../../workflows/main-commit/messages';
import { type TagReleaseInput } from '../../workflows/tag/messages';
import { HOTFIX_BRANCH_PATTERN, hotfixWorkflowId, type HotfixInput } from '../../workflows/hotfix/messages';
import {
  pullRequestGateWorkflowId,
  pullRequestRecheckWorkflowId,
  type PullRequestGateInput,
  type RecheckOpenPullRequestsInput,
} from '../../workflows/pr-gate/messages';

/** What the receiver needs of a configured repository. */
export interface RoutedRepository {
  name: string;
  defaultBranch: string;
  releaseTagPattern: string;
}

export type StartRequest =
  | { stage: 'main-commit'; workflowId: string; input: MainCommitInput }
  | { stage: 'tag'; workflowId: string; input: TagReleaseInput }
  | { stage: 'pr-gate'; workflowId: string; input: PullRequestGateInput }
  | { stage: 'pr-recheck'; workflowId: string; input: RecheckOpenPullRequestsInput & { commit: string } }
  | { stage: 'hotfix'; workflowId: string; input: HotfixInput };

export type Routing =
  | { kind: 'pong'; repository?: string; reason: string }
  | {
      kind: 'start';
      repository: string;
      request: StartRequest;
      /** Further starts the same delivery calls for (the PR re-check after a push to main). */
      also?: StartRequest[];
      reason: string;
    }
  | { kind: 'ignore'; repository?: string; reason: string };

export const HANDLED_EVENTS: readonly string[] = ['push', 'create', 'pull_request', 'ping'];

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const ZERO_SHA = /^0+$/;

type Payload = Record<string, unknown>;

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function repositoryName(payload: Payload): string | undefined {
  const repo = payload.repository as { full_name?: unknown } | undefined;
  return str(repo?.full_name);
}

/** GitHub spells owner/name with the case the owner chose; matching ignores case, as GitHub does. */
export function findRepository(
  repositories: readonly RoutedRepository[],
  fullName: string,
): RoutedRepository | undefined {
  const wanted = fullName.toLowerCase();
  return repositories.find((r) => r.name.toLowerCase() === wanted);
}

// The pattern and semver both (src/domain/release-tags.ts): `v01.1.2` is no release tag, whatever a pattern says.
function matchesPattern(repo: RoutedRepository, tag: string): boolean {
  return isReleaseTag(tag, { pattern: repo.releaseTagPattern, format: DEFAULT_RELEASE_TAG_FORMAT });
}

function tagStart(repo: RoutedRepository, tag: string, commit: string): StartRequest {
  return {
    stage: 'tag',
    workflowId: pipelineWorkflowId('tag', repo.name, tag),
    input: { repository: repo.name, tag, commit },
  };
}

function routePush(repo: RoutedRepository, payload: Payload): Routing {
  const ignore = (reason: string): Routing => ({ kind: 'ignore', repository: repo.name, reason });
  const ref = str(payload.ref);
  const after = str(payload.after) ?? '';
  if (!ref) return ignore('push without a ref');
  if (payload.deleted === true || ZERO_SHA.test(after))
    return ignore(`${ref} was deleted: nothing to release`);

  if (ref.startsWith('refs/heads/')) {
    const branch = ref.slice('refs/heads/'.length);
    if (HOTFIX_BRANCH_PATTERN.test(branch)) {
      // A hotfix branch of an emergency: the hotfix pipeline (it refuses one with no open incident).
      if (!SHA.test(after)) return ignore(`push to ${branch} without a commit hash in "after"`);
      return {
        kind: 'start',
        repository: repo.name,
        reason: `push to ${branch}: hotfix pipeline of ${after}`,
        request: {
          stage: 'hotfix',
          workflowId: hotfixWorkflowId(repo.name, branch, after),
          input: { repository: repo.name, branch, commit: after },
        },
      };
    }
    if (branch !== repo.defaultBranch) {
      return ignore(`push to branch ${branch}: only ${repo.defaultBranch} starts the main-commit pipeline`);
    }
    if (payload.forced === true) {
      return ignore(
        `forced push to ${branch} removed commits (${str(payload.before) ?? '?'} is not an ancestor of ${after}): not released; push a new commit on top to release`,
      );
    }
    if (!SHA.test(after)) return ignore(`push to ${branch} without a commit hash in "after"`);
    return {
      kind: 'start',
      repository: repo.name,
      reason: `push to ${branch}: main-commit pipeline of ${after}`,
      request: {
        stage: 'main-commit',
        workflowId: pipelineWorkflowId('main-commit', repo.name, after),
        input: { repository: repo.name, commit: after },
      },
      // Open pull requests may no longer be rebased on the moved branch.
      also: [
        {
          stage: 'pr-recheck',
          workflowId: pullRequestRecheckWorkflowId(repo.name, after),
          input: { repository: repo.name, base: branch, commit: after },
        },
      ],
    };
  }

  if (ref.startsWith('refs/tags/')) {
    const tag = ref.slice('refs/tags/'.length);
    if (!matchesPattern(repo, tag)) {
      return ignore(
        `tag ${tag} is not a release tag: it does not match the release tag pattern ${repo.releaseTagPattern} with a semantic version (no leading zeros)`,
      );
    }
    const headCommit = payload.head_commit as { id?: unknown } | null | undefined;
    const commit = str(headCommit?.id) ?? after;
    if (!SHA.test(commit)) return ignore(`push of tag ${tag} without the tagged commit's hash`);
    return {
      kind: 'start',
      repository: repo.name,
      reason: `release tag ${tag} pushed: tag pipeline of ${commit}`,
      request: tagStart(repo, tag, commit),
    };
  }
  return ignore(`push to ${ref}: neither a branch nor a tag`);
}

function routeCreate(repo: RoutedRepository, payload: Payload): Routing {
  const ignore = (reason: string): Routing => ({ kind: 'ignore', repository: repo.name, reason });
  const refType = str(payload.ref_type);
  const ref = str(payload.ref) ?? '';
  if (refType !== 'tag')
    return ignore(`creation of ${refType ?? 'a ref'} ${ref} starts nothing; its pushes do`);
  if (!matchesPattern(repo, ref)) {
    return ignore(
      `tag ${ref} is not a release tag: it does not match the release tag pattern ${repo.releaseTagPattern} with a semantic version (no leading zeros)`,
    );
  }
  return ignore(
    `create events carry no commit; the push delivery of tag ${ref} starts workflow ${pipelineWorkflowId('tag', repo.name, ref)}`,
  );
}

function routePullRequest(repo: RoutedRepository, payload: Payload): Routing {
  const action = str(payload.action) ?? '(no action)';
  const gated = pullRequestOfEvent(payload);
  if (!gated) {
    return {
      kind: 'ignore',
      repository: repo.name,
      reason: `pull_request ${action} changes nothing the PR gate checks`,
    };
  }
  const { number, headRef, headSha, baseRef } = gated.pullRequest;
  const fork = forkOfEvent(payload);
  if (!SHA.test(headSha)) {
    return {
      kind: 'ignore',
      repository: repo.name,
      reason: `pull request #${number} ${action} without a head commit hash`,
    };
  }
  return {
    kind: 'start',
    repository: repo.name,
    reason: `pull request #${number} ${action}: PR gate of ${headSha}`,
    request: {
      stage: 'pr-gate',
      workflowId: pullRequestGateWorkflowId(repo.name, number, headSha),
      input: {
        repository: repo.name,
        number,
        head: headSha,
        branch: headRef,
        base: baseRef,
        ...(fork ? { fork } : {}),
      },
    },
  };
}

export function routeEvent(
  event: string,
  payload: Payload,
  repositories: readonly RoutedRepository[],
): Routing {
  const fullName = repositoryName(payload);
  if (event === 'ping') {
    return {
      kind: 'pong',
      repository: fullName,
      reason: 'pong: the webhook reaches release-flow and its secret matches',
    };
  }
  if (!HANDLED_EVENTS.includes(event)) {
    return {
      kind: 'ignore',
      repository: fullName,
      reason: `event ${event || '(none)'} is not handled (handled: ${HANDLED_EVENTS.join(', ')}); unsubscribe it on GitHub to save deliveries`,
    };
  }
  if (!fullName) return { kind: 'ignore', reason: `${event} delivery without repository.full_name` };
  const repo = findRepository(repositories, fullName);
  if (!repo) {
    return {
      kind: 'ignore',
      repository: fullName,
      reason: `repository ${fullName} is not configured: add it under repositories in the config file`,
    };
  }
  if (event === 'push') return routePush(repo, payload);
  if (event === 'create') return routeCreate(repo, payload);
  return routePullRequest(repo, payload);
}
