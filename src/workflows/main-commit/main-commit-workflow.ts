/**
 * Stage 1: a commit on the default branch (MISSION.md). Build the artifact, run unit tests, tag
 * the artifact with the commit hash in the dev repository, deploy it to dev, run integration
 * tests against dev; then compute the next version from the angular commits since the last
 * release tag and tag the commit. Any failure alerts the development team and halts.
 *
 * Pipelines of one repository run one at a time, in push order, under the repository's lock
 * (`lock:repo:<name>`), so two runs never compute or push the same version and dev never goes
 * backwards. Answers `status`. Ends with the outcome: released (with the tag), no-release, or
 * fails with PipelineFailed / ends preempted when its lock was taken away. The commit status
 * `release-flow/main` follows the run (best effort; runs begun before issue 7 post none).
 */
import { ApplicationFailure, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { PipelineActivities } from '../../activities/pipeline';
import { FailureTypes } from '../../domain/failures';
import { acquire, isLockRevoked } from '../lock/acquire';
import { repositoryLockResource, type LockRevocation } from '../lock/messages';
import { StatusContexts } from '../../domain/commit-status';
import { commitStatusReporter, firstLine } from '../shared/commit-statuses';
import { PipelineStates, statusQuery, type PipelineStatus } from '../shared/messages';
import { describeFailure, runStep } from '../shared/steps';
import type { MainCommitInput, MainCommitOutcome } from './messages';

export type { MainCommitInput, MainCommitOutcome };

const builds = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [FailureTypes.buildFailed, FailureTypes.testsFailed] },
});

const quick = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 10, initialInterval: '2 seconds' },
});

export async function mainCommitWorkflow(input: MainCommitInput): Promise<MainCommitOutcome> {
  // `release-flow/main` on the commit (issue 7): pending now, then released, no release, or the failed step.
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
    if (isLockRevoked(err)) {
      const revocation = (err as ApplicationFailure).details?.[0] as LockRevocation | undefined;
      status.state = PipelineStates.preempted;
      status.preemptedBy = revocation?.by ?? 'unknown';
      statuses.post(
        'error',
        `stopped at ${status.step}: the repository lock was taken by ${status.preemptedBy}`,
      );
      return { state: 'preempted', tag: null, bump: null, lastTag: null, preemptedBy: status.preemptedBy };
    }
    status.state = PipelineStates.failed;
    const failure = describeFailure(err);
    status.failure = { step: status.step, ...failure };
    statuses.post('failure', `failed at ${status.step}: ${firstLine(failure.message)}`);
    await quick.notifyPipelineFailure({
      repository: input.repository,
      stage: 'main-commit',
      step: status.step,
      commit: input.commit,
      message: failure.message,
      ...(failure.log ? { log: failure.log } : {}),
    });
    throw ApplicationFailure.nonRetryable(
      `main-commit pipeline of ${input.commit.slice(0, 12)} failed at ${status.step}: ${failure.message}`,
      FailureTypes.pipelineFailed,
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
    const result = await builds.buildArtifact({ repository, commit });
    return { value: result, detail: `built in ${Math.round(result.durationMs / 1000)}s` };
  });
  await runStep(status, 'unit tests', async () => {
    const result = await builds.runTests({ repository, commit, purpose: 'unit-tests' });
    return { value: result, detail: result.reused ? 'reused an earlier passing run' : 'passed' };
  });
  await runStep(status, 'upload artifact', async () => {
    const tagged = await quick.uploadArtifact({ repository, commit, file: built.file });
    return { value: tagged, detail: `dev:${tagged.tag} = ${tagged.digest.slice(0, 19)}` };
  });
  await runStep(status, 'deploy dev', async () => {
    const result = await quick.deployVersion({
      repository,
      env: 'dev',
      version: commit,
      artifact: { repository: 'dev', tag: commit },
      by,
    });
    status.environments.dev = commit;
    return { value: result, detail: result.note };
  });
  await runStep(status, 'integration tests (dev)', async () => {
    const result = await builds.runTests({
      repository,
      commit,
      purpose: 'integration-tests',
      env: 'dev',
      version: commit,
    });
    return { value: result, detail: 'passed' };
  });
  const next = await runStep(status, 'next version', async () => {
    const result = await quick.computeNextVersion({ repository, commit });
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
    const result = await quick.createReleaseTag({ repository, commit, tag });
    return { value: result, detail: result.created ? `tagged ${tag}` : `${tag} already on this commit` };
  });
  status.state = PipelineStates.succeeded;
  return { state: 'released', tag, bump: next.bump, lastTag: next.lastTag };
}
