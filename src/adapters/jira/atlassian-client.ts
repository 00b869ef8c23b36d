/**
 * One HTTP client for Jira and Confluence (docs/integrations.md "Jira and Confluence"). Credentials come from
 * the environment and stay inside the client: the Authorization header is built once and
 * registered as a secret, so it is masked in every log line. What the services answer is
 * translated for the person who configured them:
 * - 401 and 403 are user errors naming the credential or the permission the call needs;
 * - 400 quotes Jira's `errorMessages` and `errors` (or Confluence's `errors[].title`), naming
 *   the configuration key that holds the refused value when the field is known;
 * - 404 answers `null` to the caller, which knows whether absence is fine;
 * - 409 is a `AtlassianConflict` (a stale Confluence page version), which the caller re-reads;
 * - 429 and 503 with `Retry-After` are waited out and retried a few times, and any other 5xx
 *   or network error is left transient for the activity's retry policy.
 */
import { registerSecret } from '../../common/secrets';
import { UserError } from '../../common/errors';

export type AtlassianProduct = 'Jira' | 'Confluence';

export interface AtlassianCredentials {
  /** Cloud: the account's email and an API token (basic auth). */
  email?: string;
  apiToken?: string;
  /** Data Center: a personal access token (bearer). */
  personalAccessToken?: string;
}

export interface AtlassianClientOptions {
  product: AtlassianProduct;
  /** Site root: `https://acme.atlassian.net` (Jira) or `https://acme.atlassian.net/wiki` (Confluence). */
  baseUrl: string;
  credentials: AtlassianCredentials;
  /** Env var names, for messages that say which to fix. */
  credentialNames: string;
  /** Retries of a 429/503 inside one call (default 3). */
  rateLimitRetries?: number;
  /** The longest `Retry-After` waited inside one call; longer is left to the activity retry (default 60 s). */
  maxRetryAfterMs?: number;
  /** Scales waits in tests (default 1000 ms per second of `Retry-After`). */
  msPerSecond?: number;
  /** How long one request may take before it counts as unavailable (default 30 s). */
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
}

export interface AtlassianRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** What the call does, for messages: `create an issue in project OPS`. */
  action: string;
  /** The permission the call needs, in the service's words: `Create issues`. */
  permission: string;
  /** Body field -> configuration key, for a 400 naming the setting to fix. */
  settings?: Record<string, string>;
}

/** A stale write: someone else changed the resource first (Confluence page versions). */
export class AtlassianConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AtlassianConflict';
  }
}

/** The service is unavailable or rate-limited beyond what one call waits: retried by the activity. */
export class AtlassianUnavailable extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'AtlassianUnavailable';
  }
}

/** The `Authorization` header for the credentials, or null when none are set. */
export function authorizationOf(credentials: AtlassianCredentials): string | null {
  if (credentials.personalAccessToken) return `Bearer ${credentials.personalAccessToken}`;
  if (credentials.email && credentials.apiToken) {
    return `Basic ${Buffer.from(`${credentials.email}:${credentials.apiToken}`).toString('base64')}`;
  }
  return null;
}

/** Seconds or an HTTP date, as RFC 9110 allows; null when absent or unreadable. */
export function retryAfterMs(header: string | null, msPerSecond: number, now = Date.now()): number | null {
  if (!header) return null;
  const seconds = Number(header.trim());
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * msPerSecond;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, ((at - now) / 1000) * msPerSecond);
}

