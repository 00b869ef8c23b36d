/**
 * The HTTP server of `npm start`: liveness (`GET /healthz`), readiness (`GET /readyz`, a real
 * round trip through Temporal and the worker), and the routes other parts mount (webhooks,
 * build logs).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { UserError } from '../common/errors';

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> | void;

export interface Route {
  method: string;
  path: string;
  /** When true, `path` ends in `/` and the route answers every path below it too. */
  prefix?: boolean;
  handler: RouteHandler;
}

/** How long and how much one client may hold the server (docs/webhooks.md: hostile load). */
export interface HttpServerLimits {
  /** The whole request, headers and body, must arrive within this (Node's default is 300 s). */
  requestTimeoutMs?: number;
  /** The headers must arrive within this. */
  headersTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs?: number;
  /** Requests one connection may make before it is closed. */
  maxRequestsPerSocket?: number;
  /** Connections held at once; further ones are refused by the kernel's backlog, not buffered. */
  maxConnections?: number;
}

export const DEFAULT_HTTP_LIMITS: Required<HttpServerLimits> = {
  requestTimeoutMs: 20_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestsPerSocket: 1000,
  maxConnections: 1024,
};

export interface HttpServerOptions {
  host: string;
  port: number;
  routes: Route[];
  limits?: HttpServerLimits;
  onError?: (err: unknown, req: http.IncomingMessage) => void;
}

export interface RunningHttpServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The path of a request target, or null when it does not parse. */
export function pathOf(target: string | undefined): string | null {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    return null;
  }
}

export async function startHttpServer(opts: HttpServerOptions): Promise<RunningHttpServer> {
  const limits = { ...DEFAULT_HTTP_LIMITS, ...opts.limits };
  const server = http.createServer(
    {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Timeouts are checked this often; the default (30 s) would let a slow body outlive its deadline.
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
    (req, res) => {
      const pathname = pathOf(req.url);
      // A request line no URL parser accepts (`GET http://[ HTTP/1.1`) must not take the process down.
      if (pathname === null)
        return sendJson(res, 400, { error: 'the request target is not a valid URL path' });
      const matching = opts.routes.filter(
        (r) => r.path === pathname || (r.prefix === true && pathname.startsWith(r.path)),
      );
      const route = matching.find((r) => r.method === req.method);
      if (!route) {
        if (matching.length) {
          res.setHeader('allow', matching.map((r) => r.method).join(', '));
          return sendJson(res, 405, { error: `method ${req.method} not allowed on ${pathname}` });
        }
        return sendJson(res, 404, { error: `no route ${pathname}` });
      }
      Promise.resolve()
        .then(() => route.handler(req, res))
        .catch((err) => {
          opts.onError?.(err, req);
          if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
          else res.end();
        });
    },
  );
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  server.maxConnections = limits.maxConnections;
  // A client that breaks the protocol or times out gets its answer if the socket still takes one; never a crash.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(
          new UserError(
            'PORT_IN_USE',
            `port ${opts.port} for the release-flow HTTP server is already in use`,
            'stop the other process or choose another port with PORT=<port> (or server.port in the config file)',
          ),
        );
      } else reject(err);
    });
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
