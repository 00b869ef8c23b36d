import '../helpers/runtime';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { demoRepositoryConfig, ensureDemoRepository } from '../../src/demo/demo-repository';
import { projectRoot } from '../../src/common/package-info';
import { startMainCommit } from '../../src/starter';
import { processAlive, waitFor } from '../helpers/ports';
import { devServerEnv } from '../helpers/temporal-env';

// The unit-test step: the first copy would run for two minutes, later ones for a second. Each
// copy notes its start, and any earlier copy it finds still running (an overlap).
const STEP = `
const fs = require('fs');
const marker = process.argv[1];
const lines = fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').split('\\n').filter(Boolean) : [];
const starts = lines.filter((l) => l.startsWith('start ')).map((l) => Number(l.split(' ')[1]));
const alive = starts.filter((pid) => { try { process.kill(pid, 0); return true; } catch { return false; } });
if (alive.length) fs.appendFileSync(marker, 'overlap ' + alive.join(',') + '\\n');
fs.appendFileSync(marker, 'start ' + process.pid + '\\n');
setTimeout(() => fs.appendFileSync(marker, 'end ' + process.pid + '\\n'), starts.length === 0 ? 120000 : 1000);
`;

describe('a step never outlives its attempt', () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'rf-orphan-'));
  const stateDir = path.join(base, 'state');
  const configFile = path.join(base, 'release-flow.json');
  const marker = path.join(base, 'marker.txt');
  const repository = 'acme/orphan';
  const taskQueue = 'e2e-orphan';
  let env: TestWorkflowEnvironment;
  let worker: ChildProcess | undefined;
  let commit: string;

  function startWorker(): void {
    worker = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src', 'worker.ts')], {
      cwd: projectRoot,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: env.address,
        RELEASE_FLOW_CONFIG: configFile,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }

  async function killWorker(): Promise<void> {
    const child = worker!;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  const markerLines = () => {
    try {
      return readFileSync(marker, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };

  before(async () => {
    env = await devServerEnv();
    const repo = await ensureDemoRepository(path.join(base, 'repo'));
    commit = repo.releases[0]!;
    const demo = demoRepositoryConfig(repo.path);
    writeFileSync(
      configFile,
      JSON.stringify({
        stateDir,
        temporal: { taskQueue },
        // The step reports its host pid in a marker outside its checkout: it runs as the worker.
        sandbox: { mode: 'none' },
        repositories: [
          {
            ...demo,
            name: repository,
            commands: { ...demo.commands, unitTests: [['node', '-e', STEP, marker]] },
          },
        ],
      }),
    );
    startWorker();
  });
  after(async () => {
    await killWorker();
    await env?.teardown();
    // Whatever the test left running goes: a failed run must not leave a two-minute sleeper.
    for (const line of markerLines()) {
      const pid = Number(line.split(' ')[1]);
      if (line.startsWith('start ') && processAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('SIGKILL of the worker mid-step: the retry ends the orphaned step first, so no second copy runs at once', async () => {
    const started = await startMainCommit(
      env.client,
      { repository, commit },
      { taskQueue, searchAttributes: true },
    );
    await waitFor(() => markerLines().some((l) => l.startsWith('start ')), 60_000, 100);
    const first = Number(markerLines()[0]!.split(' ')[1]);
    await killWorker();
    // The step was spawned detached: it outlives its worker, as the bug report saw.
    assert.equal(processAlive(first), true, 'the orphaned step is still running after the worker died');
    const killedAt = Date.now();
    startWorker();
    // The retry comes once the new worker has booted (the dead worker's attempt is failed then),
    // not at the step's one-minute heartbeat timeout.
    const retried = await waitFor(
      () => markerLines().filter((l) => l.startsWith('start ')).length >= 2,
      55_000,
      100,
    );
    assert.ok(retried, `no retry within 55 s of the kill: ${markerLines().join('; ')}`);
    const retryAfterMs = Date.now() - killedAt;
    const outcome = (await env.client.workflow.getHandle(started.workflowId).result()) as { tag?: string };
    assert.equal(outcome.tag, 'v1.0.0');
    const lines = markerLines();
    assert.deepEqual(
      lines.filter((l) => l.startsWith('overlap')),
      [],
      `no copy found another running: ${lines.join('; ')}`,
    );
    assert.equal(lines.filter((l) => l.startsWith('start ')).length, 2, lines.join('; '));
    assert.ok(!lines.includes(`end ${first}`), 'the orphaned first copy was ended, not finished');
    assert.equal(processAlive(first), false);
    assert.ok(retryAfterMs < 55_000, `the retry took ${retryAfterMs} ms`);
  });
});
