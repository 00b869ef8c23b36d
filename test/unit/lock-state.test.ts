import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  enqueue,
  expireLease,
  forceAcquire,
  forceRelease,
  grantNext,
  initialLockState,
  LOG_LIMIT,
  nextInLine,
  release,
  renew,
  setMode,
  skipClosed,
  withdraw,
  type LockPriority,
  type LockRequest,
  type LockState,
  type Step,
} from '../../src/domain/lock-state';

const T0 = 1_000_000;

function req(id: string, priority: LockPriority = 'normal', extra: Partial<LockRequest> = {}): LockRequest {
  return {
    requestId: `r-${id}`,
    requester: { workflowId: id, runId: `run-${id}` },
    purpose: `work of ${id}`,
    priority,
    leaseMs: 1_000,
    ...extra,
  };
}

/** Enqueue every request then grant/release until the queue drains; returns grant order. */
function drain(state: LockState, now = T0): string[] {
  const order: string[] = [];
  let s = state;
  for (;;) {
    s = grantNext(s, now).state;
    if (!s.holder) return order;
    order.push(s.holder.requester.workflowId);
    s = release(s, { workflowId: s.holder.requester.workflowId, token: s.holder.token }, now).state;
  }
}

function queueOf(...requests: LockRequest[]): LockState {
  return requests.reduce((s, r) => enqueue(s, r, T0).state, initialLockState('staging', T0));
}

describe('lock state: grant order', () => {
  const cases: { name: string; requests: LockRequest[]; mode?: 'normal' | 'hotfixOnly'; order: string[] }[] =
    [
      { name: 'arrival order', requests: [req('a'), req('b'), req('c')], order: ['a', 'b', 'c'] },
      {
        name: 'hotfix ahead of every normal request',
        requests: [req('a'), req('b'), req('h', 'hotfix'), req('c')],
        order: ['h', 'a', 'b', 'c'],
      },
      {
        name: 'hotfixes among themselves in arrival order',
        requests: [req('a'), req('h1', 'hotfix'), req('h2', 'hotfix')],
        order: ['h1', 'h2', 'a'],
      },
      {
        name: 'hotfix-only mode grants hotfixes only; normal requests keep waiting',
        requests: [req('a'), req('h', 'hotfix'), req('b')],
        mode: 'hotfixOnly',
        order: ['h'],
      },
      {
        name: 'a duplicate request makes no second entry',
        requests: [req('a'), req('b'), req('a')],
        order: ['a', 'b'],
      },
    ];
  for (const c of cases) {
    it(c.name, () => {
      let s = queueOf(...c.requests);
      if (c.mode) s = setMode(s, { mode: c.mode, by: 'ops', reason: 'incident' }, T0).state;
      assert.deepEqual(drain(s), c.order);
    });
  }

  it('staging stays hotfix-only while any incident holds it: one healthy hotfix does not end it for another', () => {
    let s = queueOf(req('waiting-release'));
    s = setMode(
      s,
      { mode: 'hotfixOnly', by: 'ana', reason: 'HOT-1', incident: { id: 'HOT-1', repository: 'acme/shop' } },
      T0,
    ).state;
    s = setMode(
      s,
      { mode: 'hotfixOnly', by: 'bo', reason: 'HOT-2', incident: { id: 'HOT-2', repository: 'acme/cart' } },
      T0 + 1,
    ).state;
    assert.deepEqual(
      s.incidents?.map((h) => h.id),
      ['HOT-1', 'HOT-2'],
    );
    assert.equal(s.mode.since, T0, 'the second incident keeps the mode as it was switched');
    s = setMode(
      s,
      {
        mode: 'normal',
        by: 'wf',
        reason: 'HOT-1 healthy',
        incident: { id: 'HOT-1', repository: 'acme/shop' },
      },
      T0 + 2,
    ).state;
    assert.equal(s.mode.mode, 'hotfixOnly', 'HOT-2 still holds staging');
    assert.deepEqual(
      s.incidents?.map((h) => h.id),
      ['HOT-2'],
    );
    assert.equal(grantNext(s, T0 + 2).state.holder, null, 'the normal release keeps waiting');
    assert.match(s.log.at(-1)!.detail, /still hotfix-only for HOT-2 \(acme\/cart\)/);
    s = setMode(
      s,
      {
        mode: 'normal',
        by: 'wf',
        reason: 'HOT-2 healthy',
        incident: { id: 'HOT-2', repository: 'acme/cart' },
      },
      T0 + 3,
    ).state;
    assert.equal(s.mode.mode, 'normal');
    assert.deepEqual(s.incidents, []);
    assert.deepEqual(drain(s), ['waiting-release']);
  });

  it('an operator switching to normal ends every incident hold; a lock carried from before counts none', () => {
    let s = setMode(
      initialLockState('staging', T0),
      { mode: 'hotfixOnly', by: 'ana', reason: 'HOT-1', incident: { id: 'HOT-1', repository: 'acme/shop' } },
      T0,
    ).state;
    s = setMode(s, { mode: 'normal', by: 'ops', reason: 'fixed by hand' }, T0 + 1).state;
    assert.equal(s.mode.mode, 'normal');
    assert.deepEqual(s.incidents, []);
    assert.match(s.log.at(-1)!.detail, /ended the hold of HOT-1/);
    // State carried across continue-as-new by an older run has no incidents field.
    const { incidents: _none, ...carried } = setMode(
      initialLockState('staging', T0),
      { mode: 'hotfixOnly', by: 'ana', reason: 'HOT-7' },
      T0,
    ).state;
    const ended = setMode(
      carried,
      {
        mode: 'normal',
        by: 'wf',
        reason: 'HOT-7 healthy',
        incident: { id: 'HOT-7', repository: 'acme/shop' },
      },
      T0 + 1,
    ).state;
    assert.equal(ended.mode.mode, 'normal', 'an incident the lock never counted ends hotfix-only as before');
  });

  it('hotfix-only mode keeps normal requests queued, and they are granted once it is off', () => {
    let s = setMode(
      queueOf(req('a'), req('b')),
      { mode: 'hotfixOnly', by: 'ops', reason: 'HOT-1' },
      T0,
    ).state;
    assert.equal(grantNext(s, T0).state.holder, null);
    assert.equal(s.queue.length, 2);
    s = setMode(s, { mode: 'normal', by: 'ops', reason: 'HOT-1 healthy' }, T0).state;
    assert.deepEqual(drain(s), ['a', 'b']);
    assert.deepEqual(
      s.mode,
      { mode: 'normal', by: 'ops', reason: 'HOT-1 healthy', since: T0 },
      'who and why are recorded',
    );
  });

  it('nextInLine is undefined on an empty queue', () => {
    assert.equal(nextInLine(initialLockState('x', T0)), undefined);
  });
});

