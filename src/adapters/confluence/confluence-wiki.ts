/**
 * Retrospective pages in Confluence Cloud (REST v2, storage format) under a configured space and
 * parent page (docs/integrations.md "Jira and Confluence"). Pages are titled `HOT-3: ...`; the ids in use are
 * the ones among the parent's children, so `ROLLBACK-<n>` is one past the highest there. Each
 * request's key sits in the page as a placeholder (shown only in the editor), so a retry finds
 * the page it published, and a timeline added twice is added once. An update is a new version of
 * the same page: a stale version (409) is read again and retried.
 */
import { nextIncidentId } from '../../domain/incident-ids';
import { UserError } from '../../common/errors';
import type { RepositoryConfig } from '../../config/schema';
import { DefinitiveFailure, FailureTypes } from '../../domain/failures';
import type { DocumentRef } from '../../ports/tickets';
import type { PageRequest, Wiki } from '../../ports/wiki';
import { keyHash } from '../github/document-markers';
import { AtlassianConflict, type AtlassianClient } from '../jira/atlassian-client';
import { escapeXml, storageText, toStorage } from './storage-format';

export type ConfluenceConfig = NonNullable<RepositoryConfig['confluence']>;

/** Confluence's space permissions, in the words of its space settings. */
export const ConfluencePermissions = {
  view: 'View space',
  addPage: 'Add page',
  editPage: 'Edit page',
} as const;

const TITLE_ID = /^((?:HOT|ROLLBACK)-\d+): /;
const CONFLICT_RETRIES = 3;

interface PageSummary {
  id: string;
  title: string;
}

interface Page extends PageSummary {
  version: { number: number };
  body?: { storage?: { value: string } };
  _links?: { webui?: string };
}

function marker(key: string): string {
  return `<ac:placeholder>release-flow:${keyHash(key)}</ac:placeholder>`;
}

export class ConfluenceWiki implements Wiki {
  private spaceIdCache: string | undefined;

  constructor(
    private readonly client: AtlassianClient,
    readonly settings: ConfluenceConfig,
  ) {}

  async publish(request: PageRequest): Promise<DocumentRef> {
    const tag = marker(request.key);
    const pages = await this.incidentPages();
    let id: string;
    if ('id' in request.page) {
      id = request.page.id;
      const existing = pages.find((p) => TITLE_ID.exec(p.title)?.[1] === id);
      if (existing) {
        const page = await this.page(existing.id);
        if (this.storageOf(page).includes(tag)) return { id, url: this.urlOf(page), created: false };
        throw new DefinitiveFailure(
          FailureTypes.incidentIdTaken,
          `${id} already exists under Confluence page ${this.settings.parentPageId} for another request`,
          { id },
        );
      }
    } else {
      const kind = request.page.kind;
      for (const summary of pages.filter((p) => TITLE_ID.exec(p.title)?.[1]?.startsWith(`${kind}-`))) {
        const page = await this.page(summary.id);
        if (this.storageOf(page).includes(tag)) {
          return { id: TITLE_ID.exec(page.title)![1]!, url: this.urlOf(page), created: false };
        }
      }
      id = nextIncidentId(
        kind,
        pages.map((p) => TITLE_ID.exec(p.title)?.[1] ?? ''),
      );
    }
    const content = typeof request.content === 'function' ? request.content(id) : request.content;
    // The page's title is the heading; the template's own first heading would repeat it.
    const body = content.replace(new RegExp(`^# ${id}: .*\\n`), '');
    const created = await this.client.request<Page>({
      method: 'POST',
      path: '/api/v2/pages',
      body: {
        spaceId: await this.spaceId(),
        status: 'current',
        title: `${id}: ${request.title}`,
        parentId: this.settings.parentPageId,
        body: { representation: 'storage', value: `${tag}${toStorage(body)}` },
      },
      action: `create page ${id} in Confluence space ${this.settings.space}`,
      permission: ConfluencePermissions.addPage,
      settings: { parentId: 'confluence.parentPageId', spaceId: 'confluence.space' },
    });
    if (!created) throw this.parentMissing();
    return { id, url: this.urlOf(created), created: true };
  }

