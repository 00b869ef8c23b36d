/**
 * Alerts to Slack. With an incoming webhook (the default) every alert is its own message:
 * re-alerts repeat, titled as reminders, because a webhook cannot thread. With a bot token
 * (`botTokenEnv` + `channel`), messages go through the Web API's `chat.postMessage`, and
 * re-alerts about the same release reply in the first message's thread, an escalation also
 * broadcast to the channel, as Slack users expect of a running incident.
 */
import type { Alert } from '../../ports/alerts';
import { registerSecret } from '../../common/secrets';
import { httpCall, HttpUnreachable, retryAfterMs } from '../http/http-call';
import {
  ChannelFailure,
  failureFromStatus,
  type AlertChannel,
  type DeliveryContext,
} from '../alerts/alert-channel';
import { slackMessage } from './slack-blocks';

export interface SlackChannelOptions {
  name: string;
  webhookUrlEnv: string;
  botTokenEnv?: string;
  channel?: string;
  apiUrl: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export class SlackChannel implements AlertChannel {
  readonly type = 'slack' as const;
  readonly name: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly timeoutMs: number;

  constructor(private readonly options: SlackChannelOptions) {
    this.name = options.name;
    this.env = options.env ?? process.env;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  private get bot(): boolean {
    return !!this.options.botTokenEnv;
  }

  problems(): string[] {
    if (this.bot) {
      return [
        ...(this.env[this.options.botTokenEnv!] ? [] : [`${this.options.botTokenEnv} is not set`]),
        ...(this.options.channel ? [] : ['channel is not set (needed with botTokenEnv)']),
      ];
    }
    const url = this.env[this.options.webhookUrlEnv];
    if (!url) return [`${this.options.webhookUrlEnv} is not set`];
    if (!/^https?:\/\//.test(url)) return [`${this.options.webhookUrlEnv} is not an http(s) URL`];
    return [];
  }

  async deliver(alert: Alert, context: DeliveryContext): Promise<{ ref?: string }> {
    const reminder = !!context.thread;
    const message = slackMessage(alert, { reminder });
    if (!this.bot) {
      await this.postWebhook(message);
      return {};
    }
    return await this.postMessage({
      ...message,
      ...(context.thread
        ? {
            thread_ts: context.thread,
            ...(alert.kind === 'escalation' || alert.kind === 'emergency' ? { reply_broadcast: true } : {}),
          }
        : {}),
    });
  }

  async sendTest(): Promise<void> {
    const text = `release-flow test message for channel ${this.name}: alerts reach this channel.`;
    const message = { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
    if (this.bot) await this.postMessage(message);
    else await this.postWebhook(message);
  }

  private fail(why: string): never {
    throw new ChannelFailure(`slack ${this.name}: ${why}`, false);
  }

  private async postWebhook(message: object): Promise<void> {
    const url = this.env[this.options.webhookUrlEnv];
    if (!url) this.fail(`${this.options.webhookUrlEnv} is not set in the worker's environment`);
    registerSecret(url);
    const answer = await this.call(url, { 'content-type': 'application/json' }, message);
    // The webhook answers `ok`, or a plain-text error (`invalid_payload`, `channel_not_found`).
    if (answer.status === 200) return;
    throw failureFromStatus(
      `slack ${this.name}`,
      answer.status,
      answer.text.trim(),
      retryAfterMs(answer.headers),
    );
  }

  private async postMessage(message: object): Promise<{ ref?: string }> {
    const token = this.env[this.options.botTokenEnv!];
    if (!token) this.fail(`${this.options.botTokenEnv} is not set in the worker's environment`);
    registerSecret(token);
    const answer = await this.call(
      `${this.options.apiUrl.replace(/\/+$/, '')}/chat.postMessage`,
      { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${token}` },
      { channel: this.options.channel, ...message },
    );
    if (answer.status !== 200)
      throw failureFromStatus(
        `slack ${this.name}`,
        answer.status,
        answer.text.trim(),
        retryAfterMs(answer.headers),
      );
    let body: { ok?: boolean; ts?: string; error?: string };
    try {
      body = JSON.parse(answer.text) as typeof body;
    } catch {
      throw new ChannelFailure(`slack ${this.name}: not a Web API answer: ${answer.text.slice(0, 80)}`, true);
    }
    if (!body.ok) {
      const retryable =
        body.error === 'ratelimited' ||
        body.error === 'internal_error' ||
        body.error === 'service_unavailable';
      throw new ChannelFailure(`slack ${this.name}: chat.postMessage: ${body.error ?? 'not ok'}`, retryable);
    }
    return body.ts ? { ref: body.ts } : {};
  }

  private async call(url: string, headers: Record<string, string>, body: object) {
    try {
      return await httpCall({
        method: 'POST',
        url,
        headers,
        body: JSON.stringify(body),
        timeoutMs: this.timeoutMs,
      });
    } catch (err) {
      throw new ChannelFailure(
        `slack ${this.name}: ${err instanceof HttpUnreachable ? err.message : String(err)}`,
        true,
      );
    }
  }
}
