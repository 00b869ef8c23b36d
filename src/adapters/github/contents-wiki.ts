/**
 * Wiki pages as markdown files in a folder of a repository, written through the contents API
 * (`docs/incidents/HOT-3.md`), so they are reviewed, versioned and rendered by GitHub like any
 * document. Needs contents: write.
 *
 * Idempotency: before writing a page, its key is reserved as `.keys/<sha256 of key>.json` in
 * the folder, holding the page id. Creating a file without a `sha` fails when it exists, so the
 * reservation and the page are each claimed at most once; a retry after a crash in between
 * finds the reservation and finishes the page. Numbers come from the folder's listing.
 */
import { nextIncidentId } from '../../domain/incident-ids';
import { DefinitiveFailure, FailureTypes } from '../../domain/failures';
import type { DocumentRef } from '../../ports/tickets';
import type { PageRequest, Wiki } from '../../ports/wiki';
import { GitHubPermissions, explainAccess, statusOf } from './access-errors';
import type { GitHubClient } from './client';
import { documentMarker, keyHash } from './document-markers';
import { fullName, type RepositoryRef } from './repository-ref';

export interface ContentsWikiOptions {
  /** The folder holding the pages (default `docs/incidents`). */
  folder?: string;
  /** The branch to write to (default: the repository's default branch). */
  branch?: string;
}

interface StoredFile {
  text: string;
  sha: string;
  url: string;
}

const DOCUMENT_ID = /^[A-Z][A-Z0-9]*-\d+$/;

function checkId(id: string): string {
  if (!DOCUMENT_ID.test(id)) {
    throw new DefinitiveFailure(
      FailureTypes.invalidReference,
      `invalid page id ${JSON.stringify(id)} (expected e.g. HOT-3)`,
    );
  }
  return id;
}

export class GitHubContentsWiki implements Wiki {
  private readonly folder: string;

  constructor(
    private readonly github: GitHubClient,
    readonly repository: RepositoryRef,
    private readonly options: ContentsWikiOptions = {},
  ) {
    this.folder = (options.folder ?? 'docs/incidents').replace(/^\/+|\/+$/g, '');
  }

  async publish(request: PageRequest): Promise<DocumentRef> {
    const marker = documentMarker(request.key);
    const keyPath = `${this.folder}/.keys/${keyHash(request.key)}.json`;
    const reserved = await this.readFile(keyPath);
    let id: string;
    if (reserved) {
      id = checkId((JSON.parse(reserved.text) as { id: string }).id);
    } else {
      const used = await this.pageIds();
      if ('id' in request.page) {
        id = checkId(request.page.id);
        const page = used.has(id) ? await this.readFile(this.pagePath(id)) : null;
        if (page && !page.text.includes(marker)) throw this.taken(id);
      } else {
        id = nextIncidentId(request.page.kind, used);
      }
      if (
        !(await this.createFile(
          keyPath,
          `${JSON.stringify({ key: request.key, id })}\n`,
          `release-flow: reserve ${id}`,
        ))
      ) {
        // A concurrent attempt with the same key reserved first; its reservation wins.
        return this.publish(request);
      }
    }
    const existing = await this.readFile(this.pagePath(id));
    if (existing) {
      if (!existing.text.includes(marker)) throw this.taken(id);
      return { id, url: existing.url, created: false };
    }
    const content = typeof request.content === 'function' ? request.content(id) : request.content;
    const body = content.trimStart().startsWith('#') ? content : `# ${id}: ${request.title}\n\n${content}`;
    const written = await this.createFile(
      this.pagePath(id),
      `${marker}\n${body.trimEnd()}\n`,
      `docs: ${id} ${request.title}`,
    );
    if (!written) throw this.taken(id);
    return { id, url: written.url, created: true };
  }

