/**
 * A local GitHub REST server for tests: a real HTTP server on 127.0.0.1 serving the endpoints
 * the GitHub adapters call, with the request and response shapes of GitHub's REST reference
 * (2022-11-28): Link-header pagination, `{ message, documentation_url }` errors (404, 409,
 * 422 "Reference already exists"), `x-ratelimit-*` headers on every answer, and injectable
 * rate limits and permission refusals. Every request is journaled for assertions.
 *
 * The repository model is in memory: commits with parents, refs (annotated tags included),
 * pull requests, statuses, issues with comments, files for the contents API, merge settings and
 * branch protection.
 *
 * Besides its one personal token it knows GitHub Apps: an App's RS256 JWT (`Bearer`, checked
 * against the App's public key: signature, `iss`, `iat`, `exp` at most ten minutes ahead) may
 * look up its installation on a repository and mint installation tokens, which then work like
 * the personal token on the installation's repositories until they expire. Expiry follows
 * `Date.now()`, so a test that moves that clock moves the fake's too.
 */
import { createHash, createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestText } from './request-body';

export interface FakeCommit {
  sha: string;
  message: string;
  parents: string[];
  /** Creation order; commits are made parents first, so it is a topological order. */
  index: number;
}

export interface FakeStatus {
  sha: string;
  state: string;
  context: string;
  description: string | null;
  target_url: string | null;
}

export interface FakeIssue {
  number: number;
  title: string;
  body: string;
  labels: string[];
  assignees: string[];
  state: 'open' | 'closed';
  comments: Array<{ id: number; body: string }>;
}

export interface FakePull {
  number: number;
  headRef: string;
  headSha: string;
  baseRef: string;
  state: 'open' | 'closed';
  title: string;
  body?: string;
  /**
   * GitHub's test merge, as GET pulls/{n} reports it: `mergeable` (null while it computes) and
   * `merge_commit_sha` (the commit `refs/pull/{n}/merge` holds). Unset: null, as for a new PR.
   */
  mergeable?: boolean | null;
  mergeCommitSha?: string;
}

export interface FakeRepo {
  owner: string;
  name: string;
  settings: {
    default_branch: string;
    allow_squash_merge: boolean;
    allow_rebase_merge: boolean;
    allow_merge_commit: boolean;
  };
  commits: Map<string, FakeCommit>;
  /** `heads/main`, `tags/v1.0.0` -> the object (commit, or tag object for annotated tags). */
  refs: Map<string, { type: 'commit' | 'tag'; sha: string }>;
  tagObjects: Map<string, { tag: string; object: string }>;
  pulls: FakePull[];
  statuses: FakeStatus[];
  issues: FakeIssue[];
  files: Map<string, { text: string; sha: string }>;
  /** Stored in the shape of GET .../protection; null when the branch is not protected. */
  protection: Map<string, Record<string, unknown>>;
  nextNumber: number;
}

export interface JournalEntry {
  method: string;
  /** Decoded path, without the query or a GHES `/api/v3` prefix. */
  path: string;
  /** The path as requested. */
  rawPath: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  /** Who the request signed in as: `token`, `app ID`, `installation ID`; `none` when refused. */
  actor: string;
}

export interface FakeApp {
  id: number;
  slug: string;
  /** Verifies the App's JWTs. */
  publicKey: KeyObject;
}

export interface FakeInstallation {
  id: number;
  appId: number;
  /** The user or organization the App is installed on. */
  account: string;
  /** `all` of the account's repositories, or the names of the selected ones. */
  repositories: 'all' | string[];
  permissions: Record<string, 'read' | 'write'>;
}

export interface FakeInstallationToken {
  token: string;
  installationId: number;
  /** Milliseconds since the epoch, on `Date.now()`'s clock. */
  expiresAt: number;
}

type Actor =
  | { kind: 'token' }
  | { kind: 'app'; app: FakeApp }
  | { kind: 'installation'; installation: FakeInstallation };

interface Denial {
  method: string;
  path: RegExp;
  /** GitHub's `x-accepted-github-permissions` value, e.g. `contents=write`. */
  permission: string;
}

const DOCS = 'https://docs.github.com/rest';
const WEB = 'https://github.example';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

function blobSha(text: string): string {
  const bytes = Buffer.from(text);
  return sha1(`blob ${bytes.length}\0${bytes.toString('binary')}`);
}

// GitHub's own wording for JWTs it will not take.
const JWT_UNDECODABLE = 'A JSON web token could not be decoded';
const JWT_EXPIRED =
  "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
const JWT_TOO_LONG = "'Expiration time' claim ('exp') is too far in the future";
const JWT_ISSUED_LATER =
  "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";

const DEFAULT_APP_PERMISSIONS: Record<string, 'read' | 'write'> = {
  metadata: 'read',
  contents: 'write',
  statuses: 'write',
  pull_requests: 'read',
  issues: 'write',
  administration: 'write',
};

