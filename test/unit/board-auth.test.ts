import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validateConfig } from '../../src/config/load';
import { boardRoutes, type BoardSource } from '../../src/http/board/board-routes';
import type { DecideCommand } from '../../src/http/board/decide';
import { DecisionJournal } from '../../src/http/board/decision-journal';
import { BoardAuth } from '../../src/http/board/identity';
import { hashToken, verifyToken } from '../../src/http/board/token-hash';
import { startHttpServer, type RunningHttpServer } from '../../src/http/server';
import { cli } from '../helpers/cli';

const WORKFLOW = 'production:acme/app:v1.0.1';

/** Records what reaches the workflow; the board's own rules are what is under test. */
function recordingSource(): BoardSource & { calls: DecideCommand[] } {
  const calls: DecideCommand[] = [];
  return {
    calls,
    snapshot: async () => ({
      at: new Date().toISOString(),
      repositories: [],
      lock: null,
      incidents: [],
      decisions: [],
    }),
    decide: async (command) => {
      calls.push(command);
      return {
        accepted: true,
        decision: { decision: command.decision, by: command.by, at: new Date().toISOString(), via: 'update' },
      };
    },
  };
}

async function serve(auth: BoardAuth, source: BoardSource): Promise<RunningHttpServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rf-board-auth-'));
  return await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    routes: boardRoutes({ auth, source, journal: new DecisionJournal(path.join(dir, 'journal.jsonl')) }),
  });
}

function authOf(board: unknown, opts: { now?: () => number; secure?: boolean } = {}): BoardAuth {
  const config = validateConfig({ board }, {});
  return new BoardAuth({
    auth: config.board.auth,
    key: Buffer.alloc(32, 7),
    baseDir: os.tmpdir(),
    secureCookies: opts.secure ?? false,
    ...(opts.now ? { now: opts.now } : {}),
  });
}

/** A request from a chosen loopback source address (the proxy's, or anyone's). */
function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: opts.method ?? 'GET',
        headers: opts.headers,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

function cookieValue(setCookie: string[] | undefined, name: string): string | undefined {
  const line = (setCookie ?? []).find((c) => c.startsWith(`${name}=`));
  return line?.split(';')[0]!.slice(name.length + 1);
}

/** A browser's first visit: the CSRF cookie and the token the page embeds. */
async function csrfOf(url: string): Promise<{ cookie: string; token: string }> {
  const page = await request(`${url}/board/login`);
  const token = cookieValue(page.headers['set-cookie'], 'rf_csrf')!;
  assert.ok(token, 'the board hands out a CSRF cookie');
  assert.ok(page.body.includes(`"${token}"`), 'and puts the same token in its page');
  return { cookie: `rf_csrf=${token}`, token };
}

