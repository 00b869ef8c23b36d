import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decisionRejection,
  describeDeciders,
  mayDecide,
  type Deciders,
} from '../../src/domain/production-decisions';

const deciders: Deciders = {
  emergency: ['alice', 'team:sre'],
  rollback: ['*'],
  failForward: [],
  teams: { sre: ['bob', 'Carol'] },
};
const awaiting = { awaiting: true, notAwaitedBecause: '' };

describe('production decisions', () => {
  it('who may decide: names without case, team members, anyone', () => {
    const table: [Deciders | undefined, 'emergency' | 'rollback' | 'failForward', string, boolean][] = [
      [deciders, 'emergency', 'alice', true],
      [deciders, 'emergency', 'ALICE ', true],
      [deciders, 'emergency', 'carol', true],
      [deciders, 'emergency', 'mallory', false],
      [deciders, 'rollback', 'mallory', true],
      [deciders, 'failForward', 'mallory', true],
      [undefined, 'emergency', 'mallory', true],
      [{ emergency: ['team:ghost'] }, 'emergency', 'alice', false],
    ];
    for (const [d, decision, by, expected] of table) {
      assert.equal(mayDecide(d, decision, by), expected, `${decision} by ${by}`);
    }
    assert.equal(describeDeciders(deciders, 'emergency'), 'alice, team:sre (bob, Carol)');
    assert.equal(describeDeciders(deciders, 'rollback'), 'anyone');
  });

  it('rejections in order: unknown, no by, already decided, not awaited, not allowed', () => {
    const taken = {
      decision: 'rollback' as const,
      by: 'bob',
      at: '2026-01-01T00:00:00.000Z',
      via: 'signal' as const,
    };
    const table: [Parameters<typeof decisionRejection>[0], unknown, unknown, RegExp | null][] = [
      [awaiting, 'fail-forward', 'bob', /^unknown decision "fail-forward".*did you mean failForward\?\)$/],
      [awaiting, undefined, 'bob', /^unknown decision undefined/],
      [awaiting, 'rollback', '  ', /"by" must be a non-empty name/],
      [
        { ...awaiting, awaiting: false, taken },
        'emergency',
        'alice',
        /^already decided: rollback by bob at 2026/,
      ],
      [
        { awaiting: false, notAwaitedBecause: 'production is healthy' },
        'rollback',
        'bob',
        /^no decision is awaited: production is healthy$/,
      ],
      [awaiting, 'emergency', 'mallory', /^mallory may not decide emergency: allowed are alice, team:sre/],
      [awaiting, 'emergency', 'bob', null],
    ];
    for (const [context, decision, by, expected] of table) {
      const why = decisionRejection(context, deciders, { decision, by });
      if (expected === null) assert.equal(why, null);
      else assert.match(why ?? '', expected);
    }
  });
});
