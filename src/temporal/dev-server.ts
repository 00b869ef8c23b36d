/**
 * The embedded Temporal dev server behind `npm start`: the Temporal CLI's `server start-dev`,
 * persisted to a SQLite file so a restart keeps every release, UI on :8233, with our search
 * attributes registered. We spawn it ourselves (rather than through the SDK's ephemeral
 * server) to own its lifetime: stopped with SIGTERM so SQLite closes cleanly, and killed if
 * this process exits. If this process is SIGKILLed instead, the server gets SIGTERM from the
 * kernel (parent-death signal, where `setpriv` exists), and a pid file beside the database
 * lets the next start recognise a server it owns that is still running and stop it first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { UserError, isUserError } from '../common/errors';
import {
  isRunning,
  parseIdentity,
  processStartTime,
  selfIdentity,
  type ProcessIdentity,
} from '../adapters/local/process-identity';
import { freePort } from './executables';
import { cliSearchAttributeFlags } from './search-attributes';

export interface DevServerOptions {
  cliPath: string;
  /** 0: a free port, chosen now and chosen again if another process takes it first. */
  port: number;
  /** 0: as for `port`. */
  uiPort: number;
  dbFile: string;
  namespace?: string;
  /** Server output goes here (not to the terminal, which belongs to release-flow). */
  logFile: string;
  startTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  pid: number;
  /** The pid of a server a crashed earlier start left running on this database, stopped first. */
  replacedOrphan?: number;
  stop(): Promise<void>;
}

