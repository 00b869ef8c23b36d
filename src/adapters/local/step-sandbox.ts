/**
 * Turns the spawn of a build, test or deploy step into one that runs as another identity than
 * the worker, so code from a branch cannot read the worker's secrets or state (docs/threat-model.md). What a step may reach follows its trust (`StepTrust`): a pull request's branch gets
 * no network, reviewed code (the default branch, tags, a hotfix) and deploy commands get the
 * network, and none of them gets the worker's secrets, state or processes. Modes:
 *
 * - `bubblewrap`: `setpriv` drops to an unprivileged uid/gid, then `bwrap` gives the step its own
 *   mount, pid, ipc and (for a pull request) network namespaces: the root filesystem read-only,
 *   the state directory and other hidden paths replaced by empty ones, a private `/proc` that
 *   shows only the step's own processes, a private `/tmp`, and only the step's environment; a
 *   deploy command also gets the files its configuration names, readable.
 * - `user`: `setpriv` alone: another uid/gid, no namespaces. The state directory is made
 *   owner-only, and another uid cannot read the worker's `/proc/<pid>/environ`.
 * - `command`: the operator's container runtime command (`docker run ...`) before the step.
 * - `none`: the worker's own identity (only when set, or the demo where bubblewrap is missing).
 */
import { existsSync, statSync } from 'node:fs';
import { chmod, chown, lstat, open, readdir, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../common/errors';
import { DefinitiveFailure, FailureTypes } from '../../domain/failures';
import { workerSecretEnvNames, type SecretNamesConfig } from '../../common/secrets';

export const SandboxModes = {
  auto: 'auto',
  bubblewrap: 'bubblewrap',
  user: 'user',
  command: 'command',
  none: 'none',
} as const;
export type SandboxMode = (typeof SandboxModes)[keyof typeof SandboxModes];

/** Whose code a step runs, which decides what it may reach. */
export const StepTrusts = {
  /** A pull request's branch: nobody has reviewed it. No network. */
  pullRequest: 'pull-request',
  /** The default branch, a release tag, an open incident's `HOT-<n>` branch: the network. */
  reviewed: 'reviewed',
  /** A deploy command from the configuration: the network, and its named variables and files. */
  deploy: 'deploy',
} as const;
export type StepTrust = (typeof StepTrusts)[keyof typeof StepTrusts];

/** What is spawned: the step as given, or its sandboxed form. */
export interface SpawnSpec {
  argv: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The step may write in `cwd` (a build's checkout); a deploy's cwd is bound read-only. */
  cwdWritable?: boolean;
  /** Unset: a pull request's, the strictest, so a caller that forgets gets no network. */
  trust?: StepTrust;
  /** Host files and directories the step is given read-only (a deploy's `commands.deploy.files`). */
  files?: readonly string[];
  /** Descriptors the child inherits as fd 3, 4, ... (bubblewrap copies given files from them). */
  fds?: readonly number[];
  /** Closes what `wrap` opened, once the child has started (or could not). */
  release?: () => Promise<void>;
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
  /**
   * Pull request steps may reach the network (bubblewrap); off, they cannot reach Temporal or
   * the worker either. Reviewed steps and deploys always may.
   */
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
  const namespaces = (network: boolean) =>
    privileged
      ? [
          '--unshare-pid',
          '--unshare-ipc',
          '--unshare-uts',
          '--unshare-cgroup-try',
          ...(network ? [] : ['--unshare-net']),
        ]
      : ['--unshare-all', ...(network ? ['--share-net'] : []), '--uid', String(uid), '--gid', String(gid)];
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
      const trust = spec.trust ?? StepTrusts.pullRequest;
      const network = trust === StepTrusts.pullRequest ? settings.network : true;
      const given = await givenFiles(spec.files ?? [], privileged ? { uid, gid } : null);
      const hidden: string[] = [...given.covers.flatMap((dir) => ['--tmpfs', dir])];
      for (const target of settings.hide) {
        const info = await lstat(target).catch(() => null);
        if (!info) continue;
        // A directory is replaced by an empty one, a file by /dev/null.
        hidden.push(...(info.isDirectory() ? ['--tmpfs', target] : ['--ro-bind', '/dev/null', target]));
      }
      const argv = [
        bwrap,
        '--die-with-parent',
        ...namespaces(network),
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
        // Given files last, over whatever hid them: each at its own path, as its variable names it.
        ...given.args(3 + (spec.fds?.length ?? 0)),
        '--chdir',
        SANDBOX_WORKSPACE,
        ...dropInside,
        ...spec.argv,
      ];
      // bwrap's own process inside (pid 1) keeps the environment it was given: only the step's.
      return {
        ...spec,
        argv,
        env: sandboxEnv(spec.env),
        fds: [...(spec.fds ?? []), ...given.handles.map((h) => h.fd)],
        release: async () => {
          await spec.release?.();
          await Promise.all(given.handles.map((h) => h.close().catch(() => undefined)));
        },
      };
    },
  };
}

