import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderContent } from '../../src/http/board/board-render';
import type { BoardSnapshot } from '../../src/http/board/board-state';
import type { AnyPipelineStatus as PipelineStatus } from '../../src/workflows/pipeline-status';

const at = '2026-12-01T21:00:00.000Z';

function snapshot(status: Partial<PipelineStatus> & Record<string, unknown>): BoardSnapshot {
  const full = {
    stage: 'production',
    repository: 'acme/app',
    version: 'v1.0.1',
    state: 'running',
    step: 'await decision',
    steps: [],
    environments: {},
    ...status,
  } as PipelineStatus & Record<string, unknown>;
  const workflowId = 'production:acme/app:v1.0.1';
  return {
    at,
    repositories: [
      {
        name: 'acme/app',
        environments: { dev: null, staging: null, production: 'v1.0.1' },
        releases: [
          {
            repository: 'acme/app',
            version: 'v1.0.1',
            commit: null,
            stage: 'production',
            state: full.state,
            awaitingDecision: full.awaitingDecision === true,
            stages: [
              {
                stage: 'production',
                workflowId,
                runId: 'r',
                execution: 'RUNNING',
                startedAt: at,
                status: full,
              },
            ],
            logs: [],
            startedAt: at,
          },
        ],
      },
    ],
    lock: null,
    incidents: [
      {
        id: 'HOT-3',
        kind: 'hotfix',
        repository: 'acme/app',
        version: 'v1.0.1',
        workflowId,
        state: 'hotfix-pending',
        ticketUrl: 'javascript:alert(1)',
        wikiUrl: 'https://wiki.example/HOT-3',
        branch: 'HOT-3',
      },
    ],
    decisions: [],
  };
}

describe('the board HTML', () => {
  it('escapes what workflows report and links only http(s) URLs', () => {
    const html = renderContent(
      snapshot({
        steps: [
          { name: '<script>alert(1)</script>', state: 'failed', detail: '"><img src=x onerror=alert(1)>' },
        ],
      }),
      { person: null, csrf: 'c', mode: 'tokens' },
    );
    assert.ok(!html.includes('<script>alert(1)'), 'no script from a step name');
    assert.ok(!html.includes('<img src=x'), 'no markup from a step detail');
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(!html.includes('href="javascript:'), 'a javascript: URL is never a link');
    assert.ok(html.includes('href="https://wiki.example/HOT-3"'));
  });

  it('shows the three labelled buttons and a reason field on a release awaiting a decision', () => {
    const html = renderContent(
      snapshot({
        awaitingDecision: true,
        awaitingSince: at,
        health: {
          verdict: 'breach',
          reason: 'error rate above 5% in 3 samples in a row',
          windowStart: at,
          windowEnd: at,
          sampleIntervalMs: 1000,
          parameters: {
            maxErrorRate: 0.05,
            minRequests: 10,
            consecutiveBadSamples: 3,
            consecutiveQueryErrors: 5,
            minJudgedSamples: 3,
          },
          sampleCount: 3,
          samples: [
            { at: Date.parse(at), requests: 100, errors: 1 },
            { at: Date.parse(at) + 1000, requests: 100, errors: 40 },
            { at: Date.parse(at) + 2000, requests: 5, errors: 5 },
            { at: Date.parse(at) + 3000, queryError: 'timeout' },
          ],
        },
      }),
      { person: { name: 'ana', via: 'token' }, csrf: 'c', mode: 'tokens' },
    );
    for (const [value, text] of [
      ['emergency', 'Emergency'],
      ['rollback', 'Rollback'],
      ['failForward', 'Fail forward'],
    ]) {
      assert.match(
        html,
        new RegExp(`<button type="submit" name="decision" value="${value}"[^>]*>${text}</button>`),
      );
    }
    assert.match(
      html,
      /<label for="reason-production-acme-app-v1-0-1">Reason<\/label><input type="text" id="reason-production-acme-app-v1-0-1"/,
    );
    assert.match(html, /Decision needed/);
    // One good, one bad, one quiet sample and a failed query, each drawn as such (in the panel's chart).
    const chart = html.slice(html.indexOf('<svg'), html.indexOf('</svg>'));
    assert.equal((chart.match(/<g class="good">/g) ?? []).length, 1);
    assert.equal((chart.match(/<g class="bad">/g) ?? []).length, 1);
    assert.equal((chart.match(/<g class="quiet">/g) ?? []).length, 1);
    assert.equal((chart.match(/<g class="failed">/g) ?? []).length, 1);
    assert.match(html, /threshold 5%/);
  });
});
