/** The pipelines' fixtures: main-commit, tag and production, one per path. */
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { lockProbeWorkflow, mainCommitWorkflow } from '../../src/workflows/index';
import { pipelineWorkflowId } from '../../src/workflows/shared/messages';
import { promoteSignal, tagStatusQuery } from '../../src/workflows/tag/messages';
import { decideUpdate, emergencySignal, rollbackSignal } from '../../src/workflows/production/messages';
import { waitFor } from '../../test/helpers/ports';
import { unique } from '../../test/helpers/temporal-env';
import {
  awaitDecision,
  breach,
  heartbeatForever,
  REPOSITORY,
  settle,
  startProduction,
  startTag,
  testsFail,
  type Group,
  type RunContext,
  type Scenario,
} from './scenario';

/**
 * The pipelines' fixtures carry the newest patch in their name (`-statuses`: the commit statuses
 * every stage posts, docs/pipelines-and-decisions.md "The pipelines"); the ones without it were recorded before that patch.
 */
const PIPELINE = (name: string) => `pipeline-${name}-statuses`;
/**
 * Main-commit's newer generation (`-forward`): the dev-order check before the build and the tag
 * pipeline started for a repository with no webhook source; its `-statuses` fixtures come from the
 * code before and belong to no group.
 */
const MAIN_COMMIT = (name: string) => `pipeline-main-commit-${name}-forward`;

function pipelineScenario(
  name: string,
  type: string,
  run: (ctx: RunContext) => Promise<WorkflowHandle>,
  fixture = PIPELINE(name),
): Scenario {
  return {
    fixtures: [{ name: fixture, type }],
    async run(ctx) {
      const h = await run(ctx);
      await settle(h);
      await ctx.save(fixture, h.workflowId);
    },
  };
}

const mainCommitScenario = (name: string, run: (ctx: RunContext) => Promise<WorkflowHandle>) =>
  pipelineScenario(name, 'mainCommitWorkflow', run, MAIN_COMMIT(name));

const PIPELINE_COMMIT = 'cd'.repeat(20);
const PIPELINE_PRODUCTION = `${REPOSITORY}-prod`;

const startMainCommit = (ctx: RunContext, commit: string) =>
  ctx.client.workflow.start(mainCommitWorkflow, {
    taskQueue: ctx.taskQueue,
    workflowId: pipelineWorkflowId('main-commit', REPOSITORY, commit),
    args: [{ repository: REPOSITORY, commit }],
  });

