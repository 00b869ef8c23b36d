/** The pull-request gate's fixtures: the policy, the re-check, the build, and a gate from before it. */
import { ApplicationFailure } from '@temporalio/common';
import type { PipelineActivities } from '../../src/activities/pipeline';
import { buildStatusOf } from '../../src/activities/pr-build';
import { checkPullRequest, statusDescription } from '../../src/domain/pr-policy';
import { pullRequestGateWorkflow, recheckOpenPullRequestsWorkflow } from '../../src/workflows/index';
import {
  pullRequestGateWorkflowId,
  pullRequestRecheckWorkflowId,
  type PullRequestBuild,
  type PullRequestGateInput,
  type PullRequestGateVerdict,
} from '../../src/workflows/pr-gate/messages';
import { REPOSITORY, type Group, type Scenario } from './scenario';

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

export const prGateGroup: Group = {
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
