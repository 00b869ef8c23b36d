import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { main } from '../../src/cli/main';
import { startHttpServer } from '../../src/http/server';
import { Outbox, outboxPath } from '../../src/http/webhooks/outbox';
import { openWebhookReceiver } from '../../src/http/webhooks/webhook-receiver';
import { waitFor } from '../helpers/ports';
import { capturingLogger, deliver, fakeStarter, SECRET, sha } from '../helpers/webhooks';

const REPO = { name: 'acme/shop', defaultBranch: 'main', releaseTagPattern: '^v\\d+\\.\\d+\\.\\d+$' };
const push = (after: string) =>
  JSON.stringify({ ref: 'refs/heads/main', after, repository: { full_name: 'acme/shop' } });

async function receiverOn(stateDir: string, starter: ReturnType<typeof fakeStarter>) {
  const receiver = openWebhookReceiver({
    stateDir,
    repositories: [REPO],
    secret: SECRET,
    client: () => undefined,
    taskQueue: 'unused',
    logger: capturingLogger().logger,
    starter,
    retryMinDelayMs: 20,
    retryMaxDelayMs: 100,
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

async function cliOutbox(stateDir: string, json = true): Promise<string> {
  const out: string[] = [];
  const code = await main(
    ['node', 'release-flow', 'outbox', ...(json ? ['--json'] : []), '--state-dir', stateDir],
    {
      out: (s) => out.push(s),
      err: (s) => out.push(s),
    },
  );
  assert.equal(code, 0, out.join('\n'));
  return out.join('\n');
}

describe('webhook outbox', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-outbox-'));
    dirs.push(d);
    return d;
  };
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('queues while Temporal is down, survives a receiver restart, and drains in delivery order when it returns', async () => {
    const stateDir = tmp();
    const starter = fakeStarter();
    starter.down = true;

    const first = await receiverOn(stateDir, starter);
    const answers = [
      await deliver(first.url, { event: 'push', body: push(sha(1)), delivery: 'd-1' }),
      await deliver(first.url, { event: 'push', body: push(sha(2)), delivery: 'd-2' }),
      await deliver(first.url, { event: 'push', body: push(sha(1)), delivery: 'd-3' }), // another event, same commit
      await deliver(first.url, { event: 'push', body: push(sha(1)), delivery: 'd-1' }), // redelivery
    ];
    assert.deepEqual(
      answers.map((a) => [a.status, a.body.decision]),
      Array(4).fill([202, 'queued']),
    );
    assert.equal(answers[0]!.body.workflowId, `main-commit:acme/shop:${sha(1)}`);
    await first.stop();

    // The receiver is gone; the CLI reads what waits from the file.
    const listed = JSON.parse(await cliOutbox(stateDir)) as {
      waiting: number;
      entries: { workflowId: string; delivery: string; deliveries: number }[];
    };
    // Each push to main queues its pipeline and the re-check of the open pull requests.
    assert.equal(listed.waiting, 4);
    assert.deepEqual(
      listed.entries.map((e) => [e.workflowId, e.delivery, e.deliveries]),
      [
        [`main-commit:acme/shop:${sha(1)}`, 'd-1', 2],
        [`pr-recheck:acme/shop:${sha(1)}`, 'd-1', 2],
        [`main-commit:acme/shop:${sha(2)}`, 'd-2', 1],
        [`pr-recheck:acme/shop:${sha(2)}`, 'd-2', 1],
      ],
    );

    // Restarted, still down: the drainer keeps trying and keeps everything.
    const second = await receiverOn(stateDir, starter);
    try {
      const callsBefore = starter.calls;
      await waitFor(() => starter.calls >= callsBefore + 2, 2_000, 10);
      assert.ok(starter.calls >= callsBefore + 2, 'the drainer retried after the restart');
      assert.equal(second.receiver.outbox.size(), 4);
      assert.match(
        await cliOutbox(stateDir, false),
        /4 start\(s\) wait[\s\S]*last error: fake Temporal is down/,
      );

      // Temporal back, but starts still wait: a new push queues behind them to keep push order.
      starter.down = false;
      const third = await deliver(second.url, { event: 'push', body: push(sha(3)), delivery: 'd-4' });
      assert.equal(third.status, 202, JSON.stringify(third.body));
      assert.match(String(third.body.reason), /earlier start\(s\) of acme\/shop wait/);

      await waitFor(() => second.receiver.outbox.size() === 0, 3_000, 10);
      assert.equal(second.receiver.outbox.size(), 0);
      assert.deepEqual(
        starter.starts.map((r) => [r.stage, 'commit' in r.input ? r.input.commit : undefined]),
        [1, 2, 3].flatMap((n) => [
          ['main-commit', sha(n)],
          ['pr-recheck', sha(n)],
        ]),
      );
      assert.match(await cliOutbox(stateDir, false), /empty, nothing waits/);

      // After the drain, redelivery answers from Temporal: already started.
      const again = await deliver(second.url, { event: 'push', body: push(sha(1)), delivery: 'd-1' });
      assert.deepEqual([again.status, again.body.decision], [200, 'already-started']);
    } finally {
      await second.stop();
    }
  });

  it('a start Temporal fails on its side (a store failure) is queued, not answered 500, and started once it recovers', async () => {
    const stateDir = tmp();
    const starter = fakeStarter();
    const healthy = starter.start.bind(starter);
    let failing = true;
    starter.start = async (request) => {
      if (!failing) return await healthy(request);
      starter.calls++;
      throw Object.assign(new Error('13 INTERNAL: Persistent store operation Failure'), {
        code: 13,
        details: 'Persistent store operation Failure',
        metadata: {},
      });
    };
    const r = await receiverOn(stateDir, starter);
    try {
      const answer = await deliver(r.url, { event: 'push', body: push(sha(40)), delivery: 'd-store' });
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      assert.equal(answer.body.decision, 'queued');
      assert.match(String(answer.body.reason), /Temporal failed the start .*Persistent store/);
      failing = false;
      await waitFor(() => r.receiver.outbox.size() === 0, 10_000, 20);
      assert.ok(starter.starts.some((s) => s.workflowId === `main-commit:acme/shop:${sha(40)}`));
    } finally {
      await r.stop();
    }
  });

  it('a start refused for another reason stays queued and blocks only its repository', async () => {
    const stateDir = tmp();
    const outbox = Outbox.open(outboxPath(stateDir));
    const request = (repository: string, commit: string) => ({
      stage: 'main-commit' as const,
      workflowId: `main-commit:${repository}:${commit}`,
      input: { repository, commit },
    });
    outbox.enqueue({ request: request('a/bad', sha(1)), repository: 'a/bad', delivery: 'x1', event: 'push' });
    outbox.enqueue({ request: request('a/bad', sha(2)), repository: 'a/bad', delivery: 'x2', event: 'push' });
    outbox.enqueue({
      request: request('b/good', sha(3)),
      repository: 'b/good',
      delivery: 'x3',
      event: 'push',
    });
    outbox.close();

    const started: string[] = [];
    const receiver = openWebhookReceiver({
      stateDir,
      repositories: [],
      secret: SECRET,
      client: () => undefined,
      taskQueue: 'unused',
      logger: capturingLogger().logger,
      retryMinDelayMs: 10_000,
      starter: {
        async start(r) {
          if (r.input.repository === 'a/bad') throw new Error('search attribute not registered');
          started.push(r.workflowId);
          return { workflowId: r.workflowId, started: true };
        },
      },
    });
    try {
      await waitFor(() => receiver.outbox.size() === 2, 2_000, 10);
      assert.deepEqual(started, [`main-commit:b/good:${sha(3)}`]);
      const waiting = receiver.outbox.list();
      assert.deepEqual(
        waiting.map((e) => [e.workflowId, e.attempts]),
        [
          [`main-commit:a/bad:${sha(1)}`, 1],
          [`main-commit:a/bad:${sha(2)}`, 0],
        ],
      );
      assert.equal(waiting[0]!.lastError, 'search attribute not registered');
    } finally {
      await receiver.close();
    }
  });

  it('the outbox file is SQLite in WAL mode under the state directory', () => {
    const stateDir = tmp();
    Outbox.open(outboxPath(stateDir)).close();
    assert.equal(outboxPath(stateDir), path.join(stateDir, 'webhook-outbox.sqlite'));
    const header = fs.readFileSync(outboxPath(stateDir)).subarray(0, 16).toString('latin1');
    assert.equal(header, 'SQLite format 3\0');
    // Byte 18/19 = 2 means WAL.
    assert.equal(fs.readFileSync(outboxPath(stateDir))[18], 2);
  });

  it('outbox with no file yet says nothing waits', async () => {
    const stateDir = tmp();
    assert.match(await cliOutbox(stateDir, false), /empty, nothing waits/);
    assert.ok(!fs.existsSync(outboxPath(stateDir)), 'listing does not create the file');
  });
});
