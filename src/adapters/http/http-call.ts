/**
 * One HTTP request to a third-party API with a hard deadline, answering status, headers and
 * body instead of throwing on 4xx/5xx, so each adapter reads the service's own error shapes.
 * A timeout or a refused connection rejects with a one-line reason (no URL: it may hold a secret).
 */

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

export interface HttpCall {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export class HttpUnreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HttpUnreachable';
  }
}

export async function httpCall(call: HttpCall): Promise<HttpAnswer> {
  let response: Response;
  try {
    response = await fetch(call.url, {
      method: call.method,
      headers: call.headers ?? {},
      ...(call.body !== undefined ? { body: call.body } : {}),
      signal: AbortSignal.timeout(call.timeoutMs),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError')
      throw new HttpUnreachable(`no answer within ${call.timeoutMs} ms (timeout)`);
    throw new HttpUnreachable(`cannot connect: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (err) {
    const e = err as Error;
    throw new HttpUnreachable(
      e.name === 'TimeoutError' ? `no answer within ${call.timeoutMs} ms (timeout)` : e.message,
    );
  }
  return { status: response.status, headers: response.headers, text };
}

/** The `Retry-After` header (seconds, or an HTTP date) in milliseconds, when present. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The `Authorization` header from credentials named in config and read from `env`. */
export function authorizationFrom(
  auth: { bearerTokenEnv?: string; usernameEnv?: string; passwordEnv?: string } | undefined,
  env: NodeJS.ProcessEnv,
): { header?: string; missing: string[] } {
  if (!auth) return { missing: [] };
  if (auth.bearerTokenEnv) {
    const token = env[auth.bearerTokenEnv];
    return token ? { header: `Bearer ${token}`, missing: [] } : { missing: [auth.bearerTokenEnv] };
  }
  if (auth.usernameEnv || auth.passwordEnv) {
    const names = [auth.usernameEnv, auth.passwordEnv].filter((n): n is string => !!n);
    const missing = names.filter((n) => !env[n]);
    if (missing.length) return { missing };
    const user = auth.usernameEnv ? (env[auth.usernameEnv] ?? '') : '';
    const password = auth.passwordEnv ? (env[auth.passwordEnv] ?? '') : '';
    return { header: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, missing: [] };
  }
  return { missing: [] };
}
