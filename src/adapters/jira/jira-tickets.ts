/**
 * `HOT-<n>` and `ROLLBACK-<n>` tickets as Jira issues in a configured project (docs/integrations.md "Jira and
 * Confluence"). Jira numbers its own keys (`OPS-812`), so the incident id stays release-flow's:
 * it leads the summary (`HOT-3: ...`) and is a label, and the next one is one past the highest
 * id on any issue labelled `release-flow` in the project, never reused. A request's key is a
 * label too (`release-flow-<hash>`), so a retry finds the issue it opened; each comment ends
 * with a reference line holding its key's hash, so a retried update is not posted twice.
 *
 * Cloud speaks REST v3 (Atlassian Document Format), Data Center REST v2 (wiki markup); search
 * is `/search/jql` with page tokens on Cloud and `/search` with `startAt` on Data Center.
 */
import { nextIncidentId } from '../../domain/incident-ids';
import { UserError } from '../../common/errors';
import type { RepositoryConfig } from '../../config/schema';
import { DefinitiveFailure, FailureTypes } from '../../domain/failures';
import type { TicketLinkRequest, TicketTracker, TrackedTicket } from '../../ports/ticket-tracker';
import type { DocumentRef, Ticket, TicketRequest, Tickets } from '../../ports/tickets';
import { keyHash } from '../github/document-markers';
import type { AtlassianClient } from './atlassian-client';
import { adfText, toAdf, toWikiMarkup } from './jira-documents';

export type JiraConfig = NonNullable<RepositoryConfig['jira']>;

/** The label on every ticket release-flow opens; the adapter finds its own by it. */
export const INCIDENT_LABEL = 'release-flow';

const INCIDENT_ID = /^(HOT|ROLLBACK)-\d+$/;
const SUMMARY_ID = /^((?:HOT|ROLLBACK)-\d+): /;

/** Jira's project permissions, in the words of its permission schemes. */
export const JiraPermissions = {
  browse: 'Browse projects',
  create: 'Create issues',
  comment: 'Add comments',
  transition: 'Transition issues',
  link: 'Link issues',
} as const;

interface IssueFields {
  summary?: string;
  labels?: string[];
  status?: { name?: string; statusCategory?: { key?: string } };
  description?: unknown;
}

interface Issue {
  id: string;
  key: string;
  fields: IssueFields;
}

interface Transition {
  id: string;
  name: string;
  to?: { name?: string; statusCategory?: { key?: string } };
}

function keyLabel(key: string): string {
  return `${INCIDENT_LABEL}-${keyHash(key).slice(0, 16)}`;
}

function reference(key: string): string {
  return `release-flow ref ${keyHash(key).slice(0, 12)}`;
}

function idOf(issue: Issue): string | null {
  const label = issue.fields.labels?.find((l) => INCIDENT_ID.test(l));
  return label ?? SUMMARY_ID.exec(issue.fields.summary ?? '')?.[1] ?? null;
}

function isDone(fields: IssueFields): boolean {
  return fields.status?.statusCategory?.key === 'done';
}

export class JiraTickets implements Tickets, TicketTracker {
  constructor(
    private readonly client: AtlassianClient,
    readonly settings: JiraConfig,
  ) {}

  private get api(): string {
    return this.settings.deployment === 'cloud' ? '/rest/api/3' : '/rest/api/2';
  }

  private get where(): string {
    return `Jira project ${this.settings.project}`;
  }

  /** A body in the deployment's document format. */
  private document(markdown: string): unknown {
    return this.settings.deployment === 'cloud' ? toAdf(markdown) : toWikiMarkup(markdown);
  }

  browseUrl(key: string): string {
    return `${this.client.baseUrl}/browse/${encodeURIComponent(key)}`;
  }

