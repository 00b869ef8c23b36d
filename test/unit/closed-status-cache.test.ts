import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { closedStatusCacheFile, openClosedStatusCache } from '../../src/cli/closed-status-cache';

describe('the status cache of closed runs', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'rf-status-cache-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('keeps what a closed run answered for the next call, and only the runs still listed', async () => {
    const file = closedStatusCacheFile(path.join(root, 'kept'));
    const first = await openClosedStatusCache<{ state: string }>(file);
    assert.equal(first.get('run-a'), undefined);
    first.set('run-a', { state: 'healthy' });
    first.set('run-b', { state: 'failed' });
    await first.save(['run-a', 'run-b']);

    const second = await openClosedStatusCache<{ state: string }>(file);
    assert.deepEqual(second.get('run-a'), { state: 'healthy' });
    await second.save(['run-a']); // run-b fell out of the listing
    assert.deepEqual(Object.keys(JSON.parse(await readFile(file, 'utf8'))), ['run-a']);
  });

  it('starts empty from a missing or corrupt file, and an unwritable state dir costs nothing but speed', async () => {
    const corrupt = path.join(root, 'corrupt.json');
    await writeFile(corrupt, '{"run-a": ');
    const cache = await openClosedStatusCache<{ state: string }>(corrupt);
    assert.equal(cache.get('run-a'), undefined);
    await writeFile(path.join(root, 'placeholder'), '');
    const unwritable = await openClosedStatusCache<{ state: string }>(
      path.join(root, 'placeholder', 'inside-a-file.json'),
    );
    unwritable.set('run-a', { state: 'healthy' });
    await unwritable.save(['run-a']);
  });
});
