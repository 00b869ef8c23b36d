import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { decideNextVersion } from '../../src/domain/next-version';
import { analyzeCommits, type ParseCommitMessage } from '../../src/domain/commit-analysis';
import { loadCommitParser } from '../../src/adapters/conventional-commits/commit-parser';

let angular: ParseCommitMessage;
let conventional: ParseCommitMessage;
before(async () => {
  angular = await loadCommitParser('angular');
  conventional = await loadCommitParser('conventionalcommits');
});

const commits = (...messages: string[]) =>
  messages.map((message, i) => ({ sha: `${String(i).padStart(2, '0')}${'a'.repeat(38)}`, message }));

describe('next version', () => {
  const table: { last: string | null; messages: string[]; next: string | null; bump: string | null }[] = [
    { last: 'v1.2.3', messages: ['feat: a', 'fix: b'], next: 'v1.3.0', bump: 'minor' },
    { last: 'v1.2.3', messages: ['fix: b'], next: 'v1.2.4', bump: 'patch' },
    { last: 'v1.2.3', messages: ['perf: b'], next: 'v1.2.4', bump: 'patch' },
    { last: 'v1.2.3', messages: ['docs: a', 'fix: b\n\nBREAKING CHANGE: c'], next: 'v2.0.0', bump: 'major' },
    { last: 'v0.64.0', messages: ['feat: a'], next: 'v0.65.0', bump: 'minor' },
    { last: 'v0.64.0', messages: ['feat: a\n\nBREAKING CHANGE: b'], next: 'v1.0.0', bump: 'major' },
    { last: 'v1.2.3', messages: ['docs: a', 'chore: b', 'Merge branch x'], next: null, bump: null },
    { last: 'v1.2.3', messages: [], next: null, bump: null },
    // First release is 1.0.0 whatever the bump, as semantic-release does.
    { last: null, messages: ['fix: a'], next: 'v1.0.0', bump: 'patch' },
    { last: null, messages: ['feat: a\n\nBREAKING CHANGE: b'], next: 'v1.0.0', bump: 'major' },
    { last: null, messages: ['docs: a'], next: null, bump: null },
  ];
  for (const row of table) {
    it(`${row.last ?? '(no tag)'} + ${JSON.stringify(row.messages)} -> ${row.next ?? 'no release'}`, () => {
      const lastTag = row.last ? { name: row.last, version: row.last.slice(1) } : null;
      const result = decideNextVersion({ lastTag, commits: commits(...row.messages), parse: angular });
      assert.equal(result.next, row.next);
      assert.equal(result.bump, row.bump);
      assert.equal(result.lastTag, row.last);
    });
  }

  it('uses the tag format for the next tag', () => {
    const result = decideNextVersion({
      lastTag: { name: 'release/1.0.0', version: '1.0.0' },
      commits: commits('feat: a'),
      parse: angular,
      tagRule: { pattern: '^release/\\d+\\.\\d+\\.\\d+$', format: 'release/{version}' },
    });
    assert.equal(result.next, 'release/1.1.0');
  });

  it('`feat!:` is major only with the conventionalcommits preset', () => {
    const lastTag = { name: 'v0.64.0', version: '0.64.0' };
    const messages = commits('feat!: drop the old API', 'feat: a');
    assert.equal(
      decideNextVersion({ lastTag, commits: messages, parse: angular, preset: 'angular' }).next,
      'v0.65.0',
    );
    assert.equal(
      decideNextVersion({ lastTag, commits: messages, parse: conventional, preset: 'conventionalcommits' })
        .next,
      'v1.0.0',
    );
  });
});

