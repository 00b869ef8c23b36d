import '../helpers/runtime';
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cli } from '../helpers/cli';

describe('release-flow replay', () => {
  it('replays a folder of exported histories and says every one is clean', async () => {
    // One workflow type's folder of the recorded fixtures (test/replay/histories/<workflowType>/).
    const r = await cli(['replay', path.join(__dirname, 'histories', 'productionReleaseWorkflow'), '--json']);
    assert.equal(r.code, 0, r.out);
    const report = JSON.parse(r.out) as { replayed: number; failed: number };
    assert.ok(report.replayed >= 7);
    assert.equal(report.failed, 0);
  });

  it('exits 1 naming the history that no longer replays', async () => {
    const r = await cli(['replay', path.join(__dirname, 'broken')]);
    assert.equal(r.code, 1);
    assert.match(r.out, /FAIL lock-renamed-activity\.json/);
    assert.match(r.out, /nondeterminism/i);
  });

  it('a missing path is one clear line', async () => {
    const r = await cli(['replay', '/nope/histories']);
    assert.equal(r.code, 2);
    assert.match(r.err, /NO_SUCH_FILE: \/nope\/histories does not exist/);
  });
});
