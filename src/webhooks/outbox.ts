/**
 * The durable outbox: verified deliveries whose start could not reach Temporal, kept in SQLite
 * (WAL, synchronous=FULL: a "queued" answer is on disk before GitHub hears it) until the drainer
 * starts them. One row per workflow id, so any number of deliveries for the same commit or tag
 * wait as one start; every delivery id that asked for it is kept beside it.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { StartRequest } from './route-event';

export const OUTBOX_FILE = 'webhook-outbox.sqlite';

/** Where the outbox of a state directory lives. */
export function outboxPath(stateDir: string): string {
  return path.join(stateDir, OUTBOX_FILE);
}

export interface OutboxEntry {
  /** Queue order: drained oldest first, so pushes start in the order GitHub delivered them. */
  seq: number;
  workflowId: string;
  stage: StartRequest['stage'];
  repository: string;
  request: StartRequest;
  /** The first delivery that asked for this start, and how many distinct deliveries did. */
  delivery: string;
  deliveries: number;
  event: string;
  receivedAt: string;
  attempts: number;
  nextAttemptAt: string;
  lastError?: string;
}

export interface EnqueueInput {
  request: StartRequest;
  repository: string;
  delivery: string;
  event: string;
}

interface Row {
  seq: number;
  workflow_id: string;
  stage: string;
  repository: string;
  request: string;
  delivery_id: string;
  deliveries: number;
  event: string;
  received_at: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  workflow_id TEXT NOT NULL UNIQUE,
  stage TEXT NOT NULL,
  repository TEXT NOT NULL,
  request TEXT NOT NULL,
  delivery_id TEXT NOT NULL,
  event TEXT NOT NULL,
  received_at TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT
);
CREATE TABLE IF NOT EXISTS outbox_deliveries (
  delivery_id TEXT NOT NULL,
  workflow_id TEXT NOT NULL,
  PRIMARY KEY (delivery_id, workflow_id)
);
`;

function toEntry(row: Row): OutboxEntry {
  return {
    seq: row.seq,
    workflowId: row.workflow_id,
    stage: row.stage as StartRequest['stage'],
    repository: row.repository,
    request: JSON.parse(row.request) as StartRequest,
    delivery: row.delivery_id,
    deliveries: row.deliveries,
    event: row.event,
    receivedAt: row.received_at,
    attempts: row.attempts,
    nextAttemptAt: new Date(row.next_attempt_at).toISOString(),
    ...(row.last_error ? { lastError: row.last_error } : {}),
  };
}

const SELECT = `
SELECT o.*, (SELECT count(*) FROM outbox_deliveries d WHERE d.workflow_id = o.workflow_id) AS deliveries
FROM outbox o`;

export class Outbox {
  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
  ) {}

  /** Opens (creating when asked) the outbox file. */
  static open(file: string, opts: { create?: boolean } = {}): Outbox {
    const create = opts.create ?? true;
    if (create) fs.mkdirSync(path.dirname(file), { recursive: true });
    const db = new Database(file, { fileMustExist: !create });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    return new Outbox(db, file);
  }

  /** Keeps a start for later. `added: false` when this workflow id was already waiting. */
  enqueue(input: EnqueueInput, now = Date.now()): { added: boolean; entry: OutboxEntry } {
    const { request } = input;
    const tx = this.db.transaction(() => {
      const inserted = this.db
        .prepare(
          `INSERT INTO outbox (workflow_id, stage, repository, request, delivery_id, event, received_at, next_attempt_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workflow_id) DO NOTHING`,
        )
        .run(
          request.workflowId,
          request.stage,
          input.repository,
          JSON.stringify(request),
          input.delivery,
          input.event,
          new Date(now).toISOString(),
          now,
        );
      this.db
        .prepare('INSERT OR IGNORE INTO outbox_deliveries (delivery_id, workflow_id) VALUES (?, ?)')
        .run(input.delivery, request.workflowId);
      return inserted.changes > 0;
    });
    const added = tx();
    return { added, entry: this.get(request.workflowId)! };
  }

  get(workflowId: string): OutboxEntry | undefined {
    const row = this.db.prepare(`${SELECT} WHERE o.workflow_id = ?`).get(workflowId) as Row | undefined;
    return row ? toEntry(row) : undefined;
  }

  /** Everything waiting, oldest first. */
  list(): OutboxEntry[] {
    return (this.db.prepare(`${SELECT} ORDER BY o.seq`).all() as Row[]).map(toEntry);
  }

  /** How many starts of this repository wait (new deliveries queue behind them to keep push order). */
  waitingFor(repository: string): number {
    const row = this.db.prepare('SELECT count(*) AS n FROM outbox WHERE repository = ?').get(repository) as {
      n: number;
    };
    return row.n;
  }

  size(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
  }

  /** The start went through (or was already there): forget it. */
  remove(workflowId: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM outbox WHERE workflow_id = ?').run(workflowId);
      this.db.prepare('DELETE FROM outbox_deliveries WHERE workflow_id = ?').run(workflowId);
    })();
  }

  /** An attempt failed: count it, say why, and when to try again. */
  recordFailure(workflowId: string, error: string, nextAttemptAt: number): void {
    this.db
      .prepare(
        'UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE workflow_id = ?',
      )
      .run(error.slice(0, 500), nextAttemptAt, workflowId);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
