/**
 * Tickets as GitHub issues titled `HOT-<n>: title`. Every issue the adapter opens carries the
 * incident label, so the adapter finds its own (open or closed) with one filtered list: the
 * next number is one past the highest title, and a retry finds its issue by the key marker in
 * the body instead of opening a second. Labels and assignees come from configuration.
 */
import { nextIncidentId } from '../../domain/incident-ids';
import { DefinitiveFailure, FailureTypes } from '../../domain/failures';
import type { DocumentRef, Ticket, TicketRequest, Tickets } from '../../ports/tickets';
import { GitHubPermissions, withAccess } from './access-errors';
import type { GitHubClient } from './client';
import { INCIDENT_TITLE, documentMarker } from './document-markers';
import { fullName, type RepositoryRef } from './repository-ref';

export interface GitHubIssueTicketsOptions {
  /** Put on every incident issue and used to find them again (default `release-flow`). */
  incidentLabel?: string;
  /** More labels for every ticket (`sev-1`, `incident`). */
  labels?: readonly string[];
  /** GitHub logins assigned to every ticket (the on-call team). */
  assignees?: readonly string[];
}

interface IssueSummary {
  number: number;
  title: string;
  body: string;
  url: string;
  state: string;
}

export class GitHubIssueTickets implements Tickets {
  private readonly incidentLabel: string;

  constructor(
    private readonly github: GitHubClient,
    readonly repository: RepositoryRef,
    private readonly options: GitHubIssueTicketsOptions = {},
  ) {
    this.incidentLabel = options.incidentLabel ?? 'release-flow';
  }

  async open(request: TicketRequest): Promise<DocumentRef> {
    const marker = documentMarker(request.key);
    const issues = await this.incidentIssues();
    const earlier = issues.find((i) => i.body.includes(marker));
    if (earlier) return { id: idOf(earlier)!, url: earlier.url, created: false };
    const known = issues.map(idOf).filter((x): x is string => x !== null);
    if (request.id && known.includes(request.id)) {
      throw new DefinitiveFailure(
        FailureTypes.incidentIdTaken,
        `${request.id} is already an issue of ${this.where} opened for another request`,
        { id: request.id },
      );
    }
    const id = request.id ?? nextIncidentId(request.kind, known);
    const labels = [
      ...new Set([this.incidentLabel, ...(this.options.labels ?? []), ...(request.labels ?? [])]),
    ];
    const { data } = await withAccess(
      `open issue ${id} in ${this.where}`,
      GitHubPermissions.issuesWrite,
      () =>
        this.github.rest.issues.create({
          ...this.repository,
          title: `${id}: ${request.title}`,
          body: `${marker}\n${request.body.trimEnd()}\n`,
          labels,
          ...(this.options.assignees?.length ? { assignees: [...this.options.assignees] } : {}),
        }),
    );
    return { id, url: data.html_url, created: true };
  }

  async comment(request: { id: string; key: string; markdown: string }): Promise<{ added: boolean }> {
    const issue = await this.find(request.id);
    if (!issue) {
      throw new DefinitiveFailure(FailureTypes.documentNotFound, `no issue ${request.id} in ${this.where}`, {
        id: request.id,
      });
    }
    const marker = documentMarker(request.key);
    if ((await this.comments(issue.number)).some((body) => body.includes(marker))) return { added: false };
    await withAccess(`comment on issue ${request.id} in ${this.where}`, GitHubPermissions.issuesWrite, () =>
      this.github.rest.issues.createComment({
        ...this.repository,
        issue_number: issue.number,
        body: `${marker}\n${request.markdown.trimEnd()}\n`,
      }),
    );
    return { added: true };
  }

  async close(request: { id: string; key: string; markdown: string }): Promise<{ closed: boolean }> {
    const { added } = await this.comment(request);
    const issue = (await this.find(request.id))!;
    if (!added && issue.state === 'closed') return { closed: false };
    await withAccess(`close issue ${request.id} in ${this.where}`, GitHubPermissions.issuesWrite, () =>
      this.github.rest.issues.update({
        ...this.repository,
        issue_number: issue.number,
        state: 'closed',
        state_reason: 'completed',
      }),
    );
    return { closed: added };
  }

  async get(id: string): Promise<Ticket | null> {
    const issue = await this.find(id);
    if (!issue) return null;
    const title = issue.title.replace(INCIDENT_TITLE, '');
    const updates = await this.comments(issue.number);
    const markdown = [
      `# ${issue.title}`,
      '',
      issue.body.trimEnd(),
      '',
      '## Updates',
      '',
      ...updates.map((u) => `${u.trimEnd()}\n`),
    ].join('\n');
    return { id, url: issue.url, title, markdown };
  }

  private get where(): string {
    return fullName(this.repository);
  }

  private async find(id: string): Promise<IssueSummary | undefined> {
    return (await this.incidentIssues()).find((i) => idOf(i) === id);
  }

  private async incidentIssues(): Promise<IssueSummary[]> {
    const items = await withAccess(
      `list the incident issues of ${this.where}`,
      GitHubPermissions.issuesRead,
      () =>
        this.github.paginate(this.github.rest.issues.listForRepo, {
          ...this.repository,
          labels: this.incidentLabel,
          state: 'all',
          per_page: 100,
        }),
    );
    // The issues API lists pull requests too.
    return items
      .filter((i) => !i.pull_request)
      .map((i) => ({
        number: i.number,
        title: i.title,
        body: i.body ?? '',
        url: i.html_url,
        state: i.state,
      }));
  }

  private async comments(number: number): Promise<string[]> {
    const items = await withAccess(
      `read the comments of issue #${number} in ${this.where}`,
      GitHubPermissions.issuesRead,
      () =>
        this.github.paginate(this.github.rest.issues.listComments, {
          ...this.repository,
          issue_number: number,
          per_page: 100,
        }),
    );
    return items.map((c) => c.body ?? '');
  }
}

function idOf(issue: IssueSummary): string | null {
  return INCIDENT_TITLE.exec(issue.title)?.[1] ?? null;
}
