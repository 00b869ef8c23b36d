import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import {
  createProductionAlertActivities,
  ReleasePageKinds,
  waitedText,
  type ReleasePage,
} from '../../src/activities/production-alerts';
import type { Alert, Alerts } from '../../src/ports/alerts';

describe('production pages: how long a decision was awaited', () => {
  it('is said in seconds under a minute, minutes under two hours, hours beyond', () => {
    const cases: [number, string][] = [
      [0, '0 seconds'],
      [1_000, '1 second'],
      [30_000, '30 seconds'],
      [59_400, '59 seconds'],
      [59_600, '1 minute'],
      [90_000, '2 minutes'],
      [15 * 60_000, '15 minutes'],
      [119 * 60_000, '119 minutes'],
      [3 * 3_600_000, '3 hours'],
    ];
    for (const [ms, text] of cases) assert.equal(waitedText(ms), text, `${ms} ms`);
  });

  it('an escalation after 30 seconds says "after 30 seconds", not "after 0 minutes"', async () => {
    const sent: Alert[] = [];
    const alerts: Alerts = {
      send: (alert) => {
        sent.push(alert);
        return Promise.resolve({ sent: true, sentAt: 0 });
      },
    };
    const page: ReleasePage = {
      key: 'k',
      kind: ReleasePageKinds.escalation,
      team: 'operations',
      repository: 'acme/shop',
      version: 'v1.4.0',
      verdict: 'breach',
      reason: 'error rate 12% > 5%',
      waitedMs: 30_000,
      deciders: { emergency: 'anyone', rollback: 'anyone', failForward: 'anyone' },
    };
    await new MockActivityEnvironment().run(
      createProductionAlertActivities({ alerts }).pageReleaseAlert,
      page,
    );
    assert.match(sent[0]!.title, /no decision after 30 seconds$/);
  });
});
