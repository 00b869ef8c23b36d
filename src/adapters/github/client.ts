/**
 * The one way release-flow builds an Octokit: token from `GITHUB_TOKEN`, API root from
 * `GITHUB_API_URL` (GitHub Enterprise Server), GitHub's pacing and rate limits honoured by
 * `@octokit/plugin-throttling`, transient 5xx retried by `@octokit/plugin-retry`.
 *
 * The Octokit packages are ESM-only; this CommonJS code reaches them with a dynamic `import()`
 * (as commit-parser.ts does for the parser). The token lives only inside the Octokit instance:
 * it is never returned, logged or put into workflow data, and log lines pass through
 * `maskSecrets` in case a server echoes it.
 */
import type { Octokit } from '@octokit/rest';
import { maskSecrets } from '../../config/secrets';
import { UserError } from '../../errors';
import { packageVersion } from '../../package-info';

export type GitHubClient = Octokit;

export interface GitHubLog {
  debug: (message: string) => void;
  info: (message: string) => void;
  warn: (message: string) => void;
  error: (message: string) => void;
}

export interface GitHubClientOptions {
  /** A token with the permissions each adapter names; from `GITHUB_TOKEN` when omitted. */
  token?: string;
  /** `https://api.github.com`, or `https://HOST/api/v3` for GitHub Enterprise Server; from `GITHUB_API_URL` when omitted. */
  baseUrl?: string;
  /** Retries after a primary or secondary rate limit before the request fails (default 3). */
  rateLimitRetries?: number;
  /**
   * GitHub asks integrators to space content-creating requests (a second apart, three for
   * notifications); the throttling plugin does so by default. Tests against a local server
   * set `false` and shrink every wait with `waitScaleMs`.
   */
  pace?: boolean;
  /** Milliseconds per second of `retry-after` and retry back-off (1000 in production). */
  waitScaleMs?: number;
  log?: GitHubLog;
}

export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';

interface LimitedRequest {
  method: string;
  url: string;
}

const silent: GitHubLog = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** The web UI root that goes with an API root (`https://HOST/api/v3` -> `https://HOST`). */
export function webUrlOf(apiUrl: string): string {
  const url = apiUrl.replace(/\/+$/, '');
  if (url === DEFAULT_GITHUB_API_URL) return 'https://github.com';
  return url.replace(/\/api\/v3$/, '');
}

function masked(log: GitHubLog, token: string): GitHubLog {
  const env = { GITHUB_TOKEN: token };
  return {
    debug: (m) => log.debug(maskSecrets(m, env)),
    info: (m) => log.info(maskSecrets(m, env)),
    warn: (m) => log.warn(maskSecrets(m, env)),
    error: (m) => log.error(maskSecrets(m, env)),
  };
}

/** Builds a client; refuses with a user error when no token is configured. */
export async function createGitHubClient(options: GitHubClientOptions = {}): Promise<GitHubClient> {
  const token = options.token ?? process.env.GITHUB_TOKEN;
  if (!token) {
    throw new UserError(
      'GITHUB_TOKEN_MISSING',
      'GITHUB_TOKEN is not set',
      'export GITHUB_TOKEN with a token for the repository (fine-grained: contents, statuses, issues, pull requests, administration for setup)',
    );
  }
  const baseUrl = (options.baseUrl ?? process.env.GITHUB_API_URL ?? DEFAULT_GITHUB_API_URL).replace(
    /\/+$/,
    '',
  );
  const [{ Octokit: Rest }, { throttling }, { retry }] = await Promise.all([
    import('@octokit/rest'),
    import('@octokit/plugin-throttling'),
    import('@octokit/plugin-retry'),
  ]);
  const log = masked(options.log ?? silent, token);
  const retries = options.rateLimitRetries ?? 3;
  const scale = options.waitScaleMs ?? 1000;
  const pacing = options.pace === false ? await unpacedGroups() : {};
  const Client = Rest.plugin(throttling, retry);
  return new Client({
    auth: token,
    baseUrl,
    userAgent: `release-flow/${packageVersion()}`,
    log,
    retry: { retryAfterBaseValue: scale },
    throttle: {
      ...pacing,
      retryAfterBaseValue: scale,
      onRateLimit: (after: number, request: LimitedRequest, _octokit: unknown, count: number) => {
        log.warn(
          `GitHub rate limit hit by ${request.method} ${request.url}; retry ${count + 1} in ${after}s`,
        );
        return count < retries;
      },
      onSecondaryRateLimit: (after: number, request: LimitedRequest, _octokit: unknown, count: number) => {
        log.warn(
          `GitHub secondary rate limit hit by ${request.method} ${request.url}; retry ${count + 1} in ${after}s`,
        );
        return count < retries;
      },
    },
  }) as GitHubClient;
}

// Separate Bottleneck groups without minimum spacing, so tests do not wait a second per write.
async function unpacedGroups() {
  const Bottleneck = (await import('bottleneck')).default;
  const group = () => new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 });
  return { write: group(), notifications: group(), search: group() };
}