describe('lock state: tokens and holders', () => {
  it('every grant carries a token one higher than the last', () => {
    let s = queueOf(req('a'), req('b'), req('c'));
    const tokens: number[] = [];
    for (let i = 0; i < 3; i++) {
      const step = grantNext(s, T0);
      const grant = step.effects[0];
      assert.equal(grant?.kind, 'grant');
      tokens.push(step.state.holder!.token);
      s = release(
        step.state,
        { workflowId: step.state.holder!.requester.workflowId, token: step.state.holder!.token },
        T0,
      ).state;
    }
    assert.deepEqual(tokens, [1, 2, 3]);
    assert.equal(s.grants, 3);
    assert.equal(s.lastToken, 3);
  });

  it('a holder asking again gets its grant again with the same token, and no queue entry', () => {
    const s = grantNext(queueOf(req('a')), T0).state;
    const again = enqueue(s, { ...req('a'), requestId: 'r-a-2' }, T0 + 5);
    assert.equal(again.state.queue.length, 0);
    assert.equal(again.state.holder?.token, 1);
    assert.equal(again.state.holder?.requestId, 'r-a-2');
    assert.deepEqual(
      again.effects.map((e) => e.kind),
      ['grant'],
    );
  });

  const stale: { name: string; step: (s: LockState) => Step }[] = [
    { name: 'release with an old token', step: (s) => release(s, { workflowId: 'a', token: 0 }, T0) },
    { name: 'release from a non-holder', step: (s) => release(s, { workflowId: 'b', token: 1 }, T0) },
    { name: 'renewal with an old token', step: (s) => renew(s, { workflowId: 'a', token: 7 }, T0 + 500) },
  ];
  for (const c of stale) {
    it(`${c.name} changes nothing but the record`, () => {
      const s = grantNext(queueOf(req('a'), req('b')), T0).state;
      const after = c.step(s).state;
      assert.deepEqual(after.holder, s.holder);
      assert.deepEqual(after.queue, s.queue);
      assert.equal(after.log.at(-1)?.kind, 'ignored');
    });
  }

  it('renewal by the holder extends the lease by its length', () => {
    const s = grantNext(queueOf(req('a')), T0).state;
    assert.equal(s.holder?.leaseUntil, T0 + 1_000);
    assert.equal(renew(s, { workflowId: 'a', token: 1 }, T0 + 800).state.holder?.leaseUntil, T0 + 1_800);
  });
});

