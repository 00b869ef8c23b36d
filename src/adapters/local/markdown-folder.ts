/**
 * A folder of markdown documents named by incident id (`HOT-3.md`), shared by the local
 * tickets and wiki. Numbering survives restarts because it is read from the folder itself, and
 * numbers once handed out are never reused (the key index remembers them even when a file is
 * deleted). Each creation reserves its key and id in the index before writing the document,
 * all under one lock, so a retry after a crash finds and completes its own document instead of
 * taking the next number.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { nextIncidentId, type IncidentKind } from '../../domain/incident-ids';
import { DefinitiveFailure, FailureTypes } from '../../domain/failures';
import { createFileExclusive, readJsonFile, withFileLock, writeFileAtomic } from './durable-files';

interface KeyRecord {
  key: string;
  id: string;
}

const DOCUMENT_ID = /^[A-Z][A-Z0-9]*-\d+$/;

// Markers are HTML comments: invisible when rendered, found again by a retry.
function marker(key: string): string {
  return `<!-- release-flow:${createHash('sha256').update(key).digest('hex')} -->`;
}

export class MarkdownFolder {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  url(id: string): string {
    return pathToFileURL(this.documentPath(id)).href;
  }

  /**
   * The document `key` created before, or a new one: with `id` when given, else the next free
   * id of `kind`. `render` receives the id, so the content can name it.
   */
  create(request: {
    key: string;
    id?: string;
    kind?: IncidentKind;
    render: (id: string) => string;
  }): Promise<{ id: string; created: boolean }> {
    return this.locked(async () => {
      const indexFile = this.indexPath(request.key);
      const reserved = await readJsonFile<KeyRecord>(indexFile);
      if (reserved) {
        // Reserved but never written: the earlier attempt crashed in between; finish it.
        const created = await createFileExclusive(
          this.documentPath(reserved.id),
          request.render(reserved.id),
        );
        return { id: reserved.id, created };
      }
      const used = await this.usedIds();
      let id: string;
      if (request.id) {
        id = this.checkId(request.id);
        if (used.has(id)) {
          throw new DefinitiveFailure(
            FailureTypes.incidentIdTaken,
            `${id} already exists in ${this.dir} for another request`,
            {
              id,
            },
          );
        }
      } else if (request.kind) {
        id = nextIncidentId(request.kind, used);
      } else {
        throw new Error('create needs an id or a kind');
      }
      await createFileExclusive(
        indexFile,
        `${JSON.stringify({ key: request.key, id } satisfies KeyRecord)}\n`,
      );
      const created = await createFileExclusive(this.documentPath(id), request.render(id));
      if (!created) {
        // Only a file written behind the lock's back can get here.
        throw new DefinitiveFailure(
          FailureTypes.incidentIdTaken,
          `${id}.md appeared in ${this.dir} while it was being created`,
          {
            id,
          },
        );
      }
      return { id, created: true };
    });
  }

  async read(id: string): Promise<string | null> {
    try {
      return await readFile(this.documentPath(this.checkId(id)), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Appends `markdown` once per key. */
  append(id: string, key: string, markdown: string): Promise<{ added: boolean }> {
    return this.locked(async () => {
      const current = await this.read(id);
      if (current === null) {
        throw new DefinitiveFailure(FailureTypes.documentNotFound, `${id} does not exist in ${this.dir}`, {
          id,
        });
      }
      const tag = marker(key);
      if (current.includes(tag)) return { added: false };
      const separator = current.endsWith('\n') ? '' : '\n';
      await writeFileAtomic(this.documentPath(id), `${current}${separator}\n${tag}\n${markdown.trimEnd()}\n`);
      return { added: true };
    });
  }

  /** Replaces the first line equal to `line` (the ticket's status line); nothing when there is none. */
  replaceLine(id: string, line: string, next: string): Promise<void> {
    return this.locked(async () => {
      const current = await this.read(id);
      if (current === null) return;
      const lines = current.split('\n');
      const at = lines.indexOf(line);
      if (at < 0) return;
      lines[at] = next;
      await writeFileAtomic(this.documentPath(id), lines.join('\n'));
    });
  }

  /** Every id in use: documents present and ids reserved in the index (even if their file was deleted). */
  private async usedIds(): Promise<Set<string>> {
    const used = new Set<string>();
    for (const name of await readdir(this.dir)) {
      if (name.endsWith('.md')) used.add(name.slice(0, -3));
    }
    const indexDir = path.join(this.dir, '.keys');
    for (const name of await readdir(indexDir).catch(() => [] as string[])) {
      const record = await readJsonFile<KeyRecord>(path.join(indexDir, name));
      if (record) used.add(record.id);
    }
    return used;
  }

  private checkId(id: string): string {
    if (!DOCUMENT_ID.test(id)) {
      throw new DefinitiveFailure(
        FailureTypes.invalidReference,
        `invalid document id ${JSON.stringify(id)} (expected e.g. HOT-3)`,
      );
    }
    return id;
  }

  private documentPath(id: string): string {
    return path.join(this.dir, `${id}.md`);
  }

  private indexPath(key: string): string {
    return path.join(this.dir, '.keys', `${createHash('sha256').update(key).digest('hex')}.json`);
  }

  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true });
    return withFileLock(path.join(this.dir, '.lock'), fn);
  }
}
