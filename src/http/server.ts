/**
 * The HTTP server of `npm start`: liveness (`GET /healthz`), readiness (`GET /readyz`, a real
 * round trip through Temporal and the worker), and the routes other parts mount (webhooks,
 * build logs).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { UserError } from '../errors';

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> | void;

export interface Route {
  method: string;
  path: string;
  /** When true, `path` ends in `/` and the route answers every path below it too. */
  prefix?: boolean;
  handler: RouteHandler;
}

export interface HttpServerOptions {
  host: string;
  port: number;
  routes: Route[];
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
  const server = http.createServer((req, res) => {
    const pathname = pathOf(req.url);
    // A request line no URL parser accepts (`GET http://[ HTTP/1.1`) must not take the process down.
    if (pathname === null) return sendJson(res, 400, { error: 'the request target is not a valid URL path' });
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
