import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validateConfig } from '../../src/config/load';
import { logLinkKey, logLinks, logRoutes, logSignature, publicBaseUrl } from '../../src/http/log-routes';
import { startHttpServer, type RunningHttpServer } from '../../src/http/server';

const RUN = 'acme_shop_abc-build-pull-request-0123456789ab';

// A raw request: fetch() would resolve dot segments before they ever reach the server.
function get(
  server: RunningHttpServer,
  rawPath: string,
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: server.port, path: rawPath, method: 'GET' },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** `rawPath` with the signature the server checks for the segments it will see. */
function signed(key: Buffer, rawPath: string): string {
  const [run = '', attempt = ''] = new URL(rawPath, 'http://x').pathname.slice('/logs/'.length).split('/');
  return `${rawPath}?sig=${logSignature(key, run, attempt)}`;
}

describe('build logs over HTTP', () => {
  let root: string;
  let server: RunningHttpServer;
  let key: Buffer;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'rf-log-routes-'));
    const workDir = path.join(root, 'state', 'work');
    await mkdir(path.join(workDir, 'runs', RUN, 'attempt-1'), { recursive: true });
    await writeFile(path.join(workDir, 'runs', RUN, 'attempt-1', 'run.log'), '$ ["npm","test"]\n1 passing\n');
    // Files a traversal would reach: beside the runs, and outside the work directory.
    await writeFile(path.join(workDir, 'runs', RUN, 'passed.json'), '{"secret":true}');
    await writeFile(path.join(root, 'state', 'run.log'), 'outside');
    key = logLinkKey(path.join(root, 'state'));
    server = await startHttpServer({ host: '127.0.0.1', port: 0, routes: logRoutes(workDir, key) });
  });

  after(async () => {
    await server?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('serves the log of an attempt as plain text through the link release-flow hands out', async () => {
    const link = logLinks(
      server.url,
      key,
    )(path.join(root, 'state', 'work', 'runs', RUN, 'attempt-1', 'run.log'))!;
    const res = await get(server, link.slice(server.url.length));
    assert.equal(res.status, 200);
    assert.match(res.type, /^text\/plain; charset=utf-8$/);
    assert.equal(res.body, '$ ["npm","test"]\n1 passing\n');
  });

  it('answers 404 without the signature, with a wrong one, or with one of another log', async () => {
    for (const rawPath of [
      `/logs/${RUN}/attempt-1`,
      `/logs/${RUN}/attempt-1?sig=`,
      `/logs/${RUN}/attempt-1?sig=${'0'.repeat(32)}`,
      `/logs/${RUN}/attempt-1?sig=${logSignature(key, RUN, 'attempt-2')}`,
      `/logs/${RUN}/attempt-1?sig=${logSignature(Buffer.from('another key'), RUN, 'attempt-1')}`,
    ]) {
      const res = await get(server, rawPath);
      assert.equal(res.status, 404, rawPath);
      assert.doesNotMatch(res.body, /passing/, rawPath);
    }
    assert.equal((await get(server, signed(key, `/logs/${RUN}/attempt-1`))).status, 200);
  });

  it('answers 404 for every path that is not a log the runner wrote, traversals included, even signed', async () => {
    for (const rawPath of [
      `/logs/${RUN}/attempt-2`,
      `/logs/${RUN}`,
      `/logs/${RUN}/`,
      `/logs/${RUN}/attempt-1/`,
      `/logs/${RUN}/attempt-1/run.log`,
      `/logs/${RUN}/passed.json`,
      `/logs/${RUN}/attempt-1/../passed.json`,
      `/logs/${RUN}/..%2Fpassed.json`,
      `/logs/..%2F..%2Frun.log/attempt-1`,
      '/logs/../../run.log',
      '/logs/%2e%2e/%2e%2e',
      `/logs/${RUN.replace('0123456789ab', 'zzzzzzzzzzzz')}/attempt-1`,
      '/logs/',
    ]) {
      const res = await get(server, signed(key, rawPath));
      assert.equal(res.status, 404, rawPath);
      assert.doesNotMatch(res.body, /secret|outside|passing/, rawPath);
    }
  });

  it('links a log path the runner wrote under the public root, and nothing else', () => {
    const link = logLinks('https://ci.example.com/release-flow/', key);
    assert.equal(
      link(`/srv/state/work/runs/${RUN}/attempt-3/run.log`),
      `https://ci.example.com/release-flow/logs/${RUN}/attempt-3?sig=${logSignature(key, RUN, 'attempt-3')}`,
    );
    assert.equal(link(`/srv/state/work/runs/${RUN}/attempt-3/other.log`), undefined);
    assert.equal(link('/etc/passwd'), undefined);
  });

  it('the public root is server.publicUrl, else host and port; a wildcard host gives none', () => {
    const server = (raw: Record<string, unknown>) => validateConfig({ server: raw }, {}).server;
    assert.equal(publicBaseUrl(server({})), 'http://127.0.0.1:3000');
    assert.equal(publicBaseUrl(server({ port: 0 }), 41234), 'http://127.0.0.1:41234');
    assert.equal(publicBaseUrl(server({ host: '::1' })), 'http://[::1]:3000');
    assert.equal(publicBaseUrl(server({ host: '0.0.0.0' })), undefined);
    assert.equal(
      publicBaseUrl(server({ host: '0.0.0.0', publicUrl: 'https://ci.example.com' })),
      'https://ci.example.com',
    );
    assert.throws(
      () => validateConfig({ server: { publicUrl: 'ci.example.com' } }, {}),
      /server\.publicUrl: got "ci\.example\.com": expected an http\(s\) URL/,
    );
  });

  it('the key is made once per state directory, readable by its owner only, and kept', async () => {
    const state = path.join(root, 'other-state');
    const first = logLinkKey(state);
    assert.equal(first.length, 32);
    assert.deepEqual(logLinkKey(state), first);
    assert.equal((await stat(path.join(state, 'log-links.key'))).mode & 0o777, 0o600);
    assert.notDeepEqual(first, key);
  });
});
