import assert from 'node:assert/strict';
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
});
