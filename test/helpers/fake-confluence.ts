/**
 * A local Confluence Cloud that speaks the documented REST API v2 under `/wiki/api/v2`: spaces
 * by key, pages with storage-format bodies and versions, a parent's children with a cursor,
 * permitted operations. It checks basic auth, that bodies are storage format and well-formed
 * XML, that titles are unique in a space, and that an update carries the next version number
 * (409 otherwise, like Confluence); it answers 429 with `Retry-After` when told to.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestText } from './request-body';

export interface FakePage {
  id: string;
  title: string;
  spaceId: string;
  parentId: string | null;
  status: string;
  versions: { number: number; message: string; value: string }[];
}

const VOID = new Set(['br', 'hr', 'img', 'col', 'ri:url', 'ri:page', 'ri:attachment', 'ri:user']);

/** Tags balanced and void elements closed, as the storage format's XML needs. */
export function wellFormed(xml: string): string | null {
  const stack: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([a-zA-Z][\w:-]*)([^>]*?)(\/?)>/g)) {
    const [, closing, name, , self] = m;
    if (self) continue;
    if (closing) {
      if (stack.pop() !== name) return `unexpected </${name}>`;
    } else if (VOID.has(name!)) {
      return `<${name}> must be closed as <${name} />`;
    } else stack.push(name!);
  }
  return stack.length ? `unclosed <${stack.at(-1)}>` : null;
}

export class FakeConfluence {
  readonly email = 'release-bot@example.com';
  readonly apiToken = 'confluence-api-token-0123456789';
  spaces = [{ id: '98304', key: 'OPS', name: 'Operations' }];
  pages = new Map<string, FakePage>();
  requests: { method: string; path: string; authorization: string | undefined; body: unknown }[] = [];
  /** Operations the account may not do, as `create:page` / `update:page`. */
  denied = new Set<string>();
  rateLimited = { count: 0, retryAfter: '1' };
  /** A person saves the page between release-flow's read and write, this many times. */
  concurrentEdits = 0;
  /** Children per answer (small to exercise the cursor). */
  pageSize = 2;
  private nextId = 65500;
  private server: Server | undefined;
  url = '';

  constructor() {
    this.addPage('Operations home', null);
    this.addPage('Retrospectives', this.pages.keys().next().value!);
  }

  /** The Retrospectives page's id: the configured parent. */
  get parentId(): string {
    return [...this.pages.values()].find((p) => p.title === 'Retrospectives')!.id;
  }

  get wikiUrl(): string {
    return `${this.url}/wiki`;
  }

  env(): NodeJS.ProcessEnv {
    return { CONFLUENCE_EMAIL: this.email, CONFLUENCE_API_TOKEN: this.apiToken };
  }

  addPage(title: string, parentId: string | null, value = '<p>hand written</p>'): FakePage {
    const page: FakePage = {
      id: String(this.nextId++),
      title,
      spaceId: this.spaces[0]!.id,
      parentId,
      status: 'current',
      versions: [{ number: 1, message: '', value }],
    };
    this.pages.set(page.id, page);
    return page;
  }

