import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { createArtifactActivities } from '../../src/activities/artifacts';
import { createDeployActivities, environmentKey } from '../../src/activities/deploy';
import { FilesystemRegistry } from '../../src/adapters/local/filesystem-registry';
import { LocalEnvironments } from '../../src/adapters/local/local-environments';

const REPO = 'acme/shop';

function artifactChanged(err: unknown): boolean {
  return err instanceof ApplicationFailure && err.type === 'ArtifactChanged' && err.nonRetryable === true;
}

/**
 * The registry's tag file rewritten behind release-flow's back, to name another stored blob
 * (what a person replacing a tag in the registry does).
 */
async function overwriteTag(root: string, repository: 'dev' | 'prod', tag: string, digest: string) {
  const file = path.join(root, repository, 'tags', encodeURIComponent(REPO), `${tag}.json`);
  const record = JSON.parse(await readFile(file, 'utf8')) as { digest: string };
  record.digest = digest;
  await writeFile(file, JSON.stringify(record));
}

describe('the digest check on every deploy and rollback (filesystem registry, local environments)', () => {
  let base: string;
  let registryRoot: string;
  let calls: string;
  let deploy: ReturnType<typeof createDeployActivities>;
  let environments: LocalEnvironments;
  const digests: Record<string, string> = {};

  before(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'rf-digest-'));
    registryRoot = path.join(base, 'registry');
    calls = path.join(base, 'calls.log');
    const registry = new FilesystemRegistry(registryRoot);
    const command = {
      argv: [
        'sh',
        '-c',
        'echo "$RELEASE_FLOW_ACTION $RELEASE_FLOW_ENV $RELEASE_FLOW_VERSION" >> "$RF_DIGEST_CALLS"',
      ],
    };
    process.env.RF_DIGEST_CALLS = calls;
    environments = new LocalEnvironments({
      dir: path.join(base, 'environments'),
      commands: {
        [environmentKey(REPO, 'production')]: { ...command, environment: 'production' },
        [environmentKey(REPO, 'staging')]: { ...command, environment: 'staging' },
      },
      inheritEnv: ['PATH', 'RF_DIGEST_CALLS'],
    });
    deploy = createDeployActivities({ environments, registry });
    const artifacts = createArtifactActivities({ registry });
    for (const [commit, version] of [
      ['c1', 'v1.0.0'],
      ['c2', 'v1.1.0'],
      ['c3', 'v1.2.0'],
    ] as const) {
      const file = path.join(base, `${commit}.tgz`);
      await writeFile(file, `build of ${commit}\n`);
      digests[commit] = (await artifacts.uploadArtifact({ repository: REPO, commit, file })).digest;
      await artifacts.tagArtifact({ repository: REPO, commit, version });
      await artifacts.promoteArtifact({ repository: REPO, version });
    }
  });
  after(async () => {
    delete process.env.RF_DIGEST_CALLS;
    await rm(base, { recursive: true, force: true });
  });

  const lines = async () => (await readFile(calls, 'utf8').catch(() => '')).split('\n').filter(Boolean);

  it('a deploy command is told the environment by its name, not the state key', async () => {
    await deploy.deployVersion({
      repository: REPO,
      env: 'production',
      version: 'v1.0.0',
      artifact: { repository: 'prod', tag: 'v1.0.0' },
      digest: digests.c1,
      by: 'test',
    });
    assert.deepEqual(await lines(), ['deploy production v1.0.0']);
  });

  it('a production rollback to a version whose production tag was overwritten is refused, nothing runs', async () => {
    await deploy.deployVersion({
      repository: REPO,
      env: 'production',
      version: 'v1.1.0',
      artifact: { repository: 'prod', tag: 'v1.1.0' },
      by: 'test',
    });
    const before = (await lines()).length;
    await overwriteTag(registryRoot, 'prod', 'v1.0.0', digests.c3!);
    await assert.rejects(
      deploy.rollbackEnvironment({
        repository: REPO,
        env: 'production',
        to: 'previous',
        fromVersion: 'v1.1.0',
        by: 'ana',
      }),
      (err: unknown) =>
        artifactChanged(err) &&
        (err as Error).message.includes(digests.c1!) &&
        (err as Error).message.includes(digests.c3!),
    );
    const state = await environments.state(environmentKey(REPO, 'production'));
    assert.equal(state.current?.version, 'v1.1.0', 'production still runs the version it ran');
    assert.equal((await lines()).length, before, 'the deploy command never ran');
  });

  it('a staging restore of the last good version whose tag was overwritten is refused', async () => {
    for (const [version, commit] of [
      ['v1.1.0', 'c2'],
      ['v1.2.0', 'c3'],
    ] as const) {
      await deploy.deployVersion({
        repository: REPO,
        env: 'staging',
        version,
        artifact: { repository: 'dev', tag: version },
        digest: digests[commit],
        by: 'test',
      });
      if (version === 'v1.1.0')
        await deploy.markGood({ repository: REPO, env: 'staging', version, by: 'test' });
    }
    await overwriteTag(registryRoot, 'dev', 'v1.1.0', digests.c1!);
    await assert.rejects(
      deploy.rollbackEnvironment({
        repository: REPO,
        env: 'staging',
        to: 'last-good',
        fromVersion: 'v1.2.0',
        by: 'tag:acme/shop:v1.2.0',
      }),
      artifactChanged,
    );
    assert.equal((await environments.state(environmentKey(REPO, 'staging'))).current?.version, 'v1.2.0');
    // Put back as it was: the same restore then goes through.
    await overwriteTag(registryRoot, 'dev', 'v1.1.0', digests.c2!);
    const restored = await deploy.rollbackEnvironment({
      repository: REPO,
      env: 'staging',
      to: 'last-good',
      fromVersion: 'v1.2.0',
      by: 'tag:acme/shop:v1.2.0',
    });
    assert.equal(restored.state.current?.version, 'v1.1.0');
    assert.equal((await lines()).at(-1), 'rollback staging v1.1.0');
  });

  it('a deploy whose tag names another digest than the pipeline stored is refused', async () => {
    await overwriteTag(registryRoot, 'dev', 'c2', digests.c1!);
    await assert.rejects(
      deploy.deployVersion({
        repository: REPO,
        env: 'dev',
        version: 'c2',
        artifact: { repository: 'dev', tag: 'c2' },
        digest: digests.c2,
        by: 'main-commit:acme/shop:c2',
      }),
      artifactChanged,
    );
    assert.equal((await environments.state(environmentKey(REPO, 'dev'))).current, null);
  });
});
