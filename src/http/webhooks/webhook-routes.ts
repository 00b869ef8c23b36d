/**
 * `POST /webhooks/github`: the door through which GitHub starts releases. It answers in this
 * order, each refusal precise and early (octokit's order: nothing is parsed before the
 * signature holds):
 *
 *   503 no secret configured · 415 content type · 413 body over the limit ·
 *   503 + Retry-After too many unverified bodies in flight · 401 signature ·
 *   400 not a JSON object · 200 ping · 202 ignored (with the reason) ·
 *   202 already released (the tag's version reached production) · 201 started ·
 *   200 already started · 202 queued (Temporal unreachable, slow or busy: in the outbox)
 *
 * Every answer is `{ delivery, event, decision, workflowId?, reason }`, and every delivery is
 * one log line with the same fields and the repository; never the secret or the signature.
 * No release logic lives here: route-event.ts decides, Temporal runs.
 */
import type http from 'node:http';
import { sendJson, type Route } from '../server';
import type { Logger } from '../../common/logging';
import { parsePayload, PayloadNotJson, webhookContentType } from './content-type';
import type { Outbox } from './outbox';
import { isTemporalServerFailure, isTemporalUnavailable } from '../../starter';
import type { PipelineStarter } from './bounded-starts';
import {
  BodyBudget,
  BodyBudgetExceeded,
  BodyTooLarge,
  DEFAULT_BODY_LIMIT_BYTES,
  readRawBody,
} from './raw-body';
import { routeEvent, type RoutedRepository, type StartRequest } from './route-event';
import { checkSignature } from './signature';
import type { ReleaseLedger } from '../../adapters/local/release-ledger';
import { AlreadyReleased, refuseReleased, type ReleasedVersions } from '../../starter';

export const WEBHOOK_PATH = '/webhooks/github';
export const DEFAULT_MAX_STARTS_IN_FLIGHT = 8;

export const WebhookDecisions = {
  pong: 'pong',
  ignored: 'ignored',
  started: 'started',
  alreadyStarted: 'already-started',
  queued: 'queued',
  /** A release tag whose version already reached production: nothing started (202). */
  alreadyReleased: 'already-released',
  rejected: 'rejected',
} as const;
export type WebhookDecision = (typeof WebhookDecisions)[keyof typeof WebhookDecisions];

export interface WebhookAnswer {
  delivery: string;
  event: string;
  decision: WebhookDecision;
  workflowId?: string;
  reason: string;
}

