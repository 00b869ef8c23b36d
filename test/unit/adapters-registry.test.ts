import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FilesystemRegistry } from '../../src/adapters/local/filesystem-registry';
import { DefinitiveFailure, FailureTypes } from '../../src/domain/failures';

const commit = 'a'.repeat(40);

function failsWith(type: string) {
  return (err: unknown) => err instanceof DefinitiveFailure && err.type === type;
}

describe('filesystem registry', () => {
  let root: string;
  let registry: FilesystemRegistry;
  let build1: string;
  let build2: string;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'rf-registry-'));
    registry = new FilesystemRegistry(path.join(root, 'registry'));
    build1 = path.join(root, 'build1.tgz');
    build2 = path.join(root, 'build2.tgz');
    await writeFile(build1, 'artifact one');
    await writeFile(build2, 'artifact two');
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('stores an upload under its sha256 and points the commit tag at it', async () => {
    const result = await registry.upload({
      repository: 'dev',
      artifact: 'acme/app',
      tag: commit,
      file: build1,
    });
    const expected = `sha256:${createHash('sha256').update('artifact one').digest('hex')}`;
    assert.equal(result.digest, expected);
    assert.equal(result.size, 'artifact one'.length);
    assert.equal(result.created, true);
    assert.equal(await readFile(result.uri, 'utf8'), 'artifact one');
    assert.deepEqual(await registry.resolve({ repository: 'dev', artifact: 'acme/app', tag: commit }), {
      repository: 'dev',
      artifact: 'acme/app',
      tag: commit,
      digest: expected,
      size: result.size,
      uri: result.uri,
    });
    // A later change to the uploaded file does not reach the stored blob.
    await writeFile(build1, 'changed after upload');
    assert.equal(await readFile(result.uri, 'utf8'), 'artifact one');
    await writeFile(build1, 'artifact one');
  });

  it('re-uploading the same content under the same tag is a no-op; other content is a TagConflict', async () => {
    const again = await registry.upload({
      repository: 'dev',
      artifact: 'acme/app',
      tag: commit,
      file: build1,
    });
    assert.equal(again.created, false);
    await assert.rejects(
      registry.upload({ repository: 'dev', artifact: 'acme/app', tag: commit, file: build2 }),
      (err: unknown) =>
        failsWith(FailureTypes.tagConflict)(err) && /already points at/.test((err as Error).message),
    );
    const still = await registry.resolve({ repository: 'dev', artifact: 'acme/app', tag: commit });
    assert.equal(still?.digest, again.digest);
  });

  it('tags an existing artifact with its version, by tag or by digest, idempotently', async () => {
    const tagged = await registry.addTag({
      repository: 'dev',
      artifact: 'acme/app',
      from: commit,
      tag: 'v1.0.0',
    });
    assert.equal(tagged.created, true);
    const byDigest = await registry.addTag({
      repository: 'dev',
      artifact: 'acme/app',
      from: tagged.digest,
      tag: 'v1.0.0',
    });
    assert.equal(byDigest.created, false);
    const other = await registry.upload({
      repository: 'dev',
      artifact: 'acme/app',
      tag: 'b'.repeat(40),
      file: build2,
    });
    await assert.rejects(
      registry.addTag({ repository: 'dev', artifact: 'acme/app', from: other.digest, tag: 'v1.0.0' }),
      failsWith(FailureTypes.tagConflict),
    );
    await assert.rejects(
      registry.addTag({ repository: 'dev', artifact: 'acme/app', from: 'c'.repeat(40), tag: 'v1.0.1' }),
      failsWith(FailureTypes.artifactNotFound),
    );
    assert.equal(await registry.resolve({ repository: 'dev', artifact: 'acme/app', tag: 'v1.0.1' }), null);
  });

  it('copies a version from dev to prod once; prod does not see dev-only tags', async () => {
    assert.equal(await registry.resolve({ repository: 'prod', artifact: 'acme/app', tag: 'v1.0.0' }), null);
    const copied = await registry.copy({ artifact: 'acme/app', tag: 'v1.0.0', from: 'dev', to: 'prod' });
    assert.equal(copied.created, true);
    assert.equal(copied.repository, 'prod');
    assert.equal(await readFile(copied.uri, 'utf8'), 'artifact one');
    const again = await registry.copy({ artifact: 'acme/app', tag: 'v1.0.0', from: 'dev', to: 'prod' });
    assert.equal(again.created, false);
    assert.equal(again.digest, copied.digest);
    assert.equal(await registry.resolve({ repository: 'prod', artifact: 'acme/app', tag: commit }), null);
    await assert.rejects(
      registry.copy({ artifact: 'acme/app', tag: 'v9.9.9', from: 'dev', to: 'prod' }),
      failsWith(FailureTypes.artifactNotFound),
    );
  });

  it('concurrent taggings of one tag with different digests leave exactly one winner', async () => {
    const a = await registry.upload({ repository: 'dev', artifact: 'race', tag: 'a', file: build1 });
    const b = await registry.upload({ repository: 'dev', artifact: 'race', tag: 'b', file: build2 });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        registry.addTag({
          repository: 'dev',
          artifact: 'race',
          from: i % 2 ? a.digest : b.digest,
          tag: 'v2.0.0',
        }),
      ),
    );
    const winner = (await registry.resolve({ repository: 'dev', artifact: 'race', tag: 'v2.0.0' }))!.digest;
    for (const [i, result] of results.entries()) {
      const digest = i % 2 ? a.digest : b.digest;
      if (digest === winner) assert.equal(result.status, 'fulfilled');
      else assert.ok(result.status === 'rejected' && failsWith(FailureTypes.tagConflict)(result.reason));
    }
    assert.equal(results.filter((r) => r.status === 'fulfilled' && r.value.created).length, 1);
  });

  it('refuses names that could leave the registry directory', async () => {
    for (const tag of ['../escape', 'a/b', '', '.hidden', 'x'.repeat(129)]) {
      await assert.rejects(
        registry.upload({ repository: 'dev', artifact: 'acme/app', tag, file: build1 }),
        failsWith(FailureTypes.invalidReference),
        tag,
      );
    }
    for (const artifact of ['../x', 'a//b', '/abs', 'a/../b']) {
      await assert.rejects(
        registry.resolve({ repository: 'dev', artifact, tag: 'v1.0.0' }),
        failsWith(FailureTypes.invalidReference),
        artifact,
      );
    }
    await assert.rejects(
      registry.resolve({ repository: 'staging' as 'dev', artifact: 'a', tag: 'v1.0.0' }),
      failsWith(FailureTypes.invalidReference),
    );
    assert.deepEqual((await readdir(path.join(root, 'registry'))).sort(), ['dev', 'prod']);
  });
});