  async append(request: { id: string; key: string; markdown: string }): Promise<{ added: boolean }> {
    const path = this.pagePath(checkId(request.id));
    const marker = documentMarker(request.key);
    // A concurrent edit moves the file's sha and GitHub answers 409; read again and retry once.
    for (let attempt = 0; ; attempt++) {
      const page = await this.readFile(path);
      if (!page) {
        throw new DefinitiveFailure(
          FailureTypes.documentNotFound,
          `${request.id} does not exist in ${this.where}`,
          {
            id: request.id,
          },
        );
      }
      if (page.text.includes(marker)) return { added: false };
      const separator = page.text.endsWith('\n') ? '' : '\n';
      try {
        await this.github.rest.repos.createOrUpdateFileContents({
          ...this.repository,
          path,
          message: `docs: update ${request.id}`,
          content: Buffer.from(
            `${page.text}${separator}\n${marker}\n${request.markdown.trimEnd()}\n`,
          ).toString('base64'),
          sha: page.sha,
          ...(this.options.branch ? { branch: this.options.branch } : {}),
        });
        return { added: true };
      } catch (err) {
        if (statusOf(err) === 409 && attempt === 0) continue;
        throw explainAccess(err, `update ${path} in ${this.where}`, GitHubPermissions.contentsWrite);
      }
    }
  }

  async read(id: string): Promise<{ id: string; url: string; markdown: string } | null> {
    const page = await this.readFile(this.pagePath(checkId(id)));
    return page ? { id, url: page.url, markdown: page.text } : null;
  }

  private get where(): string {
    return `${fullName(this.repository)}/${this.folder}`;
  }

  private pagePath(id: string): string {
    return `${this.folder}/${id}.md`;
  }

  private taken(id: string): DefinitiveFailure {
    return new DefinitiveFailure(
      FailureTypes.incidentIdTaken,
      `${id} already exists in ${this.where} for another request`,
      { id },
    );
  }

  private ref(): { ref?: string } {
    return this.options.branch ? { ref: this.options.branch } : {};
  }

  private async pageIds(): Promise<Set<string>> {
    try {
      const { data } = await this.github.rest.repos.getContent({
        ...this.repository,
        path: this.folder,
        ...this.ref(),
      });
      const entries = Array.isArray(data) ? data : [];
      return new Set(
        entries.filter((e) => e.type === 'file' && e.name.endsWith('.md')).map((e) => e.name.slice(0, -3)),
      );
    } catch (err) {
      if (statusOf(err) === 404) return new Set();
      throw explainAccess(err, `list ${this.where}`, GitHubPermissions.contentsRead);
    }
  }

  private async readFile(path: string): Promise<StoredFile | null> {
    try {
      const { data } = await this.github.rest.repos.getContent({ ...this.repository, path, ...this.ref() });
      if (Array.isArray(data) || data.type !== 'file' || !('content' in data)) {
        throw new DefinitiveFailure(
          FailureTypes.invalidReference,
          `${path} in ${fullName(this.repository)} is not a file`,
        );
      }
      return {
        text: Buffer.from(data.content, 'base64').toString('utf8'),
        sha: data.sha,
        url: data.html_url ?? '',
      };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw explainAccess(
        err,
        `read ${path} in ${fullName(this.repository)}`,
        GitHubPermissions.contentsRead,
      );
    }
  }

  /** The new file, or null when the path is already taken. */
  private async createFile(path: string, text: string, message: string): Promise<{ url: string } | null> {
    try {
      const { data } = await this.github.rest.repos.createOrUpdateFileContents({
        ...this.repository,
        path,
        message,
        content: Buffer.from(text).toString('base64'),
        ...(this.options.branch ? { branch: this.options.branch } : {}),
      });
      return { url: data.content?.html_url ?? '' };
    } catch (err) {
      // Without a sha GitHub refuses to overwrite: 422 "sha" wasn't supplied.
      if (statusOf(err) === 422) return null;
      throw explainAccess(
        err,
        `write ${path} in ${fullName(this.repository)}`,
        GitHubPermissions.contentsWrite,
      );
    }
  }
}
