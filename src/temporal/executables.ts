/**
 * Finds the two Temporal executables release-flow needs: the Temporal CLI (dev server) and the
 * time-skipping test server. Order, first hit wins (docs/running-in-production.md "The Temporal executables"):
 *   1. explicit env var (TEMPORAL_CLI_PATH / TEMPORAL_TEST_SERVER_PATH)
 *   2. a binary on PATH
 *   3. the project's tools folder (.tools/bin, git-ignored)
 *   4. the SDK's own cached download (looked up first, then attempted)
 *   5. a build from a package registry (Go module proxy for the CLI, Maven Central for the test server)
 */
import { execFile, spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  writeFileSync,
  chmodSync,
  readdirSync,
  realpathSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
export const TEST_SERVER_ARTIFACT = 'io.temporal:temporal-test-server:1.38.0';
const SDK_VERSION = '1.24.0';

export const ExecutableKind = {
  cli: 'cli',
  testServer: 'test-server',
} as const;
export type ExecutableKind = (typeof ExecutableKind)[keyof typeof ExecutableKind];

export type ResolutionSource = 'env' | 'path' | 'tools' | 'sdk-download' | 'registry-build';

export interface Resolved {
  kind: ExecutableKind;
  path: string;
  source: ResolutionSource;
}

export interface Attempt {
  source: ResolutionSource;
  detail: string;
}

export interface ResolveOptions {
  /** Project root: where `.tools/` lives. */
  root: string;
  env?: NodeJS.ProcessEnv;
  /** Allow steps 4b and 5, which download or build (slow). Lookups only when false. */
  provision?: boolean;
  /** Progress lines for a person watching (`npm run setup:temporal`). */
  onProgress?: (line: string) => void;
  /** Tool directory of the SDK's cached downloads; defaults to the OS temp dir like the SDK. */
  sdkDownloadDir?: string;
}

export class ExecutableNotFound extends Error {
  constructor(
    readonly kind: ExecutableKind,
    readonly attempts: Attempt[],
  ) {
    super(notFoundMessage(kind, attempts));
    this.name = 'ExecutableNotFound';
  }
}

const NAMES = {
  cli: { envVar: 'TEMPORAL_CLI_PATH', binary: 'temporal', sdkPrefix: 'temporal' },
  'test-server': {
    envVar: 'TEMPORAL_TEST_SERVER_PATH',
    binary: 'temporal-test-server',
    sdkPrefix: 'temporal-test-server',
  },
} as const;

export function toolsBinDir(root: string): string {
  return path.join(root, '.tools', 'bin');
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(binary: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, binary);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The file name the SDK's core gives its cached download (`<prefix>-sdk-typescript-<version>`). */
export function sdkDownloadName(kind: ExecutableKind): string {
  return `${NAMES[kind].sdkPrefix}-sdk-typescript-${SDK_VERSION}`;
}

/** Steps 1-4a: lookups only, no network. Returns the hit or the list of places looked at. */
export function lookup(kind: ExecutableKind, opts: ResolveOptions): Resolved | Attempt[] {
  const env = opts.env ?? process.env;
  const names = NAMES[kind];
  const attempts: Attempt[] = [];

  const explicit = env[names.envVar];
  if (explicit) {
    if (isExecutable(explicit)) return { kind, path: path.resolve(explicit), source: 'env' };
    attempts.push({ source: 'env', detail: `${names.envVar}=${explicit} is not an executable file` });
  } else {
    attempts.push({ source: 'env', detail: `${names.envVar} not set` });
  }

  const onPath = findOnPath(names.binary, env);
  if (onPath) return { kind, path: onPath, source: 'path' };
  attempts.push({ source: 'path', detail: `no '${names.binary}' on PATH` });

  const inTools = path.join(toolsBinDir(opts.root), names.binary);
  if (isExecutable(inTools)) return { kind, path: inTools, source: 'tools' };
  attempts.push({ source: 'tools', detail: `no ${inTools}` });

  for (const dir of sdkDownloadDirs(opts)) {
    const cached = path.join(dir, sdkDownloadName(kind));
    if (isExecutable(cached)) return { kind, path: cached, source: 'sdk-download' };
  }
  attempts.push({
    source: 'sdk-download',
    detail: `no cached SDK download (${sdkDownloadName(kind)}) in ${sdkDownloadDirs(opts).join(', ')}`,
  });
  return attempts;
}

/** Where the SDK's cached downloads may be: ours, then the SDK's default (the OS temp dir). */
function sdkDownloadDirs(opts: ResolveOptions): string[] {
  if (opts.sdkDownloadDir) return [opts.sdkDownloadDir];
  return [path.join(opts.root, '.tools', 'sdk-download'), os.tmpdir()];
}

/** Resolve, provisioning (download or build) when allowed and nothing is found. */
export async function resolveExecutable(kind: ExecutableKind, opts: ResolveOptions): Promise<Resolved> {
  const found = lookup(kind, opts);
  if (!Array.isArray(found)) return found;
  const attempts = found;
  if (!opts.provision) {
    attempts.push({
      source: 'registry-build',
      detail: 'not attempted (lookup only); run `npm run setup:temporal`',
    });
    throw new ExecutableNotFound(kind, attempts);
  }
  const progress = opts.onProgress ?? (() => {});

  const downloaded = await trySdkDownload(kind, opts, progress);
  if (typeof downloaded === 'string') return { kind, path: downloaded, source: 'sdk-download' };
  attempts.push({ source: 'sdk-download', detail: `SDK download failed: ${downloaded.message}` });
  progress(
    `[${kind}] the SDK's download did not work (${downloaded.message}); building from a package registry`,
  );

  try {
    const built = kind === 'cli' ? await buildCli(opts, progress) : await buildTestServer(opts, progress);
    return { kind, path: built, source: 'registry-build' };
  } catch (err) {
    attempts.push({ source: 'registry-build', detail: `build failed: ${firstLine(err)}` });
    throw new ExecutableNotFound(kind, attempts);
  }
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').find((l) => l.trim()) ?? text;
}

const SDK_DOWNLOAD_TIMEOUT_MS = 60_000;

/**
 * Let the SDK fetch its own binary (what happens on a machine with internet). We ask it to
 * start a server with a cached-download executable in our tools folder, then stop it at once.
 */
async function trySdkDownload(
  kind: ExecutableKind,
  opts: ResolveOptions,
  progress: (line: string) => void,
): Promise<string | Error> {
  if ((opts.env ?? process.env).RELEASE_FLOW_SKIP_SDK_DOWNLOAD === '1')
    return new Error('skipped by RELEASE_FLOW_SKIP_SDK_DOWNLOAD=1');
  const downloadDir = opts.sdkDownloadDir ?? path.join(opts.root, '.tools', 'sdk-download');
  mkdirSync(downloadDir, { recursive: true });
  progress(`[${kind}] trying the SDK's own download into ${downloadDir} ...`);
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const executable = { type: 'cached-download' as const, downloadDir };
  const start =
    kind === 'cli'
      ? TestWorkflowEnvironment.createLocal({ server: { executable } })
      : TestWorkflowEnvironment.createTimeSkipping({ server: { executable } });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${SDK_DOWNLOAD_TIMEOUT_MS / 1000}s`)),
      SDK_DOWNLOAD_TIMEOUT_MS,
    );
  });
  try {
    const env = await Promise.race([start, timeout]);
    await env.teardown();
  } catch (err) {
    start.then((env) => env.teardown()).catch(() => {});
    return err instanceof Error ? new Error(firstLine(err)) : new Error(String(err));
  } finally {
    clearTimeout(timer);
  }
  const file = path.join(downloadDir, sdkDownloadName(kind));
  return existsSync(file) ? file : new Error(`SDK reported success but ${file} is missing`);
}

async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv },
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (err) => reject(new Error(`cannot run ${cmd}: ${err.message}`)));
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}`)),
    );
  });
}

