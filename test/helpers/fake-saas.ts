/**
 * Faithful local stand-ins for Slack, PagerDuty and Datadog, which cannot run here: each checks
 * the documented request shape, headers and auth, answers as the service documents (Slack's
 * `ok` / plain-text errors, PagerDuty's 202 JSON, Datadog's series), and can be told to fail the
 * next requests with 429 (with Retry-After) or 5xx. Every request is recorded for assertions.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json?: unknown;
  status: number;
}

interface Failure {
  status: number;
  retryAfter?: string;
  body?: string;
}

export class FakeServer {
  readonly requests: Recorded[] = [];
  private failures: Failure[] = [];
  private server?: http.Server;
  url = '';

  constructor(
    private readonly handle: (
      req: Recorded,
      url: URL,
    ) => { status: number; body: string; headers?: Record<string, string> },
  ) {}

  /** The next `count` requests answer `status` (429 carries Retry-After). */
  failNext(count: number, status: number, retryAfter?: string, body?: string): void {
    for (let i = 0; i < count; i++)
      this.failures.push({ status, ...(retryAfter ? { retryAfter } : {}), ...(body ? { body } : {}) });
  }

  /** Every request from now on answers `status` until healed. */
  down(status: number): void {
    this.failures = Array.from({ length: 10_000 }, () => ({ status }));
  }

  heal(): void {
    this.failures = [];
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const url = new URL(req.url ?? '/', 'http://fake');
        const recorded: Recorded = {
          method: req.method ?? '',
          path: url.pathname,
          headers: req.headers,
          body,
          status: 0,
        };
        try {
          recorded.json = JSON.parse(body);
        } catch {
          // Not JSON: the handler decides what that means.
        }
        this.requests.push(recorded);
        const failure = this.failures.shift();
        const answer = failure
          ? {
              status: failure.status,
              body: failure.body ?? (failure.status === 429 ? 'rate_limited' : 'internal error'),
              headers: failure.retryAfter ? { 'retry-after': failure.retryAfter } : {},
            }
          : this.handle(recorded, url);
        recorded.status = answer.status;
        res.writeHead(answer.status, {
          'content-type': answer.body.startsWith('{') ? 'application/json' : 'text/plain',
          ...(answer.headers ?? {}),
        });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

type Block = { type?: string; elements?: { action_id?: string; value?: string; confirm?: unknown }[] };

/** Why a Slack message is invalid (Slack answers `invalid_payload` or `no_text`), or undefined. */
function slackPayloadProblem(json: unknown): string | undefined {
  if (!json || typeof json !== 'object') return 'invalid_payload';
  const message = json as { text?: unknown; blocks?: unknown };
  if (typeof message.text !== 'string' || !message.text) return 'no_text';
  if (message.blocks !== undefined) {
    if (!Array.isArray(message.blocks) || message.blocks.length > 50) return 'invalid_blocks';
    for (const block of message.blocks as Block[]) {
      if (!['header', 'section', 'actions', 'context', 'divider'].includes(block.type ?? ''))
        return 'invalid_blocks';
      if (block.type === 'actions' && (!block.elements || block.elements.some((e) => !e.action_id)))
        return 'invalid_blocks';
    }
  }
  return undefined;
}

/** An incoming webhook at `/services/T000/B000/<secret>` and the Web API's chat.postMessage. */
export function fakeSlack(options: { webhookPath: string; botToken?: string }): FakeServer {
  let ts = 1_700_000_000;
  return new FakeServer((req) => {
    if (req.method !== 'POST') return { status: 405, body: 'invalid_method' };
    if (req.path === '/api/chat.postMessage') {
      if (req.headers.authorization !== `Bearer ${options.botToken}`)
        return { status: 200, body: JSON.stringify({ ok: false, error: 'invalid_auth' }) };
      if (!String(req.headers['content-type']).startsWith('application/json'))
        return { status: 200, body: JSON.stringify({ ok: false, error: 'invalid_arguments' }) };
      const problem = slackPayloadProblem(req.json);
      if (problem) return { status: 200, body: JSON.stringify({ ok: false, error: problem }) };
      const channel = (req.json as { channel?: string }).channel;
      if (!channel) return { status: 200, body: JSON.stringify({ ok: false, error: 'channel_not_found' }) };
      ts += 1;
      return { status: 200, body: JSON.stringify({ ok: true, channel, ts: `${ts}.000100` }) };
    }
    if (req.path !== options.webhookPath) return { status: 404, body: 'no_service' };
    if (!String(req.headers['content-type']).startsWith('application/json'))
      return { status: 400, body: 'invalid_payload' };
    const problem = slackPayloadProblem(req.json);
    if (problem) return { status: 400, body: problem };
    return { status: 200, body: 'ok' };
  });
}

/** Events API v2: `/v2/enqueue` and `/v2/change/enqueue`, with incidents kept by dedup key. */
export function fakePagerDuty(options: {
  routingKey: string;
}): FakeServer & { incidents: Map<string, { status: string; triggers: number }> } {
  const incidents = new Map<string, { status: string; triggers: number }>();
  const invalid = (errors: string[]) => ({
    status: 400,
    body: JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors }),
  });
  const server = new FakeServer((req) => {
    if (req.method !== 'POST') return { status: 405, body: '' };
    const event = req.json as Record<string, unknown> | undefined;
    if (!event) return invalid(['body is not JSON']);
    if (event.routing_key !== options.routingKey) return invalid(['routing_key is invalid']);
    if (req.path === '/v2/change/enqueue') {
      const payload = event.payload as Record<string, unknown> | undefined;
      if (!payload || typeof payload.summary !== 'string') return invalid(['payload.summary is missing']);
      return { status: 202, body: JSON.stringify({ status: 'success', message: 'Change event processed' }) };
    }
    if (req.path !== '/v2/enqueue') return { status: 404, body: '' };
    const action = event.event_action;
    const dedupKey = event.dedup_key as string | undefined;
    if (action === 'trigger') {
      const payload = event.payload as Record<string, unknown> | undefined;
      const errors: string[] = [];
      if (!payload) errors.push('payload is missing');
      else {
        if (typeof payload.summary !== 'string' || payload.summary.length > 1024)
          errors.push('payload.summary is invalid');
        if (typeof payload.source !== 'string') errors.push('payload.source is missing');
        if (!['critical', 'error', 'warning', 'info'].includes(payload.severity as string))
          errors.push('payload.severity is invalid');
      }
      if (dedupKey !== undefined && dedupKey.length > 255) errors.push('dedup_key is too long');
      if (errors.length) return invalid(errors);
      const key = dedupKey ?? `generated-${incidents.size}`;
      const open = incidents.get(key);
      if (open && open.status === 'triggered') open.triggers += 1;
      else incidents.set(key, { status: 'triggered', triggers: 1 });
      return {
        status: 202,
        body: JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: key }),
      };
    }
    if (action === 'acknowledge' || action === 'resolve') {
      if (!dedupKey) return invalid(['dedup_key is required for acknowledge and resolve']);
      const open = incidents.get(dedupKey);
      if (open) open.status = action === 'resolve' ? 'resolved' : 'acknowledged';
      return {
        status: 202,
        body: JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: dedupKey }),
      };
    }
    return invalid(['event_action is invalid']);
  });
  return Object.assign(server, { incidents });
}

