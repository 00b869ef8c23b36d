/**
 * The artifact registry: a dev and a prod repository of build artifacts, tags as pointers to
 * content digests. Tags are the idempotency keys: tagging a digest that a tag already names is a
 * no-op, and a tag that names another digest is a definitive `TagConflict` (see domain/failures.ts),
 * so a retried upload or promotion can never move a released version.
 */

export const ArtifactRepositories = {
  /** Every build of main, tagged with its commit id and, once released, its version. */
  dev: 'dev',
  /** Only versions promoted to production. */
  prod: 'prod',
} as const;
export type ArtifactRepository = (typeof ArtifactRepositories)[keyof typeof ArtifactRepositories];

/** `sha256:<64 hex>`. */
export type Digest = `sha256:${string}`;

export interface ArtifactLocation {
  repository: ArtifactRepository;
  /** The artifact's name, usually the source repository's (`acme/app`). */
  artifact: string;
  tag: string;
  digest: Digest;
  size: number;
  /** Where a deploy step can fetch the content (a file path for the local registry, an image ref for OCI). */
  uri: string;
}

export interface TagResult extends ArtifactLocation {
  /** False when the tag already named this digest: nothing was written. */
  created: boolean;
}

export interface Registry {
  /** Stores a file's content and points `tag` at it. */
  upload(request: {
    repository: ArtifactRepository;
    artifact: string;
    tag: string;
    file: string;
  }): Promise<TagResult>;
  /** Points `tag` at what `from` (an existing tag, or a digest) names, in the same repository. */
  addTag(request: {
    repository: ArtifactRepository;
    artifact: string;
    from: string;
    tag: string;
  }): Promise<TagResult>;
  /** Copies the artifact `tag` names from one repository to the other under the same tag. */
  copy(request: {
    artifact: string;
    tag: string;
    from: ArtifactRepository;
    to: ArtifactRepository;
  }): Promise<TagResult>;
  /** What `tag` names, or null when the tag does not exist. */
  resolve(request: {
    repository: ArtifactRepository;
    artifact: string;
    tag: string;
  }): Promise<ArtifactLocation | null>;
}
