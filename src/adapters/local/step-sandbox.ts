/**
 * Turns the spawn of a build, test or deploy step into one that runs as another identity than
 * the worker, so code from a branch cannot read the worker's secrets or state (docs/threat-model.md "Threat
 * model"). Modes:
 *
 * - `bubblewrap`: `setpriv` drops to an unprivileged uid/gid, then `bwrap` gives the step its own
 *   mount, pid, ipc and (by default) network namespaces: the root filesystem read-only, the state
 *   directory and other hidden paths replaced by empty ones, a private `/proc` that shows only
 *   the step's own processes, a private `/tmp`, and only the step's environment.
 * - `user`: `setpriv` alone: another uid/gid, no namespaces. The state directory is made
 *   owner-only, and another uid cannot read the worker's `/proc/<pid>/environ`.
 * - `command`: the operator's container runtime command (`docker run ...`) before the step.
 * - `none`: the worker's own identity (the demo, whose code release-flow writes itself).
 */
import { existsSync, statSync } from 'node:fs';
import { chmod, chown, lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../common/errors';

export const SandboxModes = {
  auto: 'auto',
  bubblewrap: 'bubblewrap',
  user: 'user',
  command: 'command',
  none: 'none',
} as const;
export type SandboxMode = (typeof SandboxModes)[keyof typeof SandboxModes];

/** What is spawned: the step as given, or its sandboxed form. */
export interface SpawnSpec {
  argv: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The step may write in `cwd` (a build's checkout); a deploy's cwd is bound read-only. */
  cwdWritable?: boolean;
}

export interface StepSandbox {
  readonly mode: Exclude<SandboxMode, 'auto'>;
  /** The spec to spawn instead; may hand `cwd` to the sandbox's identity first. */
  wrap(spec: SpawnSpec): Promise<SpawnSpec>;
}

export interface StepSandboxSettings {
  mode: Exclude<SandboxMode, 'auto'>;
  /** `uid:gid` the step runs as (bubblewrap, user). */
  user: string;
  /** Steps may reach the network (bubblewrap); off, they cannot reach Temporal or the worker either. */
  network: boolean;
  /** The runtime command of `command` mode; `{cwd}` is replaced by the step's directory. */
  command: readonly string[];
  /** Directories and files steps must not see: the state directory, key files, the worker's home. */
  hide: readonly string[];
  /** Executables, found on PATH when not given. */
  bwrapPath?: string;
  setprivPath?: string;
  /** The worker's real uid (default: this process's). */
  workerUid?: number;
}

/** Where a bubblewrap step finds its checkout (or a deploy its working directory). */
export const SANDBOX_WORKSPACE = '/tmp/workspace';

export const noSandbox: StepSandbox = { mode: 'none', wrap: async (spec) => spec };

const IDENTITY = /^(\d+):(\d+)$/;

/** Where `name` is on PATH, or null. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function identityOf(user: string): { uid: number; gid: number } {
  const match = IDENTITY.exec(user);
  if (!match)
    throw new UserError(
      'SANDBOX_USER',
      `sandbox.user: got ${JSON.stringify(user)}`,
      'use uid:gid, e.g. 65534:65534',
    );
  return { uid: Number(match[1]), gid: Number(match[2]) };
}

// The step's identity must be able to write its checkout; the worker removes it afterwards as root.
async function handOver(dir: string, uid: number, gid: number): Promise<void> {
  const info = await lstat(dir).catch(() => null);
  if (!info) return;
  await chown(dir, uid, gid);
  if (!info.isDirectory()) return;
  for (const entry of await readdir(dir)) {
    const full = path.join(dir, entry);
    const child = await lstat(full);
    if (child.isDirectory()) await handOver(full, uid, gid);
    else await chown(full, uid, gid).catch(() => undefined);
  }
}

// A private home and temp directory: the worker's HOME may hold credentials (~/.git-credentials).
function sandboxEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, HOME: '/tmp', TMPDIR: '/tmp' };
}

export function createStepSandbox(settings: StepSandboxSettings): StepSandbox {
  if (settings.mode === 'none') return noSandbox;
  if (settings.mode === 'command') {
    if (!settings.command.length) {
      throw new UserError(
        'SANDBOX_COMMAND',
        'sandbox.mode is command but sandbox.command is empty',
        'set sandbox.command to the container runtime command, e.g. [docker, run, --rm, -v, "{cwd}:{cwd}", -w, "{cwd}", node:20]',
      );
    }
    return {
      mode: 'command',
      wrap: async (spec) => ({
        ...spec,
        argv: [...settings.command.map((a) => a.split('{cwd}').join(spec.cwd)), ...spec.argv],
      }),
    };
  }
  const { uid, gid } = identityOf(settings.user);
  if (uid === 0) {
    throw new UserError(
      'SANDBOX_USER',
      'sandbox.user: got uid 0',
      'steps must not run as root: use e.g. 65534:65534',
    );
  }
  // Only root can take another uid; an unprivileged worker's bwrap still gets its own namespaces.
  const privileged = (settings.workerUid ?? process.getuid?.()) === 0;
  const setpriv = settings.setprivPath ?? findExecutable('setpriv');
  if (privileged && !setpriv) {
    throw new UserError(
      'SANDBOX_MISSING',
      `sandbox.mode ${settings.mode} needs setpriv, which is not on PATH`,
      'install util-linux (apt-get install -y util-linux)',
    );
  }
  const drop = privileged
    ? [
        setpriv!,
        `--reuid=${uid}`,
        `--regid=${gid}`,
        '--clear-groups',
        '--inh-caps=-all',
        '--bounding-set=-all',
        '--',
      ]
    : [];
  if (settings.mode === 'user') {
    if (!privileged) {
      throw new UserError(
        'SANDBOX_USER',
        'sandbox.mode user needs a worker running as root to switch to sandbox.user',
        'use sandbox.mode bubblewrap, or run the worker as root',
      );
    }
    // Another uid may pass through a hidden directory to its checkout, but neither list it nor
    // read the files directly in it (keys, databases); made so before each step, as files appear.
    const seal = async () => {
      for (const hidden of settings.hide) {
        const info = await lstat(hidden).catch(() => null);
        if (!info) continue;
        if (!info.isDirectory()) {
          await chmod(hidden, 0o600).catch(() => undefined);
          continue;
        }
        await chmod(hidden, 0o711);
        for (const entry of await readdir(hidden, { withFileTypes: true })) {
          if (entry.isFile()) await chmod(path.join(hidden, entry.name), 0o600).catch(() => undefined);
        }
      }
    };
    return {
      mode: 'user',
      wrap: async (spec) => {
        await seal();
        if (spec.cwdWritable) await handOver(spec.cwd, uid, gid);
        return { ...spec, argv: [...drop, ...spec.argv], env: sandboxEnv(spec.env) };
      },
    };
  }
  const bwrap = settings.bwrapPath ?? findExecutable('bwrap');
  if (!bwrap) throw missingBubblewrap();
  // As root, bwrap itself needs no user namespace (one would map the step back to uid 0): it
  // mounts, then setpriv inside drops to the step's uid with no capabilities left. Unprivileged,
  // bwrap maps the worker's uid to the step's in a user namespace.
  const namespaces = privileged
    ? ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try']
    : ['--unshare-all', '--uid', String(uid), '--gid', String(gid)];
  const dropInside = privileged
    ? [
        '--cap-add',
        'CAP_SETUID',
        '--cap-add',
        'CAP_SETGID',
        '--',
        setpriv!,
        `--reuid=${uid}`,
        `--regid=${gid}`,
        '--clear-groups',
        '--inh-caps=-all',
        '--bounding-set=-all',
        '--',
      ]
    : ['--'];
  return {
    mode: 'bubblewrap',
    wrap: async (spec) => {
      if (spec.cwdWritable && privileged) await handOver(spec.cwd, uid, gid);
      const hidden: string[] = [];
      for (const target of settings.hide) {
        const info = await lstat(target).catch(() => null);
        if (!info) continue;
        // A directory is replaced by an empty one, a file by /dev/null.
        hidden.push(...(info.isDirectory() ? ['--tmpfs', target] : ['--ro-bind', '/dev/null', target]));
      }
      const argv = [
        bwrap,
        '--die-with-parent',
        ...namespaces,
        ...(settings.network ? [] : ['--unshare-net']),
        '--ro-bind',
        '/',
        '/',
        '--dev',
        '/dev',
        '--proc',
        '/proc',
        '--perms',
        '1777',
        '--tmpfs',
        '/tmp',
        ...hidden,
        // The step's directory at a fixed place: its real path may pass directories only the
        // worker can enter (the state directory, a home).
        '--perms',
        '0755',
        '--dir',
        SANDBOX_WORKSPACE,
        spec.cwdWritable ? '--bind' : '--ro-bind',
        spec.cwd,
        SANDBOX_WORKSPACE,
        '--chdir',
        SANDBOX_WORKSPACE,
        ...dropInside,
        ...spec.argv,
      ];
      // bwrap's own process inside (pid 1) keeps the environment it was given: only the step's.
      return { ...spec, argv, env: sandboxEnv(spec.env) };
    },
  };
}

function missingBubblewrap(): UserError {
  return new UserError(
    'SANDBOX_MISSING',
    'sandbox.mode bubblewrap needs bwrap, which is not on PATH',
    'install it (apt-get install -y bubblewrap), or set sandbox.mode to user or command (docs/threat-model.md)',
  );
}

/** What the sandbox decision needs of the configuration. */
export interface SandboxConfig {
  sandbox: { mode: SandboxMode; user: string; network: boolean; command: readonly string[] };
  repositories: readonly {
    name: string;
    pullRequestBuilds: 'same-repository' | 'all' | 'none';
    commands: { build: readonly unknown[]; unitTests: readonly unknown[] };
  }[];
}

/** Environment variables whose presence means the worker holds secrets a step must not see. */
export const HELD_SECRET_VARS = [
  'GITHUB_TOKEN',
  'GITHUB_APP_PRIVATE_KEY',
  'GITHUB_APP_PRIVATE_KEY_PATH',
  'GITHUB_WEBHOOK_SECRET',
  'TEMPORAL_API_KEY',
  'SLACK_WEBHOOK_URL',
  'PAGERDUTY_ROUTING_KEY',
  'DATADOG_API_KEY',
  'DATADOG_APP_KEY',
] as const;

/** Repositories whose pull requests the gate builds (branch code runs on the worker). */
export function pullRequestBuildRepositories(config: SandboxConfig): string[] {
  return config.repositories
    .filter(
      (r) =>
        r.pullRequestBuilds !== 'none' && (r.commands.build.length > 0 || r.commands.unitTests.length > 0),
    )
    .map((r) => r.name);
}

/**
 * The sandbox steps run in. `auto` is bubblewrap when pull request builds are on and the worker
 * holds secrets, else none. With both, `none` is refused, and so is a bubblewrap that is not
 * installed: the worker does not start rather than hand its secrets to a branch.
 */
export function stepSandboxFor(
  config: SandboxConfig,
  opts: {
    stateDir: string;
    env?: NodeJS.ProcessEnv;
    hide?: readonly string[];
    /** Where bwrap is looked for when it is not on PATH (Debian's place). */
    bwrapFallback?: string | null;
  },
): StepSandbox {
  const env = opts.env ?? process.env;
  const builds = pullRequestBuildRepositories(config);
  const secrets = HELD_SECRET_VARS.filter((name) => env[name]);
  const required = builds.length > 0 && secrets.length > 0;
  let mode = config.sandbox.mode;
  if (mode === 'auto') mode = required ? 'bubblewrap' : 'none';
  if (mode === 'none' && required) {
    throw new UserError(
      'SANDBOX_REQUIRED',
      `sandbox.mode none, but pull requests of ${builds.join(', ')} are built while the worker holds ${secrets.join(', ')}`,
      'set sandbox.mode to bubblewrap (apt-get install -y bubblewrap), user or command, or pullRequestBuilds: none',
    );
  }
  const fallback = opts.bwrapFallback === undefined ? '/usr/bin/bwrap' : opts.bwrapFallback;
  const bwrapPath = findExecutable('bwrap', env) ?? (fallback && existsSync(fallback) ? fallback : null);
  if (mode === 'bubblewrap' && !bwrapPath) throw missingBubblewrap();
  const hide = [
    path.resolve(opts.stateDir),
    ...(env.GITHUB_APP_PRIVATE_KEY_PATH ? [path.resolve(env.GITHUB_APP_PRIVATE_KEY_PATH)] : []),
    ...(opts.hide ?? []),
  ];
  return createStepSandbox({
    mode,
    user: config.sandbox.user,
    network: config.sandbox.network,
    command: config.sandbox.command,
    hide,
    ...(bwrapPath ? { bwrapPath } : {}),
  });
}

/** One line for the startup log: which isolation steps get. */
export function describeSandbox(sandbox: StepSandbox): string {
  return sandbox.mode === 'none'
    ? 'steps run as the worker (sandbox.mode none)'
    : `steps run in sandbox.mode ${sandbox.mode}`;
}
