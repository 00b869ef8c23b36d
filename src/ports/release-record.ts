/**
 * What reached production, kept outside Temporal: a closed run disappears with the namespace's
 * retention, a release must not (docs/pipelines-and-decisions.md "Released means released").
 */
export interface ProductionRelease {
  repository: string;
  version: string;
  /** The first time the version reached production (ISO). */
  releasedAt: string;
  by: string;
}

export interface ReleaseRecord {
  /** Notes that `version` of `repository` runs in production; the first record stays. */
  recordProduction(release: { repository: string; version: string; by: string }): void;
  /** The record of `version` in production, or null when it never got there. */
  released(repository: string, version: string): ProductionRelease | null;
}
