/**
 * Records replay fixtures of the pipelines from real dev-server runs, one per path:
 * main-commit released / no-release / failed, tag promoted / failed / preempted / promoted by
 * hand, production healthy / rolled back / emergency / failed forward (through the update). Activities are the workflow tests' stubs (the histories hold their results); the staging
 * and repository locks are real. Writes test/replay/histories/pipeline-*-statuses.json.
 *
 * The files are named for the newest patch they carry (`-statuses`: the commit statuses of
 * issue 7). Fixtures recorded before a patch keep their names and stay: they prove that runs
 * begun before it still replay, for as long as its `patched()` branch exists.
 * Usage: npx tsx scripts/record-pipeline-histories.ts
 */
import '../test/helpers/runtime';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { projectRoot } from '../src/package-info';
import { lockProbeWorkflow } from '../src/workflows/lock/lock-probe-workflow';
import { mainCommitWorkflow } from '../src/workflows/main-commit/main-commit-workflow';
import { pipelineWorkflowId } from '../src/workflows/shared/messages';
import { anyPipelineStatusQuery as statusQuery } from '../src/workflows/pipeline-status';
import { promoteSignal } from '../src/workflows/tag/messages';
import { tagReleaseWorkflow } from '../src/workflows/tag/tag-release-workflow';
import { productionReleaseWorkflow } from '../src/workflows/production/production-release-workflow';
import { decideUpdate, emergencySignal, rollbackSignal } from '../src/workflows/production/messages';
import { lockWorkflowId, setModeSignal } from '../src/workflows/lock/messages';
import { lockHarness } from '../test/helpers/lock-harness';
import { pipelineStubs } from '../test/helpers/pipeline-stubs';
import { waitFor } from '../test/helpers/ports';
import { devServerEnv, unique, workflowBundle } from '../test/helpers/temporal-env';

const historiesDir = path.join(projectRoot, 'test', 'replay', 'histories');
const COMMIT = 'cd'.repeat(20);
/** The newest patch in the recorded code: see the module comment. */
const FIXTURE_SUFFIX = '-statuses';

async function save(client: Client, handle: WorkflowHandle, name: string): Promise<void> {
  const history = await client.workflow.getHandle(handle.workflowId).fetchHistory();
  const json = JSON.parse(historyToJSON(history)) as { events: unknown[] };
  const file = `pipeline-${name}${FIXTURE_SUFFIX}.json`;
  writeFileSync(
    path.join(historiesDir, file),
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
  const taskQueue = unique('record-pipelines');
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
  const mainCommit = (commit: string) =>
    client.workflow.start(mainCommitWorkflow, {
      taskQueue,
      workflowId: pipelineWorkflowId('main-commit', repository, commit),
      args: [{ repository, commit }],
    });
  const tag = (version: string) =>
    client.workflow.start(tagReleaseWorkflow, {
      taskQueue,
      workflowId: pipelineWorkflowId('tag', repository, version),
      args: [{ repository, tag: version, commit: COMMIT }],
    });
  const testsFail = async () => {
    throw ApplicationFailure.nonRetryable('tests failed', 'TestsFailed', { log: '/l', tail: 'FAIL' });
  };
  try {
    stubs.reset();
    let h: WorkflowHandle = await mainCommit('1'.repeat(40));
    await settle(h);
    await save(client, h, 'main-commit-released');

    stubs.reset({
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
    h = await mainCommit('2'.repeat(40));
    await settle(h);
    await save(client, h, 'main-commit-no-release');

    stubs.reset({ runTests: testsFail });
    h = await mainCommit('3'.repeat(40));
    await settle(h);
    await save(client, h, 'main-commit-failed');

    stubs.reset();
    h = await tag('v1.0.0');
    await settle(h);
    await save(client, h, 'tag-promoted');

    stubs.reset({ runTests: testsFail });
    h = await tag('v1.1.0');
    await settle(h);
    await save(client, h, 'tag-failed');

    stubs.reset({
      repositorySettings: async () => ({
        requirePromote: true,
        releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$',
        searchAttributes: false,
      }),
    });
    h = await tag('v1.2.0');
    const handle = h;
    await waitFor(async () => (await handle.query(statusQuery)).awaitingPromotion === true, 20_000);
    await h.signal(promoteSignal, { by: 'ana' });
    await settle(h);
    await save(client, h, 'tag-promote');

    stubs.reset({
      runTests: async () => {
        const ctx = Context.current();
        for (;;) {
          ctx.heartbeat();
          await ctx.sleep(100);
        }
      },
    });
    h = await tag('v1.3.0');
    const preempted = h;
    await waitFor(
      async () => (await preempted.query(statusQuery)).step === 'integration tests (staging)',
      20_000,
    );
    const forcer = await client.workflow.start(lockProbeWorkflow, {
      taskQueue,
      workflowId: unique('record-emergency'),
      args: [{ resource: 'staging', holdMs: 10, force: { by: 'ops', reason: 'SEV-1' }, priority: 'hotfix' }],
    });
    await settle(h);
    await settle(forcer);
    await save(client, h, 'tag-preempted');

    // Production: a short watch; breaches come from a bad APM stub.
    const production = (version: string) =>
      client.workflow.start(productionReleaseWorkflow, {
        taskQueue,
        workflowId: pipelineWorkflowId('production', `${repository}-prod`, version),
        args: [
          {
            repository: `${repository}-prod`,
            version,
            commit: COMMIT,
            health: { window: '4s', sampleInterval: '1s', parameters: { minRequests: 1 } },
            escalation: { realertAfter: '1h', escalateAfter: '2h' },
          },
        ],
      });
    const breach = {
      measureHealth: async (i: { to: number }) => ({ at: i.to, requests: 100, errors: 50 }),
    };
    const awaitDecision = async (handle: WorkflowHandle) =>
      waitFor(async () => (await handle.query(statusQuery)).awaitingDecision === true, 30_000, 200);

    stubs.reset();
    h = await production('v2.0.0');
    await settle(h);
    await save(client, h, 'production-healthy');

    for (const [name, version, decision] of [
      ['production-rollback', 'v2.1.0', 'rollback'],
      ['production-emergency', 'v2.2.0', 'emergency'],
    ] as const) {
      stubs.reset(breach);
      h = await production(version);
      await awaitDecision(h);
      await h.signal(decision === 'rollback' ? rollbackSignal : emergencySignal, {
        by: 'ana',
        reason: 'recorded',
      });
      await settle(h);
      await save(client, h, name);
    }

    stubs.reset(breach);
    h = await production('v2.3.0');
    await awaitDecision(h);
    await h.signal(rollbackSignal, { by: '', reason: 'rejected: empty by' });
    await h.executeUpdate(decideUpdate, { args: [{ decision: 'failForward', by: 'ana' }] });
    await settle(h);
    await save(client, h, 'production-fail-forward');
    // Staging was left in hotfix-only mode by the emergency: back to normal for whoever runs next.
    await client.workflow
      .getHandle(lockWorkflowId('staging'))
      .signal(setModeSignal, { mode: 'normal', by: 'recorder', reason: 'recording done' });
  } finally {
    // Production children were handed off with stub activities: end them, they are not recorded here.
    for await (const wf of client.workflow.list({ query: `WorkflowType = 'productionReleaseWorkflow'` })) {
      if (wf.status.name === 'RUNNING')
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
