/**
 * Records replay fixtures of the emergency paths from real dev-server runs: a tag run preempted
 * by a forced take-over (failed Preempted, alerted), production rollback that marks the version
 * bad, an emergency that records its incident and restores the revoked holder's staging, a
 * healthy hotfix that ends hotfix-only mode and closes its incident, an emergency on a hotfix
 * (the incident continues), and the hotfix pipeline released / refused for a feat commit.
 * Activities are the workflow tests' stubs; the locks are real. Writes
 * test/replay/histories/emergency-*.json and never overwrites one that exists.
 * Usage: npx tsx scripts/record-emergency-histories.ts
 */
import '../test/helpers/runtime';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import type { HotfixRef } from '../src/activities/hotfix';
import { projectRoot } from '../src/package-info';
import { hotfixWorkflow } from '../src/workflows/hotfix/hotfix-workflow';
import { hotfixWorkflowId } from '../src/workflows/hotfix/messages';
import { lockWorkflowId, setModeSignal } from '../src/workflows/lock/messages';
import { pipelineWorkflowId } from '../src/workflows/shared/messages';
import { anyPipelineStatusQuery as statusQuery } from '../src/workflows/pipeline-status';
import { emergencySignal, rollbackSignal } from '../src/workflows/production/messages';
import { productionReleaseWorkflow } from '../src/workflows/production/production-release-workflow';
import { tagReleaseWorkflow } from '../src/workflows/tag/tag-release-workflow';
import { lockHarness } from '../test/helpers/lock-harness';
import { pipelineStubs } from '../test/helpers/pipeline-stubs';
import { waitFor } from '../test/helpers/ports';
import { devServerEnv, unique, workflowBundle } from '../test/helpers/temporal-env';

const historiesDir = path.join(projectRoot, 'test', 'replay', 'histories');
const COMMIT = 'ab'.repeat(20);

async function save(client: Client, handle: WorkflowHandle, name: string): Promise<void> {
  const file = `emergency-${name}.json`;
  const target = path.join(historiesDir, file);
  if (existsSync(target)) {
    console.log(`kept ${file}: fixtures are never overwritten`);
    return;
  }
  const history = await client.workflow.getHandle(handle.workflowId).fetchHistory();
  const json = JSON.parse(historyToJSON(history)) as { events: unknown[] };
  writeFileSync(
    target,
    `${JSON.stringify({ workflowId: handle.workflowId, events: json.events }, null, 1)}\n`,
  );
  console.log(`recorded ${file} (${json.events.length} events)`);
}

async function settle(handle: WorkflowHandle): Promise<void> {
  await handle.result().catch(() => undefined);
}