interface GivenFiles {
  /** Directories the step's uid cannot pass, replaced by empty ones so a given file inside shows. */
  covers: string[];
  handles: FileHandle[];
  /** The bwrap arguments, the first file's descriptor being `firstFd`. */
  args(firstFd: number): string[];
}

// Whether `uid`/`gid` (no supplementary groups) may pass through a directory with this mode.
function passable(
  info: { mode: number; uid: number; gid: number },
  id: { uid: number; gid: number },
): boolean {
  if (info.uid === id.uid) return (info.mode & 0o100) !== 0;
  if (info.gid === id.gid) return (info.mode & 0o010) !== 0;
  return (info.mode & 0o001) !== 0;
}

/**
 * A deploy's configured files, copied in read-only and readable by the step's uid whatever their
 * mode on the host (a root worker's 0600 kubeconfig): bwrap reads each from a descriptor. A
 * directory is bound as it is. Where a parent cannot be passed by the step's uid (`/root`), it is
 * replaced by an empty directory first: the step could not see into it anyway.
 */
async function givenFiles(
  files: readonly string[],
  dropTo: { uid: number; gid: number } | null,
): Promise<GivenFiles> {
  const covers = new Set<string>();
  const handles: FileHandle[] = [];
  const entries: { file: string; kind: 'file' | 'dir'; handle?: FileHandle }[] = [];
  try {
    for (const given of files) {
      const file = path.resolve(given);
      const info = await stat(file).catch(() => null);
      if (!info || (!info.isFile() && !info.isDirectory())) {
        throw new DefinitiveFailure(
          FailureTypes.stepCannotStart,
          `commands.deploy.files: ${file} is not a file or directory on this worker`,
          { file },
        );
      }
      if (dropTo) {
        const parts = file.split(path.sep).filter(Boolean);
        for (let i = 1; i < parts.length; i++) {
          const dir = path.sep + parts.slice(0, i).join(path.sep);
          if (dir === '/tmp' || dir.startsWith('/tmp/')) break;
          const dirInfo = await stat(dir);
          if (!passable(dirInfo, dropTo)) {
            covers.add(dir);
            break;
          }
        }
      }
      if (info.isDirectory()) {
        entries.push({ file, kind: 'dir' });
      } else {
        const handle = await open(file, 'r');
        handles.push(handle);
        entries.push({ file, kind: 'file', handle });
      }
    }
  } catch (err) {
    await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
    throw err;
  }
  return {
    covers: [...covers],
    handles,
    args: (firstFd) => {
      let next = firstFd;
      // bwrap makes the missing parents of a mount point owner-only: made passable first. A
      // parent that exists keeps its mode.
      const parents = new Set<string>();
      for (const e of entries) {
        for (let dir = path.dirname(e.file); dir !== path.dirname(dir); dir = path.dirname(dir))
          parents.add(dir);
      }
      const made = [...parents]
        .sort((a, b) => a.length - b.length)
        .flatMap((dir) => ['--perms', '0755', '--dir', dir]);
      return [
        ...made,
        ...entries.flatMap((e) =>
          e.kind === 'dir'
            ? ['--ro-bind', e.file, e.file]
            : ['--perms', '0444', '--ro-bind-data', String(next++), e.file],
        ),
      ];
    },
  };
}

function missingBubblewrap(why = 'sandbox.mode bubblewrap needs bwrap, which is not on PATH'): UserError {
  return new UserError(
    'SANDBOX_MISSING',
    why,
    'install it (apt-get install -y bubblewrap), or set sandbox.mode to user (a root worker) or command; sandbox.mode none runs steps as the worker, able to read its secrets (docs/threat-model.md)',
  );
}

/** What the sandbox decision needs of the configuration. */
export interface SandboxConfig extends SecretNamesConfig {
  sandbox: { mode: SandboxMode; user: string; network: boolean; command: readonly string[] };
  repositories: readonly {
    name: string;
    pullRequestBuilds: 'same-repository' | 'all' | 'none';
    commands: {
      build: readonly unknown[];
      unitTests: readonly unknown[];
      integrationTests: readonly unknown[];
      deploy: {
        dev?: readonly string[];
        staging?: readonly string[];
        production?: readonly string[];
        variables?: readonly string[];
        files?: readonly string[];
      };
    };
  }[];
}

