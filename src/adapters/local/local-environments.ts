/**
 * Environments on this machine: one JSON state file per environment under `dir`, and an
 * optional deploy command per environment (helm, kubectl, a script) run as an argument array
 * with the version and artifact in environment variables. State changes only after the
 * command succeeds, so a failed or interrupted deploy is retried from the same state.
 *
 * Fenced environments go through the lock's FencedResource before anything runs; the state
 * lock is held across the fence check, the command and the write, so a revoked holder's
 * deploy can never finish after its successor's.
 */
import path from 'node:path';
import { StaleFencingTokenError, type FencedResource } from '../../ports/fenced-resource';
import { DefinitiveFailure, FailureTypes } from '../../domain/failures';
import type {
  DeployedVersion,
  DeployRequest,
  EnvironmentChange,
  EnvironmentChangeResult,
  Environments,
  EnvironmentState,
  RollbackRequest,
  BadVersion,
} from '../../ports/environments';
import { readJsonFile, withFileLock, writeFileAtomic } from './durable-files';
import { describeOutcome, logSize, logTail, runLoggedProcess } from './logged-process';
import { StepTrusts, type StepSandbox } from './step-sandbox';
import { defaultInheritedEnv } from './worktree-command-runner';

export interface DeployCommand {
  argv: readonly string[];
  timeoutMs?: number;
  /**
   * The environment's own name (`dev`, `staging`, `production`), given to the command as
   * RELEASE_FLOW_ENV, as a deploy tool's namespace or stage expects it; the state file's key
   * (which also names the repository) when absent.
   */
  environment?: string;
  /** The worker's variables the command is given besides `inheritEnv` (KUBECONFIG ...). */
  variables?: readonly string[];
  /** Host files and directories the command is given read-only under a sandbox. */
  files?: readonly string[];
}

// How a command that never got going shows in its own output: the shell's "not found" exit
// codes, bwrap refusing, node missing its script. A retry finds the same.
const CANNOT_START = /^bwrap: |Error: Cannot find module |code: 'MODULE_NOT_FOUND'/m;

export interface LocalEnvironmentsOptions {
  /** State files, the lock files and deploy logs. */
  dir: string;
  /** Run on every deploy and rollback of that environment; without one, the state file is the deployment. */
  commands?: Readonly<Record<string, DeployCommand>>;
  /** Environments guarded by the lock, mapped to the lock's resource name (`{ staging: 'staging' }`). */
  fencing?: { resource: FencedResource; environments: Readonly<Record<string, string>> };
  inheritEnv?: readonly string[];
  killGraceMs?: number;
  /** The identity deploy commands run as (docs/threat-model.md); default: the worker's own. */
  sandbox?: StepSandbox;
}

interface StoredState {
  env: string;
  /** What ran, oldest first; the last entry runs now. Rollback pops, so "previous" is always the one below. */
  stack: DeployedVersion[];
  lastGood: DeployedVersion | null;
  /** Versions marked good, oldest first (absent in files written before versions could be bad). */
  good?: DeployedVersion[];
  bad?: BadVersion[];
  history: EnvironmentChange[];
}

const ENV_NAME = /^[a-z][a-z0-9-]{0,127}$/;
const STACK_LIMIT = 50;
const HISTORY_LIMIT = 200;

function isBad(stored: StoredState, version: string): boolean {
  return (stored.bad ?? []).some((b) => b.version === version);
}

/** The newest good version not marked bad since. */
function lastGoodOf(stored: StoredState): DeployedVersion | null {
  const good = stored.good ?? (stored.lastGood ? [stored.lastGood] : []);
  for (let i = good.length - 1; i >= 0; i--) if (!isBad(stored, good[i]!.version)) return good[i]!;
  return null;
}

function view(stored: StoredState): EnvironmentState {
  const { stack } = stored;
  return {
    env: stored.env,
    current: stack[stack.length - 1] ?? null,
    previous: stack[stack.length - 2] ?? null,
    lastGood: lastGoodOf(stored),
    bad: stored.bad ?? [],
    history: stored.history,
  };
}

