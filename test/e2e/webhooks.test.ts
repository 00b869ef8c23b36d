/**
 * The receiver against a real Temporal dev server: redelivery never starts a second run, and
 * the outbox keeps deliveries through a receiver restart while Temporal is down, then starts
 * them when Temporal comes back. No worker: a started run that nobody executes is enough to
 * count runs.
 */
import '../helpers/runtime';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { type TestWorkflowEnvironment } from '@temporalio/testing';
import { startHttpServer } from '../../src/http/server';
import { openWebhookReceiver } from '../../src/http/webhooks/webhook-receiver';
import { waitFor } from '../helpers/ports';
import { tcpForwarder } from '../helpers/tcp-forwarder';
import { devServerEnv, unique } from '../helpers/temporal-env';
import { capturingLogger, deliver, SECRET, sha } from '../helpers/webhooks';

const REPO = { name: 'acme/shop', defaultBranch: 'main', releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$' };
const push = (after: string) =>
  JSON.stringify({ ref: 'refs/heads/main', after, repository: { full_name: 'acme/shop' } });
const tagPush = (tag: string, commit: string) =>
  JSON.stringify({
    ref: `refs/tags/${tag}`,
    after: sha(999),
    head_commit: { id: commit },
    repository: { full_name: 'acme/shop' },
  });

async function runsOf(client: Client, workflowId: string): Promise<number> {
  let n = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) n++;
  return n;
}

// A start answers within a second on an idle machine; on a busy one it may take longer, and a
// delivery would then be queued instead of started. Tests of a live server allow that time.
async function receiverOn(stateDir: string, client: Client, taskQueue: string, startTimeoutMs = 10_000) {
  const receiver = openWebhookReceiver({
    stateDir,
    repositories: [REPO],
    secret: SECRET,
    client: () => client,
    taskQueue,
    logger: capturingLogger().logger,
    startTimeoutMs,
    retryMinDelayMs: 100,
    retryMaxDelayMs: 500,
  });
  const http = await startHttpServer({ host: '127.0.0.1', port: 0, routes: receiver.routes });
  return {
    url: http.url,
    receiver,
    stop: async () => {
      await http.close();
      await receiver.close();
    },
  };
}

describe('webhooks on a dev server', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-webhooks-'));
    dirs.push(d);
    return d;
  };
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  describe('redelivery', () => {
    let env: TestWorkflowEnvironment;
    before(async () => (env = await devServerEnv()));
    after(() => env?.teardown());

    it('five deliveries of one push, at once, give one run and the same workflow id', async () => {
      const r = await receiverOn(tmp(), env.client, unique('webhooks'));
      try {
        const body = push(sha(0xabc));
        const delivery = randomUUID();
        const answers = await Promise.all(
          Array.from({ length: 5 }, () => deliver(r.url, { event: 'push', body, delivery })),
        );
        const workflowId = `main-commit:acme/shop:${sha(0xabc)}`;
        // Ten starts at once (each push also re-checks PRs) pass webhookStartsInFlight (8): the
        // last ones wait in the outbox, whose start then finds the run already there.
        const decisions = answers.map((a) => a.body.decision).sort();
        assert.equal(decisions.filter((d) => d === 'started').length, 1, decisions.join());
        assert.ok(
          decisions.every((d) => ['started', 'already-started', 'queued'].includes(String(d))),
          decisions.join(),
        );
        assert.ok(answers.every((a) => a.body.workflowId === workflowId));
        await waitFor(() => r.receiver.outbox.size() === 0, 20_000);
        await waitFor(async () => (await runsOf(env.client, workflowId)) > 0, 5_000);
        assert.equal(await runsOf(env.client, workflowId), 1);
        const described = await env.client.workflow.getHandle(workflowId).describe();
        assert.equal(described.type, 'mainCommitWorkflow');
      } finally {
        await r.stop();
      }
    });

    it('a tag push starts the tag pipeline once, with the tagged commit', async () => {
      const r = await receiverOn(tmp(), env.client, unique('webhooks'));
      try {
        const first = await deliver(r.url, { event: 'push', body: tagPush('v1.4.0', sha(0x140)) });
        const again = await deliver(r.url, { event: 'push', body: tagPush('v1.4.0', sha(0x140)) });
        assert.deepEqual([first.status, again.status], [201, 200]);
        const handle = env.client.workflow.getHandle('tag:acme/shop:v1.4.0');
        const history = await handle.fetchHistory();
        const input =
          history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
        assert.deepEqual(JSON.parse(Buffer.from(input!).toString()), {
          repository: 'acme/shop',
          tag: 'v1.4.0',
          commit: sha(0x140),
        });
      } finally {
        await r.stop();
      }
    });
  });

  it('the outbox survives a receiver restart while Temporal is down and drains when it returns', async () => {
    const stateDir = tmp();
    // The receivers' address is held from the start; the server behind it comes later.
    const forwarder = await tcpForwarder();
    const taskQueue = unique('webhooks-outbox');
    const deadClient = () => new Client({ connection: Connection.lazy({ address: forwarder.address }) });
    // Everything opened here is closed whatever fails, newest first, once.
    const cleanups: (() => Promise<void>)[] = [];
    const closing = (fn: () => Promise<void>) => {
      let done: Promise<void> | undefined;
      const once = () => (done ??= fn());
      cleanups.push(once);
      return once;
    };
    cleanups.push(() => forwarder.close());
    try {
      const client1 = deadClient();
      const closeClient1 = closing(() => client1.connection.close());
      const first = await receiverOn(stateDir, client1, taskQueue, 1_000);
      const stopFirst = closing(() => first.stop());
      const t0 = Date.now();
      const queued = [
        await deliver(first.url, { event: 'push', body: push(sha(0x51)) }),
        await deliver(first.url, { event: 'push', body: tagPush('v2.0.0', sha(0x51)) }),
      ];
      const answeredIn = Date.now() - t0;
      assert.deepEqual(
        queued.map((a) => [a.status, a.body.decision]),
        [
          [202, 'queued'],
          [202, 'queued'],
        ],
        JSON.stringify(queued),
      );
      assert.ok(answeredIn < 5_000, `queued answers took ${answeredIn} ms`);
      // A restart: the first receiver and its connection go away.
      await stopFirst();
      await closeClient1();

      const client2 = deadClient();
      closing(() => client2.connection.close());
      const second = await receiverOn(stateDir, client2, taskQueue, 1_000);
      closing(() => second.stop());
      const third = await deliver(second.url, { event: 'push', body: push(sha(0x52)) });
      assert.equal(third.body.decision, 'queued');
      // Two pushes to main (each with its PR re-check) and one tag push.
      assert.equal(second.receiver.outbox.size(), 5);

      const env = await devServerEnv();
      cleanups.unshift(() => env.teardown()); // torn down last, after the receiver stopped using it
      forwarder.setTarget(env.address);
      await waitFor(() => second.receiver.outbox.size() === 0, 20_000, 100);
      assert.equal(second.receiver.outbox.size(), 0, JSON.stringify(second.receiver.outbox.list()));
      for (const id of [
        `main-commit:acme/shop:${sha(0x51)}`,
        'tag:acme/shop:v2.0.0',
        `main-commit:acme/shop:${sha(0x52)}`,
        `pr-recheck:acme/shop:${sha(0x51)}`,
        `pr-recheck:acme/shop:${sha(0x52)}`,
      ]) {
        const d = await env.client.workflow.getHandle(id).describe();
        assert.equal(d.taskQueue, taskQueue, id);
      }
    } finally {
      for (const fn of cleanups.reverse()) await fn().catch(() => {});
    }
  });
});
