/**
 * The record of each emergency's hotfix (docs/pipelines-and-decisions.md "Hotfix flow"): opened by the emergency, told of
 * every hotfix version, closed once a hotfix is healthy in production. `release-flow hotfix
 * status` shows these records; the pipelines ask them whether a version or branch is a hotfix
 * of an open incident.
 */

export const IncidentStates = {
  /** Declared; no hotfix version yet. */
  open: 'open',
  /** A hotfix version is on its way (built, tagged, in staging or production). */
  releasing: 'releasing',
  /** A hotfix was healthy in production: staging is normal again, the PR back is open. */
  closed: 'closed',
} as const;
export type IncidentState = (typeof IncidentStates)[keyof typeof IncidentStates];

export interface IncidentRecord {
  /** `HOT-3`: the ticket, the wiki page and the branch. */
  id: string;
  repository: string;
  branch: string;
  state: IncidentState;
  /** The production version that broke. */
  brokenVersion: string;
  decision: { name: string; by: string; at: string; reason?: string };
  /** Hotfix versions in the order they were given out. */
  hotfixVersions: string[];
  /** The pull request from the branch back into the default branch, once opened. */
  pullRequest: { number: number; url: string } | null;
  openedAt: string;
  closedAt: string | null;
  ticketUrl?: string;
  wikiUrl?: string;
  /** Which commit got which hotfix version (a rebuilt push gets its version again). */
  commits?: Record<string, string>;
  /** Who ended it by hand, when not by a healthy hotfix. */
  closedBy?: string;
  /** The emergency's own key when the record numbered the incident (a retry finds its record). */
  key?: string;
}

/** What an emergency records before its id exists: the record numbers it. */
export type IncidentReservation = Omit<
  IncidentRecord,
  'id' | 'branch' | 'state' | 'hotfixVersions' | 'pullRequest' | 'closedAt' | 'key'
>;

export interface Incidents {
  /** Records an incident; a second call for the same repository and id returns the first record. */
  open(
    record: Omit<IncidentRecord, 'state' | 'hotfixVersions' | 'pullRequest' | 'closedAt'>,
  ): Promise<IncidentRecord>;
  /**
   * Numbers and records an emergency's incident in one step, before any ticket exists: the id
   * is one past the highest `HOT-<n>` of every record (any repository), never reused; a second
   * call with the same `key` returns the first record.
   */
  reserve(key: string, record: IncidentReservation): Promise<IncidentRecord>;
  get(repository: string, id: string): Promise<IncidentRecord | null>;
  list(): Promise<IncidentRecord[]>;
  /** Changes a record under its lock: `change` gets the current record and returns the next. */
  update(
    repository: string,
    id: string,
    change: (record: IncidentRecord) => IncidentRecord,
  ): Promise<IncidentRecord>;
}