async function login(url: string, name: string, token: string, csrf: { cookie: string; token: string }) {
  return await request(`${url}/board/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrf.cookie },
    body: new URLSearchParams({ name, token, csrf: csrf.token }).toString(),
  });
}

function decideJson(
  url: string,
  headers: Record<string, string>,
  body: Record<string, unknown>,
  localAddress?: string,
) {
  return request(`${url}/board/decide`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    ...(localAddress ? { localAddress } : {}),
  });
}

describe('board identity: proxy mode', () => {
  let server: RunningHttpServer;
  const source = recordingSource();
  before(async () => {
    server = await serve(
      authOf({
        auth: { mode: 'proxy', proxy: { header: 'X-Forwarded-User', trustedAddresses: ['127.0.0.2'] } },
      }),
      source,
    );
  });
  after(() => server.close());

  it('takes the identity header only from a configured proxy address', async () => {
    const direct = await request(`${server.url}/board/state`, { headers: { 'x-forwarded-user': 'ana' } });
    assert.equal(JSON.parse(direct.body).person, null, 'the header from 127.0.0.1 (not listed) is ignored');
    const proxied = await request(`${server.url}/board/state`, {
      headers: { 'x-forwarded-user': 'ana' },
      localAddress: '127.0.0.2',
    });
    assert.deepEqual(JSON.parse(proxied.body).person, { name: 'ana', via: 'proxy' });
  });

  it('a decision claimed through the header from an unlisted address is refused; through the proxy it is taken as that person', async () => {
    const csrf = await csrfOf(server.url);
    const body = { workflowId: WORKFLOW, decision: 'rollback', by: 'mallory', csrf: csrf.token };
    const direct = await decideJson(server.url, { 'x-forwarded-user': 'ana', cookie: csrf.cookie }, body);
    assert.equal(direct.status, 401);
    assert.match(JSON.parse(direct.body).reason, /sign in to decide/);
    assert.equal(source.calls.length, 0);
    const proxied = await decideJson(
      server.url,
      { 'x-forwarded-user': 'ana', cookie: csrf.cookie },
      body,
      '127.0.0.2',
    );
    assert.equal(proxied.status, 200, proxied.body);
    assert.deepEqual(
      source.calls,
      [{ workflowId: WORKFLOW, decision: 'rollback', by: 'ana' }],
      'by is the proxy’s name, never the typed one',
    );
  });
});

describe('board identity: token mode', () => {
  let server: RunningHttpServer;
  let clock = Date.parse('2026-12-01T20:00:00Z');
  const source = recordingSource();
  before(async () => {
    const board = {
      auth: {
        mode: 'tokens',
        read: 'login',
        sessionTtl: '1h',
        tokens: [{ name: 'ana', hash: await hashToken('ana-secret') }],
      },
    };
    server = await serve(authOf(board, { now: () => clock }), source);
  });
  after(() => server.close());

  it('reading requires a login when configured: the page sends people to the form, the data answers 401', async () => {
    const page = await request(`${server.url}/board`);
    assert.equal(page.status, 303);
    assert.equal(page.headers.location, '/board/login');
    assert.equal((await request(`${server.url}/board/state`)).status, 401);
  });

  it('a token login sets an HttpOnly SameSite=Strict session cookie that identifies the person, until it expires', async () => {
    const csrf = await csrfOf(server.url);
    const wrong = await login(server.url, 'ana', 'not-it', csrf);
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /unknown name or wrong token/);
    const ok = await login(server.url, 'ana', 'ana-secret', csrf);
    assert.equal(ok.status, 303);
    const line = (ok.headers['set-cookie'] ?? []).find((c) => c.startsWith('rf_session='))!;
    assert.match(line, /HttpOnly/);
    assert.match(line, /SameSite=Strict/);
    assert.match(line, /Max-Age=3600/);
    assert.doesNotMatch(line, /Secure/, 'no Secure flag over plain http');
    const session = `rf_session=${cookieValue(ok.headers['set-cookie'], 'rf_session')}`;
    const state = await request(`${server.url}/board/state`, { headers: { cookie: session } });
    assert.equal(state.status, 200);
    assert.deepEqual(JSON.parse(state.body).person, { name: 'ana', via: 'token' });

    clock += 61 * 60_000;
    const expired = await request(`${server.url}/board/state`, { headers: { cookie: session } });
    assert.equal(expired.status, 401, 'the session has expired');
    clock -= 61 * 60_000;
  });

  it('a session cookie that was tampered with identifies nobody', async () => {
    const forged = `rf_session=${Buffer.from('ana').toString('base64url')}.${clock + 3_600_000}.AAAA`;
    assert.equal((await request(`${server.url}/board/state`, { headers: { cookie: forged } })).status, 401);
  });

  it('state-changing requests without the CSRF token, or from another site, are refused', async () => {
    const csrf = await csrfOf(server.url);
    const ok = await login(server.url, 'ana', 'ana-secret', csrf);
    const session = `rf_session=${cookieValue(ok.headers['set-cookie'], 'rf_session')}`;
    const cookies = `${session}; ${csrf.cookie}`;
    const body = { workflowId: WORKFLOW, decision: 'rollback', reason: 'errors' };

    const missing = await decideJson(server.url, { cookie: cookies }, body);
    assert.equal(missing.status, 403);
    assert.match(JSON.parse(missing.body).reason, /CSRF token/);
    const otherSite = await decideJson(
      server.url,
      { cookie: cookies, 'x-csrf-token': csrf.token, origin: 'https://evil.example' },
      body,
    );
    assert.equal(otherSite.status, 403);
    assert.match(JSON.parse(otherSite.body).reason, /origin https:\/\/evil\.example/);
    const fetchSite = await decideJson(
      server.url,
      { cookie: cookies, 'x-csrf-token': csrf.token, 'sec-fetch-site': 'cross-site' },
      body,
    );
    assert.equal(fetchSite.status, 403);
    // A token the server did not mint (an attacker's own cookie and header pair) is refused too.
    const minted = await decideJson(
      server.url,
      { cookie: `${session}; rf_csrf=abc.def`, 'x-csrf-token': 'abc.def' },
      body,
    );
    assert.equal(minted.status, 403);
    const crossSiteLogin = await request(`${server.url}/board/login`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: csrf.cookie,
        origin: 'https://evil.example',
      },
      body: new URLSearchParams({ name: 'ana', token: 'ana-secret', csrf: csrf.token }).toString(),
    });
    assert.equal(crossSiteLogin.status, 403);
    assert.equal(source.calls.length, 0, 'nothing reached the workflow');

    const same = await decideJson(
      server.url,
      { cookie: cookies, 'x-csrf-token': csrf.token, origin: server.url },
      { ...body, by: 'mallory' },
    );
    assert.equal(same.status, 200, same.body);
    assert.deepEqual(source.calls, [
      { workflowId: WORKFLOW, decision: 'rollback', by: 'ana', reason: 'errors' },
    ]);
  });

  it('an emergency must be confirmed', async () => {
    const csrf = await csrfOf(server.url);
    const ok = await login(server.url, 'ana', 'ana-secret', csrf);
    const cookies = `rf_session=${cookieValue(ok.headers['set-cookie'], 'rf_session')}; ${csrf.cookie}`;
    const before = source.calls.length;
    const unconfirmed = await decideJson(
      server.url,
      { cookie: cookies, 'x-csrf-token': csrf.token },
      { workflowId: WORKFLOW, decision: 'emergency' },
    );
    assert.equal(unconfirmed.status, 428);
    assert.equal(source.calls.length, before);
    const confirmed = await decideJson(
      server.url,
      { cookie: cookies, 'x-csrf-token': csrf.token },
      { workflowId: WORKFLOW, decision: 'emergency', confirm: true },
    );
    assert.equal(confirmed.status, 200);
    assert.equal(source.calls.at(-1)?.decision, 'emergency');
  });

  it('failed logins are rate limited: after 5 failures even the right token waits', async () => {
    clock += 16 * 60_000; // earlier tests' failures are out of the window
    const csrf = await csrfOf(server.url);
    for (let i = 0; i < 5; i++)
      assert.equal((await login(server.url, 'ana', `guess-${i}`, csrf)).status, 401);
    const limited = await login(server.url, 'ana', 'ana-secret', csrf);
    assert.equal(limited.status, 429);
    assert.match(limited.body, /too many failed logins/);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    clock += 16 * 60_000;
    assert.equal(
      (await login(server.url, 'ana', 'ana-secret', csrf)).status,
      303,
      'allowed again after the window',
    );
  });
});

describe('board identity: cookies over TLS, tokens file, hashes, config', () => {
  it('marks the session cookie Secure when the board is served over TLS', async () => {
    const auth = authOf(
      { auth: { mode: 'tokens', tokens: [{ name: 'ana', hash: await hashToken('t') }] } },
      { secure: true },
    );
    const result = await auth.login('ana', 't', '127.0.0.1');
    assert.ok(result.ok);
    assert.match(result.setCookie, /; Secure/);
  });

  it('reads people from a tokens file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rf-tokens-'));
    writeFileSync(path.join(dir, 'tokens.yml'), `- name: cy\n  hash: "${await hashToken('cy-token')}"\n`);
    const config = validateConfig({ board: { auth: { mode: 'tokens', tokensFile: 'tokens.yml' } } }, {});
    const auth = new BoardAuth({
      auth: config.board.auth,
      key: Buffer.alloc(32, 1),
      baseDir: dir,
      secureCookies: false,
    });
    assert.equal((await auth.login('cy', 'cy-token', '127.0.0.1')).ok, true);
    assert.equal((await auth.login('cy', 'other', '127.0.0.1')).ok, false);
  });

  it('`release-flow board hash-token` prints a hash that verifies the token', async () => {
    const made = await cli(['board', 'hash-token', '--name', 'ana', '--json']);
    assert.equal(made.code, 0, made.err);
    const { name, hash, token } = JSON.parse(made.out) as { name: string; hash: string; token: string };
    assert.equal(name, 'ana');
    assert.ok(token.length >= 40, 'a new random token when none is given on standard input');
    assert.equal(await verifyToken(token, hash), true);
    assert.equal(await verifyToken(`${token}x`, hash), false);
    // The hash is what the config accepts.
    validateConfig({ board: { auth: { mode: 'tokens', tokens: [{ name, hash }] } } }, {});
  });

  it('refuses configurations that cannot work, naming the field and the fix', () => {
    assert.throws(
      () => validateConfig({ board: { auth: { mode: 'proxy' } } }, {}),
      /board\.auth\.proxy\.trustedAddresses: got \[\]/,
    );
    assert.throws(
      () => validateConfig({ board: { auth: { mode: 'tokens' } } }, {}),
      /board\.auth\.tokens: got \[\]/,
    );
    assert.throws(
      () =>
        validateConfig(
          { board: { auth: { mode: 'tokens', tokens: [{ name: 'ana', hash: 'plain-text' }] } } },
          {},
        ),
      /hash-token/,
    );
    assert.throws(() => validateConfig({ board: { auth: { read: 'login' } } }, {}), /board\.auth\.read/);
  });
});
