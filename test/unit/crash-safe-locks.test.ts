import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { withFileLock } from '../../src/adapters/local/durable-files';
import {
  killRecordedGroup,
  readGroupRecord,
  recordGroup,
} from '../../src/adapters/local/process-group-record';
import { isRunning, processStartTime, selfIdentity } from '../../src/adapters/local/process-identity';
import { runLoggedProcess } from '../../src/adapters/local/logged-process';
import { waitFor } from '../helpers/ports';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'rf-crash-'));
const past = (file: string) => utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));

function sleeper(): { pid: number; stop: () => void } {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return {
    pid: child.pid!,
    stop: () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    },
  };
}

describe('process identity: a pid and the time it started', () => {
  it('names this process, and a reused pid (another start time) is not the recorded process', () => {
    const self = selfIdentity();
    assert.equal(self.pid, process.pid);
    assert.match(self.startTime ?? '', /^[0-9a-f-]*:\d+$/);
    assert.equal(isRunning(self), true);
    assert.equal(isRunning({ pid: process.pid, startTime: 'another-boot:1' }), false);
    assert.equal(processStartTime(2 ** 22 + 17), null);
  });
});

describe('file locks survive pid reuse and crashes', () => {
  it('breaks a lock naming our own pid with another start time (pid 1 after a container restart)', async () => {
    const lock = path.join(tmp(), 'env.lock');
    writeFileSync(lock, JSON.stringify({ pid: process.pid, startTime: 'old-boot:42' }));
    assert.equal(await withFileLock(lock, async () => 'ran', 2_000), 'ran');
  });

  it('breaks a lock of an older release naming our own pid (a bare pid)', async () => {
    const lock = path.join(tmp(), 'env.lock');
    writeFileSync(lock, String(process.pid));
    assert.equal(await withFileLock(lock, async () => 'ran', 2_000), 'ran');
  });

  it('breaks a lock whose pid now belongs to another process started later', async () => {
    const other = sleeper();
    try {
      const lock = path.join(tmp(), 'env.lock');
      writeFileSync(lock, JSON.stringify({ pid: other.pid, startTime: 'old-boot:42' }));
      assert.equal(await withFileLock(lock, async () => 'ran', 2_000), 'ran');
    } finally {
      other.stop();
    }
  });

  it('waits for a live holder and names it when it gives up', async () => {
    const other = sleeper();
    try {
      const lock = path.join(tmp(), 'env.lock');
      writeFileSync(lock, JSON.stringify({ pid: other.pid, startTime: processStartTime(other.pid) }));
      await assert.rejects(
        withFileLock(lock, async () => 'ran', 300),
        new RegExp(`held by pid ${other.pid}`),
      );
    } finally {
      other.stop();
    }
  });

  it('recovers an empty or corrupt lock file a crash left, but not one being written this instant', async () => {
    for (const content of ['', '{"pid":', 'garbage']) {
      const lock = path.join(tmp(), 'env.lock');
      writeFileSync(lock, content);
      await assert.rejects(
        withFileLock(lock, async () => 'ran', 200),
        /unreadable holder/,
      );
      past(lock);
      assert.equal(await withFileLock(lock, async () => 'ran', 2_000), 'ran', JSON.stringify(content));
    }
  });

  it('the lock file names its holder by pid and start time while held', async () => {
    const lock = path.join(tmp(), 'env.lock');
    const seen = await withFileLock(lock, async () => JSON.parse(readFileSync(lock, 'utf8')) as unknown);
    assert.deepEqual(seen, selfIdentity());
  });
});

describe('process-group records: an attempt ends what an earlier one left running', () => {
  it('kills the whole recorded group, grandchildren included, before the next run starts', async () => {
    const dir = tmp();
    const record = path.join(dir, 'process-group.json');
    const marker = path.join(dir, 'grandchild.pid');
    // The "orphan": a detached leader with a grandchild, as a step left behind by a dead worker.
    const leader = spawn(
      process.execPath,
      [
        '-e',
        `const c = require('child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
         require('fs').writeFileSync(${JSON.stringify(marker)}, String(c.pid)); setTimeout(() => {}, 60000);`,
      ],
      { detached: true, stdio: 'ignore' },
    );
    leader.unref();
    recordGroup(record, leader.pid!, 'node');
    const readMarker = () => {
      try {
        return readFileSync(marker, 'utf8').trim();
      } catch {
        return '';
      }
    };
    const grandchild = Number(await waitFor(readMarker, 5_000));
    assert.ok(grandchild > 0);
    const outcome = await runLoggedProcess({
      argv: [process.execPath, '-e', 'process.exit(0)'],
      cwd: dir,
      env: {},
      timeoutMs: 10_000,
      logPath: path.join(dir, 'run.log'),
      groupRecord: record,
    });
    assert.equal(outcome.exitCode, 0);
    assert.equal(await waitFor(() => !isRunning({ pid: grandchild, startTime: null }), 5_000), true);
    assert.equal(readGroupRecord(record), null, 'the finished run leaves no record');
  });

  it('never kills a process that merely reuses the recorded pid', async () => {
    const other = sleeper();
    try {
      const record = path.join(tmp(), 'process-group.json');
      writeFileSync(
        record,
        JSON.stringify({
          leader: { pid: other.pid, startTime: 'old-boot:1' },
          owner: selfIdentity(),
          argv0: 'x',
        }),
      );
      assert.equal(await killRecordedGroup(record), null);
      assert.equal(isRunning({ pid: other.pid, startTime: null }), true);
    } finally {
      other.stop();
    }
  });
});
