import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { PrometheusApm } from '../../src/adapters/prometheus/prometheus-apm';
import {
  DEFAULT_PROMETHEUS_ERROR_QUERY,
  DEFAULT_PROMETHEUS_REQUEST_QUERY,
} from '../../src/config/integrations-schema';
import { defaultHealthParameters, judgeHealth, type HealthSample } from '../../src/domain/health-verdict';
import { createHealthActivities } from '../../src/activities/health';
import { MetricsService, startPrometheus, type RunningPrometheus } from '../helpers/real-servers';
import { waitFor } from '../helpers/ports';

const SERVICE = 'acme/shop';

describe('Prometheus APM against a real Prometheus scraping a test service', () => {
  let metrics: MetricsService;
  let prometheus: RunningPrometheus;
  let apm: PrometheusApm;

  before(async () => {
    metrics = await new MetricsService({ service: SERVICE, environment: 'production' }).start();
    prometheus = await startPrometheus([metrics.url]);
    apm = new PrometheusApm({
      name: 'prom',
      url: prometheus.url,
      errorQuery: DEFAULT_PROMETHEUS_ERROR_QUERY,
      requestQuery: DEFAULT_PROMETHEUS_REQUEST_QUERY,
      errorsAs: 'count',
      timeoutMs: 5_000,
    });
    // Ready once two scrapes are in: increase() needs two points.
    const ready = await waitFor(
      async () => {
        const s = await apm
          .measure({ env: 'production', service: SERVICE, from: Date.now() - 10_000, to: Date.now() })
          .catch(() => undefined);
        return s && s.requests > 0 ? s : undefined;
      },
      30_000,
      250,
    );
    assert.ok(ready, 'Prometheus scraped the service');
  });
  after(async () => {
    await prometheus?.stop();
    await metrics?.stop();
  });

  it('a service that has never failed has no 5xx series, and the default queries measure zero errors', async () => {
    // The exporter creates its 5xx series lazily, as client libraries do: none exists yet.
    const fiveHundreds = new PrometheusApm({
      name: 'prom',
      url: prometheus.url,
      errorQuery: 'http_requests_total{service="{service}",code=~"5.."}',
      requestQuery: 'vector(1)',
      errorsAs: 'count',
      timeoutMs: 5_000,
    });
    await assert.rejects(
      fiveHundreds.measure({ env: 'production', service: SERVICE, from: Date.now() - 5_000, to: Date.now() }),
      /errors query failed: empty result/,
    );
    const s = await apm.measure({
      env: 'production',
      service: SERVICE,
      from: Date.now() - 5_000,
      to: Date.now(),
    });
    assert.ok(s.requests > 0, JSON.stringify(s));
    assert.equal(s.errors, 0);
    // Through the health watch's activity and verdict: a closed window of such samples is healthy.
    const health = createHealthActivities({ apm });
    const samples: HealthSample[] = [];
    // Three samples with traffic in them, at distinct times as the watch takes them.
    const gathered = await waitFor(
      async () => {
        const to = Date.now();
        const sample = await health.measureHealth({
          repository: SERVICE,
          env: 'production',
          from: to - 5_000,
          to,
        });
        assert.ok(!('queryError' in sample), JSON.stringify(sample));
        if (sample.requests > 0) samples.push(sample);
        return samples.length >= 3 ? samples : undefined;
      },
      20_000,
      250,
    );
    assert.ok(gathered, JSON.stringify(samples));
    const verdict = judgeHealth({
      samples,
      parameters: { ...defaultHealthParameters, minRequests: 1 },
      window: { start: 0, end: Date.now() },
      now: Date.now(),
    });
    assert.equal(verdict.verdict, 'healthy', verdict.reason);
  });

  it('a metric that does not exist (a typo) is a failed query, never zero errors', async () => {
    const typo = (q: string) => q.replaceAll('http_requests_total', 'http_request_total');
    const misspelt = new PrometheusApm({
      name: 'prom',
      url: prometheus.url,
      errorQuery: typo(DEFAULT_PROMETHEUS_ERROR_QUERY),
      requestQuery: DEFAULT_PROMETHEUS_REQUEST_QUERY,
      errorsAs: 'count',
      timeoutMs: 5_000,
    });
    await assert.rejects(
      misspelt.measure({ env: 'production', service: SERVICE, from: Date.now() - 5_000, to: Date.now() }),
      /errors query failed: empty result: no series matched.*http_request_total/,
    );
  });

  it('a healthy service measures requests and no errors; then it breaches through the same queries', async () => {
    const health = createHealthActivities({ apm });
    const healthy = await health.measureHealth({
      repository: SERVICE,
      env: 'production',
      from: Date.now() - 5_000,
      to: Date.now(),
    });
    assert.ok(!('queryError' in healthy), JSON.stringify(healthy));
    assert.ok(healthy.requests > 0);
    assert.equal(healthy.errors, 0);

    metrics.setTraffic({ errorRate: 0.5 });
    const breached = await waitFor(
      async () => {
        const s = await health.measureHealth({
          repository: SERVICE,
          env: 'production',
          from: Date.now() - 3_000,
          to: Date.now(),
        });
        return 'queryError' in s || s.errors / s.requests < 0.3 ? undefined : s;
      },
      20_000,
      500,
    );
    assert.ok(breached, 'the error counter shows in the error query');
    const samples: HealthSample[] = [
      healthy,
      ...[1, 2, 3].map((i) => ({ ...breached, at: breached.at + i })),
    ];
    const verdict = judgeHealth({
      samples,
      parameters: { ...defaultHealthParameters, minRequests: 1 },
      window: { start: 0, end: breached.at + 10 },
      now: breached.at + 3,
    });
    assert.equal(verdict.verdict, 'breach', verdict.reason);
    metrics.setTraffic({ errorRate: 0 });
  });

  it('an empty result is a failed query that names the query and says no series matched', async () => {
    await assert.rejects(
      apm.measure({ env: 'production', service: 'acme/nobody', from: Date.now() - 5_000, to: Date.now() }),
      /prometheus prom: (errors|requests) query failed: empty result: no series matched.*acme\/nobody/,
    );
  });

  it('NaN is a failed query, never zero errors', async () => {
    const nan = new PrometheusApm({
      name: 'prom',
      url: prometheus.url,
      errorQuery: 'vector(0) / vector(0)',
      requestQuery: 'vector(10)',
      errorsAs: 'count',
      timeoutMs: 5_000,
    });
    await assert.rejects(
      nan.measure({ env: 'production', service: SERVICE, from: Date.now() - 5_000, to: Date.now() }),
      /errors query failed: the answer is NaN/,
    );
  });

  it("Prometheus's error answer is a failed query with its errorType", async () => {
    const bad = new PrometheusApm({
      name: 'prom',
      url: prometheus.url,
      errorQuery: 'sum(',
      requestQuery: 'vector(1)',
      errorsAs: 'count',
      timeoutMs: 5_000,
    });
    await assert.rejects(
      bad.measure({ env: 'production', service: SERVICE, from: Date.now() - 5_000, to: Date.now() }),
      /errors query failed: HTTP 400 bad_data: .*query: sum\(/,
    );
  });

  it('label values are escaped: a quote in the service name cannot break out of the matcher', async () => {
    await assert.rejects(
      apm.measure({
        env: 'production',
        service: 'x"} or vector(1) or {a="',
        from: Date.now() - 5_000,
        to: Date.now(),
      }),
      /empty result/,
    );
  });

  it('a ratio query: the error share times the requests', async () => {
    const ratio = new PrometheusApm({
      name: 'prom',
      url: prometheus.url,
      errorQuery:
        'sum(rate(http_requests_total{service="{service}",code=~"5.."}[{interval}])) / sum(rate(http_requests_total{service="{service}"}[{interval}]))',
      requestQuery: DEFAULT_PROMETHEUS_REQUEST_QUERY,
      errorsAs: 'ratio',
      timeoutMs: 5_000,
    });
    const to = Date.now();
    const s = await ratio.measure({ env: 'production', service: SERVICE, from: to - 5_000, to });
    const counted = await apm.measure({ env: 'production', service: SERVICE, from: to - 5_000, to });
    assert.ok(s.requests > 0 && s.errors <= s.requests);
    assert.ok(
      Math.abs(s.errors / s.requests - counted.errors / counted.requests) < 0.05,
      `${JSON.stringify(s)} vs ${JSON.stringify(counted)}`,
    );
  });
});

describe('Prometheus APM: auth and timeouts (a local HTTP server)', () => {
  let server: http.Server;
  let url = '';
  const seen: { auth?: string; body: string }[] = [];
  let hang = false;

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ ...(req.headers.authorization ? { auth: req.headers.authorization } : {}), body });
        if (hang) return; // never answers
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            status: 'success',
            data: { resultType: 'vector', result: [{ metric: {}, value: [1, '7'] }] },
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('bearer and basic credentials come from the named env vars; an unset one fails the query', async () => {
    const bearer = new PrometheusApm({
      name: 'p',
      url,
      errorQuery: 'e',
      requestQuery: 'r',
      errorsAs: 'count',
      timeoutMs: 2_000,
      auth: { bearerTokenEnv: 'PROM_TOKEN' },
      env: { PROM_TOKEN: 's3cret-token' },
    });
    assert.deepEqual(await bearer.measure({ env: 'production', service: 's', from: 0, to: 60_000 }), {
      at: 60_000,
      requests: 7,
      errors: 7,
    });
    assert.equal(seen.at(-1)?.auth, 'Bearer s3cret-token');
    assert.match(seen.at(-1)?.body ?? '', /query=r&time=60\.000&timeout=2s/);
    const basic = new PrometheusApm({
      name: 'p',
      url,
      errorQuery: 'e',
      requestQuery: 'r',
      errorsAs: 'count',
      timeoutMs: 2_000,
      auth: { usernameEnv: 'U', passwordEnv: 'P' },
      env: { U: 'ana', P: 'pw' },
    });
    await basic.measure({ env: 'production', service: 's', from: 0, to: 60_000 });
    assert.equal(seen.at(-1)?.auth, `Basic ${Buffer.from('ana:pw').toString('base64')}`);
    const unset = new PrometheusApm({
      name: 'p',
      url,
      errorQuery: 'e',
      requestQuery: 'r',
      errorsAs: 'count',
      timeoutMs: 2_000,
      auth: { bearerTokenEnv: 'PROM_TOKEN' },
      env: {},
    });
    await assert.rejects(
      unset.measure({ env: 'production', service: 's', from: 0, to: 60_000 }),
      /PROM_TOKEN not set/,
    );
  });

  it('no answer within the timeout is a failed query saying so', async () => {
    hang = true;
    const slow = new PrometheusApm({
      name: 'p',
      url,
      errorQuery: 'e',
      requestQuery: 'r',
      errorsAs: 'count',
      timeoutMs: 300,
    });
    await assert.rejects(
      slow.measure({ env: 'production', service: 's', from: 0, to: 60_000 }),
      /query failed: no answer within 300 ms \(timeout\)/,
    );
    hang = false;
  });
});
