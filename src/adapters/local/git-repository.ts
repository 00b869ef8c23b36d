/**
 * The git port on a repository on this machine, through the `git` executable. Every call is an
 * argument array (execFile, never a shell), revisions go after `--end-of-options`, and the
 * environment is pinned so a user's config or a hook's GIT_DIR cannot change what we read.
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../common/errors';
import { latestReleaseTag, type ReleaseTagRule } from '../../domain/release-tags';
import type { CommitRecord, GitPort, HistoryCompleteness, ReleasePoint } from '../../ports/git';
import type { GitRefs } from '../../ports/git-refs';
import { DefinitiveFailure, FailureTypes } from '../../domain/failures';
import { gitEnv, HARDENED_GIT_CONFIG } from './git-process';

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

// 50,000 commits with long bodies run to tens of megabytes; the default 1 MB would truncate.
const MAX_OUTPUT = 1024 * 1024 * 1024;

/** `noOrigin`: the clone is its own source, so there was nothing to fetch from. */
export type FetchOutcome = { fetched: true } | { fetched: false; reason: string; noOrigin?: true };

// Fetches in flight, by clone directory.
const fetches = new Map<string, Promise<FetchOutcome>>();

export class LocalGitRepository implements GitPort, GitRefs {
  private constructor(readonly directory: string) {}

  /** Opens `directory`, refusing with a user error when it is not a git repository. */
  static async open(directory: string): Promise<LocalGitRepository> {
    const absolute = path.resolve(directory);
    const info = await stat(absolute).catch(() => null);
    if (!info?.isDirectory()) {
      throw new UserError(
        'NOT_A_GIT_REPOSITORY',
        `${absolute} does not exist or is not a directory`,
        'pass --repo DIR',
      );
    }
    const repo = new LocalGitRepository(absolute);
    const probe = await repo.run(['rev-parse', '--git-dir']);
    if (probe.code !== 0) {
      throw new UserError(
        'NOT_A_GIT_REPOSITORY',
        `${absolute} is not a git repository`,
        'pass --repo with the path of a clone, or run `git init` there',
      );
    }
    return repo;
  }

