import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  accept,
  awaitDecisions,
  explainWait,
  MAX_REJECTED,
  openingDesk,
  refusal,
  signalled,
  stopAwaiting,
  strayed,
  takenDecision,
  type DecisionDesk,
} from '../../src/domain/decision-desk';
import type { Deciders } from '../../src/domain/production-decisions';

const at = '2026-01-01T10:00:00.000Z';
const deciders: Deciders = { rollback: ['alice'], teams: {} };
const watching = openingDesk('production is being watched until 10:30Z');
const open = awaitDecisions(watching);

describe('the decision desk', () => {
  it('signals: accepted only while awaited, once, from someone allowed; else refused saying why', () => {
    const taken = accept(open, 'failForward', { by: 'bob' }, 'signal', at).desk;
    const table: [string, DecisionDesk, 'emergency' | 'rollback' | 'failForward', unknown, string | null][] =
      [
        ['awaited, anyone may', open, 'emergency', { by: 'bob', reason: 'down' }, null],
        ['awaited, allowed by name', open, 'rollback', { by: 'Alice' }, null],
        ['awaited, not allowed', open, 'rollback', { by: 'mallory' }, 'mallory may not decide rollback'],
        [
          'nothing awaited yet',
          watching,
          'emergency',
          { by: 'bob' },
          'no decision is awaited: production is being watched',
        ],
        ['already decided', taken, 'emergency', { by: 'bob' }, 'already decided: failForward by bob'],
        ['no by', open, 'emergency', {}, 'say who decides'],
        ['no payload', open, 'emergency', undefined, 'say who decides'],
      ];
    for (const [name, desk, decision, payload, why] of table) {
      const step = signalled(desk, deciders, decision, payload, at);
      if (why === null) {
        assert.ok(step.accepted, name);
        assert.equal(step.accepted.decision, decision, name);
        assert.equal(step.accepted.via, 'signal', name);
        assert.equal(step.desk.awaiting, false, name);
        assert.deepEqual(step.desk.decisions, [step.accepted], name);
        assert.equal(step.desk.notAwaitedBecause, `${decision} was decided by ${step.accepted.by}`, name);
      } else {
        assert.ok(step.rejected, name);
        assert.ok(step.rejected.why.startsWith(why), `${name}: ${step.rejected.why}`);
        assert.equal(step.rejected.decision, decision, name);
        assert.equal(step.rejected.at, at, name);
        assert.deepEqual(step.desk.decisions, desk.decisions, name);
        assert.equal(step.desk.rejected.length, desk.rejected.length + 1, name);
      }
    }
  });

  it('an accepted decision is trimmed: by, and a reason only when it says something', () => {
    const table: [unknown, { by: string; reason?: string }][] = [
      [
        { by: ' bob ', reason: '  checkout down ' },
        { by: 'bob', reason: 'checkout down' },
      ],
      [{ by: 'bob', reason: '   ' }, { by: 'bob' }],
      [{ by: 'bob', reason: 42 }, { by: 'bob' }],
    ];
    for (const [payload, expected] of table) {
      const step = signalled(open, undefined, 'emergency', payload, at);
      assert.deepEqual(step.accepted, { decision: 'emergency', ...expected, at, via: 'signal' });
    }
  });

  it('the update asks the same rules first, then records through its own door', () => {
    assert.equal(refusal(open, deciders, { decision: 'rollback', by: 'alice' }), null);
    assert.match(
      refusal(open, deciders, { decision: 'roll-back', by: 'alice' }) ?? '',
      /did you mean rollback/,
    );
    assert.match(
      refusal(watching, deciders, { decision: 'rollback', by: 'alice' }) ?? '',
      /no decision is awaited/,
    );
    const step = accept(open, 'rollback', { by: 'alice', reason: 'why not' }, 'update', at);
    assert.equal(step.accepted?.via, 'update');
    assert.equal(takenDecision(step.desk), step.accepted);
  });

  it('a stray signal is listed with what it should have been', () => {
    const table: [string, DecisionDesk, RegExp][] = [
      ['fail-forward', open, /unknown decision "fail-forward".*did you mean failForward/],
      ['reboot', open, /unknown decision "reboot"/],
      ['rollback', open, /^internal: no handler$/],
    ];
    for (const [name, desk, why] of table) {
      const step = strayed(desk, deciders, name, { by: 'bob', reason: 'oops' }, at);
      assert.ok(step.rejected, name);
      assert.match(step.rejected.why, why, name);
      assert.deepEqual(
        {
          decision: step.rejected.decision,
          by: step.rejected.by,
          reason: step.rejected.reason,
          via: step.rejected.via,
        },
        { decision: name, by: 'bob', reason: 'oops', via: 'signal' },
      );
    }
    assert.equal(strayed(open, deciders, 'reboot', 'not an object', at).rejected?.by, '');
  });

  it('keeps the newest refusals only', () => {
    let desk = watching;
    for (let i = 0; i < MAX_REJECTED + 5; i++)
      desk = signalled(desk, undefined, 'rollback', { by: `p${i}` }, at).desk;
    assert.equal(desk.rejected.length, MAX_REJECTED);
    assert.equal(desk.rejected[0]?.by, 'p5');
    assert.equal(desk.rejected.at(-1)?.by, `p${MAX_REJECTED + 4}`);
  });

  it('awaiting and its reason move with the release, without touching what was decided', () => {
    const healthy = explainWait(watching, 'production was healthy');
    assert.equal(healthy.awaiting, false);
    assert.match(
      signalled(healthy, undefined, 'rollback', { by: 'bob' }, at).rejected?.why ?? '',
      /production was healthy/,
    );
    const failed = stopAwaiting(open);
    assert.equal(failed.awaiting, false);
    assert.equal(failed.notAwaitedBecause, open.notAwaitedBecause);
    assert.ok(signalled(failed, undefined, 'rollback', { by: 'bob' }, at).rejected);
    assert.equal(watching.awaiting, false, 'steps never change the desk they are given');
    assert.equal(open.awaiting, true);
  });
});