/**
 * Variables whose presence means the worker holds secrets a step must not see: every secret
 * name of the configuration (its integrations' `...Env` fields included), and a key's path.
 */
export function heldSecretVars(config: SecretNamesConfig): string[] {
  return [...workerSecretEnvNames(config), 'GITHUB_APP_PRIVATE_KEY_PATH'];
}

/** Repositories whose pull requests the gate builds (branch code runs on the worker). */
export function pullRequestBuildRepositories(config: SandboxConfig): string[] {
  return config.repositories
    .filter(
      (r) =>
        r.pullRequestBuilds !== 'none' && (r.commands.build.length > 0 || r.commands.unitTests.length > 0),
    )
    .map((r) => r.name);
}

/** Repositories with any step at all: a build, tests, or a deploy command. */
export function repositoriesWithSteps(config: SandboxConfig): string[] {
  return config.repositories
    .filter((r) => {
      const c = r.commands;
      return (
        c.build.length > 0 ||
        c.unitTests.length > 0 ||
        c.integrationTests.length > 0 ||
        Boolean(c.deploy.dev ?? c.deploy.staging ?? c.deploy.production)
      );
    })
    .map((r) => r.name);
}

/** The mode steps get, and why, before anything is built (`doctor` prints it). */
export interface SandboxChoice {
  mode: Exclude<SandboxMode, 'auto'>;
  reason: string;
  bwrapPath: string | null;
  /** Set when steps cannot run as configured: the worker refuses to start with it. */
  refusal?: UserError;
  /** Set when steps run as the worker although repositories have steps (`sandbox.mode: none`). */
  warning?: string;
}

export function chooseSandbox(
  config: SandboxConfig,
  opts: { env?: NodeJS.ProcessEnv; bwrapFallback?: string | null } = {},
): SandboxChoice {
  const env = opts.env ?? process.env;
  const builds = pullRequestBuildRepositories(config);
  const stepped = repositoriesWithSteps(config);
  const secrets = heldSecretVars(config).filter((name) => env[name]);
  const fallback = opts.bwrapFallback === undefined ? '/usr/bin/bwrap' : opts.bwrapFallback;
  const bwrapPath = findExecutable('bwrap', env) ?? (fallback && existsSync(fallback) ? fallback : null);
  const configured = config.sandbox.mode;
  if (configured === 'auto') {
    if (!stepped.length)
      return { mode: 'none', reason: 'sandbox.mode auto: no configured repository runs a step', bwrapPath };
    // No step of a configured repository runs as the worker by default, secrets in its
    // environment or not: its state directory holds the board's and the log links' keys.
    const reason = `sandbox.mode auto: the steps of ${stepped.join(', ')} run in bubblewrap (no step of a configured repository runs as the worker)`;
    if (!bwrapPath) {
      return {
        mode: 'bubblewrap',
        reason,
        bwrapPath,
        refusal: missingBubblewrap(
          `sandbox.mode auto runs the steps of ${stepped.join(', ')} in bubblewrap, which needs bwrap, and it is not on PATH`,
        ),
      };
    }
    return { mode: 'bubblewrap', reason, bwrapPath };
  }
  const reason = `sandbox.mode ${configured} (set in the configuration)`;
  if (configured === 'none') {
    if (builds.length && secrets.length) {
      return {
        mode: 'none',
        reason,
        bwrapPath,
        refusal: new UserError(
          'SANDBOX_REQUIRED',
          `sandbox.mode none, but pull requests of ${builds.join(', ')} are built while the worker holds ${secrets.join(', ')}`,
          'set sandbox.mode to bubblewrap (apt-get install -y bubblewrap), user or command, or pullRequestBuilds: none',
        ),
      };
    }
    return {
      mode: 'none',
      reason,
      bwrapPath,
      ...(stepped.length
        ? {
            warning: `steps of ${stepped.join(', ')} run as the worker: they can read its environment, its state directory and its keys`,
          }
        : {}),
    };
  }
  if (configured === 'bubblewrap' && !bwrapPath)
    return { mode: configured, reason, bwrapPath, refusal: missingBubblewrap() };
  return { mode: configured, reason, bwrapPath };
}

