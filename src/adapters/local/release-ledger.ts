/**
 * The release ledger: every webhook delivery id seen and every version that reached production,
 * in SQLite under the state directory (`releases.sqlite`, WAL, synchronous=FULL), kept for good:
 * Temporal's retention drops closed runs after days, and with them the only other memory that a
 * tag was already released. Forced re-releases are recorded with who and why.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { GroupCommit } from '../../common/group-commit';
import type { ProductionRelease, ReleaseRecord } from '../../ports/release-record';

export const RELEASE_LEDGER_FILE = 'releases.sqlite';

export function releaseLedgerPath(stateDir: string): string {
  return path.join(stateDir, RELEASE_LEDGER_FILE);
}

export interface SeenDelivery {
  delivery: string;
  event: string;
  repository: string | null;
  decision: string;
  workflowId: string | null;
  seenAt: string;
}

export interface ForcedRelease {
  repository: string;
  version: string;
  by: string;
  reason: string;
  at: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS deliveries (
  delivery_id TEXT PRIMARY KEY,
  event TEXT NOT NULL,
  repository TEXT,
  decision TEXT NOT NULL,
  workflow_id TEXT,
  seen_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS production_releases (
  repository TEXT NOT NULL,
  version TEXT NOT NULL,
  released_at TEXT NOT NULL,
  released_by TEXT NOT NULL,
  PRIMARY KEY (repository, version)
);
CREATE TABLE IF NOT EXISTS forced_releases (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  repository TEXT NOT NULL,
  version TEXT NOT NULL,
  forced_by TEXT NOT NULL,
  reason TEXT NOT NULL,
  at TEXT NOT NULL
);
`;

// Repository names are matched as GitHub matches them: without regard to case.
const key = (repository: string) => repository.toLowerCase();

export interface ReleaseLedgerOptions {
  /** A batch of delivery records could not be written (those records are lost; the releases are not). */
  onDeliveryWriteError?: (err: unknown) => void;
}

/** Delivery records are not waited on: they may wait longer for their commit than outbox starts. */
const DELIVERY_COMMIT_WINDOW_MS = 20;

export class ReleaseLedger implements ReleaseRecord {
  /** Delivery records waiting for the next group commit. */
  private readonly deliveries: GroupCommit<SeenDelivery, void>;

  private constructor(
    readonly file: string,
    private readonly db: Database.Database,
    private readonly opts: ReleaseLedgerOptions,
  ) {
    const upsert = db.prepare(
      `INSERT INTO deliveries (delivery_id, event, repository, decision, workflow_id, seen_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(delivery_id) DO UPDATE SET decision = excluded.decision, workflow_id = excluded.workflow_id`,
    );
    this.deliveries = new GroupCommit(
      (batch) =>
        db.transaction(() =>
          batch.map((d) => {
            upsert.run(d.delivery, d.event, d.repository, d.decision, d.workflowId, d.seenAt);
          }),
        )(),
      { windowMs: DELIVERY_COMMIT_WINDOW_MS },
    );
  }

  static open(file: string, opts: ReleaseLedgerOptions = {}): ReleaseLedger {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    return new ReleaseLedger(file, db, opts);
  }

  recordProduction(release: { repository: string; version: string; by: string }): void {
    this.db
      .prepare(
        'INSERT OR IGNORE INTO production_releases (repository, version, released_at, released_by) VALUES (?, ?, ?, ?)',
      )
      .run(key(release.repository), release.version, new Date().toISOString(), release.by);
  }

  released(repository: string, version: string): ProductionRelease | null {
    const row = this.db
      .prepare(
        'SELECT repository, version, released_at, released_by FROM production_releases WHERE repository = ? AND version = ?',
      )
      .get(key(repository), version) as
      { repository: string; version: string; released_at: string; released_by: string } | undefined;
    return row
      ? { repository: row.repository, version: row.version, releasedAt: row.released_at, by: row.released_by }
      : null;
  }

  /** A person's decision to release a version again, kept beside the releases. */
  recordForced(forced: { repository: string; version: string; by: string; reason: string }): void {
    this.db
      .prepare(
        'INSERT INTO forced_releases (repository, version, forced_by, reason, at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(key(forced.repository), forced.version, forced.by, forced.reason, new Date().toISOString());
  }

  forced(repository: string, version: string): ForcedRelease[] {
    const rows = this.db
      .prepare(
        'SELECT repository, version, forced_by, reason, at FROM forced_releases WHERE repository = ? AND version = ? ORDER BY seq',
      )
      .all(key(repository), version) as {
      repository: string;
      version: string;
      forced_by: string;
      reason: string;
      at: string;
    }[];
    return rows.map((r) => ({
      repository: r.repository,
      version: r.version,
      by: r.forced_by,
      reason: r.reason,
      at: r.at,
    }));
  }

  /** The first sighting of a delivery id, or null when it was never seen. */
  delivery(id: string): SeenDelivery | null {
    const pending = this.pendingDelivery(id);
    const stored = this.storedDelivery(id);
    if (!pending) return stored;
    return stored ? { ...stored, decision: pending.decision, workflowId: pending.workflowId } : pending;
  }

  private storedDelivery(id: string): SeenDelivery | null {
    const row = this.db
      .prepare(
        'SELECT delivery_id, event, repository, decision, workflow_id, seen_at FROM deliveries WHERE delivery_id = ?',
      )
      .get(id) as
      | {
          delivery_id: string;
          event: string;
          repository: string | null;
          decision: string;
          workflow_id: string | null;
          seen_at: string;
        }
      | undefined;
    return row
      ? {
          delivery: row.delivery_id,
          event: row.event,
          repository: row.repository,
          decision: row.decision,
          workflowId: row.workflow_id,
          seenAt: row.seen_at,
        }
      : null;
  }

  private pendingDelivery(id: string): SeenDelivery | undefined {
    return [...this.deliveries.pending()].reverse().find((d) => d.delivery === id);
  }

  /**
   * Keeps a delivery's decision; a later answer to the same id replaces it, its first time stays.
   * Written with the next group commit (deliveries answered close together share one disk
   * flush); `delivery()` sees it at once.
   */
  recordDelivery(seen: Omit<SeenDelivery, 'seenAt'>): void {
    const seenAt = this.pendingDelivery(seen.delivery)?.seenAt ?? new Date().toISOString();
    this.deliveries.add({ ...seen, seenAt }).catch((err: unknown) => this.opts.onDeliveryWriteError?.(err));
  }

  close(): void {
    if (this.db.open) this.deliveries.flush();
    if (this.db.open) this.db.close();
  }
}
