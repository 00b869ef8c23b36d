/**
 * The hotfix pipeline (README "Hotfix flow"): a push to `HOT-<n>` of an open incident. Under the
 * incident's own lock (pushes of one incident run in push order): check that every commit since
 * the broken version is a patch and take the next free patch version on the deployed line; build;
 * unit tests; the artifact by commit; the tag; then the tag pipeline of that version, which takes
 * staging with hotfix priority (granted in hotfix-only mode) and hands off to production. Dev is
 * left to main. Ends `succeeded` with the version, or fails PipelineFailed (a feat or breaking
 * commit named, a build or test failure), the development team alerted.
 */
import {
  ApplicationFailure,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { PipelineActivities } from '../../activities/pipeline';
import { FailureTypes } from '../../domain/failures';
import { StatusContexts } from '../../domain/commit-status';
import { acquire } from '../lock/acquire';
import { commitStatusReporter, firstLine } from '../shared/commit-statuses';
import {
  PipelineStates,
  PipelineWorkflowTypes,
  pipelineWorkflowId,
  statusQuery,
  type PipelineStatus,
} from '../shared/messages';
import { describeFailure, runStep } from '../shared/steps';
import { hotfixLockResource, type HotfixInput, type HotfixOutcome } from './messages';

export type { HotfixInput, HotfixOutcome };

const builds = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [FailureTypes.buildFailed, FailureTypes.testsFailed] },
});

const quick = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 10, initialInterval: '2 seconds' },
});

export async function hotfixWorkflow(input: HotfixInput): Promise<HotfixOutcome> {
  const { repository, branch, commit } = input;
  const statuses = commitStatusReporter({ repository, commit, context: StatusContexts.hotfix });
  const status: PipelineStatus = {
    stage: 'hotfix',
    repository,
    commit,
    state: PipelineStates.running,
    step: 'starting',
    steps: [],
    environments: {},
  };
  setHandler(statusQuery, () => status, {
    description: 'Stage hotfix: incident, version, every step with its times and result, failure.',
  });
  statuses.post('pending', `${branch}: hotfix build, unit tests, version and tag`);
  try {
    const lock = await runStep(status, `${branch} lock`, async () => {
      const held = await acquire(hotfixLockResource(repository, branch), {
        purpose: `hotfix ${branch} ${commit.slice(0, 12)}`,
        lease: '10 minutes',
      });
      return { value: held, detail: `token ${held.token}` };
    });
    try {
      const plan = await runStep(status, 'hotfix version', async () => {
        const p = await quick.planHotfix({ repository, id: branch, commit });
        status.version = p.version;
        return { value: p, detail: `${p.version} (deployed ${p.brokenVersion}, ${p.commitCount} commits)` };
      });
      const built = await runStep(status, 'build', async () => {
        const r = await builds.buildArtifact({ repository, commit });
        return { value: r, detail: `built in ${r.durationMs} ms` };
      });
      await runStep(status, 'unit tests', async () => {
        const r = await builds.runTests({ repository, commit, purpose: 'unit-tests' });
        return { value: r, detail: r.reused ? 'reused earlier passing run' : 'passed' };
      });
      await runStep(status, 'upload artifact', async () => {
        const r = await quick.uploadArtifact({ repository, commit, file: built.file });
        return { value: r, detail: `dev:${commit.slice(0, 12)}` };
      });
      await runStep(status, 'tag', async () => {
        const r = await quick.createReleaseTag({ repository, commit, tag: plan.version });
        return { value: r, detail: r.created ? `${plan.version} created` : `${plan.version} already there` };
      });
      const tagWorkflowId = await runStep(status, 'hand off to staging', async () => {
        const id = pipelineWorkflowId('tag', repository, plan.version);
        try {
          await startChild(PipelineWorkflowTypes.tag, {
            workflowId: id,
            args: [{ repository, tag: plan.version, commit }],
            parentClosePolicy: ParentClosePolicy.ABANDON,
            workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          });
          return { value: id, detail: `${id} started` };
        } catch (err) {
          // The tag's push (a webhook) started it first: the same release.
          if (err instanceof WorkflowExecutionAlreadyStartedError)
            return { value: id, detail: `${id} already running` };
          throw err;
        }
      });
      status.state = PipelineStates.succeeded;
      statuses.post('success', `${branch}: ${plan.version} tagged; staging with hotfix priority`);
      return {
        state: 'released',
        id: branch,
        version: plan.version,
        brokenVersion: plan.brokenVersion,
        tagWorkflowId,
      };
    } finally {
      await lock.release();
    }
  } catch (err) {
    status.state = PipelineStates.failed;
    const failure = describeFailure(err);
    status.failure = { step: status.step, ...failure };
    statuses.post('failure', `${branch} failed at ${status.step}: ${firstLine(failure.message)}`);
    await quick.notifyPipelineFailure({
      repository,
      stage: 'hotfix',
      step: status.step,
      commit,
      ...(status.version ? { version: status.version } : {}),
      message: failure.message,
      ...(failure.log ? { log: failure.log } : {}),
    });
    throw ApplicationFailure.nonRetryable(
      `hotfix pipeline of ${repository} ${branch} ${commit.slice(0, 12)} failed at ${status.step}: ${failure.message}`,
      FailureTypes.pipelineFailed,
    );
  } finally {
    await statuses.settled();
  }
}
