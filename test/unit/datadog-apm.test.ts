import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DatadogApm, type DatadogApmOptions } from '../../src/adapters/datadog/datadog-apm';
import { fakeDatadog, type DatadogPoint, type FakeServer } from '../helpers/fake-saas';

const KEYS = { DATADOG_API_KEY: 'dd-api', DATADOG_APP_KEY: 'dd-app' };
const ERRORS = 'sum:trace.http.request.errors{service:{service},env:{environment}}.as_count()';
const HITS = 'sum:trace.http.request.hits{service:{service},env:{environment}}.as_count()';

/** Counts per 10 s rollup from `start` (ms): `[hits, errors]` each. */
function traffic(service: string, start: number, rollups: [number, number][]): DatadogPoint[] {
  const tags = { service, env: 'production' };
  return rollups.flatMap(([hits, errors], i) => [
    { metric: 'trace.http.request.hits', tags, at: start + i * 10_000 + 1_000, value: hits },
    // Like a client library's lazy counter: no error point until there is an error.
    ...(errors > 0
      ? [{ metric: 'trace.http.request.errors', tags, at: start + i * 10_000 + 1_000, value: errors }]
      : []),
  ]);
}

describe('Datadog APM against the metrics query API (rollups, ratios, metric metadata)', () => {
  let datadog: FakeServer;
  const start = 1_700_000_000_000;
  const from = start;
  const to = start + 30_000;

  before(async () => {
    datadog = await fakeDatadog({
      apiKey: 'dd-api',
      appKey: 'dd-app',
      points: [
        // A busy rollup at 1%, a quiet one at 50%, a busy one at 1%: 25 errors in 2010 requests.
        ...traffic('bursty', start, [
          [1000, 10],
          [10, 5],
          [1000, 10],
        ]),
        // Never failed: no error point at all.
        ...traffic('healthy', start, [
          [500, 0],
          [500, 0],
          [500, 0],
        ]),
      ],
    }).start();
  });
  after(async () => {
    await datadog.stop();
  });

  const apm = (options: Partial<DatadogApmOptions> = {}) =>
    new DatadogApm({
      name: 'dd',
      apiUrl: datadog.url,
      errorQuery: ERRORS,
      requestQuery: HITS,
      errorsAs: 'count',
      timeoutMs: 2_000,
      apiKeyEnv: 'DATADOG_API_KEY',
      appKeyEnv: 'DATADOG_APP_KEY',
      env: KEYS,
      ...options,
    });

  it('errorsAs ratio weights each rollup by its requests: the error rate of the interval, not a sum of ratios', async () => {
    const ratio = apm({ errorQuery: `${ERRORS} / ${HITS}`, errorsAs: 'ratio' });
    const s = await ratio.measure({ env: 'production', service: 'bursty', from, to });
    const counted = await apm().measure({ env: 'production', service: 'bursty', from, to });
    assert.deepEqual(counted, { at: to, requests: 2010, errors: 25 });
    assert.deepEqual(s, { at: to, requests: 2010, errors: 25 });
  });

  it('a service that has never failed (no error series) measures zero errors when its requests exist', async () => {
    const s = await apm().measure({ env: 'production', service: 'healthy', from, to });
    assert.deepEqual(s, { at: to, requests: 1500, errors: 0 });
    const lookups = datadog.requests.filter((r) => r.path.startsWith('/api/v1/metrics/'));
    assert.deepEqual(
      lookups.map((r) => r.path),
      ['/api/v1/metrics/trace.http.request.errors'],
    );
    // The metric is known now: the next sample asks only the query API.
    await apm().measure({ env: 'production', service: 'healthy', from, to });
    const ratio = await apm({ errorQuery: `${ERRORS} / ${HITS}`, errorsAs: 'ratio' }).measure({
      env: 'production',
      service: 'healthy',
      from,
      to,
    });
    assert.deepEqual(ratio, { at: to, requests: 1500, errors: 0 });
  });

  it('a misspelt error metric is a failed query, never zero errors', async () => {
    await assert.rejects(
      apm({ errorQuery: ERRORS.replace('errors', 'eror') }).measure({
        env: 'production',
        service: 'healthy',
        from,
        to,
      }),
      /datadog dd: errors query failed: empty result: no series matched \(no data\), and metric trace\.http\.request\.eror does not exist \(a typo\?\)/,
    );
  });

  it('no error series and no request series (an unknown service) is a failed query', async () => {
    await assert.rejects(
      apm().measure({ env: 'production', service: 'nobody', from, to }),
      /datadog dd: requests query failed: empty result: no series matched/,
    );
  });

  it('noErrorSeries: failed keeps an error query without series a failed query', async () => {
    await assert.rejects(
      apm({ noErrorSeries: 'failed' }).measure({ env: 'production', service: 'healthy', from, to }),
      /datadog dd: errors query failed: empty result: no series matched/,
    );
  });
});