export class LocalEnvironments implements Environments {
  private readonly dir: string;

  constructor(private readonly options: LocalEnvironmentsOptions) {
    this.dir = path.resolve(options.dir);
  }

  async state(env: string): Promise<EnvironmentState> {
    return view(await this.read(this.checkName(env)));
  }

  async deploy(request: DeployRequest): Promise<EnvironmentChangeResult> {
    const env = this.checkName(request.env);
    return this.change(
      env,
      request.fencingToken,
      'deploy',
      `deploy ${request.version}`,
      request.by,
      async (stored) => {
        const current = stored.stack[stored.stack.length - 1];
        const digest = request.artifact?.digest ?? null;
        if (current?.version === request.version && (digest === null || current.digest === digest)) {
          return { note: `${env} already runs ${request.version}` };
        }
        const next: DeployedVersion = {
          version: request.version,
          digest,
          artifactUri: request.artifact?.uri ?? null,
          at: Date.now(),
          by: request.by,
        };
        await this.runCommand(env, 'deploy', next, current ?? null, request.fencingToken, request.signal);
        return {
          stack: [...stored.stack, next],
          note: `${env} now runs ${request.version}`,
          version: request.version,
        };
      },
    );
  }

  async rollback(request: RollbackRequest): Promise<EnvironmentChangeResult> {
    const env = this.checkName(request.env);
    if (request.to === 'previous' && !request.fromVersion) {
      throw new DefinitiveFailure(
        FailureTypes.invalidReference,
        'a rollback to the previous version must name fromVersion',
      );
    }
    return this.change(
      env,
      request.fencingToken,
      'rollback',
      `rollback to ${request.to}`,
      request.by,
      async (stored) => {
        const stack = stored.stack;
        const current = stack[stack.length - 1] ?? null;
        if (request.fromVersion && current?.version !== request.fromVersion) {
          return {
            note: `${request.fromVersion} no longer runs in ${env} (${current?.version ?? 'nothing'} does)`,
          };
        }
        let below: DeployedVersion[];
        let target: DeployedVersion;
        if (request.to === 'previous') {
          // The newest version below the current one that is not marked bad.
          let at = stack.length - 2;
          while (at >= 0 && isBad(stored, stack[at]!.version)) at -= 1;
          const previous = stack[at];
          if (!previous)
            return { note: `${env} has no good version before ${current?.version ?? 'nothing'}` };
          below = stack.slice(0, at);
          target = previous;
        } else {
          const good = lastGoodOf(stored);
          if (!good) return { note: `${env} has no last good version` };
          if (current?.version === good.version)
            return { note: `${env} already runs its last good version ${good.version}` };
          const index = stack.map((d) => d.version).lastIndexOf(good.version);
          below = index >= 0 ? stack.slice(0, index) : stack;
          target = index >= 0 ? stack[index]! : good;
        }
        await request.checkTarget?.(target);
        const restored: DeployedVersion = { ...target, at: Date.now(), by: request.by };
        await this.runCommand(env, 'rollback', restored, current, request.fencingToken, request.signal);
        return {
          stack: [...below, restored],
          note: `${env} rolled back from ${current?.version ?? 'nothing'} to ${restored.version}`,
          version: restored.version,
        };
      },
    );
  }

