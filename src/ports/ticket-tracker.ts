/**
 * What the PR gate and the release links read and write in a tracker that holds the team's own
 * tickets (Jira): whether a branch's TICKET-ID exists and is done, and links back from the
 * ticket to the pull requests and releases that carry it.
 */
export interface TrackedTicket {
  /** The tracker's key (`JIRA-1234`). */
  key: string;
  /** Where a person opens it. */
  url: string;
  summary: string;
  /** The status's name (`In Progress`). */
  status: string;
  /** True when the status is in the tracker's done category. */
  done: boolean;
}

export interface TicketLinkRequest {
  /** The ticket's key (`JIRA-1234`). */
  ticket: string;
  /** Idempotency: the same key updates the one link instead of adding a second. */
  key: string;
  url: string;
  title: string;
  summary?: string;
}

export interface TicketTracker {
  /** The ticket, or null when it does not exist (or the account cannot see it). */
  lookup(key: string): Promise<TrackedTicket | null>;
  /** Links `url` on the ticket (a remote link); `linked: false` when the ticket does not exist. */
  link(request: TicketLinkRequest): Promise<{ linked: boolean }>;
}