async function buildCli(opts: ResolveOptions, progress: (line: string) => void): Promise<string> {
  const bin = toolsBinDir(opts.root);
  mkdirSync(bin, { recursive: true });
  progress(
    `[cli] building the Temporal CLI: go install ${TEMPORAL_CLI_MODULE} (several minutes on a cold cache) ...`,
  );
  const env = { ...(opts.env ?? process.env), CGO_ENABLED: '0', GOBIN: bin, GOFLAGS: '-buildvcs=false' };
  await run('go', ['install', TEMPORAL_CLI_MODULE], { env });
  const file = path.join(bin, 'temporal');
  progress(`[cli] built ${file}`);
  return file;
}

/**
 * The Java test server from Maven Central, behind a wrapper that `exec`s java (the SDK kills its
 * child with SIGKILL; a shell in between would leave the JVM orphaned) and forwards the SDK's
 * arguments untouched (adding --enable-time-skipping breaks the SDK's lock accounting).
 */
async function buildTestServer(opts: ResolveOptions, progress: (line: string) => void): Promise<string> {
  const tools = path.join(opts.root, '.tools');
  mkdirSync(tools, { recursive: true });
  // Real path: .tools may be a link to a machine-wide cache (CI), and the wrapper and the JVM's
  // class-data archive must name the files where they really are.
  const home = path.join(realpathSync(tools), 'test-server');
  const lib = path.join(home, 'lib');
  const pom = path.join(opts.root, 'tools', 'test-server', 'pom.xml');
  const env = opts.env ?? process.env;
  if (!hasJars(lib)) {
    progress(`[test-server] fetching ${TEST_SERVER_ARTIFACT} and its runtime jars with Maven ...`);
    await run(
      'mvn',
      [
        '-B',
        '-q',
        '-f',
        pom,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${lib}`,
        '-DincludeScope=runtime',
      ],
      { env },
    );
  }
  const wrapper = path.join(toolsBinDir(opts.root), 'temporal-test-server');
  mkdirSync(path.dirname(wrapper), { recursive: true });
  const archive = path.join(home, 'app.jsa');
  writeFileSync(wrapper, wrapperScript(lib, archive), 'utf8');
  chmodSync(wrapper, 0o755);
  progress('[test-server] recording a class-data-sharing archive so the JVM starts faster ...');
  await recordClassArchive(wrapper, archive, lib, env).catch((err) =>
    progress(
      `[test-server] no class-data archive (${firstLine(err)}); the server still works, only slower to start`,
    ),
  );
  progress(`[test-server] ready: ${wrapper}`);
  return wrapper;
}

function hasJars(lib: string): boolean {
  return existsSync(lib) && readdirSync(lib).some((f) => f.startsWith('temporal-test-server-'));
}

export const JVM_FLAGS = [
  '-Xshare:auto',
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-Xss512k',
  '-Xmx512m',
];

function wrapperScript(lib: string, archive: string): string {
  return [
    '#!/bin/sh',
    '# Generated by release-flow (src/temporal/executables.ts). The SDK calls: <this> <port> [args].',
    '# exec: the SDK stops its child with SIGKILL, so the JVM must be that child.',
    `ARCHIVE='${archive}'`,
    'CDS=""',
    'if [ -f "$ARCHIVE" ]; then CDS="-XX:SharedArchiveFile=$ARCHIVE"; fi',
    `exec java ${JVM_FLAGS.join(' ')} $CDS -cp '${lib}/*' io.temporal.testserver.TestServer "$@"`,
    '',
  ].join('\n');
}

/** Start the server once with -XX:ArchiveClassesAtExit, wait for its port, stop it cleanly. */
async function recordClassArchive(
  wrapper: string,
  archive: string,
  lib: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const net = await import('node:net');
  // The JVM needs a port number: one looked up now may be taken before it binds, so a server
  // that exits before its port opens is started again on a fresh one.
  let child!: ReturnType<typeof spawn>;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    child = spawn(
      'java',
      [
        ...JVM_FLAGS,
        `-XX:ArchiveClassesAtExit=${archive}`,
        '-cp',
        `${lib}/*`,
        'io.temporal.testserver.TestServer',
        String(port),
      ],
      { env, stdio: 'ignore' },
    );
    let gone = false;
    child.once('exit', () => (gone = true));
    const deadline = Date.now() + 60_000;
    let up = false;
    while (!up && !gone && Date.now() < deadline) {
      up = await new Promise<boolean>((resolve) => {
        const sock = net.connect(port, '127.0.0.1');
        sock.once('connect', () => (sock.destroy(), resolve(true)));
        sock.once('error', () => resolve(false));
      });
      if (!up) await new Promise((r) => setTimeout(r, 200));
    }
    if (!gone) break;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
  if (!existsSync(archive)) throw new Error('the JVM wrote no archive');
  void wrapper;
}

/**
 * A port free at the moment of asking. Another process can take it before the caller binds it:
 * bind 0 and read the port back where the program allows it, and where it needs a number (the
 * Temporal CLI, the JVM test server) start again with a fresh port when the bind fails.
 */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return await new Promise<number>((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function notFoundMessage(kind: ExecutableKind, attempts: Attempt[]): string {
  const what = kind === 'cli' ? 'the Temporal CLI (dev server)' : 'the Temporal time-skipping test server';
  return [
    `release-flow could not find or provide ${what}. Tried, in order:`,
    ...attempts.map((a, i) => `  ${i + 1}. [${a.source}] ${a.detail}`),
    'Ways out:',
    `  - install it yourself and point ${NAMES[kind].envVar} at it (or put '${NAMES[kind].binary}' on PATH), then run \`npm run setup:temporal\``,
    '  - join an existing cluster instead: set TEMPORAL_ADDRESS=host:7233 (and TEMPORAL_NAMESPACE)',
    '  - or run everything in containers: `docker compose up`',
  ].join('\n');
}

/** Tools a build needs, reported up front so a person sees what is missing. */
export async function toolVersion(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await execFileAsync(cmd, args, { timeout: 10_000 });
    return (stdout || stderr).split('\n')[0];
  } catch {
    return undefined;
  }
}
