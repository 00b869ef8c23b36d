/**
 * GitHub App authentication (docs/integrations.md "GitHub") against the fake GitHub: JWT-signed installation
 * lookup, installation tokens minted once and again after they expire, the adapters and
 * `release-flow github setup` acting as the installation, the wiki pushing over HTTPS with a
 * current installation token, and the App settings read from the environment.
 */
import { after, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import {
  createGitHubClient,
  createGitHubClients,
  githubCredentialsFromEnv,
  gitTokenSource,
  type GitHubCredentials,
  type GitHubLog,
} from '../../src/adapters/github/client';
import { GitWiki } from '../../src/adapters/github/git-wiki';
import { GitHubCommitStatuses } from '../../src/adapters/github/github-commit-statuses';
import { GitHubRefs } from '../../src/adapters/github/github-refs';
import { UserError } from '../../src/common/errors';
import { createLogger } from '../../src/common/logging';
import { CommitStates, StatusContexts } from '../../src/ports/commit-statuses';
import { cli } from '../helpers/cli';
import { FakeGitHub } from '../helpers/fake-github';
import { startGitHttpServer } from '../helpers/git-http-server';

const APP_ID = 4242;
const HOUR = 60 * 60 * 1000;

function rsaKeys() {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/** The base64 lines of a PEM key: what must never be seen outside the process. */
function keyBody(pem: string): string[] {
  return pem.split('\n').filter((line) => line.length >= 16 && !line.startsWith('-----'));
}

function userError(code: string, pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof UserError, String(err));
    assert.equal(err.code, code, err.render());
    assert.match(err.render(), pattern);
    return true;
  };
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('GitHub App authentication', () => {
  const fake = new FakeGitHub();
  const keys = rsaKeys();
  const fast = { pace: false, waitScaleMs: 5 };
  let tmp: string;
  let owners = 0;

  const app = (installationId?: number): GitHubCredentials => ({
    kind: 'app',
    appId: APP_ID,
    privateKey: keys.privateKey,
    ...(installationId === undefined ? {} : { installationId }),
  });

  /** A fresh account with one repository `app` holding one commit on main. */
  function account() {
    const owner = `org${++owners}`;
    const repo = fake.repo(owner, 'app');
    const sha = fake.commit(repo, 'feat(APP-1): first', { branch: 'main' });
    return { owner, repo, sha, where: { owner, repo: 'app' } };
  }

  // Token expiry is tested by moving `Date.now()`, which the App strategy's token cache, its JWTs
  // and the fake all read. Only ever forward: the throttling plugin's scheduler (Bottleneck,
  // shared by every client in the process) would wait out any time it saw go backwards.
  const realNow = Date.now.bind(Date);
  let skipped = 0;
  const advance = (ms: number) => void (skipped += ms);

  const mints = () =>
    fake.requests('POST').filter((e) => /^\/app\/installations\/\d+\/access_tokens$/.test(e.path));

  before(async () => {
    mock.method(Date, 'now', () => realNow() + skipped);
    await fake.start();
    fake.registerApp({ id: APP_ID, publicKey: keys.publicKey });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'rf-app-'));
  });
  after(async () => {
    mock.restoreAll();
    await fake.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('posts commit statuses and creates release tags as the installation, minting one token for both', async () => {
    const { owner, repo, sha, where } = account();
    const installation = fake.installApp(APP_ID, owner);
    fake.journal.length = 0;
    const github = await createGitHubClient({
      credentials: app(installation.id),
      baseUrl: fake.url,
      ...fast,
    });
    await new GitHubCommitStatuses(github, where).post({
      sha,
      context: StatusContexts.main,
      state: CommitStates.success,
      description: 'released',
    });
    assert.deepEqual(await new GitHubRefs(github, where).createTag({ tag: 'v1.0.0', commit: sha }), {
      created: true,
    });
    assert.equal(fake.latestStatus(repo, sha, StatusContexts.main)?.state, 'success');
    assert.deepEqual(repo.refs.get('tags/v1.0.0'), { type: 'commit', sha });
    assert.deepEqual(
      mints().map((e) => [e.path, e.actor, e.status]),
      [[`/app/installations/${installation.id}/access_tokens`, `app ${APP_ID}`, 201]],
    );
    const repoCalls = fake.journal.filter((e) => e.path.startsWith('/repos/'));
    assert.ok(repoCalls.length >= 2);
    assert.deepEqual(new Set(repoCalls.map((e) => e.actor)), new Set([`installation ${installation.id}`]));
  });

  it('without an installation id looks the installation up per repository with the App JWT, once, and repositories of one installation share a token', async () => {
    const { owner, sha, where } = account();
    const other = fake.repo(owner, 'api');
    const otherSha = fake.commit(other, 'feat(API-1): first', { branch: 'main' });
    const installation = fake.installApp(APP_ID, owner);
    fake.journal.length = 0;
    const clients = createGitHubClients({ credentials: app(), baseUrl: fake.url, ...fast });
    const first = await clients(where);
    const again = await clients({ owner, repo: 'app' });
    const api = await clients({ owner, repo: 'api' });
    assert.equal(again, first);
    assert.equal(api, first);
    const status = { context: StatusContexts.policy, state: CommitStates.pending, description: 'checking' };
    await new GitHubCommitStatuses(first, where).post({ sha, ...status });
    await new GitHubCommitStatuses(api, { owner, repo: 'api' }).post({ sha: otherSha, ...status });
    const lookups = fake.requests('GET').filter((e) => e.path.endsWith('/installation'));
    assert.deepEqual(
      lookups.map((e) => [e.path, e.actor, e.status]),
      [
        [`/repos/${owner}/app/installation`, `app ${APP_ID}`, 200],
        [`/repos/${owner}/api/installation`, `app ${APP_ID}`, 200],
      ],
    );
    assert.deepEqual(
      mints().map((e) => e.path),
      [`/app/installations/${installation.id}/access_tokens`],
    );
    assert.equal(fake.latestStatus(other, otherSha, StatusContexts.policy)?.state, 'pending');
  });

  it('reuses the installation token while it lives and mints the next one after it expires', async () => {
    const { owner, repo, sha, where } = account();
    const installation = fake.installApp(APP_ID, owner);
    fake.journal.length = 0;
    const github = await createGitHubClient({
      credentials: app(installation.id),
      baseUrl: fake.url,
      ...fast,
    });
    const statuses = new GitHubCommitStatuses(github, where);
    const post = (description: string) =>
      statuses.post({ sha, context: StatusContexts.main, state: CommitStates.pending, description });
    await post('one');
    await post('two');
    assert.equal(mints().length, 1);
    const firstToken = fake.installationTokens.at(-1)!.token;

    advance(HOUR + 60_000);
    const stale = await fetch(`${fake.url}/repos/${owner}/app`, {
      headers: { authorization: `token ${firstToken}` },
    });
    assert.equal(stale.status, 401, 'the fake refuses the first token once it has expired');
    await post('three');
    assert.equal(mints().length, 2);
    assert.notEqual(fake.installationTokens.at(-1)!.token, firstToken);
    assert.equal(fake.latestStatus(repo, sha, StatusContexts.main)?.description, 'three');
  });

  it('names a repository the App is not installed on, and JWTs GitHub does not accept', async () => {
    const { owner } = account();
    fake.repo(owner, 'hidden');
    fake.installApp(APP_ID, owner, { repositories: ['app'] });
    const stranger = account();
    for (const where of [
      { owner, repo: 'hidden' },
      { owner: stranger.owner, repo: 'app' },
    ]) {
      await assert.rejects(
        createGitHubClient({ credentials: app(), repository: where, baseUrl: fake.url, ...fast }),
        userError(
          'GITHUB_APP_NOT_INSTALLED',
          new RegExp(
            `the GitHub App is not installed on ${where.owner}/${where.repo} \\(fix: install it on the repository, or set GITHUB_APP_INSTALLATION_ID\\)`,
          ),
        ),
      );
    }
    const someoneElsesKey = rsaKeys().privateKey;
    await assert.rejects(
      createGitHubClient({
        credentials: { kind: 'app', appId: APP_ID, privateKey: someoneElsesKey },
        repository: { owner, repo: 'app' },
        baseUrl: fake.url,
        ...fast,
      }),
      userError('GITHUB_APP_REJECTED', /GitHub rejected the JWT of GitHub App 4242 .*could not be decoded/),
    );
    await assert.rejects(
      createGitHubClient({ credentials: app(), baseUrl: fake.url, ...fast }),
      userError('GITHUB_APP_INSTALLATION_UNKNOWN', /set GITHUB_APP_INSTALLATION_ID/),
    );
  });

  it('reads App credentials from the environment, preferring a complete App to GITHUB_TOKEN', async () => {
    const pkcs1 = createPrivateKey(keys.privateKey).export({ type: 'pkcs1', format: 'pem' }).toString();
    const keyFile = path.join(tmp, 'app.pem');
    await writeFile(keyFile, keys.privateKey);
    assert.equal(githubCredentialsFromEnv({}), undefined);
    assert.deepEqual(githubCredentialsFromEnv({ GITHUB_TOKEN: 'ghp_x' }), { kind: 'token', token: 'ghp_x' });
    assert.deepEqual(
      githubCredentialsFromEnv({
        GITHUB_TOKEN: 'ghp_x',
        GITHUB_APP_ID: String(APP_ID),
        GITHUB_APP_PRIVATE_KEY: keys.privateKey,
        GITHUB_APP_INSTALLATION_ID: '77',
      }),
      { kind: 'app', appId: APP_ID, privateKey: keys.privateKey, installationId: 77 },
    );
    // One line with `\n` escapes, as .env files and CI secrets often hold it, in PKCS#1 form.
    const escaped = githubCredentialsFromEnv({
      GITHUB_APP_ID: String(APP_ID),
      GITHUB_APP_PRIVATE_KEY: pkcs1.trim().replace(/\n/g, '\\n'),
    });
    assert.deepEqual(escaped, { kind: 'app', appId: APP_ID, privateKey: pkcs1 });
    assert.deepEqual(
      githubCredentialsFromEnv({ GITHUB_APP_ID: ` ${APP_ID}`, GITHUB_APP_PRIVATE_KEY_PATH: keyFile }),
      {
        kind: 'app',
        appId: APP_ID,
        privateKey: keys.privateKey,
      },
    );

    // The escaped PKCS#1 key signs JWTs GitHub accepts.
    const { owner, where } = account();
    fake.installApp(APP_ID, owner);
    await createGitHubClient({ credentials: escaped!, repository: where, baseUrl: fake.url, ...fast });

    const refused = (env: NodeJS.ProcessEnv, pattern: RegExp) =>
      assert.throws(() => githubCredentialsFromEnv(env), userError('GITHUB_APP_CONFIG', pattern));
    refused(
      { GITHUB_TOKEN: 'ghp_x', GITHUB_APP_ID: '1' },
      /GITHUB_APP_PRIVATE_KEY is not set \(GitHub App settings found: GITHUB_APP_ID\)/,
    );
    refused({ GITHUB_APP_PRIVATE_KEY: keys.privateKey }, /GITHUB_APP_ID is not set/);
    refused(
      { GITHUB_APP_ID: 'Iv1.abc', GITHUB_APP_PRIVATE_KEY: keys.privateKey },
      /GITHUB_APP_ID "Iv1.abc" is not/,
    );
    refused(
      { GITHUB_APP_ID: '1', GITHUB_APP_PRIVATE_KEY: keys.privateKey, GITHUB_APP_PRIVATE_KEY_PATH: keyFile },
      /GITHUB_APP_PRIVATE_KEY and GITHUB_APP_PRIVATE_KEY_PATH are both set/,
    );
    refused(
      { GITHUB_APP_ID: '1', GITHUB_APP_PRIVATE_KEY: keys.privateKey, GITHUB_APP_INSTALLATION_ID: 'org1' },
      /GITHUB_APP_INSTALLATION_ID "org1" is not an installation id/,
    );
    refused(
      { GITHUB_APP_ID: '1', GITHUB_APP_PRIVATE_KEY: keys.publicKey },
      /GITHUB_APP_PRIVATE_KEY is not a PEM-encoded RSA private key/,
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    refused(
      { GITHUB_APP_ID: '1', GITHUB_APP_PRIVATE_KEY: ec.toString() },
      /GITHUB_APP_PRIVATE_KEY holds a key of type ec; GitHub Apps sign with RSA/,
    );
    const missing = path.join(tmp, 'missing.pem');
    refused(
      { GITHUB_APP_ID: '1', GITHUB_APP_PRIVATE_KEY_PATH: missing },
      /GITHUB_APP_PRIVATE_KEY_PATH .*missing\.pem cannot be read: ENOENT/,
    );
    const truncated = path.join(tmp, 'truncated.pem');
    await writeFile(truncated, keys.privateKey.slice(0, 200));
    refused(
      { GITHUB_APP_ID: '1', GITHUB_APP_PRIVATE_KEY_PATH: truncated },
      /GITHUB_APP_PRIVATE_KEY_PATH \(.*truncated\.pem\) is not a PEM-encoded RSA private key/,
    );
    // The refusal never quotes the key it refused.
    try {
      githubCredentialsFromEnv({ GITHUB_APP_ID: '1', GITHUB_APP_PRIVATE_KEY: keys.privateKey.slice(0, 300) });
      assert.fail('a truncated key was accepted');
    } catch (err) {
      for (const line of keyBody(keys.privateKey.slice(0, 300)))
        assert.ok(!(err as UserError).render().includes(line));
    }
  });

  it('never writes the private key or an installation token to a log line', async () => {
    const { owner, sha, where } = account();
    fake.installApp(APP_ID, owner);
    // From a file, so the key is not in the environment that masking reads by default.
    const keyFile = path.join(tmp, 'logged.pem');
    await writeFile(keyFile, keys.privateKey);
    const credentials = githubCredentialsFromEnv({
      GITHUB_APP_ID: String(APP_ID),
      GITHUB_APP_PRIVATE_KEY_PATH: keyFile,
    });
    const lines: string[] = [];
    const capture = (m: string) => void lines.push(m);
    const log: GitHubLog = { debug: capture, info: capture, warn: capture, error: capture };
    const github = await createGitHubClient({
      credentials: credentials!,
      repository: where,
      baseUrl: fake.url,
      log,
      ...fast,
    });
    fake.rateLimitNext('secondary');
    await new GitHubCommitStatuses(github, where).post({
      sha,
      context: StatusContexts.main,
      state: CommitStates.success,
      description: 'ok',
    });
    assert.ok(
      lines.some((l) => /secondary rate limit/.test(l)),
      'the client logs through `log`',
    );
    const token = fake.installationTokens.at(-1)!.token;
    // What a server echoing secrets back, or an error quoting them, would produce.
    github.log.warn(`echoed: ${token}\n${keys.privateKey}`);
    const logger = createLogger(
      'debug',
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString('utf8'));
          done();
        },
      }),
    );
    logger.error({ err: new Error(`signing with ${keys.privateKey} gave ${token}`) }, `token ${token}`);
    const text = lines.join('\n');
    assert.match(text, /echoed: \*\*\*\*/);
    assert.ok(!text.includes(token), 'an installation token was logged');
    for (const line of keyBody(keys.privateKey))
      assert.ok(!text.includes(line), 'the private key was logged');
  });

  it('pushes wiki pages with a current installation token, never stored in the clone', async () => {
    const { owner } = account();
    const installation = fake.installApp(APP_ID, owner);
    const root = await mkdtemp(path.join(tmp, 'wiki-'));
    const bare = path.join(root, 'app.wiki.git');
    git(root, 'init', '-q', '--bare', '-b', 'master', bare);
    const seed = path.join(root, 'seed');
    git(root, 'init', '-q', '-b', 'master', seed);
    await writeFile(path.join(seed, 'Home.md'), '# Home\n');
    git(seed, 'add', '-A');
    git(seed, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'Initial Home page');
    git(seed, 'push', '-q', bare, 'HEAD:master');
    const live = (token: string) =>
      fake.installationTokens.some(
        (t) => t.token === token && t.installationId === installation.id && t.expiresAt > Date.now(),
      );
    const server = await startGitHttpServer(root, (user, token) => user === 'x-access-token' && live(token));
    try {
      const github = await createGitHubClient({
        credentials: app(installation.id),
        baseUrl: fake.url,
        ...fast,
      });
      const workDir = path.join(root, 'clone');
      const wiki = new GitWiki({
        remote: `${server.url}/app.wiki.git`,
        workDir,
        webUrl: `https://github.com/${owner}/app/wiki`,
        token: gitTokenSource(github),
      });
      const page = (id: string) => ({
        key: `${owner}/app/${id}`,
        page: { id },
        title: id,
        content: `# ${id}\n`,
      });
      assert.equal((await wiki.publish(page('HOT-1'))).created, true);
      const first = fake.installationTokens.at(-1)!.token;

      advance(HOUR + 60_000);
      assert.equal((await wiki.publish(page('HOT-2'))).created, true);
      const second = fake.installationTokens.at(-1)!.token;
      assert.notEqual(second, first);
      assert.match(git(root, '--git-dir', bare, 'show', 'master:HOT-1.md'), /# HOT-1/);
      assert.match(git(root, '--git-dir', bare, 'show', 'master:HOT-2.md'), /# HOT-2/);
      assert.ok(server.credentials.includes(`x-access-token:${first}`));
      assert.ok(server.credentials.includes(`x-access-token:${second}`));
      assert.ok(server.credentials.every((c) => c.startsWith('x-access-token:ghs_')));

      assert.equal(git(workDir, 'remote', 'get-url', 'origin').trim(), `${server.url}/app.wiki.git`);
      for (const file of await filesUnder(path.join(workDir, '.git'))) {
        const bytes = await readFile(file, 'latin1');
        for (const token of [first, second]) {
          assert.ok(!bytes.includes(token), `${path.relative(workDir, file)} holds an installation token`);
        }
      }
    } finally {
      await server.stop();
    }
  });

  describe('release-flow github setup', () => {
    const names = ['GITHUB_TOKEN', 'GITHUB_API_URL', 'GITHUB_APP_ID', 'GITHUB_APP_PRIVATE_KEY'] as const;
    const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
    after(() => {
      for (const name of names) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    });

    it('sets up a repository as the App installation found for it', async () => {
      const { owner, repo } = account();
      const installation = fake.installApp(APP_ID, owner);
      delete process.env.GITHUB_TOKEN;
      process.env.GITHUB_API_URL = fake.url;
      process.env.GITHUB_APP_ID = String(APP_ID);
      process.env.GITHUB_APP_PRIVATE_KEY = keys.privateKey.trim().replace(/\n/g, '\\n');
      fake.journal.length = 0;
      const result = await cli(['github', 'setup', `${owner}/app`]);
      assert.equal(result.code, 0, result.err);
      assert.match(result.out, /changed 6 settings/);
      assert.equal(repo.settings.allow_squash_merge, false);
      assert.ok(repo.protection.has('main'));
      assert.deepEqual(
        fake.writes().map((w) => `${w.method} ${w.path} as ${w.actor}`),
        [
          `POST /app/installations/${installation.id}/access_tokens as app ${APP_ID}`,
          `PATCH /repos/${owner}/app as installation ${installation.id}`,
          `PUT /repos/${owner}/app/branches/main/protection as installation ${installation.id}`,
        ],
      );

      delete process.env.GITHUB_APP_PRIVATE_KEY;
      process.env.GITHUB_TOKEN = fake.token;
      const partial = await cli(['github', 'setup', `${owner}/app`, '--dry-run']);
      assert.equal(partial.code, 2);
      assert.match(partial.err, /GITHUB_APP_CONFIG: GITHUB_APP_PRIVATE_KEY is not set/);
    });
  });
});
