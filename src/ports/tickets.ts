/**
 * The issue tracker: `HOT-<n>` tickets for emergencies (docs/integrations.md "Jira and
 * Confluence"). The tracker numbers a ticket opened without an id; an emergency's ticket comes
 * with the id release-flow's incident record gave it, which the wiki page and hotfix branch
 * share. Opening is idempotent by `key`
 * (derive it from repository + version + decision): a retry finds the ticket it opened before.
 */
import type { IncidentKind } from '../domain/incident-ids';

export interface TicketRequest {
  key: string;
  kind: IncidentKind;
  /**
   * The id release-flow gave the incident before the tracker answered (an emergency never waits
   * on it); absent, the tracker numbers the ticket. An id another key already holds is a
   * definitive `IncidentIdTaken`.
   */
  id?: string;
  title: string;
  /** Markdown. */
  body: string;
  labels?: readonly string[];
}

export interface DocumentRef {
  /** `HOT-3`. */
  id: string;
  /** Where a person opens it. */
  url: string;
  /** False when `key` had opened it before. */
  created: boolean;
}

export interface Ticket {
  id: string;
  url: string;
  title: string;
  /** The whole ticket as markdown, updates included. */
  markdown: string;
}

export interface Tickets {
  open(request: TicketRequest): Promise<DocumentRef>;
  /** Adds an update; a second call with the same `key` adds nothing. A definitive DocumentNotFound for an unknown id. */
  comment(request: { id: string; key: string; markdown: string }): Promise<{ added: boolean }>;
  get(id: string): Promise<Ticket | null>;
  /**
   * Adds `markdown` as a final update and closes the ticket (Jira: the configured transition); a
   * second call with the same `key` does nothing and returns closed: false. A definitive
   * DocumentNotFound for an unknown id.
   */
  close(request: { id: string; key: string; markdown: string }): Promise<{ closed: boolean }>;
}
