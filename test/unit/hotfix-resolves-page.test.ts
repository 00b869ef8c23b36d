import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import {
  createProductionAlertActivities,
  ReleasePageKinds,
  type ReleasePage,
} from '../../src/activities/production-alerts';
import { RoutedAlerts } from '../../src/adapters/alerts/routed-alerts';
import { AlertJournal } from '../../src/adapters/local/alert-journal';
import { MarkdownTickets } from '../../src/adapters/local/markdown-tickets';
import { MarkdownWiki } from '../../src/adapters/local/markdown-wiki';
import { PagerDutyChannel } from '../../src/adapters/pagerduty/pagerduty-channel';
import { fakePagerDuty } from '../helpers/fake-saas';
import { HOTFIX_REPO, hotfixClone, openHotfixIncident } from '../helpers/open-hotfix-incident';

const ROUTING_KEY = 'R'.repeat(32);
const REPO = HOTFIX_REPO;

describe('an emergency paged through PagerDuty is resolved when its hotfix is healthy', () => {
  let root = '';
  let pagerduty: ReturnType<typeof fakePagerDuty>;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'rf-hotfix-page-'));
    pagerduty = await fakePagerDuty({ routingKey: ROUTING_KEY }).start();
  });
  after(async () => {
    await pagerduty.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('closing the incident sends resolve with the dedup key the emergency triggered', async () => {
    const alerts = new RoutedAlerts({
      journal: new AlertJournal({ file: path.join(root, 'alerts.jsonl'), print: () => undefined }),
      deliveriesFile: path.join(root, 'alert-deliveries.jsonl'),
      channels: [
        new PagerDutyChannel({
          name: 'ops-pager',
          routingKeyEnv: 'PAGERDUTY_ROUTING_KEY',
          eventsUrl: pagerduty.url,
          changeEvents: false,
          env: { PAGERDUTY_ROUTING_KEY: ROUTING_KEY },
        }),
      ],
      route: (team) => (team === 'operations' ? ['ops-pager'] : []),
      attempts: 1,
      backoffMs: 1,
    });
    const emergency: ReleasePage = {
      key: 'production:acme/shop:v1.4.0/emergency',
      kind: ReleasePageKinds.emergency,
      team: 'operations',
      repository: REPO,
      version: 'v1.4.0',
      verdict: 'breach',
      reason: 'error rate 12% > 5%',
      decision: { by: 'ana', at: '2026-12-08T01:00:00.000Z', reason: 'checkout down' },
      deciders: { emergency: 'anyone', rollback: 'anyone', failForward: 'anyone' },
    };
    await new MockActivityEnvironment().run(
      createProductionAlertActivities({ alerts }).pageReleaseAlert,
      emergency,
    );
    const key = `release-flow/${REPO}/v1.4.0`;
    assert.equal(pagerduty.incidents.get(key)?.status, 'triggered');

    const { clone, commit } = hotfixClone(root);
    const tickets = new MarkdownTickets(path.join(root, 'tickets'));
    const wiki = new MarkdownWiki(path.join(root, 'wiki'));
    const ticket = await tickets.open({
      key: 'hot/acme/shop/v1.4.0',
      kind: 'HOT',
      title: 'v1.4.0 broke',
      body: '',
    });
    assert.equal(ticket.id, 'HOT-1');
    await wiki.publish({ key: 'hot/acme/shop/v1.4.0', page: { id: 'HOT-1' }, title: 'HOT-1', content: '' });
    const hotfix = await openHotfixIncident({ dir: root, clone, tickets, wiki, alerts });
    await hotfix.closeIncident({
      repository: REPO,
      id: 'HOT-1',
      version: 'v1.4.1',
      commit,
      healthyAt: '2026-12-08T02:00:00.000Z',
      workflowId: 'production:acme/shop:v1.4.1',
    });

    assert.equal(pagerduty.incidents.get(key)?.status, 'resolved');
    const resolve = pagerduty.requests.find(
      (r) => (r.json as { event_action?: string }).event_action === 'resolve',
    );
    assert.deepEqual(
      { action: 'resolve', key, routing: ROUTING_KEY },
      {
        action: (resolve?.json as { event_action: string }).event_action,
        key: (resolve?.json as { dedup_key: string }).dedup_key,
        routing: (resolve?.json as { routing_key: string }).routing_key,
      },
    );
    // Closing again (a retried activity) sends no second resolve.
    await hotfix.closeIncident({
      repository: REPO,
      id: 'HOT-1',
      version: 'v1.4.1',
      commit,
      healthyAt: '2026-12-08T02:00:00.000Z',
      workflowId: 'production:acme/shop:v1.4.1',
    });
    assert.equal(
      pagerduty.requests.filter((r) => (r.json as { event_action?: string }).event_action === 'resolve')
        .length,
      1,
    );
  });
});
