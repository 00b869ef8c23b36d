import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { healthRoutes, type ReadinessProbe } from '../../src/http/health-routes';
import { startHttpServer } from '../../src/http/server';

async function serve(probe: ReadinessProbe | undefined) {
  return await startHttpServer({ host: '127.0.0.1', port: 0, routes: healthRoutes(() => probe) });
}

describe('health routes', () => {
  it('/healthz is 200 as soon as the process is up, /readyz 503 until the worker runs', async () => {
    const http = await serve(undefined);
    try {
      assert.equal((await fetch(`${http.url}/healthz`)).status, 200);
      const ready = await fetch(`${http.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.match(String(((await ready.json()) as { reason: string }).reason), /worker not running/);
    } finally {
      await http.close();
    }
  });

  it('/readyz is 503 with the reason when the round trip fails', async () => {
    const http = await serve({
      check: async () => Promise.reject(new Error('workflow execution timed out')),
    });
    try {
      const res = await fetch(`${http.url}/readyz`);
      assert.equal(res.status, 503);
      assert.match(JSON.stringify(await res.json()), /timed out/);
    } finally {
      await http.close();
    }
  });

  it('unknown paths are 404 and wrong methods 405 with Allow', async () => {
    const http = await serve(undefined);
    try {
      assert.equal((await fetch(`${http.url}/nope`)).status, 404);
      const res = await fetch(`${http.url}/healthz`, { method: 'POST' });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get('allow'), 'GET');
    } finally {
      await http.close();
    }
  });

  it('a request target no URL parser accepts is a 400, and the server keeps answering', async () => {
    const http = await serve(undefined);
    try {
      const port = new URL(http.url).port;
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () =>
          socket.end('GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
        );
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString()));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      assert.match(reply, /^HTTP\/1\.1 400 /);
      assert.equal((await fetch(`${http.url}/healthz`)).status, 200);
    } finally {
      await http.close();
    }
  });
});
