/**
 * The records an emergency or a rollback leaves (docs/integrations.md "Jira and Confluence"): the `HOT-<n>`
 * ticket, the `HOT-<n>` / `ROLLBACK-<n>` retrospective page, and the `HOT-<n>` branch off the
 * deployed tag. Each is idempotent by the key the workflow derives from its own id and run, so a
 * retried or replayed activity finds what it made before instead of opening a second ticket.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { RepositoryConfig } from '../config/schema';
import type { IncidentKind } from '../domain/incident-ids';
import {
  renderRetrospective,
  type IncidentDecision,
  type RetrospectiveInput,
} from '../domain/retrospective-template';
import { isUserError } from '../common/errors';
import type { GitPort } from '../ports/git';
import type { GitRefs } from '../ports/git-refs';
import type { DocumentRef, Tickets } from '../ports/tickets';
import type { PageId, Wiki } from '../ports/wiki';
import { workflowUrl } from '../common/ui-links';
import { definitive } from './definitive';
import { FailureTypes } from '../domain/failures';

export interface IncidentPorts {
  /** The tracker of a repository: GitHub issues for one GitHub serves, markdown files otherwise. */
  tickets: (repository: RepositoryConfig) => Promise<Tickets>;
  /** The wiki of a repository: its GitHub wiki or docs folder, or markdown files. */
  wiki: (repository: RepositoryConfig) => Promise<Wiki>;
  repository: (name: string) => RepositoryConfig | undefined;
  git: (repository: RepositoryConfig) => Promise<GitPort & GitRefs>;
  /** Root of the Temporal UI: the ticket links the run. */
  uiUrl?: string;
  /** The release board's address: the ticket links it. */
  boardUrl?: string;
}

export interface IncidentTicketInput {
  key: string;
  kind: IncidentKind;
  /** The id the incident record gave it (an emergency); absent, the tracker numbers it. */
  id?: string;
  repository: string;
  version: string;
  previousVersion?: string | null;
  /** The health verdict's reason. */
  trigger: string;
  decision: IncidentDecision;
  /** The production workflow, for people to find the run. */
  workflowId: string;
}

/**
 * A ticket or page and how it got there: `service` names Jira or Confluence when the repository
 * uses them, and `attempt` above 1 says the service was unavailable (or rate-limited past what
 * one call waits) on the attempts before, which Temporal retried.
 */
export interface IncidentDocumentRef extends DocumentRef {
  service?: 'Jira' | 'Confluence';
  attempt?: number;
}

function attemptOf(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}

export interface RetrospectiveRequest {
  key: string;
  /** `{ id: 'HOT-3' }` (the ticket's number) or `{ kind: 'ROLLBACK' }` (the wiki numbers it). */
  page: PageId;
  retrospective: Omit<RetrospectiveInput, 'id'>;
}

function time(at: number): string {
  return new Date(at).toISOString().replace('.000Z', 'Z');
}

// Outside an activity (a script calling the factory) there is no context: the default namespace.
function namespaceOf(): string {
  try {
    return Context.current().info.workflowNamespace ?? 'default';
  } catch {
    return 'default';
  }
}

/** The repository's configuration, or a definitive `RepositoryNotConfigured`. */
export function configured(
  ports: { repository(name: string): RepositoryConfig | undefined },
  name: string,
): RepositoryConfig {
  const repo = ports.repository(name);
  if (!repo) {
    throw ApplicationFailure.nonRetryable(
      `repository ${name} is not configured`,
      FailureTypes.repositoryNotConfigured,
    );
  }
  return repo;
}

/**
 * Port refusals no retry changes: the definitive ones, and a user's own (a missing clone, GitHub
 * credentials missing or lacking a permission), which say what to fix.
 */
export async function settled<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await definitive(work);
  } catch (err) {
    if (isUserError(err)) throw ApplicationFailure.nonRetryable(err.render(), err.code);
    throw err;
  }
}

export function createIncidentActivities(ports: IncidentPorts) {
  return {
    /** Opens the incident's ticket (`HOT-<n>`), the decision copied in; a retry finds the same ticket. */
    async openIncidentTicket(input: IncidentTicketInput): Promise<IncidentDocumentRef> {
      const d = input.decision;
      const run = ports.uiUrl
        ? workflowUrl({
            uiUrl: ports.uiUrl,
            namespace: namespaceOf(),
            workflowId: input.workflowId,
          })
        : undefined;
      // Sections a tracker shows as a document (Jira's description): summary, impact, the
      // release, the decision with who, when and why, and where to follow the run.
      const body = [
        '## Summary',
        '',
        `${input.repository} ${input.version} broke production (${input.trigger}); **${d.name}** declared by ${d.by}.`,
        '',
        '## Impact',
        '',
        '- Users affected: _to be filled_',
        `- Since: ${time(d.at)}`,
        '',
        '## Release',
        '',
        `- Repository: ${input.repository}`,
        `- Version: ${input.version}${input.previousVersion ? ` (previous production version: ${input.previousVersion})` : ''}`,
        `- Trigger: ${input.trigger}`,
        '',
        '## Decision',
        '',
        `- Decision: **${d.name}** by ${d.by} at ${time(d.at)}`,
        `- Reason given: ${d.reason?.trim() || '(none given)'}`,
        '',
        '## Links',
        '',
        ...(run ? [`- [The release run in the Temporal UI](${run})`] : []),
        ...(ports.boardUrl ? [`- [The release board](${ports.boardUrl})`] : []),
        `- Workflow: \`${input.workflowId}\` (query \`status\`)`,
      ].join('\n');
      const repo = configured(ports, input.repository);
      const ref = await settled(async () =>
        (await ports.tickets(repo)).open({
          key: input.key,
          kind: input.kind,
          ...(input.id ? { id: input.id } : {}),
          title: `${input.repository} ${input.version}: ${d.name} declared by ${d.by}`,
          body,
          labels: ['release-flow', input.kind === 'HOT' ? 'sev-1' : 'rollback'],
        }),
      );
      return { ...ref, ...(repo.jira ? { service: 'Jira' as const } : {}), attempt: attemptOf() };
    },

    /** Publishes the retrospective page from the template (decision and timeline in it). */
    async publishRetrospective(input: RetrospectiveRequest): Promise<IncidentDocumentRef> {
      const r = input.retrospective;
      const what = r.kind === 'HOT' ? 'Emergency hotfix' : 'Rollback';
      const repo = configured(ports, r.repository);
      const ref = await settled(async () =>
        (await ports.wiki(repo)).publish({
          key: input.key,
          page: input.page,
          title: `${what} of ${r.repository} ${r.version}`,
          content: (id) => renderRetrospective({ ...r, id }),
        }),
      );
      return { ...ref, ...(repo.confluence ? { service: 'Confluence' as const } : {}), attempt: attemptOf() };
    },

    /** Creates branch `HOT-<n>` at the commit the deployed version's tag marks. */
    async createHotfixBranch(input: {
      repository: string;
      branch: string;
      tag: string;
    }): Promise<{ created: boolean; commit: string }> {
      const repo = configured(ports, input.repository);
      return await settled(async () =>
        (await ports.git(repo)).createBranchFromTag({ branch: input.branch, tag: input.tag }),
      );
    },
  };
}