  async append(request: { id: string; key: string; markdown: string }): Promise<{ added: boolean }> {
    const tag = marker(request.key);
    const summary = await this.required(request.id);
    for (let attempt = 0; ; attempt++) {
      const page = await this.page(summary.id);
      const current = this.storageOf(page);
      if (current.includes(tag)) return { added: false };
      try {
        await this.client.request<Page>({
          method: 'PUT',
          path: `/api/v2/pages/${page.id}`,
          body: {
            id: page.id,
            status: 'current',
            title: page.title,
            body: { representation: 'storage', value: `${current}${tag}${toStorage(request.markdown)}` },
            version: {
              number: page.version.number + 1,
              message: `release-flow: ${escapeXml(request.id)} update`,
            },
          },
          action: `update page ${request.id} in Confluence space ${this.settings.space}`,
          permission: ConfluencePermissions.editPage,
        });
        return { added: true };
      } catch (err) {
        // Someone saved the page in between: read their version and add to it.
        if (err instanceof AtlassianConflict && attempt < CONFLICT_RETRIES) continue;
        throw err;
      }
    }
  }

  async read(id: string): Promise<{ id: string; url: string; markdown: string } | null> {
    const summary = (await this.incidentPages()).find((p) => TITLE_ID.exec(p.title)?.[1] === id);
    if (!summary) return null;
    const page = await this.page(summary.id);
    return {
      id,
      url: this.urlOf(page),
      markdown: `# ${page.title}\n\n${storageText(this.storageOf(page))}\n`,
    };
  }

  /** The space's id (v2 addresses spaces by id), looked up by key once. */
  async spaceId(): Promise<string> {
    if (this.spaceIdCache) return this.spaceIdCache;
    const answer = await this.client.request<{ results: { id: string; key: string }[] }>({
      path: '/api/v2/spaces',
      query: { keys: this.settings.space },
      action: `find Confluence space ${this.settings.space}`,
      permission: ConfluencePermissions.view,
    });
    const space = answer?.results.find((s) => s.key === this.settings.space);
    if (!space) {
      throw new UserError(
        'CONFLUENCE_SPACE_MISSING',
        `Confluence space ${this.settings.space} does not exist at ${this.client.baseUrl}, or the account cannot see it`,
        `check confluence.space, and grant the account "${ConfluencePermissions.view}" in it`,
      );
    }
    this.spaceIdCache = space.id;
    return space.id;
  }

  private storageOf(page: Page): string {
    return page.body?.storage?.value ?? '';
  }

  private urlOf(page: Page): string {
    return page._links?.webui
      ? `${this.client.baseUrl}${page._links.webui}`
      : `${this.client.baseUrl}/pages/viewpage.action?pageId=${page.id}`;
  }

  private async page(pageId: string): Promise<Page> {
    const page = await this.client.request<Page>({
      path: `/api/v2/pages/${pageId}`,
      query: { 'body-format': 'storage' },
      action: `read Confluence page ${pageId}`,
      permission: ConfluencePermissions.view,
    });
    if (!page) {
      throw new DefinitiveFailure(
        FailureTypes.documentNotFound,
        `Confluence page ${pageId} no longer exists`,
        {
          id: pageId,
        },
      );
    }
    return page;
  }

  private async required(id: string): Promise<PageSummary> {
    const found = (await this.incidentPages()).find((p) => TITLE_ID.exec(p.title)?.[1] === id);
    if (!found) {
      throw new DefinitiveFailure(
        FailureTypes.documentNotFound,
        `no page ${id} under Confluence page ${this.settings.parentPageId}`,
        { id },
      );
    }
    return found;
  }

  private parentMissing(): UserError {
    return new UserError(
      'CONFLUENCE_PARENT_MISSING',
      `Confluence page ${this.settings.parentPageId} does not exist at ${this.client.baseUrl}, or the account cannot see it`,
      'set confluence.parentPageId to the id of an existing page of confluence.space',
    );
  }

  /** The parent's children titled like incidents, every page of the cursor. */
  private async incidentPages(): Promise<PageSummary[]> {
    const pages: PageSummary[] = [];
    let cursor: string | undefined;
    do {
      const answer = await this.client.request<{ results: PageSummary[]; _links?: { next?: string } }>({
        path: `/api/v2/pages/${this.settings.parentPageId}/children`,
        query: { limit: 250, cursor },
        action: `list the pages under Confluence page ${this.settings.parentPageId}`,
        permission: ConfluencePermissions.view,
      });
      if (!answer) throw this.parentMissing();
      pages.push(...answer.results.filter((p) => TITLE_ID.test(p.title)));
      const next = answer._links?.next;
      cursor = next ? (new URL(next, 'http://x').searchParams.get('cursor') ?? undefined) : undefined;
    } while (cursor);
    return pages;
  }
}