export class FakeGitHub {
  readonly token: string;
  readonly journal: JournalEntry[] = [];
  /** Every installation token minted, oldest first. */
  readonly installationTokens: FakeInstallationToken[] = [];
  /** How long an installation token lives (GitHub's: one hour). */
  installationTokenLifetimeMs = 60 * 60 * 1000;
  private readonly apps = new Map<number, FakeApp>();
  private readonly installations = new Map<number, FakeInstallation>();
  private installationCounter = 0;
  private readonly repos = new Map<string, FakeRepo>();
  private readonly denials: Denial[] = [];
  private pendingLimits: Array<'primary' | 'secondary'> = [];
  private server: http.Server | null = null;
  private port = 0;
  private remaining = 5000;
  private commitCounter = 0;
  private statusId = 0;

  constructor(options: { token?: string } = {}) {
    this.token = options.token ?? 'ghp_fakeTokenForTests0123456789';
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- the model, for arranging tests ----

  repo(owner: string, name: string): FakeRepo {
    const key = `${owner}/${name}`.toLowerCase();
    let repo = this.repos.get(key);
    if (!repo) {
      repo = {
        owner,
        name,
        settings: {
          default_branch: 'main',
          allow_squash_merge: true,
          allow_rebase_merge: true,
          allow_merge_commit: true,
        },
        commits: new Map(),
        refs: new Map(),
        tagObjects: new Map(),
        pulls: [],
        statuses: [],
        issues: [],
        files: new Map(),
        protection: new Map(),
        nextNumber: 1,
      };
      this.repos.set(key, repo);
    }
    return repo;
  }

  /** Adds a commit; with `branch`, its parent defaults to the branch head and the branch moves to it. */
  commit(
    repo: FakeRepo,
    message: string,
    options: { parents?: string[]; branch?: string; sha?: string } = {},
  ): string {
    const branchHead = options.branch ? repo.refs.get(`heads/${options.branch}`)?.sha : undefined;
    const parents = options.parents ?? (branchHead ? [branchHead] : []);
    const index = ++this.commitCounter;
    const sha = options.sha ?? sha1(`${parents.join(' ')}\n${message}\n${index}`);
    repo.commits.set(sha, { sha, message, parents, index });
    if (options.branch) repo.refs.set(`heads/${options.branch}`, { type: 'commit', sha });
    return sha;
  }

  tag(repo: FakeRepo, name: string, commit: string, options: { annotated?: boolean } = {}): void {
    if (options.annotated) {
      const objectSha = sha1(`tag ${name} ${commit}`);
      repo.tagObjects.set(objectSha, { tag: name, object: commit });
      repo.refs.set(`tags/${name}`, { type: 'tag', sha: objectSha });
    } else {
      repo.refs.set(`tags/${name}`, { type: 'commit', sha: commit });
    }
  }

  openPull(repo: FakeRepo, pull: { headRef: string; baseRef?: string; title?: string }): FakePull {
    const head = repo.refs.get(`heads/${pull.headRef}`);
    if (!head) throw new Error(`no branch ${pull.headRef}`);
    const created: FakePull = {
      number: repo.nextNumber++,
      headRef: pull.headRef,
      headSha: head.sha,
      baseRef: pull.baseRef ?? 'main',
      state: 'open',
      title: pull.title ?? pull.headRef,
    };
    repo.pulls.push(created);
    return created;
  }

  /** The latest status per context for a commit, as GitHub's combined status reports it. */
  latestStatus(repo: FakeRepo, sha: string, context: string): FakeStatus | undefined {
    return repo.statuses.filter((s) => s.sha === sha && s.context === context).at(-1);
  }

  /** A GitHub App whose JWTs are signed with the private key that goes with `publicKey`. */
  registerApp(app: { id: number; publicKey: KeyObject | string; slug?: string }): FakeApp {
    const registered: FakeApp = {
      id: app.id,
      slug: app.slug ?? `app-${app.id}`,
      publicKey: typeof app.publicKey === 'string' ? createPublicKey(app.publicKey) : app.publicKey,
    };
    this.apps.set(app.id, registered);
    return registered;
  }

  /** Installs an App on an account, for all of its repositories or the named ones. */
  installApp(
    appId: number,
    account: string,
    options: { repositories?: string[]; permissions?: Record<string, 'read' | 'write'> } = {},
  ): FakeInstallation {
    if (!this.apps.has(appId)) throw new Error(`no app ${appId}`);
    const installation: FakeInstallation = {
      id: 40_000 + ++this.installationCounter,
      appId,
      account,
      repositories: options.repositories ?? 'all',
      permissions: options.permissions ?? { ...DEFAULT_APP_PERMISSIONS },
    };
    this.installations.set(installation.id, installation);
    return installation;
  }

  /** Refuses matching requests with 403 and GitHub's permission header; returns what lifts it. */
  deny(denial: Denial): () => void {
    this.denials.push(denial);
    return () => {
      const at = this.denials.indexOf(denial);
      if (at >= 0) this.denials.splice(at, 1);
    };
  }

  /** The next request is refused for a rate limit, then the server answers normally again. */
  rateLimitNext(kind: 'primary' | 'secondary'): void {
    this.pendingLimits.push(kind);
  }

  requests(method?: string): JournalEntry[] {
    return method ? this.journal.filter((e) => e.method === method) : [...this.journal];
  }

  writes(): JournalEntry[] {
    return this.journal.filter((e) => e.method !== 'GET' && e.method !== 'HEAD');
  }

  // ---- HTTP ----

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const raw = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    const text = await requestText(req);
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    // GitHub Enterprise Server serves the same API under /api/v3.
    const path = decodeURIComponent(raw.pathname).replace(/^\/api\/v3(?=\/)/, '');
    const query = Object.fromEntries(raw.searchParams.entries());
    const entry: JournalEntry = {
      method,
      path,
      rawPath: raw.pathname,
      query,
      body,
      status: 0,
      actor: 'none',
    };
    this.journal.push(entry);
    this.remaining = Math.max(this.remaining - 1, 0);
    const reset = Math.floor(Date.now() / 1000) + 3600;
    const headers: Record<string, string> = {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(this.remaining),
      'x-ratelimit-reset': String(reset),
      'x-ratelimit-used': String(5000 - this.remaining),
      'x-ratelimit-resource': 'core',
      'x-github-api-version-selected': '2022-11-28',
    };
    const send = (status: number, payload: unknown, extra: Record<string, string> = {}) => {
      entry.status = status;
      const isText = typeof payload === 'string';
      res.writeHead(status, {
        ...headers,
        'content-type': isText
          ? 'application/vnd.github.sha; charset=utf-8'
          : 'application/json; charset=utf-8',
        ...extra,
      });
      res.end(payload === null ? '' : isText ? payload : JSON.stringify(payload));
    };
    try {
      const actor = this.authenticate(req.headers.authorization ?? '');
      entry.actor =
        actor.kind === 'token'
          ? 'token'
          : actor.kind === 'app'
            ? `app ${actor.app.id}`
            : `installation ${actor.installation.id}`;
      const limit = this.pendingLimits.shift();
      if (limit === 'secondary') {
        throw new HttpError(
          403,
          'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
          { 'retry-after': '1' },
        );
      }
      if (limit === 'primary') {
        throw new HttpError(403, 'API rate limit exceeded for user ID 1.', {
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(Math.floor(Date.now() / 1000)),
        });
      }
      if (actor.kind === 'app') {
        const result = this.appRoute(actor.app, method, path);
        send(result.status, result.body);
        return;
      }
      const denial = this.denials.find((d) => d.method === method && d.path.test(path));
      if (denial) {
        const who = actor.kind === 'installation' ? 'integration' : 'personal access token';
        throw new HttpError(403, `Resource not accessible by ${who}`, {
          'x-accepted-github-permissions': denial.permission,
        });
      }
      if (actor.kind === 'installation') this.checkInstalledOn(actor.installation, path);
      const result = this.route(method, path, query, body, req.headers.accept ?? '');
      send(result.status, result.body, result.headers);
    } catch (err) {
      if (err instanceof HttpError) {
        send(
          err.status,
          { message: err.message, documentation_url: DOCS, status: String(err.status) },
          err.headers,
        );
      } else {
        send(500, { message: String(err) });
      }
    }
  }

