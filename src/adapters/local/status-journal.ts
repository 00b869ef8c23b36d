/**
 * Commit statuses on this machine: one JSON line per status posted, in `statuses.jsonl` under
 * the state directory, for a repository GitHub does not serve. People read it to see what a
 * pipeline reported; tests assert on it. As on GitHub, the newest line per commit and context is
 * the status that counts, and the description is cut to GitHub's 140 characters.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fitStatusDescription } from '../../domain/pr-policy';
import type { CommitStatus, CommitStatuses } from '../../ports/commit-statuses';
import { readJsonLines } from './durable-files';

export interface StatusJournalEntry extends CommitStatus {
  repository: string;
  postedAt: number;
}

export interface StatusJournalOptions {
  /** The JSON-lines file, shared by every local repository. */
  file: string;
  now?: () => number;
}

export class StatusJournal {
  private readonly file: string;
  private readonly now: () => number;

  constructor(options: StatusJournalOptions) {
    this.file = path.resolve(options.file);
    this.now = options.now ?? Date.now;
  }

  /** The port for one repository: its statuses go to the shared journal, tagged with its name. */
  forRepository(repository: string): CommitStatuses {
    return { post: (status) => this.post(repository, status) };
  }

  async post(repository: string, status: CommitStatus): Promise<void> {
    const entry: StatusJournalEntry = {
      repository,
      sha: status.sha,
      context: status.context,
      state: status.state,
      description: fitStatusDescription(status.description),
      ...(status.targetUrl ? { targetUrl: status.targetUrl } : {}),
      postedAt: this.now(),
    };
    await mkdir(path.dirname(this.file), { recursive: true });
    // One appendFile is one write(2) on an O_APPEND file: lines of concurrent posters never
    // interleave, and no read-then-write needs a lock (every post is kept, as on GitHub).
    await appendFile(this.file, `${JSON.stringify(entry)}\n`);
  }

  /** Every status posted, oldest first. */
  async entries(): Promise<StatusJournalEntry[]> {
    return await readJsonLines<StatusJournalEntry>(this.file);
  }

  /** The status that counts for a commit and context (the newest), as GitHub reports it. */
  async latest(repository: string, sha: string, context: string): Promise<StatusJournalEntry | undefined> {
    return (await this.entries())
      .filter((e) => e.repository === repository && e.sha === sha && e.context === context)
      .at(-1);
  }
}
