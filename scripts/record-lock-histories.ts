/**
 * Records replay fixtures of the lock from real dev-server runs: the scenarios the e2e test
 * asserts on (contenders with continue-as-new, preemption, termination, hotfix-only mode), each
 * lock run and the probes that end in each outcome, into test/replay/histories/lock-*.json;
 * plus one deliberately broken history into test/replay/broken/.
 * Usage: npx tsx scripts/record-lock-histories.ts   (later workflows add a script of their own)
 */
import '../test/helpers/runtime';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { projectRoot } from '../src/common/package-info';
import { lockHarness } from '../test/helpers/lock-harness';
import {
  contendersScenario,
  hotfixOnlyScenario,
  preemptionScenario,
  terminationScenario,
} from '../test/helpers/lock-scenarios';
import { devServerEnv, unique, workflowBundle } from '../test/helpers/temporal-env';

const historiesDir = path.join(projectRoot, 'test', 'replay', 'histories');
const brokenDir = path.join(projectRoot, 'test', 'replay', 'broken');
const MAX_LOCK_RUNS = 4;

async function save(client: Client, workflowId: string, runId: string, file: string): Promise<string> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const json = JSON.parse(historyToJSON(history)) as { events: unknown[] };
  const text = `${JSON.stringify({ workflowId, events: json.events }, null, 1)}\n`;
  writeFileSync(file, text);
  return text;
}

async function main(): Promise<void> {
  mkdirSync(historiesDir, { recursive: true });
  mkdirSync(brokenDir, { recursive: true });
  const env = await devServerEnv({
    extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=50'],
  });
  const taskQueue = unique('record-lock');
  const harness = lockHarness(env.client);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: harness.activities,
  });
  const running = worker.run();
  const ctx = { client: env.client, taskQueue, harness };
  try {
    const scenarios: [string, (resource: string) => Promise<unknown>][] = [
      ['contenders', (r) => contendersScenario(ctx, r, 12)],
      ['preemption', (r) => preemptionScenario(ctx, r)],
      ['termination', (r) => terminationScenario(ctx, r)],
      ['hotfix-only', (r) => hotfixOnlyScenario(ctx, r)],
    ];
    for (const [name, run] of scenarios) {
      const resource = `rec-${name}`;
      await run(resource);
      // Lock runs, oldest first (each continue-as-new run is a history of its own).
      const lockRuns: { workflowId: string; runId: string }[] = [];
      for await (const w of env.client.workflow.list({ query: `WorkflowId = 'lock:${resource}'` }))
        lockRuns.push({ workflowId: w.workflowId, runId: w.runId });
      lockRuns.reverse();
      for (const [i, r] of lockRuns.slice(0, MAX_LOCK_RUNS).entries())
        await save(
          env.client,
          r.workflowId,
          r.runId,
          path.join(historiesDir, `lock-${name}-lock-run${i + 1}.json`),
        );
      for (const suffix of ['holder', 'emergency', 'next', 'hot', 'normal', 'c00']) {
        const workflowId = `${resource}-${suffix}`;
        const d = await env.client.workflow
          .getHandle(workflowId)
          .describe()
          .catch(() => undefined);
        if (!d || d.status.name === 'TERMINATED') continue;
        await save(
          env.client,
          workflowId,
          d.runId,
          path.join(historiesDir, `lock-${name}-probe-${suffix}.json`),
        );
      }
      console.log(`recorded ${name}: ${lockRuns.length} lock run(s)`);
    }
    // The broken one: a probe history whose first activity was a different type than the code schedules.
    const d = await env.client.workflow.getHandle('rec-preemption-emergency').describe();
    const text = await save(
      env.client,
      d.workflowId,
      d.runId,
      path.join(brokenDir, 'lock-renamed-activity.json'),
    );
    writeFileSync(
      path.join(brokenDir, 'lock-renamed-activity.json'),
      text.replace(/"requestLock"/g, '"requestLockRenamed"'),
    );
  } finally {
    worker.shutdown();
    await running;
    await env.teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
