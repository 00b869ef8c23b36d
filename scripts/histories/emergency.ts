/**
 * The emergency paths' fixtures: a forced take-over, rollback, emergencies and the hotfix pipeline.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { HotfixRef } from '../../src/activities/hotfix';
import { hotfixWorkflowId } from '../../src/workflows/hotfix/messages';
import { hotfixWorkflow } from '../../src/workflows/index';
import { pipelineWorkflowId, statusQuery } from '../../src/workflows/shared/messages';
import { emergencySignal, rollbackSignal } from '../../src/workflows/production/messages';
import { waitFor } from '../../test/helpers/ports';
import {
  awaitDecision,
  breach,
  heartbeatForever,
  productionWatch,
  REPOSITORY,
  settle,
  startProduction,
  startTag,
  type Fixture,
  type Group,
} from './scenario';

const COMMIT = 'ab'.repeat(20);

const emergencySettings = async () => ({
  requirePromote: false,
  releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$',
  searchAttributes: false,
  production: productionWatch,
});

const hotfixRef = (versions: string[]) => async (i: { repository: string; version: string }) =>
  i.repository === REPOSITORY && versions.includes(i.version)
    ? ({
        id: 'HOT-1',
        state: 'releasing',
        brokenVersion: 'v2.0.0',
        branch: 'HOT-1',
        ticketUrl: 'file:///tickets/HOT-1.md',
        wikiUrl: 'file:///wiki/HOT-1.md',
      } satisfies HotfixRef)
    : null;

const emergency = (name: string, type: string): Fixture => ({ name: `emergency-${name}`, type });

export const emergencyGroup: Group = {
  name: 'emergency',
  summary:
    'preempted by a forced take-over, rollback marking the version bad, emergencies (restoring the holder, continuing an incident), the hotfix pipeline released / refused',
  scenarios: [
    {
      // A tag run holding staging with long tests; an emergency elsewhere takes staging from it.
      fixtures: [
        emergency('tag-preempted', 'tagReleaseWorkflow'),
        emergency('production-emergency-restores-holder', 'productionReleaseWorkflow'),
      ],
      async run(ctx) {
        ctx.stubs.reset({ repositorySettings: emergencySettings, runTests: heartbeatForever });
        const holder = await startTag(ctx, `${REPOSITORY}-b`, 'v5.1.0', COMMIT);
        await waitFor(
          async () => (await holder.query(statusQuery)).step === 'integration tests (staging)',
          30_000,
        );
        ctx.stubs.setOverrides({ repositorySettings: emergencySettings, measureHealth: breach });
        const h = await startProduction(ctx, REPOSITORY, 'v2.0.0', COMMIT);
        await awaitDecision(h);
        await h.signal(emergencySignal, { by: 'ana', reason: 'recorded' });
        await settle(h);
        await settle(holder);
        await ctx.save('emergency-tag-preempted', holder.workflowId);
        await ctx.save('emergency-production-emergency-restores-holder', h.workflowId);
      },
    },
    {
      // The hotfix pipeline released: its tag run with hotfix priority, its healthy production.
      fixtures: [
        emergency('hotfix-released', 'hotfixWorkflow'),
        emergency('tag-hotfix-priority', 'tagReleaseWorkflow'),
        emergency('production-hotfix-healthy', 'productionReleaseWorkflow'),
      ],
      async run(ctx) {
        ctx.stubs.reset({
          repositorySettings: emergencySettings,
          hotfixOfVersion: hotfixRef(['v2.0.1']),
          planHotfix: async () => ({
            id: 'HOT-1',
            version: 'v2.0.1',
            brokenVersion: 'v2.0.0',
            commitCount: 1,
          }),
        });
        const h = await ctx.client.workflow.start(hotfixWorkflow, {
          taskQueue: ctx.taskQueue,
          workflowId: hotfixWorkflowId(REPOSITORY, 'HOT-1', COMMIT),
          args: [{ repository: REPOSITORY, branch: 'HOT-1', commit: COMMIT }],
        });
        await settle(h);
        await ctx.save('emergency-hotfix-released', h.workflowId);
        const hotTag = ctx.client.workflow.getHandle(pipelineWorkflowId('tag', REPOSITORY, 'v2.0.1'));
        await settle(hotTag);
        await ctx.save('emergency-tag-hotfix-priority', hotTag.workflowId);
        const hotProduction = ctx.client.workflow.getHandle(
          pipelineWorkflowId('production', REPOSITORY, 'v2.0.1'),
        );
        await waitFor(
          async () => (await hotProduction.describe().catch(() => undefined)) !== undefined,
          30_000,
        );
        await settle(hotProduction);
        await ctx.save('emergency-production-hotfix-healthy', hotProduction.workflowId);
      },
    },
    {
      // An emergency while the ticket system is away: numbered by the record, the branch and
      // hotfix-only at once, the ticket pending and filed on a later attempt.
      fixtures: [emergency('production-emergency-ticket-later', 'productionReleaseWorkflow')],
      async run(ctx) {
        let away = 1;
        ctx.stubs.reset({
          measureHealth: breach,
          openIncidentTicket: async () => {
            if (away-- > 0)
              throw new Error(
                'Jira unavailable (503) while trying to create issue HOT-1; the step is retried',
              );
            return { id: 'HOT-1', url: 'file:///tickets/HOT-1.md', created: true };
          },
        });
        const h = await startProduction(ctx, `${REPOSITORY}-d`, 'v4.0.0', COMMIT);
        await awaitDecision(h);
        await h.signal(emergencySignal, { by: 'ana', reason: 'recorded' });
        await settle(h);
        await ctx.save('emergency-production-emergency-ticket-later', h.workflowId);
      },
    },
    {
      // The hotfix released with its ticket told at each step; then a push after the incident closed.
      fixtures: [
        emergency('hotfix-released-told', 'hotfixWorkflow'),
        emergency('tag-hotfix-told', 'tagReleaseWorkflow'),
        emergency('production-hotfix-told', 'productionReleaseWorkflow'),
        emergency('hotfix-closed-ignored', 'hotfixWorkflow'),
      ],
      async run(ctx) {
        const repository = `${REPOSITORY}-e`;
        const ref = (state: HotfixRef['state']) =>
          ({
            id: 'HOT-2',
            state,
            brokenVersion: 'v6.0.0',
            branch: 'HOT-2',
            ticketUrl: 'file:///tickets/HOT-2.md',
            wikiUrl: 'file:///wiki/HOT-2.md',
          }) satisfies HotfixRef;
        ctx.stubs.reset({
          repositorySettings: emergencySettings,
          incidentOfBranch: async () => ref('releasing'),
          hotfixOfVersion: async (i) =>
            i.repository === repository && i.version === 'v6.0.1' ? ref('releasing') : null,
          planHotfix: async () => ({
            id: 'HOT-2',
            version: 'v6.0.1',
            brokenVersion: 'v6.0.0',
            commitCount: 1,
          }),
        });
        const h = await ctx.client.workflow.start(hotfixWorkflow, {
          taskQueue: ctx.taskQueue,
          workflowId: hotfixWorkflowId(repository, 'HOT-2', COMMIT),
          args: [{ repository, branch: 'HOT-2', commit: COMMIT }],
        });
        await settle(h);
        await ctx.save('emergency-hotfix-released-told', h.workflowId);
        const hotTag = ctx.client.workflow.getHandle(pipelineWorkflowId('tag', repository, 'v6.0.1'));
        await settle(hotTag);
        await ctx.save('emergency-tag-hotfix-told', hotTag.workflowId);
        const hotProduction = ctx.client.workflow.getHandle(
          pipelineWorkflowId('production', repository, 'v6.0.1'),
        );
        await waitFor(
          async () => (await hotProduction.describe().catch(() => undefined)) !== undefined,
          30_000,
        );
        await settle(hotProduction);
        await ctx.save('emergency-production-hotfix-told', hotProduction.workflowId);
        ctx.stubs.setOverrides({ incidentOfBranch: async () => ref('closed') });
        const late = 'ef'.repeat(20);
        const ignored = await ctx.client.workflow.start(hotfixWorkflow, {
          taskQueue: ctx.taskQueue,
          workflowId: hotfixWorkflowId(repository, 'HOT-2', late),
          args: [{ repository, branch: 'HOT-2', commit: late }],
        });
        await settle(ignored);
        await ctx.save('emergency-hotfix-closed-ignored', ignored.workflowId);
      },
    },
    {
      fixtures: [emergency('hotfix-not-a-patch', 'hotfixWorkflow')],
      async run(ctx) {
        ctx.stubs.reset({
          planHotfix: async () => {
            throw ApplicationFailure.nonRetryable('commit 0123 "feat(HOT-1): x" is a feature', 'NotAPatch');
          },
        });
        const commit = 'cd'.repeat(20);
        const h = await ctx.client.workflow.start(hotfixWorkflow, {
          taskQueue: ctx.taskQueue,
          workflowId: hotfixWorkflowId(REPOSITORY, 'HOT-1', commit),
          args: [{ repository: REPOSITORY, branch: 'HOT-1', commit }],
        });
        await settle(h);
        await ctx.save('emergency-hotfix-not-a-patch', h.workflowId);
      },
    },
    {
      // A hotfix that breaches again: the emergency continues the incident.
      fixtures: [emergency('production-emergency-continues', 'productionReleaseWorkflow')],
      async run(ctx) {
        ctx.stubs.reset({ measureHealth: breach, hotfixOfVersion: hotfixRef(['v2.0.2']) });
        const h = await startProduction(ctx, REPOSITORY, 'v2.0.2', COMMIT);
        await awaitDecision(h);
        await h.signal(emergencySignal, { by: 'ana', reason: 'still broken' });
        await settle(h);
        await ctx.save('emergency-production-emergency-continues', h.workflowId);
      },
    },
    {
      // Rollback: bad everywhere, production first, then staging.
      fixtures: [emergency('production-rollback-marks-bad', 'productionReleaseWorkflow')],
      async run(ctx) {
        ctx.stubs.reset({ measureHealth: breach });
        const h = await startProduction(ctx, `${REPOSITORY}-c`, 'v3.0.0', COMMIT);
        await awaitDecision(h);
        await h.signal(rollbackSignal, { by: 'ana', reason: 'recorded' });
        await settle(h);
        await ctx.save('emergency-production-rollback-marks-bad', h.workflowId);
      },
    },
  ],
};
