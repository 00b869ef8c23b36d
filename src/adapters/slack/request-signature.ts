/**
 * Slack's request signature (`X-Slack-Signature: v0=<hex>` over `v0:<timestamp>:<raw body>`
 * with the app's signing secret, HMAC-SHA256), checked on the raw bytes before anything is
 * parsed. A timestamp more than five minutes from now is refused, so a captured request cannot
 * be replayed later; the comparison is constant-time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SLACK_TIMESTAMP_WINDOW_S = 5 * 60;

export type SlackSignatureCheck = { ok: true } | { ok: false; reason: string };

export function slackSignature(secret: string, timestamp: string, body: Buffer | string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex')}`;
}

export function checkSlackSignature(opts: {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  body: Buffer;
  nowMs?: number;
}): SlackSignatureCheck {
  const { timestamp, signature } = opts;
  if (!timestamp || !signature) {
    return { ok: false, reason: 'missing X-Slack-Request-Timestamp or X-Slack-Signature' };
  }
  if (!/^\d{1,12}$/.test(timestamp))
    return { ok: false, reason: 'X-Slack-Request-Timestamp is not a unix time' };
  const now = Math.floor((opts.nowMs ?? Date.now()) / 1000);
  if (Math.abs(now - Number(timestamp)) > SLACK_TIMESTAMP_WINDOW_S) {
    return {
      ok: false,
      reason: 'X-Slack-Request-Timestamp is more than 5 minutes from now (a replay, or a clock off)',
    };
  }
  const expected = Buffer.from(slackSignature(opts.secret, timestamp, opts.body));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'X-Slack-Signature does not match the body' };
  }
  return { ok: true };
}
