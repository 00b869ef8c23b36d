/**
 * A private PostgreSQL cluster from Debian's `postgresql` package (15), for the Temporal server
 * of the topology: `initdb` into a directory of its own, `postgres` as a direct child (so it is
 * stopped with us), loopback only, password authentication over TCP. PostgreSQL refuses to run
 * as root, so a root caller runs it as the `postgres` system user (or RELEASE_FLOW_PG_USER).
 * The port is one picked at random and another when the bind fails: a port looked up as free
 * can be taken before the server binds it.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { candidatePort, runToEnd, sleep, spawnChild, type Child } from './child-process';

export const POSTGRES_USER = 'temporal';
export const POSTGRES_PASSWORD = 'temporal';

export interface PostgresOptions {
  /** Where the cluster lives (made if missing); its parents must let the server's user pass. */
  dir: string;
  /** Default: the newest /usr/lib/postgresql/<n>/bin. */
  binDir?: string;
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
}

export interface RunningPostgres {
  host: string;
  port: number;
  user: string;
  password: string;
  child: Child;
  stop(): Promise<void>;
}

export function postgresBinDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.RELEASE_FLOW_PG_BIN) return env.RELEASE_FLOW_PG_BIN;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : undefined;
}

/** uid and gid to run as: ourselves when not root, else the postgres system user. */
function serverUser(env: NodeJS.ProcessEnv): { uid: number; gid: number; setpriv?: string[] } {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) return { uid, gid: process.getgid?.() ?? 0 };
  const name = env.RELEASE_FLOW_PG_USER ?? 'postgres';
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  let pgUid: number;
  let pgGid: number;
  try {
    pgUid = id('-u');
    pgGid = id('-g');
  } catch {
    throw new Error(
      `PostgreSQL does not run as root and there is no user '${name}' to run it as: install postgresql (it makes one) or set RELEASE_FLOW_PG_USER`,
    );
  }
  return {
    uid: pgUid,
    gid: pgGid,
    setpriv: [`--reuid=${pgUid}`, `--regid=${pgGid}`, '--clear-groups'],
  };
}

const PORT_ATTEMPTS = 8;

export async function startPostgres(opts: PostgresOptions): Promise<RunningPostgres> {
  const env = opts.env ?? process.env;
  const bin = opts.binDir ?? postgresBinDir(env);
  if (!bin || !existsSync(path.join(bin, 'initdb')))
    throw new Error('PostgreSQL not found: apt-get install -y postgresql, or set RELEASE_FLOW_PG_BIN');
  const user = serverUser(env);
  const data = path.join(opts.dir, 'data');
  const sockets = path.join(opts.dir, 'sockets');
  mkdirSync(opts.dir, { recursive: true });
  chmodSync(opts.dir, 0o755);
  for (const dir of [sockets]) {
    mkdirSync(dir, { recursive: true });
    chownSync(dir, user.uid, user.gid);
  }
  const childEnv = { ...env, LC_ALL: 'C', LANG: 'C' };
  if (!existsSync(path.join(data, 'PG_VERSION'))) {
    mkdirSync(data, { recursive: true });
    chownSync(data, user.uid, user.gid);
    chmodSync(data, 0o700);
    const pwFile = path.join(opts.dir, 'pwfile');
    writeFileSync(pwFile, `${POSTGRES_PASSWORD}\n`, { mode: 0o600 });
    chownSync(pwFile, user.uid, user.gid);
    await runToEnd(
      [
        path.join(bin, 'initdb'),
        '-D',
        data,
        '-U',
        POSTGRES_USER,
        `--pwfile=${pwFile}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '--encoding=UTF8',
        '--no-sync',
      ],
      { env: childEnv, ...(user.setpriv ? { setpriv: user.setpriv } : {}) },
    );
  }
  const logFile = path.join(opts.dir, 'postgres.log');
  writeFileSync(logFile, '', { flag: 'a' });
  chownSync(logFile, user.uid, user.gid);
  for (let attempt = 1; ; attempt++) {
    const port = candidatePort();
    const child = spawnChild(
      'postgres',
      [
        path.join(bin, 'postgres'),
        '-D',
        data,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${sockets}`,
        // A test cluster: no fsync waits (the machine is shared and slow); Temporal's pools need
        // more than the default 100 connections only with many servers.
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
      ],
      logFile,
      // SIGINT is PostgreSQL's fast shutdown: clients are cut off instead of waited for.
      { env: childEnv, deathSignal: 'INT', ...(user.setpriv ? { setpriv: user.setpriv } : {}) },
    );
    const offset = child.log().length;
    const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
    let ready = false;
    while (!child.gone() && Date.now() < deadline) {
      const out = child.log().slice(offset);
      if (/database system is ready to accept connections/.test(out)) {
        ready = true;
        break;
      }
      await sleep(100);
    }
    if (ready) {
      return {
        host: '127.0.0.1',
        port,
        user: POSTGRES_USER,
        password: POSTGRES_PASSWORD,
        child,
        stop: () => child.stop('SIGINT', 20_000),
      };
    }
    await child.stop('SIGINT', 5_000);
    const out = child.log().slice(offset);
    if (
      /could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(out) &&
      attempt < PORT_ATTEMPTS
    )
      continue;
    throw new Error(`PostgreSQL did not start (port ${port}); its log ${logFile}:\n${out.slice(-3000)}`);
  }
}
