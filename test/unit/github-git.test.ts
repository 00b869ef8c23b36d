import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { GitHubGit } from '../../src/adapters/github/github-git';
import { LocalGitRepository } from '../../src/adapters/local/git-repository';
import { DEFAULT_RELEASE_TAG_FORMAT } from '../../src/domain/release-tags';
import type { GitPort } from '../../src/ports/git';
import type { GitRefs } from '../../src/ports/git-refs';
import { git } from '../helpers/git-fixture';

function commit(dir: string, message: string): string {
  writeFileSync(path.join(dir, 'file'), `${message}\n`);
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

const rule = { pattern: '^v\\d+\\.\\d+\\.\\d+$', format: DEFAULT_RELEASE_TAG_FORMAT };

/** GitHub's refs, as far as these tests need them: every tag asked for is made. */
function recordingRefs(made: string[]): GitRefs {
  return {
    async createTag(request) {
      made.push(`${request.tag}@${request.commit}`);
      return { created: true };
    },
    async createBranchFromTag() {
      throw new Error('not used');
    },
  };
}

const noRemoteHistory = new Proxy({} as GitPort, {
  get: () => () => Promise.reject(new Error('GitHub history must not be read when there is a clone')),
});

describe('the git port of a GitHub repository with a local clone', () => {
  it('fetches tags made elsewhere before answering, so the last release is the remote one', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'rf-github-git-'));
    const origin = path.join(root, 'origin.git');
    git(root, 'init', '-q', '--bare', '-b', 'main', origin);
    const elsewhere = path.join(root, 'elsewhere');
    git(root, 'clone', '-q', origin, elsewhere);
    const first = commit(elsewhere, 'feat(APP-1): first');
    git(elsewhere, 'push', '-q', 'origin', 'HEAD:main');
    const clone = path.join(root, 'clone');
    git(root, 'clone', '-q', origin, clone);
    // After the worker's clone was made: a release tag and a new commit, pushed by someone else.
    git(elsewhere, 'tag', 'v1.0.0', first);
    const second = commit(elsewhere, 'fix(APP-2): second');
    git(elsewhere, 'push', '-q', '--tags', 'origin', 'HEAD:main');

    const warnings: string[] = [];
    const port = new GitHubGit({
      refs: recordingRefs([]),
      remoteHistory: noRemoteHistory,
      clone: await LocalGitRepository.open(clone),
      warn: (m) => warnings.push(m),
    });
    assert.equal(await port.resolveCommit(second), second, 'the new commit arrived with the fetch');
    assert.deepEqual(await port.lastReleaseTag(second, rule), {
      name: 'v1.0.0',
      version: '1.0.0',
      commit: first,
    });
    assert.deepEqual(warnings, []);
  });

  it('makes a tag on GitHub and in the clone, so the next version counts it without a fetch', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'rf-github-git-'));
    const dir = path.join(root, 'app');
    git(root, 'init', '-q', '-b', 'main', dir);
    const sha = commit(dir, 'feat(APP-1): first');
    const made: string[] = [];
    const warnings: string[] = [];
    const port = new GitHubGit({
      refs: recordingRefs(made),
      remoteHistory: noRemoteHistory,
      clone: await LocalGitRepository.open(dir),
      warn: (m) => warnings.push(m),
    });
    assert.deepEqual(await port.createTag({ tag: 'v1.0.0', commit: sha }), { created: true });
    assert.deepEqual(made, [`v1.0.0@${sha}`]);
    assert.equal(git(dir, 'rev-parse', 'v1.0.0^{commit}'), sha);
    assert.equal((await port.lastReleaseTag(sha, rule))?.name, 'v1.0.0');
    assert.deepEqual(warnings, [], 'a clone without origin is its own source: nothing to warn about');
  });

  it('an origin it cannot reach is reported and the clone still answers', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'rf-github-git-'));
    const dir = path.join(root, 'app');
    git(root, 'init', '-q', '-b', 'main', dir);
    const sha = commit(dir, 'feat(APP-1): first');
    git(dir, 'remote', 'add', 'origin', path.join(root, 'gone.git'));
    const warnings: string[] = [];
    const port = new GitHubGit({
      refs: recordingRefs([]),
      remoteHistory: noRemoteHistory,
      clone: await LocalGitRepository.open(dir),
      warn: (m) => warnings.push(m),
    });
    assert.equal(await port.resolveCommit('HEAD'), sha);
    assert.equal(await port.lastReleaseTag(sha, rule), null);
    assert.equal(warnings.length, 1, 'one fetch per port, one warning');
    assert.match(warnings[0]!, /read without fetching first: git fetch origin failed/);
  });

  it('without a clone, history comes from GitHub', async () => {
    const asked: string[] = [];
    const remote = {
      resolveCommit: async (revision: string) => {
        asked.push(revision);
        return 'ef'.repeat(20);
      },
    } as unknown as GitPort;
    const port = new GitHubGit({ refs: recordingRefs([]), remoteHistory: remote });
    assert.equal(await port.resolveCommit('main'), 'ef'.repeat(20));
    assert.deepEqual(asked, ['main']);
  });
});
