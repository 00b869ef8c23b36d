import '../helpers/runtime';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startApp, type RunningApp } from '../../src/app';
import { validateConfig } from '../../src/config/load';
import { createLogger } from '../../src/common/logging';
import { pipelineWorkflowId } from '../../src/workflows/shared/messages';
import { anyPipelineStatusQuery as statusQuery } from '../../src/workflows/pipeline-status';
import { cli } from '../helpers/cli';
import { fakePagerDuty, fakeSlack, type FakeServer } from '../helpers/fake-saas';
import { git } from '../helpers/git-fixture';
import { freePort, waitFor } from '../helpers/ports';
import {
  MetricsService,
  startPrometheus,
  startRegistry,
  type RunningPrometheus,
  type RunningRegistry,
} from '../helpers/real-servers';

const REPO = 'acme/shop';
const WEBHOOK_PATH = '/services/T000/B000/e2eSecretPath';
const ROUTING_KEY = 'E2E456789abcdef0123456789abcdef0';

function makeRepository(dir: string): void {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(
    path.join(dir, 'build.js'),
    "require('fs').mkdirSync('dist',{recursive:true});require('fs').writeFileSync('dist/app.txt','shop build\\n');\n",
  );
  writeFileSync(path.join(dir, 'test.js'), 'process.exit(0);\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'feat(SHOP-1): the shop');
}

describe('release through real integrations: Prometheus, an OCI registry, Slack and PagerDuty (dev server)', () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'rf-integrations-'));
  const repoDir = path.join(base, 'shop');
  const stateDir = path.join(base, 'state');
  const configFile = path.join(base, 'release-flow.json');
  let metrics: MetricsService;
  let prometheus: RunningPrometheus;
  let registry: RunningRegistry;
  let slack: FakeServer;
  let pagerduty: ReturnType<typeof fakePagerDuty>;
  let app: RunningApp;

  before(async () => {
    makeRepository(repoDir);
    metrics = await new MetricsService({ service: REPO, environment: 'production' }).start();
    [prometheus, registry, slack, pagerduty] = await Promise.all([
      startPrometheus([metrics.url]),
      startRegistry(),
      fakeSlack({ webhookPath: WEBHOOK_PATH }).start(),
      fakePagerDuty({ routingKey: ROUTING_KEY }).start(),
    ]);
    const raw = {
      stateDir,
      server: { port: 0 },
      temporal: {
        taskQueue: 'e2e-integrations',
        devServer: {
          port: await freePort(),
          uiPort: await freePort(),
          dbFile: path.join(stateDir, 'temporal.db'),
        },
      },
      integrations: {
        apm: { prom: { type: 'prometheus', url: prometheus.url, timeout: '5s' } },
        alerts: {
          channels: {
            'dev-slack': { type: 'slack', webhookUrlEnv: 'SLACK_WEBHOOK_URL' },
            'ops-pager': {
              type: 'pagerduty',
              routingKeyEnv: 'PAGERDUTY_ROUTING_KEY',
              eventsUrl: pagerduty.url,
            },
          },
          teams: { development: ['dev-slack'], operations: ['ops-pager'] },
          backoff: '100ms',
        },
        registry: { type: 'oci', url: `http://${registry.host}` },
      },
      repositories: [
        {
          name: REPO,
          path: repoDir,
          artifact: 'dist/app.txt',
          commands: { build: [['node', 'build.js']], unitTests: [['node', 'test.js']] },
          health: {
            window: '10m',
            sampleInterval: '3s',
            minRequests: 1,
            consecutiveBadSamples: 2,
            minJudgedSamples: 1,
          },
          escalation: { realertAfter: '1h', escalateAfter: '4s' },
          integrations: { apm: { production: { source: 'prom' } }, registry: 'oci' },
        },
      ],
    };
    writeFileSync(configFile, JSON.stringify(raw));
    const env = {
      PATH: process.env.PATH,
      SLACK_WEBHOOK_URL: `${slack.url}${WEBHOOK_PATH}`,
      PAGERDUTY_ROUTING_KEY: ROUTING_KEY,
    };
    app = await startApp({ config: validateConfig(raw, {}), logger: createLogger('silent'), env });
  });
  after(async () => {
    await app?.stop();
    await Promise.all([
      prometheus?.stop(),
      registry?.stop(),
      slack?.stop(),
      pagerduty?.stop(),
      metrics?.stop(),
    ]);
  });

  it('main -> tag -> production on Prometheus; a breach pages Slack then PagerDuty once; rollback resolves the incident', async () => {
    const sha = git(repoDir, 'rev-parse', 'HEAD');
    const main = await cli([
      'start',
      'main-commit',
      '--repo',
      REPO,
      '--sha',
      sha,
      '--config',
      configFile,
      '--json',
    ]);
    assert.equal(main.code, 0, main.err);
    const released = (await app.client.workflow
      .getHandle((JSON.parse(main.out) as { workflowId: string }).workflowId)
      .result()) as { tag: string };
    assert.equal(released.tag, 'v1.0.0');

    const tag = await cli([
      'start',
      'tag',
      '--repo',
      REPO,
      '--tag',
      'v1.0.0',
      '--config',
      configFile,
      '--json',
    ]);
    assert.equal(tag.code, 0, tag.err);
    const promoted = (await app.client.workflow
      .getHandle((JSON.parse(tag.out) as { workflowId: string }).workflowId)
      .result()) as { productionWorkflowId: string };
    assert.equal(promoted.productionWorkflowId, pipelineWorkflowId('production', REPO, 'v1.0.0'));
    const production = app.client.workflow.getHandle(promoted.productionWorkflowId);

    // Healthy samples first, through the real query path.
    const healthy = await waitFor(
      async () => {
        const s = await production.query(statusQuery);
        return (s.health?.samples ?? []).some((x) => 'requests' in x && x.requests > 0 && x.errors === 0)
          ? s
          : undefined;
      },
      60_000,
      250,
    );
    assert.ok(healthy, 'production was sampled healthy from Prometheus');
    assert.equal(healthy.awaitingDecision ?? false, false);

    // The artifact went through the OCI registry: dev by commit, the version tag, prod by digest.
    const pins = readFileSync(path.join(stateDir, 'oci-pins.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { repository: string; tag: string; digest: string });
    assert.deepEqual(
      pins.map((p) => `${p.repository}:${p.tag}`),
      [`dev:${sha}`, 'dev:v1.0.0', 'prod:v1.0.0'],
    );
    assert.equal(new Set(pins.map((p) => p.digest)).size, 1, 'one digest from dev to production');

    metrics.setTraffic({ errorRate: 0.5 });
    const escalated = await waitFor(
      async () => {
        const s = await production.query(statusQuery);
        return (s.pages ?? []).some((p) => p.kind === 'escalation') ? s : undefined;
      },
      90_000,
      250,
    );
    assert.ok(escalated, 'the breach was escalated to operations');
    assert.equal(escalated.awaitingDecision, true);

    const slackPages = slack.requests.filter((r) => r.status === 200);
    assert.equal(slackPages.length, 1, 'the development team was paged once on Slack');
    assert.match(JSON.stringify(slackPages[0]!.json), /release-flow:rollback/);
    const triggers = pagerduty.requests.filter(
      (r) => (r.json as { event_action?: string }).event_action === 'trigger',
    );
    assert.equal(triggers.length, 1, 'operations were paged once');
    assert.equal((triggers[0]!.json as { payload: { severity: string } }).payload.severity, 'critical');
    const incident = pagerduty.incidents.get(`release-flow/${REPO}/v1.0.0`);
    assert.equal(incident?.status, 'triggered');
    const pages = escalated.pages ?? [];
    assert.deepEqual(
      pages.map((p) => [p.kind, p.team]),
      [
        ['decision-needed', 'development'],
        ['escalation', 'operations'],
      ],
      'Slack (development) first, then PagerDuty (operations)',
    );

    const decided = await cli([
      'decide',
      REPO,
      'v1.0.0',
      'rollback',
      '--by',
      'ana',
      '--reason',
      'errors',
      '--config',
      configFile,
    ]);
    assert.equal(decided.code, 0, decided.err);
    const outcome = (await production.result()) as { state: string };
    assert.equal(outcome.state, 'rolled-back');
    assert.equal(
      pagerduty.incidents.get(`release-flow/${REPO}/v1.0.0`)?.status,
      'resolved',
      'the decision resolved the incident',
    );
    const changes = pagerduty.requests
      .filter((r) => r.path === '/v2/change/enqueue')
      .map((r) => (r.json as { payload: { summary: string } }).payload.summary);
    assert.deepEqual(
      changes,
      [`${REPO} v1.0.0 deployed to production`],
      'a change event for the production deploy',
    );
    assert.equal(
      pagerduty.requests.filter((r) => (r.json as { event_action?: string }).event_action === 'trigger')
        .length,
      1,
      'never a second incident',
    );
  });
});
