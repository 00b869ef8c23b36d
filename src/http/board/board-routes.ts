/**
 * The release board's routes on the HTTP server (docs/board.md):
 *
 *   GET  /board                 the page (server-rendered; its script refreshes it)
 *   GET  /board/fragment        the page's content, for the refresh (ETag, 304 when unchanged)
 *   GET  /board/state           the same as JSON
 *   GET  /board/assets/*        the stylesheet and the script
 *   POST /board/decide          take a decision as the signed-in person (CSRF-protected)
 *   GET  /board/login, POST /board/login, POST /board/logout   token sign-in (mode `tokens`)
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { isDecision, type Decision } from '../../domain/production-decisions';
import { BodyTooLarge, readRawBody } from '../webhooks/raw-body';
import { sendJson, type Route } from '../server';
import type { BoardSnapshot } from './board-state';
import { loginForm, messagePage, renderContent, renderPage, type RenderContext } from './board-render';
import type { DecideCommand, DecideOutcome } from './decide';
import type { DecisionJournal } from './decision-journal';
import { esc } from './html';
import { remoteAddress, type BoardAuth, type Person } from './identity';

export interface BoardSource {
  snapshot(): Promise<BoardSnapshot>;
  decide(command: DecideCommand): Promise<DecideOutcome>;
}

export interface BoardRoutesOptions {
  auth: BoardAuth;
  source: BoardSource;
  journal: DecisionJournal;
  /** How long one snapshot serves every viewer (default 1 s), so many viewers cost one read. */
  cacheMs?: number;
  onDecision?: (entry: {
    workflowId: string;
    decision: string;
    by: string;
    accepted: boolean;
    reason?: string;
  }) => void;
}

const ASSETS: Record<string, string> = {
  'board.css': 'text/css; charset=utf-8',
  'board.js': 'text/javascript; charset=utf-8',
};
const ASSET_DIR = path.join(__dirname, 'assets');
const BODY_LIMIT = 16 * 1024;

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

function sendHtml(
  res: http.ServerResponse,
  status: number,
  html: string,
  headers: http.OutgoingHttpHeaders = {},
): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    ...SECURITY_HEADERS,
    ...headers,
  });
  res.end(html);
}

function redirect(res: http.ServerResponse, to: string, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(303, { location: to, 'cache-control': 'no-store', ...headers });
  res.end();
}

function cookies(...values: (string | undefined)[]): http.OutgoingHttpHeaders {
  const list = values.filter((v): v is string => !!v);
  return list.length ? { 'set-cookie': list } : {};
}

async function readForm(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const raw = (await readRawBody(req, BODY_LIMIT)).toString('utf8');
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') {
    const parsed = JSON.parse(raw) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  }
  if (type === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(raw));
  throw new TypeError('send application/json or a form (application/x-www-form-urlencoded)');
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

// The buttons' names: the wire names, plus the spelling the CLI uses.
function decisionOf(value: unknown): Decision | null {
  if (value === 'fail-forward') return 'failForward';
  return isDecision(value) ? value : null;
}