/** One raw point a service reported to the fake Datadog: a count at a time (ms). */
export interface DatadogPoint {
  metric: string;
  tags: Record<string, string>;
  at: number;
  value: number;
}

/**
 * Evaluates the query shapes health queries use, as Datadog does: `sum:<metric>{<scope>}.as_count()`
 * sums the matching points per rollup (one point per rollup interval that has data, none when no
 * point matches: no series), and `A / B` divides rollup by rollup (a ratio per rollup).
 * Undefined for anything else (answered as a parse error).
 */
function evaluateDatadog(
  query: string,
  points: DatadogPoint[],
  from: number,
  to: number,
  rollupSeconds: number,
): [number, number | null][][] | undefined {
  const term = (text: string): Map<number, number> | undefined => {
    const m = /^\s*sum:([A-Za-z][\w.]*)\{([^}]*)\}\.as_count\(\)\s*$/.exec(text);
    if (!m) return undefined;
    const scope = m[2]!.trim();
    const wanted = scope === '*' ? [] : scope.split(',').map((t) => t.trim().split(':') as [string, string]);
    const buckets = new Map<number, number>();
    for (const p of points) {
      if (p.metric !== m[1] || p.at <= from * 1000 || p.at > to * 1000) continue;
      if (!wanted.every(([k, v]) => p.tags[k] === v)) continue;
      const bucket = Math.floor(p.at / 1000 / rollupSeconds) * rollupSeconds * 1000;
      buckets.set(bucket, (buckets.get(bucket) ?? 0) + p.value);
    }
    return buckets;
  };
  const sides = query.split(' / ');
  if (sides.length > 2) return undefined;
  const values = sides.map(term);
  if (values.some((v) => v === undefined)) return undefined;
  const [numerator, denominator] = values as Map<number, number>[];
  if (numerator!.size === 0) return [];
  if (!denominator) return [[...numerator!].sort((a, b) => a[0] - b[0])];
  if (denominator.size === 0) return [];
  const times = [...new Set([...numerator!.keys(), ...denominator.keys()])].sort((a, b) => a - b);
  return [
    times.map((t): [number, number | null] => {
      const d = denominator.get(t) ?? 0;
      return [t, d === 0 ? null : (numerator!.get(t) ?? 0) / d];
    }),
  ];
}

