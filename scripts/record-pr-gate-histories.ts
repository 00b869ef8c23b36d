/**
 * Records replay fixtures of the pull-request gate from real dev-server runs, one per path:
 * a passing and a failing policy check, and a re-check of the open pull requests (recorded
 * before the PR build, issue 7); a build that passes under a red policy, one that fails, one
 * that cannot run; and the history a rolling deploy leaves, where the policy check already
 * plans a build but the gate's code from before the PR build ends without it. Activities are
 * stubs (the histories hold their results). Writes test/replay/histories/pr-*.json.
 *
 * A fixture that exists is kept unless named on the command line: the ones recorded before a
 * `patched()` change are what proves the old branch still replays, so re-recording them with
 * the new code would erase their point.
 * Usage: npx tsx scripts/record-pr-gate-histories.ts [fixture-name ...]
 */
import '../test/helpers/runtime';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { PipelineActivities } from '../src/activities/pipeline';
import { buildStatusOf } from '../src/activities/pr-build';
import { checkPullRequest, statusDescription } from '../src/domain/pr-policy';
import { projectRoot } from '../src/package-info';
import { pullRequestGateWorkflow } from '../src/workflows/pr-gate/pull-request-gate-workflow';
import { recheckOpenPullRequestsWorkflow } from '../src/workflows/pr-gate/recheck-open-pull-requests-workflow';
import {
  pullRequestGateWorkflowId,
  pullRequestRecheckWorkflowId,
  type PullRequestBuild,
  type PullRequestGateInput,
  type PullRequestGateVerdict,
} from '../src/workflows/pr-gate/messages';
import { devServerEnv, unique, workflowBundle } from '../test/helpers/temporal-env';

const historiesDir = path.join(projectRoot, 'test', 'replay', 'histories');
const REPOSITORY = 'acme/recorded';
const BASE_SHA = 'a'.repeat(40);
// The last commit of src/workflows/pr-gate.ts before the PR build.
const BEFORE_PR_BUILD = '1a17692';
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

type Stubs = Partial<PipelineActivities>;

const stubbedActivities: (keyof PipelineActivities)[] = [
  'checkPullRequestPolicy',
  'recheckOpenPullRequests',
  'postPullRequestBuildStatus',
  'buildPullRequest',
];

interface Scenario {
  name: string;
  /** Recorded with the gate's code as of this commit instead of the current bundle. */
  workflowsAt?: string;
  record(ctx: { client: Client; taskQueue: string; use: (stubs: Stubs) => void }): Promise<WorkflowHandle>;
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

function startGate(client: Client, taskQueue: string, input: PullRequestGateInput) {
  return client.workflow.start(pullRequestGateWorkflow, {
    taskQueue,
    workflowId: pullRequestGateWorkflowId(input.repository, input.number, input.head),
    args: [input],
  });
}

function gateInput(number: number, branch: string, head: string): PullRequestGateInput {
  return { repository: REPOSITORY, number, head, branch, base: 'main' };
}

const scenarios: Scenario[] = [
  {
    name: 'pr-gate-passed',
    async record({ client, taskQueue, use }) {
      use({ checkPullRequestPolicy: async (i) => verdict(i, ['feat(JIRA-1): add cart'], true) });
      return await startGate(client, taskQueue, gateInput(1, 'ana/JIRA-1', '1'.repeat(40)));
    },
  },
  {
    name: 'pr-gate-failed',
    async record({ client, taskQueue, use }) {
      use({ checkPullRequestPolicy: async (i) => verdict(i, ['wip', 'fix: typo'], false) });
      return await startGate(client, taskQueue, gateInput(2, 'feature', '2'.repeat(40)));
    },
  },
  {
    name: 'pr-recheck',
    async record({ client, taskQueue, use }) {
      use({
        recheckOpenPullRequests: async () => [
          verdict(gateInput(1, 'ana/JIRA-1', '1'.repeat(40)), ['feat(JIRA-1): add cart'], true),
          verdict(gateInput(3, 'bo/JIRA-3', '3'.repeat(40)), ['fix(JIRA-3): totals'], false),
        ],
      });
      const moved = 'b'.repeat(40);
      return await client.workflow.start(recheckOpenPullRequestsWorkflow, {
        taskQueue,
        workflowId: pullRequestRecheckWorkflowId(REPOSITORY, moved),
        args: [{ repository: REPOSITORY, base: 'main', commit: moved }],
      });
    },
  },
  {
    name: 'pr-gate-built',
    async record({ client, taskQueue, use }) {
      use({
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
      });
      return await startGate(client, taskQueue, gateInput(4, 'feature', '4'.repeat(40)));
    },
  },
  {
    name: 'pr-gate-build-failed',
    async record({ client, taskQueue, use }) {
      use({
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
      });
      return await startGate(client, taskQueue, gateInput(5, 'ana/JIRA-5', '5'.repeat(40)));
    },
  },
  {
    name: 'pr-gate-build-error',
    async record({ client, taskQueue, use }) {
      use({
        checkPullRequestPolicy: planned(['feat(JIRA-6): coupons'], true),
        postPullRequestBuildStatus: postsStatus,
        buildPullRequest: async () => {
          throw ApplicationFailure.nonRetryable('git worktree add failed: disk full', 'Error');
        },
      });
      return await startGate(client, taskQueue, gateInput(6, 'ana/JIRA-6', '6'.repeat(40)));
    },
  },
  {
    name: 'pr-gate-planned-before-build',
    workflowsAt: BEFORE_PR_BUILD,
    async record({ client, taskQueue, use }) {
      use({ checkPullRequestPolicy: planned(['feat(JIRA-7): search'], true) });
      return await startGate(client, taskQueue, gateInput(7, 'ana/JIRA-7', '7'.repeat(40)));
    },
  },
];

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error };

