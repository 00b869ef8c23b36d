import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createArtifactActivities } from '../../src/activities/artifacts';
import { createDeployActivities } from '../../src/activities/deploy';
import { LocalEnvironments } from '../../src/adapters/local/local-environments';
import { findOras, OrasRegistry } from '../../src/adapters/oci/oras-registry';
import { projectRoot } from '../../src/common/package-info';
import { environmentKey } from '../../src/activities/deploy';
import { startRegistry, type RunningRegistry } from '../helpers/real-servers';

describe('OCI registry adapter against a real distribution registry (oras)', () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'rf-oci-'));
  const oras = findOras(process.env, projectRoot);
  let registry: RunningRegistry;
  let oci: OrasRegistry;
  const artifact = path.join(base, 'app.tgz');

  before(async () => {
    assert.ok(oras, 'oras is installed (.tools/bin/oras, PATH or RELEASE_FLOW_ORAS_PATH)');
    registry = await startRegistry();
    oci = new OrasRegistry({
      url: `http://${registry.host}`,
      devRepository: 'release-flow/dev/{artifact}',
      prodRepository: 'release-flow/prod/{artifact}',
      artifactType: 'application/vnd.release-flow.artifact.v1',
      stateDir: path.join(base, 'state'),
      oras: oras!,
    });
    writeFileSync(artifact, 'build of abc123\n');
  });
  after(async () => {
    await registry?.stop();
  });

  it('pushes to dev under the commit, tags the version, copies to prod by digest with blob mounts', async () => {
    const artifacts = createArtifactActivities({ registry: oci });
    const pushed = await artifacts.uploadArtifact({
      repository: 'Acme/App',
      commit: 'abc123',
      file: artifact,
    });
    assert.equal(pushed.created, true);
    assert.match(pushed.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(pushed.uri, `${registry.host}/release-flow/dev/acme/app@${pushed.digest}`);
    const again = await artifacts.uploadArtifact({
      repository: 'Acme/App',
      commit: 'abc123',
      file: artifact,
    });
    assert.deepEqual(
      { created: again.created, digest: again.digest },
      { created: false, digest: pushed.digest },
      'a retried push finds its own artifact',
    );

    const tagged = await artifacts.tagArtifact({
      repository: 'Acme/App',
      commit: 'abc123',
      version: 'v1.0.0',
    });
    assert.equal(tagged.digest, pushed.digest);
    const promoted = await artifacts.promoteArtifact({ repository: 'Acme/App', version: 'v1.0.0' });
    assert.equal(promoted.digest, pushed.digest, 'the production copy has the same digest');
    assert.equal(promoted.repository, 'prod');
    assert.match(
      registry.log(),
      /POST \/v2\/release-flow\/prod\/acme\/app\/blobs\/uploads\/\?mount=sha256:[0-9a-f]+&from=release-flow\/dev\/acme\/app/,
      'blobs were mounted, not uploaded again',
    );
    const resolved = await oci.resolve({ repository: 'prod', artifact: 'Acme/App', tag: 'v1.0.0' });
    assert.equal(resolved?.digest, pushed.digest);
    assert.equal(await oci.resolve({ repository: 'prod', artifact: 'Acme/App', tag: 'v9.9.9' }), null);
  });

  it('a different build under an existing tag is a TagConflict', async () => {
    const other = path.join(base, 'other.tgz');
    writeFileSync(other, 'another build\n');
    await assert.rejects(
      oci.upload({ repository: 'dev', artifact: 'Acme/App', tag: 'abc123', file: other }),
      (err: Error & { type?: string }) => err.name === 'TagConflict',
    );
  });

  it('the deploy gets the digest (and the fencing token); a tampered artifact is refused before deploy', async () => {
    const out = path.join(base, 'deploy-env.txt');
    const environments = new LocalEnvironments({
      dir: path.join(base, 'environments'),
      commands: {
        [environmentKey('Acme/App', 'production')]: {
          argv: [
            'sh',
            '-c',
            'printf "%s %s %s" "$RELEASE_FLOW_DIGEST" "$RELEASE_FLOW_ARTIFACT" "$RELEASE_FLOW_FENCING_TOKEN" > "$OUT"',
          ],
        },
      },
      inheritEnv: ['PATH', 'OUT'],
    });
    process.env.OUT = out;
    const deploy = createDeployActivities({ environments, registry: oci });
    const expected = (await oci.resolve({ repository: 'prod', artifact: 'Acme/App', tag: 'v1.0.0' }))!;
    await deploy.deployVersion({
      repository: 'Acme/App',
      env: 'production',
      version: 'v1.0.0',
      artifact: { repository: 'prod', tag: 'v1.0.0' },
      by: 'test',
      fencingToken: 7,
    });
    assert.equal(readFileSync(out, 'utf8'), `${expected.digest} ${expected.uri} 7`);

    // Someone replaces prod:v1.0.0 behind release-flow's back.
    const evil = path.join(base, 'evil.tgz');
    writeFileSync(evil, 'not what was tested\n');
    execFileSync(
      oras!,
      ['push', '--plain-http', '--no-tty', `${registry.host}/release-flow/prod/acme/app:v1.0.0`, 'evil.tgz'],
      { cwd: base, env: { PATH: process.env.PATH, HOME: base } },
    );
    await assert.rejects(
      deploy.deployVersion({
        repository: 'Acme/App',
        env: 'production',
        version: 'v1.0.0',
        artifact: { repository: 'prod', tag: 'v1.0.0' },
        by: 'test-2',
      }),
      (err: unknown) =>
        err instanceof ApplicationFailure &&
        err.type === 'ArtifactChanged' &&
        err.nonRetryable === true &&
        err.message.includes(expected.digest),
    );
    const state = await environments.state(environmentKey('Acme/App', 'production'));
    assert.equal(state.current?.by, 'test', 'the tampered artifact was not deployed');
  });

  it('a production rollback to a version whose production tag was overwritten is refused (ArtifactChanged)', async () => {
    const calls = path.join(base, 'rollback-calls.txt');
    const environments = new LocalEnvironments({
      dir: path.join(base, 'rollback-environments'),
      commands: {
        [environmentKey('Acme/Rollback', 'production')]: {
          argv: [
            'sh',
            '-c',
            'echo "$RELEASE_FLOW_ACTION $RELEASE_FLOW_ENV $RELEASE_FLOW_VERSION" >> "$CALLS"',
          ],
          environment: 'production',
        },
      },
      inheritEnv: ['PATH', 'CALLS'],
    });
    process.env.CALLS = calls;
    const artifacts = createArtifactActivities({ registry: oci });
    const deploy = createDeployActivities({ environments, registry: oci });
    for (const [commit, version] of [
      ['aaa111', 'v1.0.0'],
      ['bbb222', 'v1.1.0'],
    ] as const) {
      const file = path.join(base, `${commit}.tgz`);
      writeFileSync(file, `build of ${commit}\n`);
      await artifacts.uploadArtifact({ repository: 'Acme/Rollback', commit, file });
      await artifacts.tagArtifact({ repository: 'Acme/Rollback', commit, version });
      const copied = await artifacts.promoteArtifact({ repository: 'Acme/Rollback', version });
      await deploy.deployVersion({
        repository: 'Acme/Rollback',
        env: 'production',
        version,
        artifact: { repository: 'prod', tag: version },
        digest: copied.digest,
        by: `production:acme/rollback:${version}`,
      });
    }
    // The previous version's production tag is replaced in the registry, as a person with push rights can.
    writeFileSync(path.join(base, 'replaced.tgz'), 'a replaced v1.0.0\n');
    execFileSync(
      oras!,
      [
        'push',
        '--plain-http',
        '--no-tty',
        `${registry.host}/release-flow/prod/acme/rollback:v1.0.0`,
        'replaced.tgz',
      ],
      { cwd: base, env: { PATH: process.env.PATH, HOME: base } },
    );
    await assert.rejects(
      deploy.rollbackEnvironment({
        repository: 'Acme/Rollback',
        env: 'production',
        to: 'previous',
        fromVersion: 'v1.1.0',
        by: 'ana',
      }),
      (err: unknown) =>
        err instanceof ApplicationFailure && err.type === 'ArtifactChanged' && err.nonRetryable,
    );
    const state = await environments.state(environmentKey('Acme/Rollback', 'production'));
    assert.equal(state.current?.version, 'v1.1.0', 'production still runs v1.1.0');
    assert.deepEqual(readFileSync(calls, 'utf8').trim().split('\n'), [
      'deploy production v1.0.0',
      'deploy production v1.1.0',
    ]);
  });
});
