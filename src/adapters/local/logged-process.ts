/**
 * Runs one process from an argument array with its output in a log file, a timeout that kills
 * its whole process group, and cancellation. Shared by the command runner and deploy commands.
 */
import { spawn } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import type { SpawnSpec, StepSandbox, StepTrust } from './step-sandbox';
import { clearGroupRecord, killRecordedGroup, recordGroup } from './process-group-record';

export interface LoggedProcessSpec {
  argv: readonly string[];
  cwd: string;
  /** The complete environment of the child: nothing is inherited implicitly. */
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Appended to, so several steps can share one log. */
  logPath: string;
  /** Time between SIGTERM and SIGKILL. */
  killGraceMs?: number;
  signal?: AbortSignal;
  onProgress?: (elapsedMs: number) => void;
  progressIntervalMs?: number;
  /** Runs the step as another identity (docs/threat-model.md); `cwdWritable` for a checkout. */
  sandbox?: StepSandbox;
  cwdWritable?: boolean;
  /** Whose code runs, which decides what the sandbox lets it reach; unset: a pull request's. */
  trust?: StepTrust;
  /** Host files the step is given read-only (a deploy's configured files). */
  files?: readonly string[];
  /**
   * Where this step records its process group; the same file for every attempt of the step, so
   * an attempt first ends what an earlier one (its worker SIGKILLed) left running.
   */
  groupRecord?: string;
}

export interface LoggedProcessOutcome {
  /** Null when the process was killed by a signal or never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  /** Set when the executable could not be started (not found, not executable). */
  spawnError: string | null;
  durationMs: number;
}

// Negative pid: the whole group, so a test runner's children and grandchildren go too.
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

export async function runLoggedProcess(spec: LoggedProcessSpec): Promise<LoggedProcessOutcome> {
  if (!spec.argv.length) throw new Error('runLoggedProcess: empty argv');
  const spawned: SpawnSpec = spec.sandbox ? await spec.sandbox.wrap(spec) : spec;
  try {
    return await runSpawned(spec, spawned);
  } finally {
    await spawned.release?.();
  }
}

async function runSpawned(spec: LoggedProcessSpec, spawned: SpawnSpec): Promise<LoggedProcessOutcome> {
  const [command, ...args] = spawned.argv as [string, ...string[]];
  if (spec.groupRecord) await killRecordedGroup(spec.groupRecord);
  const log = await open(spec.logPath, 'a');
  await log.write(`$ ${JSON.stringify(spec.argv)}\n`);
  const started = Date.now();
  try {
    return await new Promise<LoggedProcessOutcome>((resolve) => {
      const outcome: LoggedProcessOutcome = {
        exitCode: null,
        signal: null,
        timedOut: false,
        aborted: false,
        spawnError: null,
        durationMs: 0,
      };
      if (spec.signal?.aborted) {
        resolve({ ...outcome, aborted: true });
        return;
      }
      // detached: the child leads a new process group that killGroup can reach as a whole.
      const child = spawn(command, args, {
        cwd: spawned.cwd,
        env: spawned.env,
        detached: true,
        stdio: ['ignore', log.fd, log.fd, ...(spawned.fds ?? [])],
      });
      if (spec.groupRecord && child.pid !== undefined) recordGroup(spec.groupRecord, child.pid, command);
      let killTimer: NodeJS.Timeout | undefined;
      const stop = () => {
        if (child.pid === undefined || killTimer) return;
        killGroup(child.pid, 'SIGTERM');
        killTimer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), spec.killGraceMs ?? 2000);
      };
      const timeout = setTimeout(() => {
        outcome.timedOut = true;
        stop();
      }, spec.timeoutMs);
      const progress = spec.onProgress
        ? setInterval(() => spec.onProgress!(Date.now() - started), spec.progressIntervalMs ?? 5000)
        : undefined;
      const onAbort = () => {
        outcome.aborted = true;
        stop();
      };
      spec.signal?.addEventListener('abort', onAbort, { once: true });
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(timeout);
        if (killTimer) clearTimeout(killTimer);
        if (progress) clearInterval(progress);
        spec.signal?.removeEventListener('abort', onAbort);
        // Whatever the leader left running in the background (a server a test started) goes too.
        if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
        if (spec.groupRecord && child.pid !== undefined) clearGroupRecord(spec.groupRecord, child.pid);
        outcome.durationMs = Date.now() - started;
        resolve(outcome);
      };
      child.once('error', (err) => {
        outcome.spawnError = err.message;
        finish();
      });
      child.once('exit', (code, signal) => {
        outcome.exitCode = code;
        outcome.signal = signal;
        finish();
      });
    });
  } finally {
    await log.close();
  }
}

/** How long a log is now: `logTail(..., since)` then reads only what was written after. */
export async function logSize(logPath: string): Promise<number> {
  return (await stat(logPath).catch(() => null))?.size ?? 0;
}

/**
 * The last `maxLines` lines of a log (at most `maxBytes` read from its end), and nothing written
 * before byte `since`.
 */
export async function logTail(
  logPath: string,
  maxLines = 40,
  maxBytes = 16 * 1024,
  since = 0,
): Promise<string> {
  const info = await stat(logPath).catch(() => null);
  if (!info) return '';
  if (since > 0) maxBytes = Math.min(maxBytes, Math.max(0, info.size - since));
  const file = await open(logPath, 'r');
  try {
    const length = Math.min(info.size, maxBytes);
    const buffer = Buffer.alloc(length);
    await file.read(buffer, 0, length, info.size - length);
    const lines = buffer.toString('utf8').split('\n');
    // A cut first line is a fragment; drop it unless it is all there is.
    if (info.size - length > since && lines.length > 1) lines.shift();
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-maxLines).join('\n');
  } finally {
    await file.close();
  }
}

/** One outcome in words: `exit 1`, `timed out after 5000 ms`, `could not start: ...`. */
export function describeOutcome(outcome: LoggedProcessOutcome, timeoutMs: number): string {
  if (outcome.spawnError) return `could not start: ${outcome.spawnError}`;
  if (outcome.timedOut) return `timed out after ${timeoutMs} ms`;
  if (outcome.aborted) return 'cancelled';
  if (outcome.signal) return `killed by ${outcome.signal}`;
  return `exit ${outcome.exitCode}`;
}
