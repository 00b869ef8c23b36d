/**
 * The receiver under a burst: group commits of the outbox and the ledger, a start that does not
 * answer in time, and deliveries that go straight to the outbox while enough starts wait on
 * Temporal (docs/webhooks.md).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { ReleaseLedger } from '../../src/adapters/local/release-ledger';
import { GroupCommit } from '../../src/common/group-commit';
import { startHttpServer } from '../../src/http/server';
import { Outbox } from '../../src/http/webhooks/outbox';
import { startOutboxDrainer } from '../../src/http/webhooks/outbox-drainer';
import { temporalStarter, type PipelineStarter } from '../../src/http/webhooks/bounded-starts';
import { isTemporalUnavailable, TemporalUnavailable } from '../../src/starter';
import type { StartRequest } from '../../src/http/webhooks/route-event';
import { webhookRoutes } from '../../src/http/webhooks/webhook-routes';
import { waitFor } from '../helpers/ports';
import { capturingLogger, deliver, SECRET, sha } from '../helpers/webhooks';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-burst-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const mainCommit = (repository: string, n: number): StartRequest => ({
  stage: 'main-commit',
  workflowId: `main-commit:${repository}:${sha(n)}`,
  input: { repository, commit: sha(n) },
});

describe('group commit', () => {
  it('writes what arrives together in one commit, and each caller gets its own result', async () => {
    const commits: number[][] = [];
    const writes = new GroupCommit<number, number>((items) => {
      commits.push(items);
      return items.map((n) => n * 10);
    });
    const results = await Promise.all([1, 2, 3].map((n) => writes.add(n)));
    assert.deepEqual(results, [10, 20, 30]);
    assert.deepEqual(commits, [[1, 2, 3]]);
    assert.deepEqual(writes.pending(), []);
  });

  it('a failed commit fails every write of its batch, and the next batch is tried afresh', async () => {
    let fail = true;
    const writes = new GroupCommit<string, string>((items) => {
      if (fail) throw new Error('disk full');
      return items;
    });
    const failed = await Promise.allSettled([writes.add('a'), writes.add('b')]);
    assert.deepEqual(
      failed.map((r) => r.status === 'rejected' && (r.reason as Error).message),
      ['disk full', 'disk full'],
    );
    fail = false;
    assert.equal(await writes.add('c'), 'c');
  });

  it('flush writes at once what waits', async () => {
    const commits: string[][] = [];
    const writes = new GroupCommit<string, void>((items) => {
      commits.push(items);
      return items.map(() => undefined);
    });
    const written = writes.add('x');
    assert.equal(writes.pending().length, 1);
    writes.flush();
    assert.deepEqual(commits, [['x']]);
    await written;
  });
});

describe('outbox under a burst', () => {
  it('durable enqueues count as waiting before their commit, and the count holds across a reopen', async () => {
    const file = path.join(tmp(), 'webhook-outbox.sqlite');
    const outbox = Outbox.open(file);
    const queued = [1, 2, 3].map((n) =>
      outbox.enqueueDurably({
        request: mainCommit('a/one', n),
        repository: 'a/one',
        delivery: `d-${n}`,
        event: 'push',
      }),
    );
    // Not on disk yet, but a later delivery of a/one must already queue behind these.
    assert.equal(outbox.size(), 0);
    assert.equal(outbox.waitingFor('a/one'), 3);
    assert.equal(outbox.waitingFor('b/two'), 0);
    assert.deepEqual(
      (await Promise.all(queued)).map((q) => q.added),
      [true, true, true],
    );
    assert.equal(outbox.size(), 3);
    const again = await outbox.enqueueDurably({
      request: mainCommit('a/one', 1),
      repository: 'a/one',
      delivery: 'd-1-again',
      event: 'push',
    });
    assert.equal(again.added, false, 'the same workflow id waits once');
    assert.equal(outbox.waitingFor('a/one'), 3);
    outbox.removeAll([mainCommit('a/one', 1).workflowId, mainCommit('a/one', 2).workflowId, 'unknown']);
    assert.equal(outbox.waitingFor('a/one'), 1);
    outbox.close();

    const reopened = Outbox.open(file);
    try {
      assert.equal(reopened.waitingFor('a/one'), 1);
      assert.deepEqual(
        reopened.page('a/one', 0, 10).map((e) => e.workflowId),
        [mainCommit('a/one', 3).workflowId],
      );
      assert.ok(reopened.nextDueAt() !== undefined);
    } finally {
      reopened.close();
    }
  });

  it('close writes the enqueues still waiting for their commit', async () => {
    const file = path.join(tmp(), 'webhook-outbox.sqlite');
    const outbox = Outbox.open(file);
    const queued = outbox.enqueueDurably({
      request: mainCommit('a/one', 7),
      repository: 'a/one',
      delivery: 'd-7',
      event: 'push',
    });
    outbox.close();
    assert.deepEqual(await queued, { added: true });
    const reopened = Outbox.open(file);
    try {
      assert.deepEqual(
        reopened.list().map((e) => e.workflowId),
        [mainCommit('a/one', 7).workflowId],
      );
    } finally {
      reopened.close();
    }
  });
});

describe('release ledger deliveries', () => {
  it('a delivery is seen at once, and written by the next group commit or at close', () => {
    const file = path.join(tmp(), 'releases.sqlite');
    const ledger = ReleaseLedger.open(file);
    const seen = { delivery: 'd-1', event: 'push', repository: 'a/one', workflowId: null };
    ledger.recordDelivery({ ...seen, decision: 'queued' });
    ledger.recordDelivery({ ...seen, decision: 'started' });
    assert.equal(ledger.delivery('d-1')?.decision, 'started');
    const firstSeen = ledger.delivery('d-1')?.seenAt;
    ledger.close();
    const reopened = ReleaseLedger.open(file);
    try {
      assert.equal(reopened.delivery('d-1')?.decision, 'started');
      assert.equal(reopened.delivery('d-1')?.seenAt, firstSeen);
      assert.equal(reopened.delivery('d-2'), null);
    } finally {
      reopened.close();
    }
  });
});

/** A client whose starts settle only when the test says so (tests using it have a timeout: a broken deadline would hang them). */
function hangingClient() {
  const releases: (() => void)[] = [];
  const client = {
    connection: { withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn() },
    workflow: {
      start: () =>
        new Promise<void>((resolve) => {
          releases.push(resolve);
        }),
    },
  } as unknown as Client;
  return { client, settleAll: () => releases.splice(0).forEach((r) => r()) };
}

