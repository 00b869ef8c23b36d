/**
 * The team wiki: retrospective pages `HOT-<n>` (named after the emergency's ticket) and
 * `ROLLBACK-<n>` (numbered by the wiki). Publishing is idempotent by `key`: a retry finds the
 * page it published before; an id already used by another key is a definitive `IncidentIdTaken`.
 */
import type { IncidentKind } from '../domain/incident-ids';
import type { DocumentRef } from './tickets';

export type PageId = { id: string } | { kind: IncidentKind };

export interface PageRequest {
  key: string;
  /** `{ id: 'HOT-3' }` to use the ticket's number, or `{ kind: 'ROLLBACK' }` for the next free one. */
  page: PageId;
  title: string;
  /**
   * Markdown, or a function of the page's id for pages numbered by the wiki (the id is known
   * only once it is handed out): `(id) => renderRetrospective({ id, ... })`.
   */
  content: string | ((id: string) => string);
}

export interface Wiki {
  publish(request: PageRequest): Promise<DocumentRef>;
  /** Adds a section (the hotfix timeline); a second call with the same `key` adds nothing. */
  append(request: { id: string; key: string; markdown: string }): Promise<{ added: boolean }>;
  read(id: string): Promise<{ id: string; url: string; markdown: string } | null>;
}
