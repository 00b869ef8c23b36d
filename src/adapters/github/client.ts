/**
 * The one way release-flow builds an Octokit: credentials from the environment (a token in
 * `GITHUB_TOKEN`, or a GitHub App in `GITHUB_APP_*`), API root from `GITHUB_API_URL` (GitHub
 * Enterprise Server), GitHub's pacing and rate limits honoured by `@octokit/plugin-throttling`,
 * transient 5xx retried by `@octokit/plugin-retry`.
 *
 * A GitHub App client mints installation tokens with `@octokit/auth-app`, which caches each one
 * and mints the next before it expires. Without an installation id the App's installation on
 * the repository is looked up with the App's JWT, so App clients are built for a repository
 * (`repository`, or `createGitHubClients` for many).
 *
 * The Octokit packages are ESM-only; this CommonJS code reaches them with a dynamic `import()`
 * (as commit-parser.ts does for the parser). Tokens and the private key live only inside the
 * Octokit instance: never returned, logged or put into workflow data, and log lines pass
 * through `maskSecrets` in case a server echoes one.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Octokit } from '@octokit/rest';
import { maskSecrets, registerSecret } from '../../common/secrets';
import { UserError } from '../../common/errors';
import { packageVersion } from '../../common/package-info';
import {
  explainAccess,
  GitHubAccessError,
  githubMessage,
  isRequestFailure,
  permissionForRequest,
} from './access-errors';
import { fullName, type RepositoryRef } from './repository-ref';

export type GitHubClient = Octokit;

export interface GitHubLog {
  debug: (message: string) => void;
  info: (message: string) => void;
  warn: (message: string) => void;
  error: (message: string) => void;
}

/** How release-flow signs in to GitHub. */
export type GitHubCredentials =
  | { kind: 'token'; token: string }
  | {
      kind: 'app';
      appId: number;
      /** PEM text (PKCS#1 or PKCS#8). */
      privateKey: string;
      /** Looked up per repository when omitted. */
      installationId?: number;
    };

