/**
 * Releases linked back on their tickets (docs/integrations.md "Jira and Confluence"): when a release version
 * is recorded good in an environment, each Jira ticket its commits are scoped to
 * (`feat(JIRA-1234): ...`, since the previous release tag) gets a remote link naming the
 * version and where it runs, leading to the run in the Temporal UI. One link per version and
 * environment: a retry or a second check updates it. Best effort: a tracker that is away or
 * refuses never fails the release; what could not be linked is logged.
 */
import { Context, log } from '@temporalio/activity';
import type { RepositoryConfig } from '../config/schema';
import { maskSecrets } from '../common/secrets';
import { DEFAULT_TICKET_PATTERN } from '../domain/pr-policy';
import { DEFAULT_RELEASE_TAG_FORMAT } from '../domain/release-tags';
import type { GitPort } from '../ports/git';
import type { GitRefs } from '../ports/git-refs';
import type { TicketTracker } from '../ports/ticket-tracker';
import { workflowUrl } from '../common/ui-links';

export interface ReleaseLinkPorts {
  repository: (name: string) => RepositoryConfig | undefined;
  git: (repository: RepositoryConfig) => Promise<GitPort & GitRefs>;
  /** The repository's Jira, when configured. */
  jira: (repository: RepositoryConfig) => TicketTracker | undefined;
  uiUrl?: string;
}

export interface ReleaseLinkInput {
  repository: string;
  env: string;
  version: string;
  /** The workflow that recorded it (the link leads to it). */
  by: string;
  namespace?: string;
}

// Tickets a release can name at most: an old first release must not link the whole history.
const MAX_TICKETS = 50;
const SCOPE = /^\w+\(([^()\r\n]*)\)!?: /;

/** The ticket ids the commits are scoped to, newest first, each once. */
export function ticketsOf(messages: readonly string[]): string[] {
  const ticket = new RegExp(`^(?:${DEFAULT_TICKET_PATTERN})$`);
  const found: string[] = [];
  for (const message of messages) {
    const scope = SCOPE.exec(message)?.[1];
    if (scope && ticket.test(scope) && !found.includes(scope)) found.push(scope);
  }
  return found.slice(0, MAX_TICKETS);
}

function namespaceOf(): string {
  try {
    return Context.current().info.workflowNamespace ?? 'default';
  } catch {
    return 'default';
  }
}

export async function linkReleaseOnTickets(
  ports: ReleaseLinkPorts,
  input: ReleaseLinkInput,
): Promise<{ linked: string[] }> {
  const repo = ports.repository(input.repository);
  const tracker = repo ? ports.jira(repo) : undefined;
  if (!repo || !tracker || !ports.uiUrl || !new RegExp(repo.releaseTagPattern).test(input.version)) {
    return { linked: [] };
  }
  const linked: string[] = [];
  try {
    const git = await ports.git(repo);
    const at = await git.resolveCommit(input.version);
    const rule = { pattern: repo.releaseTagPattern, format: DEFAULT_RELEASE_TAG_FORMAT };
    const previous = await git.lastReleaseTag(`${at}~1`, rule).catch(() => null);
    const commits = await git.commitsBetween(previous?.commit ?? null, at);
    const url = workflowUrl({
      uiUrl: ports.uiUrl,
      namespace: input.namespace ?? namespaceOf(),
      workflowId: input.by,
    });
    for (const ticket of ticketsOf(commits.map((c) => c.message))) {
      const { linked: done } = await tracker.link({
        ticket,
        key: `${input.repository}@${input.version}/${input.env}`,
        url,
        title: `${input.repository} ${input.version} runs in ${input.env}`,
        summary: `released by release-flow (${input.by})`,
      });
      if (done) linked.push(ticket);
    }
  } catch (err) {
    log.warn('release not linked on its tickets', {
      repository: input.repository,
      version: input.version,
      env: input.env,
      error: maskSecrets(err instanceof Error ? err.message : String(err)),
    });
  }
  return { linked };
}
