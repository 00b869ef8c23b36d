/**
 * Builds and tests: a list of configured commands run against one commit of a repository.
 * Where they run (a worktree on this machine, a CI runner) is the adapter's business; the
 * pipeline only says what to run, for which commit and purpose, and gets a result or a
 * definitive `BuildFailed` / `TestsFailed` (see domain/failures.ts) whose details quote the log.
 */

export const CommandPurposes = {
  build: 'build',
  unitTests: 'unit-tests',
  integrationTests: 'integration-tests',
} as const;
export type CommandPurpose = (typeof CommandPurposes)[keyof typeof CommandPurposes];

/** One configured command: an argument array, never a shell string. */
export interface CommandStep {
  /** Shown in logs and failures (`unit tests`). */
  name: string;
  /** `['npm', 'test']`. Values that are not from config belong in `env`, not here. */
  argv: readonly string[];
  /** Per-step limit; the run's `timeoutMs` bounds the whole list either way. */
  timeoutMs?: number;
}

export interface CommandRunRequest {
  repository: string;
  /** Full commit id. */
  commit: string;
  purpose: CommandPurpose;
  /**
   * Whose code this is: `reviewed` (the default branch, a release tag, an open incident's
   * `HOT-<n>` branch) may reach the network; `pull-request` (the default, so a caller that says
   * nothing gets the strictest) may not. Neither gets the worker's secrets (docs/threat-model.md).
   */
  trust?: 'pull-request' | 'reviewed';
  /**
   * What else the outcome depends on, e.g. `dev@v1.2.0` for integration tests against dev.
   * With repository, commit and purpose it forms the run's idempotency key.
   */
  scope?: string;
  steps: readonly CommandStep[];
  /**
   * Refs of the repository's origin that hold the commit (`refs/pull/7/head`), fetched when the
   * commit is not there yet and fetching the commit itself did not bring it.
   */
  fetch?: readonly string[];
  /** Passed to every step as environment variables: the place for untrusted values. */
  env?: Readonly<Record<string, string>>;
  /** Limit for all steps together, milliseconds. */
  timeoutMs: number;
  /** Files the steps produce (relative to the checkout) that must outlive the run: build outputs. */
  collect?: readonly string[];
  /** When false, a run that already passed with the same key runs again. Default true. */
  reusePassed?: boolean;
  /** Aborting kills the running step (activity cancellation). */
  signal?: AbortSignal;
  /** Called every few seconds while a step runs (activity heartbeat). */
  onProgress?: (progress: { step: string; elapsedMs: number }) => void;
}

export interface CommandStepResult {
  name: string;
  exitCode: number;
  durationMs: number;
}

export interface CollectedOutput {
  /** As declared in `collect`. */
  name: string;
  /** Where the file is kept now, readable by the registry adapter on the same worker. */
  path: string;
}

export interface CommandRunResult {
  /** The idempotency key the run was recorded under. */
  key: string;
  /** Where the full output of the run is kept. */
  log: string;
  durationMs: number;
  steps: CommandStepResult[];
  outputs: CollectedOutput[];
  /** True when an earlier passing run with the same key was returned instead of running again. */
  reused: boolean;
}

/** Details of a `BuildFailed` / `TestsFailed` failure. */
export interface CommandFailureDetails {
  key: string;
  step: string;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  log: string;
  /** The last lines of the log, for the alert. */
  tail: string;
}

export interface CommandRunner {
  /** Runs the steps in order, stopping at the first failure. Rejects with a definitive failure when one fails. */
  run(request: CommandRunRequest): Promise<CommandRunResult>;
}

/** The key a run is recorded under; stable for the same inputs. */
export function commandRunKey(
  request: Pick<CommandRunRequest, 'repository' | 'commit' | 'purpose' | 'scope'>,
): string {
  return `${request.repository}@${request.commit}/${request.purpose}${request.scope ? `/${request.scope}` : ''}`;
}
