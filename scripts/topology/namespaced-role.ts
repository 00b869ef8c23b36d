/**
 * One release-flow role (`serve` or `worker`) in its own pid, mount and UTS namespaces, as a
 * container would run it: `unshare --pid --fork --mount-proc --uts` with its own hostname (the
 * worker identity Temporal shows is `release-flow@<hostname>:<pid>`, and every process is pid 1
 * of its namespace), its own config file and `stateDir`. It shares the host's network (Temporal,
 * the registry and the receiver are on loopback) and filesystem (the git remotes).
 *
 * `kill()` SIGKILLs the namespace's init, which takes every process of the namespace with it
 * (its build and deploy children too), like a container killed. `stop()` sends it SIGTERM, the
 * graceful stop. `unshare --kill-child` and the parent-death signal kill the namespace if
 * this process dies first.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/common/package-info';
import { sleep, spawnChild, type Child } from './child-process';

export interface RoleOptions {
  role: 'serve' | 'worker';
  /** The namespace's hostname, e.g. `worker-1`. */
  hostname: string;
  configFile: string;
  logFile: string;
  env: NodeJS.ProcessEnv;
}

export interface NamespacedRole {
  hostname: string;
  role: 'serve' | 'worker';
  /** The `unshare` process (host pid). */
  child: Child;
  /** The host pid of the namespace's init (the release-flow process). */
  initPid(): number | undefined;
  log(): string;
  /** SIGKILL the namespace's init: the whole namespace dies at once. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

const bin = path.join(projectRoot, 'bin', 'release-flow.js');

/** `hostname NAME` inside the namespace, then exec: the release-flow process becomes its pid 1. */
const ENTRY = 'hostname "$RELEASE_FLOW_TOPOLOGY_HOSTNAME" && exec "$@"';

export function startNamespacedRole(opts: RoleOptions): NamespacedRole {
  const child = spawnChild(
    `${opts.role}@${opts.hostname}`,
    [
      'unshare',
      '--pid',
      '--fork',
      '--kill-child=SIGKILL',
      '--mount-proc',
      '--uts',
      '--',
      'sh',
      '-c',
      ENTRY,
      'sh',
      process.execPath,
      bin,
      opts.role,
    ],
    opts.logFile,
    {
      cwd: projectRoot,
      env: {
        ...opts.env,
        RELEASE_FLOW_CONFIG: opts.configFile,
        RELEASE_FLOW_TOPOLOGY_HOSTNAME: opts.hostname,
      },
    },
  );
  const initPid = (): number | undefined => {
    try {
      const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
      const pid = Number(children.split(/\s+/)[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  const signalInit = async (signal: NodeJS.Signals): Promise<boolean> => {
    // The init appears a moment after unshare forks it.
    for (let i = 0; i < 50 && !child.gone(); i++) {
      const pid = initPid();
      if (pid) {
        process.kill(pid, signal);
        return true;
      }
      await sleep(100);
    }
    return false;
  };
  return {
    hostname: opts.hostname,
    role: opts.role,
    child,
    initPid,
    log: () => child.log(),
    kill: async () => {
      if (child.gone()) return;
      if (!(await signalInit('SIGKILL'))) child.process.kill('SIGKILL');
      await child.exited;
    },
    stop: async () => {
      if (child.gone()) return;
      if (!(await signalInit('SIGTERM'))) child.process.kill('SIGTERM');
      const timer = setTimeout(() => {
        const pid = initPid();
        if (pid) process.kill(pid, 'SIGKILL');
        child.process.kill('SIGKILL');
      }, 45_000);
      await child.exited;
      clearTimeout(timer);
    },
  };
}