/** The messages of an Atlassian error body: Jira's `errorMessages`/`errors`, Confluence's `errors[]`. */
export function errorDetails(
  body: unknown,
  settings: Record<string, string> = {},
): { text: string; settings: string[] } {
  const parts: string[] = [];
  const named: string[] = [];
  if (body && typeof body === 'object') {
    const b = body as { errorMessages?: unknown; errors?: unknown; message?: unknown };
    if (Array.isArray(b.errorMessages)) parts.push(...b.errorMessages.map(String));
    if (Array.isArray(b.errors)) {
      for (const e of b.errors as { title?: unknown; detail?: unknown }[]) {
        parts.push([e.title, e.detail].filter((x) => typeof x === 'string' && x).join(': '));
      }
    } else if (b.errors && typeof b.errors === 'object') {
      for (const [field, message] of Object.entries(b.errors as Record<string, unknown>)) {
        parts.push(`${field}: ${String(message)}`);
        if (settings[field]) named.push(settings[field]);
      }
    }
    if (!parts.length && typeof b.message === 'string') parts.push(b.message);
  }
  return { text: parts.filter(Boolean).join('; '), settings: named };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class AtlassianClient {
  readonly baseUrl: string;
  private readonly authorization: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: AtlassianClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const authorization = authorizationOf(options.credentials);
    if (!authorization) {
      throw new UserError(
        `${options.product.toUpperCase()}_CREDENTIALS_MISSING`,
        `${options.product} at ${this.baseUrl} is configured, but the worker has no ${options.product} credentials`,
        `set ${options.credentialNames} in the worker's environment`,
      );
    }
    this.authorization = authorization;
    registerSecret(authorization);
    registerSecret(authorization.replace(/^\w+ /, ''));
    this.fetch = options.fetch ?? fetch;
  }

  /** The parsed JSON answer; null for 404 and for an empty body (204). */
  async request<T>(req: AtlassianRequest): Promise<T | null> {
    const url = new URL(`${this.baseUrl}${req.path}`);
    for (const [name, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const product = this.options.product;
    const retries = this.options.rateLimitRetries ?? 3;
    const maxWait = this.options.maxRetryAfterMs ?? 60_000;
    const msPerSecond = this.options.msPerSecond ?? 1000;
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.fetch(url, {
          method: req.method ?? 'GET',
          headers: {
            Authorization: this.authorization,
            Accept: 'application/json',
            ...(req.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          },
          ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
          // A service that hangs is as good as away: the activity retries rather than waiting out its timeout.
          signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 30_000),
        });
      } catch (err) {
        throw new AtlassianUnavailable(
          `${product} at ${this.baseUrl} is unreachable while trying to ${req.action}: ${(err as Error).message}`,
          null,
        );
      }
      const text = await response.text();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = text;
      }
      if (response.ok) return body as T | null;
      const status = response.status;
      if (status === 404) return null;
      const details = errorDetails(body, req.settings);
      const said = details.text ? `: ${details.text}` : '';
      if (status === 429 || status === 503) {
        const wait = retryAfterMs(response.headers.get('retry-after'), msPerSecond);
        if (attempt < retries && wait !== null && wait <= maxWait) {
          await sleep(wait);
          continue;
        }
        throw new AtlassianUnavailable(
          `${product} ${status === 429 ? 'rate-limited' : 'unavailable (503)'} while trying to ${req.action}${wait !== null ? ` (Retry-After ${response.headers.get('retry-after')})` : ''}; the step is retried`,
          status,
        );
      }
      if (status === 401) {
        throw new UserError(
          `${product.toUpperCase()}_UNAUTHORIZED`,
          `${product} rejected the credentials while trying to ${req.action}${said}`,
          `set ${this.options.credentialNames} to a valid, unexpired token`,
        );
      }
      if (status === 403) {
        throw new UserError(
          `${product.toUpperCase()}_PERMISSION`,
          `${product} refused to ${req.action}: the account needs the "${req.permission}" permission${said}`,
          `grant the account of ${this.options.credentialNames} "${req.permission}"`,
        );
      }
      if (status === 409)
        throw new AtlassianConflict(`${product} conflict while trying to ${req.action}${said}`);
      if (status >= 400 && status < 500) {
        throw new UserError(
          `${product.toUpperCase()}_REFUSED`,
          `${product} refused to ${req.action} (HTTP ${status})${said}`,
          details.settings.length
            ? `check ${[...new Set(details.settings)].join(', ')} in the configuration`
            : 'check the configuration values this call uses',
        );
      }
      throw new AtlassianUnavailable(
        `${product} answered HTTP ${status} while trying to ${req.action}${said}; the step is retried`,
        status,
      );
    }
  }
}
