import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { environmentKey } from '../../src/activities/deploy';
import { LocalEnvironments } from '../../src/adapters/local/local-environments';
import { LocalIncidents } from '../../src/adapters/local/local-incidents';
import { waitingForOf } from '../../src/cli/status-command';
import type { LockStatus } from '../../src/workflows/lock/messages';
import { cli } from '../helpers/cli';

async function setup() {
  const root = await mkdtemp(path.join(os.tmpdir(), 'rf-hotfix-cli-'));
  const stateDir = path.join(root, 'state');
  const config = path.join(root, 'release-flow.yaml');
  await writeFile(
    config,
    `stateDir: ${JSON.stringify(stateDir)}\nrepositories:\n  - name: acme/shop\n  - name: acme/cart\n`,
  );
  return { stateDir, config };
}

describe('release-flow environments, hotfix status and waitingFor', () => {
  it('environments --json: running, last good and bad versions per repository and environment', async () => {
    const { stateDir, config } = await setup();
    const envs = new LocalEnvironments({ dir: path.join(stateDir, 'environments') });
    const env = environmentKey('acme/shop', 'production');
    for (const v of ['v1.2.0', 'v1.3.0']) {
      await envs.deploy({ env, version: v, by: 't' });
      await envs.markGood({ env, version: v, by: 't' });
    }
    await envs.markBad({ env, version: 'v1.3.0', by: 'rollback', reason: 'breach' });
    await envs.rollback({ env, to: 'previous', fromVersion: 'v1.3.0', by: 'rollback' });
    const { code, out } = await cli(['environments', '--json', '--config', config]);
    assert.equal(code, 0);
    const entries = JSON.parse(out) as {
      repository: string;
      env: string;
      running: string | null;
      lastGood: string | null;
      bad: string[];
    }[];
    assert.equal(entries.length, 6, 'every configured repository, dev, staging and production');
    assert.deepEqual(
      entries.find((e) => e.repository === 'acme/shop' && e.env === 'production'),
      { repository: 'acme/shop', env: 'production', running: 'v1.2.0', lastGood: 'v1.2.0', bad: ['v1.3.0'] },
    );
    const text = await cli(['environments', '--config', config]);
    assert.match(text.out, /acme\/shop production: running v1\.2\.0, last good v1\.2\.0, bad v1\.3\.0/);
  });

  it('hotfix status: an array, one object for an id, a clear error for an unknown one', async () => {
    const { stateDir, config } = await setup();
    await new LocalIncidents(stateDir).open({
      id: 'HOT-1',
      repository: 'acme/shop',
      branch: 'HOT-1',
      brokenVersion: 'v1.4.0',
      decision: { name: 'emergency', by: 'ana', at: '2026-01-01T00:00:00.000Z', reason: 'checkout down' },
      openedAt: '2026-01-01T00:00:00.000Z',
    });
    const all = JSON.parse((await cli(['hotfix', 'status', '--json', '--config', config])).out) as unknown[];
    assert.equal(all.length, 1);
    const one = JSON.parse((await cli(['hotfix', 'status', 'HOT-1', '--json', '--config', config])).out);
    assert.deepEqual(Object.keys(one).sort(), [
      'branch',
      'brokenVersion',
      'closedAt',
      'decision',
      'hotfixVersions',
      'id',
      'openedAt',
      'pullRequest',
      'repository',
      'state',
    ]);
    assert.equal(one.state, 'open');
    assert.equal(one.pullRequest, null);
    const missing = await cli(['hotfix', 'status', 'HOT-9', '--config', config]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /no incident HOT-9/);
  });

  it('start hotfix refuses a branch that is not HOT-<n>, naming it', async () => {
    const { config } = await setup();
    const result = await cli([
      'start',
      'hotfix',
      '--repo',
      'acme/shop',
      '--branch',
      'ana/JIRA-1',
      '--config',
      config,
    ]);
    assert.equal(result.code, 2);
    assert.match(result.err, /ana\/JIRA-1 is not a hotfix branch/);
  });

  it('lock mode refuses a mode it does not know before reaching Temporal', async () => {
    const { config } = await setup();
    const result = await cli([
      'lock',
      'mode',
      'staging',
      'off',
      '--by',
      'ana',
      '--reason',
      'x',
      '--config',
      config,
    ]);
    assert.equal(result.code, 2);
    assert.match(result.err, /"off" is not a lock mode/);
  });

  it('waitingFor names the lock, mode, incident, since and by for a normal request queued in hotfix-only mode', () => {
    const lock = {
      resource: 'staging',
      mode: {
        mode: 'hotfixOnly',
        by: 'ana',
        reason: 'HOT-2: emergency in acme/shop v1.4.0',
        since: '2026-01-01T00:00:05.000Z',
      },
      queue: [
        {
          workflowId: 'tag:acme/cart:v2.0.0',
          requestId: 'r',
          purpose: 'p',
          priority: 'normal',
          waitingSince: '2026-01-01T00:00:01.000Z',
        },
        {
          workflowId: 'tag:acme/shop:v1.4.1',
          requestId: 'h',
          purpose: 'p',
          priority: 'hotfix',
          waitingSince: '2026-01-01T00:00:09.000Z',
        },
      ],
    } as unknown as LockStatus;
    assert.deepEqual(waitingForOf(lock, 'tag:acme/cart:v2.0.0'), {
      resource: 'staging',
      mode: 'hotfixOnly',
      incident: 'HOT-2',
      incidents: ['HOT-2'],
      since: '2026-01-01T00:00:05.000Z',
      by: 'ana',
    });
    const twoHolds = {
      ...lock,
      incidents: [
        { id: 'HOT-2', repository: 'acme/shop', by: 'ana', since: '2026-01-01T00:00:05.000Z' },
        { id: 'HOT-3', repository: 'acme/web', by: 'bo', since: '2026-01-01T00:00:07.000Z' },
      ],
    } as LockStatus;
    assert.deepEqual(
      waitingForOf(twoHolds, 'tag:acme/cart:v2.0.0')?.incidents,
      ['HOT-2', 'HOT-3'],
      'every incident holding staging is named',
    );
    assert.equal(
      waitingForOf(lock, 'tag:acme/shop:v1.4.1'),
      undefined,
      'a hotfix does not wait for the mode',
    );
    assert.equal(
      waitingForOf({ ...lock, mode: { ...lock.mode, mode: 'normal' } }, 'tag:acme/cart:v2.0.0'),
      undefined,
    );
  });
});