/** Paths no step sees: the state directory (keys, outbox, ledger), key files and credential files. */
export function hiddenPaths(
  config: { board?: { auth?: { tokensFile?: string | undefined } } },
  stateDir: string,
  env: NodeJS.ProcessEnv,
): string[] {
  return [
    path.resolve(stateDir),
    ...[env.GITHUB_APP_PRIVATE_KEY_PATH, env.TEMPORAL_CONFIG_FILE, config.board?.auth?.tokensFile]
      .filter((p): p is string => Boolean(p))
      .map((p) => path.resolve(p)),
  ];
}

/**
 * The sandbox steps run in (`chooseSandbox`). The worker does not start rather than run a
 * step it cannot sandbox as configured, or hand its secrets to a branch.
 */
export function stepSandboxFor(
  config: SandboxConfig & { board?: { auth?: { tokensFile?: string | undefined } } },
  opts: {
    stateDir: string;
    env?: NodeJS.ProcessEnv;
    hide?: readonly string[];
    /** Where bwrap is looked for when it is not on PATH (Debian's place). */
    bwrapFallback?: string | null;
  },
): StepSandbox {
  const env = opts.env ?? process.env;
  const choice = chooseSandbox(config, {
    env,
    ...(opts.bwrapFallback !== undefined ? { bwrapFallback: opts.bwrapFallback } : {}),
  });
  if (choice.refusal) throw choice.refusal;
  const hide = [...hiddenPaths(config, opts.stateDir, env), ...(opts.hide ?? [])];
  // A deploy's files are the operator's choice, but never the state directory or a key itself.
  const exposing = config.repositories.flatMap((r) =>
    (r.commands.deploy.files ?? []).flatMap((file) => {
      const given = path.resolve(file);
      const shown = hide.find((h) => h === given || h.startsWith(given + path.sep));
      return shown ? [`${r.name}: ${given} would show ${shown}`] : [];
    }),
  );
  if (exposing.length && choice.mode !== 'none') {
    throw new UserError(
      'SANDBOX_FILES',
      `commands.deploy.files: ${exposing.join('; ')}, which no step may see`,
      'name the files the deploy reads, outside the state directory and the key files',
    );
  }
  return createStepSandbox({
    mode: choice.mode,
    user: config.sandbox.user,
    network: config.sandbox.network,
    command: config.sandbox.command,
    hide,
    ...(choice.bwrapPath ? { bwrapPath: choice.bwrapPath } : {}),
  });
}

/** What each kind of step gets under this choice, one line each (the startup log, `doctor`). */
export function describeStepKinds(
  config: SandboxConfig,
  choice: SandboxChoice,
): { kind: string; detail: string }[] {
  const mode = choice.mode;
  const strict = (network: boolean) => {
    if (mode === 'none') return 'as the worker: its environment, state directory and keys in reach';
    if (mode === 'bubblewrap')
      return `bubblewrap as ${config.sandbox.user}, ${network ? 'with the network' : 'no network'}, its own /proc and /tmp, the state directory hidden, none of the worker's variables`;
    if (mode === 'user')
      return `as ${config.sandbox.user} (setpriv), the host's network, the state directory sealed`;
    return `inside sandbox.command (${config.sandbox.command.join(' ')})`;
  };
  const deploys = config.repositories.flatMap((r) => {
    const d = r.commands.deploy;
    if (!(d.dev ?? d.staging ?? d.production)) return [];
    const given = [
      ...(d.variables?.length ? [`variables ${d.variables.join(', ')}`] : []),
      ...(d.files?.length ? [`files ${d.files.join(', ')}`] : []),
    ];
    return [`${r.name}: ${given.length ? given.join('; ') : 'no variables or files named'}`];
  });
  return [
    {
      kind: 'pull-request steps',
      detail: `${strict(config.sandbox.network)} (a branch's code nobody reviewed yet; sandbox.network ${config.sandbox.network})`,
    },
    {
      kind: 'reviewed steps',
      detail: `${strict(true)} (builds and tests of the default branch, tags and hotfixes)`,
    },
    {
      kind: 'deploy commands',
      detail: `${strict(true)}, plus what commands.deploy names (${deploys.length ? deploys.join('; ') : 'no deploy commands'})`,
    },
  ];
}

/** One line for the startup log: which isolation steps get. */
export function describeSandbox(sandbox: StepSandbox): string {
  return sandbox.mode === 'none'
    ? 'steps run as the worker (sandbox.mode none)'
    : `steps run in sandbox.mode ${sandbox.mode}`;
}
