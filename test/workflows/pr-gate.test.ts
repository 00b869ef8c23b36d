import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../src/activities';
import { createPrGateActivities } from '../../src/activities/pr-gate';
import { checkPullRequest, statusDescription } from '../../src/domain/pr-policy';
import type { Comparison, PullRequestRef } from '../../src/ports/pull-requests';
import type { CommitStatus } from '../../src/ports/commit-statuses';
import { pullRequestGateWorkflow } from '../../src/workflows/pr-gate/pull-request-gate-workflow';
import { recheckOpenPullRequestsWorkflow } from '../../src/workflows/pr-gate/recheck-open-pull-requests-workflow';
import {
  pullRequestGateStatusQuery,
  pullRequestGateWorkflowId,
  recheckStatusQuery,
  type PullRequestGateInput,
  type PullRequestGateVerdict,
} from '../../src/workflows/pr-gate/messages';
import { timeSkippingEnv, unique, workflowBundle } from '../helpers/temporal-env';

const HEAD = 'c'.repeat(40);
const MAIN = 'a'.repeat(40);

function verdictFor(
  input: PullRequestGateInput,
  commits: string[],
  rebased: boolean,
): PullRequestGateVerdict {
  const verdict = checkPullRequest({
    branch: input.branch,
    base: input.base,
    commits: commits.map((message, i) => ({ sha: String(i).repeat(40), message, parents: [MAIN] })),
    baseIsAncestor: rebased,
  });
  return {
    ...input,
    baseSha: MAIN,
    verdict,
    status: {
      context: 'release-flow/policy',
      state: verdict.ok ? 'success' : 'failure',
      description: statusDescription(verdict),
    },
  };
}

