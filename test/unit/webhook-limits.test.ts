/**
 * The receiver under hostile load, against the real HTTP server on loopback: unverified bodies
 * in flight are capped in count and bytes (over the cap: 503 with Retry-After, while an honest
 * delivery still gets in), slow requests and idle keep-alive connections are closed on time,
 * and nothing crashes the process.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { startHttpServer, type HttpServerLimits, type RunningHttpServer } from '../../src/http/server';
import { BodyBudget, type BodyBudgetOptions } from '../../src/http/webhooks/raw-body';
import { webhookRoutes } from '../../src/http/webhooks/webhook-routes';
import { capturingLogger, deliver, fakeStarter, SECRET } from '../helpers/webhooks';

const REPO = {
  name: 'acme/shop',
  defaultBranch: 'main',
  releaseTagPattern: '^v(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)$',
};
const servers: RunningHttpServer[] = [];
const sockets: net.Socket[] = [];

async function serve(budget: BodyBudgetOptions, limits: HttpServerLimits = {}) {
  const routes = webhookRoutes({
    secret: SECRET,
    repositories: [REPO],
    starter: fakeStarter(),
    logger: capturingLogger().logger,
    bodyBudget: new BodyBudget(budget),
  });
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, routes, limits });
  servers.push(server);
  return server;
}

/** A connection that sends headers and part of a body, then stalls; resolves once connected. */
async function slowDelivery(port: number, declared: number, sent = 10): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    'POST /webhooks/github HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-github-event: push\r\n' +
      `x-hub-signature-256: sha256=${'0'.repeat(64)}\r\ncontent-length: ${declared}\r\n\r\n` +
      '{'.repeat(sent),
  );
  return socket;
}

/** What the server wrote on a socket before it closed. */
function answerOf(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.once('close', () => resolve(text));
  });
}

/** Resolves with the server's first bytes on the socket. */
function firstBytes(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => socket.once('data', (d) => resolve(d.toString())));
}

const ping = () => JSON.stringify({ zen: 'hi', hook_id: 1 });

describe('webhook receiver limits', () => {
  after(async () => {
    sockets.forEach((s) => s.destroy());
    for (const s of servers) await s.close();
  });

  it('past the cap of unverified bodies in flight, a delivery gets 503 with Retry-After; an honest one fits once they go', async () => {
    const server = await serve({ maxBodies: 2, retryAfterSeconds: 7 });
    await slowDelivery(server.port, 5000);
    await slowDelivery(server.port, 5000);
    const third = await slowDelivery(server.port, 5000);
    const answer = await firstBytes(third);
    assert.match(answer, /^HTTP\/1\.1 503 /);
    assert.match(answer, /\r\nretry-after: 7\r\n/i);
    assert.match(answer, /too many unverified webhook bodies/);
    sockets.forEach((s) => s.destroy());
    // Once the slow ones are gone, their places are free again.
    let honest = await deliver(server.url, { event: 'ping', body: ping() });
    for (let i = 0; i < 50 && honest.status === 503; i++)
      honest = await deliver(server.url, { event: 'ping', body: ping() });
    assert.equal(honest.status, 200, JSON.stringify(honest.body));
  });

  it('bytes count, not just bodies: large bodies cannot take the share kept for ordinary deliveries', async () => {
    const MiB = 1024 * 1024;
    const server = await serve({ maxBodies: 100, maxBytes: 8 * MiB, reservedForSmallBytes: 2 * MiB });
    const first = await slowDelivery(server.port, 5 * MiB);
    const second = await slowDelivery(server.port, 5 * MiB);
    const refused = await firstBytes(second);
    assert.match(refused, /^HTTP\/1\.1 503 /);
    assert.match(refused, /\r\nretry-after: 5\r\n/i);
    // An honest small delivery still fits beside the large one holding its bytes.
    const honest = await deliver(server.url, { event: 'ping', body: ping() });
    assert.equal(honest.status, 200, JSON.stringify(honest.body));
    first.destroy();
  });

  it('a body still arriving at the request timeout is closed with 408, and the server keeps answering', async () => {
    const server = await serve({}, { requestTimeoutMs: 600, headersTimeoutMs: 500 });
    const socket = await slowDelivery(server.port, 5000);
    const started = Date.now();
    const answer = await answerOf(socket);
    const elapsed = Date.now() - started;
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.ok(elapsed < 5_000, `closed after ${elapsed} ms`);
    const honest = await deliver(server.url, { event: 'ping', body: ping() });
    assert.equal(honest.status, 200);
  });

  it('headers that never finish are closed at the headers timeout', async () => {
    const server = await serve({}, { requestTimeoutMs: 2_000, headersTimeoutMs: 400 });
    const socket = net.connect(server.port, '127.0.0.1');
    sockets.push(socket);
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('POST /webhooks/github HTTP/1.1\r\nhost: x\r\n');
    const started = Date.now();
    const answer = await answerOf(socket);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.ok(Date.now() - started < 5_000);
  });

  it('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const server = await serve({}, { keepAliveTimeoutMs: 300 });
    const socket = net.connect(server.port, '127.0.0.1');
    sockets.push(socket);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const all = answerOf(socket);
    socket.write('GET /nothing HTTP/1.1\r\nhost: x\r\n\r\n');
    const started = Date.now();
    const text = await all;
    assert.deepEqual(
      [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]),
      ['404'],
    );
    assert.ok(Date.now() - started < 5_000, 'closed by the server, not left open');
  });

  it('one connection serves a bounded number of requests; the next is refused with 503', async () => {
    const server = await serve({}, { maxRequestsPerSocket: 2 });
    const socket = net.connect(server.port, '127.0.0.1');
    sockets.push(socket);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const all = answerOf(socket);
    const request = 'GET /nothing HTTP/1.1\r\nhost: x\r\n\r\n';
    socket.write(request + request + request);
    setTimeout(() => socket.end(), 1_000).unref();
    const text = await all;
    assert.deepEqual(
      [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]),
      ['404', '404', '503'],
    );
  });
});
