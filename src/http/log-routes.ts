/**
 * Build logs over HTTP, the "Details" of `release-flow/build` (issue 7 "PR build"):
 * `GET /logs/<run>/<attempt>` serves `<workDir>/runs/<run>/<attempt>/run.log` as written by the
 * worktree command runner, as plain text. Read-only, and only names the runner itself makes are
 * accepted: anything else is a 404, so no request reaches outside the runs directory.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { attemptLogPath, attemptOfLog } from '../adapters/local/worktree-command-runner';
import type { Config } from '../config/schema';
import { sendJson, type Route } from './server';

const LOGS = '/logs/';

/** `workDir` is the command runner's (`<stateDir>/work`). */
export function logRoutes(workDir: string): Route[] {
  return [
    {
      method: 'GET',
      path: LOGS,
      prefix: true,
      handler: async (req, res) => {
        const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
        const [run, attempt, ...rest] = pathname.slice(LOGS.length).split('/');
        const file = run && attempt && !rest.length ? attemptLogPath(workDir, run, attempt) : null;
        const info = file ? await stat(file).catch(() => null) : null;
        if (!file || !info?.isFile()) return sendJson(res, 404, { error: 'no such log' });
        // No length: a running build's log is still growing, so send what is there now.
        res.writeHead(200, {
          'content-type': 'text/plain; charset=utf-8',
          'x-content-type-options': 'nosniff',
          'cache-control': 'no-store',
        });
        await pipeline(createReadStream(file), res);
      },
    },
  ];
}

/** Links to logs the runner wrote, under the server's public root; undefined for any other path. */
export function logLinks(baseUrl: string): (logPath: string) => string | undefined {
  const root = baseUrl.replace(/\/+$/, '');
  return (logPath) => {
    const at = attemptOfLog(logPath);
    return at ? `${root}${LOGS}${at.runDirectory}/${at.attempt}` : undefined;
  };
}

const WILDCARD_HOSTS = new Set(['', '0.0.0.0', '::', '[::]']);

/**
 * Where people reach the server: `server.publicUrl`, else `http://<host>:<port>` with the port
 * it listens on. Undefined when it listens on every address: that host is no link anyone can
 * follow, so statuses link to the Temporal UI instead.
 */
export function publicBaseUrl(server: Config['server'], port = server.port): string | undefined {
  if (server.publicUrl) return server.publicUrl;
  const host = server.host.trim();
  if (WILDCARD_HOSTS.has(host)) return undefined;
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}
