/**
 * Nothing a delivery asks for is lost: a 2xx answer means each of its starts is started or on
 * disk in the outbox, whatever order a busy machine settles things in (README "Webhooks").
 * Each test forces one racy path deterministically.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { startHttpServer } from '../../src/http/server';
import { Outbox } from '../../src/http/webhooks/outbox';
import { startOutboxDrainer } from '../../src/http/webhooks/outbox-drainer';
import { temporalStarter, type PipelineStarter } from '../../src/http/webhooks/bounded-starts';
import type { StartRequest } from '../../src/http/webhooks/route-event';
import { webhookRoutes } from '../../src/http/webhooks/webhook-routes';
import { waitFor } from '../helpers/ports';
import { capturingLogger, deliver, fakeStarter, SECRET, sha } from '../helpers/webhooks';

const dirs: string[] = [];
const tmpOutbox = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-no-loss-'));
  dirs.push(d);
  return Outbox.open(path.join(d, 'webhook-outbox.sqlite'));
};
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const repositories = [{ name: 'a/one', defaultBranch: 'main', releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$' }];
const push = (n: number) =>
  JSON.stringify({ ref: 'refs/heads/main', after: sha(n), repository: { full_name: 'a/one' } });
const pipelineId = (n: number) => `main-commit:a/one:${sha(n)}`;
const recheckId = (n: number) => `pr-recheck:a/one:${sha(n)}`;

async function receiver(starter: PipelineStarter, outbox: Outbox) {
  const log = capturingLogger();
  const http = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    routes: webhookRoutes({ secret: SECRET, repositories, starter, outbox, logger: log.logger }),
  });
  return { http, log };
}

describe('a delivery is answered 2xx only when every start it asks for is kept', () => {
  it('a push whose PR re-check can be neither started nor queued is not answered 201', async () => {
    // The pipeline starts; the re-check fails with an error that is not Temporal being away
    // (so it is not queued): before, the answer was 201 and the re-check was only logged.
    const starter: PipelineStarter = {
      start(request: StartRequest) {
        if (request.stage === 'pr-recheck')
          return Promise.reject(
            new Error('3 INVALID_ARGUMENT: search attribute ReleaseStage is not defined'),
          );
        return Promise.resolve({ workflowId: request.workflowId, started: true });
      },
    };
    const outbox = tmpOutbox();
    const { http } = await receiver(starter, outbox);
    try {
      const answered = await deliver(http.url, { event: 'push', body: push(1) });
      assert.equal(answered.status, 500, JSON.stringify(answered.body));
      assert.equal(answered.body.decision, 'rejected');
      assert.match(String(answered.body.reason), new RegExp(`${recheckId(1)}: could not start or queue`));
      assert.match(String(answered.body.reason), new RegExp(`${pipelineId(1)}: workflow started`));
    } finally {
      await http.close();
      outbox.close();
    }
  });

  it('a push whose re-check cannot be written to the outbox is not answered 202', async () => {
    const starter = fakeStarter();
    starter.down = true;
    const outbox = tmpOutbox();
    const enqueue = outbox.enqueueDurably.bind(outbox);
    outbox.enqueueDurably = (input, now) =>
      input.request.stage === 'pr-recheck'
        ? Promise.reject(new Error('SQLITE_FULL: database or disk is full'))
        : enqueue(input, now);
    const { http } = await receiver(starter, outbox);
    try {
      const answered = await deliver(http.url, { event: 'push', body: push(2) });
      assert.equal(answered.status, 500, JSON.stringify(answered.body));
      assert.match(String(answered.body.reason), /SQLITE_FULL/);
    } finally {
      await http.close();
      outbox.close();
    }
  });
});

describe('a start that settles after its deadline', () => {
  it(
    'fails later: the delivery was queued at the deadline and the drainer starts both runs once',
    { timeout: 10_000 },
    async () => {
      // The direct starts answer only after their deadline, and then with a failure.
      const abandoned: (() => void)[] = [];
      const client = {
        connection: { withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn() },
        workflow: {
          start: () =>
            new Promise<void>((_, reject) => {
              abandoned.push(() =>
                reject(
                  Object.assign(new Error('14 UNAVAILABLE: shard closed'), {
                    code: 14,
                    details: 'shard closed',
                    metadata: {},
                  }),
                ),
              );
            }),
        },
      } as unknown as Client;
      const direct = temporalStarter(() => client, { taskQueue: 'q', timeoutMs: 20 });
      const outbox = tmpOutbox();
      const { http } = await receiver(direct, outbox);
      const drained = fakeStarter();
      try {
        const answered = await deliver(http.url, { event: 'push', body: push(3) });
        assert.equal(answered.status, 202, JSON.stringify(answered.body));
        assert.deepEqual(
          outbox
            .list()
            .map((e) => e.workflowId)
            .sort(),
          [pipelineId(3), recheckId(3)].sort(),
        );
        abandoned.splice(0).forEach((fail) => fail());
        await direct.idle!();
        const drainer = startOutboxDrainer({ outbox, starter: drained, logger: capturingLogger().logger });
        try {
          await waitFor(() => outbox.size() === 0, 5_000, 5);
        } finally {
          await drainer.stop();
        }
        assert.deepEqual(
          drained.starts.map((r) => r.workflowId).sort(),
          [pipelineId(3), recheckId(3)].sort(),
        );
      } finally {
        await http.close();
        outbox.close();
      }
    },
  );
});

describe('a drainer pass while deliveries are queued', () => {
  it(
    'starts every start queued during the pass once, in delivery order, and deletes none unstarted',
    { timeout: 20_000 },
    async () => {
      const outbox = tmpOutbox();
      const entry = (n: number) => ({
        request: {
          stage: 'main-commit' as const,
          workflowId: pipelineId(n),
          input: { repository: 'a/one', commit: sha(n) },
        },
        repository: 'a/one',
        delivery: `d-${n}`,
        event: 'push',
      });
      for (let n = 1; n <= 3; n++) outbox.enqueue(entry(n));
      const TOTAL = 450; // more than two of the drainer's pages
      let queued = 3;
      const started: string[] = [];
      let notify = () => {};
      const starter: PipelineStarter = {
        async start(request) {
          // Each start lets the receiver queue two more deliveries (one group commit) before it answers.
          const more = [];
          while (more.length < 2 && queued < TOTAL) more.push(outbox.enqueueDurably(entry(++queued)));
          await Promise.all(more);
          notify();
          started.push(request.workflowId);
          return { workflowId: request.workflowId, started: true };
        },
      };
      const drainer = startOutboxDrainer({ outbox, starter, logger: capturingLogger().logger });
      notify = () => drainer.notify();
      try {
        await waitFor(() => started.length === TOTAL && outbox.size() === 0, 15_000, 5);
        assert.deepEqual(
          started,
          Array.from({ length: TOTAL }, (_, i) => pipelineId(i + 1)),
        );
        assert.equal(outbox.waitingFor('a/one'), 0);
      } finally {
        await drainer.stop();
        outbox.close();
      }
    },
  );
});
