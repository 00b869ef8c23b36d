/**
 * Incident identifiers: `HOT-<n>` for emergencies, `ROLLBACK-<n>` for rollbacks (docs/pipelines-and-decisions.md
 * "Release rules"). The same id names the ticket, the wiki page and the hotfix branch, so it
 * must never be handed out twice.
 */

export const IncidentKinds = {
  /** An emergency (SEV-1/P0): ticket, wiki page and branch `HOT-<n>`. */
  hotfix: 'HOT',
  /** A rollback: wiki page `ROLLBACK-<n>`. */
  rollback: 'ROLLBACK',
} as const;
export type IncidentKind = (typeof IncidentKinds)[keyof typeof IncidentKinds];

/** The number in `HOT-12` when it is an id of `kind`, else null. */
export function incidentNumber(id: string, kind: IncidentKind): number | null {
  const match = new RegExp(`^${kind}-(\\d+)$`).exec(id.trim());
  if (!match) return null;
  const n = Number(match[1]);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * The next free id of `kind`: one past the highest existing number, `HOT-1` when there is none.
 * Each kind counts on its own. Gaps are never reused: a deleted page's number may still be in
 * old alerts and tickets. `existing` may hold ids of any kind and other names; they are ignored.
 */
export function nextIncidentId(kind: IncidentKind, existing: Iterable<string>): string {
  let highest = 0;
  for (const id of existing) {
    const n = incidentNumber(id, kind);
    if (n !== null && n > highest) highest = n;
  }
  return `${kind}-${highest + 1}`;
}
