import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createDeployActivities, environmentKey } from '../../src/activities/deploy';
import { RoutedAlerts } from '../../src/adapters/alerts/routed-alerts';
import { FilesystemRegistry } from '../../src/adapters/local/filesystem-registry';
import { LocalEnvironments } from '../../src/adapters/local/local-environments';
import { DatadogApm } from '../../src/adapters/datadog/datadog-apm';
import { AlertJournal } from '../../src/adapters/local/alert-journal';
import { PagerDutyChannel } from '../../src/adapters/pagerduty/pagerduty-channel';
import { SlackChannel } from '../../src/adapters/slack/slack-channel';
import { decisionCommands, type Alert } from '../../src/ports/alerts';
import { fakeDatadog, fakePagerDuty, fakeSlack, type FakeServer } from '../helpers/fake-saas';

const WEBHOOK_PATH = '/services/T000/B000/XXXXsecretXXXX';
const ROUTING_KEY = 'R0123456789abcdef0123456789abcde';
const BOT_TOKEN = 'xoxb-test-token';

function page(key: string, kind: string, extra: Partial<Alert> = {}): Alert {
  return {
    key,
    kind,
    team: kind === 'decision-needed' ? 'development' : 'operations',
    severity: 'critical',
    verdict: 'breach',
    workflowId: 'production:acme/shop:v1.4.0',
    title: `acme/shop v1.4.0: error rate above the threshold in production (${kind})`,
    text: 'breach: error rate above 5% in 3 samples in a row (last 30%, 180/600 requests)',
    repository: 'acme/shop',
    version: 'v1.4.0',
    env: 'production',
    links: [
      { title: 'workflow in the Temporal UI', url: 'http://ui.example/namespaces/default/workflows/x' },
    ],
    commands: decisionCommands({
      repository: 'acme/shop',
      version: 'v1.4.0',
      workflowId: 'production:acme/shop:v1.4.0',
    }),
    ...extra,
  };
}