/**
 * Metrics query v1: `GET /api/v1/query`, keys checked; `series` answers by query text, or,
 * given `points`, queries are evaluated over them in rollups. `GET /api/v1/metrics/<name>`
 * answers a metric's metadata, 404 for a metric never reported (nor in `knownMetrics`).
 */
export function fakeDatadog(options: {
  apiKey: string;
  appKey: string;
  series?: (query: string, from: number, to: number) => [number, number | null][][] | undefined;
  points?: DatadogPoint[];
  knownMetrics?: string[];
  rollupSeconds?: number;
}): FakeServer {
  return new FakeServer((req, url) => {
    if (req.method === 'GET' && req.path.startsWith('/api/v1/metrics/')) {
      if (
        req.headers['dd-api-key'] !== options.apiKey ||
        req.headers['dd-application-key'] !== options.appKey
      )
        return { status: 403, body: JSON.stringify({ errors: ['Forbidden'] }) };
      const name = decodeURIComponent(req.path.slice('/api/v1/metrics/'.length));
      const known =
        (options.knownMetrics ?? []).includes(name) || (options.points ?? []).some((p) => p.metric === name);
      if (!known) return { status: 404, body: JSON.stringify({ errors: ['Metric not found'] }) };
      return {
        status: 200,
        body: JSON.stringify({ type: 'count', unit: 'request', per_unit: null, description: null }),
      };
    }
    if (req.method !== 'GET' || req.path !== '/api/v1/query')
      return { status: 404, body: JSON.stringify({ errors: ['Not found'] }) };
    if (req.headers['dd-api-key'] !== options.apiKey || req.headers['dd-application-key'] !== options.appKey)
      return { status: 403, body: JSON.stringify({ errors: ['Forbidden'] }) };
    const query = url.searchParams.get('query');
    const from = Number(url.searchParams.get('from'));
    const to = Number(url.searchParams.get('to'));
    if (!query || !Number.isInteger(from) || !Number.isInteger(to))
      return { status: 400, body: JSON.stringify({ errors: ['query, from and to are required'] }) };
    const series = options.points
      ? evaluateDatadog(query, options.points, from, to, options.rollupSeconds ?? 10)
      : options.series?.(query, from, to);
    if (series === undefined)
      return {
        status: 400,
        body: JSON.stringify({ status: 'error', error: `Error parsing query: ${query}`, series: [] }),
      };
    return {
      status: 200,
      body: JSON.stringify({
        status: 'ok',
        res_type: 'time_series',
        query,
        from_date: from * 1000,
        to_date: to * 1000,
        series: series.map((pointlist) => ({
          metric: 'm',
          scope: '*',
          query_index: 0,
          interval: options.rollupSeconds ?? 10,
          length: pointlist.length,
          pointlist,
        })),
      }),
    };
  });
}
