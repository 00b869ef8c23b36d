/**
 * The embedded Temporal dev server behind `npm start`: the Temporal CLI's `server start-dev`,
 * persisted to a SQLite file so a restart keeps every release, UI on :8233, with our search
 * attributes registered. We spawn it ourselves (rather than through the SDK's ephemeral
 * server) to own its lifetime: stopped with SIGTERM so SQLite closes cleanly, and killed if
 * this process dies first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { UserError } from '../errors';
import { cliSearchAttributeFlags } from './search-attributes';

export interface DevServerOptions {
  cliPath: string;
  port: number;
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

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  for (const [port, what, variable] of [
    [opts.port, 'Temporal dev server', 'temporal.devServer.port'],
    [opts.uiPort, 'Temporal UI', 'temporal.devServer.uiPort'],
  ] as const) {
    if (await portInUse(port)) {
      throw new UserError(
        'PORT_IN_USE',
        `port ${port} for the ${what} is already in use (another release-flow or Temporal dev server?)`,
        `stop that process, set ${variable} in the config file, or set TEMPORAL_ADDRESS=127.0.0.1:${opts.port} to use the server that is running there`,
      );
    }
  }
  mkdirSync(path.dirname(opts.dbFile), { recursive: true });
  mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const log = openSync(opts.logFile, 'a');
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
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', log, log] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const address = `127.0.0.1:${opts.port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  let early: number | null | undefined;
  void exited.then((code) => (early = code));
  while (!(await portInUse(opts.port))) {
    if (early !== undefined) {
      throw new UserError(
        'DEV_SERVER_FAILED',
        `the Temporal dev server exited with code ${early} while starting`,
        `read ${opts.logFile}; a corrupt ${opts.dbFile} can be moved aside`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
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
    stop: () => stopChild(child, exited, killOnExit),
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