/**
 * The gate's workflow code at an earlier commit, bundled on its own. The file is written under
 * the project (`.scratch-*` is ignored by git) so the bundler finds `node_modules`; its imports
 * of the messages resolve to today's file, whose types only grew.
 */
async function bundleAt(commit: string): Promise<WorkflowBundleWithSourceMap> {
  const source = execFileSync('git', ['show', `${commit}:src/workflows/pr-gate.ts`], {
    cwd: projectRoot,
    encoding: 'utf8',
  })
    .replaceAll(`'./pr-gate-messages'`, `'${path.join(projectRoot, 'src/workflows/pr-gate/messages')}'`)
    .replaceAll(`'../activities/pipeline'`, `'${path.join(projectRoot, 'src/activities/pipeline')}'`);
  const dir = mkdtempSync(path.join(projectRoot, '.scratch-pr-gate-'));
  try {
    writeFileSync(path.join(dir, 'workflows.ts'), source);
    return await bundleWorkflowCode({ workflowsPath: path.join(dir, 'workflows.ts'), logger: quiet });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function save(client: Client, handle: WorkflowHandle, name: string): Promise<void> {
  const history = await client.workflow.getHandle(handle.workflowId).fetchHistory();
  const json = JSON.parse(historyToJSON(history)) as { events: unknown[] };
  writeFileSync(
    path.join(historiesDir, `${name}.json`),
    `${JSON.stringify({ workflowId: handle.workflowId, events: json.events }, null, 1)}\n`,
  );
  console.log(`recorded ${name}.json (${json.events.length} events)`);
}

function chosen(args: string[]): Scenario[] {
  const unknown = args.filter((a) => !scenarios.some((s) => s.name === a));
  if (unknown.length) {
    throw new Error(
      `unknown fixture ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`,
    );
  }
  if (args.length) return scenarios.filter((s) => args.includes(s.name));
  return scenarios.filter((s) => !existsSync(path.join(historiesDir, `${s.name}.json`)));
}

async function main(): Promise<void> {
  const todo = chosen(process.argv.slice(2));
  if (!todo.length) {
    console.log('every fixture exists; name one to record it again');
    return;
  }
  mkdirSync(historiesDir, { recursive: true });
  const env = await devServerEnv();
  const client = env.client;
  const taskQueue = unique('record-pr-gate');
  // The worker resolves activities per call: each scenario swaps in its own stubs.
  let current: Stubs = {};
  const activities = Object.fromEntries(
    stubbedActivities.map((name) => [
      name,
      (...args: unknown[]) => {
        const fn = current[name as keyof Stubs] as ((...a: unknown[]) => Promise<unknown>) | undefined;
        if (!fn) throw new Error(`activity ${name} is not stubbed in this scenario`);
        return fn(...args);
      },
    ]),
  );
  try {
    for (const scenario of todo) {
      const queue = `${taskQueue}-${scenario.name}`;
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue: queue,
        workflowBundle: scenario.workflowsAt ? await bundleAt(scenario.workflowsAt) : await workflowBundle(),
        activities,
      });
      await worker.runUntil(async () => {
        const handle = await scenario.record({ client, taskQueue: queue, use: (stubs) => (current = stubs) });
        await handle.result();
        await save(client, handle, scenario.name);
      });
    }
  } finally {
    await env.teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
