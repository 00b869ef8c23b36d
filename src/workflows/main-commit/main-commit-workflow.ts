/**
 * Stage 1: a commit on the default branch (docs/pipelines-and-decisions.md "The pipelines"). Build the artifact, run unit
 * tests, tag the artifact with the commit hash in the dev repository, deploy it to dev, run
 * integration tests against dev; then compute the next version from the angular commits since the
 * last release tag and tag the commit. Any failure alerts the development team and halts.
 *
 * Pipelines of one repository run one at a time, in push order, under the repository's lock
 * (`lock:repo:<name>`), so two runs never compute or push the same version; a run whose commit
 * is an ancestor of the one dev runs (a push that arrived late) ends superseded, so dev never
 * goes backwards. A repository with no webhook source gets its tag pipeline started here.
 * Answers `status`. Ends with the outcome: released (with the tag), no-release, superseded, or
 * fails with PipelineFailed / ends preempted when its lock was taken away. The commit status
 * `release-flow/main` follows the run (best effort; runs begun before the commit statuses
 * patch post none).
 */
import {
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { PipelineActivities } from '../../activities/pipeline';
import { StatusContexts } from '../../domain/commit-status';
import { acquire } from '../lock/acquire';
import { repositoryLockResource } from '../lock/messages';
import { buildCalls, quickCalls } from '../shared/activity-options';
import { commitStatusReporter } from '../shared/commit-statuses';
import {
  PipelineStates,
  PipelineWorkflowTypes,
  pipelineWorkflowId,
  statusQuery,
  type PipelineStatus,
} from '../shared/messages';
import { ReleaseCommit, ReleaseRepository, ReleaseStage, ReleaseVersion } from '../shared/search-attributes';
import { failPipeline, markPreempted } from '../shared/outcomes';
import { runStep } from '../shared/steps';
import type { MainCommitInput, MainCommitOutcome } from './messages';

export type { MainCommitInput, MainCommitOutcome };

const builds = proxyActivities<PipelineActivities>(buildCalls);
const quick = proxyActivities<PipelineActivities>(quickCalls);
/**
 * The dev order check heartbeats: one lost with the Temporal server (handed out just before it
 * stopped, or its result sent while it was down) is retried within seconds of the server's
 * return, not after the five minutes of start-to-close. Timeouts are not part of replay.
 */
const heartbeating = proxyActivities<PipelineActivities>({ ...quickCalls, heartbeatTimeout: '10 seconds' });

/**
 * Dev only moves forward: a run whose commit is an ancestor of the one dev runs (an out-of-order
 * or redelivered push) ends `superseded` before it builds, deploys or tags anything.
 */
export const DEV_MOVES_FORWARD_PATCH = 'dev-moves-forward';
/**
 * A repository with no webhook source (a local clone) gets its tag pipeline from the run that
 * made the tag; one GitHub serves from the tag's push.
 */
export const MAIN_COMMIT_STARTS_TAG_PATCH = 'main-commit-starts-tag';

export async function mainCommitWorkflow(input: MainCommitInput): Promise<MainCommitOutcome> {
  // `release-flow/main` on the commit: pending now, then released, no release, or the failed step.
  const statuses = commitStatusReporter({
    repository: input.repository,
    commit: input.commit,
    context: StatusContexts.main,
  });
  statuses.post(
    'pending',
    'main-commit pipeline: build, unit tests, dev deploy, integration tests, release tag',
  );
  const status: PipelineStatus = {
    stage: 'main-commit',
    repository: input.repository,
    commit: input.commit,
    state: PipelineStates.running,
    step: 'waiting for the repository lock',
    steps: [],
    environments: {},
  };
  setHandler(statusQuery, () => status, {
    description:
      'Stage, current step, every step with its times and result, versions per environment, failure.',
  });
  const by = workflowInfo().workflowId;

  const lock = await runStep(status, 'repository lock', async () => {
    const held = await acquire(repositoryLockResource(input.repository), {
      purpose: `main-commit ${input.commit.slice(0, 12)}`,
      lease: '10 minutes',
    });
    return { value: held, detail: `token ${held.token}` };
  });

  try {
    const outcome = await lock.run(() => pipeline(input, status, by));
    statuses.post(
      'success',
      outcome.state === 'superseded'
        ? `superseded: dev runs the newer ${outcome.supersededBy?.slice(0, 12)}; not deployed or tagged`
        : outcome.tag
          ? `released ${outcome.tag} (${outcome.bump ?? 'release'})`
          : `no release: nothing releasable since ${outcome.lastTag ?? 'the first commit'}`,
    );
    return outcome;
  } catch (err) {
    if (markPreempted({ status, statuses, taken: 'the repository lock' }, err)) {
      return { state: 'preempted', tag: null, bump: null, lastTag: null, preemptedBy: status.preemptedBy };
    }
    return await failPipeline(
      {
        status,
        statuses,
        title: `main-commit pipeline of ${input.commit.slice(0, 12)}`,
        subject: { commit: input.commit },
        alerts: quick,
      },
      err,
    );
  } finally {
    await lock.release();
    await statuses.settled();
  }
}

async function pipeline(
  input: MainCommitInput,
  status: PipelineStatus,
  by: string,
): Promise<MainCommitOutcome> {
  const { repository, commit } = input;
  if (patched(DEV_MOVES_FORWARD_PATCH)) {
    // Runs of one repository go one at a time in the order they asked for its lock, which is
    // the order their pushes arrived, not always the order they were made.
    const dev = await runStep(status, 'dev order', async () => {
      const c = await heartbeating.compareWithDev.executeWithOptions(
        { summary: `does dev run a newer commit than ${commit.slice(0, 12)}` },
        [{ repository, commit }],
      );
      const detail = c.newer
        ? `dev runs the newer ${c.devRuns!.slice(0, 12)}, a descendant of this commit`
        : c.devRuns
          ? `dev runs ${c.devRuns.slice(0, 12)}: this commit moves it forward`
          : 'dev runs nothing yet';
      return { value: c, detail };
    });
    if (dev.newer && dev.devRuns) {
      status.state = PipelineStates.superseded;
      status.supersededBy = dev.devRuns;
      status.environments.dev = dev.devRuns;
      return { state: 'superseded', tag: null, bump: null, lastTag: null, supersededBy: dev.devRuns };
    }
  }
  const built = await runStep(status, 'build', async () => {
    const result = await builds.buildArtifact.executeWithOptions(
      { summary: `build ${commit.slice(0, 12)}` },
      [{ repository, commit }],
    );
    return { value: result, detail: `built in ${Math.round(result.durationMs / 1000)}s` };
  });
  await runStep(status, 'unit tests', async () => {
    const result = await builds.runTests.executeWithOptions(
      { summary: `unit tests of ${commit.slice(0, 12)}` },
      [{ repository, commit, purpose: 'unit-tests' }],
    );
    return { value: result, detail: result.reused ? 'reused an earlier passing run' : 'passed' };
  });
  const uploaded = await runStep(status, 'upload artifact', async () => {
    const tagged = await quick.uploadArtifact.executeWithOptions(
      { summary: `upload the artifact of ${commit.slice(0, 12)} to dev` },
      [{ repository, commit, file: built.file }],
    );
    return { value: tagged, detail: `dev:${tagged.tag} = ${tagged.digest.slice(0, 19)}` };
  });
  await runStep(status, 'deploy dev', async () => {
    const result = await quick.deployVersion.executeWithOptions(
      { summary: `deploy ${commit.slice(0, 12)} to dev` },
      [
        {
          repository,
          env: 'dev',
          version: commit,
          artifact: { repository: 'dev', tag: commit },
          // What was built and uploaded is what dev gets: a tag replaced since is refused.
          digest: uploaded.digest,
          by,
        },
      ],
    );
    status.environments.dev = commit;
    return { value: result, detail: result.note };
  });
  await runStep(status, 'integration tests (dev)', async () => {
    const result = await builds.runTests.executeWithOptions(
      { summary: `integration tests of ${commit.slice(0, 12)} in dev` },
      [{ repository, commit, purpose: 'integration-tests', env: 'dev', version: commit }],
    );
    return { value: result, detail: 'passed' };
  });
  const next = await runStep(status, 'next version', async () => {
    const result = await quick.computeNextVersion.executeWithOptions(
      { summary: `next version from the commits up to ${commit.slice(0, 12)}` },
      [{ repository, commit }],
    );
    return { value: result, detail: result.next ? `${result.next} (${result.bump})` : 'no release' };
  });
  if (!next.next) {
    status.state = PipelineStates.noRelease;
    return { state: 'no-release', tag: null, bump: null, lastTag: next.lastTag };
  }
  const tag = next.next;
  status.version = tag;
  // The version is in the status query and the result; the run is found by ReleaseRepository and
  // ReleaseCommit, set at start (a search-attribute upsert would fail on servers without them).
  await runStep(status, 'tag release', async () => {
    const result = await quick.createReleaseTag.executeWithOptions(
      { summary: `tag ${commit.slice(0, 12)} ${tag}` },
      [{ repository, commit, tag }],
    );
    return { value: result, detail: result.created ? `tagged ${tag}` : `${tag} already on this commit` };
  });
  const tagWorkflowId = patched(MAIN_COMMIT_STARTS_TAG_PATCH)
    ? await startTagPipeline(status, repository, commit, tag)
    : undefined;
  status.state = PipelineStates.succeeded;
  return {
    state: 'released',
    tag,
    bump: next.bump,
    lastTag: next.lastTag,
    ...(tagWorkflowId ? { tagWorkflowId } : {}),
  };
}

/**
 * The tag pipeline of a repository no tag push arrives from, under the id its push would have
 * (`tag:<repository>:<tag>`), so a start from any door later finds it; null when the tag's push
 * starts it (GitHub) or the version already reached production.
 */
async function startTagPipeline(
  status: PipelineStatus,
  repository: string,
  commit: string,
  tag: string,
): Promise<string | undefined> {
  return await runStep(status, 'tag pipeline', async () => {
    const plan = await quick.checkTagPipelineStart.executeWithOptions(
      { summary: `who starts the tag pipeline of ${tag}` },
      [{ repository, tag }],
    );
    if (!plan.start) return { value: undefined, detail: plan.reason };
    const id = pipelineWorkflowId('tag', repository, tag);
    try {
      await startChild(PipelineWorkflowTypes.tag, {
        workflowId: id,
        args: [{ repository, tag, commit }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        ...(plan.searchAttributes
          ? {
              typedSearchAttributes: [
                { key: ReleaseRepository, value: repository },
                { key: ReleaseStage, value: 'tag' },
                { key: ReleaseCommit, value: commit },
                { key: ReleaseVersion, value: tag },
              ],
            }
          : {}),
      });
      return { value: id, detail: `${id} started: ${plan.reason}` };
    } catch (err) {
      // Started already (a start by hand, or this step's own earlier attempt): the same release.
      if (err instanceof WorkflowExecutionAlreadyStartedError)
        return { value: id, detail: `${id} already started` };
      throw err;
    }
  });
}
