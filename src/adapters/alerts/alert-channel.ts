/**
 * One destination of alerts (a Slack webhook, a PagerDuty service), as the alert router
 * (routed-alerts.ts) drives it. A channel answers or throws a `ChannelFailure` saying whether
 * another attempt can help (429 and 5xx) and how long to wait (Retry-After).
 */
import type { Alert, ChangeNotice } from '../../ports/alerts';

export class ChannelFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ChannelFailure';
  }
}

export interface DeliveryContext {
  /** The reference the channel gave the first alert about the same release (a Slack `ts`). */
  thread?: string;
}

export interface AlertChannel {
  readonly name: string;
  readonly type: 'slack' | 'pagerduty';
  /** Sends; resolves with the channel's reference for the message (to thread re-alerts under). */
  deliver(alert: Alert, context: DeliveryContext): Promise<{ ref?: string }>;
  /** Closes the release's incident; channels without incidents leave it out. */
  resolve?(release: { repository: string; version: string; reason: string }): Promise<void>;
  /** Records a production change; channels without change tracking leave it out. */
  change?(notice: ChangeNotice): Promise<void>;
  /** What is missing to use the channel (unset variables), for `doctor` and startup. */
  problems(): string[];
  /** Sends one harmless test message (`doctor --send-test-alert`). */
  sendTest(): Promise<void>;
}

/** A failure from an HTTP status as Slack and PagerDuty document them: 429 and 5xx are worth retrying. */
export function failureFromStatus(
  what: string,
  status: number,
  detail: string,
  retryAfterMs?: number,
): ChannelFailure {
  const retryable = status === 429 || status >= 500;
  return new ChannelFailure(
    `${what}: HTTP ${status}${detail ? ` ${detail.slice(0, 200)}` : ''}`,
    retryable,
    retryAfterMs,
  );
}

/** The key that names one release across its pages: a retry or a restarted worker finds the same. */
export function releaseKey(alert: { repository?: string; version?: string; key: string }): string {
  return alert.repository && alert.version ? `release-flow/${alert.repository}/${alert.version}` : alert.key;
}