  async open(request: TicketRequest): Promise<DocumentRef> {
    const mine = keyLabel(request.key);
    const [earlier] = await this.search(`labels = "${mine}"`, ['summary', 'labels']);
    if (earlier)
      return { id: idOf(earlier) ?? earlier.key, url: this.browseUrl(earlier.key), created: false };
    const known = (await this.search(`labels = "${INCIDENT_LABEL}"`, ['summary', 'labels']))
      .map(idOf)
      .filter((x): x is string => x !== null);
    if (request.id && known.includes(request.id)) {
      throw new DefinitiveFailure(
        FailureTypes.incidentIdTaken,
        `${request.id} is already an issue of ${this.where} opened for another request`,
        { id: request.id },
      );
    }
    const id = request.id ?? nextIncidentId(request.kind, known);
    const labels = [
      ...new Set([INCIDENT_LABEL, id, mine, ...this.settings.labels, ...(request.labels ?? [])]),
    ].map((l) => l.replace(/\s+/g, '-'));
    const priority =
      request.kind === 'HOT' ? this.settings.priorities.emergency : this.settings.priorities.rollback;
    const created = await this.client.request<{ id: string; key: string }>({
      method: 'POST',
      path: `${this.api}/issue`,
      body: {
        fields: {
          project: { key: this.settings.project },
          issuetype: { name: this.settings.issueType },
          summary: `${id}: ${request.title}`.slice(0, 255),
          description: this.document(request.body),
          labels,
          priority: { name: priority },
        },
      },
      action: `create issue ${id} in ${this.where}`,
      permission: JiraPermissions.create,
      settings: {
        project: 'jira.project',
        issuetype: 'jira.issueType',
        priority: `jira.priorities.${request.kind === 'HOT' ? 'emergency' : 'rollback'}`,
        labels: 'jira.labels',
      },
    });
    if (!created) throw this.projectMissing();
    return { id, url: this.browseUrl(created.key), created: true };
  }

  async comment(request: { id: string; key: string; markdown: string }): Promise<{ added: boolean }> {
    const issue = await this.required(request.id);
    return this.addComment(issue, request.key, request.markdown);
  }

  async close(request: { id: string; key: string; markdown: string }): Promise<{ closed: boolean }> {
    const issue = await this.required(request.id);
    await this.addComment(issue, request.key, request.markdown);
    if (isDone(issue.fields)) return { closed: false };
    const answer = await this.client.request<{ transitions: Transition[] }>({
      path: `${this.api}/issue/${issue.key}/transitions`,
      action: `read the transitions of ${issue.key}`,
      permission: JiraPermissions.transition,
    });
    const transitions = answer?.transitions ?? [];
    const wanted = this.settings.doneTransition.toLowerCase();
    const transition = transitions.find((t) => t.name.toLowerCase() === wanted);
    if (!transition) {
      throw new UserError(
        'JIRA_TRANSITION_MISSING',
        `${issue.key} (${request.id}) has no transition named "${this.settings.doneTransition}" from status ${issue.fields.status?.name ?? '?'}; it offers: ${transitions.map((t) => `"${t.name}"`).join(', ') || 'none'}`,
        'set jira.doneTransition to the name of the workflow transition that closes an issue',
      );
    }
    await this.client.request({
      method: 'POST',
      path: `${this.api}/issue/${issue.key}/transitions`,
      body: { transition: { id: transition.id } },
      action: `transition ${issue.key} (${request.id}) with "${transition.name}"`,
      permission: JiraPermissions.transition,
      settings: { transition: 'jira.doneTransition' },
    });
    return { closed: true };
  }

  async get(id: string): Promise<Ticket | null> {
    const issue = await this.find(id, ['summary', 'labels', 'status', 'description']);
    if (!issue) return null;
    const comments = await this.comments(issue.key);
    const title = (issue.fields.summary ?? '').replace(SUMMARY_ID, '');
    const markdown = [
      `# ${issue.fields.summary ?? id}`,
      '',
      `- Status: ${issue.fields.status?.name ?? 'unknown'}`,
      `- Jira: ${issue.key}`,
      '',
      adfText(issue.fields.description).trimEnd(),
      '',
      '## Updates',
      '',
      ...comments.map((c) => `${c.trimEnd()}\n`),
    ].join('\n');
    return { id, url: this.browseUrl(issue.key), title, markdown };
  }

  async lookup(key: string): Promise<TrackedTicket | null> {
    // A hotfix branch names release-flow's own id, which Jira knows as a label.
    const issue = INCIDENT_ID.test(key)
      ? await this.find(key, ['summary', 'labels', 'status'])
      : await this.client.request<Issue>({
          path: `${this.api}/issue/${encodeURIComponent(key)}`,
          query: { fields: 'summary,status' },
          action: `read issue ${key}`,
          permission: JiraPermissions.browse,
        });
    if (!issue) return null;
    return {
      key: INCIDENT_ID.test(key) ? key : issue.key,
      url: this.browseUrl(issue.key),
      summary: issue.fields.summary ?? '',
      status: issue.fields.status?.name ?? 'unknown',
      done: isDone(issue.fields),
    };
  }

