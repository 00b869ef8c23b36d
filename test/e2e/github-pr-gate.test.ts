import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import webhookExamples from '@octokit/webhooks-examples';
import { createGitHubClient, type GitHubClient } from '../../src/adapters/github/client';
import { GitHubCommitStatuses } from '../../src/adapters/github/github-commit-statuses';
import { GitHubPullRequests } from '../../src/adapters/github/github-pull-requests';
import { pullRequestOfEvent } from '../../src/http/webhooks/pull-request-event';
import { gatePullRequest, recheckOpenPullRequests } from '../../src/release/pull-request-gate';
import { PrRules } from '../../src/domain/pr-policy';
import { workflowUrl } from '../../src/common/ui-links';
import { FakeGitHub } from '../helpers/fake-github';

type Payload = Record<string, unknown> & {
  action: string;
  pull_request: { number: number; head: { ref: string; sha: string }; base: { ref: string } };
};

function example(action: string): Payload {
  const definition = webhookExamples.find((d) => d.name === 'pull_request')!;
  const found = definition.examples.find((e) => (e as { action: string }).action === action);
  return structuredClone(found) as unknown as Payload;
}

describe('pull-request gate on GitHub', () => {
  const fake = new FakeGitHub();
  let github: GitHubClient;
  // The example payloads come from Codertocat/Hello-World, whose base branch is `master`.
  const repo = fake.repo('Codertocat', 'Hello-World');
  const opened = example('opened');
  const targetUrl = (pr: { number: number; headSha: string }) =>
    workflowUrl({
      uiUrl: 'http://127.0.0.1:8233',
      namespace: 'default',
      workflowId: `pr-gate/Codertocat/Hello-World/${pr.number}/${pr.headSha}`,
    });

  before(async () => {
    await fake.start();
    github = await createGitHubClient({ token: fake.token, baseUrl: fake.url, pace: false, waitScaleMs: 5 });
    repo.settings.default_branch = 'master';
    fake.commit(repo, 'feat(HW-1): hello world', { branch: 'master' });
  });
  after(() => fake.stop());

  it('ignores deliveries that change nothing the policy reads', () => {
    for (const action of ['closed', 'labeled', 'assigned'])
      assert.equal(pullRequestOfEvent(example(action)), null);
    assert.notEqual(pullRequestOfEvent(example('synchronize')), null);
  });

  it('turns a real `pull_request` opened payload into a red policy status naming the first violations', async () => {
    // The example's head commit, on the example's branch `changes`, with a message no policy accepts.
    fake.commit(repo, 'Update README.md', {
      sha: opened.pull_request.head.sha,
      parents: [repo.refs.get('heads/master')!.sha],
      branch: 'changes',
    });
    const gated = pullRequestOfEvent(opened)!;
    assert.deepEqual(gated, {
      repository: { owner: 'Codertocat', repo: 'Hello-World' },
      pullRequest: {
        number: 2,
        headRef: 'changes',
        headSha: opened.pull_request.head.sha,
        baseRef: 'master',
      },
    });
    const pulls = new GitHubPullRequests(github, gated.repository);
    const statuses = new GitHubCommitStatuses(github, gated.repository);
    const result = await gatePullRequest(pulls, statuses, gated.pullRequest, { targetUrl });

    assert.deepEqual(
      result.verdict.violations.map((v) => v.rule),
      [PrRules.branchName, PrRules.commitHeader],
    );
    const posted = fake.latestStatus(repo, opened.pull_request.head.sha, 'release-flow/policy')!;
    assert.equal(posted.state, 'failure');
    assert.equal(posted.description, result.status.description);
    assert.ok(posted.description!.length <= 140);
    assert.match(
      posted.description!,
      /^branch-name: branch `changes` is not named uid\/TICKET-ID.*\(\+1 more\)$/,
    );
    assert.equal(
      posted.target_url,
      `http://127.0.0.1:8233/namespaces/default/workflows/pr-gate%2FCodertocat%2FHello-World%2F2%2F${opened.pull_request.head.sha}`,
    );
  });

  it('sets a green status for a conforming branch, from the same payload with a conforming head', async () => {
    const head = fake.commit(repo, 'feat(HW-12): greet in French\n\nBonjour.', {
      branch: 'codertocat/HW-12',
      parents: [repo.refs.get('heads/master')!.sha],
    });
    const payload = example('synchronize');
    payload.pull_request.number = 3;
    payload.pull_request.head.ref = 'codertocat/HW-12';
    payload.pull_request.head.sha = head;
    const gated = pullRequestOfEvent(payload)!;
    const result = await gatePullRequest(
      new GitHubPullRequests(github, gated.repository),
      new GitHubCommitStatuses(github, gated.repository),
      gated.pullRequest,
    );
    assert.equal(result.verdict.ok, true);
    assert.deepEqual(fake.latestStatus(repo, head, 'release-flow/policy'), {
      sha: head,
      state: 'success',
      context: 'release-flow/policy',
      description: 'policy OK: branch name, commit headers and rebase',
      target_url: null,
    });
  });

  it('re-checks every open PR after a push to main: a green PR goes red when no longer rebased, green again once rebased', async () => {
    const base = repo.refs.get('heads/master')!.sha;
    const a = fake.commit(repo, 'fix(HW-20): trim input', { parents: [base], branch: 'ana/HW-20' });
    const b = fake.commit(repo, 'docs(HW-21): explain greeting', { parents: [base], branch: 'bo/HW-21' });
    fake.openPull(repo, { headRef: 'ana/HW-20', baseRef: 'master' });
    fake.openPull(repo, { headRef: 'bo/HW-21', baseRef: 'master' });
    fake.openPull(repo, { headRef: 'changes', baseRef: 'release' });
    const pulls = new GitHubPullRequests(github, { owner: 'Codertocat', repo: 'Hello-World' });
    const statuses = new GitHubCommitStatuses(github, { owner: 'Codertocat', repo: 'Hello-World' });

    const before = await recheckOpenPullRequests(pulls, statuses, 'master');
    assert.deepEqual(
      before.map((r) => [r.pullRequest.headRef, r.status.state]),
      [
        ['ana/HW-20', 'success'],
        ['bo/HW-21', 'success'],
      ],
    );

    // Someone merges to master: both branches are now behind.
    const moved = fake.commit(repo, 'feat(HW-30): merged elsewhere', { branch: 'master' });
    const after = await recheckOpenPullRequests(pulls, statuses, 'master');
    assert.deepEqual(
      after.map((r) => [r.pullRequest.headRef, r.status.state, r.baseSha]),
      [
        ['ana/HW-20', 'failure', moved],
        ['bo/HW-21', 'failure', moved],
      ],
    );
    assert.equal(fake.latestStatus(repo, a, 'release-flow/policy')!.state, 'failure');
    assert.match(
      fake.latestStatus(repo, b, 'release-flow/policy')!.description!,
      /^rebased: branch is not rebased on the current master/,
    );

    // Ana rebases: her PR's head moves onto the new master.
    const rebased = fake.commit(repo, 'fix(HW-20): trim input', { parents: [moved], branch: 'ana/HW-20' });
    repo.pulls.find((p) => p.headRef === 'ana/HW-20')!.headSha = rebased;
    const later = await recheckOpenPullRequests(pulls, statuses, 'master');
    assert.deepEqual(
      later.map((r) => [r.pullRequest.headRef, r.status.state]),
      [
        ['ana/HW-20', 'success'],
        ['bo/HW-21', 'failure'],
      ],
    );
    assert.equal(fake.latestStatus(repo, rebased, 'release-flow/policy')!.state, 'success');
  });

  it('reports a merge commit on a branch that merged master in instead of rebasing', async () => {
    const pulls = new GitHubPullRequests(github, { owner: 'Codertocat', repo: 'Hello-World' });
    const statuses = new GitHubCommitStatuses(github, { owner: 'Codertocat', repo: 'Hello-World' });
    const pull = repo.pulls.find((p) => p.headRef === 'bo/HW-21')!;
    const master = repo.refs.get('heads/master')!.sha;
    const merge = fake.commit(repo, "Merge branch 'master' into bo/HW-21", {
      parents: [pull.headSha, master],
      branch: 'bo/HW-21',
    });
    pull.headSha = merge;
    const commits = await pulls.commits(pull.number);
    assert.deepEqual(
      commits.map((c) => [c.message, c.parents.length]),
      [
        ["Merge branch 'master' into bo/HW-21", 2],
        ['docs(HW-21): explain greeting', 1],
      ],
    );
    const result = await gatePullRequest(pulls, statuses, {
      number: pull.number,
      headRef: pull.headRef,
      headSha: pull.headSha,
      baseRef: pull.baseRef,
    });
    assert.deepEqual(
      result.verdict.violations.map((v) => [v.rule, v.sha]),
      [[PrRules.mergeCommit, merge]],
    );
    assert.equal(fake.latestStatus(repo, merge, 'release-flow/policy')!.state, 'failure');
  });
});
