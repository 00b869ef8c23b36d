/**
 * The command runner on this machine: each run gets a fresh `git worktree` of the repository at
 * the commit (so no earlier build's files leak in), runs its steps there as argument arrays
 * with a curated environment, keeps the log on disk, copies declared outputs out, and removes
 * the worktree. A passing run is recorded under its key, so a retry returns it instead of
 * building again.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  commandRunKey,
  type CommandFailureDetails,
  type CommandRunner,
  type CommandRunRequest,
  type CommandRunResult,
  type CommandStepResult,
  type CollectedOutput,
} from '../../ports/command-runner';
import { DefinitiveFailure, FailureTypes } from '../../domain/failures';
import { createFileExclusive, readJsonFile } from './durable-files';
import { describeOutcome, logTail, runLoggedProcess } from './logged-process';
import { gitEnv, HARDENED_GIT_CONFIG } from './git-process';
import type { StepSandbox } from './step-sandbox';

/** Variables a build may need from the worker's environment; secrets stay out unless named. */
export const defaultInheritedEnv = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LC_ALL',
  'TZ',
  'TMPDIR',
  'SHELL',
  'TERM',
];

export interface WorktreeCommandRunnerOptions {
  /** The local clone of a repository, by the name pipelines use. */
  repositoryPath: (repository: string) => string | Promise<string>;
  /** Where worktrees, logs and outputs live. */
  workDir: string;
  /** Names of worker environment variables passed to steps (default `defaultInheritedEnv`). */
  inheritEnv?: readonly string[];
  killGraceMs?: number;
  /** The identity steps run as (docs/threat-model.md); default: the worker's own. */
  sandbox?: StepSandbox;
  tailLines?: number;
  progressIntervalMs?: number;
}

interface PassedRecord {
  result: Omit<CommandRunResult, 'reused'>;
}

