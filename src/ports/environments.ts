/**
 * Deployment environments (dev, staging, production): what runs where, and the means to change
 * it. Each environment remembers its current, previous and last good version. Calls are
 * idempotent by the desired state they name: deploying what already runs, or rolling back a
 * version that no longer runs, changes nothing and says so. Fenced environments (staging)
 * require the lock's fencing token and refuse one older than the newest seen, with a definitive
 * `StaleFencingToken` (see domain/failures.ts).
 */

export interface DeployedVersion {
  version: string;
  /** The artifact's digest and location, when the deploy named one (needed to roll back to it). */
  digest: string | null;
  artifactUri: string | null;
  /** Epoch milliseconds. */
  at: number;
  /** Who asked (a workflow id or a person). */
  by: string;
}

export interface EnvironmentState {
  env: string;
  current: DeployedVersion | null;
  previous: DeployedVersion | null;
  /** The newest version that passed this environment's checks and was not marked bad since. */
  lastGood: DeployedVersion | null;
  /** Versions marked bad (rolled back after a production breach): no restore returns to them. */
  bad?: BadVersion[];
  /** Recent changes, oldest first, bounded. */
  history: EnvironmentChange[];
}

export interface BadVersion {
  version: string;
  at: number;
  by: string;
  reason: string;
}

export interface EnvironmentChange {
  action: 'deploy' | 'rollback' | 'mark-good' | 'mark-bad';
  version: string;
  at: number;
  by: string;
  fencingToken: number | null;
}

export const RollbackTargets = {
  /** The version that ran before the current one. */
  previous: 'previous',
  /** The newest version marked good and not marked bad. */
  lastGood: 'last-good',
} as const;
export type RollbackTarget = (typeof RollbackTargets)[keyof typeof RollbackTargets];

export interface DeployRequest {
  env: string;
  version: string;
  artifact?: { digest: string; uri: string };
  by: string;
  /** Required for fenced environments (staging). */
  fencingToken?: number;
  /** Aborts a deploy command in flight (its whole process group); nothing is recorded then. */
  signal?: AbortSignal;
}

export interface RollbackRequest {
  env: string;
  to: RollbackTarget;
  /**
   * The version being rolled back. When given and it no longer runs, nothing happens: a retried
   * rollback cannot go back twice. Required for `previous`.
   */
  fromVersion?: string;
  by: string;
  fencingToken?: number;
  signal?: AbortSignal;
  /**
   * Asked about the version chosen to return to, before anything runs; rejecting refuses the
   * rollback (nothing changes). The caller holds it to the digest it was deployed with.
   */
  checkTarget?: (target: DeployedVersion) => Promise<void>;
}

export interface EnvironmentChangeResult {
  /** False when the environment was already in the asked-for state (or could not move); `note` says which. */
  changed: boolean;
  note: string;
  state: EnvironmentState;
}

export interface Environments {
  state(env: string): Promise<EnvironmentState>;
  deploy(request: DeployRequest): Promise<EnvironmentChangeResult>;
  rollback(request: RollbackRequest): Promise<EnvironmentChangeResult>;
  /** Records the running `version` as last good; a definitive `VersionNotCurrent` when it no longer runs. */
  markGood(request: {
    env: string;
    version: string;
    by: string;
    fencingToken?: number;
  }): Promise<EnvironmentChangeResult>;
  /**
   * Marks `version` bad (it need not run): it stops being the last good version, and no later
   * rollback to `last-good` or `previous` returns to it. Needs no fencing token: nothing runs.
   */
  markBad(request: {
    env: string;
    version: string;
    by: string;
    reason: string;
  }): Promise<EnvironmentChangeResult>;
}
