import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli } from '../helpers/cli';
import { fakePagerDuty, fakeSlack, type FakeServer } from '../helpers/fake-saas';
import { waitFor } from '../helpers/ports';
import {
  MetricsService,
  startPrometheus,
  startRegistry,
  type RunningPrometheus,
  type RunningRegistry,
} from '../helpers/real-servers';

const WEBHOOK_PATH = '/services/T000/B000/doctorSecretPath';
const ROUTING_KEY = 'D0C456789abcdef0123456789abcdef0';

interface Check {
  kind: string;
  name: string;
  ok: boolean;
  detail: string;
}

describe('release-flow doctor and config check with the integrations configured', () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'rf-doctor-'));
  const configFile = path.join(base, 'release-flow.json');
  let metrics: MetricsService;
  let prometheus: RunningPrometheus;
  let registry: RunningRegistry;
  let slack: FakeServer;
  let pagerduty: ReturnType<typeof fakePagerDuty>;
  const saved = { ...process.env };

  before(async () => {
    metrics = await new MetricsService({ service: 'acme/shop', environment: 'production' }).start();
    [prometheus, registry, slack, pagerduty] = await Promise.all([
      startPrometheus([metrics.url]),
      startRegistry(),
      fakeSlack({ webhookPath: WEBHOOK_PATH }).start(),
      fakePagerDuty({ routingKey: ROUTING_KEY }).start(),
    ]);
    writeFileSync(
      configFile,
      JSON.stringify({
        stateDir: path.join(base, 'state'),
        integrations: {
          apm: { prom: { type: 'prometheus', url: prometheus.url } },
          alerts: {
            channels: {
              slack: { type: 'slack' },
              pager: { type: 'pagerduty', eventsUrl: pagerduty.url },
              'ops-slack': { type: 'slack', webhookUrlEnv: 'OPS_SLACK_WEBHOOK_URL' },
            },
            teams: { development: ['slack'], operations: ['pager', 'ops-slack'] },
          },
          registry: { type: 'oci', url: `http://${registry.host}` },
        },
        repositories: [
          { name: 'acme/shop', integrations: { apm: { production: { source: 'prom' } }, registry: 'oci' } },
        ],
      }),
    );
    process.env.SLACK_WEBHOOK_URL = `${slack.url}${WEBHOOK_PATH}`;
    process.env.PAGERDUTY_ROUTING_KEY = ROUTING_KEY;
    delete process.env.OPS_SLACK_WEBHOOK_URL;
    // Prometheus needs two scrapes before increase() answers.
    await waitFor(
      async () => {
        const r = await cli(['doctor', '--config', configFile, '--json']);
        return (JSON.parse(r.out) as { integrations: Check[] }).integrations.find((c) => c.kind === 'apm')
          ?.ok;
      },
      30_000,
      500,
    );
  });
  after(async () => {
    for (const key of ['SLACK_WEBHOOK_URL', 'PAGERDUTY_ROUTING_KEY']) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
    await Promise.all([
      prometheus?.stop(),
      registry?.stop(),
      slack?.stop(),
      pagerduty?.stop(),
      metrics?.stop(),
    ]);
  });

  it('doctor checks every integration: the query answers, the registry answers /v2/, channel settings are complete', async () => {
    const r = await cli(['doctor', '--config', configFile, '--json']);
    const checks = (JSON.parse(r.out) as { integrations: Check[] }).integrations;
    const by = (kind: string, name: string) => checks.find((c) => c.kind === kind && c.name === name)!;
    assert.equal(by('apm', 'prom').ok, true, by('apm', 'prom').detail);
    assert.match(
      by('apm', 'prom').detail,
      /prometheus answers acme\/shop production: \d+ requests, 0 errors/,
    );
    assert.equal(by('registry', `http://${registry.host}`).ok, true);
    assert.match(by('registry', `http://${registry.host}`).detail, /\/v2\/ answered 200/);
    assert.deepEqual([by('alerts', 'slack').ok, by('alerts', 'pager').ok], [true, true]);
    assert.deepEqual(by('alerts', 'ops-slack'), {
      kind: 'alerts',
      name: 'ops-slack',
      ok: false,
      detail: 'slack: OPS_SLACK_WEBHOOK_URL is not set',
    });
    assert.equal(r.code, 1, 'a failed check fails doctor');
    assert.equal(
      slack.requests.length + pagerduty.requests.length,
      0,
      'nothing is sent without --send-test-alert',
    );
    const text = await cli(['doctor', '--config', configFile]);
    assert.match(text.out, /^alerts ops-slack: FAILED: slack: OPS_SLACK_WEBHOOK_URL is not set$/m);
  });

  it('doctor --send-test-alert sends one test message per channel', async () => {
    await cli(['doctor', '--config', configFile, '--send-test-alert']);
    assert.equal(slack.requests.length, 1);
    assert.match(
      (slack.requests[0]!.json as { text: string }).text,
      /release-flow test message for channel slack/,
    );
    assert.deepEqual(
      pagerduty.requests.map((q) => q.path),
      ['/v2/change/enqueue'],
    );
  });

  it('an APM that cannot answer fails doctor naming the query; config check masks the integrations secrets', async () => {
    await prometheus.stop();
    const r = await cli(['doctor', '--config', configFile, '--json']);
    const apm = (JSON.parse(r.out) as { integrations: Check[] }).integrations.find((c) => c.kind === 'apm')!;
    assert.equal(apm.ok, false);
    assert.match(
      apm.detail,
      /acme\/shop production: prometheus prom: (errors|requests) query failed: cannot connect/,
    );
    const check = await cli(['config', 'check', configFile, '--json']);
    assert.equal(check.code, 0, check.err);
    const shown = JSON.parse(check.out) as { secrets: Record<string, string> };
    assert.equal(shown.secrets.SLACK_WEBHOOK_URL, 'set (masked)');
    assert.equal(shown.secrets.OPS_SLACK_WEBHOOK_URL, 'not set');
    assert.ok(!check.out.includes(WEBHOOK_PATH) && !check.out.includes(ROUTING_KEY));
  });
});
