import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorktreeCommandRunner } from '../../src/adapters/local/worktree-command-runner';
import { DefinitiveFailure, FailureTypes } from '../../src/domain/failures';
import type { CommandFailureDetails } from '../../src/ports/command-runner';
import { git } from '../helpers/git-fixture';

// A killed process whose parent died waits as a zombie until init reaps it; that is not alive.
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return !/^\d+ \(.*\) Z/.test(stat);
}

describe('worktree command runner', () => {
  let root: string;
  let repo: string;
  let first: string;
  let second: string;
  let runner: WorktreeCommandRunner;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'rf-runner-'));
    repo = path.join(root, 'repo');
    execFileSync('git', ['init', '-q', '-b', 'main', repo]);
    await writeFile(path.join(repo, 'version.txt'), 'one\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'feat: one');
    first = git(repo, 'rev-parse', 'HEAD');
    await writeFile(path.join(repo, 'version.txt'), 'two\n');
    git(repo, 'commit', '-q', '-am', 'feat: two');
    second = git(repo, 'rev-parse', 'HEAD');
    // An uncommitted change a clean checkout must not see.
    await writeFile(path.join(repo, 'version.txt'), 'dirty\n');
    runner = new WorktreeCommandRunner({
      repositoryPath: (name) => {
        assert.equal(name, 'acme/app');
        return repo;
      },
      workDir: path.join(root, 'work'),
      killGraceMs: 200,
    });
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('a hook a build step plants in the shared .git never runs on the next checkout', async () => {
    const marker = path.join(root, 'hook-ran');
    // The step writes a post-checkout hook into the clone's common git directory, as untrusted code could.
    const plant = [
      "const { execFileSync } = require('child_process');",
      "const fs = require('fs'); const path = require('path');",
      "const common = execFileSync('git', ['rev-parse', '--git-common-dir'], { encoding: 'utf8' }).trim();",
      "fs.mkdirSync(path.join(common, 'hooks'), { recursive: true });",
      "const hook = path.join(common, 'hooks', 'post-checkout');",
      'fs.writeFileSync(hook, "#!/bin/sh\\ntouch " + process.env.MARKER + "\\n"); fs.chmodSync(hook, 0o755);',
    ].join('\n');
    await runner.run({
      repository: 'acme/app',
      commit: first,
      purpose: 'unit-tests',
      scope: 'plant-hook',
      steps: [{ name: 'plant', argv: ['node', '-e', plant] }],
      env: { MARKER: marker },
      timeoutMs: 20_000,
    });
    const hook = path.join(repo, '.git', 'hooks', 'post-checkout');
    assert.ok(existsSync(hook), 'the step did plant the hook');
    try {
      await runner.run({
        repository: 'acme/app',
        commit: second,
        purpose: 'unit-tests',
        scope: 'after-hook',
        steps: [{ name: 'noop', argv: ['node', '-e', ''] }],
        timeoutMs: 20_000,
      });
      assert.equal(existsSync(marker), false, 'the planted hook ran during the next worktree add');
    } finally {
      await rm(hook, { force: true });
    }
  });

  it('builds in a clean worktree at the commit, without a shell, and keeps the declared output', async () => {
    process.env.RF_TEST_SECRET = 'do-not-leak';
    try {
      const result = await runner.run({
        repository: 'acme/app',
        commit: first.slice(0, 10),
        purpose: 'build',
        steps: [
          { name: 'package', argv: ['sh', '-c', 'mkdir -p dist && cat version.txt > dist/out.txt'] },
          // An argument is one argument: no shell ever sees "; touch pwned".
          { name: 'echo', argv: ['node', '-e', 'console.log(process.argv[1])', '$(id); touch pwned'] },
          {
            name: 'env',
            argv: [
              'node',
              '-e',
              'console.log("untrusted=" + process.env.UNTRUSTED + " secret=" + process.env.RF_TEST_SECRET)',
            ],
          },
        ],
        env: { UNTRUSTED: 'x"; rm -rf /' },
        timeoutMs: 20_000,
        collect: ['dist/out.txt'],
      });
      assert.equal(result.reused, false);
      assert.deepEqual(
        result.steps.map((s) => s.name),
        ['package', 'echo', 'env'],
      );
      assert.equal(result.outputs.length, 1);
      assert.equal(await readFile(result.outputs[0]!.path, 'utf8'), 'one\n');
      const log = await readFile(result.log, 'utf8');
      assert.match(log, /\$\(id\); touch pwned/);
      assert.match(log, /untrusted=x"; rm -rf \/ secret=undefined/);
      assert.equal(existsSync(path.join(repo, 'pwned')), false);
      // The worktree is gone from disk and from git's list.
      assert.equal(
        git(repo, 'worktree', 'list', '--porcelain')
          .split('\n')
          .filter((l) => l.startsWith('worktree ')).length,
        1,
      );
    } finally {
      delete process.env.RF_TEST_SECRET;
    }
  });

  it('a retry of a passed run returns the earlier result instead of running again', async () => {
    const counter = path.join(root, 'counter');
    const request = {
      repository: 'acme/app',
      commit: second,
      purpose: 'unit-tests' as const,
      steps: [{ name: 'count', argv: ['sh', '-c', 'echo run >> "$COUNTER"'] }],
      env: { COUNTER: counter },
      timeoutMs: 10_000,
    };
    const firstRun = await runner.run(request);
    const again = await runner.run(request);
    assert.equal(again.reused, true);
    assert.equal(again.key, firstRun.key);
    assert.equal(await readFile(counter, 'utf8'), 'run\n');
    const forced = await runner.run({ ...request, reusePassed: false });
    assert.equal(forced.reused, false);
    assert.equal(await readFile(counter, 'utf8'), 'run\nrun\n');
  });

  it('a failing step is a definitive TestsFailed quoting the tail of its log', async () => {
    const failure = await runner
      .run({
        repository: 'acme/app',
        commit: second,
        purpose: 'integration-tests',
        scope: 'dev@v1.0.0',
        steps: [
          { name: 'ok', argv: ['true'] },
          {
            name: 'suite',
            argv: ['sh', '-c', 'for i in $(seq 1 100); do echo line-$i; done; echo boom >&2; exit 3'],
          },
          { name: 'never', argv: ['sh', '-c', 'echo should-not-run'] },
        ],
        timeoutMs: 10_000,
      })
      .then(
        () => assert.fail('expected a failure'),
        (err: unknown) => err,
      );
    assert.ok(failure instanceof DefinitiveFailure);
    assert.equal(failure.type, FailureTypes.testsFailed);
    const details = failure.details as unknown as CommandFailureDetails;
    assert.equal(details.step, 'suite');
    assert.equal(details.exitCode, 3);
    assert.equal(details.timedOut, false);
    assert.match(details.tail, /line-100\nboom$/);
    assert.doesNotMatch(details.tail, /line-1\n/);
    assert.match(failure.message, /failed at "suite" \(exit 3\)/);
    assert.match(failure.message, /boom/);
    const log = await readFile(details.log, 'utf8');
    assert.match(log, /line-1\n/);
    assert.doesNotMatch(log, /should-not-run/);
  });

  it('a step over its time is killed with its whole process group', async () => {
    const pidFile = path.join(root, 'grandchild.pid');
    const started = Date.now();
    const failure = await runner
      .run({
        repository: 'acme/app',
        commit: second,
        purpose: 'build',
        steps: [{ name: 'hang', argv: ['sh', '-c', 'sleep 30 & echo $! > "$PID_FILE"; wait'] }],
        env: { PID_FILE: pidFile },
        timeoutMs: 600,
      })
      .then(
        () => assert.fail('expected a timeout'),
        (err: unknown) => err,
      );
    assert.ok(Date.now() - started < 10_000);
    assert.ok(failure instanceof DefinitiveFailure);
    assert.equal(failure.type, FailureTypes.buildFailed);
    assert.equal(failure.details.timedOut, true);
    assert.match(failure.message, /timed out after 600 ms/);
    const grandchild = Number((await readFile(pidFile, 'utf8')).trim());
    assert.equal(alive(grandchild), false);
  });

  it('a missing declared output fails the build', async () => {
    await assert.rejects(
      runner.run({
        repository: 'acme/app',
        commit: second,
        purpose: 'build',
        scope: 'no-output',
        steps: [{ name: 'nothing', argv: ['true'] }],
        timeoutMs: 10_000,
        collect: ['dist/app.tgz'],
      }),
      (err: unknown) =>
        err instanceof DefinitiveFailure &&
        err.type === FailureTypes.buildFailed &&
        /did not produce/.test(err.message),
    );
  });

  it('an unknown commit or a command that does not exist is refused definitively', async () => {
    await assert.rejects(
      runner.run({
        repository: 'acme/app',
        commit: 'deadbeef',
        purpose: 'build',
        steps: [],
        timeoutMs: 1000,
      }),
      (err: unknown) => err instanceof DefinitiveFailure && err.type === FailureTypes.unknownCommit,
    );
    await assert.rejects(
      runner.run({
        repository: 'acme/app',
        commit: second,
        purpose: 'build',
        scope: 'missing-tool',
        steps: [{ name: 'tool', argv: ['release-flow-no-such-tool'] }],
        timeoutMs: 5000,
      }),
      (err: unknown) => err instanceof DefinitiveFailure && /could not start/.test(err.message),
    );
  });
});

