import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decisionActionsBlock } from '../../src/adapters/slack/decision-actions';
import { checkSlackSignature, slackSignature } from '../../src/adapters/slack/request-signature';

describe('the Slack decision buttons and the request signature', () => {
  const target = { workflowId: 'production:acme/app:v1.4.0', repository: 'acme/app', version: 'v1.4.0' };

  it('builds an actions block of exactly the three buttons, each naming the release as JSON', () => {
    const block = decisionActionsBlock(target);
    assert.equal(block.type, 'actions');
    assert.deepEqual(
      block.elements.map((e) => [e.type, e.action_id, e.text.text]),
      [
        ['button', 'release-flow:emergency', 'Emergency'],
        ['button', 'release-flow:rollback', 'Rollback'],
        ['button', 'release-flow:fail-forward', 'Fail forward'],
      ],
    );
    for (const e of block.elements) assert.deepEqual(JSON.parse(e.value), target);
    const emergency = block.elements[0]!;
    assert.equal(emergency.style, 'danger');
    assert.ok(emergency.confirm, 'emergency asks for confirmation in Slack');
    assert.match(emergency.confirm.text.text, /acme\/app v1\.4\.0/);
    assert.equal(block.elements[1]!.confirm, undefined);
  });

  it('accepts only a signature of this body and timestamp, inside five minutes', () => {
    const body = Buffer.from('payload=%7B%7D');
    const now = 1_800_000_000_000;
    const ts = String(now / 1000);
    const signature = slackSignature('secret', ts, body);
    assert.match(signature, /^v0=[0-9a-f]{64}$/);
    assert.deepEqual(checkSlackSignature({ secret: 'secret', timestamp: ts, signature, body, nowMs: now }), {
      ok: true,
    });
    const cases: [string, Parameters<typeof checkSlackSignature>[0], RegExp][] = [
      [
        'other body',
        { secret: 'secret', timestamp: ts, signature, body: Buffer.from('payload=x'), nowMs: now },
        /does not match/,
      ],
      ['other secret', { secret: 'other', timestamp: ts, signature, body, nowMs: now }, /does not match/],
      ['stale', { secret: 'secret', timestamp: ts, signature, body, nowMs: now + 301_000 }, /5 minutes/],
      ['future', { secret: 'secret', timestamp: ts, signature, body, nowMs: now - 301_000 }, /5 minutes/],
      ['no header', { secret: 'secret', timestamp: undefined, signature, body, nowMs: now }, /missing/],
      [
        'short signature',
        { secret: 'secret', timestamp: ts, signature: 'v0=ab', body, nowMs: now },
        /does not match/,
      ],
    ];
    for (const [name, input, reason] of cases) {
      const check = checkSlackSignature(input);
      assert.equal(check.ok, false, name);
      assert.match((check as { reason: string }).reason, reason, name);
    }
  });
});
