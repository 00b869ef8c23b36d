/**
 * The durable outbox: verified deliveries whose start could not reach Temporal, kept in SQLite
 * (WAL, synchronous=FULL: a "queued" answer is on disk before GitHub hears it) until the drainer
 * starts them. One row per workflow id, so any number of deliveries for the same commit or tag
 * wait as one start; every delivery id that asked for it is kept beside it.
 *
 * Under load the receiver queues through `enqueueDurably`: deliveries that arrive within a few
 * milliseconds share one commit, so a burst costs one disk flush per batch, not one per
 * delivery (group commit; docs/webhooks.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { GroupCommit } from '../../common/group-commit';
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
CREATE INDEX IF NOT EXISTS outbox_deliveries_by_workflow ON outbox_deliveries (workflow_id);
CREATE INDEX IF NOT EXISTS outbox_by_repository ON outbox (repository, seq);
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

// Prepared once: preparing a statement costs about as much as running it.
function prepareStatements(db: Database.Database) {
  return {
    insert: db.prepare(
      `INSERT INTO outbox (workflow_id, stage, repository, request, delivery_id, event, received_at, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workflow_id) DO NOTHING`,
    ),
    insertDelivery: db.prepare(
      'INSERT OR IGNORE INTO outbox_deliveries (delivery_id, workflow_id) VALUES (?, ?)',
    ),
    get: db.prepare(`${SELECT} WHERE o.workflow_id = ?`),
    list: db.prepare(`${SELECT} ORDER BY o.seq`),
    page: db.prepare(`${SELECT} WHERE o.repository = ? AND o.seq > ? ORDER BY o.seq LIMIT ?`),
    // Only each repository's oldest start counts: the ones behind it wait for it, whenever due.
    nextDueAt: db.prepare(
      'SELECT min(next_attempt_at) AS at FROM outbox WHERE seq IN (SELECT min(seq) FROM outbox GROUP BY repository)',
    ),
    countByRepository: db.prepare('SELECT repository, count(*) AS n FROM outbox GROUP BY repository'),
    size: db.prepare('SELECT count(*) AS n FROM outbox'),
    remove: db.prepare('DELETE FROM outbox WHERE workflow_id = ? RETURNING repository'),
    removeDeliveries: db.prepare('DELETE FROM outbox_deliveries WHERE workflow_id = ?'),
    recordFailure: db.prepare(
      'UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE workflow_id = ?',
    ),
  };
}

export class Outbox {
  /** Enqueues waiting for the next group commit. */
  private readonly writes: GroupCommit<{ input: EnqueueInput; now: number }, boolean>;
  private readonly statements: ReturnType<typeof prepareStatements>;
  /**
   * Waiting starts per repository, counted here rather than on disk at every delivery (a count
   * over a long queue costs more than the rest of an answer). The receiver is the outbox's
   * only writer, so the count stays exact.
   */
  private readonly waiting = new Map<string, number>();

  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
  ) {
    this.statements = prepareStatements(db);
    for (const row of this.statements.countByRepository.all() as { repository: string; n: number }[])
      this.waiting.set(row.repository, row.n);
    this.writes = new GroupCommit((items) => this.insertAll(items));
  }

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

  private insert(input: EnqueueInput, now: number): boolean {
    const { request } = input;
    const inserted = this.statements.insert.run(
      request.workflowId,
      request.stage,
      input.repository,
      JSON.stringify(request),
      input.delivery,
      input.event,
      new Date(now).toISOString(),
      now,
    );
    this.statements.insertDelivery.run(input.delivery, request.workflowId);
    return inserted.changes > 0;
  }

  /** One commit for all; counted as waiting once it holds. */
  private insertAll(items: readonly { input: EnqueueInput; now: number }[]): boolean[] {
    const added = this.db.transaction(() => items.map(({ input, now }) => this.insert(input, now)))();
    items.forEach(({ input }, i) => added[i] && this.count(input.repository, +1));
    return added;
  }

  private count(repository: string, by: number): void {
    const n = (this.waiting.get(repository) ?? 0) + by;
    if (n > 0) this.waiting.set(repository, n);
    else this.waiting.delete(repository);
  }

  /** Keeps a start for later. `added: false` when this workflow id was already waiting. */
  enqueue(input: EnqueueInput, now = Date.now()): { added: boolean; entry: OutboxEntry } {
    const [added] = this.insertAll([{ input, now }]);
    return { added: added!, entry: this.get(input.request.workflowId)! };
  }

  /**
   * Keeps a start for later; resolves once it is on disk. Enqueues made close together share
   * one commit. Until then the start already counts as waiting (waitingFor), so later
   * deliveries of its repository queue behind it.
   */
  async enqueueDurably(input: EnqueueInput, now = Date.now()): Promise<{ added: boolean }> {
    return { added: await this.writes.add({ input, now }) };
  }

  get(workflowId: string): OutboxEntry | undefined {
    const row = this.statements.get.get(workflowId) as Row | undefined;
    return row ? toEntry(row) : undefined;
  }

  /** Everything waiting, oldest first. */
  list(): OutboxEntry[] {
    return (this.statements.list.all() as Row[]).map(toEntry);
  }

  /** Up to `limit` starts of `repository` queued after `afterSeq`, oldest first (the drainer reads in pages). */
  page(repository: string, afterSeq: number, limit: number): OutboxEntry[] {
    return (this.statements.page.all(repository, afterSeq, limit) as Row[]).map(toEntry);
  }

  /** The repositories with starts waiting. */
  repositories(): string[] {
    return [...this.waiting.keys()];
  }

  /** When the next start may go (epoch ms): the soonest due of each repository's oldest; undefined when nothing waits. */
  nextDueAt(): number | undefined {
    const row = this.statements.nextDueAt.get() as { at: number | null };
    return row.at ?? undefined;
  }

  /** How many starts of this repository wait, on disk or about to be (new deliveries queue behind them to keep push order). */
  waitingFor(repository: string): number {
    const pending = this.writes.pending().filter((p) => p.input.repository === repository).length;
    return (this.waiting.get(repository) ?? 0) + pending;
  }

  size(): number {
    return (this.statements.size.get() as { n: number }).n;
  }

  /** The start went through (or was already there): forget it. */
  remove(workflowId: string): void {
    this.removeAll([workflowId]);
  }

  /** Several starts went through: forget them in one commit. */
  removeAll(workflowIds: readonly string[]): void {
    if (workflowIds.length === 0) return;
    const removed = this.db.transaction(() =>
      workflowIds.flatMap((id) => {
        const row = this.statements.remove.get(id) as { repository: string } | undefined;
        this.statements.removeDeliveries.run(id);
        return row ? [row.repository] : [];
      }),
    )();
    for (const repository of removed) this.count(repository, -1);
  }

  /** An attempt failed: count it, say why, and when to try again. */
  recordFailure(workflowId: string, error: string, nextAttemptAt: number): void {
    this.statements.recordFailure.run(error.slice(0, 500), nextAttemptAt, workflowId);
  }

  /** Writes what waits for the group commit, then closes the file. */
  close(): void {
    if (this.db.open) this.writes.flush();
    if (this.db.open) this.db.close();
  }
}
