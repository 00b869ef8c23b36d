/**
 * Artifact registry activities. Tags are the idempotency keys: a retried upload or promotion
 * finds its own earlier work (same digest) and a tag naming another digest is a definitive
 * TagConflict.
 */
import type { Registry, TagResult } from '../ports/registry';
import { definitive } from './definitive';

export interface ArtifactPorts {
  registry: Registry;
}

export function createArtifactActivities(ports: ArtifactPorts) {
  return {
    /** Stores a built artifact in the dev repository, tagged with its commit hash. */
    async uploadArtifact(input: { repository: string; commit: string; file: string }): Promise<TagResult> {
      return await definitive(() =>
        ports.registry.upload({
          repository: 'dev',
          artifact: input.repository,
          tag: input.commit,
          file: input.file,
        }),
      );
    },

    /** Gives the artifact built from `commit` its release version as a second tag (dev repository). */
    async tagArtifact(input: { repository: string; commit: string; version: string }): Promise<TagResult> {
      return await definitive(() =>
        ports.registry.addTag({
          repository: 'dev',
          artifact: input.repository,
          from: input.commit,
          tag: input.version,
        }),
      );
    },

    /** Copies a released version from the dev repository to the production repository. */
    async promoteArtifact(input: { repository: string; version: string }): Promise<TagResult> {
      return await definitive(() =>
        ports.registry.copy({ artifact: input.repository, tag: input.version, from: 'dev', to: 'prod' }),
      );
    },
  };
}
