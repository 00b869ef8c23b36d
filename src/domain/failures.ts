/**
 * Every failure type release-flow ends something with (`ApplicationFailure.type`), in one place.
 *
 * Refusals a port can give that no retry will change (a tag already pointing elsewhere, a test
 * that failed, a stale lock token): activities turn them into
 * `ApplicationFailure.nonRetryable(message, type)` so the workflow sees `type` and stops
 * retrying; any other error from a port is transient and left to the retry policy. Then the
 * refusals of the activities and workflows themselves, and how a pipeline ends when it fails.
 * The strings are public: tests, alerts and recorded histories carry them.
 */

export const FailureTypes = {
  /** The build command exited non-zero, timed out or did not produce its declared output. */
  buildFailed: 'BuildFailed',
  /** Unit or integration tests failed or timed out. */
  testsFailed: 'TestsFailed',
  /** A commit the pipeline was asked to build does not exist in the repository. */
  unknownCommit: 'UnknownCommit',
  /** A registry tag already points at a different digest. */
  tagConflict: 'TagConflict',
  /** The artifact (tag or digest) asked for is not in the repository. */
  artifactNotFound: 'ArtifactNotFound',
  /** A tag now names another digest than the one release-flow pushed or copied: refused before deploy. */
  artifactChanged: 'ArtifactChanged',
  /** A name, tag, key or path that the adapter must not accept (path traversal, bad grammar). */
  invalidReference: 'InvalidReference',
  /** A staging write carried a lock token older than one already seen: the lock was lost. */
  staleFencingToken: 'StaleFencingToken',
  /** A fenced environment was written to without a lock token. */
  fencingTokenRequired: 'FencingTokenRequired',
  /** The version asked to be marked good is not the one running. */
  versionNotCurrent: 'VersionNotCurrent',
  /** A page or ticket id is already taken by a different idempotency key. */
  incidentIdTaken: 'IncidentIdTaken',
  /** No ticket or page with that id. */
  documentNotFound: 'DocumentNotFound',
  /**
   * A step that could not start (command not found, a script that is not there, the sandbox
   * refusing): no retry can change that.
   */
  stepCannotStart: 'StepCannotStart',

  // ---- refused by activities and workflows ----
  /** Nothing on this worker can reach the repository's pull requests (no token, no ports). */
  githubNotConfigured: 'GitHubNotConfigured',
  /** GitHub refused the call for good (permissions, a repository it does not know). */
  githubRefused: 'GitHubRefused',
  /** The repository named is not in the configuration. */
  repositoryNotConfigured: 'RepositoryNotConfigured',
  /** A tag pipeline started for a tag that does not match the release tag pattern. */
  notAReleaseTag: 'NotAReleaseTag',
  /** A workflow input that cannot be used (a duration or a health parameter out of range). */
  invalidInput: 'InvalidInput',
  /** A decision the production pipeline refused (the `decide` update's rejection). */
  decisionRejected: 'DecisionRejected',
  /** The lock was taken from its holder: the work under it stopped. */
  lockRevoked: 'LockRevoked',
  /** The lock was not granted within the wait asked for. */
  lockTimeout: 'LockTimeout',

  // ---- how a pipeline ends ----
  /** A step failed: the development team was alerted and the pipeline halted. */
  pipelineFailed: 'PipelineFailed',
  /** Staging was taken from the run (emergency, rollback): it names who, for which release, why. */
  preempted: 'Preempted',
} as const;
export type FailureType = (typeof FailureTypes)[keyof typeof FailureTypes];

/** A definitive refusal; `details` is plain JSON for the workflow (log path, tail, digests...). */
export class DefinitiveFailure extends Error {
  constructor(
    readonly type: FailureType,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = type;
  }
}

export function isDefinitiveFailure(err: unknown): err is DefinitiveFailure {
  return err instanceof DefinitiveFailure;
}
