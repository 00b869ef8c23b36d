/**
 * GITHUB_TOKEN refused is definitive: a 401 or a permission 403 from (a faithful fake of) GitHub
 * names the permission, is asked once, and fails the activity non-retryably.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityExecuteInput } from '@temporalio/worker';
import { definitiveAccessInterceptor } from '../../src/activities/definitive';
import {
  GitHubAccessError,
  GitHubPermissions,
  permissionForRequest,
} from '../../src/adapters/github/access-errors';
import { createGitHubClient, type GitHubClient } from '../../src/adapters/github/client';
import { FakeGitHub } from '../helpers/fake-github';

function asActivity(work: () => Promise<unknown>): Promise<unknown> {
  const { inbound } = definitiveAccessInterceptor()({} as never);
  return inbound!.execute!({ args: [], headers: {} } as unknown as ActivityExecuteInput, work);
}

describe('GitHub refusing the token is definitive', () => {
  const fake = new FakeGitHub();
  let github: GitHubClient;
  const where = { owner: 'acme', repo: 'refused' };
  let sha: string;

  before(async () => {
    await fake.start();
    github = await createGitHubClient({ token: fake.token, baseUrl: fake.url, pace: false, waitScaleMs: 5 });
    const repo = fake.repo('acme', 'refused');
    sha = fake.commit(repo, 'feat(R-1): first', { branch: 'main' });
  });
  after(() => fake.stop());

  it('a 403 on a call made without withAccess names the permission, once, and fails the activity at once', async () => {
    const lift = fake.deny({ method: 'POST', path: /\/statuses\//, permission: 'statuses=write' });
    const before = fake.journal.length;
    try {
      const call = () =>
        github.rest.repos.createCommitStatus({
          ...where,
          sha,
          state: 'success',
          context: 'release-flow/main',
        });
      await assert.rejects(asActivity(call), (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.type, 'GitHubAccessDenied');
        assert.equal(err.nonRetryable, true);
        assert.match(
          err.message,
          /^GITHUB_PERMISSION: GitHub refused to POST .*statuses.*: the token needs commit statuses: write/,
        );
        assert.deepEqual(err.details, [{ status: 403, permission: 'commit statuses: write' }]);
        return true;
      });
      assert.equal(fake.journal.length - before, 1, 'asked once: no retry of a refused token');
    } finally {
      lift();
    }
  });

  it('a rejected token (401) is definitive too; other failures stay retryable', async () => {
    const wrong = await createGitHubClient({
      token: 'ghp_wrong_token',
      baseUrl: fake.url,
      pace: false,
      waitScaleMs: 5,
    });
    await assert.rejects(
      asActivity(() => wrong.rest.repos.get({ ...where })),
      (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.nonRetryable, true);
        assert.match(err.message, /^GITHUB_UNAUTHORIZED: GitHub rejected the token/);
        return true;
      },
    );
    const transient = new Error('socket hang up');
    await assert.rejects(
      asActivity(async () => {
        throw transient;
      }),
      (err) => err === transient,
    );
    const notFound = new GitHubAccessError(404, GitHubPermissions.contentsRead, 'nothing', 'fix');
    await assert.rejects(
      asActivity(async () => {
        throw notFound;
      }),
      (err) => err === notFound,
    );
  });

  it('names the permission a REST call needs from its method and path', () => {
    const cases: [string, string, string][] = [
      ['POST', '/repos/{owner}/{repo}/statuses/{sha}', 'commit statuses: write'],
      ['POST', '/repos/{owner}/{repo}/git/refs', 'contents: write'],
      ['GET', '/repos/{owner}/{repo}/commits/{ref}', 'contents: read'],
      ['POST', '/repos/{owner}/{repo}/issues', 'issues: write'],
      ['GET', '/repos/{owner}/{repo}/pulls', 'pull requests: read'],
      ['PUT', '/repos/{owner}/{repo}/branches/{branch}/protection', 'administration: write'],
      ['PATCH', '/repos/{owner}/{repo}', 'administration: write'],
    ];
    for (const [method, url, permission] of cases)
      assert.equal(permissionForRequest(method, url), permission, url);
  });
});
