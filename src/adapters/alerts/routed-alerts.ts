/**
 * Alerts routed per team to real channels (docs/integrations.md "Alerts: Slack and PagerDuty"). Every alert is first written to
 * the local journal, which keeps its idempotency key; then each channel of the alert's team
 * (per repository, else the global routes) gets it, retried with backoff. A channel that stays
 * down never fails the release: its failure is journaled in `alert-deliveries.jsonl` and
 * returned in the receipt, and a later send of the same key tries again only the channels that
 * have not delivered it.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Alert, AlertDelivery, AlertReceipt, Alerts, ChangeNotice } from '../../ports/alerts';
import { maskSecrets } from '../../common/secrets';
import { readJsonLines } from '../local/durable-files';
import { ChannelFailure, releaseKey, type AlertChannel } from './alert-channel';

export interface DeliveryRecord {
  /** `alert`, `resolve` or `change`. */
  op: 'alert' | 'resolve' | 'change';
  /** The alert's key, the release's key (resolve) or the change's key. */
  key: string;
  /** The release the record belongs to (`release-flow/<repository>/<version>`). */
  release: string;
  channel: string;
  type: string;
  state: 'delivered' | 'failed';
  attempts: number;
  at: number;
  ref?: string;
  error?: string;
}

export interface RoutedAlertsOptions {
  /** The local journal: the record of every alert, and what keeps keys idempotent. */
  journal: Alerts;
  /** JSON-lines file of every channel's outcome. */
  deliveriesFile: string;
  channels: readonly AlertChannel[];
  /** The channel names for an alert's team and repository. */
  route: (team: string, repository: string | undefined) => readonly string[];
  attempts: number;
  backoffMs: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Told about each failed attempt (the activity's log). */
  warn?: (message: string) => void;
}

/** A channel's waits are capped: an alert activity must finish well inside its timeout. */
const MAX_WAIT_MS = 30_000;

export class RoutedAlerts implements Alerts {
  private readonly channels = new Map<string, AlertChannel>();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: RoutedAlertsOptions) {
    for (const channel of options.channels) this.channels.set(channel.name, channel);
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
  }

  async send(alert: Alert): Promise<AlertReceipt> {
    const receipt = await this.options.journal.send(alert);
    const names = this.options.route(alert.team, alert.repository);
    if (names.length === 0) return receipt;
    const records = await this.records();
    const release = releaseKey(alert);
    const deliveries: AlertDelivery[] = [];
    for (const name of names) {
      const channel = this.channels.get(name);
      if (!channel) continue;
      const done = records.find(
        (r) => r.op === 'alert' && r.key === alert.key && r.channel === name && r.state === 'delivered',
      );
      if (done) {
        deliveries.push({ channel: name, type: channel.type, state: 'delivered', attempts: done.attempts });
        continue;
      }
      const first = records.find(
        (r) =>
          r.op === 'alert' && r.release === release && r.channel === name && r.state === 'delivered' && r.ref,
      );
      const outcome = await this.attempt(channel, 'alert', alert.key, release, () =>
        channel.deliver(alert, first?.ref ? { thread: first.ref } : {}),
      );
      deliveries.push(outcome);
    }
    return { ...receipt, deliveries };
  }

  async resolveRelease(release: {
    repository: string;
    version: string;
    reason: string;
  }): Promise<AlertDelivery[]> {
    const key = releaseKey({ ...release, key: '' });
    const records = await this.records();
    const out: AlertDelivery[] = [];
    for (const channel of this.channels.values()) {
      if (!channel.resolve) continue;
      const opened = records.some(
        (r) => r.op === 'alert' && r.release === key && r.channel === channel.name && r.state === 'delivered',
      );
      if (!opened) continue;
      // The latest record decides: a trigger after a resolve (a re-page) opens a new incident to resolve.
      const last = records
        .filter(
          (r) =>
            r.release === key && r.channel === channel.name && r.state === 'delivered' && r.op !== 'change',
        )
        .at(-1);
      if (last?.op === 'resolve') continue;
      out.push(
        await this.attempt(channel, 'resolve', key, key, async () => {
          await channel.resolve!(release);
          return {};
        }),
      );
    }
    return out;
  }

  async notifyChange(change: ChangeNotice): Promise<AlertDelivery[]> {
    const records = await this.records();
    const names = new Set([
      ...this.options.route('operations', change.repository),
      ...this.options.route('development', change.repository),
    ]);
    const out: AlertDelivery[] = [];
    for (const name of names) {
      const channel = this.channels.get(name);
      if (!channel?.change) continue;
      if (
        records.some(
          (r) => r.op === 'change' && r.key === change.key && r.channel === name && r.state === 'delivered',
        )
      )
        continue;
      const release = `release-flow/${change.repository}/${change.version}`;
      out.push(
        await this.attempt(channel, 'change', change.key, release, async () => {
          await channel.change!(change);
          return {};
        }),
      );
    }
    return out;
  }

  /** Every channel outcome, oldest first. */
  async records(): Promise<DeliveryRecord[]> {
    return await readJsonLines<DeliveryRecord>(path.resolve(this.options.deliveriesFile));
  }

  private async attempt(
    channel: AlertChannel,
    op: DeliveryRecord['op'],
    key: string,
    release: string,
    work: () => Promise<{ ref?: string }>,
  ): Promise<AlertDelivery> {
    let wait = this.options.backoffMs;
    let attempts = 0;
    let error = '';
    while (attempts < this.options.attempts) {
      attempts += 1;
      try {
        const { ref } = await work();
        await this.record({
          op,
          key,
          release,
          channel: channel.name,
          type: channel.type,
          state: 'delivered',
          attempts,
          at: this.now(),
          ...(ref ? { ref } : {}),
        });
        return { channel: channel.name, type: channel.type, state: 'delivered', attempts };
      } catch (err) {
        error = maskSecrets(err instanceof Error ? err.message : String(err));
        this.options.warn?.(`alert channel ${channel.name} (${op} ${key}), attempt ${attempts}: ${error}`);
        const retryable = !(err instanceof ChannelFailure) || err.retryable;
        if (!retryable || attempts >= this.options.attempts) break;
        const pause = Math.min(
          err instanceof ChannelFailure && err.retryAfterMs !== undefined ? err.retryAfterMs : wait,
          MAX_WAIT_MS,
        );
        await this.sleep(pause);
        wait *= 2;
      }
    }
    await this.record({
      op,
      key,
      release,
      channel: channel.name,
      type: channel.type,
      state: 'failed',
      attempts,
      at: this.now(),
      error,
    });
    return { channel: channel.name, type: channel.type, state: 'failed', attempts, error };
  }

  private async record(entry: DeliveryRecord): Promise<void> {
    const file = path.resolve(this.options.deliveriesFile);
    await mkdir(path.dirname(file), { recursive: true });
    await appendFile(file, `${JSON.stringify(entry)}\n`);
  }
}
