/**
 * The artifact registry as a directory tree:
 *
 *   <root>/<repository>/blobs/sha256/<hex>                    content, named by its own digest
 *   <root>/<repository>/tags/<artifact, URI-encoded>/<tag>.json   { digest, size, taggedAt }
 *
 * Blobs are written to a temporary file and renamed, so a crash never leaves a partial blob
 * under a digest name; tags are created with an exclusive link, so two racing writers cannot
 * both win and the loser sees the winner's digest.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, link, mkdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { DefinitiveFailure, FailureTypes } from '../../domain/failures';
import type { ArtifactLocation, ArtifactRepository, Digest, Registry, TagResult } from '../../ports/registry';
import { ArtifactRepositories } from '../../ports/registry';
import { createFileExclusive, readJsonFile } from './durable-files';

interface TagRecord {
  digest: Digest;
  size: number;
  taggedAt: string;
}

// OCI's tag grammar: also keeps `..` and slashes out of file names.
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const ARTIFACT = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

function invalid(message: string): DefinitiveFailure {
  return new DefinitiveFailure(FailureTypes.invalidReference, message);
}

async function sha256File(file: string): Promise<{ digest: Digest; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

export class FilesystemRegistry implements Registry {
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async upload(request: {
    repository: ArtifactRepository;
    artifact: string;
    tag: string;
    file: string;
  }): Promise<TagResult> {
    this.check(request.repository, request.artifact, request.tag);
    const info = await stat(request.file).catch(() => null);
    if (!info?.isFile()) throw invalid(`upload: ${request.file} is not a file`);
    const { digest, size } = await sha256File(request.file);
    await this.storeBlob(request.repository, digest, request.file, false);
    return this.pointTag(request.repository, request.artifact, request.tag, digest, size);
  }

  async addTag(request: {
    repository: ArtifactRepository;
    artifact: string;
    from: string;
    tag: string;
  }): Promise<TagResult> {
    this.check(request.repository, request.artifact, request.tag);
    const source = await this.lookup(request.repository, request.artifact, request.from);
    return this.pointTag(request.repository, request.artifact, request.tag, source.digest, source.size);
  }

  async copy(request: {
    artifact: string;
    tag: string;
    from: ArtifactRepository;
    to: ArtifactRepository;
  }): Promise<TagResult> {
    this.check(request.from, request.artifact, request.tag);
    this.check(request.to, request.artifact, request.tag);
    const source = await this.lookup(request.from, request.artifact, request.tag);
    await this.storeBlob(request.to, source.digest, this.blobPath(request.from, source.digest), true);
    return this.pointTag(request.to, request.artifact, request.tag, source.digest, source.size);
  }

  async resolve(request: {
    repository: ArtifactRepository;
    artifact: string;
    tag: string;
  }): Promise<ArtifactLocation | null> {
    this.check(request.repository, request.artifact, request.tag);
    const record = await readJsonFile<TagRecord>(
      this.tagPath(request.repository, request.artifact, request.tag),
    );
    return record ? this.location(request.repository, request.artifact, request.tag, record) : null;
  }

  private check(repository: string, artifact: string, tag: string): void {
    if (!Object.values(ArtifactRepositories).includes(repository as ArtifactRepository)) {
      throw invalid(`unknown artifact repository ${JSON.stringify(repository)} (expected dev or prod)`);
    }
    if (!ARTIFACT.test(artifact)) throw invalid(`invalid artifact name ${JSON.stringify(artifact)}`);
    if (!TAG.test(tag))
      throw invalid(`invalid tag ${JSON.stringify(tag)} (letters, digits, . _ -; at most 128)`);
  }

  /** A tag or a digest, resolved to its digest and size; a definitive ArtifactNotFound otherwise. */
  private async lookup(
    repository: ArtifactRepository,
    artifact: string,
    from: string,
  ): Promise<{ digest: Digest; size: number }> {
    if (DIGEST.test(from)) {
      const info = await stat(this.blobPath(repository, from as Digest)).catch(() => null);
      if (info) return { digest: from as Digest, size: info.size };
    } else if (TAG.test(from)) {
      const record = await readJsonFile<TagRecord>(this.tagPath(repository, artifact, from));
      if (record) return record;
    } else {
      throw invalid(`${JSON.stringify(from)} is neither a tag nor a sha256 digest`);
    }
    throw new DefinitiveFailure(
      FailureTypes.artifactNotFound,
      `${artifact}:${from} is not in the ${repository} repository`,
      {
        repository,
        artifact,
        reference: from,
      },
    );
  }

  /** `shareable`: the source is itself a blob (immutable), so a hard link is safe. */
  private async storeBlob(
    repository: ArtifactRepository,
    digest: Digest,
    source: string,
    shareable: boolean,
  ): Promise<void> {
    const target = this.blobPath(repository, digest);
    if (await stat(target).catch(() => null)) return;
    await mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    // Between repositories a hard link shares the bytes; a user's file is copied, since a link
    // would let a later write to that file change a stored blob.
    if (
      !shareable ||
      !(await link(source, temporary).then(
        () => true,
        () => false,
      ))
    ) {
      await copyFile(source, temporary);
    }
    try {
      // The content is checked after it is in place, so a file changed mid-upload never lands under the wrong name.
      const written = await sha256File(temporary);
      if (written.digest !== digest)
        throw new Error(`content of ${source} changed while it was stored; retry`);
      await chmod(temporary, 0o444);
      await rename(temporary, target);
    } finally {
      await unlink(temporary).catch(() => undefined);
    }
  }

  private async pointTag(
    repository: ArtifactRepository,
    artifact: string,
    tag: string,
    digest: Digest,
    size: number,
  ): Promise<TagResult> {
    const file = this.tagPath(repository, artifact, tag);
    const record: TagRecord = { digest, size, taggedAt: new Date().toISOString() };
    const created = await createFileExclusive(file, `${JSON.stringify(record, null, 2)}\n`);
    const existing = created ? record : await readJsonFile<TagRecord>(file);
    if (!existing) throw new Error(`tag ${artifact}:${tag} vanished while being read; retry`);
    if (existing.digest !== digest) {
      throw new DefinitiveFailure(
        FailureTypes.tagConflict,
        `${repository} ${artifact}:${tag} already points at ${existing.digest}, not ${digest}; a released tag never moves`,
        { repository, artifact, tag, existing: existing.digest, requested: digest },
      );
    }
    return { ...this.location(repository, artifact, tag, existing), created };
  }

  private location(
    repository: ArtifactRepository,
    artifact: string,
    tag: string,
    record: TagRecord,
  ): ArtifactLocation {
    return {
      repository,
      artifact,
      tag,
      digest: record.digest,
      size: record.size,
      uri: this.blobPath(repository, record.digest),
    };
  }

  private blobPath(repository: ArtifactRepository, digest: Digest): string {
    return path.join(this.root, repository, 'blobs', 'sha256', digest.slice('sha256:'.length));
  }

  private tagPath(repository: ArtifactRepository, artifact: string, tag: string): string {
    return path.join(this.root, repository, 'tags', encodeURIComponent(artifact), `${tag}.json`);
  }
}