describe('pull-request gate workflows on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  before(async () => (env = await timeSkippingEnv()));
  after(() => env?.teardown());

  async function workerWith(activities: Partial<Activities>) {
    const taskQueue = unique('pr-gate');
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities,
    });
    return { worker, taskQueue };
  }

  it('ends with every violation and answers them through the status query, not just the first', async () => {
    const input: PullRequestGateInput = {
      repository: 'acme/shop',
      number: 7,
      head: HEAD,
      branch: 'feature',
      base: 'main',
    };
    const seen: PullRequestGateInput[] = [];
    const { worker, taskQueue } = await workerWith({
      checkPullRequestPolicy: async (i) => {
        seen.push(i);
        return verdictFor(i, ['wip', 'fix: typo'], false);
      },
    });
    const workflowId = pullRequestGateWorkflowId(input.repository, input.number, input.head);
    assert.equal(workflowId, `pr-gate:acme/shop#7:${HEAD}`);
    const { result, status } = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(pullRequestGateWorkflow, {
        taskQueue,
        workflowId,
        args: [input],
      });
      const result = await handle.result();
      return { result, status: await handle.query(pullRequestGateStatusQuery) };
    });
    assert.deepEqual(seen, [input]);
    assert.deepEqual(
      result.verdict.violations.map((v) => v.rule),
      ['branch-name', 'rebased', 'commit-scope', 'commit-header'],
    );
    assert.equal(result.status.state, 'failure');
    assert.match(result.status.description, /^branch-name: .*\(\+3 more\)$/);
    assert.equal(status.state, 'failed');
    assert.deepEqual(status.result, result);
    assert.deepEqual(status.input, input);
  });

  it('a conforming pull request passes', async () => {
    const input: PullRequestGateInput = {
      repository: 'acme/shop',
      number: 8,
      head: HEAD,
      branch: 'nyefan/JIRA-1234',
      base: 'main',
    };
    const { worker, taskQueue } = await workerWith({
      checkPullRequestPolicy: async (i) => verdictFor(i, ['feat(JIRA-1234): add cart'], true),
    });
    const status = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(pullRequestGateWorkflow, {
        taskQueue,
        workflowId: unique('pr-gate-green'),
        args: [input],
      });
      await handle.result();
      return await handle.query(pullRequestGateStatusQuery);
    });
    assert.equal(status.state, 'passed');
    assert.equal(status.result?.status.state, 'success');
  });

  it('without GitHub configured the check fails at once, naming GITHUB_TOKEN, and is not retried', async () => {
    let listed = 0;
    const real = createPrGateActivities({ repository: () => undefined });
    const { worker, taskQueue } = await workerWith({
      checkPullRequestPolicy: async (i) => {
        listed++;
        return await real.checkPullRequestPolicy(i);
      },
    });
    const err = await worker.runUntil(
      env.client.workflow
        .execute(pullRequestGateWorkflow, {
          taskQueue,
          workflowId: unique('pr-gate-unconfigured'),
          args: [{ repository: 'acme/shop', number: 9, head: HEAD, branch: 'u/T-1', base: 'main' }],
        })
        .then(
          () => assert.fail('the gate succeeded without GitHub'),
          (e: unknown) => e,
        ),
    );
    assert.ok(err instanceof WorkflowFailedError);
    const cause = err.cause?.cause;
    assert.ok(cause instanceof ApplicationFailure, String(cause));
    assert.equal(cause.type, 'GitHubNotConfigured');
    assert.match(cause.message, /GITHUB_TOKEN/);
    assert.equal(listed, 1);
  });

  it('the re-check with the real activity turns a green pull request red once main moved past it', async () => {
    const open: PullRequestRef[] = [
      { number: 3, headRef: 'ana/HW-20', headSha: 'd'.repeat(40), baseRef: 'main' },
    ];
    let mainMoved = false;
    const posted: CommitStatus[] = [];
    const activities = createPrGateActivities({
      repository: () => undefined,
      uiUrl: 'http://ui.example',
      pullRequestPorts: async (repository) => {
        assert.equal(repository, 'acme/shop');
        return {
          pullRequests: {
            listOpen: async (base) => open.filter((p) => p.baseRef === base),
            commits: async () => [],
            compare: async (_base, head): Promise<Comparison> => ({
              status: mainMoved ? 'diverged' : 'ahead',
              baseSha: mainMoved ? 'e'.repeat(40) : MAIN,
              commits: [{ sha: head, message: 'fix(HW-20): trim input', parents: [MAIN] }],
            }),
          },
          statuses: { post: async (s) => void posted.push(s) },
        };
      },
    });
    const { worker, taskQueue } = await workerWith(activities);
    const run = async (commit: string) => {
      const workflowId = `pr-recheck:acme/shop:${commit}`;
      const handle = await env.client.workflow.start(recheckOpenPullRequestsWorkflow, {
        taskQueue,
        workflowId,
        args: [{ repository: 'acme/shop', base: 'main', commit }],
      });
      const results = await handle.result();
      return { results, status: await handle.query(recheckStatusQuery), workflowId };
    };

    let second!: Awaited<ReturnType<typeof run>>;
    await worker.runUntil(async () => {
      const first = await run(unique('main-1'));
      assert.deepEqual(
        first.results.map((r) => [r.number, r.status.state]),
        [[3, 'success']],
      );
      mainMoved = true;
      second = await run(unique('main-2'));
    });
    assert.deepEqual(
      second.results.map((r) => [r.number, r.status.state, r.verdict.violations.map((v) => v.rule)]),
      [[3, 'failure', ['rebased']]],
    );
    assert.equal(second.status.state, 'done');
    assert.deepEqual(second.status.results, second.results);
    assert.deepEqual(
      posted.map((s) => [s.sha, s.state]),
      [
        ['d'.repeat(40), 'success'],
        ['d'.repeat(40), 'failure'],
      ],
    );
    // "Details" opens the workflow that set the status.
    assert.equal(
      posted[1]!.targetUrl,
      `http://ui.example/namespaces/default/workflows/${encodeURIComponent(second.workflowId)}`,
    );
  });
});
