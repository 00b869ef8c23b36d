import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GitWiki } from '../../src/adapters/github/git-wiki';
import { DefinitiveFailure, FailureTypes } from '../../src/domain/failures';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
  });
}

describe('GitHub wiki as a git repository', () => {
  let root: string;
  let remote: string;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'rf-wiki-'));
    remote = path.join(root, 'app.wiki.git');
    git(root, 'init', '-q', '--bare', '-b', 'master', remote);
    // A wiki as GitHub creates it: one Home page on master.
    const seed = path.join(root, 'seed');
    git(root, 'clone', '-q', remote, seed);
    await writeFile(path.join(seed, 'Home.md'), '# Home\n');
    git(seed, 'add', '-A');
    git(seed, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'Initial Home page');
    git(seed, 'push', '-q', 'origin', 'HEAD:master');
  });
  after(() => rm(root, { recursive: true, force: true }));

  const wiki = (name: string) =>
    new GitWiki({
      remote,
      workDir: path.join(root, name),
      webUrl: 'https://github.com/acme/app/wiki',
      token: 'ghp_secret_never_shown',
    });

  it('pushes the page once per key, numbers ROLLBACK pages, and a second worker appends on top of the first', async () => {
    const first = wiki('worker-1');
    const request = {
      key: 'acme/app/v1.4.0/emergency',
      page: { id: 'HOT-5' },
      title: 'v1.4.0 outage',
      content: '# HOT-5: v1.4.0 outage\n\nWhat happened.\n',
    };
    assert.deepEqual(await first.publish(request), {
      id: 'HOT-5',
      url: 'https://github.com/acme/app/wiki/HOT-5',
      created: true,
    });
    assert.match(git(root, '--git-dir', remote, 'show', 'master:HOT-5.md'), /What happened\./);
    const commits = git(root, '--git-dir', remote, 'rev-list', '--count', 'master').trim();
    assert.deepEqual(await first.publish(request), {
      id: 'HOT-5',
      url: 'https://github.com/acme/app/wiki/HOT-5',
      created: false,
    });
    assert.equal(git(root, '--git-dir', remote, 'rev-list', '--count', 'master').trim(), commits);
    await assert.rejects(
      first.publish({ ...request, key: 'other' }),
      (err: unknown) => err instanceof DefinitiveFailure && err.type === FailureTypes.incidentIdTaken,
    );

    const rollback = await first.publish({
      key: 'acme/app/v1.5.0/rollback',
      page: { kind: 'ROLLBACK' },
      title: 'v1.5.0',
      content: (id) => `# ${id}: v1.5.0 rolled back\n`,
    });
    assert.equal(rollback.id, 'ROLLBACK-1');

    // Another worker with its own clone, then the first one again on a stale clone: both land.
    const second = wiki('worker-2');
    assert.deepEqual(await second.append({ id: 'HOT-5', key: 'timeline-a', markdown: '- v1.4.1 deployed' }), {
      added: true,
    });
    assert.deepEqual(await first.append({ id: 'HOT-5', key: 'timeline-b', markdown: '- v1.4.1 healthy' }), {
      added: true,
    });
    assert.deepEqual(await first.append({ id: 'HOT-5', key: 'timeline-a', markdown: '- v1.4.1 deployed' }), {
      added: false,
    });
    const page = git(root, '--git-dir', remote, 'show', 'master:HOT-5.md');
    assert.match(page, /- v1\.4\.1 deployed[\s\S]*- v1\.4\.1 healthy/);
    assert.equal((await second.read('HOT-5'))!.markdown, page);
    const files = git(root, '--git-dir', remote, 'ls-tree', '-r', '--name-only', 'master');
    assert.doesNotMatch(files, /\.lock|\.tmp/);
    assert.doesNotMatch(git(path.join(root, 'worker-1'), 'config', '--list'), /ghp_secret/);
  });
});
