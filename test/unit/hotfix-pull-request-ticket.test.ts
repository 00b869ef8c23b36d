import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluatePullRequest } from '../../src/release/pull-request-gate';
import type { TrackedTicket } from '../../src/ports/ticket-tracker';
import type { PullRequests, PullRequestRef } from '../../src/ports/pull-requests';

const BASE = 'b'.repeat(40);
const HEAD = 'c'.repeat(40);
const MERGE = 'd'.repeat(40);

// GitHub's answers for one pull request, as its pulls API gives them (a SaaS, so a stand-in).
function pulls(branch: string): PullRequests {
  const scope = branch.includes('/') ? branch.split('/')[1] : branch;
  return {
    listOpen: () => Promise.resolve([]),
    commits: () => Promise.resolve([]),
    // A hotfix branch is cut from a release tag: main has moved on, so it is not rebased.
    compare: () =>
      Promise.resolve({
        status: branch.startsWith('HOT-') ? 'diverged' : 'ahead',
        baseSha: BASE,
        commits: [{ sha: HEAD, message: `fix(${scope}): keep checkout up`, parents: [BASE] }],
      }),
    mergeResult: () => Promise.resolve({ clean: true, sha: MERGE, fetch: ['refs/pull/7/merge'] }),
  };
}

function jiraAnswering(ticket: TrackedTicket) {
  return { tracker: 'Jira', lookup: () => Promise.resolve(ticket) };
}

const done = (key: string): TrackedTicket => ({
  key,
  url: `https://jira.example.com/browse/${key}`,
  summary: 'checkout down',
  status: 'Done',
  done: true,
});

describe('the PR gate with Jira: a hotfix pull request back into main', () => {
  it('passes with its HOT-<n> ticket done (the incident closed it as the pull request opened)', async () => {
    const pr: PullRequestRef = { number: 7, headRef: 'HOT-1', headSha: HEAD, baseRef: 'main' };
    const result = await evaluatePullRequest(pulls('HOT-1'), pr, { ticket: jiraAnswering(done('HOT-1')) });
    assert.deepEqual(result.verdict.violations, []);
    assert.equal(result.status.state, 'success');
    assert.equal(result.status.description, 'policy OK: HOT-1 Done, commit headers and a clean merge');
  });

  it('a developer branch whose ticket is done is still refused', async () => {
    const pr: PullRequestRef = { number: 8, headRef: 'ana/SHOP-9', headSha: HEAD, baseRef: 'main' };
    const result = await evaluatePullRequest(pulls('ana/SHOP-9'), pr, {
      ticket: jiraAnswering(done('SHOP-9')),
    });
    assert.equal(result.status.state, 'failure');
    assert.equal(result.verdict.violations[0]?.rule, 'ticket');
  });
});