export function boardRoutes(opts: BoardRoutesOptions): Route[] {
  const { auth, source } = opts;
  let cached: { at: number; value: Promise<BoardSnapshot> } | undefined;
  const snapshot = (): Promise<BoardSnapshot> => {
    const now = Date.now();
    if (!cached || now - cached.at > (opts.cacheMs ?? 1000)) {
      const value = source.snapshot();
      cached = { at: now, value };
      value.catch(() => (cached = undefined));
    }
    return cached.value;
  };
  const context = (req: http.IncomingMessage): { ctx: RenderContext; setCookie?: string } => {
    const csrf = auth.csrf(req);
    return {
      ctx: { person: auth.identify(req), csrf: csrf.token, mode: auth.mode },
      ...(csrf.setCookie ? { setCookie: csrf.setCookie } : {}),
    };
  };
  /** Null when the reader may see the board; otherwise the refusal has been sent. */
  const mayRead = (req: http.IncomingMessage, res: http.ServerResponse, json: boolean): boolean => {
    if (!auth.readRequiresLogin || auth.identify(req)) return true;
    if (json) sendJson(res, 401, { error: 'sign in to read the board' });
    else if (auth.mode === 'tokens') redirect(res, '/board/login');
    else
      sendHtml(
        res,
        401,
        messagePage('Sign in', context(req).ctx, '<p>Sign in through your proxy to read the board.</p>'),
      );
    return false;
  };

  const decideHandler: Route['handler'] = async (req, res) => {
    const wantsJson = (req.headers['content-type'] ?? '').includes('json');
    const { ctx, setCookie } = context(req);
    const answer = (status: number, outcome: { accepted: boolean; reason?: string; decision?: unknown }) => {
      if (wantsJson) return sendJson(res, status, outcome);
      const body = outcome.accepted
        ? `<p class="result accepted" role="status">Accepted.</p>`
        : `<p class="result refused" role="alert">Refused: ${esc(outcome.reason)}</p>`;
      sendHtml(
        res,
        status,
        messagePage('Decision', ctx, `${body}<p><a href="/board">Back to the board</a></p>`),
        cookies(setCookie),
      );
    };
    let form: Record<string, unknown>;
    try {
      form = await readForm(req);
    } catch (err) {
      if (err instanceof BodyTooLarge)
        return answer(413, { accepted: false, reason: 'the request is too large' });
      return answer(err instanceof TypeError ? 415 : 400, {
        accepted: false,
        reason: err instanceof TypeError ? err.message : 'the body is not valid',
      });
    }
    const submitted = str(req.headers['x-csrf-token']) || str(form.csrf);
    const crossSite = auth.crossSite(req, submitted);
    if (crossSite) return answer(403, { accepted: false, reason: crossSite });
    const person: Person | null = auth.identify(req);
    if (!person) {
      return answer(401, {
        accepted: false,
        reason:
          auth.mode === 'none'
            ? 'sign in to decide: this board has no sign-in configured (board.auth.mode), so it is read-only'
            : 'sign in to decide: decisions are taken as the signed-in person',
      });
    }
    const decision = decisionOf(form.decision);
    const workflowId = str(form.workflowId);
    if (!decision) {
      return answer(400, {
        accepted: false,
        reason: `unknown decision ${JSON.stringify(form.decision ?? null)}: use emergency, rollback or failForward`,
      });
    }
    if (!workflowId)
      return answer(400, { accepted: false, reason: 'say which release: workflowId is missing' });
    const reason = str(form.reason).slice(0, 500);
    const confirmed = form.confirm === true || form.confirm === 'yes' || form.confirm === 'true';
    if (decision === 'emergency' && !confirmed) {
      if (wantsJson)
        return sendJson(res, 428, {
          accepted: false,
          reason: 'an emergency must be confirmed: send "confirm": true',
        });
      // Without the script: a page that asks, with the same form and the confirmation.
      return sendHtml(
        res,
        200,
        messagePage(
          'Confirm the emergency',
          ctx,
          `<p>Declare an <strong>emergency</strong> on <code>${esc(workflowId)}</code>? This pages operations, takes staging and opens a HOT incident.</p>` +
            `<form method="post" action="/board/decide"><input type="hidden" name="csrf" value="${esc(ctx.csrf)}"><input type="hidden" name="workflowId" value="${esc(workflowId)}">` +
            `<input type="hidden" name="reason" value="${esc(reason)}"><input type="hidden" name="confirm" value="yes">` +
            `<button type="submit" name="decision" value="emergency" class="danger">Yes, declare the emergency</button> <a href="/board">Cancel</a></form>`,
        ),
        cookies(setCookie),
      );
    }
    const outcome = await source.decide({
      workflowId,
      decision,
      by: person.name,
      ...(reason ? { reason } : {}),
    });
    opts.onDecision?.({
      workflowId,
      decision,
      by: person.name,
      accepted: outcome.accepted,
      ...(outcome.accepted ? {} : { reason: outcome.reason }),
    });
    if (outcome.accepted) {
      await opts.journal
        .record({
          workflowId,
          decision,
          by: outcome.decision.by,
          at: outcome.decision.at,
          source: 'board',
          from: remoteAddress(req),
        })
        .catch(() => undefined);
      cached = undefined;
      return answer(200, { accepted: true, decision: outcome.decision });
    }
    return answer(outcome.status, { accepted: false, reason: outcome.reason });
  };

  return [
    {
      method: 'GET',
      path: '/board',
      handler: async (req, res) => {
        if (!mayRead(req, res, false)) return;
        const { ctx, setCookie } = context(req);
        sendHtml(res, 200, renderPage(await snapshot(), ctx), cookies(setCookie));
      },
    },
    {
      method: 'GET',
      path: '/board/fragment',
      handler: async (req, res) => {
        if (!mayRead(req, res, true)) return;
        const { ctx } = context(req);
        const html = renderContent(await snapshot(), ctx);
        // The "updated" line changes every time; the rest decides whether anything did.
        const etag = `"${createHash('sha256').update(html.replace(/^.*\n/, '')).digest('base64url').slice(0, 22)}"`;
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304, { etag, 'cache-control': 'no-store' });
          res.end();
          return;
        }
        sendHtml(res, 200, html, { etag });
      },
    },
    {
      method: 'GET',
      path: '/board/state',
      handler: async (req, res) => {
        if (!mayRead(req, res, true)) return;
        sendJson(res, 200, { person: auth.identify(req), ...(await snapshot()) });
      },
    },
    {
      method: 'GET',
      path: '/board/assets/',
      prefix: true,
      handler: (req, res) => {
        const name = path.basename(new URL(req.url ?? '/', 'http://x').pathname);
        const type = ASSETS[name];
        if (!type) return sendJson(res, 404, { error: 'no such asset' });
        const body = readFileSync(path.join(ASSET_DIR, name));
        res.writeHead(200, {
          'content-type': type,
          'content-length': body.length,
          'x-content-type-options': 'nosniff',
          'cache-control': 'no-cache',
        });
        res.end(body);
      },
    },
    { method: 'POST', path: '/board/decide', handler: decideHandler },
    {
      method: 'GET',
      path: '/board/login',
      handler: (req, res) => {
        const { ctx, setCookie } = context(req);
        if (auth.mode !== 'tokens') {
          return sendHtml(
            res,
            404,
            messagePage('Sign in', ctx, '<p>This board does not use token sign-in.</p>'),
            cookies(setCookie),
          );
        }
        sendHtml(res, 200, messagePage('Sign in', ctx, loginForm(ctx.csrf)), cookies(setCookie));
      },
    },
    {
      method: 'POST',
      path: '/board/login',
      handler: async (req, res) => {
        const { ctx, setCookie } = context(req);
        let form: Record<string, unknown>;
        try {
          form = await readForm(req);
        } catch {
          return sendHtml(
            res,
            400,
            messagePage('Sign in', ctx, loginForm(ctx.csrf, 'send the login form')),
            cookies(setCookie),
          );
        }
        const crossSite = auth.crossSite(req, str(form.csrf));
        if (crossSite)
          return sendHtml(
            res,
            403,
            messagePage('Sign in', ctx, loginForm(ctx.csrf, crossSite)),
            cookies(setCookie),
          );
        const result = await auth.login(str(form.name).trim(), str(form.token), remoteAddress(req));
        if (!result.ok) {
          return sendHtml(
            res,
            result.status,
            messagePage('Sign in', ctx, loginForm(ctx.csrf, result.reason)),
            {
              ...cookies(setCookie),
              ...(result.retryAfter ? { 'retry-after': String(result.retryAfter) } : {}),
            },
          );
        }
        redirect(res, '/board', cookies(result.setCookie));
      },
    },
    {
      method: 'POST',
      path: '/board/logout',
      handler: async (req, res) => {
        const form = await readForm(req).catch(() => ({}) as Record<string, unknown>);
        const crossSite = auth.crossSite(req, str(form.csrf) || str(req.headers['x-csrf-token']));
        if (crossSite) return sendJson(res, 403, { error: crossSite });
        redirect(res, '/board', cookies(auth.logoutCookie()));
      },
    },
  ];
}
