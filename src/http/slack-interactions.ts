/**
 * `POST /slack/interactions`: the decision buttons of the Slack breach alert (docs/board.md "Slack
 * buttons"). In this order: the signature is checked on the raw body (SLACK_SIGNING_SECRET,
 * 5-minute window, constant time) before anything is parsed; a request already seen is
 * acknowledged and ignored; the interaction is acknowledged at once (Slack waits 3 s); then the
 * Slack user is mapped to a decider (`board.slack.users`), the `decide` update is called with
 * that name, and the accepted decision or the rejection's reason is posted to the thread through
 * the interaction's `response_url`. Forged, stale and replayed requests change nothing.
 */
import type http from 'node:http';
import {
  DECISION_OF_ACTION,
  type DecisionActionId,
  type DecisionTarget,
} from '../adapters/slack/decision-actions';
import { checkSlackSignature, SLACK_TIMESTAMP_WINDOW_S } from '../adapters/slack/request-signature';
import type { Config } from '../config/schema';
import type { Logger } from '../common/logging';
import { BodyTooLarge, readRawBody } from './webhooks/raw-body';
import { pipelineWorkflowId } from '../workflows/shared/messages';
import type { DecideCommand, DecideOutcome } from './board/decide';
import type { DecisionJournal } from './board/decision-journal';
import { sendJson, type Route } from './server';

export interface SlackInteractionsOptions {
  /** The signing secret (SLACK_SIGNING_SECRET); without one every request is refused. */
  secret: string | undefined;
  slack: Config['board']['slack'];
  decide: (command: DecideCommand) => Promise<DecideOutcome>;
  journal: DecisionJournal;
  logger: Logger;
  now?: () => number;
  /** Replies being sent, so a caller (or test) can wait for them. */
  onReply?: (reply: Promise<void>) => void;
}

const BODY_LIMIT = 256 * 1024;
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

