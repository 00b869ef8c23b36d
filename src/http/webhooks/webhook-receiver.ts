/**
 * The receiver as the app mounts it: the outbox file under the state directory, its drainer
 * running, and the route. One call to open, one to close (drainer first, then the file).
 */
import type { Client } from '@temporalio/client';
import type { Route } from '../server';
import type { Logger } from '../../common/logging';
import { ReleaseLedger, releaseLedgerPath } from '../../adapters/local/release-ledger';
import { Outbox, outboxPath } from './outbox';
import { startOutboxDrainer, type OutboxDrainer } from './outbox-drainer';
import { temporalStarter, type PipelineStarter } from './bounded-starts';
import type { BodyBudget } from './raw-body';
import { webhookRoutes } from './webhook-routes';
import type { RoutedRepository } from './route-event';

export interface WebhookReceiverOptions {
  /** Absolute state directory; the outbox is `<stateDir>/webhook-outbox.sqlite`. */
  stateDir: string;
  repositories: readonly RoutedRepository[];
  /** GITHUB_WEBHOOK_SECRET. */
  secret: string | undefined;
  /** The app's client once connected (undefined before: deliveries are queued). */
  client: () => Client | undefined;
  taskQueue: string;
  searchAttributes?: boolean;
  logger: Logger;
  bodyLimitBytes?: number;
  /** What unverified bodies may hold at once (docs/webhooks.md: hostile load). */
  bodyBudget?: BodyBudget;
  /** Longest wait for one start before the delivery is queued instead (default 3 s). */
  startTimeoutMs?: number;
  /** Starts waited on at once before deliveries go straight to the outbox (default 8). */
  maxStartsInFlight?: number;
  /** Outbox retry backoff (defaults 1 s doubling to 30 s). */
  retryMinDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Replaces the Temporal starter (tests). */
  starter?: PipelineStarter;
}

export interface WebhookReceiver {
  routes: Route[];
  outbox: Outbox;
  ledger: ReleaseLedger;
  drainer: OutboxDrainer;
  close(): Promise<void>;
}

const DRAIN_START_TIMEOUT_MS = 10_000;

export function openWebhookReceiver(opts: WebhookReceiverOptions): WebhookReceiver {
  const logger = opts.logger.child({ component: 'webhooks' });
  if (!opts.secret) {
    logger.warn('GITHUB_WEBHOOK_SECRET is not set: POST /webhooks/github refuses every delivery (503)');
  }
  const ledger = ReleaseLedger.open(releaseLedgerPath(opts.stateDir), {
    onDeliveryWriteError: (err) =>
      logger.error({ err }, 'could not record deliveries in the release ledger; will retry with the next'),
  });
  const starter =
    opts.starter ??
    temporalStarter(opts.client, {
      taskQueue: opts.taskQueue,
      searchAttributes: opts.searchAttributes,
      timeoutMs: opts.startTimeoutMs,
      releases: ledger,
    });
  // The drainer has no delivery waiting on its answer: its starts get a long deadline, so a busy
  // server still drains the outbox (a short answer budget would cancel every start it tries).
  const drainStarter =
    opts.starter ??
    temporalStarter(opts.client, {
      taskQueue: opts.taskQueue,
      searchAttributes: opts.searchAttributes,
      timeoutMs: Math.max(opts.startTimeoutMs ?? 0, DRAIN_START_TIMEOUT_MS),
    });
  const outbox = Outbox.open(outboxPath(opts.stateDir));
  const waiting = outbox.size();
  if (waiting > 0)
    logger.info({ waiting, file: outbox.file }, 'outbox: starts waiting from before; draining');
  const drainer = startOutboxDrainer({
    outbox,
    starter: drainStarter,
    logger,
    minDelayMs: opts.retryMinDelayMs,
    maxDelayMs: opts.retryMaxDelayMs,
  });
  const routes = webhookRoutes({
    secret: opts.secret,
    repositories: opts.repositories,
    starter,
    outbox,
    onQueued: () => drainer.notify(),
    ...(opts.maxStartsInFlight ? { maxStartsInFlight: opts.maxStartsInFlight } : {}),
    logger,
    bodyLimitBytes: opts.bodyLimitBytes,
    ...(opts.bodyBudget ? { bodyBudget: opts.bodyBudget } : {}),
    ledger,
  });
  let closed: Promise<void> | undefined;
  return {
    routes,
    outbox,
    ledger,
    drainer,
    close: () =>
      (closed ??= drainer.stop().then(async () => {
        // A start a delivery gave up waiting on may still be retrying; its caller's connection
        // must outlive it.
        await Promise.all([starter.idle?.(), drainStarter.idle?.()]);
        outbox.close();
        ledger.close();
      })),
  };
}