async function main(): Promise<void> {
  mkdirSync(historiesDir, { recursive: true });
  const env = await devServerEnv();
  const client = env.client;
  const taskQueue = unique('record-emergency');
  const stubs = pipelineStubs();
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: { ...lockHarness(client).activities, ...stubs.activities },
    maxHeartbeatThrottleInterval: '1 second',
  });
  const running = worker.run();
  const repository = 'acme/recorded';
  const watch = {
    health: { window: '4s', sampleInterval: '1s', parameters: { minRequests: 1 } },
    escalation: { realertAfter: '1h', escalateAfter: '2h' },
  };
  const settings = async () => ({
    requirePromote: false,
    releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$',
    searchAttributes: false,
    production: watch,
  });
  const breach = async (i: { to: number }) => ({ at: i.to, requests: 100, errors: 50 });
  const hotfixRef = (versions: string[]) => async (i: { repository: string; version: string }) =>
    i.repository === repository && versions.includes(i.version)
      ? ({
          id: 'HOT-1',
          state: 'releasing',
          brokenVersion: 'v2.0.0',
          branch: 'HOT-1',
          ticketUrl: 'file:///tickets/HOT-1.md',
          wikiUrl: 'file:///wiki/HOT-1.md',
        } satisfies HotfixRef)
      : null;
  const production = (version: string, repo = repository) =>
    client.workflow.start(productionReleaseWorkflow, {
      taskQueue,
      workflowId: pipelineWorkflowId('production', repo, version),
      args: [{ repository: repo, version, commit: COMMIT, ...watch }],
    });
  const awaitDecision = (h: WorkflowHandle) =>
    waitFor(async () => (await h.query(statusQuery)).awaitingDecision === true, 30_000, 200);
  const normal = () =>
    client.workflow
      .getHandle(lockWorkflowId('staging'))
      .signal(setModeSignal, { mode: 'normal', by: 'recorder', reason: 'next recording' });
  try {
    // A tag run holding staging with long tests; an emergency elsewhere takes staging from it.
    stubs.reset({
      repositorySettings: settings,
      runTests: async () => {
        const ctx = Context.current();
        for (;;) {
          ctx.heartbeat();
          await ctx.sleep(100);
        }
      },
    });
    const holder = await client.workflow.start(tagReleaseWorkflow, {
      taskQueue,
      workflowId: pipelineWorkflowId('tag', `${repository}-b`, 'v5.1.0'),
      args: [{ repository: `${repository}-b`, tag: 'v5.1.0', commit: COMMIT }],
    });
    await waitFor(
      async () => (await holder.query(statusQuery)).step === 'integration tests (staging)',
      30_000,
    );
    stubs.setOverrides({
      repositorySettings: settings,
      measureHealth: breach,
    });
    const emergency = await production('v2.0.0');
    await awaitDecision(emergency);
    await emergency.signal(emergencySignal, { by: 'ana', reason: 'recorded' });
    await settle(emergency);
    await settle(holder);
    await save(client, holder, 'tag-preempted');
    await save(client, emergency, 'production-emergency-restores-holder');

    // The hotfix pipeline: released, and refused for a feat commit.
    stubs.reset({
      repositorySettings: settings,
      hotfixOfVersion: hotfixRef(['v2.0.1']),
      planHotfix: async () => ({ id: 'HOT-1', version: 'v2.0.1', brokenVersion: 'v2.0.0', commitCount: 1 }),
    });
    let h: WorkflowHandle = await client.workflow.start(hotfixWorkflow, {
      taskQueue,
      workflowId: hotfixWorkflowId(repository, 'HOT-1', COMMIT),
      args: [{ repository, branch: 'HOT-1', commit: COMMIT }],
    });
    await settle(h);
    await save(client, h, 'hotfix-released');
    const hotTag = client.workflow.getHandle(pipelineWorkflowId('tag', repository, 'v2.0.1'));
    await settle(hotTag);
    await save(client, hotTag, 'tag-hotfix-priority');
    const hotProduction = client.workflow.getHandle(pipelineWorkflowId('production', repository, 'v2.0.1'));
    await waitFor(async () => (await hotProduction.describe().catch(() => undefined)) !== undefined, 30_000);
    await settle(hotProduction);
    await save(client, hotProduction, 'production-hotfix-healthy');

    stubs.reset({
      planHotfix: async () => {
        throw ApplicationFailure.nonRetryable('commit 0123 "feat(HOT-1): x" is a feature', 'NotAPatch');
      },
    });
    h = await client.workflow.start(hotfixWorkflow, {
      taskQueue,
      workflowId: hotfixWorkflowId(repository, 'HOT-1', 'cd'.repeat(20)),
      args: [{ repository, branch: 'HOT-1', commit: 'cd'.repeat(20) }],
    });
    await settle(h);
    await save(client, h, 'hotfix-not-a-patch');

    // A hotfix that breaches again: the emergency continues the incident.
    stubs.reset({ measureHealth: breach, hotfixOfVersion: hotfixRef(['v2.0.2']) });
    h = await production('v2.0.2');
    await awaitDecision(h);
    await h.signal(emergencySignal, { by: 'ana', reason: 'still broken' });
    await settle(h);
    await save(client, h, 'production-emergency-continues');
    await normal();

    // Rollback: bad everywhere, production first, then staging.
    stubs.reset({ measureHealth: breach });
    h = await production('v3.0.0', `${repository}-c`);
    await awaitDecision(h);
    await h.signal(rollbackSignal, { by: 'ana', reason: 'recorded' });
    await settle(h);
    await save(client, h, 'production-rollback-marks-bad');
    await normal();
  } finally {
    for await (const wf of client.workflow.list({ query: `ExecutionStatus = 'Running'` })) {
      if (!wf.workflowId.startsWith('lock:'))
        await client.workflow.getHandle(wf.workflowId).terminate('recording done');
    }
    worker.shutdown();
    await running;
    await env.teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
