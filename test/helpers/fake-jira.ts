/**
 * A local Jira that speaks the documented REST API: Cloud's v3 (descriptions and comments in
 * the Atlassian Document Format, search at `/search/jql` with page tokens) or Data Center's v2
 * (wiki-markup strings, search at `/search` with `startAt`). It checks the auth header (basic
 * email:token on Cloud, bearer PAT on Data Center), the request shapes, and answers like Jira:
 * 201 for a created issue, 204 for a transition, 400 with `errorMessages`/`errors`, 404, and 429
 * with `Retry-After` when told to.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestText } from './request-body';

export type Deployment = 'cloud' | 'data-center';

export interface FakeStatus {
  name: string;
  category: 'new' | 'indeterminate' | 'done';
}

export interface FakeIssue {
  id: string;
  key: string;
  summary: string;
  labels: string[];
  issueType: string;
  priority: string;
  description: unknown;
  status: FakeStatus;
  comments: { id: string; body: unknown }[];
  remoteLinks: { id: number; globalId?: string; object: { url: string; title: string; summary?: string } }[];
}

const STATUSES: Record<string, FakeStatus> = {
  todo: { name: 'To Do', category: 'new' },
  progress: { name: 'In Progress', category: 'indeterminate' },
  done: { name: 'Done', category: 'done' },
};

// The default workflow: To Do -> In Progress -> Done, and Done reopens.
const TRANSITIONS: Record<string, { id: string; name: string; to: FakeStatus }[]> = {
  'To Do': [
    { id: '11', name: 'Start Progress', to: STATUSES.progress! },
    { id: '31', name: 'Done', to: STATUSES.done! },
  ],
  'In Progress': [{ id: '31', name: 'Done', to: STATUSES.done! }],
  Done: [{ id: '41', name: 'Reopen', to: STATUSES.todo! }],
};

export interface FakeJiraRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

function isAdf(doc: unknown): boolean {
  if (!doc || typeof doc !== 'object') return false;
  const d = doc as { version?: unknown; type?: unknown; content?: unknown };
  if (d.version !== 1 || d.type !== 'doc' || !Array.isArray(d.content)) return false;
  const valid = (node: unknown): boolean => {
    if (!node || typeof node !== 'object') return false;
    const n = node as { type?: unknown; text?: unknown; content?: unknown };
    if (typeof n.type !== 'string') return false;
    if (n.type === 'text') return typeof n.text === 'string' && n.text.length > 0;
    return n.content === undefined || (Array.isArray(n.content) && n.content.every(valid));
  };
  return d.content.every(valid);
}

export class FakeJira {
  readonly email = 'release-bot@example.com';
  readonly apiToken = 'jira-api-token-0123456789';
  readonly pat = 'jira-pat-abcdefghijklmnop';
  projects = new Map<string, { id: string; issueTypes: string[] }>([
    ['OPS', { id: '10000', issueTypes: ['Bug', 'Task', 'Incident'] }],
    ['JIRA', { id: '10001', issueTypes: ['Story', 'Bug'] }],
  ]);
  priorities = ['Highest', 'High', 'Medium', 'Low', 'Lowest'];
  issues: FakeIssue[] = [];
  requests: FakeJiraRequest[] = [];
  /** Permissions the account lacks, by Jira's keys (`CREATE_ISSUES`). */
  denied = new Set<string>();
  /** Answer the next n requests with 429 and this Retry-After. */
  rateLimited = { count: 0, retryAfter: '1' };
  /** Answer the next n requests with 503 (no Retry-After). */
  unavailable = 0;
  private nextId = 10100;
  private server: Server | undefined;
  url = '';

  constructor(readonly deployment: Deployment = 'cloud') {}

  get api(): string {
    return this.deployment === 'cloud' ? '/rest/api/3' : '/rest/api/2';
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch((err: Error) => this.send(res, 500, { errorMessages: [err.message] }));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  env(): NodeJS.ProcessEnv {
    return this.deployment === 'cloud'
      ? { JIRA_EMAIL: this.email, JIRA_API_TOKEN: this.apiToken }
      : { JIRA_PAT: this.pat };
  }

  /** An issue that exists in Jira before release-flow (a developer's ticket). */
  addIssue(key: string, summary: string, status: keyof typeof STATUSES = 'todo'): FakeIssue {
    const issue: FakeIssue = {
      id: String(this.nextId++),
      key,
      summary,
      labels: [],
      issueType: 'Story',
      priority: 'Medium',
      description: null,
      status: STATUSES[status]!,
      comments: [],
      remoteLinks: [],
    };
    this.issues.push(issue);
    return issue;
  }

  issue(label: string): FakeIssue | undefined {
    return this.issues.find((i) => i.labels.includes(label));
  }

  private send(
    res: ServerResponse,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, {
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...headers,
    });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }

  private authorized(header: string | undefined): boolean {
    if (this.deployment === 'cloud') {
      return header === `Basic ${Buffer.from(`${this.email}:${this.apiToken}`).toString('base64')}`;
    }
    return header === `Bearer ${this.pat}`;
  }

  private document(value: unknown): boolean {
    return this.deployment === 'cloud' ? isAdf(value) : typeof value === 'string';
  }

  private view(issue: FakeIssue, fields: string[] | null) {
    const all = {
      summary: issue.summary,
      labels: issue.labels,
      issuetype: { name: issue.issueType },
      priority: { name: issue.priority },
      description: issue.description,
      status: { name: issue.status.name, statusCategory: { key: issue.status.category } },
      project: { key: issue.key.split('-')[0] },
    };
    const picked = fields
      ? Object.fromEntries(Object.entries(all).filter(([name]) => fields.includes(name)))
      : all;
    return { id: issue.id, key: issue.key, self: `${this.url}${this.api}/issue/${issue.id}`, fields: picked };
  }

  /** The JQL release-flow writes: `project = "X" AND labels = "a" [AND labels = "b"] [ORDER BY ...]`. */
  private query(jql: string): FakeIssue[] | { error: string } {
    const [where] = jql.split(/\s+ORDER BY\s+/i);
    const clauses = where!.split(/\s+AND\s+/i);
    let project: string | undefined;
    const labels: string[] = [];
    for (const clause of clauses) {
      const m = /^(project|labels)\s*=\s*"([^"]+)"$/.exec(clause.trim());
      if (!m) return { error: `Error in the JQL Query: unexpected clause '${clause}'.` };
      if (m[1] === 'project') project = m[2];
      else labels.push(m[2]!);
    }
    if (project && !this.projects.has(project)) {
      return { error: `The value '${project}' does not exist for the field 'project'.` };
    }
    return this.issues.filter(
      (i) => (!project || i.key.startsWith(`${project}-`)) && labels.every((l) => i.labels.includes(l)),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const raw = await requestText(req);
    let body: unknown = undefined;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        return this.send(res, 400, {
          errorMessages: ['Unexpected character in the request body.'],
          errors: {},
        });
      }
    }
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      authorization: req.headers.authorization,
      body,
    });
    if (this.rateLimited.count > 0) {
      this.rateLimited.count--;
      return this.send(
        res,
        429,
        { errorMessages: ['Rate limit exceeded.'] },
        { 'Retry-After': this.rateLimited.retryAfter },
      );
    }
    if (this.unavailable > 0) {
      this.unavailable--;
      return this.send(res, 503, { errorMessages: ['Service unavailable.'] });
    }
    if (!this.authorized(req.headers.authorization)) {
      return this.send(res, 401, {
        errorMessages: ['You are not authenticated. Authentication required to perform this operation.'],
      });
    }
    if (!url.pathname.startsWith(`${this.api}/`)) {
      return this.send(res, 404, {
        errorMessages: [`No such endpoint on this Jira (${this.deployment}): ${url.pathname}`],
      });
    }
    const route = url.pathname.slice(this.api.length);
    const method = req.method ?? 'GET';
    const deny = (permission: string, message: string) => {
      if (!this.denied.has(permission)) return false;
      this.send(res, 403, { errorMessages: [message], errors: {} });
      return true;
    };
    const issueNotFound = () =>
      this.send(res, 404, {
        errorMessages: ['Issue does not exist or you do not have permission to see it.'],
        errors: {},
      });
    let m: RegExpExecArray | null;

    if (method === 'GET' && (route === '/search/jql' || route === '/search')) {
      if ((route === '/search/jql') !== (this.deployment === 'cloud')) {
        return this.send(res, 404, { errorMessages: [`${route} is not offered by Jira ${this.deployment}`] });
      }
      const found = this.query(url.searchParams.get('jql') ?? '');
      if ('error' in found) return this.send(res, 400, { errorMessages: [found.error], errors: {} });
      const fields = url.searchParams.get('fields')?.split(',') ?? null;
      const max = Math.min(Number(url.searchParams.get('maxResults') ?? 50), 100);
      if (this.deployment === 'cloud') {
        const start = Number(url.searchParams.get('nextPageToken') ?? 0);
        const page = found.slice(start, start + max);
        const more = start + max < found.length;
        return this.send(res, 200, {
          issues: page.map((i) => this.view(i, fields)),
          isLast: !more,
          ...(more ? { nextPageToken: String(start + max) } : {}),
        });
      }
      const startAt = Number(url.searchParams.get('startAt') ?? 0);
      return this.send(res, 200, {
        startAt,
        maxResults: max,
        total: found.length,
        issues: found.slice(startAt, startAt + max).map((i) => this.view(i, fields)),
      });
    }

    if (method === 'POST' && route === '/issue') {
      const fields = (body as { fields?: Record<string, unknown> } | undefined)?.fields;
      if (!fields)
        return this.send(res, 400, { errorMessages: ['Request body is missing "fields".'], errors: {} });
      const errors: Record<string, string> = {};
      const projectKey = (fields.project as { key?: string } | undefined)?.key ?? '';
      const project = this.projects.get(projectKey);
      if (!project) errors.project = 'Specify a valid project ID or key';
      const issueType = (fields.issuetype as { name?: string } | undefined)?.name ?? '';
      if (project && !project.issueTypes.includes(issueType)) errors.issuetype = 'Specify a valid issue type';
      if (typeof fields.summary !== 'string' || !fields.summary)
        errors.summary = 'You must specify a summary of the issue.';
      const priority = (fields.priority as { name?: string } | undefined)?.name;
      if (priority !== undefined && !this.priorities.includes(priority)) {
        errors.priority = `Specify the Priority (name) in the string format`;
      }
      const labels = (fields.labels ?? []) as string[];
      const spaced = labels.find((l) => /\s/.test(l));
      if (spaced) errors.labels = `The label '${spaced}' contains spaces which is invalid.`;
      if (fields.description !== undefined && !this.document(fields.description)) {
        errors.description =
          this.deployment === 'cloud'
            ? 'Operation value must be an Atlassian Document (see the Atlassian Document Format)'
            : 'Operation value must be a string';
      }
      if (Object.keys(errors).length) return this.send(res, 400, { errorMessages: [], errors });
      if (deny('CREATE_ISSUES', 'You do not have permission to create issues in this project.')) return;
      const number = this.issues.filter((i) => i.key.startsWith(`${projectKey}-`)).length + 800;
      const issue: FakeIssue = {
        id: String(this.nextId++),
        key: `${projectKey}-${number}`,
        summary: fields.summary as string,
        labels,
        issueType,
        priority: priority ?? 'Medium',
        description: fields.description ?? null,
        status: STATUSES.todo!,
        comments: [],
        remoteLinks: [],
      };
      this.issues.push(issue);
      return this.send(res, 201, {
        id: issue.id,
        key: issue.key,
        self: `${this.url}${this.api}/issue/${issue.id}`,
      });
    }

    if ((m = /^\/issue\/([^/]+)(\/[a-z]+)?$/.exec(route))) {
      const issue = this.issues.find((i) => i.key === decodeURIComponent(m![1]!) || i.id === m![1]);
      if (!issue) return issueNotFound();
      const sub = m[2];
      if (!sub && method === 'GET') {
        return this.send(res, 200, this.view(issue, url.searchParams.get('fields')?.split(',') ?? null));
      }
      if (sub === '/comment' && method === 'GET') {
        const startAt = Number(url.searchParams.get('startAt') ?? 0);
        const max = Number(url.searchParams.get('maxResults') ?? 50);
        return this.send(res, 200, {
          startAt,
          maxResults: max,
          total: issue.comments.length,
          comments: issue.comments.slice(startAt, startAt + max),
        });
      }
      if (sub === '/comment' && method === 'POST') {
        const comment = (body as { body?: unknown } | undefined)?.body;
        if (!this.document(comment)) {
          return this.send(res, 400, {
            errorMessages: [],
            errors: {
              comment:
                this.deployment === 'cloud'
                  ? 'Comment body must be an Atlassian Document.'
                  : 'Comment body can not be empty!',
            },
          });
        }
        if (deny('ADD_COMMENTS', 'You do not have the permission to comment on this issue.')) return;
        const created = { id: String(this.nextId++), body: comment };
        issue.comments.push(created);
        return this.send(res, 201, created);
      }
      if (sub === '/transitions' && method === 'GET') {
        return this.send(res, 200, {
          transitions: (TRANSITIONS[issue.status.name] ?? []).map((t) => ({
            id: t.id,
            name: t.name,
            to: { name: t.to.name, statusCategory: { key: t.to.category } },
          })),
        });
      }
      if (sub === '/transitions' && method === 'POST') {
        const id = (body as { transition?: { id?: string } } | undefined)?.transition?.id;
        const transition = (TRANSITIONS[issue.status.name] ?? []).find((t) => t.id === id);
        if (!transition)
          return this.send(res, 400, {
            errorMessages: [`Transition id '${id}' is not valid for this issue.`],
            errors: {},
          });
        if (deny('TRANSITION_ISSUES', 'You do not have permission to transition this issue.')) return;
        issue.status = transition.to;
        return this.send(res, 204);
      }
      if (sub === '/remotelink' && method === 'POST') {
        const link = body as {
          globalId?: string;
          object?: { url?: string; title?: string; summary?: string };
        };
        const errors: Record<string, string> = {};
        if (!link?.object?.url) errors.url = "'url' is required.";
        if (!link?.object?.title) errors.title = "'title' is required.";
        if (Object.keys(errors).length) return this.send(res, 400, { errorMessages: [], errors });
        if (deny('LINK_ISSUES', 'You do not have permission to link issues.')) return;
        const object = {
          url: link.object!.url!,
          title: link.object!.title!,
          ...(link.object!.summary ? { summary: link.object!.summary } : {}),
        };
        const existing = link.globalId
          ? issue.remoteLinks.find((l) => l.globalId === link.globalId)
          : undefined;
        if (existing) {
          existing.object = object;
          return this.send(res, 200, {
            id: existing.id,
            self: `${this.url}${this.api}/issue/${issue.key}/remotelink/${existing.id}`,
          });
        }
        const created = { id: this.nextId++, ...(link.globalId ? { globalId: link.globalId } : {}), object };
        issue.remoteLinks.push(created);
        return this.send(res, 201, {
          id: created.id,
          self: `${this.url}${this.api}/issue/${issue.key}/remotelink/${created.id}`,
        });
      }
    }

    if (method === 'GET' && (m = /^\/project\/([^/]+)(\/statuses)?$/.exec(route))) {
      const project = this.projects.get(m[1]!);
      if (!project)
        return this.send(res, 404, {
          errorMessages: [`No project could be found with key '${m[1]}'.`],
          errors: {},
        });
      if (m[2]) {
        return this.send(
          res,
          200,
          project.issueTypes.map((name) => ({
            name,
            statuses: Object.values(STATUSES).map((s) => ({
              name: s.name,
              statusCategory: { key: s.category },
            })),
          })),
        );
      }
      return this.send(res, 200, { id: project.id, key: m[1], name: `${m[1]} project` });
    }

    if (method === 'GET' && (m = /^\/issue\/createmeta\/([^/]+)\/issuetypes$/.exec(route))) {
      const project = this.projects.get(m[1]!);
      if (!project)
        return this.send(res, 404, {
          errorMessages: [`No project could be found with key '${m[1]}'.`],
          errors: {},
        });
      const types = project.issueTypes.map((name, i) => ({ id: String(10 + i), name }));
      return this.send(
        res,
        200,
        this.deployment === 'cloud'
          ? { issueTypes: types, total: types.length }
          : { values: types, total: types.length },
      );
    }

    if (method === 'GET' && route === '/mypermissions') {
      const key = url.searchParams.get('projectKey') ?? '';
      if (!this.projects.has(key))
        return this.send(res, 404, {
          errorMessages: [`No project could be found with key '${key}'.`],
          errors: {},
        });
      const wanted = (url.searchParams.get('permissions') ?? '').split(',').filter(Boolean);
      return this.send(res, 200, {
        permissions: Object.fromEntries(
          wanted.map((p) => [p, { key: p, havePermission: !this.denied.has(p) }]),
        ),
      });
    }

    return this.send(res, 404, { errorMessages: [`No such endpoint: ${method} ${url.pathname}`] });
  }
}