export interface GitHubClientOptions {
  /** Read from the environment (`githubCredentialsFromEnv`) when neither this nor `token` is given. */
  credentials?: GitHubCredentials;
  /** A token with the permissions each adapter names; shorthand for `{ kind: 'token', token }`. */
  token?: string;
  /** The repository the client acts on; needed by App credentials without an installation id. */
  repository?: RepositoryRef;
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

const APP_FIX = {
  id: "GITHUB_APP_ID is the App ID number on the App's settings page",
  key: "GITHUB_APP_PRIVATE_KEY holds a private key generated on the App's settings page (PEM text, newlines may be written as \\n), or GITHUB_APP_PRIVATE_KEY_PATH names its .pem file",
  installation:
    'GITHUB_APP_INSTALLATION_ID is the number at the end of the installation settings URL; unset it to look the installation up per repository',
};

function nonEmpty(value: string | undefined): string | undefined {
  return value?.trim() ? value : undefined;
}

function positiveInteger(text: string): number | undefined {
  return /^\s*[1-9]\d*\s*$/.test(text) ? Number(text) : undefined;
}

/** PEM text with `\n`-escaped newlines restored, or a description of what is wrong with it. */
function readPrivateKey(text: string, variable: string): { key: string } | { problem: string } {
  const key = text.replace(/\\n/g, '\n').trim();
  try {
    const parsed = createPrivateKey(key);
    if (parsed.asymmetricKeyType !== 'rsa') {
      return {
        problem: `${variable} holds a key of type ${parsed.asymmetricKeyType ?? 'unknown'}; GitHub Apps sign with RSA`,
      };
    }
  } catch {
    // The parser's own message can quote the key; the variable's name is enough to act on.
    return { problem: `${variable} is not a PEM-encoded RSA private key` };
  }
  return { key: `${key}\n` };
}

/**
 * The GitHub credentials configured in `env`: a complete GitHub App (`GITHUB_APP_ID` with
 * `GITHUB_APP_PRIVATE_KEY` or `GITHUB_APP_PRIVATE_KEY_PATH`, optional
 * `GITHUB_APP_INSTALLATION_ID`) wins over `GITHUB_TOKEN`, since its installation tokens are
 * narrower and short-lived; otherwise `GITHUB_TOKEN`; otherwise none. Part of an App's settings
 * is refused, naming what is missing or wrong, rather than quietly falling back to the token.
 */
export function githubCredentialsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): GitHubCredentials | undefined {
  const appId = nonEmpty(env.GITHUB_APP_ID);
  const keyText = nonEmpty(env.GITHUB_APP_PRIVATE_KEY);
  const keyPath = nonEmpty(env.GITHUB_APP_PRIVATE_KEY_PATH);
  const installation = nonEmpty(env.GITHUB_APP_INSTALLATION_ID);
  if (appId === undefined && keyText === undefined && keyPath === undefined && installation === undefined) {
    const token = nonEmpty(env.GITHUB_TOKEN);
    return token ? { kind: 'token', token } : undefined;
  }
  const problems: string[] = [];
  const fixes = new Set<string>();
  const given = [
    ['GITHUB_APP_ID', appId],
    ['GITHUB_APP_PRIVATE_KEY', keyText],
    ['GITHUB_APP_PRIVATE_KEY_PATH', keyPath],
    ['GITHUB_APP_INSTALLATION_ID', installation],
  ]
    .filter(([, value]) => value !== undefined)
    .map(([name]) => name)
    .join(', ');
  const id = appId === undefined ? undefined : positiveInteger(appId);
  if (appId === undefined) {
    problems.push(`GITHUB_APP_ID is not set (GitHub App settings found: ${given})`);
    fixes.add(APP_FIX.id);
  } else if (id === undefined) {
    problems.push(`GITHUB_APP_ID ${JSON.stringify(appId)} is not a GitHub App id`);
    fixes.add(APP_FIX.id);
  }
  let privateKey: string | undefined;
  if (keyText === undefined && keyPath === undefined) {
    problems.push(`GITHUB_APP_PRIVATE_KEY is not set (GitHub App settings found: ${given})`);
    fixes.add(APP_FIX.key);
  } else if (keyText !== undefined && keyPath !== undefined) {
    problems.push('GITHUB_APP_PRIVATE_KEY and GITHUB_APP_PRIVATE_KEY_PATH are both set');
    fixes.add('keep one of GITHUB_APP_PRIVATE_KEY and GITHUB_APP_PRIVATE_KEY_PATH');
  } else {
    let text = keyText;
    const variable =
      keyText !== undefined ? 'GITHUB_APP_PRIVATE_KEY' : `GITHUB_APP_PRIVATE_KEY_PATH (${keyPath})`;
    if (text === undefined) {
      try {
        text = readFileSync(keyPath!, 'utf8');
      } catch (err) {
        problems.push(
          `GITHUB_APP_PRIVATE_KEY_PATH ${keyPath} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        );
        fixes.add(APP_FIX.key);
      }
    }
    if (text !== undefined) {
      const read = readPrivateKey(text, variable);
      if ('key' in read) privateKey = read.key;
      else {
        problems.push(read.problem);
        fixes.add(APP_FIX.key);
      }
    }
  }
  const installationId = installation === undefined ? undefined : positiveInteger(installation);
  if (installation !== undefined && installationId === undefined) {
    problems.push(`GITHUB_APP_INSTALLATION_ID ${JSON.stringify(installation)} is not an installation id`);
    fixes.add(APP_FIX.installation);
  }
  if (problems.length > 0) {
    throw new UserError('GITHUB_APP_CONFIG', problems.join('; '), [...fixes].join('; '));
  }
  return {
    kind: 'app',
    appId: id!,
    privateKey: privateKey!,
    ...(installationId === undefined ? {} : { installationId }),
  };
}

function credentialsOf(options: GitHubClientOptions): GitHubCredentials {
  const credentials =
    options.credentials ??
    (options.token
      ? { kind: 'token' as const, token: options.token }
      : githubCredentialsFromEnv(process.env));
  if (!credentials) {
    throw new UserError(
      'GITHUB_TOKEN_MISSING',
      'GITHUB_TOKEN is not set, nor GitHub App credentials',
      'export GITHUB_TOKEN with a token for the repository (fine-grained: contents, statuses, issues, pull requests, administration for setup), or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY for a GitHub App with those permissions',
    );
  }
  if (credentials.kind === 'app') registerSecret(credentials.privateKey);
  return credentials;
}

function masked(log: GitHubLog, token: string | undefined): GitHubLog {
  const env = token ? { GITHUB_TOKEN: token } : {};
  return {
    debug: (m) => log.debug(maskSecrets(m, env)),
    info: (m) => log.info(maskSecrets(m, env)),
    warn: (m) => log.warn(maskSecrets(m, env)),
    error: (m) => log.error(maskSecrets(m, env)),
  };
}

const ACCESS_TOKENS = /\/app\/installations\/[^/]+\/access_tokens$/;

type AppAuth = { appId: number; privateKey: string; installationId?: number };

/** An Octokit signed in with a token, as a GitHub App installation, or as the App itself (no installation id). */
async function buildClient(
  options: GitHubClientOptions,
  auth: { token: string } | { app: AppAuth },
): Promise<GitHubClient> {
  const baseUrl = (options.baseUrl ?? process.env.GITHUB_API_URL ?? DEFAULT_GITHUB_API_URL).replace(
    /\/+$/,
    '',
  );
  const [{ Octokit: Rest }, { throttling }, { retry }] = await Promise.all([
    import('@octokit/rest'),
    import('@octokit/plugin-throttling'),
    import('@octokit/plugin-retry'),
  ]);
  const signIn =
    'token' in auth
      ? { auth: auth.token }
      : { authStrategy: (await import('@octokit/auth-app')).createAppAuth, auth: { ...auth.app } };
  const log = masked(options.log ?? silent, 'token' in auth ? auth.token : undefined);
  const retries = options.rateLimitRetries ?? 3;
  const scale = options.waitScaleMs ?? 1000;
  const pacing = options.pace === false ? await unpacedGroups() : {};
  const Client = Rest.plugin(throttling, retry);
  const client = new Client({
    ...signIn,
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
  // Every 401 and permission 403 names what to fix; activities then fail at once instead of
  // retrying a token that will not change (docs/integrations.md "GitHub").
  client.hook.error('request', (error, request) => {
    if (ACCESS_TOKENS.test(request.url) || !isRequestFailure(error)) throw error;
    if (error.status !== 401 && error.status !== 403) throw error;
    const explained = explainAccess(
      error,
      `${request.method} ${request.url}`,
      permissionForRequest(request.method, request.url),
    );
    if (explained instanceof GitHubAccessError) explained.original = error;
    throw explained;
  });
  if ('app' in auth) watchInstallationTokens(client, auth.app);
  return client;
}

/**
 * The App's auth strategy mints tokens through the client's own request pipeline, so the
 * client's hooks see them: each new token is masked from then on, and a refusal to mint one
 * names the setting to fix instead of surfacing as a failure of whatever call needed it.
 */
function watchInstallationTokens(client: GitHubClient, app: AppAuth): void {
  client.hook.after('request', (response, request) => {
    const token = (response.data as { token?: unknown } | undefined)?.token;
    if (ACCESS_TOKENS.test(request.url) && typeof token === 'string') registerSecret(token);
  });
  client.hook.error('request', (error, request) => {
    if (!ACCESS_TOKENS.test(request.url) || !isRequestFailure(error)) throw error;
    if (error.status === 401) {
      throw new UserError(
        'GITHUB_APP_REJECTED',
        `GitHub rejected the JWT of GitHub App ${app.appId}: ${githubMessage(error)}`,
        `check that GITHUB_APP_ID is the App's id and the private key one of its keys`,
      );
    }
    if (error.status === 404) {
      throw new UserError(
        'GITHUB_APP_NOT_INSTALLED',
        `GitHub App ${app.appId} has no installation ${app.installationId ?? ''}`.trimEnd(),
        'set GITHUB_APP_INSTALLATION_ID to an installation of this App, or unset it to look the installation up per repository',
      );
    }
    throw error;
  });
}

