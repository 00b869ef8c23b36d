import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalMetricSource } from '../../src/adapters/local/local-metric-source';
import { defaultHealthParameters, judgeHealth, type HealthSample } from '../../src/domain/health-verdict';

const MINUTE = 60_000;
const T = Date.UTC(2025, 0, 1, 12, 0, 0);

describe('local metric source', () => {
  let root: string;
  let apm: LocalMetricSource;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'rf-apm-'));
    apm = new LocalMetricSource({
      dir: root,
      baseline: { requestsPerMinute: 600, errorRate: 0.01, available: true },
    });
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const minute = (env: string, end: number) =>
    apm.measure({ env, service: 'acme/app', from: end - MINUTE, to: end });

  it('an untouched environment reports the healthy baseline', async () => {
    assert.deepEqual(await minute('production', T), { at: T, requests: 600, errors: 6 });
  });

  it('setErrorRate turns the following samples bad, prorated across the change', async () => {
    await apm.setErrorRate('staging', 0.25, T);
    assert.deepEqual(await minute('staging', T), { at: T, requests: 600, errors: 6 });
    assert.deepEqual(await minute('staging', T + MINUTE), { at: T + MINUTE, requests: 600, errors: 150 });
    // Half a minute at 1 % and half at 25 %.
    assert.deepEqual(await minute('staging', T + MINUTE / 2), {
      at: T + MINUTE / 2,
      requests: 600,
      errors: 78,
    });
    await apm.setErrorRate('staging', 0, T + 2 * MINUTE);
    assert.equal((await minute('staging', T + 3 * MINUTE)).errors, 0);
    // Environments are independent.
    assert.equal((await minute('production', T + MINUTE)).errors, 6);
  });

  it('samples match what the health verdict judges: a bad release breaches, a good one passes', async () => {
    const window = { start: T, end: T + 5 * MINUTE };
    const watch = async (env: string) => {
      const samples: HealthSample[] = [];
      for (let i = 1; i <= 5; i++) samples.push(await minute(env, T + i * MINUTE));
      return judgeHealth({ samples, parameters: defaultHealthParameters, window, now: window.end }).verdict;
    };
    await apm.setErrorRate('bad', 0.3, T);
    assert.equal(await watch('bad'), 'breach');
    assert.equal(await watch('good'), 'healthy');
    await apm.setTraffic('quiet', { requestsPerMinute: 10 }, T);
    assert.equal(await watch('quiet'), 'not-enough-data');
  });

  it('an outage makes queries fail instead of reporting zero errors', async () => {
    await apm.setTraffic('outage', { available: false }, T);
    await assert.rejects(minute('outage', T + MINUTE), /unavailable/);
    await apm.setTraffic('outage', { available: true }, T + MINUTE);
    assert.equal((await minute('outage', T + 2 * MINUTE)).requests, 600);
  });

  it('recorded counts are added to the interval they fall in', async () => {
    await apm.setTraffic('counted', { requestsPerMinute: 0 }, T - MINUTE);
    await apm.record('counted', { at: T + 1000, requests: 100, errors: 40 });
    assert.deepEqual(await minute('counted', T + MINUTE), { at: T + MINUTE, requests: 100, errors: 40 });
    assert.deepEqual(await minute('counted', T + 2 * MINUTE), { at: T + 2 * MINUTE, requests: 0, errors: 0 });
  });

  it('refuses an error rate outside 0..1 and environment names that are paths', async () => {
    await assert.rejects(apm.setErrorRate('production', 1.5), RangeError);
    await assert.rejects(minute('../x', T), /invalid environment name/);
  });
});
