/** The staging lock's fixtures: the scenarios of the e2e lock test, each lock run and probe. */
import { lockWorkflowId } from '../../src/workflows/lock/messages';
import {
  contendersScenario,
  hotfixOnlyScenario,
  preemptionScenario,
  terminationScenario,
  twoIncidentsScenario,
} from '../../test/helpers/lock-scenarios';
import type { Fixture, Group, RunContext, Scenario } from './scenario';

/**
 * A scenario of the e2e lock test on resource `rec-<name>`: its first `runs` lock runs (each
 * continue-as-new run is a history of its own) and the probes that end in each outcome.
 */
function lockScenario(
  name: string,
  runs: number,
  probes: string[],
  play: (ctx: RunContext, resource: string) => Promise<unknown>,
  extra: Fixture[] = [],
  after?: (ctx: RunContext) => Promise<void>,
): Scenario {
  const runName = (i: number) => `lock-${name}-lock-run${i}`;
  return {
    fixtures: [
      ...Array.from({ length: runs }, (_, i) => ({ name: runName(i + 1), type: 'lockWorkflow' })),
      ...probes.map((p) => ({ name: `lock-${name}-probe-${p}`, type: 'lockProbeWorkflow' })),
      ...extra,
    ],
    async run(ctx) {
      const resource = `rec-${name}`;
      await play(ctx, resource);
      const lockRuns: { workflowId: string; runId: string }[] = [];
      for await (const w of ctx.client.workflow.list({ query: `WorkflowId = '${lockWorkflowId(resource)}'` }))
        lockRuns.push({ workflowId: w.workflowId, runId: w.runId });
      lockRuns.reverse(); // oldest first
      for (const [i, r] of lockRuns.slice(0, runs).entries())
        await ctx.save(runName(i + 1), r.workflowId, r.runId);
      for (const p of probes) {
        const d = await ctx.client.workflow
          .getHandle(`${resource}-${p}`)
          .describe()
          .catch(() => undefined);
        if (d && d.status.name !== 'TERMINATED')
          await ctx.save(`lock-${name}-probe-${p}`, d.workflowId, d.runId);
      }
      await after?.(ctx);
    },
  };
}

const scenarioContext = (ctx: RunContext) => ({
  client: ctx.client,
  taskQueue: ctx.taskQueue,
  harness: ctx.lock,
});

export const lockGroup: Group = {
  name: 'lock',
  summary:
    'the staging lock and its probes: contenders with continue-as-new, preemption, termination, hotfix-only',
  // A low threshold, so the contenders' burst makes the lock continue as new.
  devServerArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=50'],
  scenarios: [
    lockScenario('contenders', 3, ['holder', 'c00'], (ctx, r) =>
      contendersScenario(scenarioContext(ctx), r, 12),
    ),
    lockScenario(
      'preemption',
      1,
      ['holder', 'emergency'],
      (ctx, r) => preemptionScenario(scenarioContext(ctx), r),
      [{ name: 'lock-renamed-activity', type: 'lockProbeWorkflow', broken: true }],
      // The broken one: a probe history whose first activity was a different type than the code schedules.
      async (ctx) => {
        const d = await ctx.client.workflow.getHandle('rec-preemption-emergency').describe();
        await ctx.save('lock-renamed-activity', d.workflowId, d.runId, (text) =>
          text.replace(/"requestLock"/g, '"requestLockRenamed"'),
        );
      },
    ),
    lockScenario('termination', 1, ['next'], (ctx, r) => terminationScenario(scenarioContext(ctx), r)),
    lockScenario('hotfix-only', 1, ['holder', 'hot', 'normal'], (ctx, r) =>
      hotfixOnlyScenario(scenarioContext(ctx), r),
    ),
    lockScenario('two-incidents', 1, ['normal'], async (ctx, r) => {
      const { between } = await twoIncidentsScenario(scenarioContext(ctx), r);
      // Recorded only if it shows the rule: one incident's end left the request waiting.
      if (between.mode.mode !== 'hotfixOnly' || between.queue.length !== 1)
        throw new Error(`the lock left hotfix-only with an incident still open: ${JSON.stringify(between)}`);
    }),
  ],
};