/** The App's installation on `repository`, found with the App's JWT. */
async function installationOf(app: GitHubClient, appId: number, repository: RepositoryRef): Promise<number> {
  try {
    const { data } = await app.request('GET /repos/{owner}/{repo}/installation', {
      owner: repository.owner,
      repo: repository.repo,
    });
    return data.id;
  } catch (err) {
    if (!isRequestFailure(err)) throw err;
    if (err.status === 404) {
      throw new UserError(
        'GITHUB_APP_NOT_INSTALLED',
        `the GitHub App is not installed on ${fullName(repository)}`,
        'install it on the repository, or set GITHUB_APP_INSTALLATION_ID',
      );
    }
    // GitHub answers 404 for an App that is not installed; 401 means it did not accept the
    // App's JWT at all, which no installation fixes: this message points at the settings that
    // are wrong.
    if (err.status === 401) {
      throw new UserError(
        'GITHUB_APP_REJECTED',
        `GitHub rejected the JWT of GitHub App ${appId} while looking up its installation on ${fullName(repository)}: ${githubMessage(err)}`,
        `check that GITHUB_APP_ID is the App's id and the private key one of its keys`,
      );
    }
    throw err;
  }
}

function needsRepository(): UserError {
  return new UserError(
    'GITHUB_APP_INSTALLATION_UNKNOWN',
    'the GitHub App installation to act as is unknown: no GITHUB_APP_INSTALLATION_ID and no repository to look it up by',
    'set GITHUB_APP_INSTALLATION_ID',
  );
}

