import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../src/common/package-info';
import { devServerPidFile, startDevServer } from '../../src/temporal/dev-server';
import { lookup } from '../../src/temporal/executables';
import { processAlive, waitFor } from '../helpers/ports';

function cliPath(): string {
  const found = lookup('cli', { root: projectRoot });
  assert.ok(!Array.isArray(found), 'the Temporal CLI is provisioned (npm run setup:temporal)');
  return found.path;
}

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'rf-dev-lifetime-'));

describe('the embedded dev server does not outlive the process that owns it', () => {
  it('is refused to a second owner, and dies with its parent when the parent is SIGKILLed', async () => {
    const dir = tmp();
    const dbFile = path.join(dir, 'temporal.db');
    const script = `
      const { startDevServer } = require(${JSON.stringify(path.join(projectRoot, 'src', 'temporal', 'dev-server.ts'))});
      startDevServer({ cliPath: ${JSON.stringify(cliPath())}, port: 0, uiPort: 0, dbFile: ${JSON.stringify(dbFile)},
        logFile: ${JSON.stringify(path.join(dir, 'dev.log'))} })
        .then((s) => { process.stdout.write('pid ' + s.pid + '\\n'); setInterval(() => {}, 1000); });`;
    const parent = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    parent.stdout.on('data', (d) => (out += String(d)));
    await waitFor(() => /pid \d+/.test(out), 90_000, 100);
    const pid = Number(/pid (\d+)/.exec(out)?.[1]);
    assert.ok(pid > 0, `the dev server started: ${out}`);
    // While its owner lives it is not an orphan: another start on the same database is refused.
    await assert.rejects(
      startDevServer({ cliPath: cliPath(), port: 0, uiPort: 0, dbFile, logFile: path.join(dir, 'dev2.log') }),
      (err: Error & { code?: string }) =>
        err.code === 'DEV_SERVER_OWNED' && err.message.includes(`pid ${pid}`),
    );
    assert.equal(processAlive(pid), true);
    parent.kill('SIGKILL');
    assert.equal(
      await waitFor(() => !processAlive(pid), 20_000, 100),
      true,
      'the dev server stopped with its parent',
    );
  });

  it('a start recognises a server it owns still running on its database (pid file) and stops it first', async () => {
    const dir = tmp();
    const opts = {
      cliPath: cliPath(),
      port: 0,
      uiPort: 0,
      dbFile: path.join(dir, 'temporal.db'),
      logFile: path.join(dir, 'dev.log'),
    };
    const first = await startDevServer(opts);
    const record = JSON.parse(readFileSync(devServerPidFile(opts.dbFile), 'utf8')) as {
      pid: number;
      startTime: string;
    };
    assert.equal(record.pid, first.pid);
    // As if its owner had died without stopping it: the next start finds it by the pid file.
    const second = await startDevServer(opts);
    try {
      assert.equal(second.replacedOrphan, first.pid);
      assert.equal(processAlive(first.pid), false);
      assert.notEqual(second.pid, first.pid);
    } finally {
      await second.stop();
      await first.stop();
    }
    assert.equal(existsSync(devServerPidFile(opts.dbFile)), false, 'a clean stop removes the pid file');
  });
});
