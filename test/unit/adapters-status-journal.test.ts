import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { StatusJournal } from '../../src/adapters/local/status-journal';

describe('the local commit status journal', () => {
  const sha = 'ab'.repeat(20);

  it('keeps every status as a JSON line; the newest per commit and context counts', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'rf-statuses-')), 'statuses.jsonl');
    let clock = 1_000;
    const journal = new StatusJournal({ file, now: () => clock++ });
    const app = journal.forRepository('shop');
    await app.post({ sha, context: 'release-flow/main', state: 'pending', description: 'running' });
    await journal
      .forRepository('other')
      .post({ sha, context: 'release-flow/main', state: 'failure', description: 'not ours' });
    await app.post({
      sha,
      context: 'release-flow/main',
      state: 'success',
      description: 'released v1.0.0',
      targetUrl: 'http://ui/namespaces/default/workflows/main-commit%3Ashop%3Aabab',
    });
    await app.post({ sha, context: 'release-flow/staging', state: 'pending', description: 'deploying' });

    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 4, 'one line per status, nothing rewritten');
    assert.deepEqual(await journal.latest('shop', sha, 'release-flow/main'), {
      repository: 'shop',
      sha,
      context: 'release-flow/main',
      state: 'success',
      description: 'released v1.0.0',
      targetUrl: 'http://ui/namespaces/default/workflows/main-commit%3Ashop%3Aabab',
      postedAt: 1_002,
    });
    assert.equal((await journal.latest('other', sha, 'release-flow/main'))?.state, 'failure');
    assert.equal(await journal.latest('shop', 'cd'.repeat(20), 'release-flow/main'), undefined);
  });

  it('cuts a description to GitHub 140 characters, on one line', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'rf-statuses-')), 'statuses.jsonl');
    const journal = new StatusJournal({ file });
    await journal.post('shop', {
      sha,
      context: 'release-flow/main',
      state: 'failure',
      description: `failed at build:\n${'x'.repeat(300)}`,
    });
    const [entry] = await journal.entries();
    assert.equal(entry!.description.length, 140);
    assert.ok(entry!.description.startsWith('failed at build: xxx'));
    assert.ok(entry!.description.endsWith('...'));
  });
});