/**
 * Builds a client; refuses with a user error when no credentials are configured, or App
 * credentials without an installation id come without a repository.
 */
export async function createGitHubClient(options: GitHubClientOptions = {}): Promise<GitHubClient> {
  const credentials = credentialsOf(options);
  if (credentials.kind === 'token') return buildClient(options, { token: credentials.token });
  const { appId, privateKey } = credentials;
  let installationId = credentials.installationId;
  if (installationId === undefined) {
    if (!options.repository) throw needsRepository();
    const app = await buildClient(options, { app: { appId, privateKey } });
    installationId = await installationOf(app, appId, options.repository);
  }
  return buildClient(options, { app: { appId, privateKey, installationId } });
}

/**
 * Clients for any number of repositories from one set of credentials, each built once: one
 * client for a token or a fixed installation, else one per installation, found once per
 * repository. Installation tokens are cached per client, so repositories of one installation
 * share a token. A failed build is forgotten, so the next call tries again.
 */
export function createGitHubClients(
  options: Omit<GitHubClientOptions, 'repository'> = {},
): (repository: RepositoryRef) => Promise<GitHubClient> {
  const credentials = credentialsOf(options);
  const clients = new Map<string, Promise<GitHubClient>>();
  const installations = new Map<string, Promise<number>>();
  let appClient: Promise<GitHubClient> | undefined;
  const once = <T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> => {
    let entry = cache.get(key);
    if (!entry) {
      entry = make();
      cache.set(key, entry);
      entry.catch(() => cache.delete(key));
    }
    return entry;
  };
  return async (repository) => {
    if (credentials.kind === 'token' || credentials.installationId !== undefined) {
      return once(clients, 'fixed', () => createGitHubClient({ ...options, credentials }));
    }
    const { appId, privateKey } = credentials;
    const installationId = await once(installations, fullName(repository).toLowerCase(), async () => {
      appClient ??= buildClient(options, { app: { appId, privateKey } });
      const app = await appClient.catch((err: unknown) => {
        appClient = undefined;
        throw err;
      });
      return installationOf(app, appId, repository);
    });
    return once(clients, `installation ${installationId}`, () =>
      createGitHubClient({ ...options, credentials: { ...credentials, installationId } }),
    );
  };
}

/**
 * A source of tokens for git over HTTPS with the client's credentials: the same token, or the
 * installation's current token, which the App strategy mints again before it expires. Call it
 * for each git command rather than holding on to one value.
 */
export function gitTokenSource(client: GitHubClient): () => Promise<string> {
  return async () => {
    const { token } = (await client.auth({ type: 'installation' })) as { token: string };
    return token;
  };
}

// Separate Bottleneck groups without minimum spacing, so tests do not wait a second per write.
async function unpacedGroups() {
  const Bottleneck = (await import('bottleneck')).default;
  const group = () => new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 });
  return { write: group(), notifications: group(), search: group() };
}
