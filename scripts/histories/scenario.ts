/**
 * What every group of the history recorder (scripts/record-histories.ts) is made of: fixtures,
 * scenarios that record them, the stubs the worker resolves per call, and the starts and stubs
 * more than one group uses.
 */
import { Context } from '@temporalio/activity';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { PipelineActivities } from '../../src/activities/pipeline';
import { productionReleaseWorkflow, tagReleaseWorkflow } from '../../src/workflows/index';
import { productionStatusQuery } from '../../src/workflows/production/messages';
import { pipelineWorkflowId } from '../../src/workflows/shared/messages';
import type { lockHarness } from '../../test/helpers/lock-harness';
import { pipelineStubs } from '../../test/helpers/pipeline-stubs';
import { waitFor } from '../../test/helpers/ports';

/** A fixture file: `histories/<type>/<name>.json`, or `broken/<name>.json` for a broken one. */
export interface Fixture {
  name: string;
  /** The registered workflow type the history is of (checked when it is written). */
  type: string;
  /** A deliberately broken history, which the replay test expects to fail. */
  broken?: boolean;
}

export interface RunContext {
  client: Client;
  taskQueue: string;
  stubs: RecordingStubs;
  lock: ReturnType<typeof lockHarness>;
  /** Writes the fixture `name` from the run's history, unless the policy keeps the file. */
  save(name: string, workflowId: string, runId?: string, edit?: (text: string) => string): Promise<void>;
}

export interface Scenario {
  /** Every fixture the run writes. */
  fixtures: Fixture[];
  /** Recorded with the workflow code as of this commit instead of today's bundle. */
  workflowsAt?: { commit: string; file: string };
  run(ctx: RunContext): Promise<void>;
}

export interface Group {
  name: string;
  summary: string;
  devServerArgs?: string[];
  scenarios: Scenario[];
}

export const REPOSITORY = 'acme/recorded';

export async function settle(handle: WorkflowHandle): Promise<void> {
  await handle.result().catch(() => undefined);
}

export const awaitDecision = (h: WorkflowHandle) =>
  waitFor(async () => (await h.query(productionStatusQuery)).awaitingDecision === true, 30_000, 200);

export const heartbeatForever = async () => {
  const ctx = Context.current();
  for (;;) {
    ctx.heartbeat();
    await ctx.sleep(100);
  }
};

export const testsFail = async () => {
  throw ApplicationFailure.nonRetryable('tests failed', 'TestsFailed', { log: '/l', tail: 'FAIL' });
};

export const breach = async (i: { to: number }) => ({ at: i.to, requests: 100, errors: 50 });

export const productionWatch = {
  health: { window: '4s', sampleInterval: '1s', parameters: { minRequests: 1 } },
  escalation: { realertAfter: '1h', escalateAfter: '2h' },
};

export function startProduction(ctx: RunContext, repository: string, version: string, commit: string) {
  return ctx.client.workflow.start(productionReleaseWorkflow, {
    taskQueue: ctx.taskQueue,
    workflowId: pipelineWorkflowId('production', repository, version),
    args: [{ repository, version, commit, ...productionWatch }],
  });
}

export function startTag(ctx: RunContext, repository: string, version: string, commit: string) {
  return ctx.client.workflow.start(tagReleaseWorkflow, {
    taskQueue: ctx.taskQueue,
    workflowId: pipelineWorkflowId('tag', repository, version),
    args: [{ repository, tag: version, commit }],
  });
}

/** The PR gate's activities are not among the pipeline stubs: they fail unless a scenario sets them. */
const PR_GATE_ACTIVITIES = [
  'checkPullRequestPolicy',
  'recheckOpenPullRequests',
  'postPullRequestBuildStatus',
  'buildPullRequest',
] as const satisfies readonly (keyof PipelineActivities)[];

export type RecordingStubs = ReturnType<typeof recordingStubs>;

/** The workflow tests' pipeline stubs, plus the PR gate's; the worker resolves them per call. */
export function recordingStubs() {
  const pipeline = pipelineStubs();
  let current: Partial<PipelineActivities> = {};
  const gate = Object.fromEntries(
    PR_GATE_ACTIVITIES.map((name) => [
      name,
      (...args: unknown[]) => {
        const fn = current[name] as ((...a: unknown[]) => Promise<unknown>) | undefined;
        if (!fn) throw new Error(`activity ${name} is not stubbed in this scenario`);
        return fn(...args);
      },
    ]),
  );
  return {
    activities: { ...pipeline.activities, ...gate },
    reset(overrides: Partial<PipelineActivities> = {}) {
      pipeline.reset(overrides);
      current = overrides;
    },
    setOverrides(overrides: Partial<PipelineActivities>) {
      pipeline.setOverrides(overrides);
      current = overrides;
    },
  };
}
