/**
 * The retry loop that empties the outbox: oldest first, with exponential backoff while Temporal
 * is unreachable, waking as soon as something is queued. It runs from the moment the receiver
 * opens, so starts queued before a restart are retried after it.
 *
 * Order: a start that fails for any other reason (a bug, a refused request) waits with its own
 * backoff, and later starts of the same repository wait behind it, so pushes of one repository
 * start in delivery order (README "Webhooks").
 */
import type { Logger } from '../common/logging';
import type { Outbox, OutboxEntry } from './outbox';
import { AlreadyReleased } from '../temporal/workflow-starts';
import { isTemporalUnavailable, type PipelineStarter } from './pipeline-starter';

export interface DrainerOptions {
  outbox: Outbox;
  starter: PipelineStarter;
  logger: Logger;
  /** First retry delay (default 1 s); doubles per failed pass up to maxDelayMs (default 30 s). */
  minDelayMs?: number;
  maxDelayMs?: number;
}

export interface OutboxDrainer {
  /** Something was queued: drain now unless a backoff is running. */
  notify(): void;
  /** One pass now (tests, shutdown); resolves when it ends. */
  drainNow(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts read from the outbox at a time: a long queue is never read whole. */
const PAGE_SIZE = 200;

function message(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

export function startOutboxDrainer(opts: DrainerOptions): OutboxDrainer {
  const { outbox, starter, logger } = opts;
  const minDelay = opts.minDelayMs ?? 1_000;
  const maxDelay = opts.maxDelayMs ?? 30_000;
  let delay = minDelay;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let backingOff = false;
  let stopped = false;

  const jitter = (ms: number) => Math.round(ms * (0.9 + Math.random() * 0.2));

  function schedule(ms: number): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void drainNow();
    }, ms);
    timer.unref();
  }

  // `done` collects what went through; it leaves the outbox a page at a time (one commit), and a
  // start that crashes before that is started again and found already there.
  async function attempt(entry: OutboxEntry, done: string[]): Promise<'done' | 'unavailable' | 'failed'> {
    try {
      const result = await starter.start(entry.request);
      done.push(entry.workflowId);
      logger.info(
        {
          delivery: entry.delivery,
          event: entry.event,
          repository: entry.repository,
          decision: result.started ? 'started' : 'already-started',
          workflowId: result.workflowId,
          queuedAt: entry.receivedAt,
          attempts: entry.attempts + 1,
        },
        'outbox: queued start delivered',
      );
      return 'done';
    } catch (err) {
      if (err instanceof AlreadyReleased) {
        // The version reached production while this start waited: it is not released twice.
        done.push(entry.workflowId);
        logger.warn(
          {
            delivery: entry.delivery,
            repository: entry.repository,
            workflowId: entry.workflowId,
            reason: err.message,
          },
          'outbox: queued start dropped: already released',
        );
        return 'done';
      }
      const unavailable = isTemporalUnavailable(err);
      const wait = unavailable ? delay : Math.min(maxDelay, minDelay * 2 ** Math.min(entry.attempts, 16));
      outbox.recordFailure(entry.workflowId, message(err), Date.now() + wait);
      if (unavailable) return 'unavailable';
      logger.error(
        { err, delivery: entry.delivery, repository: entry.repository, workflowId: entry.workflowId },
        'outbox: start refused; kept for a later attempt',
      );
      return 'failed';
    }
  }

  // One page, oldest first: 'unavailable' ends the pass (Temporal is away), and a repository
  // whose oldest waiting start is not due (or just failed) starts nothing newer.
  async function drainPage(
    page: OutboxEntry[],
    now: number,
    blocked: Set<string>,
    done: string[],
  ): Promise<'unavailable' | 'stopped' | 'drained'> {
    for (const entry of page) {
      if (stopped) return 'stopped';
      if (blocked.has(entry.repository)) continue;
      if (Date.parse(entry.nextAttemptAt) > now) {
        blocked.add(entry.repository);
        continue;
      }
      const outcome = await attempt(entry, done);
      if (outcome === 'unavailable') return 'unavailable';
      if (outcome === 'failed') blocked.add(entry.repository);
    }
    return 'drained';
  }

  async function pass(): Promise<void> {
    const blocked = new Set<string>();
    const now = Date.now();
    const done: string[] = [];
    let unavailable = false;
    try {
      for (let page = outbox.page(0, PAGE_SIZE); page.length > 0;) {
        const outcome = await drainPage(page, now, blocked, done);
        outbox.removeAll(done.splice(0));
        if (outcome === 'unavailable') unavailable = true;
        if (outcome !== 'drained') break;
        page = outbox.page(page[page.length - 1]!.seq, PAGE_SIZE);
      }
    } finally {
      outbox.removeAll(done);
    }
    if (stopped) return;
    if (unavailable) {
      logger.warn({ waiting: outbox.size(), retryInMs: delay }, 'outbox: Temporal unreachable; will retry');
      backingOff = true;
      schedule(jitter(delay));
      delay = Math.min(delay * 2, maxDelay);
      return;
    }
    backingOff = false;
    delay = minDelay;
    // Something still waits (its own backoff, or queued during this pass).
    const earliest = outbox.nextDueAt();
    if (earliest !== undefined) schedule(Math.max(0, earliest - Date.now()));
  }

  function drainNow(): Promise<void> {
    if (stopped) return Promise.resolve();
    running ??= pass()
      .catch((err) => logger.error({ err }, 'outbox: drain pass failed'))
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  schedule(0);
  return {
    notify() {
      if (!backingOff && !running && !stopped) schedule(0);
    },
    drainNow,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