  async markGood(request: {
    env: string;
    version: string;
    by: string;
    fencingToken?: number;
  }): Promise<EnvironmentChangeResult> {
    const env = this.checkName(request.env);
    return this.change(
      env,
      request.fencingToken,
      'mark-good',
      `mark ${request.version} good`,
      request.by,
      async (stored) => {
        const current = stored.stack[stored.stack.length - 1];
        if (current?.version !== request.version) {
          throw new DefinitiveFailure(
            FailureTypes.versionNotCurrent,
            `${request.version} cannot be marked good in ${env}: ${current?.version ?? 'nothing'} runs there`,
            { env, version: request.version, current: current?.version ?? null },
          );
        }
        if (isBad(stored, current.version)) {
          throw new DefinitiveFailure(
            FailureTypes.versionNotCurrent,
            `${request.version} cannot be marked good in ${env}: it was marked bad`,
            { env, version: request.version, current: current.version },
          );
        }
        const last = lastGoodOf(stored);
        if (last?.version === current.version && last.digest === current.digest) {
          return { note: `${request.version} is already the last good version of ${env}` };
        }
        return {
          lastGood: current,
          good: [...(stored.good ?? (stored.lastGood ? [stored.lastGood] : [])), current],
          note: `${request.version} is the last good version of ${env}`,
          version: request.version,
        };
      },
    );
  }

  async markBad(request: {
    env: string;
    version: string;
    by: string;
    reason: string;
  }): Promise<EnvironmentChangeResult> {
    const env = this.checkName(request.env);
    return this.change(
      env,
      undefined,
      'mark-bad',
      `mark ${request.version} bad`,
      request.by,
      async (stored) => {
        if (isBad(stored, request.version))
          return { note: `${request.version} is already marked bad in ${env}` };
        return {
          bad: [
            ...(stored.bad ?? []),
            { version: request.version, at: Date.now(), by: request.by, reason: request.reason },
          ],
          note: `${request.version} is marked bad in ${env}`,
          version: request.version,
        };
      },
      { fenced: false },
    );
  }

  private checkName(env: string): string {
    if (!ENV_NAME.test(env)) {
      throw new DefinitiveFailure(
        FailureTypes.invalidReference,
        `invalid environment name ${JSON.stringify(env)}`,
      );
    }
    return env;
  }

  private async read(env: string): Promise<StoredState> {
    return (
      (await readJsonFile<StoredState>(this.statePath(env))) ?? {
        env,
        stack: [],
        lastGood: null,
        history: [],
      }
    );
  }

  private statePath(env: string): string {
    return path.join(this.dir, `${env}.json`);
  }

  /**
   * Read, fence, decide, write, under the environment's lock. `decide` returns the new stack
   * and/or last good version, or only a note when nothing changes.
   */
  private change(
    env: string,
    fencingToken: number | undefined,
    kind: EnvironmentChange['action'],
    action: string,
    by: string,
    decide: (stored: StoredState) => Promise<{
      stack?: DeployedVersion[];
      lastGood?: DeployedVersion;
      good?: DeployedVersion[];
      bad?: BadVersion[];
      note: string;
      version?: string;
    }>,
    opts: { fenced: boolean } = { fenced: true },
  ): Promise<EnvironmentChangeResult> {
    return withFileLock(path.join(this.dir, `${env}.lock`), async () => {
      if (opts.fenced) await this.admit(env, fencingToken, action, by);
      const stored = await this.read(env);
      const outcome = await decide(stored);
      if (!outcome.stack && !outcome.lastGood && !outcome.bad)
        return { changed: false, note: outcome.note, state: view(stored) };
      const good = outcome.good ?? stored.good;
      const bad = outcome.bad ?? stored.bad;
      const next: StoredState = {
        env,
        stack: (outcome.stack ?? stored.stack).slice(-STACK_LIMIT),
        lastGood: outcome.lastGood ?? stored.lastGood,
        ...(good ? { good: good.slice(-STACK_LIMIT) } : {}),
        ...(bad ? { bad: bad.slice(-STACK_LIMIT) } : {}),
        history: [
          ...stored.history,
          {
            action: kind,
            version: outcome.version ?? '',
            at: Date.now(),
            by,
            fencingToken: fencingToken ?? null,
          },
        ].slice(-HISTORY_LIMIT),
      };
      await writeFileAtomic(this.statePath(env), `${JSON.stringify(next, null, 2)}\n`);
      return { changed: true, note: outcome.note, state: view(next) };
    });
  }

