/**
 * Records replay fixtures from real runs on a dev server into
 * test/replay/histories/<workflowType>/<fixture>.json, one group of workflows at a time. The
 * worker runs the shipped workflow bundle with the workflow tests' stub activities (the histories
 * hold their results) and the real staging and repository locks.
 *
 * One policy for every group: a fixture that exists is kept unless it is named on the command
 * line. The ones recorded before a `patched()` change are what proves that runs begun before it
 * still replay, for as long as its branch exists; re-recording them with the new code would
 * erase their point. To record a path the new code takes, give it a new fixture name here (the
 * pipelines' `-statuses` names are such a second generation) and keep the old one beside it.
 *
 * Usage: npx tsx scripts/record-histories.ts <group> [fixture ...] [--into DIR]
 *        npx tsx scripts/record-histories.ts --help        (the groups and their fixtures)
 * `--into DIR` writes DIR/histories/... and DIR/broken/... instead of test/replay/, and decides
 * what exists there.
 */
import '../test/helpers/runtime';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Context } from '@temporalio/activity';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { HotfixRef } from '../src/activities/hotfix';
import type { PipelineActivities } from '../src/activities/pipeline';
import { buildStatusOf } from '../src/activities/pr-build';
import { checkPullRequest, statusDescription } from '../src/domain/pr-policy';
import { projectRoot } from '../src/package-info';
import { hotfixWorkflowId } from '../src/workflows/hotfix-messages';
import {
  hotfixWorkflow,
  lockProbeWorkflow,
  mainCommitWorkflow,
  productionReleaseWorkflow,
  pullRequestGateWorkflow,
  recheckOpenPullRequestsWorkflow,
  tagReleaseWorkflow,
} from '../src/workflows/index';
import { lockWorkflowId, setModeSignal } from '../src/workflows/lock-messages';
import { pipelineWorkflowId, promoteSignal, statusQuery } from '../src/workflows/pipeline-messages';
import {
  pullRequestGateWorkflowId,
  pullRequestRecheckWorkflowId,
  type PullRequestBuild,
  type PullRequestGateInput,
  type PullRequestGateVerdict,
} from '../src/workflows/pr-gate-messages';
import { decideUpdate, emergencySignal, rollbackSignal } from '../src/workflows/production-messages';
import { lockHarness, lockStatus } from '../test/helpers/lock-harness';
import {
  contendersScenario,
  hotfixOnlyScenario,
  preemptionScenario,
  terminationScenario,
} from '../test/helpers/lock-scenarios';
import { pipelineStubs } from '../test/helpers/pipeline-stubs';
import { waitFor } from '../test/helpers/ports';
import { devServerEnv, unique, workflowBundle } from '../test/helpers/temporal-env';

/** A fixture file: `histories/<type>/<name>.json`, or `broken/<name>.json` for a broken one. */
interface Fixture {
  name: string;
  /** The registered workflow type the history is of (checked when it is written). */
  type: string;
  /** A deliberately broken history, which the replay test expects to fail. */
  broken?: boolean;
}

interface RunContext {
  client: Client;
  taskQueue: string;
  stubs: RecordingStubs;
  lock: ReturnType<typeof lockHarness>;
  /** Writes the fixture `name` from the run's history, unless the policy keeps the file. */
  save(name: string, workflowId: string, runId?: string, edit?: (text: string) => string): Promise<void>;
}

interface Scenario {
  /** Every fixture the run writes. */
  fixtures: Fixture[];
  /** Recorded with the workflow code as of this commit instead of today's bundle. */
  workflowsAt?: { commit: string; file: string };
  run(ctx: RunContext): Promise<void>;
}

interface Group {
  name: string;
  summary: string;
  devServerArgs?: string[];
  scenarios: Scenario[];
}

const COMMIT = 'ab'.repeat(20);
const REPOSITORY = 'acme/recorded';

async function settle(handle: WorkflowHandle): Promise<void> {
  await handle.result().catch(() => undefined);
}

const awaitDecision = (h: WorkflowHandle) =>
  waitFor(async () => (await h.query(statusQuery)).awaitingDecision === true, 30_000, 200);

const heartbeatForever = async () => {
  const ctx = Context.current();
  for (;;) {
    ctx.heartbeat();
    await ctx.sleep(100);
  }
};

const testsFail = async () => {
  throw ApplicationFailure.nonRetryable('tests failed', 'TestsFailed', { log: '/l', tail: 'FAIL' });
};