  private run(args: string[], timeoutMs = 0): Promise<GitResult> {
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        [...HARDENED_GIT_CONFIG, '-c', 'log.showSignature=false', '-c', 'core.quotePath=false', ...args],
        { cwd: this.directory, env: gitEnv(), maxBuffer: MAX_OUTPUT, encoding: 'utf8', timeout: timeoutMs },
        (err, stdout, stderr) => {
          if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
            reject(new UserError('GIT_NOT_FOUND', 'the git executable was not found on PATH', 'install git'));
            return;
          }
          if (err && typeof err.code !== 'number') {
            reject(err);
            return;
          }
          resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
        },
      );
    });
  }

  /** Runs git and returns stdout; a failure here is unexpected, so it keeps git's own words. */
  private async output(args: string[]): Promise<string> {
    const result = await this.run(args);
    if (result.code !== 0) {
      throw new Error(`git ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
    }
    return result.stdout;
  }

  /**
   * Brings the clone up to date with its `origin`: new commits, and tags made elsewhere (a
   * release tag created on GitHub). Best effort: it answers what happened instead of throwing,
   * uses the clone's own credentials, never prompts, and gives up after `timeoutMs`. A clone
   * without `origin` is the source itself and needs nothing. A local tag that differs from
   * origin's is kept (no `--force`): the fetch then reports it rather than rewriting history.
   * Concurrent calls on one clone share one fetch, so git's ref locks never collide.
   */
  fetchOrigin(timeoutMs = 120_000): Promise<FetchOutcome> {
    const running = fetches.get(this.directory);
    if (running) return running;
    const fetch = this.fetchNow(timeoutMs).finally(() => fetches.delete(this.directory));
    fetches.set(this.directory, fetch);
    return fetch;
  }

  private async fetchNow(timeoutMs: number): Promise<FetchOutcome> {
    try {
      if ((await this.run(['remote', 'get-url', 'origin'])).code !== 0) {
        return { fetched: false, reason: 'the clone has no remote named origin', noOrigin: true };
      }
      const result = await this.run(
        ['fetch', '--quiet', '--tags', '--no-recurse-submodules', 'origin'],
        timeoutMs,
      );
      if (result.code === 0) return { fetched: true };
      return { fetched: false, reason: `git fetch origin failed (${result.code}): ${result.stderr.trim()}` };
    } catch (err) {
      const killed = (err as { killed?: boolean }).killed === true;
      return {
        fetched: false,
        reason: killed
          ? `git fetch origin did not finish within ${timeoutMs} ms`
          : `git fetch origin failed: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
  }

  async completeness(): Promise<HistoryCompleteness> {
    const shallow = (await this.output(['rev-parse', '--is-shallow-repository'])).trim() === 'true';
    const any = await this.output(['rev-list', '-n', '1', '--all']);
    return { complete: !shallow, hasCommits: any.trim() !== '' };
  }

  async resolveCommit(revision: string): Promise<string> {
    const result = revision.startsWith('-')
      ? null
      : await this.run(['rev-parse', '--verify', '--quiet', '--end-of-options', `${revision}^{commit}`]);
    if (!result || result.code !== 0) {
      throw new UserError(
        'UNKNOWN_REF',
        `${JSON.stringify(revision)} names no commit in ${this.directory}`,
        'pass a branch, tag or commit that exists there (git fetch first if it is remote)',
      );
    }
    return result.stdout.trim();
  }

  async branchName(revision: string): Promise<string> {
    const full = await this.run([
      'rev-parse',
      '--verify',
      '--quiet',
      '--symbolic-full-name',
      '--end-of-options',
      revision,
    ]);
    const name = full.code === 0 ? full.stdout.trim() : '';
    if (name.startsWith('refs/heads/')) return name.slice('refs/heads/'.length);
    if (name.startsWith('refs/remotes/')) {
      const remotes = (await this.output(['remote'])).split('\n').filter(Boolean);
      const rest = name.slice('refs/remotes/'.length);
      const remote = remotes.find((r) => rest.startsWith(`${r}/`));
      if (remote) return rest.slice(remote.length + 1);
    }
    return revision;
  }

  async lastReleaseTag(revision: string, rule: ReleaseTagRule): Promise<ReleasePoint | null> {
    const head = await this.resolveCommit(revision);
    // name NUL object NUL peeled object: an annotated tag's commit is its peeled object.
    const text = await this.output([
      'for-each-ref',
      `--merged=${head}`,
      '--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)',
      'refs/tags',
    ]);
    const commits = new Map<string, string>();
    for (const line of text.split('\n')) {
      const [name, object, peeled] = line.split('\0');
      if (name && object) commits.set(name, peeled || object);
    }
    const tag = latestReleaseTag([...commits.keys()], rule);
    return tag ? { ...tag, commit: commits.get(tag.name)! } : null;
  }

  async commitsBetween(from: string | null, to: string): Promise<CommitRecord[]> {
    const range = [await this.resolveCommit(to)];
    if (from !== null) range.push('--not', await this.resolveCommit(from));
    // One record per commit, NUL-terminated (-z): "sha parents...\nmessage". Messages cannot hold NUL.
    const text = await this.output(['log', '-z', '--encoding=UTF-8', '--format=%H %P%n%B', ...range, '--']);
    const commits: CommitRecord[] = [];
    for (const record of text.split('\0')) {
      if (!record) continue;
      const newline = record.indexOf('\n');
      const ids = (newline === -1 ? record : record.slice(0, newline)).split(' ').filter(Boolean);
      const [sha, ...parents] = ids;
      if (!sha) continue;
      // semantic-release trims each message it reads from git (lib/git.js getCommits).
      commits.push({ sha, parents, message: newline === -1 ? '' : record.slice(newline + 1).trim() });
    }
    return commits;
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const [a, d] = [await this.resolveCommit(ancestor), await this.resolveCommit(descendant)];
    const result = await this.run(['merge-base', '--is-ancestor', a, d]);
    if (result.code === 0) return true;
    if (result.code === 1) return false;
    throw new Error(`git merge-base --is-ancestor failed (${result.code}): ${result.stderr.trim()}`);
  }

  /**
   * Merges `head` into `base` without touching a ref or the work tree (`git merge-tree
   * --write-tree`, then `git commit-tree`): the merge commit when it is clean, null on a conflict.
   * The same inputs make the same commit (fixed author, committer and date), so a retry finds it.
   */
  async testMerge(base: string, head: string): Promise<string | null> {
    const [b, h] = [await this.resolveCommit(base), await this.resolveCommit(head)];
    const tree = await this.run(['merge-tree', '--write-tree', '--no-messages', b, h]);
    if (tree.code === 1) return null;
    if (tree.code !== 0) {
      throw new Error(`git merge-tree --write-tree failed (${tree.code}): ${tree.stderr.trim()}`);
    }
    const treeSha = tree.stdout.split('\n')[0]!.trim();
    const made = await new Promise<string>((resolve, reject) => {
      execFile(
        'git',
        [
          ...HARDENED_GIT_CONFIG,
          'commit-tree',
          treeSha,
          '-p',
          b,
          '-p',
          h,
          '-m',
          `Test merge of ${h} into ${b}`,
        ],
        {
          cwd: this.directory,
          env: {
            ...gitEnv(),
            GIT_AUTHOR_NAME: 'release-flow',
            GIT_AUTHOR_EMAIL: 'release-flow@localhost',
            GIT_AUTHOR_DATE: '1970-01-01T00:00:00Z',
            GIT_COMMITTER_NAME: 'release-flow',
            GIT_COMMITTER_EMAIL: 'release-flow@localhost',
            GIT_COMMITTER_DATE: '1970-01-01T00:00:00Z',
          },
          encoding: 'utf8',
        },
        (err, stdout, stderr) =>
          err ? reject(new Error(`git commit-tree failed: ${stderr.trim()}`)) : resolve(stdout.trim()),
      );
    });
    return made;
  }

  /** The commit a ref names, or null when the ref does not exist. */
  private async commitOf(ref: string): Promise<string | null> {
    const result = await this.run([
      'rev-parse',
      '--verify',
      '--quiet',
      '--end-of-options',
      `${ref}^{commit}`,
    ]);
    return result.code === 0 ? result.stdout.trim() : null;
  }

  private async checkRefName(kind: 'tags' | 'heads', name: string): Promise<void> {
    const result = await this.run(['check-ref-format', `refs/${kind}/${name}`]);
    if (result.code !== 0 || name.startsWith('-')) {
      throw new DefinitiveFailure(
        FailureTypes.invalidReference,
        `${JSON.stringify(name)} is not a valid git ref name`,
      );
    }
  }

  async createTag(request: { tag: string; commit: string }): Promise<{ created: boolean }> {
    await this.checkRefName('tags', request.tag);
    const commit = await this.commitOf(request.commit);
    if (!commit)
      throw new DefinitiveFailure(
        FailureTypes.unknownCommit,
        `commit ${request.commit} is not in ${this.directory}`,
      );
    const existing = await this.commitOf(`refs/tags/${request.tag}`);
    if (existing === commit) return { created: false };
    if (existing) {
      throw new DefinitiveFailure(
        FailureTypes.tagConflict,
        `tag ${request.tag} already marks ${existing.slice(0, 12)}, not ${commit.slice(0, 12)}`,
        { tag: request.tag, existing, wanted: commit },
      );
    }
    const made = await this.run(['tag', '--no-sign', request.tag, commit]);
    if (made.code !== 0) {
      // A concurrent writer may have made the same tag between our check and ours.
      if ((await this.commitOf(`refs/tags/${request.tag}`)) === commit) return { created: false };
      throw new Error(`git tag ${request.tag} failed (${made.code}): ${made.stderr.trim()}`);
    }
    return { created: true };
  }

  async createBranchFromTag(request: {
    branch: string;
    tag: string;
  }): Promise<{ created: boolean; commit: string }> {
    await this.checkRefName('heads', request.branch);
    const commit = await this.commitOf(`refs/tags/${request.tag}`);
    if (!commit)
      throw new DefinitiveFailure(
        FailureTypes.unknownCommit,
        `tag ${request.tag} is not in ${this.directory}`,
      );
    const existing = await this.commitOf(`refs/heads/${request.branch}`);
    if (existing) {
      if (await this.isAncestor(commit, existing)) return { created: false, commit };
      throw new DefinitiveFailure(
        FailureTypes.incidentIdTaken,
        `branch ${request.branch} already exists and does not contain ${request.tag}`,
        { branch: request.branch, tag: request.tag },
      );
    }
    const made = await this.run(['branch', '--no-track', request.branch, commit]);
    if (made.code !== 0)
      throw new Error(`git branch ${request.branch} failed (${made.code}): ${made.stderr.trim()}`);
    return { created: true, commit };
  }
}
