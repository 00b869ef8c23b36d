import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalIncidents } from '../../src/adapters/local/local-incidents';
import { nextIncidentId } from '../../src/domain/incident-ids';
import { renderRetrospective } from '../../src/domain/retrospective-template';

describe('incident ids', () => {
  const table: [kind: 'HOT' | 'ROLLBACK', existing: string[], next: string][] = [
    ['HOT', [], 'HOT-1'],
    ['HOT', ['HOT-1', 'HOT-2'], 'HOT-3'],
    ['HOT', ['HOT-9', 'HOT-10', 'HOT-2'], 'HOT-11'],
    ['HOT', ['HOT-1', 'HOT-5'], 'HOT-6'],
    ['HOT', ['ROLLBACK-7', 'hot-8', 'HOT-x', 'HOTFIX-9', 'JIRA-12'], 'HOT-1'],
    ['ROLLBACK', ['HOT-4', 'ROLLBACK-2'], 'ROLLBACK-3'],
    ['ROLLBACK', ['ROLLBACK-007'], 'ROLLBACK-8'],
  ];
  for (const [kind, existing, next] of table) {
    it(`${kind} after ${JSON.stringify(existing)} is ${next}`, () => {
      assert.equal(nextIncidentId(kind, existing), next);
    });
  }
});

describe('incident records number emergencies', () => {
  it('reserve numbers the incident before any ticket exists, one past every record, and a retry finds its own', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rf-incidents-'));
    const incidents = new LocalIncidents(dir);
    const decision = { name: 'emergency', by: 'ana', at: '2026-01-01T00:00:00Z' };
    const base = { brokenVersion: 'v1.4.0', decision, openedAt: decision.at };
    await incidents.open({ ...base, id: 'HOT-4', repository: 'acme/cart', branch: 'HOT-4' });
    const first = await incidents.reserve('production:acme/shop:v1.4.0/run-1/emergency', {
      ...base,
      repository: 'acme/shop',
    });
    assert.deepEqual([first.id, first.branch, first.state], ['HOT-5', 'HOT-5', 'open']);
    const again = await incidents.reserve('production:acme/shop:v1.4.0/run-1/emergency', {
      ...base,
      repository: 'acme/shop',
    });
    assert.equal(again.id, 'HOT-5', 'the same key is the same incident');
    const next = await incidents.reserve('production:acme/web:v2.0.0/run-9/emergency', {
      ...base,
      repository: 'acme/web',
    });
    assert.equal(next.id, 'HOT-6');
    assert.equal((await incidents.get('acme/shop', 'HOT-5'))?.ticketUrl, undefined, 'no ticket yet');
  });
});

describe('retrospective template', () => {
  it('fills summary, timeline, decision and follow-ups from the release events', () => {
    const page = renderRetrospective({
      id: 'HOT-3',
      kind: 'HOT',
      repository: 'acme/shop',
      version: 'v1.4.0',
      previousVersion: 'v1.3.2',
      trigger: 'error rate above 5% in 3 samples in a row',
      decision: {
        name: 'emergency',
        by: 'nyefan',
        at: Date.UTC(2025, 0, 2, 10, 5),
        reason: 'checkout | down',
      },
      events: [
        { at: Date.UTC(2025, 0, 2, 10, 1), what: 'breach detected', by: 'release-flow' },
        { at: Date.UTC(2025, 0, 2, 9, 30), what: 'deployed v1.4.0 to production' },
      ],
      links: [{ title: 'workflow', url: 'http://localhost:8233/x' }],
    });
    assert.match(page, /^# HOT-3: Emergency hotfix of acme\/shop v1\.4\.0\n/);
    assert.match(page, /previous production version: v1\.3\.2/);
    assert.match(page, /\*\*emergency\*\* by nyefan at 2025-01-02T10:05:00Z/);
    assert.match(page, /Reason given: checkout \| down/);
    // Timeline in time order whatever order the events came in.
    const timeline = page.slice(page.indexOf('## Timeline'));
    assert.ok(timeline.indexOf('deployed v1.4.0') < timeline.indexOf('breach detected'));
    assert.match(page, /\| 2025-01-02T09:30:00Z \| deployed v1\.4\.0 to production \| release-flow \|/);
    assert.match(page, /## Follow-ups\n\n- \[ \]/);
    assert.match(page, /- \[workflow\]\(http:\/\/localhost:8233\/x\)/);
  });

  it('a rollback page says rollback and copes with no reason', () => {
    const page = renderRetrospective({
      id: 'ROLLBACK-1',
      kind: 'ROLLBACK',
      repository: 'r',
      version: 'v2.0.0',
      trigger: 't',
      decision: { name: 'rollback', by: 'ops', at: 0 },
      events: [],
    });
    assert.match(page, /^# ROLLBACK-1: Rollback of r v2\.0\.0/);
    assert.match(page, /Reason given: \(none given\)/);
  });
});