describe('a start that does not answer in time', () => {
  it(
    'counts as unavailable at its deadline; idle() still waits for the abandoned call',
    { timeout: 10_000 },
    async () => {
      const { client, settleAll } = hangingClient();
      const starter = temporalStarter(() => client, { taskQueue: 'q', timeoutMs: 30 });
      const begun = performance.now();
      await assert.rejects(starter.start(mainCommit('a/one', 1)), (err: unknown) => {
        assert.ok(err instanceof TemporalUnavailable);
        assert.match(err.message, /did not answer the start within 30 ms/);
        return true;
      });
      assert.ok(performance.now() - begun < 2_000, 'answered at the deadline, not at the call');
      assert.equal(starter.inFlight?.(), 1);
      let idle = false;
      const idling = starter.idle!().then(() => (idle = true));
      await new Promise((r) => setImmediate(r));
      assert.equal(idle, false, 'idle waits for the abandoned start');
      settleAll();
      await idling;
      assert.equal(starter.inFlight?.(), 0);
    },
  );

  it('a call the server cancelled (gRPC CANCELLED) is unavailable, so the delivery is queued', () => {
    const cancelled = Object.assign(new Error('1 CANCELLED: Call cancelled'), {
      code: 1,
      details: 'Call cancelled',
      metadata: {},
    });
    assert.equal(isTemporalUnavailable(new Error('Failed to start Workflow', { cause: cancelled })), true);
  });
});