const breach = async (i: { to: number }) => ({ at: i.to, requests: 100, errors: 50 });

const productionWatch = {
  health: { window: '4s', sampleInterval: '1s', parameters: { minRequests: 1 } },
  escalation: { realertAfter: '1h', escalateAfter: '2h' },
};

function startProduction(ctx: RunContext, repository: string, version: string, commit: string) {
  return ctx.client.workflow.start(productionReleaseWorkflow, {
    taskQueue: ctx.taskQueue,
    workflowId: pipelineWorkflowId('production', repository, version),
    args: [{ repository, version, commit, ...productionWatch }],
  });
}

function startTag(ctx: RunContext, repository: string, version: string, commit: string) {
  return ctx.client.workflow.start(tagReleaseWorkflow, {
    taskQueue: ctx.taskQueue,
    workflowId: pipelineWorkflowId('tag', repository, version),
    args: [{ repository, tag: version, commit }],
  });
}

// --- lock -----------------------------------------------------------------------------------

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

const lockGroup: Group = {
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
  ],
};

// --- pipeline -------------------------------------------------------------------------------

/**
 * The pipelines' fixtures carry the newest patch in their name (`-statuses`: the commit statuses
 * every stage posts, README "The pipelines"); the ones without it were recorded before that patch.
 */
const PIPELINE = (name: string) => `pipeline-${name}-statuses`;

function pipelineScenario(
  name: string,
  type: string,
  run: (ctx: RunContext) => Promise<WorkflowHandle>,
): Scenario {
  return {
    fixtures: [{ name: PIPELINE(name), type }],
    async run(ctx) {
      const h = await run(ctx);
      await settle(h);
      await ctx.save(PIPELINE(name), h.workflowId);
    },
  };
}

const PIPELINE_COMMIT = 'cd'.repeat(20);
const PIPELINE_PRODUCTION = `${REPOSITORY}-prod`;

const startMainCommit = (ctx: RunContext, commit: string) =>
  ctx.client.workflow.start(mainCommitWorkflow, {
    taskQueue: ctx.taskQueue,
    workflowId: pipelineWorkflowId('main-commit', REPOSITORY, commit),
    args: [{ repository: REPOSITORY, commit }],
  });

