import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GitHubAccessError } from '../../src/adapters/github/access-errors';
import { createGitHubClient, webUrlOf, type GitHubClient } from '../../src/adapters/github/client';
import { GitHubCommitStatuses } from '../../src/adapters/github/github-commit-statuses';
import { GitHubHistory } from '../../src/adapters/github/github-history';
import { GitHubRefs } from '../../src/adapters/github/github-refs';
import { defaultReleaseTagRule } from '../../src/domain/release-tags';
import { CommitStates, StatusContexts } from '../../src/ports/commit-statuses';
import { DefinitiveFailure, FailureTypes } from '../../src/domain/failures';
import { FakeGitHub, type FakeRepo } from '../helpers/fake-github';

function failsWith(type: string) {
  return (err: unknown) => err instanceof DefinitiveFailure && err.type === type;
}

describe('GitHub adapter: history, refs and statuses', () => {
  const fake = new FakeGitHub();
  let github: GitHubClient;
  let repo: FakeRepo;
  const where = { owner: 'acme', repo: 'app' };
  let c1: string, c2: string, c3: string, side: string;

  before(async () => {
    await fake.start();
    github = await createGitHubClient({ token: fake.token, baseUrl: fake.url, pace: false, waitScaleMs: 5 });
  });
  after(() => fake.stop());

  beforeEach(() => {
    repo = fake.repo(`acme-${Math.random().toString(36).slice(2, 8)}`, 'app');
    where.owner = repo.owner;
    c1 = fake.commit(repo, 'feat(APP-1): first', { branch: 'main' });
    fake.tag(repo, 'v1.0.0', c1, { annotated: true });
    c2 = fake.commit(repo, 'fix(APP-2): second\n\nbody\n', { branch: 'main' });
    fake.tag(repo, 'v1.0.1', c2);
    fake.tag(repo, 'nightly', c2);
    c3 = fake.commit(repo, 'feat(APP-3): third', { branch: 'main' });
    side = fake.commit(repo, 'feat(APP-9): elsewhere', { parents: [c1], branch: 'other' });
    fake.tag(repo, 'v2.0.0', side);
    fake.journal.length = 0;
  });

  it('finds the highest release tag reachable from a revision, ignoring unreachable and non-release tags', async () => {
    const history = new GitHubHistory(github, where);
    const last = await history.lastReleaseTag('main', defaultReleaseTagRule);
    assert.deepEqual(last, { name: 'v1.0.1', version: '1.0.1', commit: c2 });
    const onOther = await history.lastReleaseTag('other', defaultReleaseTagRule);
    assert.deepEqual(onOther, { name: 'v2.0.0', version: '2.0.0', commit: side });
  });

  it('lists commits since a tag newest first, following compare pages through the Link header', async () => {
    const history = new GitHubHistory(github, where);
    const shas = [c3];
    for (let i = 0; i < 230; i++)
      shas.push(fake.commit(repo, `fix(APP-${i}): step ${i}`, { branch: 'main' }));
    const commits = await history.commitsBetween(c2, 'main');
    assert.equal(commits.length, 231);
    assert.deepEqual(
      commits.map((c) => c.sha),
      [...shas].reverse(),
    );
    assert.deepEqual(commits.at(-1), { sha: c3, message: 'feat(APP-3): third', parents: [c2] });
    const pages = fake.requests('GET').filter((e) => e.path.includes('/compare/'));
    assert.deepEqual(
      pages.map((e) => e.query.page),
      ['1', '2', '3'],
    );
    const all = await history.commitsBetween(null, c2);
    assert.deepEqual(
      all.map((c) => [c.sha, c.message]),
      [
        [c2, 'fix(APP-2): second\n\nbody'],
        [c1, 'feat(APP-1): first'],
      ],
    );
  });

  it('answers ancestry and resolves revisions, refusing unknown ones definitively', async () => {
    const history = new GitHubHistory(github, where);
    assert.equal(await history.isAncestor(c1, c3), true);
    assert.equal(await history.isAncestor(c3, c3), true);
    assert.equal(await history.isAncestor(c3, c1), false);
    assert.equal(await history.isAncestor(side, c3), false);
    assert.equal(await history.resolveCommit('v1.0.0'), c1);
    assert.equal(await history.resolveCommit('main'), c3);
    await assert.rejects(history.resolveCommit('no-such-branch'), failsWith(FailureTypes.unknownCommit));
  });

  it('creates a release tag once: a retry finds it, another commit is a definitive TagConflict', async () => {
    const refs = new GitHubRefs(github, where);
    assert.deepEqual(await refs.createTag({ tag: 'v1.1.0', commit: c3 }), { created: true });
    assert.deepEqual(repo.refs.get('tags/v1.1.0'), { type: 'commit', sha: c3 });
    assert.deepEqual(await refs.createTag({ tag: 'v1.1.0', commit: c3 }), { created: false });
    // An annotated tag on the same commit is the same release.
    assert.deepEqual(await refs.createTag({ tag: 'v1.0.0', commit: c1 }), { created: false });
    await assert.rejects(refs.createTag({ tag: 'v1.1.0', commit: c2 }), (err: unknown) => {
      assert.ok(failsWith(FailureTypes.tagConflict)(err));
      assert.match((err as Error).message, /v1\.1\.0 .* already marks/);
      return true;
    });
    assert.equal(repo.refs.get('tags/v1.1.0')?.sha, c3);
    const creates = fake.requests('POST').filter((e) => e.path.endsWith('/git/refs'));
    assert.deepEqual(
      creates.map((e) => e.status),
      [201, 422, 422, 422],
    );
    assert.deepEqual(creates[0]!.body, { ref: 'refs/tags/v1.1.0', sha: c3 });
  });

  it('creates HOT-<n> off the commit of an annotated tag, idempotently, and refuses a name taken elsewhere', async () => {
    const refs = new GitHubRefs(github, where);
    assert.deepEqual(await refs.createBranchFromTag({ branch: 'HOT-1', tag: 'v1.0.0' }), {
      created: true,
      commit: c1,
    });
    assert.deepEqual(repo.refs.get('heads/HOT-1'), { type: 'commit', sha: c1 });
    fake.commit(repo, 'fix(HOT-1): the hotfix', { branch: 'HOT-1' });
    assert.deepEqual(await refs.createBranchFromTag({ branch: 'HOT-1', tag: 'v1.0.0' }), {
      created: false,
      commit: c1,
    });
    await assert.rejects(
      refs.createBranchFromTag({ branch: 'other', tag: 'v1.0.1' }),
      failsWith(FailureTypes.incidentIdTaken),
    );
    await assert.rejects(
      refs.createBranchFromTag({ branch: 'HOT-2', tag: 'v9.9.9' }),
      failsWith(FailureTypes.unknownCommit),
    );
  });

  it('posts statuses with state, context, Temporal UI link and a description cut to 140 characters', async () => {
    const statuses = new GitHubCommitStatuses(github, where);
    await statuses.post({
      sha: c3,
      context: StatusContexts.main,
      state: CommitStates.pending,
      description: 'building',
      targetUrl: 'http://127.0.0.1:8233/namespaces/default/workflows/main-acme-app-c3',
    });
    await statuses.post({
      sha: c3,
      context: StatusContexts.main,
      state: CommitStates.failure,
      description: 'x'.repeat(300),
    });
    const first = repo.statuses[0]!;
    assert.deepEqual(first, {
      sha: c3,
      state: 'pending',
      context: 'release-flow/main',
      description: 'building',
      target_url: 'http://127.0.0.1:8233/namespaces/default/workflows/main-acme-app-c3',
    });
    const latest = fake.latestStatus(repo, c3, 'release-flow/main')!;
    assert.equal(latest.state, 'failure');
    assert.equal(latest.description!.length, 140);
    assert.ok(latest.description!.endsWith('...'));
  });

  it('names the missing permission on 403 and 404 and never shows the token', async () => {
    fake.deny({ method: 'POST', path: /\/statuses\//, permission: 'statuses=write' });
    const statuses = new GitHubCommitStatuses(github, where);
    await assert.rejects(
      statuses.post({ sha: c3, context: 'release-flow/policy', state: 'success', description: 'ok' }),
      (err: unknown) => {
        assert.ok(err instanceof GitHubAccessError);
        assert.equal(err.status, 403);
        assert.match(err.message, /needs commit statuses: write \(GitHub accepts: statuses=write\)/);
        assert.doesNotMatch(err.render(), new RegExp(fake.token));
        return true;
      },
    );
    const missing = new GitHubRefs(github, { owner: 'nobody', repo: 'nothing' });
    await assert.rejects(missing.createTag({ tag: 'v1.0.0', commit: c1 }), (err: unknown) => {
      assert.ok(err instanceof GitHubAccessError);
      assert.equal(err.status, 404);
      assert.match(err.message, /needs contents: write/);
      return true;
    });
  });

  it('waits out primary and secondary rate limits and then succeeds', async () => {
    const history = new GitHubHistory(github, where);
    fake.rateLimitNext('secondary');
    fake.rateLimitNext('primary');
    assert.equal(await history.resolveCommit('main'), c3);
    assert.deepEqual(
      fake.journal.map((e) => e.status),
      [403, 403, 200],
    );
  });

  it('sends x-ratelimit headers the client reads, and rejects a wrong token with 401', async () => {
    const wrong = await createGitHubClient({
      token: 'ghp_wrong_token',
      baseUrl: fake.url,
      pace: false,
      waitScaleMs: 5,
    });
    await assert.rejects(new GitHubHistory(wrong, where).resolveCommit('main'), (err: unknown) => {
      assert.ok(err instanceof GitHubAccessError);
      assert.equal(err.code, 'GITHUB_UNAUTHORIZED');
      return true;
    });
    const response = await github.rest.repos.get({ ...where });
    assert.equal(response.headers['x-ratelimit-limit'], '5000');
    assert.match(String(response.headers['x-ratelimit-remaining']), /^\d+$/);
  });

  it('reaches GitHub Enterprise Server under /api/v3 and refuses to start without a token', async () => {
    const ghes = await createGitHubClient({ token: fake.token, baseUrl: `${fake.url}/api/v3/`, pace: false });
    assert.equal(await new GitHubHistory(ghes, where).resolveCommit('main'), c3);
    assert.equal(fake.journal.at(-1)!.rawPath, `/api/v3/repos/${where.owner}/app/commits/main`);
    assert.equal(webUrlOf('https://ghe.example.com/api/v3'), 'https://ghe.example.com');
    assert.equal(webUrlOf('https://api.github.com'), 'https://github.com');
    const saved = process.env.GITHUB_TOKEN;
    delete process.env.GITHUB_TOKEN;
    try {
      await assert.rejects(createGitHubClient({ baseUrl: fake.url }), /GITHUB_TOKEN is not set/);
    } finally {
      if (saved !== undefined) process.env.GITHUB_TOKEN = saved;
    }
  });
});
