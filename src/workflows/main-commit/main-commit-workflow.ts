/**
 * Stage 1: a commit on the default branch (docs/pipelines-and-decisions.md "The pipelines"). Build the artifact, run unit
 * tests, tag the artifact with the commit hash in the dev repository, deploy it to dev, run
 * integration tests against dev; then compute the next version from the angular commits since the
 * last release tag and tag the commit. Any failure alerts the development team and halts.
 *
 * Pipelines of one repository run one at a time, in push order, under the repository's lock
 * (`lock:repo:<name>`), so two runs never compute or push the same version and dev never goes
 * backwards. Answers `status`. Ends with the outcome: released (with the tag), no-release, or
 * fails with PipelineFailed / ends preempted when its lock was taken away. The commit status
 * `release-flow/main` follows the run (best effort; runs begun before the commit statuses
 * patch post none).
 */
import { proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { PipelineActivities } from '../../activities/pipeline';
import { StatusContexts } from '../../domain/commit-status';
import { acquire } from '../lock/acquire';
import { repositoryLockResource } from '../lock/messages';
import { buildCalls, quickCalls } from '../shared/activity-options';
import { commitStatusReporter } from '../shared/commit-statuses';
import { PipelineStates, statusQuery, type PipelineStatus } from '../shared/messages';
import { failPipeline, markPreempted } from '../shared/outcomes';
import { runStep } from '../shared/steps';
import type { MainCommitInput, MainCommitOutcome } from './messages';

export type { MainCommitInput, MainCommitOutcome };

const builds = proxyActivities<PipelineActivities>(buildCalls);
const quick = proxyActivities<PipelineActivities>(quickCalls);

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
      outcome.tag
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
  await runStep(status, 'upload artifact', async () => {
    const tagged = await quick.uploadArtifact.executeWithOptions(
      { summary: `upload the artifact of ${commit.slice(0, 12)} to dev` },
      [{ repository, commit, file: built.file }],
    );
    return { value: tagged, detail: `dev:${tagged.tag} = ${tagged.digest.slice(0, 19)}` };
  });
  await runStep(status, 'deploy dev', async () => {
    const result = await quick.deployVersion.executeWithOptions(
      { summary: `deploy ${commit.slice(0, 12)} to dev` },
      [{ repository, env: 'dev', version: commit, artifact: { repository: 'dev', tag: commit }, by }],
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
  status.state = PipelineStates.succeeded;
  return { state: 'released', tag, bump: next.bump, lastTag: next.lastTag };
}