export interface WebhookDeps {
  /** GITHUB_WEBHOOK_SECRET. Without it every delivery is refused (503): unsigned starts are never accepted. */
  secret: string | undefined;
  repositories: readonly RoutedRepository[];
  starter: PipelineStarter;
  /** Where starts wait while Temporal is unreachable; without it such deliveries get 503 and GitHub can redeliver. */
  outbox?: Outbox;
  /** Woken when something is queued. */
  onQueued?: () => void;
  /**
   * Starts the receiver waits on at once (default 8). Past it a delivery goes straight to the
   * outbox: under a burst Temporal answers slower than deliveries arrive, and every answer
   * waiting on it would only wait longer.
   */
  maxStartsInFlight?: number;
  logger: Logger;
  bodyLimitBytes?: number;
  /** What unverified bodies may hold at once (default: a BodyBudget with its defaults). */
  bodyBudget?: BodyBudget;
  path?: string;
  /**
   * The release ledger: every verified delivery id is recorded, and a release tag whose version
   * reached production is answered 202 already released instead of being started again.
   */
  ledger?: ReleasedVersions & Pick<ReleaseLedger, 'recordDelivery' | 'delivery'>;
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

export function webhookRoutes(deps: WebhookDeps): Route[] {
  const limit = deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const maxStartsInFlight = deps.maxStartsInFlight ?? DEFAULT_MAX_STARTS_IN_FLIGHT;
  const budget = deps.bodyBudget ?? new BodyBudget();

  async function startOrQueue(
    request: StartRequest,
    repository: string,
    delivery: string,
    event: string,
  ): Promise<{ status: number; decision: WebhookDecision; reason: string }> {
    const queue = async (why: string) => {
      if (!deps.outbox) {
        return {
          status: 503,
          decision: WebhookDecisions.rejected,
          reason: `${why}; no outbox configured: redeliver from GitHub once Temporal is back`,
        };
      }
      const { added } = await deps.outbox.enqueueDurably({ request, repository, delivery, event });
      deps.onQueued?.();
      return {
        status: 202,
        decision: WebhookDecisions.queued,
        reason: `${why}; ${added ? 'queued' : 'already queued'} in the outbox, started as soon as Temporal answers`,
      };
    };
    // Checked before the outbox too: a released version is refused whether or not Temporal answers.
    if (request.stage === 'tag') {
      try {
        refuseReleased(deps.ledger, request.input);
      } catch (err) {
        if (err instanceof AlreadyReleased)
          return { status: 202, decision: WebhookDecisions.alreadyReleased, reason: err.message };
        throw err;
      }
    }
    // Starts of one repository keep push order: while any wait in the outbox, new ones queue behind them.
    const waiting = deps.outbox?.waitingFor(repository) ?? 0;
    if (waiting > 0) return queue(`${waiting} earlier start(s) of ${repository} wait in the outbox`);
    const busy = deps.starter.inFlight?.() ?? 0;
    if (deps.outbox && busy >= maxStartsInFlight)
      return queue(`${busy} starts already wait on Temporal (server.limits.webhookStartsInFlight)`);
    try {
      const result = await deps.starter.start(request);
      return result.started
        ? { status: 201, decision: WebhookDecisions.started, reason: 'workflow started' }
        : {
            status: 200,
            decision: WebhookDecisions.alreadyStarted,
            reason: 'already started: nothing new started',
          };
    } catch (err) {
      if (err instanceof AlreadyReleased)
        return { status: 202, decision: WebhookDecisions.alreadyReleased, reason: err.message };
      if (isTemporalUnavailable(err)) return queue(`Temporal unreachable (${message(err)})`);
      // The outbox retries it with its own backoff; a 500 would leave the delivery to a person.
      if (isTemporalServerFailure(err)) return queue(`Temporal failed the start (${message(err)})`);
      throw err;
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const delivery = header(req, 'x-github-delivery') ?? '(no X-GitHub-Delivery)';
    const event = header(req, 'x-github-event') ?? '';
    // Known once the payload is verified and routed; logged with every answer.
    const known: {
      repository?: string;
      verified?: boolean;
      seen?: { redelivery: true; firstSeenAt: string; firstDecision: string };
    } = {};
    const answer = (status: number, body: Omit<WebhookAnswer, 'delivery' | 'event'>) => {
      const full: WebhookAnswer = { delivery, event, ...body };
      const line = { ...full, repository: known.repository, status, ...known.seen };
      // Only verified deliveries are kept: an unsigned flood must not fill the ledger.
      if (known.verified && deps.ledger) {
        try {
          deps.ledger.recordDelivery({
            delivery,
            event,
            repository: known.repository ?? null,
            decision: body.decision,
            workflowId: body.workflowId ?? null,
          });
        } catch (err) {
          deps.logger.error({ err, delivery }, 'could not record the delivery in the release ledger');
        }
      }
      if (status >= 500) deps.logger.error(line, 'webhook delivery');
      else if (status === 400 || status === 401 || status === 413 || status === 415)
        deps.logger.warn(line, 'webhook delivery');
      else deps.logger.info(line, 'webhook delivery');
      sendJson(res, status, full);
    };
    const reject = (status: number, reason: string) =>
      answer(status, { decision: WebhookDecisions.rejected, reason });

    if (!deps.secret) {
      return reject(
        503,
        'GITHUB_WEBHOOK_SECRET is not set: set it to the secret of the GitHub webhook and restart',
      );
    }
    const type = webhookContentType(header(req, 'content-type'));
    if (!type) {
      return reject(
        415,
        `content type ${header(req, 'content-type') ?? '(none)'} is not application/json or application/x-www-form-urlencoded`,
      );
    }
    let body: Buffer;
    try {
      body = await readRawBody(req, limit, budget);
    } catch (err) {
      if (err instanceof BodyBudgetExceeded) {
        // Shed load, never memory: GitHub's redelivery (or the sender's retry) comes back later.
        res.setHeader('retry-after', String(err.retryAfterSeconds));
        res.setHeader('connection', 'close');
        return reject(503, `${err.message}: retry in ${err.retryAfterSeconds} s`);
      }
      if (err instanceof BodyTooLarge) {
        // The rest of the body is not read: close the connection after answering.
        res.setHeader('connection', 'close');
        return reject(413, `${err.message} (GitHub caps payloads at 25 MB)`);
      }
      throw err;
    }
    const signature = await checkSignature(req, body, deps.secret);
    if (!signature.ok) return reject(401, signature.reason);
    known.verified = true;
    const earlier = deps.ledger?.delivery(delivery);
    if (earlier)
      known.seen = { redelivery: true, firstSeenAt: earlier.seenAt, firstDecision: earlier.decision };
    let payload: Record<string, unknown>;
    try {
      payload = parsePayload(body, type);
    } catch (err) {
      if (err instanceof PayloadNotJson) return reject(400, err.message);
      throw err;
    }

    const routing = routeEvent(event, payload, deps.repositories);
    known.repository = routing.repository;
    if (routing.kind === 'pong')
      return answer(200, { decision: WebhookDecisions.pong, reason: routing.reason });
    if (routing.kind === 'ignore')
      return answer(202, { decision: WebhookDecisions.ignored, reason: routing.reason });
    // The main start goes first; further starts ride along at the same time (other pipelines:
    // no order between them). A 2xx answer promises that every start of the delivery is
    // started or on disk in the outbox: GitHub does not redeliver on its own, so a start that
    // could be neither fails the whole answer (500), and a redelivery (a person's, or the
    // sender's retry) starts what is missing; what did start is found already there.
    const settled = await Promise.allSettled([
      startOrQueue(routing.request, routing.repository, delivery, event),
      ...(routing.also ?? []).map((request) => startOrQueue(request, routing.repository, delivery, event)),
    ]);
    const requests = [routing.request, ...(routing.also ?? [])];
    const failed = settled.flatMap((s, i) =>
      s.status === 'rejected' ? [{ request: requests[i]!, err: s.reason as unknown }] : [],
    );
    for (const { request, err } of failed)
      deps.logger.error({ err, delivery, workflowId: request.workflowId }, 'webhook start failed');
    if (failed.length > 0) {
      const outcomes = settled.map((s, i) =>
        s.status === 'fulfilled'
          ? `${requests[i]!.workflowId}: ${s.value.reason}`
          : `${requests[i]!.workflowId}: could not start or queue: ${message(s.reason)}`,
      );
      return answer(500, {
        decision: WebhookDecisions.rejected,
        workflowId: routing.request.workflowId,
        reason: `could not start or queue the workflow${requests.length > 1 ? 's' : ''} (${outcomes.join('; ')}): redeliver once the cause is fixed; what started is not started twice`,
      });
    }
    const [outcome, ...more] = settled.map(
      (s) => (s as PromiseFulfilledResult<Awaited<ReturnType<typeof startOrQueue>>>).value,
    );
    return answer(outcome!.status, {
      decision: outcome!.decision,
      workflowId: routing.request.workflowId,
      reason: `${routing.reason}: ${outcome!.reason}${more.map((m, i) => `; also ${requests[i + 1]!.workflowId}: ${m.reason}`).join('')}`,
    });
  }

  return [{ method: 'POST', path: deps.path ?? WEBHOOK_PATH, handler: handle }];
}
