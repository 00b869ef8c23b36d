import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkPullRequest, statusDescription, type PullRequestFacts } from '../../src/domain/pr-policy';

const sha = (n: number) => String(n).repeat(40).slice(0, 40);
const facts = (over: Partial<PullRequestFacts> = {}): PullRequestFacts => ({
  branch: 'nyefan/JIRA-1234',
  base: 'main',
  baseIsAncestor: true,
  commits: [
    { sha: sha(2), message: 'fix(JIRA-1234): handle empty input\n\nBody.', parents: [sha(1)] },
    { sha: sha(1), message: 'feat(JIRA-1234): add the thing', parents: [sha(0)] },
  ],
  ...over,
});

describe('pull request policy', () => {
  it('a rebased branch with ticket-scoped commits passes', () => {
    const verdict = checkPullRequest(facts());
    assert.deepEqual(verdict, { ok: true, ticket: 'JIRA-1234', violations: [] });
    assert.match(statusDescription(verdict), /policy OK/);
  });

  const hotfix = (over: Partial<PullRequestFacts> = {}) =>
    facts({
      branch: 'HOT-3',
      baseIsAncestor: false,
      commits: [{ sha: sha(5), message: 'fix(HOT-3): stop the crash', parents: [sha(4)] }],
      ...over,
    });

  it('a HOT-<n> branch cut from a tag is not held to the rebase rule: a clean merge and HOT-<n> scopes pass', () => {
    const verdict = checkPullRequest(hotfix({ mergesCleanly: true }));
    assert.deepEqual(verdict, { ok: true, ticket: 'HOT-3', violations: [] });
    assert.equal(statusDescription(verdict), 'policy OK: hotfix HOT-3, commit headers and a clean merge');
  });

  it('a HOT-<n> branch that conflicts with the base, or whose merge is not known yet, fails merge-conflict', () => {
    const conflict = checkPullRequest(hotfix({ mergesCleanly: false }));
    assert.deepEqual(
      conflict.violations.map((v) => v.rule),
      ['merge-conflict'],
    );
    assert.match(conflict.violations[0]!.message, /HOT-3 does not merge cleanly into main/);
    const unknown = checkPullRequest(hotfix({ mergesCleanly: null }));
    assert.match(unknown.violations[0]!.message, /not known yet/);
  });

  it('a HOT-<n> branch keeps its scope and merge-commit rules', () => {
    const verdict = checkPullRequest(
      hotfix({
        mergesCleanly: true,
        commits: [
          { sha: sha(6), message: 'Merge main into HOT-3', parents: [sha(5), sha(1)] },
          { sha: sha(5), message: 'fix(JIRA-9): wrong scope', parents: [sha(4)] },
        ],
      }),
    );
    assert.deepEqual(
      verdict.violations.map((v) => v.rule),
      ['commit-scope', 'merge-commit'],
    );
  });

  const branchNames: [string, boolean][] = [
    ['nyefan/JIRA-1234', true],
    ['a.b-c_d/AB-1', true],
    ['JIRA-1234', false],
    ['nyefan/jira-1234', false],
    ['nyefan/JIRA-1234-extra', false],
    ['team/nyefan/JIRA-1234', false],
    ['feature/add-thing', false],
  ];
  for (const [branch, ok] of branchNames) {
    it(`branch ${branch} ${ok ? 'is' : 'is not'} uid/TICKET-ID`, () => {
      const verdict = checkPullRequest(facts({ branch, commits: [] }));
      assert.equal(
        verdict.violations.some((v) => v.rule === 'branch-name'),
        !ok,
      );
    });
  }

  it('reports every violation with its commit and rule, oldest commit first', () => {
    const verdict = checkPullRequest(
      facts({
        baseIsAncestor: false,
        commits: [
          { sha: sha(5), message: "Merge branch 'main' into nyefan/JIRA-1234", parents: [sha(4), sha(9)] },
          { sha: sha(4), message: 'feat!(JIRA-1234): wrong bang place', parents: [sha(3)] },
          { sha: sha(3), message: 'wip(JIRA-1234): something', parents: [sha(2)] },
          { sha: sha(2), message: 'fix(JIRA-99): other ticket', parents: [sha(1)] },
          { sha: sha(1), message: 'feat: no scope', parents: [sha(0)] },
        ],
      }),
    );
    assert.equal(verdict.ok, false);
    assert.deepEqual(
      verdict.violations.map((v) => [v.rule, v.sha?.slice(0, 1) ?? '-']),
      [
        ['rebased', '-'],
        ['commit-scope', '1'],
        ['commit-scope', '2'],
        ['commit-type', '3'],
        ['commit-header', '4'],
        ['merge-commit', '5'],
      ],
    );
    assert.match(verdict.violations[2]!.message, /scope `JIRA-99` is not the ticket JIRA-1234/);
    assert.match(statusDescription(verdict), /^rebased: .*\(\+5 more\)$/);
    assert.ok(statusDescription(verdict).length <= 140);
  });

  it('refuses `!` under angular, accepts it under conventionalcommits', () => {
    const commits = [{ sha: sha(1), message: 'feat(JIRA-1234)!: drop API', parents: [sha(0)] }];
    assert.equal(checkPullRequest(facts({ commits })).violations[0]?.rule, 'commit-header');
    const cc = checkPullRequest(facts({ commits }), {
      ticketPattern: '[A-Z][A-Z0-9]+-\\d+',
      allowedTypes: ['feat'],
      preset: 'conventionalcommits',
    });
    assert.equal(cc.ok, true);
  });

  it('the ticket pattern and the allowed types are configurable', () => {
    const verdict = checkPullRequest(
      facts({
        branch: 'me/gh-42',
        commits: [{ sha: sha(1), message: 'docs(gh-42): readme', parents: [sha(0)] }],
      }),
      { ticketPattern: 'gh-\\d+', allowedTypes: ['feat', 'fix'], preset: 'angular' },
    );
    assert.deepEqual(
      verdict.violations.map((v) => v.rule),
      ['commit-type'],
    );
  });

  it('a branch with no commits of its own is a violation', () => {
    assert.deepEqual(
      checkPullRequest(facts({ commits: [] })).violations.map((v) => v.rule),
      ['no-commits'],
    );
  });
});
