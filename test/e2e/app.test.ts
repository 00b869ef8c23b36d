import '../helpers/runtime';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startApp, type RunningApp } from '../../src/app';
import { validateConfig } from '../../src/config/load';
import { UserError } from '../../src/common/errors';
import { createLogger } from '../../src/common/logging';
import { projectRoot } from '../../src/common/package-info';
import { readinessWorkflow } from '../../src/workflows/readiness/readiness-workflow';
import { freePort, processAlive, waitFor } from '../helpers/ports';

const quiet = createLogger('silent');

async function appConfig(stateDir: string, overrides: { httpPort?: number } = {}) {
  return validateConfig(
    {
      stateDir,
      server: { port: overrides.httpPort ?? 0 },
      temporal: {
        taskQueue: 'e2e-app',
        devServer: {
          // 0: the dev server picks free ports and picks again if one is taken before it binds.
          port: 0,
          uiPort: 0,
          dbFile: path.join(stateDir, 'temporal.db'),
        },
      },
      timeouts: { connect: '3s' },
    },
    {},
  );
}

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function tempState(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'rf-app-'));
}

describe('npm start: the app (embedded dev server, worker, HTTP)', () => {
  it('answers /healthz, answers /readyz only after a real round trip, and stops leaving no process', async () => {
    const app = await startApp({ config: await appConfig(tempState()), logger: quiet, env: {} });
    const devPid = app.devServer!.pid;
    try {
      assert.equal((await get(`${app.http!.url}/healthz`)).status, 200);
      const ready = await get(`${app.http!.url}/readyz`);
      assert.equal(ready.status, 200, JSON.stringify(ready.body));
      assert.match(String(ready.body.answeredBy), /^release-flow@/);
      // The round trip is real: the readiness workflow is on the record in Temporal.
      const probes = app.client.workflow.list({ query: `WorkflowType = 'readinessWorkflow'` });
      let found = 0;
      for await (const wf of probes) if (wf.status.name === 'COMPLETED') found++;
      assert.ok(found >= 1, 'a completed readiness workflow exists');
    } finally {
      await app.stop();
    }
    assert.equal(await waitFor(() => !processAlive(devPid), 5_000), true, 'the dev server child is gone');
  });

  it('a restart keeps every workflow: state persists in the dev server database', async () => {
    const stateDir = tempState();
    const config = await appConfig(stateDir);
    let app: RunningApp = await startApp({ config, logger: quiet, env: {} });
    const workflowId = `persisted-${Date.now()}`;
    try {
      await app.client.workflow.execute(readinessWorkflow, {
        workflowId,
        taskQueue: 'e2e-app',
        args: [{ probeId: 'keep-me' }],
      });
    } finally {
      await app.stop();
    }
    app = await startApp({ config, logger: quiet, env: {} });
    try {
      const described = await app.client.workflow.getHandle(workflowId).describe();
      assert.equal(described.status.name, 'COMPLETED');
      assert.equal((await app.client.workflow.getHandle(workflowId).result()).probeId, 'keep-me');
    } finally {
      await app.stop();
    }
  });

  it('a busy HTTP port is a clear error naming the port and the variable that changes it', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await assert.rejects(
        startApp({ config: await appConfig(tempState(), { httpPort: port }), logger: quiet, env: {} }),
        (err) => {
          assert.ok(err instanceof UserError);
          assert.equal(err.code, 'PORT_IN_USE');
          assert.match(err.render(), new RegExp(`port ${port}.*PORT=`));
          return true;
        },
      );
    } finally {
      blocker.close();
    }
  });

  it('a busy dev server port names the config field to change', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const stateDir = tempState();
    const base = await appConfig(stateDir);
    const config = validateConfig(
      { ...base, temporal: { ...base.temporal, devServer: { ...base.temporal.devServer, port } } },
      {},
    );
    try {
      await assert.rejects(startApp({ config, logger: quiet, env: {} }), (err) => {
        assert.ok(err instanceof UserError);
        assert.equal(err.code, 'PORT_IN_USE');
        assert.match(err.render(), new RegExp(`port ${port}.*temporal\\.devServer\\.port`));
        return true;
      });
    } finally {
      blocker.close();
    }
  });

  it('an unreachable TEMPORAL_ADDRESS is retried for a bounded time, then named in the error', async () => {
    const deadPort = await freePort();
    const started = Date.now();
    await assert.rejects(
      startApp({
        config: await appConfig(tempState()),
        logger: quiet,
        env: { TEMPORAL_ADDRESS: `127.0.0.1:${deadPort}` },
      }),
      (err) => {
        assert.ok(err instanceof UserError);
        assert.equal(err.code, 'TEMPORAL_UNREACHABLE');
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${deadPort}`));
        return true;
      },
    );
    const took = Date.now() - started;
    assert.ok(took >= 2_000 && took < 20_000, `gave up after ${took} ms`);
  });
});

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start as a process', () => {
  it('serves metrics when configured; Ctrl-C (SIGINT to the process group) stops worker, HTTP server and dev server; nothing is left', async () => {
    const stateDir = tempState();
    const configFile = path.join(stateDir, 'release-flow.yml');
    // HTTP and dev server ports are 0 (bound, then read back). The SDK's metrics endpoint needs a
    // number: a port that another process takes before it binds costs a fresh attempt.
    let child!: ChildProcess;
    let output = '';
    let exited!: Promise<string>;
    let metricsPort = 0;
    let httpUrl: string | undefined;
    for (let attempt = 1; attempt <= 3 && !httpUrl; attempt++) {
      metricsPort = await freePort();
      writeFileSync(
        configFile,
        [
          `stateDir: ${stateDir}`,
          'metrics:',
          `  prometheusBindAddress: 127.0.0.1:${metricsPort}`,
          'temporal:',
          '  devServer:',
          '    port: 0',
          '    uiPort: 0',
          `    dbFile: ${path.join(stateDir, 'temporal.db')}`,
          '',
        ].join('\n'),
      );
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        RELEASE_FLOW_CONFIG: configFile,
        PORT: '0',
        LOG_LEVEL: 'info',
      };
      delete env.TEMPORAL_ADDRESS;
      child = spawn('npm', ['start'], {
        cwd: projectRoot,
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      output = '';
      child.stdout!.on('data', (d) => (output += String(d)));
      child.stderr!.on('data', (d) => (output += String(d)));
      const running = child;
      exited = new Promise<string>((resolve) =>
        running.once('exit', (code, signal) => resolve(`${code ?? signal}`)),
      );
      let ended = false;
      void exited.then(() => (ended = true));
      await waitFor(() => ended || /Health: +http:\/\/[^/\s]+\/healthz/.test(output), 90_000, 100);
      httpUrl = /Health: +(http:\/\/[^/\s]+)\/healthz/.exec(output)?.[1];
      if (!httpUrl && !(ended && /in use/i.test(output))) break;
    }
    assert.ok(httpUrl, `npm start never printed its URLs; output:\n${output}`);
    try {
      const ready = await waitFor(
        async () => (await fetch(`${httpUrl}/readyz`).catch(() => undefined))?.status === 200,
        60_000,
        250,
      );
      assert.equal(ready, true, `never ready; output:\n${output}`);
      assert.match(output, /Temporal UI: +http:\/\/127\.0\.0\.1:\d+/);
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      assert.match(metrics, /temporal_/, 'SDK metrics are exposed for Prometheus');
      const devPid = Number(/"pid":(\d+),"msg":"embedded Temporal dev server started"/.exec(output)?.[1]);
      assert.ok(devPid > 0, 'the dev server pid is logged');
      process.kill(-child.pid!, 'SIGINT');
      const how = await Promise.race([
        exited,
        new Promise((r) => setTimeout(() => r('timeout'), 30_000).unref()),
      ]);
      // npm itself ends by the SIGINT it got, after waiting for its child; our process exits 0.
      assert.ok(how === '0' || how === 'SIGINT', `npm ended with ${String(how)}; output:\n${output}`);
      assert.equal(
        await waitFor(() => !groupAlive(child.pid!), 10_000),
        true,
        'no process of the group is left',
      );
      assert.equal(await waitFor(() => !processAlive(devPid), 5_000), true, 'dev server stopped');
      assert.match(output, /stopped; state is kept/);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone: the point of the test
      }
    }
  });
});
