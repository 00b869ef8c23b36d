import '../helpers/runtime';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bootApp, type BootedApp } from '../../src/app';
import { validateConfig } from '../../src/config/load';
import { demoRepositoryConfig, ensureDemoRepository } from '../../src/demo/demo-repository';
import { createLogger } from '../../src/common/logging';
import { projectRoot } from '../../src/common/package-info';
import { Outbox, outboxPath } from '../../src/http/webhooks/outbox';
import { pipelineWorkflowId } from '../../src/workflows/shared/messages';
import { waitFor } from '../helpers/ports';
import { devServerEnv } from '../helpers/temporal-env';
import { deliver, SECRET, sha } from '../helpers/webhooks';

const quiet = createLogger('silent');
const bin = path.join(projectRoot, 'bin', 'release-flow.js');

async function runsOf(client: Client, workflowId: string): Promise<number> {
  let n = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) n++;
  return n;
}

/**
 * A TCP gate in front of the dev server, on a port it owns from the start: closed, every
 * connection is dropped (Temporal "down"); opened, bytes pass both ways.
 */
async function temporalGate(
  upstream: string,
): Promise<{ address: string; open(): void; close(): Promise<void> }> {
  const [host, port] = upstream.split(':') as [string, string];
  let open = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (!open) return socket.destroy();
    const to = net.connect(Number(port), host);
    sockets.add(to);
    to.on('close', () => sockets.delete(to));
    socket.pipe(to).pipe(socket);
    socket.on('error', () => to.destroy());
    to.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    open: () => {
      open = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('roles: boot without Temporal, several workers and a receiver on one cluster', () => {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await devServerEnv();
  });
  after(async () => {
    await env?.teardown();
  });

  it('serve and worker boot while Temporal is unreachable: /readyz says why, deliveries queue, both connect when it appears', async () => {
    const gate = await temporalGate(env.address);
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'rf-roles-boot-'));
    const taskQueue = `roles-boot-${Date.now()}`;
    const config = validateConfig(
      {
        stateDir,
        server: { port: 0 },
        temporal: { taskQueue },
        timeouts: { connect: '2s' },
        repositories: [{ name: 'acme/boot', defaultBranch: 'main' }],
      },
      {},
    );
    const appEnv = { TEMPORAL_ADDRESS: gate.address, GITHUB_WEBHOOK_SECRET: SECRET };
    const apps: BootedApp[] = [];
    try {
      const serve = await bootApp({
        config,
        logger: quiet,
        env: appEnv,
        roles: { server: true, worker: false },
      });
      apps.push(serve);
      const worker = await bootApp({
        config,
        logger: quiet,
        env: appEnv,
        roles: { server: false, worker: true },
      });
      apps.push(worker);
      assert.equal(worker.http, undefined, 'the worker role serves no HTTP');
      const url = serve.http!.url;
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      // Past the first bounded attempt: the boot goes on instead of exiting.
      await assert.rejects(serve.firstGiveUp, /TEMPORAL_UNREACHABLE|cannot reach Temporal/);
      const notReady = await fetch(`${url}/readyz`);
      assert.equal(notReady.status, 503);
      const body = (await notReady.json()) as { reason: string };
      assert.match(
        body.reason,
        new RegExp(`Temporal at ${gate.address.replace(/\./g, '\\.')}|cannot reach Temporal at`),
      );

      const after = sha(0xb007);
      const push = JSON.stringify({ ref: 'refs/heads/main', after, repository: { full_name: 'acme/boot' } });
      const queued = await deliver(url, { event: 'push', body: push });
      assert.equal(queued.status, 202, JSON.stringify(queued.body));
      assert.equal(queued.body.decision, 'queued');

      gate.open();
      await serve.connected;
      await worker.connected;
      const workflowId = pipelineWorkflowId('main-commit', 'acme/boot', after);
      assert.equal(
        await waitFor(async () => (await runsOf(env.client, workflowId)) === 1, 30_000, 250),
        true,
      );
      const ready = await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, 30_000, 250);
      assert.equal(ready, true, 'the worker answers the readiness round trip once Temporal is there');
      assert.equal(await runsOf(env.client, workflowId), 1, 'the queued delivery started one run');
    } finally {
      for (const app of apps.reverse()) await app.stop();
      await gate.close();
    }
  });

  it('two receivers with their own outboxes, Temporal away: both drain when it returns, each push starts one run', async () => {
    const gate = await temporalGate(env.address);
    const taskQueue = `roles-receivers-${Date.now()}`;
    const stateDirs = [0, 1].map(() => mkdtempSync(path.join(os.tmpdir(), 'rf-roles-receiver-')));
    const receiverConfig = (stateDir: string) =>
      validateConfig(
        {
          stateDir,
          server: { port: 0 },
          temporal: { taskQueue },
          timeouts: { connect: '2s' },
          repositories: [{ name: 'acme/two', defaultBranch: 'main' }],
        },
        {},
      );
    const appEnv = { TEMPORAL_ADDRESS: gate.address, GITHUB_WEBHOOK_SECRET: SECRET };
    const receivers: BootedApp[] = [];
    try {
      for (const stateDir of stateDirs) {
        receivers.push(
          await bootApp({
            config: receiverConfig(stateDir),
            logger: quiet,
            env: appEnv,
            roles: { server: true, worker: false },
          }),
        );
      }
      const pushOf = (n: number) =>
        JSON.stringify({
          ref: 'refs/heads/main',
          after: sha(0x7000 + n),
          repository: { full_name: 'acme/two' },
        });
      // Pushes 0-3: each to both receivers (a load balancer retrying elsewhere); 4-5 to one each.
      const answers = [];
      for (let n = 0; n < 4; n++)
        for (const r of receivers)
          answers.push(await deliver(r.http!.url, { event: 'push', body: pushOf(n) }));
      answers.push(await deliver(receivers[0]!.http!.url, { event: 'push', body: pushOf(4) }));
      answers.push(await deliver(receivers[1]!.http!.url, { event: 'push', body: pushOf(5) }));
      assert.ok(
        answers.every((a) => a.status === 202),
        JSON.stringify(answers.map((a) => a.status)),
      );

      gate.open();
      const ids = Array.from({ length: 6 }, (_, n) =>
        pipelineWorkflowId('main-commit', 'acme/two', sha(0x7000 + n)),
      );
      const started = await waitFor(
        async () => (await Promise.all(ids.map((id) => runsOf(env.client, id)))).every((c) => c === 1),
        60_000,
        250,
      );
      assert.equal(started, true, 'every queued push started');
      await Promise.all(receivers.map((r) => r.connected));
      const waiting = (stateDir: string) => {
        const outbox = Outbox.open(outboxPath(stateDir));
        try {
          return outbox.size();
        } finally {
          outbox.close();
        }
      };
      const drained = await waitFor(() => stateDirs.every((d) => waiting(d) === 0), 30_000, 250);
      assert.equal(drained, true, 'both outboxes drained');
      for (const id of ids) assert.equal(await runsOf(env.client, id), 1, `${id} started once`);
    } finally {
      for (const r of receivers.reverse()) await r.stop();
      await gate.close();
    }
  });

  describe('two worker processes and one receiver process', () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'rf-roles-'));
    const stateDir = path.join(base, 'state');
    const configFile = path.join(base, 'release-flow.json');
    const repository = 'acme/roles';
    const taskQueue = 'e2e-roles';
    const children: ChildProcess[] = [];
    let repoDir: string;
    let releases: string[];

    function startRole(role: 'worker' | 'serve'): ChildProcess & { output: string } {
      const child = spawn(process.execPath, [bin, role], {
        cwd: projectRoot,
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: env.address,
          RELEASE_FLOW_CONFIG: configFile,
          GITHUB_WEBHOOK_SECRET: SECRET,
          LOG_LEVEL: 'info',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      }) as ChildProcess & { output: string };
      child.output = '';
      child.stdout!.on('data', (d) => (child.output += String(d)));
      child.stderr!.on('data', (d) => (child.output += String(d)));
      children.push(child);
      return child;
    }

    before(async () => {
      const repo = await ensureDemoRepository(path.join(base, 'repo'));
      repoDir = repo.path;
      releases = repo.releases;
      writeFileSync(
        configFile,
        JSON.stringify({
          stateDir,
          server: { port: 0 },
          temporal: { taskQueue },
          repositories: [
            {
              ...demoRepositoryConfig(repoDir),
              name: repository,
              // The demo repository's code is release-flow's own, as in `npm start`: no PR builds.
              pullRequestBuilds: 'none',
              health: { window: '5s', sampleInterval: '1s', minRequests: 1 },
            },
          ],
        }),
      );
    });
    after(() => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    });

    it('take a release through with the worker running a step killed midway; each run starts once and each effect happens once', async () => {
      const workers = [startRole('worker'), startRole('worker')];
      const receiver = startRole('serve');
      const up = await waitFor(
        () =>
          workers.every((w) => /"msg":"worker running"/.test(w.output)) &&
          /HTTP server listening/.test(receiver.output),
        60_000,
        200,
      );
      assert.equal(
        up,
        true,
        `roles never came up:\n${workers.map((w) => w.output).join('\n')}\n${receiver.output}`,
      );
      assert.doesNotMatch(receiver.output, /worker running/, 'serve runs no worker');
      const url = /"url":"(http:\/\/[^"]+)","msg":"HTTP server listening"/.exec(receiver.output)![1]!;

      const commit = releases[0]!;
      const push = JSON.stringify({
        ref: 'refs/heads/main',
        after: commit,
        repository: { full_name: repository },
      });
      // GitHub redelivers: the same push twice, and a second delivery id, still one run.
      const answers = await Promise.all([
        deliver(url, { event: 'push', body: push }),
        deliver(url, { event: 'push', body: push }),
      ]);
      assert.deepEqual(answers.map((a) => a.status).sort(), [200, 201], JSON.stringify(answers));
      const mainId = pipelineWorkflowId('main-commit', repository, commit);
      const handle = env.client.workflow.getHandle(mainId);

      // Kill the worker that is running an activity of this release right now.
      let victim: ChildProcess | undefined;
      await waitFor(
        async () => {
          const d = await handle.describe();
          const identity = d.raw.pendingActivities?.find((a) => a.lastWorkerIdentity)?.lastWorkerIdentity;
          const pid = Number(/:(\d+)$/.exec(identity ?? '')?.[1]);
          victim = workers.find((w) => w.pid === pid);
          return victim !== undefined;
        },
        60_000,
        100,
      );
      assert.ok(victim, 'an activity of the release ran on one of the two workers');
      const exited = new Promise((r) => victim!.once('exit', r));
      victim.kill('SIGKILL');
      await exited;

      const outcome = (await handle.result()) as { tag: string };
      assert.equal(outcome.tag, 'v1.0.0');
      const tagPush = JSON.stringify({
        ref: 'refs/tags/v1.0.0',
        after: commit,
        head_commit: { id: commit },
        repository: { full_name: repository },
      });
      const tagAnswers = [
        await deliver(url, { event: 'push', body: tagPush }),
        await deliver(url, { event: 'push', body: tagPush }),
      ];
      // A local repository: its main-commit run started the tag pipeline, so the tag's push (and
      // its redelivery) finds it started, or, when that pipeline has already carried the version
      // to production, finds it released. Neither starts a second run.
      for (const answer of tagAnswers) {
        const seen = [answer.status, (answer.body as { decision?: string }).decision];
        assert.ok(
          JSON.stringify(seen) === JSON.stringify([200, 'already-started']) ||
            JSON.stringify(seen) === JSON.stringify([202, 'already-released']),
          JSON.stringify(tagAnswers),
        );
      }
      const tagId = pipelineWorkflowId('tag', repository, 'v1.0.0');
      const tagOutcome = (await env.client.workflow.getHandle(tagId).result()) as {
        productionWorkflowId: string;
      };
      const production = (await env.client.workflow.getHandle(tagOutcome.productionWorkflowId).result()) as {
        state: string;
      };
      assert.equal(production.state, 'healthy', JSON.stringify(production));

      for (const id of [mainId, tagId, tagOutcome.productionWorkflowId])
        assert.equal(await runsOf(env.client, id), 1, id);
      assert.deepEqual(
        execFileSync('git', ['tag', '--list', 'v*'], { cwd: repoDir, encoding: 'utf8' }).trim().split('\n'),
        ['v1.0.0'],
      );
      const deploys = (name: string) => {
        const file = readdirSync(path.join(stateDir, 'environments')).find(
          (f) => f.startsWith(`${name}-`) && f.endsWith('.json'),
        );
        assert.ok(file, `state of ${name}`);
        const state = JSON.parse(readFileSync(path.join(stateDir, 'environments', file), 'utf8')) as {
          history?: { action: string }[];
        };
        return (state.history ?? []).filter((h) => h.action === 'deploy').length;
      };
      assert.equal(deploys('dev'), 1, 'dev deployed once');
      assert.equal(deploys('staging'), 1, 'staging deployed once');
      assert.equal(deploys('production'), 1, 'production deployed once');
    });
  });
});
