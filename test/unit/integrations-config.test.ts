import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LocalMetricSource } from '../../src/adapters/local/local-metric-source';
import { escapePromqlString, fillPromql } from '../../src/domain/apm-query-template';
import { ConfigError, validateConfig } from '../../src/config/load';
import { alertRoute, RoutedApm } from '../../src/composition/integration-ports';

function problemsOf(raw: unknown): string[] {
  try {
    validateConfig(raw, {});
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

const valid = {
  integrations: {
    apm: {
      prom: { type: 'prometheus', url: 'http://127.0.0.1:9090', auth: { bearerTokenEnv: 'PROM_TOKEN' } },
    },
    alerts: {
      channels: { 'dev-slack': { type: 'slack' }, pager: { type: 'pagerduty' } },
      teams: { development: ['dev-slack'], operations: ['pager', 'dev-slack'] },
    },
    registry: { type: 'oci', url: 'http://127.0.0.1:5000' },
  },
  repositories: [
    {
      name: 'acme/shop',
      integrations: {
        apm: { production: { source: 'prom', service: 'shop' } },
        registry: 'oci',
        alerts: { operations: ['pager'] },
      },
    },
    { name: 'acme/other' },
  ],
};

describe('integrations configuration', () => {
  it('a complete configuration validates, with defaults filled in; repositories without choices stay local', () => {
    const config = validateConfig(valid, {});
    const prom = config.integrations.apm.prom!;
    assert.equal(prom.type, 'prometheus');
    assert.equal(prom.timeout, '10s');
    assert.match(prom.type === 'prometheus' ? prom.errorQuery : '', /\{service\}/);
    assert.equal(config.integrations.alerts.attempts, 3);
    assert.equal(config.integrations.registry?.devRepository, 'release-flow/dev/{artifact}');
    assert.equal(config.repositories[1]!.integrations.registry, 'local');
    assert.deepEqual(config.repositories[1]!.integrations.apm, {});
    const route = alertRoute(config);
    assert.deepEqual(route('operations', 'acme/shop'), ['pager'], "the repository's own route wins");
    assert.deepEqual(
      route('development', 'acme/shop'),
      ['dev-slack'],
      'a team the repository does not name keeps the global route',
    );
    assert.deepEqual(route('operations', 'acme/other'), ['pager', 'dev-slack']);
    assert.deepEqual(route('nobody', 'acme/other'), []);
  });

  it('config check names each wrong field and what is expected', () => {
    const problems = problemsOf({
      integrations: {
        apm: {
          prom: {
            type: 'prometheus',
            url: 'not a url',
            errorQuery: 'sum(x{job="{job}"})',
            auth: { usernameEnv: 'U' },
          },
          dd: { type: 'datadog', errorQuery: 'e', requestQuery: 'r', site: 'Datadog HQ' },
          Bad: { type: 'newrelic' },
        },
        alerts: {
          channels: {
            s: { type: 'slack', botTokenEnv: 'SLACK_BOT_TOKEN' },
            p: { type: 'pagerduty', routingKeyEnv: 'lower' },
          },
          teams: { operations: ['nope'] },
        },
        registry: { type: 'oci', url: 'http://r:5000', devRepository: 'dev', prodRepository: 'dev' },
      },
      repositories: [
        { name: 'a', integrations: { apm: { production: { source: 'missing' } }, registry: 'oci' } },
      ],
    });
    const text = problems.join('\n');
    for (const expected of [
      /integrations\.apm\.prom\.url: got "not a url": expected an http\(s\) URL/,
      /integrations\.apm\.dd\.site: got "Datadog HQ": expected a Datadog site/,
      /integrations\.apm\.Bad/,
      /integrations\.alerts\.channels\.p\.routingKeyEnv: got "lower": expected the name of an environment variable/,
    ]) {
      assert.match(text, expected);
    }
    // Schema problems come first; cross-field checks once the shape is right.
    const cross = problemsOf({
      integrations: {
        apm: {
          prom: {
            type: 'prometheus',
            url: 'http://p:9090',
            errorQuery: 'sum(x{job="{job}"})',
            auth: { usernameEnv: 'U' },
          },
        },
        alerts: {
          channels: { s: { type: 'slack', botTokenEnv: 'SLACK_BOT_TOKEN' } },
          teams: { operations: ['nope'] },
        },
        registry: { type: 'oci', url: 'http://r:5000', devRepository: 'dev', prodRepository: 'dev' },
      },
      repositories: [
        {
          name: 'a',
          integrations: { apm: { production: { source: 'missing' } }, alerts: { development: ['gone'] } },
        },
      ],
    }).join('\n');
    for (const expected of [
      'integrations.apm.prom.errorQuery: got "sum(x{job=\\"{job}\\"})": unknown placeholder {job}',
      'integrations.apm.prom.auth.passwordEnv: missing, but integrations.apm.prom.auth.usernameEnv is set',
      'integrations.alerts.channels.s.channel: missing, but integrations.alerts.channels.s.botTokenEnv is set',
      'integrations.alerts.teams.operations[0]: got "nope": no such channel',
      'integrations.registry.devRepository: got "dev": it must contain {artifact}',
      'integrations.registry.prodRepository: got "dev", the same as devRepository',
      'repositories[0].integrations.apm.production.source: got "missing": no such APM source (fix: define it under integrations.apm, or use one of "prom")',
      'repositories[0].integrations.alerts.development[0]: got "gone": no such channel',
    ]) {
      assert.ok(cross.includes(expected), `${expected}\nin:\n${cross}`);
    }
    assert.match(
      problemsOf({ repositories: [{ name: 'a', integrations: { registry: 'oci' } }] }).join('\n'),
      /repositories\[0\]\.integrations\.registry: got "oci", but integrations\.registry is not configured/,
    );
  });

  it('PromQL values are escaped for label matchers; regex matchers get regex escaping', () => {
    assert.equal(escapePromqlString('a"b\\c\nd', false), 'a\\"b\\\\c\\nd');
    const values = {
      repository: 'acme/shop',
      environment: 'production',
      version: 'v1.0.0',
      service: 'shop.v2"x',
      interval: '60s',
    };
    assert.equal(
      fillPromql(
        'sum(increase(r{svc="{service}",env=~"{environment}|x",v="{version}"}[{interval}]))',
        values,
      ),
      'sum(increase(r{svc="shop.v2\\"x",env=~"production|x",v="v1.0.0"}[60s]))',
    );
    assert.equal(fillPromql('r{svc=~"{service}"}', values), 'r{svc=~"shop\\\\.v2\\"x"}');
  });

  it('the local APM keys traffic by repository and environment: two repositories no longer share production', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rf-local-apm-'));
    const local = new LocalMetricSource({ dir, now: () => 0 });
    await local.setErrorRate({ service: 'acme/shop', env: 'production' }, 0.5, 0);
    await local.setErrorRate({ service: 'acme/blog', env: 'production' }, 0, 0);
    const shop = await local.measure({ env: 'production', service: 'acme/shop', from: 0, to: 60_000 });
    const blog = await local.measure({ env: 'production', service: 'acme/blog', from: 0, to: 60_000 });
    assert.deepEqual([shop.errors, blog.errors], [300, 0]);
    // Environment-wide traffic still reaches services without their own (the demo's `break`).
    await local.setErrorRate('production', 1, 0);
    assert.equal(
      (await local.measure({ env: 'production', service: 'acme/new', from: 0, to: 60_000 })).errors,
      600,
    );
    assert.equal(
      (await local.measure({ env: 'production', service: 'acme/blog', from: 0, to: 60_000 })).errors,
      0,
    );
  });

  it('a repository without an APM choice is measured by the local APM under its own name', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rf-routed-apm-'));
    const local = new LocalMetricSource({ dir, now: () => 0 });
    await local.setErrorRate({ service: 'acme/other', env: 'production' }, 0.1, 0);
    const routed = new RoutedApm(validateConfig(valid, {}), local, {});
    assert.equal(
      (await routed.measure({ env: 'production', service: 'acme/other', from: 0, to: 60_000 })).errors,
      60,
    );
    await assert.rejects(
      routed.measure({ env: 'production', service: 'acme/shop', from: 0, to: 60_000 }),
      /prometheus prom: .* query failed: PROM_TOKEN not set/,
      'acme/shop goes to its Prometheus',
    );
  });
});