function git(
  cwd: string,
  args: string[],
  timeoutMs?: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const options = {
      cwd,
      env: gitEnv(),
      encoding: 'utf8' as const,
      ...(timeoutMs ? { timeout: timeoutMs } : {}),
    };
    execFile('git', [...HARDENED_GIT_CONFIG, ...args], options, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(err);
        return;
      }
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

// Readable and unique: the key's safe characters for people, a hash so distinct keys never collide.
function directoryName(key: string): string {
  const readable = key.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
  return `${readable}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

/** Every name `directoryName` can produce, and nothing else (no `..`, no separators). */
export const runDirectoryPattern = /^[A-Za-z0-9._-]{1,80}-[0-9a-f]{12}$/;
/** The attempt directories inside a run directory. */
export const attemptPattern = /^attempt-[1-9][0-9]{0,8}$/;

/** Where the log of one attempt is kept under `workDir`; null for names the runner never makes. */
export function attemptLogPath(workDir: string, runDirectory: string, attempt: string): string | null {
  if (!runDirectoryPattern.test(runDirectory) || !attemptPattern.test(attempt)) return null;
  return path.join(path.resolve(workDir), 'runs', runDirectory, attempt, 'run.log');
}

/** The run directory and attempt of a log this runner wrote (`…/runs/<run>/<attempt>/run.log`). */
export function attemptOfLog(logPath: string): { runDirectory: string; attempt: string } | null {
  const [runs, runDirectory, attempt, file] = path.resolve(logPath).split(path.sep).slice(-4);
  if (runs !== 'runs' || file !== 'run.log' || !runDirectory || !attempt) return null;
  return runDirectoryPattern.test(runDirectory) && attemptPattern.test(attempt)
    ? { runDirectory, attempt }
    : null;
}

const FULL_COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
// A ref to read from, never a `src:dst` pair: fetching must not write refs in the worker's clone.
const FETCHABLE_REF = /^refs\/(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const FETCH_TIMEOUT_MS = 5 * 60_000;

function fetchableRef(ref: string): boolean {
  return FETCHABLE_REF.test(ref) && !ref.includes('..') && !ref.endsWith('.lock') && !ref.endsWith('.');
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? 'no output'
  );
}

function insideCheckout(checkout: string, relative: string): string | null {
  if (path.isAbsolute(relative)) return null;
  const full = path.resolve(checkout, relative);
  return full.startsWith(checkout + path.sep) ? full : null;
}

export class WorktreeCommandRunner implements CommandRunner {
  constructor(private readonly options: WorktreeCommandRunnerOptions) {}

  async run(request: CommandRunRequest): Promise<CommandRunResult> {
    const key = commandRunKey(request);
    const runDir = path.join(path.resolve(this.options.workDir), 'runs', directoryName(key));
    const recordPath = path.join(runDir, 'passed.json');
    if (request.reusePassed !== false) {
      const earlier = await readJsonFile<PassedRecord>(recordPath);
      if (earlier && (await this.outputsExist(earlier.result.outputs)))
        return { ...earlier.result, reused: true };
    }

    const repository = path.resolve(await this.options.repositoryPath(request.repository));
    const commit = await this.resolveCommit(repository, request.commit, request.fetch ?? []);
    const attemptDir = await this.newAttemptDir(runDir);
    const logPath = path.join(attemptDir, 'run.log');
    const checkout = path.join(
      path.resolve(this.options.workDir),
      'worktrees',
      path.basename(runDir) + '-' + path.basename(attemptDir),
    );
    await mkdir(path.dirname(checkout), { recursive: true });
    const added = await git(repository, ['worktree', 'add', '--detach', checkout, commit]);
    if (added.code !== 0) throw new Error(`git worktree add failed: ${added.stderr.trim()}`);

    const failureType = request.purpose === 'build' ? FailureTypes.buildFailed : FailureTypes.testsFailed;
    const started = Date.now();
    const deadline = started + request.timeoutMs;
    const steps: CommandStepResult[] = [];
    try {
      for (const step of request.steps) {
        const remaining = Math.max(1, deadline - Date.now());
        const timeoutMs = Math.min(step.timeoutMs ?? remaining, remaining);
        const outcome = await runLoggedProcess({
          argv: step.argv,
          cwd: checkout,
          env: this.stepEnv(request, commit),
          timeoutMs,
          logPath,
          groupRecord: path.join(runDir, 'process-group.json'),
          killGraceMs: this.options.killGraceMs,
          sandbox: this.options.sandbox,
          cwdWritable: true,
          trust: request.trust ?? 'pull-request',
          signal: request.signal,
          progressIntervalMs: this.options.progressIntervalMs,
          onProgress: request.onProgress
            ? (elapsedMs) => request.onProgress!({ step: step.name, elapsedMs })
            : undefined,
        });
        if (outcome.aborted)
          throw new Error(`${request.purpose} of ${commit} was cancelled during "${step.name}"`);
        if (outcome.exitCode !== 0) {
          const tail = await logTail(logPath, this.options.tailLines ?? 40);
          const details: CommandFailureDetails = {
            key,
            step: step.name,
            exitCode: outcome.exitCode,
            signal: outcome.signal,
            timedOut: outcome.timedOut,
            log: logPath,
            tail,
          };
          throw new DefinitiveFailure(
            failureType,
            `${request.purpose} of ${request.repository} ${commit.slice(0, 12)} failed at "${step.name}" ` +
              `(${describeOutcome(outcome, timeoutMs)}); log ${logPath}; last lines:\n${tail}`,
            { ...details },
          );
        }
        steps.push({ name: step.name, exitCode: 0, durationMs: outcome.durationMs });
      }
      const outputs = await this.collect(request, checkout, runDir, key, logPath, failureType);
      const result: Omit<CommandRunResult, 'reused'> = {
        key,
        log: logPath,
        durationMs: Date.now() - started,
        steps,
        outputs,
      };
      // Exclusive create: when two attempts race, the first record stays and both are valid passes.
      await createFileExclusive(recordPath, JSON.stringify({ result } satisfies PassedRecord, null, 2));
      return { ...result, reused: false };
    } finally {
      await this.removeWorktree(repository, checkout);
    }
  }

  private stepEnv(request: CommandRunRequest, commit: string): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const name of this.options.inheritEnv ?? defaultInheritedEnv) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    return {
      ...env,
      CI: 'true',
      RELEASE_FLOW_REPOSITORY: request.repository,
      RELEASE_FLOW_COMMIT: commit,
      RELEASE_FLOW_PURPOSE: request.purpose,
      ...(request.scope ? { RELEASE_FLOW_SCOPE: request.scope } : {}),
      ...request.env,
    };
  }

  /**
   * The full id of the commit, fetching it from the clone's `origin` first when it is missing:
   * a pull request's head is usually not in the worker's clone.
   */
  private async resolveCommit(repository: string, commit: string, refs: readonly string[]): Promise<string> {
    const refused = refs.filter((ref) => !fetchableRef(ref));
    if (refused.length) {
      throw new DefinitiveFailure(
        FailureTypes.invalidReference,
        `cannot fetch ${refused.map((r) => JSON.stringify(r)).join(', ')}: expected refs such as refs/pull/7/head`,
        { refs: refused },
      );
    }
    const local = await this.revParse(repository, commit);
    if (local) return local;
    // An abbreviated id cannot be asked of a remote; the refs may still bring it.
    const sources = [...(FULL_COMMIT.test(commit) ? [commit] : []), ...refs];
    const tried: string[] = [];
    for (const source of sources) {
      const fetched = await git(
        repository,
        ['fetch', '--no-tags', '--no-write-fetch-head', '--quiet', '--end-of-options', 'origin', source],
        FETCH_TIMEOUT_MS,
      );
      if (fetched.code !== 0) {
        tried.push(`git fetch origin ${source}: ${firstLine(fetched.stderr)}`);
        continue;
      }
      const found = await this.revParse(repository, commit);
      if (found) return found;
      tried.push(`git fetch origin ${source}: fetched, but the commit is not in it`);
    }
    const where = tried.length ? `; tried ${tried.join('; ')}` : '';
    throw new DefinitiveFailure(
      FailureTypes.unknownCommit,
      `commit ${commit} is not in ${repository}${where}`,
      {
        commit,
        tried,
      },
    );
  }

  private async revParse(repository: string, commit: string): Promise<string | null> {
    const resolved = await git(repository, [
      'rev-parse',
      '--verify',
      '--quiet',
      '--end-of-options',
      `${commit}^{commit}`,
    ]);
    return resolved.code === 0 ? resolved.stdout.trim() : null;
  }

  // mkdir without recursive fails when the name exists: concurrent attempts never share a log.
  private async newAttemptDir(runDir: string): Promise<string> {
    await mkdir(runDir, { recursive: true });
    for (let n = 1; ; n++) {
      const dir = path.join(runDir, `attempt-${n}`);
      try {
        await mkdir(dir);
        return dir;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  }

  private async collect(
    request: CommandRunRequest,
    checkout: string,
    runDir: string,
    key: string,
    logPath: string,
    failureType: typeof FailureTypes.buildFailed | typeof FailureTypes.testsFailed,
  ): Promise<CollectedOutput[]> {
    const outputs: CollectedOutput[] = [];
    const outputDir = path.join(runDir, path.basename(path.dirname(logPath)), 'outputs');
    for (const [index, name] of (request.collect ?? []).entries()) {
      const source = insideCheckout(checkout, name);
      const info = source ? await stat(source).catch(() => null) : null;
      if (!source || !info?.isFile()) {
        throw new DefinitiveFailure(
          failureType,
          `${request.purpose} passed but did not produce ${JSON.stringify(name)} (expected a file inside the checkout); log ${logPath}`,
          { key, step: 'collect', exitCode: 0, signal: null, timedOut: false, log: logPath, tail: '' },
        );
      }
      // The index keeps two outputs with one basename apart.
      const target = path.join(outputDir, `${index}-${path.basename(name)}`);
      await mkdir(outputDir, { recursive: true });
      await copyFile(source, target);
      outputs.push({ name, path: target });
    }
    return outputs;
  }

  private async outputsExist(outputs: readonly CollectedOutput[]): Promise<boolean> {
    for (const output of outputs) {
      if (!(await stat(output.path).catch(() => null))) return false;
    }
    return true;
  }

  private async removeWorktree(repository: string, checkout: string): Promise<void> {
    const removed = await git(repository, ['worktree', 'remove', '--force', checkout]).catch(() => null);
    if (removed?.code !== 0) {
      await rm(checkout, { recursive: true, force: true });
      await git(repository, ['worktree', 'prune']).catch(() => undefined);
    }
  }
}