  byTitle(prefix: string): FakePage | undefined {
    return [...this.pages.values()].find((p) => p.title.startsWith(prefix));
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch((err: Error) => this.error(res, 500, 'INTERNAL', err.message));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  private send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private error(
    res: ServerResponse,
    status: number,
    code: string,
    title: string,
    headers: Record<string, string> = {},
  ): void {
    this.send(res, status, { errors: [{ status, code, title, detail: null }] }, headers);
  }

  private view(page: FakePage, withBody: boolean) {
    const current = page.versions.at(-1)!;
    const space = this.spaces.find((s) => s.id === page.spaceId)!;
    return {
      id: page.id,
      status: page.status,
      title: page.title,
      spaceId: page.spaceId,
      parentId: page.parentId,
      parentType: page.parentId ? 'page' : null,
      version: { number: current.number, message: current.message, createdAt: '2026-12-01T00:00:00.000Z' },
      ...(withBody ? { body: { storage: { representation: 'storage', value: current.value } } } : {}),
      _links: {
        webui: `/spaces/${space.key}/pages/${page.id}/${encodeURIComponent(page.title.replace(/\s+/g, '+'))}`,
        editui: `/pages/resumedraft.action?draftId=${page.id}`,
        tinyui: `/x/${page.id}`,
      },
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const raw = await requestText(req);
    const body: unknown = raw ? JSON.parse(raw) : undefined;
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      authorization: req.headers.authorization,
      body,
    });
    if (this.rateLimited.count > 0) {
      this.rateLimited.count--;
      return this.error(res, 429, 'TOO_MANY_REQUESTS', 'Rate limited', {
        'Retry-After': this.rateLimited.retryAfter,
      });
    }
    if (
      req.headers.authorization !==
      `Basic ${Buffer.from(`${this.email}:${this.apiToken}`).toString('base64')}`
    ) {
      return this.error(res, 401, 'UNAUTHORIZED', 'Unauthorized; scope does not match');
    }
    const method = req.method ?? 'GET';
    const route = url.pathname.replace(/^\/wiki\/api\/v2/, '');
    if (route === url.pathname) return this.error(res, 404, 'NOT_FOUND', `No endpoint ${url.pathname}`);
    let m: RegExpExecArray | null;

    if (method === 'GET' && route === '/spaces') {
      const keys = (url.searchParams.get('keys') ?? '').split(',').filter(Boolean);
      return this.send(res, 200, {
        results: this.spaces
          .filter((s) => !keys.length || keys.includes(s.key))
          .map((s) => ({ ...s, type: 'global', status: 'current' })),
        _links: {},
      });
    }
    if (method === 'GET' && (m = /^\/spaces\/(\d+)\/operations$/.exec(route))) {
      if (!this.spaces.some((s) => s.id === m![1]))
        return this.error(res, 404, 'NOT_FOUND', 'Space not found');
      const operations = [{ operation: 'read', targetType: 'space' }];
      if (!this.denied.has('create:page')) operations.push({ operation: 'create', targetType: 'page' });
      return this.send(res, 200, { operations });
    }
    if (method === 'GET' && (m = /^\/pages\/(\d+)\/children$/.exec(route))) {
      if (!this.pages.has(m[1]!)) return this.error(res, 404, 'NOT_FOUND', 'Page not found');
      const children = [...this.pages.values()].filter((p) => p.parentId === m![1]);
      const start = Number(url.searchParams.get('cursor') ?? 0);
      const limit = Math.min(Number(url.searchParams.get('limit') ?? 25), this.pageSize);
      const page = children.slice(start, start + limit);
      const more = start + limit < children.length;
      return this.send(res, 200, {
        results: page.map((p, i) => ({
          id: p.id,
          status: p.status,
          title: p.title,
          spaceId: p.spaceId,
          childPosition: start + i,
        })),
        _links: more
          ? { next: `/wiki/api/v2/pages/${m[1]}/children?cursor=${start + limit}&limit=${limit}` }
          : {},
      });
    }
    if (method === 'GET' && (m = /^\/pages\/(\d+)\/operations$/.exec(route))) {
      if (!this.pages.has(m[1]!)) return this.error(res, 404, 'NOT_FOUND', 'Page not found');
      const operations = [{ operation: 'read', targetType: 'page' }];
      if (!this.denied.has('update:page')) operations.push({ operation: 'update', targetType: 'page' });
      return this.send(res, 200, { operations });
    }
    if ((m = /^\/pages\/(\d+)$/.exec(route))) {
      const page = this.pages.get(m[1]!);
      if (!page) return this.error(res, 404, 'NOT_FOUND', 'Page not found');
      if (method === 'GET')
        return this.send(res, 200, this.view(page, url.searchParams.get('body-format') === 'storage'));
      if (method === 'PUT') {
        const b = body as {
          id?: string;
          status?: string;
          title?: string;
          body?: { representation?: string; value?: string };
          version?: { number?: number; message?: string };
        };
        if (this.denied.has('update:page'))
          return this.error(res, 403, 'PERMISSION_DENIED', 'User not permitted to edit this page');
        if (b.id !== page.id || b.status !== 'current' || !b.title) {
          return this.error(res, 400, 'INVALID_REQUEST_PARAMETER', 'id, status and title are required');
        }
        if (b.body?.representation !== 'storage' || typeof b.body.value !== 'string') {
          return this.error(res, 400, 'INVALID_REQUEST_PARAMETER', 'body must be in storage representation');
        }
        const bad = wellFormed(b.body.value);
        if (bad) return this.error(res, 400, 'INVALID_REQUEST_PARAMETER', `Error parsing xhtml: ${bad}`);
        if (this.concurrentEdits > 0) {
          this.concurrentEdits--;
          const v = page.versions.at(-1)!;
          page.versions.push({
            number: v.number + 1,
            message: 'edited by ana',
            value: `${v.value}<p>note by ana</p>`,
          });
        }
        const current = page.versions.at(-1)!.number;
        if (b.version?.number !== current + 1) {
          return this.error(
            res,
            409,
            'CONFLICT',
            `Version must be incremented on update. Current version is: ${current}`,
          );
        }
        page.title = b.title;
        page.versions.push({ number: current + 1, message: b.version.message ?? '', value: b.body.value });
        return this.send(res, 200, this.view(page, true));
      }
    }
    if (method === 'POST' && route === '/pages') {
      const b = body as {
        spaceId?: string;
        status?: string;
        title?: string;
        parentId?: string;
        body?: { representation?: string; value?: string };
      };
      if (!this.spaces.some((s) => s.id === b.spaceId))
        return this.error(res, 400, 'INVALID_REQUEST_PARAMETER', `No space with id ${b.spaceId}`);
      if (this.denied.has('create:page'))
        return this.error(res, 403, 'PERMISSION_DENIED', 'User not permitted to create pages in this space');
      if (!b.title) return this.error(res, 400, 'INVALID_REQUEST_PARAMETER', 'Title is required');
      if (b.parentId && this.pages.get(b.parentId)?.spaceId !== b.spaceId) {
        return this.error(
          res,
          400,
          'INVALID_REQUEST_PARAMETER',
          `The parent page ${b.parentId} is not in space ${b.spaceId}`,
        );
      }
      if ([...this.pages.values()].some((p) => p.spaceId === b.spaceId && p.title === b.title)) {
        return this.error(
          res,
          400,
          'INVALID_REQUEST_PARAMETER',
          'A page with this title already exists: A page already exists with the same TITLE in this space',
        );
      }
      if (b.body?.representation !== 'storage' || typeof b.body.value !== 'string') {
        return this.error(res, 400, 'INVALID_REQUEST_PARAMETER', 'body must be in storage representation');
      }
      const bad = wellFormed(b.body.value);
      if (bad) return this.error(res, 400, 'INVALID_REQUEST_PARAMETER', `Error parsing xhtml: ${bad}`);
      const page = this.addPage(b.title, b.parentId ?? null, b.body.value);
      page.versions[0]!.message = '';
      return this.send(res, 200, this.view(page, true));
    }
    return this.error(res, 404, 'NOT_FOUND', `No endpoint ${method} ${url.pathname}`);
  }
}
