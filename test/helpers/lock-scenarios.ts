/**
 * Lock scenarios on a real dev server, shared by the e2e test (which asserts on them) and
 * scripts/record-histories.ts (which records their histories as replay fixtures).
 */
import type { Client } from '@temporalio/client';
import {
  lockProbeWorkflow,
  type LockProbeInput,
  type LockProbeOutcome,
} from '../../src/workflows/lock/lock-probe-workflow';
import { lockWorkflowId, setModeSignal, type LockStatus } from '../../src/workflows/lock/messages';
import { HOLD_UNTIL_OPENED, lockStatus, untilClosed, untilStatus, type lockHarness } from './lock-harness';

export interface ScenarioContext {
  client: Client;
  taskQueue: string;
  harness: ReturnType<typeof lockHarness>;
}

function starter(ctx: ScenarioContext) {
  return (id: string, input: LockProbeInput) =>
    ctx.client.workflow.start(lockProbeWorkflow, { taskQueue: ctx.taskQueue, workflowId: id, args: [input] });
}

/**
 * A gated holder, then `n` contenders whose requests arrive in one burst (the lock continues as
 * new during it when the server's threshold is low), then random hold times once it opens.
 */
export async function contendersScenario(ctx: ScenarioContext, resource: string, n: number) {
  const start = starter(ctx);
  const holder = `${resource}-holder`;
  const first = await start(holder, { resource, holdMs: HOLD_UNTIL_OPENED });
  await untilStatus(ctx.client, resource, (s) => s.holder?.workflowId === holder);
  const rest = await Promise.all(
    Array.from({ length: n - 1 }, (_, i) =>
      start(`${resource}-c${String(i).padStart(2, '0')}`, {
        resource,
        holdMs: Math.floor(Math.random() * 60),
      }),
    ),
  );
  const full = await untilStatus(ctx.client, resource, (s) => s.queue.length === n - 1, 60_000);
  ctx.harness.open(holder);
  const handles = [first, ...rest];
  await untilClosed(handles, 120_000);
  const outcomes: LockProbeOutcome[] = await Promise.all(handles.map((h) => h.result()));
  return { full, outcomes, final: (await lockStatus(ctx.client, resource)) as LockStatus };
}

/** A holder preempted by a forced (emergency) acquisition. */
export async function preemptionScenario(ctx: ScenarioContext, resource: string) {
  const start = starter(ctx);
  const holder = await start(`${resource}-holder`, { resource, holdMs: HOLD_UNTIL_OPENED });
  await untilStatus(ctx.client, resource, () => ctx.harness.enterOrder(resource).length === 1);
  const queued = await start(`${resource}-queued`, { resource, holdMs: 10 });
  await untilStatus(ctx.client, resource, (s) => s.queue.length === 1);
  const forcer = await start(`${resource}-emergency`, {
    resource,
    holdMs: 10,
    priority: 'hotfix',
    force: { by: 'oncall', reason: 'SEV-1' },
  });
  await untilClosed([holder, forcer, queued]);
  return { holder: await holder.result(), forcer: await forcer.result(), queued: await queued.result() };
}

/** A terminated queued requester is skipped; a terminated holder loses the lock at lease end. */
export async function terminationScenario(ctx: ScenarioContext, resource: string) {
  const start = starter(ctx);
  const holderId = `${resource}-holder`;
  const holder = await start(holderId, { resource, holdMs: HOLD_UNTIL_OPENED, lease: '3 seconds' });
  await untilStatus(ctx.client, resource, (s) => s.holder?.workflowId === holderId);
  const gone = await start(`${resource}-gone`, { resource, holdMs: 0 });
  await untilStatus(ctx.client, resource, (s) => s.queue.length === 1);
  const next = await start(`${resource}-next`, { resource, holdMs: 0 });
  await untilStatus(ctx.client, resource, (s) => s.queue.length === 2);
  await gone.terminate('test: queued requester dies');
  await holder.terminate('test: holder dies');
  ctx.harness.open(holderId);
  const t0 = Date.now();
  await untilClosed([next], 30_000);
  return {
    next: await next.result(),
    waitedMs: Date.now() - t0,
    final: (await lockStatus(ctx.client, resource))!,
  };
}

/** Hotfix-only mode: a normal request waits while a hotfix goes through; off again, it is granted. */
export async function hotfixOnlyScenario(ctx: ScenarioContext, resource: string) {
  const start = starter(ctx);
  const lock = ctx.client.workflow.getHandle(lockWorkflowId(resource));
  const holderId = `${resource}-holder`;
  const holder = await start(holderId, { resource, holdMs: HOLD_UNTIL_OPENED });
  await untilStatus(ctx.client, resource, (s) => s.holder?.workflowId === holderId);
  await lock.signal(setModeSignal, { mode: 'hotfixOnly', by: 'oncall', reason: 'HOT-1' });
  const normal = await start(`${resource}-normal`, { resource, holdMs: 0 });
  const hot = await start(`${resource}-hot`, { resource, holdMs: 0, priority: 'hotfix' });
  await untilStatus(ctx.client, resource, (s) => s.queue.length === 2);
  ctx.harness.open(holderId);
  await untilClosed([holder, hot]);
  const during = await untilStatus(ctx.client, resource, (s) => s.holder === null);
  await lock.signal(setModeSignal, { mode: 'normal', by: 'oncall', reason: 'HOT-1 healthy' });
  await untilClosed([normal]);
  return { during, order: ctx.harness.enterOrder(resource) };
}

/**
 * Two incidents hold hotfix-only mode: the first one's end leaves a normal request waiting; the
 * second one's end grants it.
 */
export async function twoIncidentsScenario(ctx: ScenarioContext, resource: string) {
  const start = starter(ctx);
  const lock = ctx.client.workflow.getHandle(lockWorkflowId(resource));
  const holderId = `${resource}-holder`;
  const holder = await start(holderId, { resource, holdMs: HOLD_UNTIL_OPENED });
  await untilStatus(ctx.client, resource, (s) => s.holder?.workflowId === holderId);
  for (const [id, repository] of [
    ['HOT-1', 'acme/shop'],
    ['HOT-2', 'acme/cart'],
  ] as const) {
    await lock.signal(setModeSignal, {
      mode: 'hotfixOnly',
      by: 'oncall',
      reason: id,
      incident: { id, repository },
    });
  }
  const normal = await start(`${resource}-normal`, { resource, holdMs: 0 });
  await untilStatus(ctx.client, resource, (s) => s.queue.length === 1 && s.incidents.length === 2);
  ctx.harness.open(holderId);
  await untilClosed([holder]);
  await lock.signal(setModeSignal, {
    mode: 'normal',
    by: 'wf',
    reason: 'HOT-1 healthy',
    incident: { id: 'HOT-1', repository: 'acme/shop' },
  });
  const between = await untilStatus(ctx.client, resource, (s) => s.incidents.length === 1);
  await lock.signal(setModeSignal, {
    mode: 'normal',
    by: 'wf',
    reason: 'HOT-2 healthy',
    incident: { id: 'HOT-2', repository: 'acme/cart' },
  });
  await untilClosed([normal]);
  return { between };
}