describe('alert channels against faithful local Slack and PagerDuty servers', () => {
  let root: string;
  let slack: FakeServer;
  let pagerduty: ReturnType<typeof fakePagerDuty>;
  let env: NodeJS.ProcessEnv;
  let sleeps: number[];
  let alerts: RoutedAlerts;

  before(async () => {
    slack = await fakeSlack({ webhookPath: WEBHOOK_PATH, botToken: BOT_TOKEN }).start();
    pagerduty = await fakePagerDuty({ routingKey: ROUTING_KEY }).start();
    env = {
      SLACK_WEBHOOK_URL: `${slack.url}${WEBHOOK_PATH}`,
      PAGERDUTY_ROUTING_KEY: ROUTING_KEY,
      SLACK_BOT_TOKEN: BOT_TOKEN,
    };
  });
  after(async () => {
    await slack.stop();
    await pagerduty.stop();
  });
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'rf-channels-'));
    slack.requests.length = 0;
    pagerduty.requests.length = 0;
    pagerduty.incidents.clear();
    slack.heal();
    pagerduty.heal();
    sleeps = [];
    alerts = router(['slack'], ['pagerduty', 'slack']);
  });

  function router(development: string[], operations: string[], extra: { bot?: boolean } = {}) {
    return new RoutedAlerts({
      journal: new AlertJournal({ file: path.join(root, 'alerts.jsonl'), print: () => undefined }),
      deliveriesFile: path.join(root, 'alert-deliveries.jsonl'),
      channels: [
        new SlackChannel({
          name: 'slack',
          webhookUrlEnv: 'SLACK_WEBHOOK_URL',
          apiUrl: `${slack.url}/api`,
          ...(extra.bot ? { botTokenEnv: 'SLACK_BOT_TOKEN', channel: '#releases' } : {}),
          env,
        }),
        new PagerDutyChannel({
          name: 'pagerduty',
          routingKeyEnv: 'PAGERDUTY_ROUTING_KEY',
          eventsUrl: pagerduty.url,
          changeEvents: true,
          env,
        }),
      ],
      route: (team) => (team === 'development' ? development : team === 'operations' ? operations : []),
      attempts: 3,
      backoffMs: 1_000,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
  }

  it('Slack gets Block Kit: what, where, verdict figures, the run link, the three decision buttons and the exact commands', async () => {
    const receipt = await alerts.send(page('k/decision-needed/1', 'decision-needed'));
    assert.deepEqual(receipt.deliveries, [
      { channel: 'slack', type: 'slack', state: 'delivered', attempts: 1 },
    ]);
    assert.equal(slack.requests.length, 1);
    const message = slack.requests[0]!.json as {
      text: string;
      blocks: {
        type: string;
        text?: { text: string };
        fields?: { text: string }[];
        elements?: Record<string, unknown>[];
      }[];
    };
    assert.match(message.text, /acme\/shop v1.4.0/);
    assert.equal(message.blocks[0]!.type, 'header');
    const all = JSON.stringify(message.blocks);
    for (const expected of [
      '*Repository*\\nacme/shop',
      '*Version*\\nv1.4.0',
      '*Environment*\\nproduction',
      '*Verdict*\\nbreach',
      '180/600 requests',
      'http://ui.example/namespaces/default/workflows/x',
    ]) {
      assert.ok(all.includes(expected), `message shows ${expected}`);
    }
    assert.ok(all.includes('release-flow decide acme/shop v1.4.0 rollback --by NAME'));
    assert.ok(all.includes('temporal workflow signal --workflow-id'));
    const actions = message.blocks.find((b) => b.type === 'actions')!;
    assert.deepEqual(
      actions.elements!.map((e) => e.action_id),
      ['release-flow:emergency', 'release-flow:rollback', 'release-flow:fail-forward'],
    );
    for (const button of actions.elements!) {
      assert.deepEqual(JSON.parse(button.value as string), {
        workflowId: 'production:acme/shop:v1.4.0',
        repository: 'acme/shop',
        version: 'v1.4.0',
      });
    }
    assert.ok(actions.elements![0]!.confirm, 'the emergency button asks to confirm');
    assert.equal(actions.elements![1]!.confirm, undefined);
  });

  it('a 429 is retried after Retry-After; a 400 is not retried', async () => {
    slack.failNext(1, 429, '7');
    const receipt = await alerts.send(page('k/decision-needed/1', 'decision-needed'));
    assert.equal(receipt.deliveries?.[0]?.state, 'delivered');
    assert.equal(receipt.deliveries?.[0]?.attempts, 2);
    assert.deepEqual(sleeps, [7_000]);
    slack.failNext(1, 400, undefined, 'invalid_payload');
    const refused = await alerts.send(page('k/decision-needed/2', 'decision-needed'));
    assert.equal(refused.deliveries?.[0]?.state, 'failed');
    assert.equal(refused.deliveries?.[0]?.attempts, 1);
    assert.match(refused.deliveries?.[0]?.error ?? '', /HTTP 400 invalid_payload/);
  });

  it('a channel that is down never fails the release: retried, journaled, reported; a later send tries it again', async () => {
    slack.down(503);
    const receipt = await alerts.send(page('k/decision-needed/1', 'decision-needed'));
    assert.equal(receipt.sent, true, 'the journal has it');
    assert.deepEqual(
      receipt.deliveries?.map((d) => [d.state, d.attempts]),
      [['failed', 3]],
    );
    assert.deepEqual(sleeps, [1_000, 2_000], 'backoff doubles');
    const journal = await readFile(path.join(root, 'alert-deliveries.jsonl'), 'utf8');
    assert.match(journal, /"state":"failed".*HTTP 503/);
    assert.ok(!journal.includes('XXXXsecretXXXX'), 'the webhook URL (a secret) is not journaled');
    slack.heal();
    const retried = await alerts.send(page('k/decision-needed/1', 'decision-needed'));
    assert.equal(retried.sent, false);
    assert.equal(retried.deliveries?.[0]?.state, 'delivered');
    const third = await alerts.send(page('k/decision-needed/1', 'decision-needed'));
    assert.equal(third.deliveries?.[0]?.state, 'delivered');
    assert.equal(slack.requests.filter((r) => r.status === 200).length, 1, 'delivered once');
  });

  it('PagerDuty: escalation and emergency trigger one incident per release; resolve closes it once', async () => {
    await alerts.send(page('k/escalation', 'escalation'));
    await alerts.send(page('k/escalation', 'escalation')); // a retried activity
    await alerts.send(page('k/emergency', 'emergency'));
    const triggers = pagerduty.requests.filter(
      (r) => (r.json as { event_action?: string }).event_action === 'trigger',
    );
    assert.equal(triggers.length, 2, 'escalation once, emergency once');
    assert.deepEqual([...pagerduty.incidents.keys()], ['release-flow/acme/shop/v1.4.0']);
    const event = triggers[0]!.json as {
      payload: Record<string, unknown>;
      links: unknown[];
      dedup_key: string;
    };
    assert.equal(event.payload.severity, 'critical');
    assert.equal(event.payload.source, 'acme/shop');
    assert.equal(event.payload.group, 'production');
    assert.ok(event.links.length === 1);
    const resolved = await alerts.resolveRelease({
      repository: 'acme/shop',
      version: 'v1.4.0',
      reason: 'rolled back',
    });
    assert.deepEqual(
      resolved.map((d) => d.state),
      ['delivered'],
    );
    assert.equal(pagerduty.incidents.get('release-flow/acme/shop/v1.4.0')?.status, 'resolved');
    assert.deepEqual(
      await alerts.resolveRelease({ repository: 'acme/shop', version: 'v1.4.0', reason: 'again' }),
      [],
      'resolved once',
    );
    assert.deepEqual(
      await alerts.resolveRelease({ repository: 'acme/shop', version: 'v9.9.9', reason: 'never paged' }),
      [],
    );
  });

  it('PagerDuty: 5xx is retried, 400 is final; an inconclusive verdict pages as error', async () => {
    pagerduty.failNext(2, 502);
    const ok = await alerts.send(
      page('k/escalation', 'escalation', { verdict: 'inconclusive', severity: 'critical' }),
    );
    assert.deepEqual(
      ok.deliveries?.map((d) => [d.channel, d.state, d.attempts]),
      [
        ['pagerduty', 'delivered', 3],
        ['slack', 'delivered', 1],
      ],
    );
    const last = pagerduty.requests.at(-1)!.json as { payload: { severity: string } };
    assert.equal(last.payload.severity, 'error');
    const bad = new PagerDutyChannel({
      name: 'pd',
      routingKeyEnv: 'WRONG',
      eventsUrl: pagerduty.url,
      changeEvents: true,
      env: { WRONG: 'x'.repeat(32) },
    });
    await assert.rejects(
      bad.deliver(page('k', 'escalation')),
      (err: Error & { retryable?: boolean }) =>
        /HTTP 400 Event object is invalid: routing_key is invalid/.test(err.message) &&
        err.retryable === false,
    );
  });

  it('PagerDuty change events: one per production deploy or rollback', async () => {
    const change = {
      key: 'wf/deploy/v1.4.0',
      repository: 'acme/shop',
      env: 'production',
      action: 'deploy' as const,
      version: 'v1.4.0',
      fromVersion: 'v1.3.0',
      digest: 'sha256:abc',
      by: 'wf',
      links: [],
    };
    assert.deepEqual(
      (await alerts.notifyChange(change)).map((d) => d.state),
      ['delivered'],
    );
    assert.deepEqual(await alerts.notifyChange(change), [], 'once per key');
    const sent = pagerduty.requests.filter((r) => r.path === '/v2/change/enqueue');
    assert.equal(sent.length, 1);
    const body = sent[0]!.json as {
      routing_key: string;
      payload: { summary: string; source: string; custom_details: Record<string, string> };
    };
    assert.equal(body.routing_key, ROUTING_KEY);
    assert.equal(body.payload.summary, 'acme/shop v1.4.0 deployed to production');
    assert.equal(body.payload.custom_details.digest, 'sha256:abc');
  });

  it('Slack with a bot token threads re-alerts under the first message; an escalation is broadcast too', async () => {
    const threaded = router(['slack'], ['slack'], { bot: true });
    await threaded.send(page('k/decision-needed/1', 'decision-needed'));
    await threaded.send(page('k/decision-needed/2', 'decision-needed'));
    await threaded.send(page('k/escalation', 'escalation'));
    const posts = slack.requests.map(
      (r) => r.json as { channel: string; thread_ts?: string; reply_broadcast?: boolean; text: string },
    );
    assert.equal(posts.length, 3);
    assert.equal(posts[0]!.channel, '#releases');
    assert.equal(posts[0]!.thread_ts, undefined);
    assert.equal(posts[1]!.thread_ts, '1700000001.000100');
    assert.equal(posts[1]!.reply_broadcast, undefined);
    assert.match(posts[1]!.text, /^Reminder: /);
    assert.equal(posts[2]!.thread_ts, '1700000001.000100');
    assert.equal(posts[2]!.reply_broadcast, true);
    assert.equal(slack.requests[0]!.headers.authorization, `Bearer ${BOT_TOKEN}`);
  });

  it('deploy activities: a production deploy is one change event; a healthy release resolves its incident', async () => {
    const deploy = createDeployActivities({
      environments: new LocalEnvironments({ dir: path.join(root, 'environments') }),
      registry: new FilesystemRegistry(path.join(root, 'registry')),
      alerts,
    });
    const input = {
      repository: 'acme/shop',
      env: 'production',
      version: 'v1.4.0',
      artifact: { repository: 'prod' as const, tag: 'v1.4.0' },
      by: 'wf-1',
    };
    await deploy.deployVersion(input);
    await deploy.deployVersion(input); // a retry: already deployed, by the same workflow
    await deploy.deployVersion({ ...input, env: 'staging' });
    const changes = pagerduty.requests.filter((r) => r.path === '/v2/change/enqueue');
    assert.equal(changes.length, 1, 'one change event, production only');
    await alerts.send(page('k/escalation', 'escalation'));
    await deploy.markGood({ repository: 'acme/shop', env: 'production', version: 'v1.4.0', by: 'wf-1' });
    assert.equal(pagerduty.incidents.get('release-flow/acme/shop/v1.4.0')?.status, 'resolved');
    const state = await deploy.environmentState({ repository: 'acme/shop', env: 'production' });
    assert.equal(state.env, environmentKey('acme/shop', 'production'));
  });

  it('test messages: one per channel; PagerDuty gets a change event, which pages nobody', async () => {
    for (const channel of [
      new SlackChannel({
        name: 'slack',
        webhookUrlEnv: 'SLACK_WEBHOOK_URL',
        apiUrl: `${slack.url}/api`,
        env,
      }),
      new PagerDutyChannel({
        name: 'pd',
        routingKeyEnv: 'PAGERDUTY_ROUTING_KEY',
        eventsUrl: pagerduty.url,
        changeEvents: true,
        env,
      }),
    ]) {
      assert.deepEqual(channel.problems(), []);
      await channel.sendTest();
    }
    assert.equal(slack.requests.length, 1);
    assert.deepEqual(
      pagerduty.requests.map((r) => r.path),
      ['/v2/change/enqueue'],
    );
    assert.deepEqual(
      new SlackChannel({ name: 's', webhookUrlEnv: 'NOPE', apiUrl: 'http://x', env: {} }).problems(),
      ['NOPE is not set'],
    );
    assert.deepEqual(
      new PagerDutyChannel({
        name: 'p',
        routingKeyEnv: 'K',
        eventsUrl: 'http://x',
        changeEvents: true,
        env: { K: 'short' },
      }).problems(),
      ['K is not a 32-character integration key'],
    );
  });
});

