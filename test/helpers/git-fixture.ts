/**
 * Real git repositories in temporary directories for tests: fixed identities and dates, no
 * user or system git config, so histories are the same on every machine.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

function run(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    // A failing command's stderr goes into the thrown error's message, not into the test output.
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      ...env,
    },
  }).trim();
}

/**
 * Runs git in `cwd` as the fixed test identity, without user or system config, and returns its
 * trimmed output. Commits get the current time; a GitFixture's `git` fixes the dates too.
 */
export function git(cwd: string, ...args: string[]): string {
  return run(cwd, args);
}

export class GitFixture {
  readonly root = mkdtempSync(path.join(tmpdir(), 'release-flow-git-'));
  private clock = 1_700_000_000;
  private counter = 0;

  /** Like `git`, with author and committer dates a minute apart on every call. */
  git(dir: string, ...args: string[]): string {
    this.clock += 60;
    const date = `${this.clock} +0000`;
    return run(dir, args, { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date });
  }

  /** A new repository on `main`. */
  repository(name = `repo-${++this.counter}`): string {
    const dir = path.join(this.root, name);
    execFileSync('git', ['init', '-q', '-b', 'main', dir]);
    return dir;
  }

  /** Commits a new file with `message` on the checked-out branch and returns its sha. */
  commit(dir: string, message: string): string {
    const file = `file-${++this.counter}.txt`;
    writeFileSync(path.join(dir, file), `${this.counter}\n`);
    this.git(dir, 'add', file);
    this.git(dir, 'commit', '-q', '--cleanup=verbatim', '-m', message);
    return this.git(dir, 'rev-parse', 'HEAD');
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