describe('commit effects and reasons', () => {
  it('lists every commit with its effect, and ignored ones with the reason', () => {
    const { commits: effects } = analyzeCommits(
      commits('feat(JIRA-1): a', 'docs: b', 'not conventional', ''),
      angular,
    );
    assert.deepEqual(
      effects.map((e) => [e.header, e.effect]),
      [
        ['feat(JIRA-1): a', 'minor'],
        ['docs: b', 'none'],
        ['not conventional', 'none'],
        ['', 'none'],
      ],
    );
    assert.match(effects[0]!.reason, /type `feat`/);
    assert.match(effects[1]!.reason, /type `docs` does not trigger a release/);
    assert.match(effects[2]!.reason, /not `type\(scope\): subject`/);
    assert.match(effects[3]!.reason, /empty message/);
  });

  it('a revert and the commit it reverts cancel out, and say so', () => {
    const target = { sha: 'a'.repeat(40), message: 'feat: a' };
    const revert = { sha: 'b'.repeat(40), message: `Revert "feat: a"\n\nThis reverts commit ${target.sha}.` };
    const analysis = analyzeCommits([revert, target], angular);
    assert.equal(analysis.bump, null);
    assert.match(analysis.commits[0]!.reason, /reverts aaaaaaa/);
    assert.match(analysis.commits[1]!.reason, /reverted by bbbbbbb/);
  });

  it('a revert of a commit from an earlier release is a patch', () => {
    const revert = {
      sha: 'b'.repeat(40),
      message: `Revert "feat: a"\n\nThis reverts commit ${'c'.repeat(40)}.`,
    };
    assert.equal(analyzeCommits([revert], angular).bump, 'patch');
  });

  const warnings: { message: string; preset?: 'conventionalcommits'; warning: RegExp; effect: string }[] = [
    { message: 'feat!: drop API', warning: /angular preset does not read `!`/, effect: 'none' },
    { message: 'fix(api)!: drop API', warning: /angular preset does not read `!`/, effect: 'none' },
    {
      message: 'feat: a\n\nBREAKING-CHANGE: b',
      warning: /`BREAKING-CHANGE:` is not a breaking-change keyword/,
      effect: 'minor',
    },
    { message: 'feat: a\n\nBREAKING CHANGES: b', warning: /`BREAKING CHANGES:`/, effect: 'minor' },
    {
      message: 'feat: a\n\nBREAKING CHANGES: b',
      preset: 'conventionalcommits',
      warning: /`BREAKING CHANGES:` is not a breaking-change keyword of the conventionalcommits/,
      effect: 'minor',
    },
    { message: 'Feat: a', warning: /type `Feat` is not `feat`/, effect: 'none' },
    { message: 'feature: a', warning: /type `feature` is not `feat`/, effect: 'none' },
    { message: 'faet: a', warning: /type `faet` is not `feat`/, effect: 'none' },
    { message: 'fixup! fix: a', warning: /`fixup!` commit left unsquashed/, effect: 'none' },
    { message: 'feat:a', warning: /looks like a `feat` commit/, effect: 'none' },
    { message: '✨ feat: a', warning: /looks like a `feat` commit/, effect: 'none' },
  ];
  for (const row of warnings) {
    it(`warns about ${JSON.stringify(row.message)}${row.preset ? ` (${row.preset})` : ''}`, () => {
      const parse = row.preset ? conventional : angular;
      const [effect] = analyzeCommits(commits(row.message), parse, row.preset ?? 'angular').commits;
      assert.equal(effect!.effect, row.effect);
      assert.match(effect!.warning ?? '(no warning)', row.warning);
    });
  }

  for (const message of [
    'feat: a',
    'docs: a',
    'chore(deps): bump',
    'fix: a\n\nBREAKING CHANGE: b',
    'test: a',
  ]) {
    it(`does not warn about ${JSON.stringify(message)}`, () => {
      assert.equal(analyzeCommits(commits(message), angular).commits[0]!.warning, undefined);
    });
  }

  it('`feat!:` under conventionalcommits is major and draws no warning', () => {
    const [effect] = analyzeCommits(commits('feat!: a'), conventional, 'conventionalcommits').commits;
    assert.equal(effect!.effect, 'major');
    assert.equal(effect!.warning, undefined);
  });
});
