/**
 * The long-running children of the topology (PostgreSQL, the Temporal server, release-flow's
 * roles): output to a log file, SIGTERM from the kernel when this process dies without stopping
 * them (parent-death signal, `setpriv --pdeathsig`), and a stop that waits for the exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readFileSync, closeSync } from 'node:fs';
import path from 'node:path';

export interface Child {
  name: string;
  process: ChildProcess;
  pid: number;
  logFile: string;
  /** Resolves with the exit code (or signal name) once the child is gone. */
  exited: Promise<number | string>;
  /** Whether it has exited. */
  gone(): boolean;
  log(): string;
  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves when it is gone. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export function setprivPath(): string | undefined {
  for (const dir of ['/usr/bin', '/bin']) {
    const file = path.join(dir, 'setpriv');
    if (existsSync(file)) return file;
  }
  return undefined;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** setpriv options put before `--pdeathsig` (e.g. dropping to another user). */
  setpriv?: string[];
  /** The signal the child gets if this process dies first (default TERM). */
  deathSignal?: string;
}

/** Starts `argv` under `setpriv --pdeathsig`, its output appended to `logFile`. */
export function spawnChild(name: string, argv: string[], logFile: string, opts: SpawnOptions = {}): Child {
  const setpriv = setprivPath();
  const prefix = setpriv
    ? [setpriv, ...(opts.setpriv ?? []), '--pdeathsig', opts.deathSignal ?? 'TERM', '--']
    : [];
  if (!setpriv && opts.setpriv)
    throw new Error(`${name}: setpriv (util-linux) is needed to run as another user`);
  const full = [...prefix, ...argv];
  const fd = openSync(logFile, 'a');
  const child = spawn(full[0]!, full.slice(1), {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', () => {
      done = true;
      resolve('spawn failed');
    });
  });
  return {
    name,
    process: child,
    pid: child.pid ?? -1,
    logFile,
    exited,
    gone: () => done,
    log: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    stop: async (signal = 'SIGTERM', graceMs = 15_000) => {
      if (done) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs `argv` to completion; rejects with its output when it fails. */
export async function runToEnd(
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; setpriv?: string[]; timeoutMs?: number } = {},
): Promise<string> {
  const setpriv = opts.setpriv ? setprivPath() : undefined;
  if (opts.setpriv && !setpriv) throw new Error('setpriv (util-linux) is needed to run as another user');
  const full = setpriv ? [setpriv, ...opts.setpriv!, '--', ...argv] : argv;
  return await new Promise<string>((resolve, reject) => {
    const child = spawn(full[0]!, full.slice(1), {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (err) => reject(new Error(`cannot run ${argv[0]}: ${err.message}`)));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${argv.join(' ')} exited with ${code ?? signal}:\n${out.slice(-3000)}`));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A port number to try; the caller binds it and tries another when the bind fails. */
export function candidatePort(): number {
  // Below the kernel's ephemeral range (32768-60999), where outgoing connections take theirs.
  return 20_000 + Math.floor(Math.random() * 12_000);
}