describe('worktree command runner: a commit that is not in the clone yet', () => {
  let root: string;
  let upstream: string;
  let clone: string;
  let runner: WorktreeCommandRunner;

  const commitIn = async (repo: string, file: string, message: string): Promise<string> => {
    await writeFile(path.join(repo, file), `${message}\n`);
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', message);
    return git(repo, 'rev-parse', 'HEAD');
  };
  const readsFile = (commit: string, file: string, fetch?: string[]) =>
    runner.run({
      repository: 'acme/app',
      commit,
      purpose: 'unit-tests',
      steps: [{ name: 'read', argv: ['cat', file] }],
      timeoutMs: 10_000,
      ...(fetch ? { fetch } : {}),
    });

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'rf-runner-fetch-'));
    upstream = path.join(root, 'upstream');
    clone = path.join(root, 'clone');
    execFileSync('git', ['init', '-q', '-b', 'main', upstream]);
    await commitIn(upstream, 'a.txt', 'feat: one');
    execFileSync('git', ['clone', '-q', upstream, clone]);
    runner = new WorktreeCommandRunner({ repositoryPath: () => clone, workDir: path.join(root, 'work') });
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('fetches a commit pushed after the clone was made from origin by its id, then runs at it', async () => {
    const pushed = await commitIn(upstream, 'b.txt', 'feat: two');
    assert.throws(() => git(clone, 'cat-file', '-e', pushed));
    const result = await readsFile(pushed, 'b.txt');
    assert.match(await readFile(result.log, 'utf8'), /feat: two/);
    // Fetched objects only: no branch, tag or FETCH_HEAD of the clone changed.
    assert.equal(git(clone, 'rev-parse', 'origin/main'), git(clone, 'rev-parse', 'main'));
    assert.equal(existsSync(path.join(clone, '.git', 'FETCH_HEAD')), false);
  });

  it('an old pull request head the server will not hand out by id is fetched through the named ref', async () => {
    // Protocol v0 refuses ids that are not a ref's tip, as a server without
    // allowReachableSHA1InWant does; the PR moved on, so its old head is behind the ref.
    git(clone, 'config', 'protocol.version', '0');
    git(upstream, 'checkout', '-q', '--detach', 'main');
    const head = await commitIn(upstream, 'c.txt', 'feat(PR-7): first push');
    await commitIn(upstream, 'd.txt', 'feat(PR-7): second push');
    git(upstream, 'update-ref', 'refs/pull/7/head', 'HEAD');
    git(upstream, 'checkout', '-q', 'main');

    const refused = await readsFile(head, 'c.txt').then(
      () => assert.fail('the head was found without its ref'),
      (err: unknown) => err,
    );
    assert.ok(refused instanceof DefinitiveFailure);
    assert.equal(refused.type, FailureTypes.unknownCommit);
    assert.match(refused.message, new RegExp(`tried git fetch origin ${head}: .*unadvertised`));

    const result = await readsFile(head, 'c.txt', ['refs/pull/7/head']);
    assert.match(await readFile(result.log, 'utf8'), /first push/);
    assert.doesNotMatch(await readFile(result.log, 'utf8'), /second push/);
  });

  it('a fetch request that is not a plain ref is refused before git sees it', async () => {
    for (const ref of [
      'refs/pull/7/head:refs/heads/main',
      '--upload-pack=touch pwned',
      'refs/../x',
      'main',
    ]) {
      await assert.rejects(
        readsFile('f'.repeat(40), 'a.txt', [ref]),
        (err: unknown) => err instanceof DefinitiveFailure && err.type === FailureTypes.invalidReference,
        ref,
      );
    }
    assert.equal(existsSync(path.join(clone, 'pwned')), false);
  });

  it('without an origin to fetch from, the unknown commit names the fetch that failed', async () => {
    const lonely = path.join(root, 'lonely');
    execFileSync('git', ['init', '-q', '-b', 'main', lonely]);
    await commitIn(lonely, 'a.txt', 'feat: alone');
    const alone = new WorktreeCommandRunner({
      repositoryPath: () => lonely,
      workDir: path.join(root, 'work'),
    });
    const missing = 'e'.repeat(40);
    await assert.rejects(
      alone.run({
        repository: 'acme/lonely',
        commit: missing,
        purpose: 'build',
        steps: [],
        timeoutMs: 5000,
        fetch: ['refs/pull/9/head'],
      }),
      (err: unknown) =>
        err instanceof DefinitiveFailure &&
        err.type === FailureTypes.unknownCommit &&
        err.message.includes(`git fetch origin ${missing}: fatal: 'origin' does not appear`) &&
        err.message.includes('git fetch origin refs/pull/9/head: fatal'),
    );
  });
});
