/**
 * Pages operations through PagerDuty's Events API v2. A release has one dedup key
 * (`release-flow/<repository>/<version>`), so an escalation, an emergency, a retried activity or a
 * restarted worker all land on one incident; a decision or a healthy watch resolves it. Production
 * deploys and rollbacks become change events. 202 is accepted, 400 is final, 429 and 5xx are
 * retried, as PagerDuty documents.
 */
import type { Alert, AlertSeverity, ChangeNotice } from '../../ports/alerts';
import { registerSecret } from '../../common/secrets';
import { httpCall, HttpUnreachable, retryAfterMs } from '../http/http-call';
import { ChannelFailure, failureFromStatus, releaseKey, type AlertChannel } from '../alerts/alert-channel';

export interface PagerDutyChannelOptions {
  name: string;
  routingKeyEnv: string;
  eventsUrl: string;
  changeEvents: boolean;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  now?: () => number;
}

/** PagerDuty's severities from the alert's: a breach or an emergency is critical. */
export function pagerDutySeverity(alert: {
  severity: AlertSeverity;
  verdict?: string;
  kind?: string;
}): string {
  if (alert.kind === 'emergency' || alert.verdict === 'breach') return 'critical';
  if (alert.verdict === 'inconclusive') return 'error';
  return alert.severity;
}

function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}

export class PagerDutyChannel implements AlertChannel {
  readonly type = 'pagerduty' as const;
  readonly name: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly now: () => number;

  constructor(private readonly options: PagerDutyChannelOptions) {
    this.name = options.name;
    this.env = options.env ?? process.env;
    this.now = options.now ?? Date.now;
  }

  problems(): string[] {
    const key = this.env[this.options.routingKeyEnv];
    if (!key) return [`${this.options.routingKeyEnv} is not set`];
    if (!/^[A-Za-z0-9]{32}$/.test(key))
      return [`${this.options.routingKeyEnv} is not a 32-character integration key`];
    return [];
  }

  async deliver(alert: Alert): Promise<{ ref?: string }> {
    const dedupKey = clip(releaseKey(alert), 255);
    const link = alert.links[0];
    await this.post('/v2/enqueue', {
      event_action: 'trigger',
      dedup_key: dedupKey,
      payload: {
        summary: clip(alert.title, 1024),
        source: alert.repository ?? 'release-flow',
        severity: pagerDutySeverity(alert),
        timestamp: new Date(this.now()).toISOString(),
        ...(alert.repository ? { component: alert.repository } : {}),
        ...(alert.env ? { group: alert.env } : {}),
        class: alert.kind ?? alert.verdict ?? 'release',
        custom_details: {
          details: alert.text,
          ...(alert.version ? { version: alert.version } : {}),
          ...(alert.verdict ? { verdict: alert.verdict } : {}),
          team: alert.team,
          alert_key: alert.key,
          commands: alert.commands.map((c) => `${c.label}: ${c.command}`),
        },
      },
      links: alert.links.map((l) => ({ href: l.url, text: l.title })),
      client: 'release-flow',
      ...(link ? { client_url: link.url } : {}),
    });
    return { ref: dedupKey };
  }

  async resolve(release: { repository: string; version: string; reason: string }): Promise<void> {
    await this.post('/v2/enqueue', {
      event_action: 'resolve',
      dedup_key: clip(releaseKey({ ...release, key: '' }), 255),
    });
  }

  async change(notice: ChangeNotice): Promise<void> {
    if (!this.options.changeEvents) return;
    const what =
      notice.action === 'rollback'
        ? `${notice.repository}: ${notice.env} rolled back from ${notice.fromVersion ?? '?'} to ${notice.version}`
        : `${notice.repository} ${notice.version} deployed to ${notice.env}`;
    await this.post('/v2/change/enqueue', {
      payload: {
        summary: clip(what, 1024),
        timestamp: new Date(this.now()).toISOString(),
        source: notice.repository,
        custom_details: {
          action: notice.action,
          environment: notice.env,
          version: notice.version,
          ...(notice.fromVersion ? { from_version: notice.fromVersion } : {}),
          ...(notice.digest ? { digest: notice.digest } : {}),
          by: notice.by,
        },
      },
      links: notice.links.map((l) => ({ href: l.url, text: l.title })),
    });
  }

  async sendTest(): Promise<void> {
    // A change event reaches the service without paging anyone.
    await this.post('/v2/change/enqueue', {
      payload: {
        summary: `release-flow test message for channel ${this.name}`,
        timestamp: new Date(this.now()).toISOString(),
        source: 'release-flow doctor',
      },
    });
  }

  private async post(pathname: string, event: Record<string, unknown>): Promise<void> {
    const routingKey = this.env[this.options.routingKeyEnv];
    if (!routingKey) {
      throw new ChannelFailure(
        `pagerduty ${this.name}: ${this.options.routingKeyEnv} is not set in the worker's environment`,
        false,
      );
    }
    registerSecret(routingKey);
    let answer;
    try {
      answer = await httpCall({
        method: 'POST',
        url: `${this.options.eventsUrl.replace(/\/+$/, '')}${pathname}`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ routing_key: routingKey, ...event }),
        timeoutMs: this.options.timeoutMs ?? 10_000,
      });
    } catch (err) {
      throw new ChannelFailure(
        `pagerduty ${this.name}: ${err instanceof HttpUnreachable ? err.message : String(err)}`,
        true,
      );
    }
    if (answer.status === 202) return;
    let detail = answer.text.trim();
    try {
      const body = JSON.parse(answer.text) as { message?: string; errors?: string[] };
      detail = [body.message, ...(body.errors ?? [])].filter(Boolean).join(': ');
    } catch {
      // Not JSON (a proxy's page): the text is the detail.
    }
    throw failureFromStatus(`pagerduty ${this.name}`, answer.status, detail, retryAfterMs(answer.headers));
  }
}