export async function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return await new Promise((resolve) => {
    const sock = net.connect(port, host);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** Beside the database: the server this installation started on it, by pid and start time. */
export function devServerPidFile(dbFile: string): string {
  return `${dbFile}.pid`;
}

interface PidRecord extends ProcessIdentity {
  port: number;
  uiPort: number;
  dbFile: string;
  /** The release-flow process that started it. */
  owner?: ProcessIdentity;
}

function readPidRecord(file: string): PidRecord | null {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<PidRecord>;
    const identity = parseIdentity(value);
    const owner = parseIdentity(value.owner);
    return identity
      ? {
          ...identity,
          port: Number(value.port),
          uiPort: Number(value.uiPort),
          dbFile: String(value.dbFile),
          ...(owner ? { owner } : {}),
        }
      : null;
  } catch {
    return null;
  }
}

async function waitUntilGone(identity: ProcessIdentity, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isRunning(identity)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/**
 * Stops the server an earlier start left running on this database (its parent was SIGKILLed
 * where no parent-death signal exists). Only the very process recorded is touched.
 */
export async function stopOrphanedDevServer(dbFile: string): Promise<number | undefined> {
  const file = devServerPidFile(dbFile);
  const record = readPidRecord(file);
  if (record && isRunning(record) && record.startTime !== null) {
    // Its owner still runs: not an orphan but another release-flow on the same database.
    if (record.owner && record.owner.pid !== process.pid && isRunning(record.owner)) {
      throw new UserError(
        'DEV_SERVER_OWNED',
        `another release-flow (pid ${record.owner.pid}) runs the Temporal dev server (pid ${record.pid}) on ${dbFile}`,
        'stop that release-flow first, or give this one its own temporal.devServer.dbFile',
      );
    }
    process.kill(record.pid, 'SIGTERM');
    if (!(await waitUntilGone(record, 10_000))) {
      process.kill(record.pid, 'SIGKILL');
      await waitUntilGone(record, 5_000);
    }
    unlinkSync(file);
    return record.pid;
  }
  if (existsSync(file)) unlinkSync(file);
  return undefined;
}

const PORT_ATTEMPTS = 5;

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const replacedOrphan = await stopOrphanedDevServer(opts.dbFile);
  const chosen = opts.port === 0 || opts.uiPort === 0;
  for (let attempt = 1; ; attempt++) {
    const port = opts.port || (await freePort());
    const uiPort = opts.uiPort || (await freePort());
    try {
      const server = await startOnce({ ...opts, port, uiPort });
      return replacedOrphan ? { ...server, replacedOrphan } : server;
    } catch (err) {
      // A port we chose was taken between choosing and binding: choose again.
      if (!(chosen && attempt < PORT_ATTEMPTS && isUserError(err) && err.code === 'PORT_IN_USE')) throw err;
    }
  }
}

function portInUseError(port: number, what: string, variable: string, chosen: number): UserError {
  return new UserError(
    'PORT_IN_USE',
    `port ${port} for the ${what} is already in use (another release-flow or Temporal dev server?)`,
    `stop that process, set ${variable} in the config file (0 picks a free one), or set TEMPORAL_ADDRESS=127.0.0.1:${chosen} to use the server that is running there`,
  );
}

/** The kernel sends the server SIGTERM if we die without stopping it (Linux, util-linux). */
function parentDeathWrapper(): string[] {
  if (process.platform !== 'linux') return [];
  for (const dir of ['/usr/bin', '/bin']) {
    const file = path.join(dir, 'setpriv');
    if (existsSync(file)) return [file, '--pdeathsig', 'TERM', '--'];
  }
  return [];
}

function logSince(file: string, offset: number): string {
  try {
    return readFileSync(file, 'utf8').slice(offset);
  } catch {
    return '';
  }
}

async function startOnce(opts: DevServerOptions): Promise<DevServer> {
  for (const [port, what, variable] of [
    [opts.port, 'Temporal dev server', 'temporal.devServer.port'],
    [opts.uiPort, 'Temporal UI', 'temporal.devServer.uiPort'],
  ] as const) {
    if (await portInUse(port)) throw portInUseError(port, what, variable, opts.port);
  }
  mkdirSync(path.dirname(opts.dbFile), { recursive: true });
  mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const log = openSync(opts.logFile, 'a');
  const logOffset = existsSync(opts.logFile) ? statSync(opts.logFile).size : 0;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--ui-port',
    String(opts.uiPort),
    '--db-filename',
    opts.dbFile,
    '--namespace',
    opts.namespace ?? 'default',
    '--log-level',
    'warn',
    ...cliSearchAttributeFlags(),
  ];
  const [command, ...prefix] = [...parentDeathWrapper(), opts.cliPath];
  const child = spawn(command!, [...prefix, ...args], { stdio: ['ignore', log, log] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pidFile = devServerPidFile(opts.dbFile);
  const killOnExit = () => {
    child.kill('SIGKILL');
    try {
      unlinkSync(pidFile);
    } catch {
      // not written or already gone
    }
  };
  process.once('exit', killOnExit);
  if (child.pid !== undefined) {
    const record: PidRecord = {
      pid: child.pid,
      startTime: processStartTime(child.pid),
      port: opts.port,
      uiPort: opts.uiPort,
      dbFile: opts.dbFile,
      owner: selfIdentity(),
    };
    writeFileSync(pidFile, JSON.stringify(record));
  }

  const address = `127.0.0.1:${opts.port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  let early: number | null | undefined;
  void exited.then((code) => (early = code));
  // Both ports, and our child still running: a port opened by someone else is not our server.
  while (early !== undefined || !(await portInUse(opts.port)) || !(await portInUse(opts.uiPort))) {
    if (early !== undefined) {
      killOnExit();
      process.removeListener('exit', killOnExit);
      const output = logSince(opts.logFile, logOffset);
      if (/address already in use/i.test(output)) {
        const uiTaken = new RegExp(`:${opts.uiPort}\\b[^\\n]*address already in use`, 'i').test(output);
        throw uiTaken
          ? portInUseError(opts.uiPort, 'Temporal UI', 'temporal.devServer.uiPort', opts.port)
          : portInUseError(opts.port, 'Temporal dev server', 'temporal.devServer.port', opts.port);
      }
      throw new UserError(
        'DEV_SERVER_FAILED',
        `the Temporal dev server exited with code ${early} while starting`,
        `read ${opts.logFile}; a corrupt ${opts.dbFile} can be moved aside`,
      );
    }
    if (Date.now() > deadline) {
      killOnExit();
      process.removeListener('exit', killOnExit);
      throw new UserError(
        'DEV_SERVER_TIMEOUT',
        `the Temporal dev server did not open ${address} in time`,
        `read ${opts.logFile}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address,
    uiUrl: `http://127.0.0.1:${opts.uiPort}`,
    pid: child.pid ?? -1,
    stop: async () => {
      await stopChild(child, exited, killOnExit);
      try {
        unlinkSync(pidFile);
      } catch {
        // already gone
      }
    },
  };
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<unknown>,
  killOnExit: () => void,
): Promise<void> {
  process.removeListener('exit', killOnExit);
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