  // ---- GitHub Apps ----

  private authenticate(header: string): Actor {
    const m = /^(token|bearer)\s+(\S+)$/i.exec(header.trim());
    if (!m) throw new HttpError(401, 'Bad credentials');
    const [, scheme, credential] = m as unknown as [string, string, string];
    if (credential === this.token) return { kind: 'token' };
    if (credential.split('.').length === 3 && scheme.toLowerCase() === 'bearer') {
      return { kind: 'app', app: this.verifyJwt(credential) };
    }
    const issued = this.installationTokens.find((t) => t.token === credential);
    const installation = issued && this.installations.get(issued.installationId);
    if (!issued || !installation || issued.expiresAt <= Date.now())
      throw new HttpError(401, 'Bad credentials');
    return { kind: 'installation', installation };
  }

  private verifyJwt(jwt: string): FakeApp {
    const [header, payload, signature] = jwt.split('.') as [string, string, string];
    let claims: { iss?: unknown; iat?: unknown; exp?: unknown };
    try {
      const head = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: unknown };
      if (head.alg !== 'RS256') throw new Error('alg');
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof claims;
    } catch {
      throw new HttpError(401, JWT_UNDECODABLE);
    }
    const app = this.apps.get(Number(claims.iss));
    const signed = Buffer.from(`${header}.${payload}`);
    if (!app || !verify('sha256', signed, app.publicKey, Buffer.from(signature, 'base64url'))) {
      throw new HttpError(401, JWT_UNDECODABLE);
    }
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp <= now) throw new HttpError(401, JWT_EXPIRED);
    if (claims.exp > now + 600) throw new HttpError(401, JWT_TOO_LONG);
    if (typeof claims.iat !== 'number' || claims.iat > now + 60) throw new HttpError(401, JWT_ISSUED_LATER);
    return app;
  }

  private installationOn(appId: number, repo: FakeRepo): FakeInstallation | undefined {
    return [...this.installations.values()].find(
      (i) =>
        i.appId === appId &&
        i.account.toLowerCase() === repo.owner.toLowerCase() &&
        (i.repositories === 'all' || i.repositories.some((n) => n.toLowerCase() === repo.name.toLowerCase())),
    );
  }

  /** An installation token sees only the installation's repositories; GitHub hides the rest. */
  private checkInstalledOn(installation: FakeInstallation, path: string): void {
    const m = /^\/repos\/([^/]+)\/([^/]+)/.exec(path);
    const repo = m ? this.repos.get(`${m[1]}/${m[2]}`.toLowerCase()) : undefined;
    if (!repo || this.installationOn(installation.appId, repo)?.id !== installation.id) {
      throw new HttpError(404, 'Not Found');
    }
  }

  /** The endpoints an App's JWT opens; nothing else accepts one. */
  private appRoute(app: FakeApp, method: string, path: string): { status: number; body: unknown } {
    let r: RegExpExecArray | null;
    if ((r = /^\/repos\/([^/]+)\/([^/]+)\/installation$/.exec(path)) && method === 'GET') {
      const repo = this.repos.get(`${r[1]}/${r[2]}`.toLowerCase());
      const installation = repo && this.installationOn(app.id, repo);
      if (!installation) throw new HttpError(404, 'Not Found');
      return { status: 200, body: this.installationJson(app, installation) };
    }
    if ((r = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path)) && method === 'POST') {
      const installation = this.installations.get(Number(r[1]));
      if (!installation || installation.appId !== app.id) throw new HttpError(404, 'Not Found');
      const issued: FakeInstallationToken = {
        token: `ghs_${randomBytes(18).toString('hex')}`,
        installationId: installation.id,
        expiresAt: Date.now() + this.installationTokenLifetimeMs,
      };
      this.installationTokens.push(issued);
      return {
        status: 201,
        body: {
          token: issued.token,
          expires_at: new Date(issued.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          permissions: installation.permissions,
          repository_selection: installation.repositories === 'all' ? 'all' : 'selected',
        },
      };
    }
    throw new HttpError(403, 'Resource not accessible by integration');
  }

  private installationJson(app: FakeApp, i: FakeInstallation) {
    const type = 'Organization';
    return {
      id: i.id,
      account: { login: i.account, id: 1, type },
      repository_selection: i.repositories === 'all' ? 'all' : 'selected',
      access_tokens_url: `${this.url}/app/installations/${i.id}/access_tokens`,
      repositories_url: `${this.url}/installation/repositories`,
      html_url: `${WEB}/organizations/${i.account}/settings/installations/${i.id}`,
      app_id: app.id,
      app_slug: app.slug,
      target_id: 1,
      target_type: type,
      permissions: i.permissions,
      events: [],
      created_at: '2024-01-01T00:00:00Z',
      updated_at: '2024-01-01T00:00:00Z',
      single_file_name: null,
      suspended_at: null,
      suspended_by: null,
    };
  }

  private route(
    method: string,
    path: string,
    query: Record<string, string>,
    body: unknown,
    accept: string,
  ): { status: number; body: unknown; headers?: Record<string, string> } {
    const m = /^\/repos\/([^/]+)\/([^/]+)(?:\/(.*))?$/.exec(path);
    if (!m) throw new HttpError(404, 'Not Found');
    const repo = this.repos.get(`${m[1]}/${m[2]}`.toLowerCase());
    if (!repo) throw new HttpError(404, 'Not Found');
    const rest = m[3] ?? '';
    const input = (body ?? {}) as Record<string, unknown>;
    const ok = (b: unknown, status = 200) => ({ status, body: b });
    let r: RegExpExecArray | null;

    if (rest === '' && method === 'GET') return ok(this.repoJson(repo));
    if (rest === '' && method === 'PATCH') {
      for (const key of ['allow_squash_merge', 'allow_rebase_merge', 'allow_merge_commit'] as const) {
        if (typeof input[key] === 'boolean') repo.settings[key] = input[key];
      }
      return ok(this.repoJson(repo));
    }
    if ((r = /^branches\/(.+)\/protection$/.exec(rest))) {
      const branch = r[1]!;
      if (!repo.refs.has(`heads/${branch}`)) throw new HttpError(404, 'Branch not found');
      if (method === 'GET') {
        const current = repo.protection.get(branch);
        if (!current) throw new HttpError(404, 'Branch not protected');
        return ok(current);
      }
      if (method === 'PUT') return ok(this.protect(repo, branch, input));
    }
    if (rest === 'commits' && method === 'GET') {
      if (repo.commits.size === 0) throw new HttpError(409, 'Git Repository is empty.');
      const head = this.resolve(repo, query.sha ?? repo.settings.default_branch);
      const list = [...this.ancestors(repo, head)]
        .map((s) => repo.commits.get(s)!)
        .sort((a, b) => b.index - a.index);
      return this.page(
        path,
        query,
        list.map((c) => this.commitJson(repo, c)),
      );
    }
    if ((r = /^commits\/(.+)$/.exec(rest)) && method === 'GET') {
      const sha = this.resolve(repo, r[1]!);
      if (accept.includes('application/vnd.github.sha')) return ok(sha);
      return ok(this.commitJson(repo, repo.commits.get(sha)!));
    }
    if ((r = /^compare\/(.+?)\.\.\.(.+)$/.exec(rest)) && method === 'GET') {
      return this.compare(repo, path, query, r[1]!, r[2]!);
    }
    if (rest === 'tags' && method === 'GET') {
      const tags = [...repo.refs.entries()]
        .filter(([ref]) => ref.startsWith('tags/'))
        .map(([ref]) => {
          const name = ref.slice('tags/'.length);
          const sha = this.peel(repo, ref)!;
          return {
            name,
            commit: { sha, url: `${this.url}/repos/${repo.owner}/${repo.name}/commits/${sha}` },
            zipball_url: `${this.url}/repos/${repo.owner}/${repo.name}/zipball/${name}`,
            tarball_url: `${this.url}/repos/${repo.owner}/${repo.name}/tarball/${name}`,
            node_id: `REF_${name}`,
          };
        })
        .sort((a, b) => (a.name < b.name ? 1 : -1));
      return this.page(path, query, tags);
    }
    if ((r = /^git\/ref\/(.+)$/.exec(rest)) && method === 'GET') {
      const object = repo.refs.get(r[1]!);
      if (!object) throw new HttpError(404, 'Not Found');
      return ok(this.refJson(repo, r[1]!, object));
    }
    if ((r = /^git\/tags\/([0-9a-f]{40})$/.exec(rest)) && method === 'GET') {
      const tag = repo.tagObjects.get(r[1]!);
      if (!tag) throw new HttpError(404, 'Not Found');
      return ok({ sha: r[1], tag: tag.tag, message: tag.tag, object: { type: 'commit', sha: tag.object } });
    }
    if (rest === 'git/refs' && method === 'POST') {
      const ref = input.ref;
      const sha = input.sha;
      if (typeof ref !== 'string' || !/^refs\/[^/]+\/.+/.test(ref) || typeof sha !== 'string') {
        throw new HttpError(422, 'Reference name is invalid');
      }
      const short = ref.slice('refs/'.length);
      if (repo.refs.has(short)) throw new HttpError(422, 'Reference already exists');
      if (!repo.commits.has(sha)) throw new HttpError(422, 'Object does not exist');
      const object = { type: 'commit' as const, sha };
      repo.refs.set(short, object);
      return ok(this.refJson(repo, short, object), 201);
    }
    if ((r = /^statuses\/([0-9a-f]{40})$/.exec(rest)) && method === 'POST') {
      const state = input.state;
      if (typeof state !== 'string' || !['error', 'failure', 'pending', 'success'].includes(state)) {
        throw new HttpError(422, 'Validation Failed');
      }
      if (!repo.commits.has(r[1]!)) throw new HttpError(422, `No commit found for SHA: ${r[1]}`);
      const description = typeof input.description === 'string' ? input.description : null;
      if (description && description.length > 140) {
        throw new HttpError(422, 'Validation Failed: description is too long (maximum is 140 characters)');
      }
      const status: FakeStatus = {
        sha: r[1]!,
        state,
        context: typeof input.context === 'string' ? input.context : 'default',
        description,
        target_url: typeof input.target_url === 'string' ? input.target_url : null,
      };
      repo.statuses.push(status);
      const id = ++this.statusId;
      return ok(
        {
          id,
          url: `${this.url}/repos/${repo.owner}/${repo.name}/statuses/${r[1]}`,
          ...status,
          created_at: new Date().toISOString(),
        },
        201,
      );
    }
    if (rest === 'pulls' && method === 'GET') {
      const state = query.state ?? 'open';
      const pulls = repo.pulls
        .filter((p) => state === 'all' || p.state === state)
        .filter((p) => !query.base || p.baseRef === query.base)
        // `head` is `owner:branch`, as the pulls API takes it.
        .filter((p) => !query.head || `${repo.owner}:${p.headRef}` === query.head)
        .sort((a, b) => b.number - a.number)
        .map((p) => this.pullJson(repo, p));
      return this.page(path, query, pulls);
    }
    if (rest === 'pulls' && method === 'POST') {
      // POST /repos/{owner}/{repo}/pulls: head and base are branch names; 422 when one is missing
      // or a pull request from head into base is already open.
      const head = typeof input.head === 'string' ? input.head.replace(/^[^:]+:/, '') : '';
      const base = typeof input.base === 'string' ? input.base : '';
      if (typeof input.title !== 'string' || !input.title) throw new HttpError(422, 'Validation Failed');
      const headRef = repo.refs.get(`heads/${head}`);
      if (!headRef || !repo.refs.get(`heads/${base}`)) throw new HttpError(422, 'Validation Failed');
      if (repo.pulls.some((p) => p.state === 'open' && p.headRef === head && p.baseRef === base)) {
        throw new HttpError(422, `A pull request already exists for ${repo.owner}:${head}.`);
      }
      const created: FakePull = {
        number: repo.nextNumber++,
        headRef: head,
        headSha: headRef.sha,
        baseRef: base,
        state: 'open',
        title: input.title,
        ...(typeof input.body === 'string' ? { body: input.body } : {}),
      };
      repo.pulls.push(created);
      return ok(this.pullJson(repo, created), 201);
    }
    if ((r = /^issues\/(\d+)$/.exec(rest)) && method === 'PATCH') {
      const issue = repo.issues.find((i) => i.number === Number(r![1]));
      if (!issue) throw new HttpError(404, 'Not Found');
      if (input.state === 'open' || input.state === 'closed') issue.state = input.state;
      return ok(this.issueJson(repo, issue));
    }
    if ((r = /^pulls\/(\d+)$/.exec(rest)) && method === 'GET') {
      const pull = repo.pulls.find((p) => p.number === Number(r![1]));
      if (!pull) throw new HttpError(404, 'Not Found');
      return ok({
        ...this.pullJson(repo, pull),
        mergeable: pull.mergeable ?? null,
        merge_commit_sha: pull.mergeCommitSha ?? null,
      });
    }
    if ((r = /^pulls\/(\d+)\/commits$/.exec(rest)) && method === 'GET') {
      const pull = repo.pulls.find((p) => p.number === Number(r![1]));
      if (!pull) throw new HttpError(404, 'Not Found');
      const base = this.resolve(repo, pull.baseRef);
      const commits = this.between(repo, base, pull.headSha).map((c) => this.commitJson(repo, c));
      return this.page(path, query, commits.slice(0, 250));
    }
    if (rest === 'issues' && method === 'GET') {
      const state = query.state ?? 'open';
      const labels = (query.labels ?? '').split(',').filter(Boolean);
      const issues = repo.issues
        .filter((i) => state === 'all' || i.state === state)
        .filter((i) => labels.every((l) => i.labels.includes(l)))
        .sort((a, b) => b.number - a.number)
        .map((i) => this.issueJson(repo, i));
      return this.page(path, query, issues);
    }
    if (rest === 'issues' && method === 'POST') {
      if (typeof input.title !== 'string' || !input.title) throw new HttpError(422, 'Validation Failed');
      const issue: FakeIssue = {
        number: repo.nextNumber++,
        title: input.title,
        body: typeof input.body === 'string' ? input.body : '',
        labels: Array.isArray(input.labels) ? input.labels.map(String) : [],
        assignees: Array.isArray(input.assignees) ? input.assignees.map(String) : [],
        state: 'open',
        comments: [],
      };
      repo.issues.push(issue);
      return ok(this.issueJson(repo, issue), 201);
    }
    if ((r = /^issues\/(\d+)\/comments$/.exec(rest))) {
      const issue = repo.issues.find((i) => i.number === Number(r![1]));
      if (!issue) throw new HttpError(404, 'Not Found');
      if (method === 'GET') {
        return this.page(
          path,
          query,
          issue.comments.map((c) => ({
            id: c.id,
            body: c.body,
            html_url: `${this.htmlIssue(repo, issue)}#issuecomment-${c.id}`,
          })),
        );
      }
      if (method === 'POST') {
        if (typeof input.body !== 'string') throw new HttpError(422, 'Validation Failed');
        const comment = { id: issue.number * 1000 + issue.comments.length + 1, body: input.body };
        issue.comments.push(comment);
        return ok({ ...comment, html_url: `${this.htmlIssue(repo, issue)}#issuecomment-${comment.id}` }, 201);
      }
    }
    if ((r = /^contents\/(.+)$/.exec(rest))) {
      const filePath = r[1]!.replace(/\/+$/, '');
      if (method === 'GET') return ok(this.contentsJson(repo, filePath));
      if (method === 'PUT') return this.putContents(repo, filePath, input);
    }
    throw new HttpError(404, 'Not Found');
  }

  // ---- git model ----

  private resolve(repo: FakeRepo, revision: string): string {
    if (repo.commits.has(revision)) return revision;
    for (const ref of [`heads/${revision}`, `tags/${revision}`, revision.replace(/^refs\//, '')]) {
      const sha = this.peel(repo, ref);
      if (sha) return sha;
    }
    throw new HttpError(422, `No commit found for SHA: ${revision}`);
  }

  private peel(repo: FakeRepo, ref: string): string | null {
    const object = repo.refs.get(ref);
    if (!object) return null;
    return object.type === 'tag' ? repo.tagObjects.get(object.sha)!.object : object.sha;
  }

  private ancestors(repo: FakeRepo, sha: string): Set<string> {
    const seen = new Set<string>();
    const stack = [sha];
    while (stack.length) {
      const next = stack.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...(repo.commits.get(next)?.parents ?? []));
    }
    return seen;
  }

  /** Reachable from head and not from base, oldest first (GitHub's order in compare and PR commits). */
  private between(repo: FakeRepo, base: string, head: string): FakeCommit[] {
    const fromBase = this.ancestors(repo, base);
    return [...this.ancestors(repo, head)]
      .filter((s) => !fromBase.has(s))
      .map((s) => repo.commits.get(s)!)
      .sort((a, b) => a.index - b.index);
  }

  private compare(
    repo: FakeRepo,
    path: string,
    query: Record<string, string>,
    baseRev: string,
    headRev: string,
  ): { status: number; body: unknown; headers?: Record<string, string> } {
    const base = this.resolve(repo, baseRev);
    const head = this.resolve(repo, headRev);
    const fromBase = this.ancestors(repo, base);
    const fromHead = this.ancestors(repo, head);
    const ahead = this.between(repo, base, head);
    const behind = [...fromBase].filter((s) => !fromHead.has(s));
    const status =
      base === head ? 'identical' : fromHead.has(base) ? 'ahead' : fromBase.has(head) ? 'behind' : 'diverged';
    const mergeBase = [...fromBase]
      .filter((s) => fromHead.has(s))
      .map((s) => repo.commits.get(s)!)
      .sort((a, b) => b.index - a.index)[0];
    const paged = this.page(
      path,
      query,
      ahead.map((c) => this.commitJson(repo, c)),
      250,
    );
    return {
      ...paged,
      body: {
        url: `${this.url}/repos/${repo.owner}/${repo.name}/compare/${baseRev}...${headRev}`,
        html_url: `${WEB}/${repo.owner}/${repo.name}/compare/${baseRev}...${headRev}`,
        base_commit: this.commitJson(repo, repo.commits.get(base)!),
        merge_base_commit: mergeBase ? this.commitJson(repo, mergeBase) : null,
        status,
        ahead_by: ahead.length,
        behind_by: behind.length,
        total_commits: ahead.length,
        commits: paged.body,
        files: [],
      },
    };
  }

  /** One page of `items` with GitHub's Link header (page/per_page; per_page at most 100). */
  private page<T>(
    path: string,
    query: Record<string, string>,
    items: T[],
    unpagedLimit = 30,
  ): { status: number; body: T[]; headers: Record<string, string> } {
    const paginated = query.page !== undefined || query.per_page !== undefined;
    const perPage = Math.min(
      Number(query.per_page ?? (paginated ? 30 : unpagedLimit)) || 30,
      paginated ? 100 : unpagedLimit,
    );
    const page = Math.max(Number(query.page ?? 1) || 1, 1);
    const last = Math.max(Math.ceil(items.length / perPage), 1);
    const link = (n: number, rel: string) => {
      const params = new URLSearchParams({ ...query, per_page: String(perPage), page: String(n) });
      return `<${this.url}${path}?${params.toString()}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page > 1) links.push(link(page - 1, 'prev'), link(1, 'first'));
    if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
    return {
      status: 200,
      body: items.slice((page - 1) * perPage, page * perPage),
      headers: links.length ? { link: links.join(', ') } : {},
    };
  }

  // ---- JSON shapes ----

  private repoJson(repo: FakeRepo) {
    return {
      id: 1,
      node_id: 'R_1',
      name: repo.name,
      full_name: `${repo.owner}/${repo.name}`,
      owner: { login: repo.owner, type: 'Organization' },
      private: false,
      html_url: `${WEB}/${repo.owner}/${repo.name}`,
      url: `${this.url}/repos/${repo.owner}/${repo.name}`,
      ...repo.settings,
      permissions: { admin: true, push: true, pull: true },
    };
  }

  private commitJson(repo: FakeRepo, c: FakeCommit) {
    const person = {
      name: 'Dev',
      email: 'dev@example.com',
      date: new Date(Date.UTC(2024, 0, 1, 0, c.index)).toISOString(),
    };
    return {
      sha: c.sha,
      node_id: `C_${c.sha}`,
      url: `${this.url}/repos/${repo.owner}/${repo.name}/commits/${c.sha}`,
      html_url: `${WEB}/${repo.owner}/${repo.name}/commit/${c.sha}`,
      commit: {
        message: c.message,
        author: person,
        committer: person,
        tree: { sha: sha1(`tree ${c.sha}`), url: '' },
        comment_count: 0,
      },
      author: null,
      committer: null,
      parents: c.parents.map((p) => ({
        sha: p,
        url: `${this.url}/repos/${repo.owner}/${repo.name}/commits/${p}`,
      })),
    };
  }

  private refJson(repo: FakeRepo, short: string, object: { type: string; sha: string }) {
    return {
      ref: `refs/${short}`,
      node_id: `REF_${short}`,
      url: `${this.url}/repos/${repo.owner}/${repo.name}/git/refs/${short}`,
      object: {
        ...object,
        url: `${this.url}/repos/${repo.owner}/${repo.name}/git/${object.type}s/${object.sha}`,
      },
    };
  }

  private pullJson(repo: FakeRepo, p: FakePull) {
    const base = repo.refs.get(`heads/${p.baseRef}`)?.sha ?? null;
    return {
      number: p.number,
      state: p.state,
      title: p.title,
      html_url: `${WEB}/${repo.owner}/${repo.name}/pull/${p.number}`,
      user: { login: 'dev' },
      head: {
        ref: p.headRef,
        sha: p.headSha,
        label: `${repo.owner}:${p.headRef}`,
        repo: { full_name: `${repo.owner}/${repo.name}` },
      },
      base: {
        ref: p.baseRef,
        sha: base,
        label: `${repo.owner}:${p.baseRef}`,
        repo: { full_name: `${repo.owner}/${repo.name}` },
      },
    };
  }

  private htmlIssue(repo: FakeRepo, i: FakeIssue): string {
    return `${WEB}/${repo.owner}/${repo.name}/issues/${i.number}`;
  }

  private issueJson(repo: FakeRepo, i: FakeIssue) {
    return {
      number: i.number,
      title: i.title,
      body: i.body,
      state: i.state,
      html_url: this.htmlIssue(repo, i),
      url: `${this.url}/repos/${repo.owner}/${repo.name}/issues/${i.number}`,
      labels: i.labels.map((name) => ({ name })),
      assignees: i.assignees.map((login) => ({ login })),
      comments: i.comments.length,
    };
  }

  private fileEntry(repo: FakeRepo, filePath: string, type: 'file' | 'dir') {
    const file = repo.files.get(filePath);
    const name = filePath.split('/').at(-1)!;
    const html = `${WEB}/${repo.owner}/${repo.name}/${type === 'file' ? 'blob' : 'tree'}/${repo.settings.default_branch}/${filePath}`;
    return {
      type,
      name,
      path: filePath,
      sha: file?.sha ?? sha1(`tree ${filePath}`),
      size: file ? Buffer.byteLength(file.text) : 0,
      url: `${this.url}/repos/${repo.owner}/${repo.name}/contents/${filePath}`,
      html_url: html,
      git_url: null,
      download_url: null,
      _links: { self: '', git: null, html: html },
    };
  }

  private contentsJson(repo: FakeRepo, filePath: string) {
    const file = repo.files.get(filePath);
    if (file) {
      return {
        ...this.fileEntry(repo, filePath, 'file'),
        encoding: 'base64',
        content: Buffer.from(file.text)
          .toString('base64')
          .replace(/(.{60})/g, '$1\n'),
      };
    }
    const prefix = `${filePath}/`;
    const children = new Map<string, 'file' | 'dir'>();
    for (const p of repo.files.keys()) {
      if (!p.startsWith(prefix)) continue;
      const [first, ...more] = p.slice(prefix.length).split('/');
      children.set(`${prefix}${first}`, more.length ? 'dir' : 'file');
    }
    if (children.size === 0) throw new HttpError(404, 'Not Found');
    return [...children.entries()].sort().map(([p, type]) => this.fileEntry(repo, p, type));
  }

  private putContents(repo: FakeRepo, filePath: string, input: Record<string, unknown>) {
    if (typeof input.message !== 'string' || typeof input.content !== 'string') {
      throw new HttpError(422, 'Invalid request.\n\n"message" and "content" are required.');
    }
    const existing = repo.files.get(filePath);
    if (existing && input.sha === undefined)
      throw new HttpError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.');
    if (existing && input.sha !== existing.sha)
      throw new HttpError(409, `${filePath} does not match ${String(input.sha)}`);
    const text = Buffer.from(input.content, 'base64').toString('utf8');
    repo.files.set(filePath, { text, sha: blobSha(text) });
    return {
      status: existing ? 200 : 201,
      body: {
        content: this.fileEntry(repo, filePath, 'file'),
        commit: { sha: sha1(`${filePath}${text}`), message: input.message },
      },
    };
  }

  private protect(repo: FakeRepo, branch: string, input: Record<string, unknown>) {
    for (const key of [
      'required_status_checks',
      'enforce_admins',
      'required_pull_request_reviews',
      'restrictions',
    ]) {
      if (!(key in input)) throw new HttpError(422, `Invalid request.\n\n"${key}" wasn't supplied.`);
    }
    const base = `${this.url}/repos/${repo.owner}/${repo.name}/branches/${branch}/protection`;
    const checks = input.required_status_checks as { strict: boolean; contexts: string[] } | null;
    const reviews = input.required_pull_request_reviews as Record<string, unknown> | null;
    const enabled = (v: unknown) => ({ enabled: Boolean(v) });
    const stored: Record<string, unknown> = {
      url: base,
      ...(checks
        ? {
            required_status_checks: {
              url: `${base}/required_status_checks`,
              strict: checks.strict,
              contexts: checks.contexts,
              checks: checks.contexts.map((context) => ({ context, app_id: null })),
            },
          }
        : {}),
      enforce_admins: { url: `${base}/enforce_admins`, enabled: Boolean(input.enforce_admins) },
      ...(reviews
        ? { required_pull_request_reviews: { url: `${base}/required_pull_request_reviews`, ...reviews } }
        : {}),
      ...(input.restrictions ? { restrictions: input.restrictions } : {}),
      required_linear_history: enabled(input.required_linear_history),
      allow_force_pushes: enabled(input.allow_force_pushes),
      allow_deletions: enabled(input.allow_deletions),
      required_conversation_resolution: enabled(input.required_conversation_resolution),
    };
    repo.protection.set(branch, stored);
    return stored;
  }
}

/**
 * Points GITHUB_TOKEN and GITHUB_API_URL at a started fake, where a worker or the CLI reads
 * GitHub's settings; returns what puts the previous values back (unset ones are unset again).
 */
export function pointGitHubEnvAt(fake: FakeGitHub): () => void {
  const saved = { GITHUB_TOKEN: process.env.GITHUB_TOKEN, GITHUB_API_URL: process.env.GITHUB_API_URL };
  process.env.GITHUB_TOKEN = fake.token;
  process.env.GITHUB_API_URL = fake.url;
  return () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
