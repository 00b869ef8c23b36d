import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalEnvironments } from '../../src/adapters/local/local-environments';
import { createLocalFencedResource } from '../../src/adapters/local/fenced-resource';
import { DefinitiveFailure, FailureTypes } from '../../src/domain/failures';

function failsWith(type: string) {
  return (err: unknown) => err instanceof DefinitiveFailure && err.type === type;
}

describe('local environments', () => {
  let root: string;
  let calls: string;
  let environments: LocalEnvironments;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'rf-envs-'));
    calls = path.join(root, 'calls.log');
    const script = path.join(root, 'deploy.sh');
    // Records each call; fails when asked to deploy a version named "broken".
    await writeFile(
      script,
      'echo "$RELEASE_FLOW_ACTION $RELEASE_FLOW_ENV $RELEASE_FLOW_FROM_VERSION->$RELEASE_FLOW_VERSION $RELEASE_FLOW_DIGEST" >> "$CALLS"\n' +
        'if [ "$RELEASE_FLOW_VERSION" = broken ]; then echo "cluster says no" >&2; exit 4; fi\n',
    );
    process.env.RF_CALLS = calls;
    environments = new LocalEnvironments({
      dir: path.join(root, 'state'),
      commands: { production: { argv: ['sh', '-c', `CALLS="$RF_CALLS" sh ${script}`], timeoutMs: 5000 } },
      inheritEnv: ['PATH', 'RF_CALLS'],
      fencing: {
        resource: createLocalFencedResource(path.join(root, 'fences')),
        environments: { staging: 'staging' },
      },
    });
  });

  after(async () => {
    delete process.env.RF_CALLS;
    await rm(root, { recursive: true, force: true });
  });

  async function commandCalls(): Promise<string[]> {
    return (await readFile(calls, 'utf8').catch(() => '')).split('\n').filter(Boolean);
  }

  it('deploy records current and previous, runs the command once per change, and a repeat is a no-op', async () => {
    const first = await environments.deploy({
      env: 'production',
      version: 'v1.0.0',
      artifact: { digest: 'sha256:aa', uri: '/blobs/aa' },
      by: 'wf-1',
    });
    assert.equal(first.changed, true);
    assert.equal(first.state.current?.version, 'v1.0.0');
    assert.equal(first.state.previous, null);
    await environments.deploy({
      env: 'production',
      version: 'v1.1.0',
      artifact: { digest: 'sha256:bb', uri: '/b' },
      by: 'wf-2',
    });
    const repeat = await environments.deploy({
      env: 'production',
      version: 'v1.1.0',
      artifact: { digest: 'sha256:bb', uri: '/b' },
      by: 'wf-2',
    });
    assert.equal(repeat.changed, false);
    assert.match(repeat.note, /already runs v1.1.0/);
    const state = await environments.state('production');
    assert.equal(state.current?.version, 'v1.1.0');
    assert.equal(state.previous?.version, 'v1.0.0');
    assert.deepEqual(await commandCalls(), [
      'deploy production ->v1.0.0 sha256:aa',
      'deploy production v1.0.0->v1.1.0 sha256:bb',
    ]);
  });

  it('a failing deploy command changes nothing and quotes the command output', async () => {
    await assert.rejects(
      environments.deploy({ env: 'production', version: 'broken', by: 'wf-3' }),
      /deploy of broken to production: command exit 4.*\n[\s\S]*cluster says no/,
    );
    assert.equal((await environments.state('production')).current?.version, 'v1.1.0');
  });

  it('rollback to previous happens once, however often it is retried', async () => {
    const request = { env: 'production', to: 'previous' as const, fromVersion: 'v1.1.0', by: 'decision' };
    const rolled = await environments.rollback(request);
    assert.equal(rolled.changed, true);
    assert.equal(rolled.state.current?.version, 'v1.0.0');
    assert.equal(rolled.state.current?.digest, 'sha256:aa');
    assert.equal(rolled.state.previous, null);
    const retried = await environments.rollback(request);
    assert.equal(retried.changed, false);
    assert.match(retried.note, /v1.1.0 no longer runs/);
    assert.equal((await environments.state('production')).current?.version, 'v1.0.0');
    assert.equal((await commandCalls()).at(-1), 'rollback production v1.1.0->v1.0.0 sha256:aa');
    await assert.rejects(
      environments.rollback({ env: 'production', to: 'previous', by: 'x' }),
      failsWith(FailureTypes.invalidReference),
    );
  });

  it('rollback to last good skips versions that never passed', async () => {
    const env = 'dev';
    await environments.deploy({ env, version: 'v2.0.0', by: 'a' });
    await environments.markGood({ env, version: 'v2.0.0', by: 'a' });
    await environments.deploy({ env, version: 'v2.1.0', by: 'b' });
    await environments.deploy({ env, version: 'v2.2.0', by: 'c' });
    await assert.rejects(
      environments.markGood({ env, version: 'v2.1.0', by: 'b' }),
      failsWith(FailureTypes.versionNotCurrent),
    );
    const rolled = await environments.rollback({ env, to: 'last-good', by: 'cleanup' });
    assert.equal(rolled.changed, true);
    assert.equal(rolled.state.current?.version, 'v2.0.0');
    assert.equal(rolled.state.lastGood?.version, 'v2.0.0');
    const again = await environments.rollback({ env, to: 'last-good', by: 'cleanup' });
    assert.equal(again.changed, false);
    const none = await environments.rollback({ env: 'fresh', to: 'last-good', by: 'cleanup' });
    assert.equal(none.changed, false);
    assert.match(none.note, /no last good version/);
  });

  it('staging needs a fencing token and refuses one older than the newest seen', async () => {
    await assert.rejects(
      environments.deploy({ env: 'staging', version: 'v3.0.0', by: 'tag-v3' }),
      failsWith(FailureTypes.fencingTokenRequired),
    );
    await environments.deploy({ env: 'staging', version: 'v3.0.0', by: 'tag-v3', fencingToken: 5 });
    // The lock moved on to token 6 (a forced acquisition); its holder rolls staging back.
    await environments.rollback({ env: 'staging', to: 'last-good', by: 'emergency', fencingToken: 6 });
    await assert.rejects(
      environments.markGood({ env: 'staging', version: 'v3.0.0', by: 'tag-v3', fencingToken: 5 }),
      (err: unknown) =>
        failsWith(FailureTypes.staleFencingToken)(err) && /older than 6/.test((err as Error).message),
    );
    await assert.rejects(
      environments.deploy({ env: 'staging', version: 'v3.0.1', by: 'tag-v3', fencingToken: 5 }),
      failsWith(FailureTypes.staleFencingToken),
    );
    const state = await environments.state('staging');
    assert.equal(state.current?.version, 'v3.0.0');
    assert.equal(state.lastGood, null);
    assert.deepEqual(
      state.history.map((h) => [h.action, h.version, h.fencingToken]),
      [['deploy', 'v3.0.0', 5]],
    );
    const current = await environments.deploy({
      env: 'staging',
      version: 'v3.0.1',
      by: 'tag-v3.0.1',
      fencingToken: 6,
    });
    assert.equal(current.state.current?.version, 'v3.0.1');
  });

  it('concurrent deploys to one environment are serialised and each change is recorded', async () => {
    const versions = Array.from({ length: 8 }, (_, i) => `v4.0.${i}`);
    await Promise.all(versions.map((version) => environments.deploy({ env: 'load', version, by: version })));
    const state = await environments.state('load');
    assert.equal(state.history.length, versions.length);
    assert.deepEqual([...state.history.map((h) => h.version)].sort(), versions);
    assert.equal(state.current?.version, state.history.at(-1)?.version);
  });

  it('a version marked bad is never the last good one again: restore returns to the good one before it', async () => {
    const env = 'marked';
    for (const v of ['v1.0.0', 'v1.1.0']) {
      await environments.deploy({ env, version: v, by: `tag-${v}` });
      await environments.markGood({ env, version: v, by: `tag-${v}` });
    }
    const bad = await environments.markBad({ env, version: 'v1.1.0', by: 'production', reason: 'breach' });
    assert.equal(bad.state.lastGood?.version, 'v1.0.0', 'last good skips the bad version');
    assert.deepEqual(
      bad.state.bad?.map((b) => [b.version, b.reason]),
      [['v1.1.0', 'breach']],
    );
    const again = await environments.markBad({ env, version: 'v1.1.0', by: 'production', reason: 'x' });
    assert.equal(again.changed, false, 'marking twice changes nothing');
    const back = await environments.rollback({ env, to: 'last-good', by: 'rollback' });
    assert.equal(back.state.current?.version, 'v1.0.0');
    await environments.deploy({ env, version: 'v1.2.0', by: 'tag-v1.2.0' });
    const failed = await environments.rollback({ env, to: 'last-good', fromVersion: 'v1.2.0', by: 'tag' });
    assert.equal(failed.state.current?.version, 'v1.0.0', 'a later failure never restores the bad version');
    await environments.deploy({ env, version: 'v1.1.0', by: 'again' });
    await assert.rejects(
      environments.markGood({ env, version: 'v1.1.0', by: 'again' }),
      failsWith(FailureTypes.versionNotCurrent),
      'a bad version cannot be marked good',
    );
  });

  it('rolling back to the previous version skips versions marked bad', async () => {
    const env = 'skipbad';
    for (const v of ['v2.0.0', 'v2.1.0', 'v2.2.0']) await environments.deploy({ env, version: v, by: v });
    await environments.markBad({ env, version: 'v2.1.0', by: 'p', reason: 'breach' });
    const back = await environments.rollback({ env, to: 'previous', fromVersion: 'v2.2.0', by: 'p' });
    assert.equal(back.state.current?.version, 'v2.0.0');
  });

  it('marking bad a fenced environment needs no token (nothing runs)', async () => {
    const result = await environments.markBad({ env: 'staging', version: 'v9.9.9', by: 'p', reason: 'r' });
    assert.equal(result.changed, true);
  });

  it('refuses environment names that are not plain names', async () => {
    for (const env of ['../etc', 'Prod', '', 'a/b']) {
      await assert.rejects(environments.state(env), failsWith(FailureTypes.invalidReference));
    }
  });
});
