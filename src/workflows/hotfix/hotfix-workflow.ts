/**
 * The hotfix pipeline (docs/pipelines-and-decisions.md "Hotfix flow"): a push to `HOT-<n>` of an open incident. Under the
 * incident's own lock (pushes of one incident run in push order): check that every commit since
 * the broken version is a patch and take the next free patch version on the deployed line; build;
 * unit tests; the artifact by commit; the tag; then the tag pipeline of that version, which takes
 * staging with hotfix priority (granted in hotfix-only mode) and hands off to production. Dev is
 * left to main. Ends `succeeded` with the version, or fails PipelineFailed (a feat or breaking
 * commit named, a build or test failure), the development team alerted.
 */
import {
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { PipelineActivities } from '../../activities/pipeline';
import { StatusContexts } from '../../domain/commit-status';
import { acquire } from '../lock/acquire';
import { buildCalls, quickCalls } from '../shared/activity-options';
import { commitStatusReporter } from '../shared/commit-statuses';
import {
  PipelineStates,
  PipelineWorkflowTypes,
  pipelineWorkflowId,
  statusQuery,
  type PipelineStatus,
} from '../shared/messages';
import { failPipeline } from '../shared/outcomes';
import { commentOnIncident } from '../shared/incident-comments';
import { runStep } from '../shared/steps';
import { hotfixLockResource, type HotfixInput, type HotfixOutcome } from './messages';

export type { HotfixInput, HotfixOutcome };

/** A push to a closed incident's branch ends `ignored` with the reason instead of failing and alerting. */
export const CLOSED_INCIDENT_PATCH = 'hotfix-closed-incident-ignored';

const builds = proxyActivities<PipelineActivities>(buildCalls);
const quick = proxyActivities<PipelineActivities>(quickCalls);

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
  if (patched(CLOSED_INCIDENT_PATCH)) {
    const incident = await quick.incidentOfBranch.executeWithOptions(
      { summary: `is ${branch} of ${repository} an incident, and is it closed` },
      [{ repository, id: branch }],
    );
    if (incident?.state === 'closed') {
      // A fix after the incident goes through main; this push is answered, never alerted.
      const reason = `${branch} of ${repository} is closed: push ${commit.slice(0, 12)} ignored; fixes go to the default branch through a pull request, or a new emergency opens a new incident`;
      status.state = PipelineStates.ignored;
      status.step = 'ignored';
      status.steps.push({
        name: 'ignored',
        state: 'done',
        startedAt: new Date().toISOString(),
        endedAt: new Date().toISOString(),
        detail: reason,
      });
      return { state: 'ignored', id: branch, reason };
    }
  }
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
        const p = await quick.planHotfix.executeWithOptions(
          { summary: `${branch}: check the commits are patches and take the next patch version` },
          [{ repository, id: branch, commit }],
        );
        status.version = p.version;
        return { value: p, detail: `${p.version} (deployed ${p.brokenVersion}, ${p.commitCount} commits)` };
      });
      const built = await runStep(status, 'build', async () => {
        const r = await builds.buildArtifact.executeWithOptions({ summary: `build ${commit.slice(0, 12)}` }, [
          { repository, commit },
        ]);
        return { value: r, detail: `built in ${r.durationMs} ms` };
      });
      await runStep(status, 'unit tests', async () => {
        const r = await builds.runTests.executeWithOptions(
          { summary: `unit tests of ${commit.slice(0, 12)}` },
          [{ repository, commit, purpose: 'unit-tests' }],
        );
        return { value: r, detail: r.reused ? 'reused earlier passing run' : 'passed' };
      });
      await runStep(status, 'upload artifact', async () => {
        const r = await quick.uploadArtifact.executeWithOptions(
          { summary: `upload the artifact of ${commit.slice(0, 12)} to dev` },
          [{ repository, commit, file: built.file }],
        );
        return { value: r, detail: `dev:${commit.slice(0, 12)}` };
      });
      await runStep(status, 'tag', async () => {
        const r = await quick.createReleaseTag.executeWithOptions(
          { summary: `tag ${commit.slice(0, 12)} ${plan.version}` },
          [{ repository, commit, tag: plan.version }],
        );
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
      await commentOnIncident({
        repository,
        id: branch,
        step: `tagged/${plan.version}`,
        markdown: `Hotfix **${plan.version}** tagged at \`${commit.slice(0, 12)}\` (built and unit-tested); its tag pipeline takes staging with hotfix priority.`,
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
    return await failPipeline(
      {
        status,
        statuses,
        label: branch,
        title: `hotfix pipeline of ${repository} ${branch} ${commit.slice(0, 12)}`,
        subject: { commit, ...(status.version ? { version: status.version } : {}) },
        alerts: quick,
      },
      err,
    );
  } finally {
    await statuses.settled();
  }
}
