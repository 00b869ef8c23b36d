/**
 * Build logs over HTTP, the "Details" of `release-flow/build` (docs/pipelines-and-decisions.md "The pull-request gate (stage
 * 0)"): `GET /logs/<run>/<attempt>?sig=<signature>` serves `<workDir>/runs/<run>/<attempt>/run.log`
 * as written by the worktree command runner, as plain text. Read-only, and only names the
 * runner itself makes are accepted: anything else is a 404, so no request reaches outside the
 * runs directory. Run names derive from repository, commit and purpose, which anyone can guess;
 * the signature (an HMAC under a key kept in the state directory) makes only the links
 * release-flow handed out work.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { madeOnce } from '../common/made-once-file';
import { maskSecrets, registerSecret } from '../common/secrets';
import { attemptLogPath, attemptOfLog } from '../adapters/local/worktree-command-runner';
import type { Config } from '../config/schema';
import { sendJson, type Route } from './server';

const LOGS = '/logs/';
const KEY_FILE = 'log-links.key';

/**
 * The key that signs log links, made once per state directory (readable by its owner only), so
 * the HTTP server and a worker in another process on the same state agree on it.
 */
export function logLinkKey(stateDir: string): Buffer {
  const hex = madeOnce(stateDir, KEY_FILE, () => randomBytes(32).toString('hex'));
  // Whoever reads the key forges links to every log: it is masked like an environment secret.
  registerSecret(hex);
  return Buffer.from(hex, 'hex');
}

/** The `sig` of a log link: an HMAC of `<run>/<attempt>` under the state directory's key. */
export function logSignature(key: Buffer, run: string, attempt: string): string {
  return createHmac('sha256', key).update(`${run}/${attempt}`).digest('hex').slice(0, 32);
}

function signedBy(key: Buffer, run: string, attempt: string, given: string | null): boolean {
  if (!given) return false;
  const expected = Buffer.from(logSignature(key, run, attempt));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** `workDir` is the command runner's (`<stateDir>/work`); `key` from `logLinkKey`. */
export function logRoutes(workDir: string, key: Buffer): Route[] {
  return [
    {
      method: 'GET',
      path: LOGS,
      prefix: true,
      handler: async (req, res) => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const [run, attempt, ...rest] = url.pathname.slice(LOGS.length).split('/');
        const named =
          run && attempt && !rest.length && signedBy(key, run, attempt, url.searchParams.get('sig'));
        const file = named ? attemptLogPath(workDir, run, attempt) : null;
        const info = file ? await stat(file).catch(() => null) : null;
        if (!file || !info?.isFile()) return sendJson(res, 404, { error: 'no such log' });
        // No length: a running build's log is still growing, so send what is there now.
        res.writeHead(200, {
          'content-type': 'text/plain; charset=utf-8',
          'x-content-type-options': 'nosniff',
          'cache-control': 'no-store',
        });
        // Line by line, masked: a step that printed a secret must not publish it through its log.
        const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
        await pipeline(
          (async function* () {
            for await (const line of lines) yield `${maskSecrets(line)}\n`;
          })(),
          res,
        );
      },
    },
  ];
}

/** Links to logs the runner wrote, under the server's public root; undefined for any other path. */
export function logLinks(baseUrl: string, key: Buffer): (logPath: string) => string | undefined {
  const root = baseUrl.replace(/\/+$/, '');
  return (logPath) => {
    const at = attemptOfLog(logPath);
    if (!at) return undefined;
    const sig = logSignature(key, at.runDirectory, at.attempt);
    return `${root}${LOGS}${at.runDirectory}/${at.attempt}?sig=${sig}`;
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