  async link(request: TicketLinkRequest): Promise<{ linked: boolean }> {
    const answer = await this.client.request<{ id: number }>({
      method: 'POST',
      path: `${this.api}/issue/${encodeURIComponent(request.ticket)}/remotelink`,
      // The same globalId updates the one link: a retried or repeated link adds nothing.
      body: {
        globalId: `release-flow:${keyHash(request.key).slice(0, 32)}`,
        application: { type: 'release-flow', name: 'release-flow' },
        object: {
          url: request.url,
          title: request.title,
          ...(request.summary ? { summary: request.summary } : {}),
        },
      },
      action: `link ${request.url} on ${request.ticket}`,
      permission: JiraPermissions.link,
    });
    return { linked: answer !== null };
  }

  private async addComment(issue: Issue, key: string, markdown: string): Promise<{ added: boolean }> {
    const ref = reference(key);
    if ((await this.comments(issue.key)).some((c) => c.includes(ref))) return { added: false };
    const answer = await this.client.request({
      method: 'POST',
      path: `${this.api}/issue/${issue.key}/comment`,
      body: { body: this.document(`${markdown.trimEnd()}\n\n_${ref}_\n`) },
      action: `comment on ${issue.key}`,
      permission: JiraPermissions.comment,
    });
    if (answer === null) throw this.notFound(issue.key);
    return { added: true };
  }

  /** Every comment's text, oldest first (paged by `startAt` in both versions). */
  private async comments(issueKey: string): Promise<string[]> {
    const texts: string[] = [];
    for (let startAt = 0; ;) {
      const page = await this.client.request<{ comments: { body: unknown }[]; total: number }>({
        path: `${this.api}/issue/${issueKey}/comment`,
        query: { startAt, maxResults: 100 },
        action: `read the comments of ${issueKey}`,
        permission: JiraPermissions.browse,
      });
      if (!page) throw this.notFound(issueKey);
      texts.push(...page.comments.map((c) => adfText(c.body)));
      startAt += page.comments.length;
      if (page.comments.length === 0 || startAt >= page.total) return texts;
    }
  }

  private async required(id: string): Promise<Issue> {
    const issue = await this.find(id, ['summary', 'labels', 'status']);
    if (!issue) throw this.notFound(id);
    return issue;
  }

  private async find(id: string, fields: string[]): Promise<Issue | undefined> {
    if (!INCIDENT_ID.test(id)) {
      throw new DefinitiveFailure(
        FailureTypes.invalidReference,
        `invalid ticket id ${JSON.stringify(id)} (expected e.g. HOT-3)`,
      );
    }
    const found = await this.search(`labels = "${INCIDENT_LABEL}" AND labels = "${id}"`, fields);
    return found.find((i) => idOf(i) === id);
  }

  private notFound(id: string): DefinitiveFailure {
    return new DefinitiveFailure(FailureTypes.documentNotFound, `no issue ${id} in ${this.where}`, { id });
  }

  private projectMissing(): UserError {
    return new UserError(
      'JIRA_PROJECT_MISSING',
      `${this.where} does not exist at ${this.client.baseUrl}, or the account cannot see it`,
      `check jira.project, and grant the account "${JiraPermissions.browse}" and "${JiraPermissions.create}" in it`,
    );
  }

  /** Issues of the project matching `clause`, every page. */
  private async search(clause: string, fields: string[]): Promise<Issue[]> {
    const jql = `project = "${this.settings.project}" AND ${clause} ORDER BY created ASC`;
    const action = `search ${this.where}`;
    const issues: Issue[] = [];
    if (this.settings.deployment === 'cloud') {
      let nextPageToken: string | undefined;
      do {
        const page = await this.client.request<{ issues: Issue[]; nextPageToken?: string; isLast?: boolean }>(
          {
            path: `${this.api}/search/jql`,
            query: { jql, fields: fields.join(','), maxResults: 100, nextPageToken },
            action,
            permission: JiraPermissions.browse,
            settings: { jql: 'jira.project' },
          },
        );
        if (!page) throw this.projectMissing();
        issues.push(...page.issues);
        nextPageToken = page.isLast === false || page.nextPageToken ? page.nextPageToken : undefined;
      } while (nextPageToken);
      return issues;
    }
    for (let startAt = 0; ;) {
      const page = await this.client.request<{ issues: Issue[]; total: number }>({
        path: `${this.api}/search`,
        query: { jql, fields: fields.join(','), startAt, maxResults: 100 },
        action,
        permission: JiraPermissions.browse,
        settings: { jql: 'jira.project' },
      });
      if (!page) throw this.projectMissing();
      issues.push(...page.issues);
      startAt += page.issues.length;
      if (page.issues.length === 0 || startAt >= page.total) return issues;
    }
  }
}