  private async admit(env: string, token: number | undefined, action: string, by: string): Promise<void> {
    const resource = this.options.fencing?.environments[env];
    if (!resource || !this.options.fencing) return;
    if (token === undefined) {
      throw new DefinitiveFailure(
        FailureTypes.fencingTokenRequired,
        `${env} is guarded by the ${resource} lock: ${action} needs the lock's fencing token`,
        { env, resource },
      );
    }
    try {
      await this.options.fencing.resource.admit({ resource, token, action: `${env}: ${action}`, actor: by });
    } catch (err) {
      if (err instanceof StaleFencingTokenError) {
        throw new DefinitiveFailure(
          FailureTypes.staleFencingToken,
          `${action} in ${env} refused: ${err.message}`,
          {
            env,
            resource,
            token,
            newestToken: err.newestToken,
          },
        );
      }
      throw err;
    }
  }

  private async runCommand(
    env: string,
    action: 'deploy' | 'rollback',
    target: DeployedVersion,
    current: DeployedVersion | null,
    fencingToken: number | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    const command = this.options.commands?.[env];
    if (!command) return;
    const inherited: NodeJS.ProcessEnv = {};
    for (const name of [...(this.options.inheritEnv ?? defaultInheritedEnv), ...(command.variables ?? [])]) {
      if (process.env[name] !== undefined) inherited[name] = process.env[name];
    }
    const logPath = path.join(this.dir, `${env}.deploy.log`);
    const since = await logSize(logPath);
    const timeoutMs = command.timeoutMs ?? 10 * 60_000;
    const outcome = await runLoggedProcess({
      argv: command.argv,
      cwd: this.dir,
      env: {
        ...inherited,
        RELEASE_FLOW_ACTION: action,
        RELEASE_FLOW_ENV: command.environment ?? env,
        RELEASE_FLOW_VERSION: target.version,
        RELEASE_FLOW_DIGEST: target.digest ?? '',
        RELEASE_FLOW_ARTIFACT: target.artifactUri ?? '',
        RELEASE_FLOW_FROM_VERSION: current?.version ?? '',
        // The staging lock's token: a deploy tool can refuse a write older than one it has seen.
        RELEASE_FLOW_FENCING_TOKEN: fencingToken !== undefined ? String(fencingToken) : '',
      },
      timeoutMs,
      logPath,
      groupRecord: path.join(this.dir, `${env}.process-group.json`),
      killGraceMs: this.options.killGraceMs,
      sandbox: this.options.sandbox,
      trust: StepTrusts.deploy,
      ...(command.files?.length ? { files: command.files } : {}),
      ...(signal ? { signal } : {}),
    });
    if (outcome.aborted) {
      // Cancelled (the lock was taken away): nothing is recorded, the caller sees the cancellation.
      throw new Error(`${action} of ${target.version} to ${env}: aborted, its process group was killed`);
    }
    if (outcome.exitCode !== 0) {
      const tail = await logTail(logPath, 20, 16 * 1024, since);
      if (
        outcome.spawnError ||
        outcome.exitCode === 126 ||
        outcome.exitCode === 127 ||
        CANNOT_START.test(tail)
      ) {
        throw new DefinitiveFailure(
          FailureTypes.stepCannotStart,
          `${action} of ${target.version} to ${env}: the command ${JSON.stringify(command.argv)} could not start ` +
            `(${describeOutcome(outcome, timeoutMs)}); a retry would find the same; log ${logPath}; last lines:\n${tail}`,
          { env, log: logPath, tail },
        );
      }
      // Left retryable: a deploy tool failing is often the cluster, not the release.
      throw new Error(
        `${action} of ${target.version} to ${env}: command ${describeOutcome(outcome, timeoutMs)}; log ${logPath}; last lines:\n${tail}`,
      );
    }
  }
}