describe('lock state: forced acquisition, operator release, leases', () => {
  it('forced acquisition revokes the holder, tells it, and is granted ahead of the queue', () => {
    const s = grantNext(queueOf(req('a'), req('b')), T0).state;
    const step = forceAcquire(
      s,
      req('emergency', 'hotfix', { force: { by: 'alice', reason: 'SEV-1' } }),
      T0 + 1,
    );
    assert.equal(step.state.holder?.requester.workflowId, 'emergency');
    assert.equal(step.state.holder?.token, 2);
    assert.deepEqual(
      step.effects.map((e) => [
        e.kind,
        e.kind === 'revoke' ? e.requester.workflowId : e.holder.requester.workflowId,
      ]),
      [
        ['revoke', 'a'],
        ['grant', 'emergency'],
      ],
    );
    assert.equal(step.state.revocations, 1);
    assert.deepEqual(
      step.state.queue.map((q) => q.requester.workflowId),
      ['b'],
    );
    // The revoked holder's release changes nothing.
    assert.equal(
      release(step.state, { workflowId: 'a', token: 1 }, T0 + 2).state.holder?.requester.workflowId,
      'emergency',
    );
  });

  it('forced acquisition through enqueue works in hotfix-only mode too', () => {
    let s = setMode(initialLockState('staging', T0), { mode: 'hotfixOnly', by: 'x', reason: 'y' }, T0).state;
    s = enqueue(s, req('rollback', 'normal', { force: { by: 'bob', reason: 'rollback' } }), T0).state;
    assert.equal(s.holder?.requester.workflowId, 'rollback');
  });

  it('operator release revokes the holder and is recorded', () => {
    const s = grantNext(queueOf(req('a')), T0).state;
    const step = forceRelease(s, { by: 'carol', reason: 'stuck' }, T0 + 3);
    assert.equal(step.state.holder, null);
    assert.equal(step.effects[0]?.kind, 'revoke');
    assert.match(step.state.log.at(-1)?.detail ?? '', /carol: stuck/);
    assert.deepEqual(forceRelease(step.state, { by: 'carol', reason: 'again' }, T0).effects, []);
  });

  it('an expired lease of a running holder revokes and tells it; of a closed holder only drops it', () => {
    const s = grantNext(queueOf(req('a')), T0).state;
    assert.equal(expireLease(s, T0 + 999, true).state.holder?.token, 1, 'not before the lease ends');
    const running = expireLease(s, T0 + 1_000, true);
    assert.equal(running.state.holder, null);
    assert.equal(running.effects[0]?.kind, 'revoke');
    const closed = expireLease(s, T0 + 1_000, false);
    assert.equal(closed.state.holder, null);
    assert.deepEqual(closed.effects, []);
  });

  it('a grant to a closed requester is skipped and the next one is granted', () => {
    let s = grantNext(queueOf(req('gone'), req('b')), T0).state;
    s = skipClosed(s, 1, T0).state;
    s = grantNext(s, T0).state;
    assert.equal(s.holder?.requester.workflowId, 'b');
    assert.equal(s.holder?.token, 2);
  });

  it('withdraw removes a waiting request; a holder withdrawing releases', () => {
    let s = grantNext(queueOf(req('a'), req('b'), req('c')), T0).state;
    s = withdraw(s, { workflowId: 'b', requestId: 'r-b' }, T0).state;
    assert.deepEqual(
      s.queue.map((q) => q.requester.workflowId),
      ['c'],
    );
    s = withdraw(s, { workflowId: 'a', requestId: 'r-a' }, T0).state;
    assert.equal(s.holder, null);
  });

  it('the record stays bounded', () => {
    let s = initialLockState('x', T0);
    for (let i = 0; i < LOG_LIMIT * 3; i++) s = release(s, { workflowId: 'n', token: i }, T0).state;
    assert.equal(s.log.length, LOG_LIMIT);
  });

  it('state survives a JSON round trip unchanged (it crosses continue-as-new)', () => {
    const s = grantNext(queueOf(req('a'), req('h', 'hotfix')), T0).state;
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  });

  it('a forced request never revokes a hotfix holder: it waits first in line, in any mode, and names whom it revoked otherwise', () => {
    let s = grantNext(queueOf(req('hot', 'hotfix'), req('n')), T0).state;
    s = { ...s, mode: { ...s.mode, mode: 'hotfixOnly' } };
    const forced = forceAcquire(
      s,
      req('rollback', 'normal', { force: { by: 'ana', reason: 'rollback' } }),
      T0 + 1,
    );
    assert.equal(forced.state.holder?.requester.workflowId, 'hot', 'the hotfix holder keeps the lock');
    assert.deepEqual(forced.effects, []);
    const released = release(forced.state, { workflowId: 'hot', token: 1 }, T0 + 2).state;
    const next = grantNext(released, T0 + 3);
    assert.equal(next.state.holder?.requester.workflowId, 'rollback', 'granted ahead of normal requests');
    const revoking = forceAcquire(
      grantNext(queueOf(req('b', 'normal', { subject: { repository: 'acme/b', version: 'v2.1.0' } })), T0)
        .state,
      req('e', 'hotfix', { force: { by: 'ana', reason: 'SEV-1', decision: 'emergency' } }),
      T0 + 1,
    );
    const grant = revoking.effects.find((e) => e.kind === 'grant');
    assert.deepEqual(grant?.kind === 'grant' ? grant.revoked : undefined, {
      workflowId: 'b',
      purpose: 'work of b',
      token: 1,
      subject: { repository: 'acme/b', version: 'v2.1.0' },
    });
    const revoke = revoking.effects.find((e) => e.kind === 'revoke');
    assert.equal(revoke?.kind === 'revoke' ? revoke.force?.decision : undefined, 'emergency');
  });
});