describe('Datadog APM against a faithful local metrics query API', () => {
  let datadog: FakeServer;
  const series = new Map<string, [number, number | null][][]>();

  before(async () => {
    datadog = await fakeDatadog({ apiKey: 'dd-api', appKey: 'dd-app', series: (q) => series.get(q) }).start();
  });
  after(async () => {
    await datadog.stop();
    await rm(path.join(os.tmpdir(), 'never'), { force: true });
  });

  const apm = (env: NodeJS.ProcessEnv = { DATADOG_API_KEY: 'dd-api', DATADOG_APP_KEY: 'dd-app' }) =>
    new DatadogApm({
      name: 'dd',
      apiUrl: datadog.url,
      errorQuery: 'sum:trace.http.request.errors{service:{service},env:{environment}}.as_count()',
      requestQuery: 'sum:trace.http.request.hits{service:{service},env:{environment}}.as_count()',
      errorsAs: 'count',
      timeoutMs: 2_000,
      apiKeyEnv: 'DATADOG_API_KEY',
      appKeyEnv: 'DATADOG_APP_KEY',
      env,
    });

  it('sums the points of the interval; keys go in DD-API-KEY and DD-APPLICATION-KEY; tag values normalized', async () => {
    series.set('sum:trace.http.request.errors{service:acme_shop,env:production}.as_count()', [
      [
        [1000, 2],
        [2000, 3],
        [3000, null],
      ],
    ]);
    series.set('sum:trace.http.request.hits{service:acme_shop,env:production}.as_count()', [
      [
        [1000, 50],
        [2000, 50],
      ],
    ]);
    const s = await apm().measure({ env: 'production', service: 'Acme Shop', from: 60_000, to: 120_000 });
    assert.deepEqual(s, { at: 120_000, requests: 100, errors: 5 });
    const request = datadog.requests.at(-1)!;
    assert.equal(request.headers['dd-api-key'], 'dd-api');
    assert.equal(request.headers['dd-application-key'], 'dd-app');
    assert.match(request.path, /\/api\/v1\/query/);
  });

  it('no series, only nulls, an error answer, 403, 429 and unset keys are failed queries naming the query', async () => {
    series.set('sum:trace.http.request.errors{service:none,env:production}.as_count()', []);
    series.set('sum:trace.http.request.hits{service:none,env:production}.as_count()', [[[1000, null]]]);
    const q = { env: 'production', service: 'none', from: 60_000, to: 120_000 };
    await assert.rejects(
      apm().measure(q),
      /datadog dd: (errors query failed: empty result|requests query failed: no points)/,
    );
    await assert.rejects(
      apm().measure({ ...q, service: 'unknown' }),
      /query failed: HTTP 400 error: Error parsing query/,
    );
    await assert.rejects(
      apm({ DATADOG_API_KEY: 'wrong', DATADOG_APP_KEY: 'dd-app' }).measure(q),
      /HTTP 403: the API or application key was refused/,
    );
    datadog.failNext(2, 429);
    await assert.rejects(apm().measure(q), /HTTP 429: rate limited/);
    await assert.rejects(apm({}).measure(q), /DATADOG_API_KEY and DATADOG_APP_KEY not set/);
  });
});