interface BlockActionsPayload {
  type?: string;
  user?: { id?: string; username?: string; name?: string };
  actions?: { action_id?: string; value?: string }[];
  response_url?: string;
  container?: { message_ts?: string; thread_ts?: string };
  message?: { ts?: string; thread_ts?: string };
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function parseTarget(value: string | undefined): DecisionTarget | null {
  try {
    const v = JSON.parse(value ?? '') as Partial<DecisionTarget>;
    if (typeof v.workflowId !== 'string' || typeof v.repository !== 'string' || typeof v.version !== 'string')
      return null;
    return { workflowId: v.workflowId, repository: v.repository, version: v.version };
  } catch {
    return null;
  }
}

/**
 * Where a reply through an interaction's `response_url` may go: https to a host of
 * `board.slack.responseUrlHosts`, as Slack's response URLs are. Plain http only to a loopback
 * host that is listed (a local stand-in for Slack in tests); anything else gets no reply, so a
 * decision's answer never crosses a network in clear text nor goes to a host nobody listed.
 */
export function replyUrlAllowed(raw: string | undefined, hosts: readonly string[]): URL | null {
  try {
    const url = new URL(raw ?? '');
    const loopback = LOOPBACK.test(url.hostname);
    if (url.protocol !== 'https:' && !(loopback && url.protocol === 'http:')) return null;
    return hosts.includes(url.hostname) ? url : null;
  } catch {
    return null;
  }
}

export function slackInteractionRoutes(opts: SlackInteractionsOptions): Route[] {
  const now = opts.now ?? Date.now;
  // Signatures seen inside the timestamp window: a replay inside it is acknowledged and dropped.
  const seen = new Map<string, number>();
  const remember = (signature: string): boolean => {
    const t = now();
    for (const [sig, expires] of seen) if (expires < t) seen.delete(sig);
    if (seen.has(signature)) return false;
    seen.set(signature, t + 2 * SLACK_TIMESTAMP_WINDOW_S * 1000);
    return true;
  };

  const allowedReplyUrl = (raw: string | undefined) => replyUrlAllowed(raw, opts.slack.responseUrlHosts);

  const reply = async (url: URL, message: Record<string, unknown>): Promise<void> => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) opts.logger.warn({ status: res.status }, 'Slack refused the reply to an interaction');
  };

  const act = async (
    payload: BlockActionsPayload,
    actionId: DecisionActionId,
    url: URL | null,
  ): Promise<void> => {
    const slackUser = payload.user?.id ?? '';
    const thread =
      payload.container?.thread_ts ??
      payload.message?.thread_ts ??
      payload.container?.message_ts ??
      payload.message?.ts;
    const send = (text: string, ephemeral: boolean) => {
      if (!url) {
        opts.logger.warn(
          { slackUser },
          'the interaction has no allowed response_url (board.slack.responseUrlHosts); no reply',
        );
        return Promise.resolve();
      }
      return reply(url, {
        response_type: ephemeral ? 'ephemeral' : 'in_channel',
        replace_original: false,
        ...(thread && !ephemeral ? { thread_ts: thread } : {}),
        text,
      });
    };
    const target = parseTarget(payload.actions?.[0]?.value);
    if (
      !target ||
      target.workflowId !== pipelineWorkflowId('production', target.repository, target.version)
    ) {
      return send(
        'This button does not name a production release release-flow knows; nothing was decided.',
        true,
      );
    }
    const decision = DECISION_OF_ACTION[actionId];
    const by = opts.slack.users[slackUser];
    if (!by) {
      opts.logger.warn(
        { slackUser, decision, workflowId: target.workflowId },
        'Slack user is not mapped to a decider',
      );
      return send(
        `Not accepted: Slack user <@${slackUser}> is not mapped to a decider (config board.slack.users); nothing was decided.`,
        true,
      );
    }
    const outcome = await opts.decide({
      workflowId: target.workflowId,
      decision,
      by,
      reason: `from the Slack alert by <@${slackUser}>`,
    });
    const release = `${target.repository} ${target.version}`;
    if (outcome.accepted) {
      await opts.journal
        .record({
          workflowId: target.workflowId,
          decision,
          by: outcome.decision.by,
          at: outcome.decision.at,
          source: 'slack',
          from: slackUser,
        })
        .catch(() => undefined);
      opts.logger.info({ decision, by, workflowId: target.workflowId }, 'decision accepted from Slack');
      return send(
        `Accepted: ${decision} on ${release} by ${outcome.decision.by} (<@${slackUser}>) at ${outcome.decision.at}.`,
        false,
      );
    }
    opts.logger.warn(
      { decision, by, workflowId: target.workflowId, why: outcome.reason },
      'decision from Slack rejected',
    );
    return send(`Not accepted: ${decision} on ${release} by ${by}: ${outcome.reason}`, false);
  };

  return [
    {
      method: 'POST',
      path: '/slack/interactions',
      handler: async (req, res) => {
        if (!opts.secret) {
          return sendJson(res, 503, {
            error: 'SLACK_SIGNING_SECRET is not set: Slack interactions are refused',
          });
        }
        let body: Buffer;
        try {
          body = await readRawBody(req, BODY_LIMIT);
        } catch (err) {
          if (err instanceof BodyTooLarge) return sendJson(res, 413, { error: err.message });
          throw err;
        }
        const signature = header(req, 'x-slack-signature');
        const check = checkSlackSignature({
          secret: opts.secret,
          timestamp: header(req, 'x-slack-request-timestamp'),
          signature,
          body,
          nowMs: now(),
        });
        if (!check.ok) {
          opts.logger.warn({ reason: check.reason }, 'Slack interaction refused');
          return sendJson(res, 401, { error: check.reason });
        }
        if (!remember(signature!)) {
          opts.logger.warn('Slack interaction replayed; ignored');
          res.writeHead(200).end();
          return;
        }
        let payload: BlockActionsPayload;
        try {
          payload = JSON.parse(
            new URLSearchParams(body.toString('utf8')).get('payload') ?? '',
          ) as BlockActionsPayload;
        } catch {
          return sendJson(res, 400, { error: 'expected a form field "payload" holding JSON' });
        }
        const actionId = payload.actions?.[0]?.action_id;
        // Acknowledge now: Slack shows an error to the person after 3 s without an answer.
        res.writeHead(200).end();
        if (payload.type !== 'block_actions' || !actionId || !(actionId in DECISION_OF_ACTION)) return;
        const work = act(payload, actionId as DecisionActionId, allowedReplyUrl(payload.response_url)).catch(
          (err) => opts.logger.error({ err }, 'Slack interaction failed after it was acknowledged'),
        );
        opts.onReply?.(work);
      },
    },
  ];
}
