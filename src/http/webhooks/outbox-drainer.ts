/**
 * The retry loop that empties the outbox: oldest first, with exponential backoff while Temporal
 * is unreachable, waking as soon as something is queued. It runs from the moment the receiver
 * opens, so starts queued before a restart are retried after it.
 *
 * Order: each repository is a lane of its own, its starts one after the other in delivery
 * order; up to LANES repositories drain at once, so a burst of one repository does not hold up
 * another's push. A start that fails for any other reason (a bug, a refused request) waits with
 * its own backoff, and later starts of the same repository wait behind it (docs/webhooks.md).
 */
import type { Logger } from '../../common/logging';
import type { Outbox, OutboxEntry } from './outbox';
import { AlreadyReleased } from '../../starter';
import { isTemporalUnavailable } from '../../starter';
import type { PipelineStarter } from './bounded-starts';

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
/** Repositories drained at once. */
const LANES = 4;

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

  // One repository's starts, oldest first, a page at a time. It stops at a start not yet due
  // or just failed (nothing newer of the repository may go before it), and when Temporal is
  // unreachable, which ends the whole pass.
  async function drainRepository(
    repository: string,
    now: number,
    pass: { unavailable: boolean },
  ): Promise<void> {
    const done: string[] = [];
    try {
      for (let page = outbox.page(repository, 0, PAGE_SIZE); page.length > 0;) {
        for (const entry of page) {
          if (stopped || pass.unavailable) return;
          if (Date.parse(entry.nextAttemptAt) > now) return;
          const outcome = await attempt(entry, done);
          if (outcome === 'unavailable') pass.unavailable = true;
          if (outcome !== 'done') return;
        }
        outbox.removeAll(done.splice(0));
        page = outbox.page(repository, page[page.length - 1]!.seq, PAGE_SIZE);
      }
    } finally {
      outbox.removeAll(done);
    }
  }

  async function pass(): Promise<void> {
    const now = Date.now();
    const state = { unavailable: false };
    const repositories = outbox.repositories();
    await Promise.all(
      Array.from({ length: Math.min(LANES, repositories.length) }, async () => {
        for (let next = repositories.shift(); next !== undefined; next = repositories.shift()) {
          if (stopped || state.unavailable) return;
          await drainRepository(next, now, state);
        }
      }),
    );
    if (stopped) return;
    if (state.unavailable) {
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