describe('deliveries while starts wait on Temporal', () => {
  it(
    'past webhookStartsInFlight a delivery goes straight to the outbox; the waiting starts still answer',
    { timeout: 10_000 },
    async () => {
      const repositories = ['a/one', 'b/two', 'c/three'].map((name) => ({
        name,
        defaultBranch: 'main',
        releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$',
      }));
      const waiting: (() => void)[] = [];
      const started: string[] = [];
      const starter: PipelineStarter = {
        start: (request) =>
          new Promise((resolve) => {
            waiting.push(() => {
              started.push(request.workflowId);
              resolve({ workflowId: request.workflowId, started: true });
            });
          }),
        inFlight: () => waiting.length,
      };
      const outbox = Outbox.open(path.join(tmp(), 'webhook-outbox.sqlite'));
      const http = await startHttpServer({
        host: '127.0.0.1',
        port: 0,
        routes: webhookRoutes({
          secret: SECRET,
          repositories,
          starter,
          outbox,
          logger: capturingLogger().logger,
          maxStartsInFlight: 2,
        }),
      });
      const push = (repository: string, n: number) =>
        JSON.stringify({ ref: 'refs/heads/main', after: sha(n), repository: { full_name: repository } });
      try {
        // a/one's push asks for two starts (its pipeline and the PR re-check): both wait on Temporal.
        const first = deliver(http.url, { event: 'push', body: push('a/one', 1) });
        while (waiting.length < 2) await new Promise((r) => setTimeout(r, 5));
        const second = await deliver(http.url, { event: 'push', body: push('b/two', 2) });
        assert.equal(second.status, 202, JSON.stringify(second.body));
        assert.equal(second.body.decision, 'queued');
        assert.match(String(second.body.reason), /2 starts already wait on Temporal/);
        assert.deepEqual(
          outbox.list().map((e) => e.workflowId),
          [`main-commit:b/two:${sha(2)}`, `pr-recheck:b/two:${sha(2)}`],
        );
        waiting.splice(0).forEach((release) => release());
        const answered = await first;
        assert.equal(answered.status, 201);
        assert.deepEqual(started.sort(), [`main-commit:a/one:${sha(1)}`, `pr-recheck:a/one:${sha(1)}`]);
      } finally {
        await http.close();
        outbox.close();
      }
    },
  );
});

describe('the outbox drainer', () => {
  const entry = (repository: string, n: number) => ({
    request: mainCommit(repository, n),
    repository,
    delivery: `${repository}-${n}`,
    event: 'push',
  });

  it('drains repositories side by side: a burst of one does not hold up the next push of another', async () => {
    const outbox = Outbox.open(path.join(tmp(), 'webhook-outbox.sqlite'));
    for (let n = 1; n <= 30; n++) outbox.enqueue(entry('a/burst', n));
    outbox.enqueue(entry('b/quiet', 99));
    const started: string[] = [];
    const drainer = startOutboxDrainer({
      outbox,
      logger: capturingLogger().logger,
      starter: {
        async start(request) {
          await new Promise((r) => setImmediate(r));
          started.push(request.workflowId);
          return { workflowId: request.workflowId, started: true };
        },
      },
    });
    try {
      await waitFor(() => outbox.size() === 0, 5_000, 5);
      const burst = started.filter((id) => id.includes('a/burst'));
      assert.deepEqual(
        burst,
        Array.from({ length: 30 }, (_, i) => mainCommit('a/burst', i + 1).workflowId),
        'one repository in delivery order',
      );
      assert.ok(
        started.indexOf(mainCommit('b/quiet', 99).workflowId) < 3,
        `b/quiet started early: ${started.join(' ')}`,
      );
    } finally {
      await drainer.stop();
      outbox.close();
    }
  });

  it('a start waiting out its backoff does not spin the drainer over the starts behind it', async () => {
    const outbox = Outbox.open(path.join(tmp(), 'webhook-outbox.sqlite'));
    outbox.enqueue(entry('a/bad', 1));
    outbox.enqueue(entry('a/bad', 2));
    let reads = 0;
    const counted = new Proxy(outbox, {
      get(target, prop, receiver) {
        if (prop === 'page') reads++;
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    let calls = 0;
    const drainer = startOutboxDrainer({
      outbox: counted,
      logger: capturingLogger().logger,
      minDelayMs: 60_000,
      starter: {
        start() {
          calls++;
          return Promise.reject(new Error('search attribute not registered'));
        },
      },
    });
    try {
      await waitFor(() => calls === 1, 2_000, 5);
      const readsAfterFailure = reads;
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(calls, 1, 'the failed start waits for its backoff');
      assert.ok(
        reads - readsAfterFailure <= 2,
        `the drainer read the outbox ${reads - readsAfterFailure} times while nothing was due`,
      );
    } finally {
      await drainer.stop();
      outbox.close();
    }
  });
});
