/**
 * Wiki pages in a GitHub wiki, which is a git repository (`OWNER/REPO.wiki.git`): clone, write
 * the page, commit, push. The page files, numbering and key index are the local markdown
 * folder's (markdown-folder.ts) run inside the clone, so both adapters number and dedupe alike;
 * a push that loses a race with another writer is retried on top of the new remote head, where
 * the folder's idempotency by key finds or redoes the write.
 *
 * The token reaches git through `GIT_CONFIG_*` environment variables (an `http.extraHeader`),
 * never in the remote URL, the argument list or `.git/config`. A GitHub App's installation
 * token expires within the hour, so the token may be a source asked before every git command
 * (`gitTokenSource` in client.ts); the App strategy behind it answers from its cache.
 */
import { execFile } from 'node:child_process';
import { appendFile, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { maskSecrets } from '../../common/secrets';
import { MarkdownWiki } from '../local/markdown-wiki';
import type { DocumentRef } from '../../ports/tickets';
import type { PageRequest, Wiki } from '../../ports/wiki';

export interface GitWikiOptions {
  /** `https://github.com/acme/app.wiki.git` (or any git URL; a path for tests). */
  remote: string;
  /** Where the clone is kept between calls. */
  workDir: string;
  /** The wiki's web root for page links (`https://github.com/acme/app/wiki`). */
  webUrl: string;
  /**
   * A token, or a source of current ones; from `GITHUB_TOKEN` when omitted; none for remotes
   * that need no auth.
   */
  token?: string | (() => Promise<string>);
  author?: { name: string; email: string };
  /** Pushes retried after losing a race (default 3). */
  pushAttempts?: number;
}

export class GitWiki implements Wiki {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly token: string | (() => Promise<string>) | undefined;

  constructor(private readonly options: GitWikiOptions) {
    this.token = options.token ?? process.env.GITHUB_TOKEN;
  }

  publish(request: PageRequest): Promise<DocumentRef> {
    return this.transaction(`docs: ${request.title}`, async (pages) => {
      const ref = await pages.publish(request);
      return { ...ref, url: this.pageUrl(ref.id) };
    });
  }

  append(request: { id: string; key: string; markdown: string }): Promise<{ added: boolean }> {
    return this.transaction(`docs: update ${request.id}`, (pages) => pages.append(request));
  }

  read(id: string): Promise<{ id: string; url: string; markdown: string } | null> {
    return this.serial(async () => {
      await this.sync();
      const page = await new MarkdownWiki(this.options.workDir).read(id);
      return page ? { ...page, url: this.pageUrl(id) } : null;
    });
  }

  private pageUrl(id: string): string {
    return `${this.options.webUrl.replace(/\/+$/, '')}/${encodeURIComponent(id)}`;
  }

  /** Sync, change, commit and push; on a rejected push, sync again and redo the change. */
  private transaction<T>(message: string, change: (pages: MarkdownWiki) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      const attempts = this.options.pushAttempts ?? 3;
      for (let attempt = 1; ; attempt++) {
        const branch = await this.sync();
        const result = await change(new MarkdownWiki(this.options.workDir));
        await this.git(['add', '-A']);
        if ((await this.git(['status', '--porcelain'])).trim() === '') return result;
        const author = this.options.author ?? { name: 'release-flow', email: 'release-flow@localhost' };
        await this.git([
          '-c',
          `user.name=${author.name}`,
          '-c',
          `user.email=${author.email}`,
          'commit',
          '-q',
          '-m',
          message,
        ]);
        try {
          await this.git(['push', '-q', 'origin', `HEAD:refs/heads/${branch}`]);
          return result;
        } catch (err) {
          if (attempt >= attempts) throw err;
        }
      }
    });
  }

  /** A clone at the remote's head, with local leftovers discarded; returns the branch. */
  private async sync(): Promise<string> {
    const dir = this.options.workDir;
    if (!(await stat(path.join(dir, '.git')).catch(() => null))) {
      await mkdir(path.dirname(dir), { recursive: true });
      await this.git(['clone', '-q', '--', this.options.remote, dir], path.dirname(dir));
      // The folder's lock and temporary files are not pages.
      await appendFile(path.join(dir, '.git', 'info', 'exclude'), '\n.lock\n*.tmp\n.*.tmp*\n');
    }
    await this.git(['fetch', '-q', 'origin']);
    const head = (
      await this.git(['symbolic-ref', '-q', '--short', 'refs/remotes/origin/HEAD']).catch(
        () => 'origin/master',
      )
    ).trim();
    const branch = head.replace(/^origin\//, '');
    await this.git(['checkout', '-q', '-B', branch, `origin/${branch}`]);
    await this.git(['reset', '-q', '--hard', `origin/${branch}`]);
    await this.git(['clean', '-q', '-fd']);
    return branch;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async git(args: string[], cwd = this.options.workDir): Promise<string> {
    const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
    delete env.GIT_DIR;
    delete env.GIT_WORK_TREE;
    const token = typeof this.token === 'function' ? await this.token() : this.token;
    if (token) {
      const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
      env.GIT_CONFIG_COUNT = '1';
      env.GIT_CONFIG_KEY_0 = 'http.extraHeader';
      env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${basic}`;
    }
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        args,
        { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (err) {
            const secrets = { GITHUB_TOKEN: token ?? '' };
            reject(
              new Error(
                maskSecrets(`git ${args[0]} failed for the wiki: ${stderr.trim() || err.message}`, secrets),
              ),
            );
            return;
          }
          resolve(stdout);
        },
      );
    });
  }
}
