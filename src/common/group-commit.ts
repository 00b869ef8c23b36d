/**
 * Group commit: writes that arrive close together share one transaction, so a burst of webhook
 * deliveries costs one disk flush per window instead of one per delivery. A batch is written at
 * most once per `windowMs`; the first write after a quiet spell goes out at once, so an idle
 * receiver adds no delay.
 */
export interface GroupCommitOptions {
  /** The shortest time between two commits (default 5 ms). */
  windowMs?: number;
}

interface Waiting<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

export class GroupCommit<T, R> {
  private waiting: Waiting<T, R>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastCommitAt = -Infinity;
  private readonly windowMs: number;

  /** `commit` writes a whole batch in one transaction and returns one result per item, in order. */
  constructor(
    private readonly commit: (items: T[]) => R[],
    opts: GroupCommitOptions = {},
  ) {
    this.windowMs = opts.windowMs ?? 5;
  }

  /** Resolves with the item's result once its batch is committed; rejects when the batch failed. */
  add(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** The items not committed yet. */
  pending(): readonly T[] {
    return this.waiting.map((w) => w.item);
  }

  /** Commits what waits now (before closing the file under it). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 0) return;
    this.lastCommitAt = performance.now();
    let results: R[];
    try {
      results = this.commit(batch.map((w) => w.item));
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    batch.forEach((w, i) => w.resolve(results[i]!));
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.lastCommitAt + this.windowMs - performance.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }
}