export const pipelineGroup: Group = {
  name: 'pipeline',
  summary:
    'main-commit released / starts the tag pipeline / superseded / no release / failed; tag promoted / failed / promoted by hand / preempted; production healthy / rolled back / emergency / failed forward',
  scenarios: [
    mainCommitScenario('released', async (ctx) => {
      ctx.stubs.reset();
      return await startMainCommit(ctx, '1'.repeat(40));
    }),
    mainCommitScenario('starts-tag', async (ctx) => {
      ctx.stubs.reset({
        computeNextVersion: async () => ({
          next: 'v9.0.0',
          version: '9.0.0',
          bump: 'major',
          lastTag: 'v8.0.0',
          commitCount: 1,
          releasing: [],
          warnings: [],
        }),
        checkTagPipelineStart: async () => ({
          start: true,
          reason: 'acme/recorded has no webhook source',
          searchAttributes: false,
        }),
        // The tag pipeline it starts ends at its first step: only the start is recorded here.
        repositorySettings: async () => {
          throw ApplicationFailure.nonRetryable('not recorded', 'RepositoryNotConfigured');
        },
      });
      const h = await startMainCommit(ctx, '4'.repeat(40));
      await settle(h);
      await settle(ctx.client.workflow.getHandle(pipelineWorkflowId('tag', REPOSITORY, 'v9.0.0')));
      return h;
    }),
    mainCommitScenario('superseded', async (ctx) => {
      ctx.stubs.reset({ compareWithDev: async () => ({ devRuns: '6'.repeat(40), newer: true }) });
      return await startMainCommit(ctx, '5'.repeat(40));
    }),
    mainCommitScenario('no-release', async (ctx) => {
      ctx.stubs.reset({
        computeNextVersion: async () => ({
          next: null,
          version: null,
          bump: null,
          lastTag: 'v1.0.0',
          commitCount: 1,
          releasing: [],
          warnings: [],
        }),
      });
      return await startMainCommit(ctx, '2'.repeat(40));
    }),
    mainCommitScenario('failed', async (ctx) => {
      ctx.stubs.reset({ runTests: testsFail });
      return await startMainCommit(ctx, '3'.repeat(40));
    }),
    pipelineScenario('tag-promoted', 'tagReleaseWorkflow', async (ctx) => {
      ctx.stubs.reset();
      return await startTag(ctx, REPOSITORY, 'v1.0.0', PIPELINE_COMMIT);
    }),
    pipelineScenario('tag-failed', 'tagReleaseWorkflow', async (ctx) => {
      ctx.stubs.reset({ runTests: testsFail });
      return await startTag(ctx, REPOSITORY, 'v1.1.0', PIPELINE_COMMIT);
    }),
    pipelineScenario('tag-promote', 'tagReleaseWorkflow', async (ctx) => {
      ctx.stubs.reset({
        repositorySettings: async () => ({
          requirePromote: true,
          releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$',
          searchAttributes: false,
        }),
      });
      const h = await startTag(ctx, REPOSITORY, 'v1.2.0', PIPELINE_COMMIT);
      await waitFor(async () => (await h.query(tagStatusQuery)).awaitingPromotion === true, 20_000);
      await h.signal(promoteSignal, { by: 'ana' });
      return h;
    }),
    pipelineScenario('tag-preempted', 'tagReleaseWorkflow', async (ctx) => {
      ctx.stubs.reset({ runTests: heartbeatForever });
      const h = await startTag(ctx, REPOSITORY, 'v1.3.0', PIPELINE_COMMIT);
      await waitFor(
        async () => (await h.query(tagStatusQuery)).step === 'integration tests (staging)',
        20_000,
      );
      const forcer = await ctx.client.workflow.start(lockProbeWorkflow, {
        taskQueue: ctx.taskQueue,
        workflowId: unique('record-emergency'),
        args: [
          { resource: 'staging', holdMs: 10, force: { by: 'ops', reason: 'SEV-1' }, priority: 'hotfix' },
        ],
      });
      await settle(h);
      await settle(forcer);
      return h;
    }),
    // Production: a short watch; breaches come from a bad APM stub.
    pipelineScenario('production-healthy', 'productionReleaseWorkflow', async (ctx) => {
      ctx.stubs.reset();
      return await startProduction(ctx, PIPELINE_PRODUCTION, 'v2.0.0', PIPELINE_COMMIT);
    }),
    ...(
      [
        ['production-rollback', 'v2.1.0', rollbackSignal],
        ['production-emergency', 'v2.2.0', emergencySignal],
      ] as const
    ).map(([name, version, decision]) =>
      pipelineScenario(name, 'productionReleaseWorkflow', async (ctx) => {
        ctx.stubs.reset({ measureHealth: breach });
        const h = await startProduction(ctx, PIPELINE_PRODUCTION, version, PIPELINE_COMMIT);
        await awaitDecision(h);
        await h.signal(decision, { by: 'ana', reason: 'recorded' });
        return h;
      }),
    ),
    pipelineScenario('production-fail-forward', 'productionReleaseWorkflow', async (ctx) => {
      ctx.stubs.reset({ measureHealth: breach });
      const h = await startProduction(ctx, PIPELINE_PRODUCTION, 'v2.3.0', PIPELINE_COMMIT);
      await awaitDecision(h);
      await h.signal(rollbackSignal, { by: '', reason: 'rejected: empty by' });
      await h.executeUpdate(decideUpdate, { args: [{ decision: 'failForward', by: 'ana' }] });
      return h;
    }),
  ],
};
