/**
 * The pull requests of a local repository: ancestry from a real clone, open pull requests from
 * the gate's registry (closed when the branch is gone or merged).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { LocalGitRepository } from '../../src/adapters/local/git-repository';
import {
  LocalPullRequests,
  PullRequestRegistry,
  pullRequestRegistryPath,
} from '../../src/adapters/local/local-pull-requests';
import { GitFixture } from '../helpers/git-fixture';

describe('local pull requests', () => {
  const fixture = new GitFixture();
  after(() => fixture.remove());

  async function setUp() {
    const dir = fixture.repository();
    const base = fixture.commit(dir, 'chore: init');
    fixture.git(dir, 'checkout', '-q', '-b', 'nyefan/JIRA-1');
    const head = fixture.commit(dir, 'feat(JIRA-1): add a widget');
    fixture.git(dir, 'checkout', '-q', 'main');
    const registry = new PullRequestRegistry(
      pullRequestRegistryPath(path.join(fixture.root, `registry-${path.basename(dir)}`), 'acme/app'),
    );
    const pulls = new LocalPullRequests(await LocalGitRepository.open(dir), registry);
    return { dir, base, head, registry, pulls };
  }

  it('compares like GitHub: ahead with the commits the branch adds, then diverged once main moves', async () => {
    const { dir, base, head, pulls } = await setUp();
    const ahead = await pulls.compare('main', head);
    assert.equal(ahead.status, 'ahead');
    assert.equal(ahead.baseSha, base);
    assert.deepEqual(
      ahead.commits.map((c) => c.message),
      ['feat(JIRA-1): add a widget'],
    );
    const moved = fixture.commit(dir, 'fix(JIRA-2): elsewhere');
    const diverged = await pulls.compare('main', head);
    assert.equal(diverged.status, 'diverged');
    assert.equal(diverged.baseSha, moved);
    assert.equal((await pulls.compare('main', base)).status, 'behind');
    assert.equal((await pulls.compare('main', 'main')).status, 'identical');
  });

  it('test-merges a hotfix branch cut from a tag: a clean merge commit with both parents, null on a conflict', async () => {
    const dir = fixture.repository();
    writeFileSync(path.join(dir, 'app.txt'), 'one\n');
    fixture.git(dir, 'add', '.');
    fixture.git(dir, 'commit', '-q', '-m', 'feat(JIRA-1): app');
    fixture.git(dir, 'tag', 'v1.0.0');
    fixture.commit(dir, 'feat(JIRA-2): main moves on');
    fixture.git(dir, 'checkout', '-q', '-b', 'HOT-1', 'v1.0.0');
    writeFileSync(path.join(dir, 'fix.txt'), 'fixed\n');
    fixture.git(dir, 'add', '.');
    fixture.git(dir, 'commit', '-q', '-m', 'fix(HOT-1): the fix');
    const hot = fixture.git(dir, 'rev-parse', 'HEAD');
    fixture.git(dir, 'checkout', '-q', 'main');
    const pulls = new LocalPullRequests(
      await LocalGitRepository.open(dir),
      new PullRequestRegistry(pullRequestRegistryPath(path.join(fixture.root, 'registry-merge'), 'acme/app')),
    );
    const mainHead = fixture.git(dir, 'rev-parse', 'main');
    assert.equal((await pulls.compare('main', hot)).status, 'diverged');
    const clean = await pulls.mergeResult({ number: 1, base: mainHead, head: hot });
    assert.equal(clean.clean, true);
    assert.deepEqual(fixture.git(dir, 'rev-list', '--parents', '-n', '1', clean.sha!).split(' ').slice(1), [
      mainHead,
      hot,
    ]);
    assert.equal(
      (await pulls.mergeResult({ number: 1, base: mainHead, head: hot })).sha,
      clean.sha,
      'the same merge again is the same commit',
    );
    assert.equal(fixture.git(dir, 'rev-parse', 'main'), mainHead, 'no ref moved');
    // main changes the line the hotfix changes: no clean merge.
    writeFileSync(path.join(dir, 'fix.txt'), 'main wrote this\n');
    fixture.git(dir, 'add', '.');
    fixture.git(dir, 'commit', '-q', '-m', 'fix(JIRA-3): conflicting');
    const conflicted = await pulls.mergeResult({ number: 1, base: 'main', head: hot });
    assert.deepEqual(conflicted, { clean: false });
  });

  it('numbers branches once and lists the open ones at their current heads', async () => {
    const { dir, head, registry, pulls } = await setUp();
    const reserve = (headRef: string) => registry.reserve({ headRef, headSha: head, baseRef: 'main' });
    assert.equal(await reserve('nyefan/JIRA-1'), 1);
    assert.equal(await reserve('nyefan/JIRA-1'), 1, 'the same branch keeps its number');
    // Starts at the same moment never share a number (the registry is updated under its lock).
    const many = await Promise.all(['a/J-2', 'b/J-3', 'c/J-4', 'd/J-5'].map(reserve));
    assert.deepEqual([...many].sort(), [2, 3, 4, 5]);
    // Branches that are not in the clone are not open pull requests.

    fixture.git(dir, 'checkout', '-q', 'nyefan/JIRA-1');
    const newer = fixture.commit(dir, 'fix(JIRA-1): tidy');
    fixture.git(dir, 'checkout', '-q', 'main');
    assert.deepEqual(await pulls.listOpen('main'), [
      { number: 1, headRef: 'nyefan/JIRA-1', headSha: newer, baseRef: 'main' },
    ]);
    assert.deepEqual(await pulls.listOpen('release'), [], 'only pull requests into that base');
    assert.deepEqual(
      (await pulls.commits(1)).map((c) => c.sha),
      [newer, head],
    );
  });

  it('drops a pull request once it is merged or its branch is deleted', async () => {
    const { dir, head, registry, pulls } = await setUp();
    await registry.remember({ number: 1, headRef: 'nyefan/JIRA-1', headSha: head, baseRef: 'main' });
    fixture.git(dir, 'merge', '-q', '--no-ff', '-m', 'Merge nyefan/JIRA-1', 'nyefan/JIRA-1');
    assert.deepEqual(await pulls.listOpen('main'), [], 'merged');

    fixture.git(dir, 'checkout', '-q', '-b', 'nyefan/JIRA-3');
    const other = fixture.commit(dir, 'feat(JIRA-3): more');
    fixture.git(dir, 'checkout', '-q', 'main');
    await registry.remember({ number: 2, headRef: 'nyefan/JIRA-3', headSha: other, baseRef: 'main' });
    assert.equal((await pulls.listOpen('main')).length, 1);
    fixture.git(dir, 'branch', '-q', '-D', 'nyefan/JIRA-3');
    assert.deepEqual(await pulls.listOpen('main'), [], 'deleted');
  });
});