const pipelineGroup: Group = {
  name: 'pipeline',
  summary:
    'main-commit released / no release / failed; tag promoted / failed / promoted by hand / preempted; production healthy / rolled back / emergency / failed forward',
  scenarios: [
    pipelineScenario('main-commit-released', 'mainCommitWorkflow', async (ctx) => {
      ctx.stubs.reset();
      return await startMainCommit(ctx, '1'.repeat(40));
    }),
    pipelineScenario('main-commit-no-release', 'mainCommitWorkflow', async (ctx) => {
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
    pipelineScenario('main-commit-failed', 'mainCommitWorkflow', async (ctx) => {
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
      await waitFor(async () => (await h.query(statusQuery)).awaitingPromotion === true, 20_000);
      await h.signal(promoteSignal, { by: 'ana' });
      return h;
    }),
    pipelineScenario('tag-preempted', 'tagReleaseWorkflow', async (ctx) => {
      ctx.stubs.reset({ runTests: heartbeatForever });
      const h = await startTag(ctx, REPOSITORY, 'v1.3.0', PIPELINE_COMMIT);
      await waitFor(async () => (await h.query(statusQuery)).step === 'integration tests (staging)', 20_000);
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

// --- emergency ------------------------------------------------------------------------------

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

const emergencyGroup: Group = {
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

// --- pr-gate --------------------------------------------------------------------------------

const BASE_SHA = 'a'.repeat(40);
const LOG = '/state/work/runs/acme_recorded-0123456789ab/attempt-1/run.log';
const LOG_URL = 'http://127.0.0.1:3000/logs/acme_recorded-0123456789ab/attempt-1';

function verdict(input: PullRequestGateInput, messages: string[], rebased: boolean): PullRequestGateVerdict {
  const checked = checkPullRequest({
    branch: input.branch,
    base: input.base,
    commits: messages.map((message, i) => ({ sha: String(i).repeat(40), message, parents: [BASE_SHA] })),
    baseIsAncestor: rebased,
  });
  return {
    ...input,
    baseSha: BASE_SHA,
    verdict: checked,
    status: {
      context: 'release-flow/policy',
      state: checked.ok ? 'success' : 'failure',
      description: statusDescription(checked),
    },
  };
}

const plan: PullRequestBuild = {
  state: 'planned',
  steps: [
    { name: 'build 1: npm run build', phase: 'build' },
    { name: 'unit tests 1: npm test', phase: 'unit tests' },
  ],
};

// The policy check plans the build, as the real one does for a repository with commands.
const planned =
  (messages: string[], rebased: boolean) =>
  async (i: PullRequestGateInput): Promise<PullRequestGateVerdict> => ({
    ...verdict(i, messages, rebased),
    build: plan,
  });

const postsStatus = async (i: { build: PullRequestBuild }) => ({
  context: 'release-flow/build',
  ...buildStatusOf(i.build),
  targetUrl: i.build.logUrl ?? 'http://127.0.0.1:8233/namespaces/default/workflows/x',
});

const gateInput = (number: number, branch: string, head: string): PullRequestGateInput => ({
  repository: REPOSITORY,
  number,
  head,
  branch,
  base: 'main',
});

function gateScenario(
  name: string,
  stubs: Partial<PipelineActivities>,
  input: PullRequestGateInput,
  workflowsAt?: Scenario['workflowsAt'],
): Scenario {
  return {
    fixtures: [{ name, type: 'pullRequestGateWorkflow' }],
    ...(workflowsAt ? { workflowsAt } : {}),
    async run(ctx) {
      ctx.stubs.reset(stubs);
      const h = await ctx.client.workflow.start(pullRequestGateWorkflow, {
        taskQueue: ctx.taskQueue,
        workflowId: pullRequestGateWorkflowId(input.repository, input.number, input.head),
        args: [input],
      });
      await h.result();
      await ctx.save(name, h.workflowId);
    },
  };
}

const prGateGroup: Group = {
  name: 'pr-gate',
  summary:
    'the pull-request gate: policy passed / failed, the re-check, a build passed / failed / that cannot run, and a gate from before the PR build',
  scenarios: [
    gateScenario(
      'pr-gate-passed',
      { checkPullRequestPolicy: async (i) => verdict(i, ['feat(JIRA-1): add cart'], true) },
      gateInput(1, 'ana/JIRA-1', '1'.repeat(40)),
    ),
    gateScenario(
      'pr-gate-failed',
      { checkPullRequestPolicy: async (i) => verdict(i, ['wip', 'fix: typo'], false) },
      gateInput(2, 'feature', '2'.repeat(40)),
    ),
    {
      fixtures: [{ name: 'pr-recheck', type: 'recheckOpenPullRequestsWorkflow' }],
      async run(ctx) {
        ctx.stubs.reset({
          recheckOpenPullRequests: async () => [
            verdict(gateInput(1, 'ana/JIRA-1', '1'.repeat(40)), ['feat(JIRA-1): add cart'], true),
            verdict(gateInput(3, 'bo/JIRA-3', '3'.repeat(40)), ['fix(JIRA-3): totals'], false),
          ],
        });
        const moved = 'b'.repeat(40);
        const h = await ctx.client.workflow.start(recheckOpenPullRequestsWorkflow, {
          taskQueue: ctx.taskQueue,
          workflowId: pullRequestRecheckWorkflowId(REPOSITORY, moved),
          args: [{ repository: REPOSITORY, base: 'main', commit: moved }],
        });
        await h.result();
        await ctx.save('pr-recheck', h.workflowId);
      },
    },
    gateScenario(
      'pr-gate-built',
      {
        checkPullRequestPolicy: planned(['wip'], true),
        postPullRequestBuildStatus: postsStatus,
        buildPullRequest: async () => ({
          state: 'passed',
          steps: plan.steps.map((s) => ({ ...s, result: 'passed' as const, durationMs: 1200 })),
          durationMs: 2600,
          reused: false,
          log: LOG,
          logUrl: LOG_URL,
        }),
      },
      gateInput(4, 'feature', '4'.repeat(40)),
    ),
    gateScenario(
      'pr-gate-build-failed',
      {
        checkPullRequestPolicy: planned(['feat(JIRA-5): totals'], true),
        postPullRequestBuildStatus: postsStatus,
        buildPullRequest: async () => ({
          state: 'failed',
          steps: [
            { ...plan.steps[0]!, result: 'passed' as const },
            { ...plan.steps[1]!, result: 'failed' as const },
          ],
          log: LOG,
          logUrl: LOG_URL,
          failedStep: 'unit tests 1: npm test',
          failure: 'exit 1',
          tail: 'not ok 1 - totals add up',
        }),
      },
      gateInput(5, 'ana/JIRA-5', '5'.repeat(40)),
    ),
    gateScenario(
      'pr-gate-build-error',
      {
        checkPullRequestPolicy: planned(['feat(JIRA-6): coupons'], true),
        postPullRequestBuildStatus: postsStatus,
        buildPullRequest: async () => {
          throw ApplicationFailure.nonRetryable('git worktree add failed: disk full', 'Error');
        },
      },
      gateInput(6, 'ana/JIRA-6', '6'.repeat(40)),
    ),
    // A rolling deploy: the policy check already plans a build, the gate's code from before the
    // PR build (its file's last commit before it) ends without one.
    gateScenario(
      'pr-gate-planned-before-build',
      { checkPullRequestPolicy: planned(['feat(JIRA-7): search'], true) },
      gateInput(7, 'ana/JIRA-7', '7'.repeat(40)),
      { commit: '1a17692', file: 'src/workflows/pr-gate.ts' },
    ),
  ],
};

const groups: Group[] = [lockGroup, pipelineGroup, prGateGroup, emergencyGroup];

// --- the recorder ---------------------------------------------------------------------------

/** The PR gate's activities are not among the pipeline stubs: they fail unless a scenario sets them. */
const PR_GATE_ACTIVITIES = [
  'checkPullRequestPolicy',
  'recheckOpenPullRequests',
  'postPullRequestBuildStatus',
  'buildPullRequest',
] as const satisfies readonly (keyof PipelineActivities)[];

type RecordingStubs = ReturnType<typeof recordingStubs>;

/** The workflow tests' pipeline stubs, plus the PR gate's; the worker resolves them per call. */
function recordingStubs() {
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

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error };

/**
 * Workflow code at an earlier commit, bundled on its own: the file and the `./` modules it imports
 * (as of that commit) are written under the project (`.scratch-*` is ignored by git) so the
 * bundler finds `node_modules`; their `../` imports, type-only, point at today's `src/`.
 */
async function bundleAt(at: { commit: string; file: string }): Promise<WorkflowBundleWithSourceMap> {
  const dir = mkdtempSync(path.join(projectRoot, '.scratch-record-'));
  const copied = new Set<string>();
  const copy = (file: string) => {
    if (copied.has(file)) return;
    copied.add(file);
    const source = execFileSync('git', ['show', `${at.commit}:${file}`], {
      cwd: projectRoot,
      encoding: 'utf8',
    });
    const from = path.posix.dirname(file);
    writeFileSync(
      path.join(dir, path.posix.basename(file)),
      source.replace(/from '(\.\.?\/[^']+)'/g, (whole, spec: string) => {
        if (spec.startsWith('./') && !spec.slice(2).includes('/')) {
          copy(path.posix.join(from, `${spec}.ts`));
          return whole;
        }
        return `from '${path.join(projectRoot, from, spec)}'`;
      }),
    );
  };
  try {
    copy(at.file);
    return await bundleWorkflowCode({
      workflowsPath: path.join(dir, path.posix.basename(at.file)),
      logger: quiet,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fixturePath = (into: string, f: Fixture) =>
  f.broken
    ? path.join(into, 'broken', `${f.name}.json`)
    : path.join(into, 'histories', f.type, `${f.name}.json`);

type Result = 'recorded' | 'kept';

async function record(group: Group, named: string[], into: string): Promise<void> {
  const all = group.scenarios.flatMap((s) => s.fixtures);
  const unknown = named.filter((n) => !all.some((f) => f.name === n));
  if (unknown.length)
    throw new Error(
      `${group.name} has no fixture ${unknown.join(', ')}; its fixtures: ${all.map((f) => f.name).join(', ')}`,
    );
  const wanted = (f: Fixture) => named.includes(f.name) || !existsSync(fixturePath(into, f));
  const results = new Map<string, Result>();
  const rel = (f: Fixture) => path.relative(into, fixturePath(into, f));
  const todo = group.scenarios.filter((s) => s.fixtures.some(wanted));
  for (const f of all) if (!todo.some((s) => s.fixtures.includes(f))) results.set(f.name, 'kept');

  if (todo.length) {
    const env = await devServerEnv({ extraArgs: group.devServerArgs });
    const client = env.client;
    const taskQueue = unique(`record-${group.name}`);
    const stubs = recordingStubs();
    const lock = lockHarness(client);
    const activities = { ...lock.activities, ...stubs.activities };
    // One worker for the whole run: long-lived workflows (the staging lock) stay on its queue.
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
      maxHeartbeatThrottleInterval: '1 second',
    });
    const running = worker.run();
    try {
      for (const scenario of todo) {
        const save: RunContext['save'] = async (name, workflowId, runId, edit) => {
          const f = scenario.fixtures.find((x) => x.name === name);
          if (!f) throw new Error(`${name} is not a fixture of the scenario saving it`);
          if (!wanted(f)) {
            results.set(name, 'kept');
            return;
          }
          const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
          const json = JSON.parse(historyToJSON(history)) as {
            events: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[];
          };
          const type = json.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
          if (type !== f.type)
            throw new Error(`${name} is declared a ${f.type} history but ${workflowId} is a ${type}`);
          const text = `${JSON.stringify({ workflowId, events: json.events }, null, 1)}\n`;
          const file = fixturePath(into, f);
          mkdirSync(path.dirname(file), { recursive: true });
          writeFileSync(file, edit ? edit(text) : text);
          results.set(name, 'recorded');
          console.log(`recorded ${rel(f)} (${json.events.length} events)`);
        };
        const ctx = (queue: string): RunContext => ({ client, taskQueue: queue, stubs, lock, save });
        if (scenario.workflowsAt) {
          const queue = `${taskQueue}-${scenario.fixtures[0]!.name}`;
          const old = await Worker.create({
            connection: env.nativeConnection,
            taskQueue: queue,
            workflowBundle: await bundleAt(scenario.workflowsAt),
            activities,
          });
          await old.runUntil(scenario.run(ctx(queue)));
        } else await scenario.run(ctx(taskQueue));
        // An emergency leaves staging in hotfix-only mode: back to normal for the next scenario.
        const staging = await lockStatus(client, 'staging');
        if (staging?.mode.mode === 'hotfixOnly')
          await client.workflow
            .getHandle(lockWorkflowId('staging'))
            .signal(setModeSignal, { mode: 'normal', by: 'recorder', reason: 'next recording' });
      }
    } finally {
      // Runs handed off to stub activities (production after a tag, the locks) end here.
      for await (const wf of client.workflow.list({ query: `ExecutionStatus = 'Running'` }))
        await client.workflow
          .getHandle(wf.workflowId)
          .terminate('recording done')
          .catch(() => undefined);
      worker.shutdown();
      await running;
      await env.teardown();
    }
  }

  for (const f of all) if (results.get(f.name) === 'kept') console.log(`kept ${rel(f)}`);
  const missing = all.filter((f) => !results.has(f.name));
  for (const f of missing) console.error(`not recorded ${rel(f)}: the run did not produce it`);
  const recorded = all.filter((f) => results.get(f.name) === 'recorded').length;
  console.log(
    `${group.name}: ${recorded} recorded, ${all.length - recorded - missing.length} kept` +
      (recorded ? '' : ' (an existing fixture is recorded again only when named)'),
  );
  if (missing.length) process.exitCode = 1;
}

function usage(): string {
  const lines = [
    'Usage: npx tsx scripts/record-histories.ts <group> [fixture ...] [--into DIR]',
    '',
    "Records the group's missing fixtures into test/replay/histories/<workflowType>/ (a deliberately",
    'broken one into test/replay/broken/); an existing fixture is kept unless named. --into DIR',
    'writes under DIR instead.',
    '',
    'Groups:',
  ];
  for (const g of groups) {
    lines.push(`  ${g.name}: ${g.summary}`);
    for (const f of g.scenarios.flatMap((s) => s.fixtures))
      lines.push(`      ${f.name}  (${f.broken ? 'broken' : f.type})`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { into: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [name, ...named] = positionals;
  if (values.help || !name) {
    console.log(usage());
    if (!values.help) process.exitCode = 2;
    return;
  }
  const group = groups.find((g) => g.name === name);
  if (!group) {
    console.error(`no group ${name}; groups: ${groups.map((g) => g.name).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  await record(group, named, path.resolve(values.into ?? path.join(projectRoot, 'test', 'replay')));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
