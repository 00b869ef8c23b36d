/**
 * `npm run bench:lock`: 50 contenders take the lock on a dev server. Hand-off latency is the time
 * from the lock receiving the holder's `release` to the next holder receiving `lockGranted`
 * (server event times); the floor is one signal hop between two bare workflows on the same
 * server, measured the same way in the same run. Also: events per grant, and the longest lock
 * run (history stays bounded by continue-as-new). Last line: JSON.
 */
import '../test/helpers/runtime';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { tsToMs } from './proto-time';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { lockProbeWorkflow } from '../src/workflows/lock/lock-probe-workflow';
import { lockWorkflowId } from '../src/workflows/lock/messages';
import { lockWorkflow } from '../src/workflows/lock/lock-workflow';
import { HOLD_UNTIL_OPENED, lockHarness, untilClosed, untilStatus } from '../test/helpers/lock-harness';
import { devServerEnv, unique } from '../test/helpers/temporal-env';
import { pingPongWorkflow } from './ping-pong-workflow';
import { percentile } from './figures';

type Event = temporal.api.history.v1.IHistoryEvent;
const CONTENDERS = 50;
const ROUNDS = 100;
const LOCK_CAN_AFTER = 300;

function signals(events: Event[], name: string): { at: number; arg: unknown }[] {
  return events
    .filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === name)
    .map((e) => ({
      at: tsToMs(e.eventTime),
      arg: defaultPayloadConverter.fromPayload(
        e.workflowExecutionSignaledEventAttributes!.input!.payloads![0]!,
      ),
    }));
}

async function events(client: Client, workflowId: string, runId?: string): Promise<Event[]> {
  return (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
}

async function main(): Promise<void> {
  const env = await devServerEnv();
  const taskQueue = unique('bench-lock');
  const harness = lockHarness(env.client);
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: path.join(__dirname, 'bench-workflows.ts'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
  });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle,
    activities: harness.activities,
  });
  const running = worker.run();
  try {
    // Floor: a bare ping-pong.
    const a = unique('ping-a');
    const b = unique('ping-b');
    const hb = await env.client.workflow.start(pingPongWorkflow, {
      taskQueue,
      workflowId: b,
      args: [{ peer: a, rounds: ROUNDS, serve: false }],
    });
    const ha = await env.client.workflow.start(pingPongWorkflow, {
      taskQueue,
      workflowId: a,
      args: [{ peer: b, rounds: ROUNDS, serve: true }],
    });
    await Promise.all([ha.result(), hb.result()]);
    const received = [
      ...signals(await events(env.client, a), 'ping'),
      ...signals(await events(env.client, b), 'ping'),
    ];
    const at = new Map(received.map((s) => [s.arg as number, s.at]));
    const hops: number[] = [];
    for (let n = 1; n <= ROUNDS; n++) {
      const prev = at.get(n - 1);
      const cur = at.get(n);
      if (prev !== undefined && cur !== undefined) hops.push(cur - prev);
    }

    // The lock: a gated first holder, 49 more queued behind it, then hand-off after hand-off.
    const resource = unique('bench');
    await env.client.workflow.start(lockWorkflow, {
      taskQueue,
      workflowId: lockWorkflowId(resource),
      args: [{ resource, continueAsNewAfterEvents: LOCK_CAN_AFTER }],
    });
    const ids = Array.from({ length: CONTENDERS }, (_, i) => `${resource}-c${i}`);
    const first = await env.client.workflow.start(lockProbeWorkflow, {
      taskQueue,
      workflowId: ids[0]!,
      args: [{ resource, holdMs: HOLD_UNTIL_OPENED }],
    });
    await untilStatus(env.client, resource, (s) => s.holder?.workflowId === ids[0]);
    const rest = await Promise.all(
      ids.slice(1).map((id) =>
        env.client.workflow.start(lockProbeWorkflow, {
          taskQueue,
          workflowId: id,
          args: [{ resource, holdMs: 5 }],
        }),
      ),
    );
    await untilStatus(env.client, resource, (s) => s.queue.length === CONTENDERS - 1, 60_000);
    harness.open(ids[0]!);
    const handles = [first, ...rest];
    await untilClosed(handles, 300_000);
    const byToken = new Map<number, string>();
    for (const h of handles) byToken.set((await h.result()).token, h.workflowId);

    const lockRuns: { runId: string; events: Event[] }[] = [];
    for await (const w of env.client.workflow.list({ query: `WorkflowId = '${lockWorkflowId(resource)}'` }))
      lockRuns.push({ runId: w.runId, events: await events(env.client, w.workflowId, w.runId) });
    const releases = lockRuns.flatMap((r) => signals(r.events, 'release'));
    const handoffs: number[] = [];
    for (const rel of releases) {
      const token = (rel.arg as { token: number }).token;
      const next = byToken.get(token + 1);
      if (!next) continue;
      const granted = signals(await events(env.client, next), 'lockGranted')[0];
      if (granted) handoffs.push(granted.at - rel.at);
    }
    const totalEvents = lockRuns.reduce((n, r) => n + r.events.length, 0);
    const longestRun = Math.max(...lockRuns.map((r) => r.events.length));
    const result = {
      contenders: CONTENDERS,
      handoffs: handoffs.length,
      p50Ms: percentile(handoffs, 50),
      p99Ms: percentile(handoffs, 99),
      floorHops: hops.length,
      floorP50Ms: percentile(hops, 50),
      floorP99Ms: percentile(hops, 99),
      ratioP50: Number((percentile(handoffs, 50) / percentile(hops, 50)).toFixed(2)),
      eventsPerGrant: Number((totalEvents / CONTENDERS).toFixed(1)),
      lockRuns: lockRuns.length,
      longestRunEvents: longestRun,
      historyBoundEvents: LOCK_CAN_AFTER,
    };
    console.log(`hand-off latency (release received -> next holder granted), ${handoffs.length} hand-offs:`);
    console.log(`  p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms`);
    console.log(`floor (one signal hop between two bare workflows), ${hops.length} hops:`);
    console.log(`  p50 ${result.floorP50Ms} ms, p99 ${result.floorP99Ms} ms`);
    console.log(`ratio p50: ${result.ratioP50} (goal <= 1.5)`);
    console.log(`events per grant: ${result.eventsPerGrant}`);
    console.log(
      `lock history: ${lockRuns.length} run(s), longest ${longestRun} events (continue-as-new at ${LOCK_CAN_AFTER}): bounded`,
    );
    console.log(JSON.stringify(result));
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
